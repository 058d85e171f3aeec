/// One source's offer of a regular file, as the merge compares replicas:
/// which node, under which path, at which version. Equal and hashed by the
/// path's bytes: NFC and NFD "café" on one node are two files, each with
/// its own hash.
public struct ReplicaKey: Hashable, Sendable, CustomStringConvertible {
    public var origin: NodeID
    public var path: String
    public var version: FileVersion

    public init(origin: NodeID, path: String, version: FileVersion) {
        self.origin = origin
        self.path = path
        self.version = version
    }

    public var description: String { "\(self.path) (\(self.version)) on \(self.origin)" }

    public static func == (lhs: ReplicaKey, rhs: ReplicaKey) -> Bool {
        lhs.origin == rhs.origin && lhs.version == rhs.version && ExactPath(lhs.path) == ExactPath(rhs.path)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.origin)
        hasher.combine(ExactPath(self.path))
        hasher.combine(self.version)
    }
}

/// What is known of a replica's content.
public enum ReplicaHash: Hashable, Sendable {
    /// Its owner told its SHA-256.
    case known(ContentHash)
    /// Its owner could not or would not tell (an error, a timeout, a peer
    /// without HASH, a file that changed): it is never merged with another.
    case unavailable
}

/// A replica whose content hash the merge needed and did not have, and the
/// source to ask.
public struct ReplicaCandidate: Sendable {
    public var key: ReplicaKey
    public var reader: any FileReader

    public init(key: ReplicaKey, reader: any FileReader) {
        self.key = key
        self.reader = reader
    }
}
