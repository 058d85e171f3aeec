/// One entry of the merged namespace: what a client sees at a path.
///
/// A value materialised on demand from the snapshot's compact storage
/// (`NodeRecord` and the catalogs), so holding one is independent of the
/// snapshot's layout.
public struct NamespaceNode: Sendable {
    public let fileID: FileID
    public let name: String
    public let kind: FileKind
    /// Size in bytes (0 for directories; the target's length for symlinks).
    public let size: UInt64
    /// The content's modification time as its source reports it.
    public let mtime: Timestamp
    /// When this entry last changed as far as a client can tell: for a
    /// directory, also when its set of children changed (a peer joined or
    /// left), so kernel caches of the directory are revalidated.
    public let changeTime: Timestamp
    /// Permission bits as offered by the (winning) source.
    public let mode: UInt16
    /// Subdirectories, for a directory's link count.
    public let subdirectoryCount: UInt32
    /// Children, for a directory.
    public let childCount: UInt32

    let index: Int32
    let parentIndex: Int32
    let firstChild: Int32
    let childrenSignature: UInt64

    public var isDirectory: Bool { self.kind == .directory }
    public var version: FileVersion { FileVersion(size: self.size, mtime: self.mtime) }
}

/// One place a file's content can be read from.
public struct FileSource: Sendable {
    public let origin: NodeIdentity
    /// The path as the origin names it (differs from the namespace path for
    /// conflict variants such as `KillBill@b`).
    public let path: String
    public let version: FileVersion
    public let reader: any FileReader
    public let isLocal: Bool
}

/// A node as the snapshot stores it: 24 bytes, whatever its name.
struct NodeRecord: Sendable {
    var fileID: FileID
    var parent: Int32
    /// Into `NamespaceSnapshot.sourceRefs`.
    var firstSource: Int32
    /// Into `NamespaceSnapshot.directories` for a directory, else -1.
    var directory: Int32
    var sourceCount: UInt16
    var kind: FileKind
}

/// What only directories need.
struct DirectoryRecord: Sendable {
    var firstChild: Int32
    var childCount: Int32
    var subdirectoryCount: Int32
    var mode: UInt16
    var mtime: Timestamp
    var changeTime: Timestamp
    var childrenSignature: UInt64
}
