/// One entry of the merged namespace: what a client sees at a path.
///
/// Nodes live in a `NamespaceSnapshot`'s flat arrays and refer to each other
/// by index, which keeps a million-entry namespace compact.
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
    let firstSource: Int32
    let sourceCount: Int32
    let childrenSignature: UInt64

    init(
        fileID: FileID, name: String, kind: FileKind, size: UInt64, mtime: Timestamp, changeTime: Timestamp, mode: UInt16,
        subdirectoryCount: UInt32, childCount: UInt32, index: Int32, parentIndex: Int32, firstChild: Int32,
        firstSource: Int32, sourceCount: Int32, childrenSignature: UInt64
    ) {
        self.fileID = fileID
        self.name = name
        self.kind = kind
        self.size = size
        self.mtime = mtime
        self.changeTime = changeTime
        self.mode = mode
        self.subdirectoryCount = subdirectoryCount
        self.childCount = childCount
        self.index = index
        self.parentIndex = parentIndex
        self.firstChild = firstChild
        self.firstSource = firstSource
        self.sourceCount = sourceCount
        self.childrenSignature = childrenSignature
    }

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
