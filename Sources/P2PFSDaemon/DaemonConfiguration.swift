import Namespace
import PeerProtocol
import RPCBind

/// Everything a node is told on its command line, validated.
///
/// Roles follow from what is given: `--export` makes a node offer files
/// (server role, peer protocol on `listen`), `--nfs` makes it present the
/// network's namespace (client role). A node given neither presents the
/// namespace on the default NFS address.
public struct DaemonConfiguration: Sendable {
    public static let defaultPeerPort = 7475
    /// "localhost" binds both 127.0.0.1 and ::1, whichever `mount localhost:/`
    /// resolves to.
    public static let defaultNFSAddress = PeerAddress(host: "localhost", port: 2049)
    public static let defaultListenAddress = PeerAddress(host: "0.0.0.0", port: defaultPeerPort)
    /// Where `--metrics on` (or a bare port's host) serves: loopback only,
    /// since the counters say what this machine reads.
    public static let defaultMetricsAddress = PeerAddress(host: "127.0.0.1", port: 9475)

    public var exports: [LocalExport]
    /// Where the peer protocol listens (server role); nil: no listener.
    public var listen: PeerAddress?
    /// Seed nodes to crawl from.
    public var peers: [PeerAddress]
    /// Where the NFS/MOUNT/NLM server listens (client role); nil: none.
    public var nfs: PeerAddress?
    /// Which NFS versions `nfs` serves.
    public var nfsVersions: NFSVersions
    public var name: String?
    public var stateDirectory: String
    public var portmap: PortmapMode
    public var crawlInterval: Duration
    public var peerTimeout: Duration
    public var rescanInterval: Duration
    public var cacheBytes: Int
    /// The closed network's key (`--network-key-file`); nil: an open network.
    public var networkKey: NetworkKey?
    /// The only nodes this one talks to (`--trust`), by the id their
    /// certificate proves; nil: any node (of the network key, if any).
    public var trustedNodes: Set<NodeID>?
    /// Whether to announce and browse `_p2pfs._tcp` over multicast DNS on
    /// every multicast interface (`--discovery`). Off unless asked for here,
    /// so a daemon built in a test never multicasts; the command line turns
    /// it on by default.
    public var discovery: Bool
    /// Where Prometheus metrics are served over HTTP; nil: off.
    public var metrics: PeerAddress?

    public init(
        exports: [LocalExport] = [],
        listen: PeerAddress? = nil,
        peers: [PeerAddress] = [],
        nfs: PeerAddress? = nil,
        nfsVersions: NFSVersions = .default,
        name: String? = nil,
        stateDirectory: String,
        portmap: PortmapMode = .auto,
        crawlInterval: Duration = .seconds(3),
        peerTimeout: Duration = .seconds(10),
        rescanInterval: Duration = .seconds(60),
        cacheBytes: Int = 256 << 20,
        networkKey: NetworkKey? = nil,
        discovery: Bool = false,
        metrics: PeerAddress? = nil
    ) {
        self.exports = exports
        self.listen = listen
        self.peers = peers
        self.nfs = nfs
        self.nfsVersions = nfsVersions
        self.name = name
        self.stateDirectory = stateDirectory
        self.portmap = portmap
        self.crawlInterval = crawlInterval
        self.peerTimeout = peerTimeout
        self.rescanInterval = rescanInterval
        self.cacheBytes = cacheBytes
        self.networkKey = networkKey
        self.discovery = discovery
        self.metrics = metrics
    }

    /// The `--metrics` value: `on` or a bare port mean loopback, otherwise
    /// HOST:PORT (a bare HOST gets the default port); nil if unreadable.
    public static func metricsAddress(_ text: String) -> PeerAddress? {
        if text == "on" { return Self.defaultMetricsAddress }
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) {
            guard let port = Int(text), (1...65535).contains(port) else { return nil }
            return PeerAddress(host: Self.defaultMetricsAddress.host, port: port)
        }
        return PeerAddress(text, defaultPort: Self.defaultMetricsAddress.port)
    }

    public var offersFiles: Bool { !self.exports.isEmpty }
    public var presentsNamespace: Bool { self.nfs != nil }
}

/// A configuration that cannot work, with the message the user sees.
public enum DaemonConfigurationError: Error, CustomStringConvertible, Equatable {
    case invalidName(String)
    case stateDirectory(path: String, reason: String)
    case export(String)
    case listen(address: String, reason: String)
    case nfs(address: String, reason: String)
    case portmap(String)
    case metrics(address: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "node name '\(name)' is not valid: use 1 to 64 letters, digits, '.', '_' or '-'"
        case .stateDirectory(let path, let reason):
            "state directory '\(path)': \(reason)"
        case .export(let reason):
            reason
        case .listen(let address, let reason):
            "cannot listen for peers on \(address): \(reason)"
        case .nfs(let address, let reason):
            "cannot serve NFS on \(address): \(reason)"
        case .portmap(let reason):
            "portmapper: \(reason)"
        case .metrics(let address, let reason):
            "cannot serve metrics on \(address): \(reason)"
        }
    }
}
