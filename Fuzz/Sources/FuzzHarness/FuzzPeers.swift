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
    /// The key digests a TLS session with the caller shows (flag 8 of the
    /// peer target): the caller's id is the start of its digest, as a
    /// certificate-derived id is.
    public static let callerKeyDigest: [UInt8] = withUnsafeBytes(of: (UInt64(0xCA11).bigEndian, UInt64(3).bigEndian)) { Array($0) }
        + Array(repeating: 0xC0, count: 16)
    public static let localKeyDigest: [UInt8] = Array(repeating: 0xA1, count: 32)
    /// The stranger calling it.
    public static let caller = NodeInfo(
        identity: NodeIdentity(id: NodeID(high: 0xCA11, low: 3), name: "gamma"), roles: [.server],
        addresses: [PeerAddress(host: "192.0.2.3", port: 17476)]
    )
}
