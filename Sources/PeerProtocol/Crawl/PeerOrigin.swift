/// How this node came to know another one, as `p2pfs peers` shows it.
public enum PeerOrigin: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Named on the command line (`--peer`).
    case seed
    /// Listed by another node's PEERS answer.
    case peers = "PEERS"
    /// Announced on the link over multicast DNS.
    case mdns = "mDNS"
    /// It contacted this node (a HELLO).
    case caller

    public static func < (lhs: PeerOrigin, rhs: PeerOrigin) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// "seed,mDNS": the origins in a fixed order, for display.
    public static func describe(_ origins: Set<PeerOrigin>) -> String {
        origins.sorted().map(\.rawValue).joined(separator: ",")
    }
}
