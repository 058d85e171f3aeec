/// Program, version and procedure numbers of RFC 1833.
public enum Portmap {
    /// The portmapper/rpcbind program number, the same for every version.
    public static let program: UInt32 = 100_000
    /// The well-known port of the portmapper, on TCP and UDP.
    public static let port = 111
    /// Where rpcbind also listens for local clients (libtirpc tries it
    /// first; the kernel registers its services there).
    public static let unixSocketPath = "/run/rpcbind.sock"
    /// Version 2 is the original portmapper ("PMAP"); 3 and 4 are rpcbind.
    public static let versions: ClosedRange<UInt32> = 2...4

    /// PMAP version 2 procedures (RFC 1833 §3.2).
    public enum V2Procedure: UInt32, Sendable {
        case null = 0
        case set = 1
        case unset = 2
        case getPort = 3
        case dump = 4
        case callIt = 5
    }

    /// rpcbind version 3 and 4 procedures (RFC 1833 §2.2). 9 and up exist in version 4 only.
    public enum RPCBProcedure: UInt32, Sendable {
        case null = 0
        case set = 1
        case unset = 2
        case getAddr = 3
        case dump = 4
        /// CALLIT in version 3, BCAST in version 4.
        case callIt = 5
        case getTime = 6
        case uaddr2taddr = 7
        case taddr2uaddr = 8
        case getVersAddr = 9
        case indirect = 10
        case getAddrList = 11
        case getStat = 12
    }

    /// The owner recorded for mappings the portmapper itself makes, and the
    /// caller identity allowed to remove any mapping (as in rpcbind).
    public static let superuser = "superuser"
    /// The owner recorded for mappings SET over an inet transport, where the
    /// caller's user cannot be known.
    public static let unknownOwner = "unknown"
}

/// The transport protocols PMAP version 2 knows, by IP protocol number.
public enum PortmapProtocol: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp = 6
    case udp = 17

    /// The IPv4 network identifier rpcbind uses for this protocol.
    public var netid: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        }
    }

    /// The IPv6 network identifier rpcbind uses for this protocol.
    public var netid6: String {
        switch self {
        case .tcp: "tcp6"
        case .udp: "udp6"
        }
    }

    /// The protocol of an inet network identifier ("tcp", "udp6", ...).
    public init?(netid: String) {
        switch netid {
        case "tcp", "tcp6": self = .tcp
        case "udp", "udp6": self = .udp
        default: return nil
        }
    }

    public var description: String { self.netid }
}

/// What rpcbind reports about a network identifier in `rpcb_entry`
/// (the netconfig semantics, protocol family and protocol name).
struct NetidInfo: Equatable {
    /// `NC_TPI_CLTS` (1) for datagrams, `NC_TPI_COTS_ORD` (3) for streams.
    var semantics: UInt32
    var protocolFamily: String
    var protocolName: String
    var isIPv6: Bool

    init?(netid: String) {
        switch netid {
        case "tcp": self.init(semantics: 3, protocolFamily: "inet", protocolName: "tcp", isIPv6: false)
        case "udp": self.init(semantics: 1, protocolFamily: "inet", protocolName: "udp", isIPv6: false)
        case "tcp6": self.init(semantics: 3, protocolFamily: "inet6", protocolName: "tcp", isIPv6: true)
        case "udp6": self.init(semantics: 1, protocolFamily: "inet6", protocolName: "udp", isIPv6: true)
        default: return nil
        }
    }

    private init(semantics: UInt32, protocolFamily: String, protocolName: String, isIPv6: Bool) {
        self.semantics = semantics
        self.protocolFamily = protocolFamily
        self.protocolName = protocolName
        self.isIPv6 = isIPv6
    }
}
