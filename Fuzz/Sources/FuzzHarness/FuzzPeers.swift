import Namespace
import PeerProtocol

/// The nodes of the peer and control fuzz targets.
public enum FuzzPeers {
    /// The network key of a closed network (`--network-key-file`).
    public static let networkKey = try! NetworkKey(bytes: Array("p2pfs fuzzing network key, 32 b".utf8))
    /// The node under test: alpha, offering `FuzzNamespace.alphaCatalog`.
    public static let localNode = NodeInfo(
        identity: FuzzNamespace.alpha, roles: [.server, .client], addresses: [PeerAddress(host: "192.0.2.1", port: 17476)]
    )
    /// The stranger calling it.
    public static let caller = NodeInfo(
        identity: NodeIdentity(id: NodeID(high: 0xCA11, low: 3), name: "gamma"), roles: [.server],
        addresses: [PeerAddress(host: "192.0.2.3", port: 17476)]
    )
}
