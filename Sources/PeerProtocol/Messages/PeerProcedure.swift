/// Program, version and procedure numbers of the peer protocol
/// (`Docs/p2pfs_peer.x`).
public enum PeerProcedure: UInt32, Sendable, CaseIterable {
    case null = 0
    case hello = 1
    case authenticate = 2
    case changes = 3
    case catalog = 4
    case peers = 5
    case read = 6
    case hash = 7

    public static let program: UInt32 = 0x2050_3246
    public static let version: UInt32 = 2
}

/// Limits from the protocol definition, enforced on both sides.
public enum PeerLimits {
    public static let maximumNameLength = 64
    public static let maximumHostLength = 64
    public static let maximumAddresses = 16
    public static let maximumPathLength = 4096
    public static let maximumReadSize = 1 << 20
    public static let maximumNodes = 4096
    public static let maximumCatalogReply = 1 << 20
    /// Entries one node's catalog may hold: a client stops paging a catalog
    /// that claims or delivers more, so one node cannot exhaust its memory.
    public static let maximumCatalogEntries = 1 << 23
    public static let maximumNonceLength = 32
}
