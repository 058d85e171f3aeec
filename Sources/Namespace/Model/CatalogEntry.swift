/// One file, directory or symlink a source offers, by its namespace path.
///
/// Paths are relative, '/'-separated and normalised ("movies/KillBill"): no
/// leading slash, no empty, "." or ".." components. The root itself is not an
/// entry.
public struct CatalogEntry: Hashable, Sendable {
    public var path: String
    public var kind: FileKind
    public var size: UInt64
    public var mtime: Timestamp
    /// Permission bits as the source has them (only the execute bits matter
    /// to clients: the namespace is read-only).
    public var mode: UInt16
    public var symlinkTarget: String?

    public init(path: String, kind: FileKind, size: UInt64 = 0, mtime: Timestamp, mode: UInt16, symlinkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mtime = mtime
        self.mode = mode
        self.symlinkTarget = symlinkTarget
    }

    /// Identifies a version of a file's content: equal versions from two
    /// sources are the same file, read from either.
    public var version: FileVersion {
        FileVersion(size: self.size, mtime: self.mtime)
    }

    /// Path and symlink target by bytes (`ExactPath`): a rescan that finds
    /// a link retargeted from NFC to NFD "café" has found a change to tell
    /// peers, though the two targets are one `String`.
    public static func == (lhs: CatalogEntry, rhs: CatalogEntry) -> Bool {
        lhs.kind == rhs.kind && lhs.size == rhs.size && lhs.mtime == rhs.mtime && lhs.mode == rhs.mode
            && ExactPath(lhs.path) == ExactPath(rhs.path)
            && lhs.symlinkTarget.map { ExactPath($0) } == rhs.symlinkTarget.map { ExactPath($0) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ExactPath(self.path))
        hasher.combine(self.kind)
        hasher.combine(self.size)
        hasher.combine(self.mtime)
        hasher.combine(self.mode)
        hasher.combine(self.symlinkTarget.map { ExactPath($0) })
    }
}

/// Size and modification time: how p2pfs tells versions of a file apart.
public struct FileVersion: Hashable, Sendable, CustomStringConvertible {
    public var size: UInt64
    public var mtime: Timestamp

    public init(size: UInt64, mtime: Timestamp) {
        self.size = size
        self.mtime = mtime
    }

    public var description: String { "\(self.size) bytes, mtime \(self.mtime)" }
}

/// Rules for names and paths shared by every source.
public enum NamespacePath {
    public static let maximumNameLength = 255
    public static let maximumPathLength = 4096

    /// Whether `name` can be one component of a namespace path.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        self.refusal(ofName: name) == nil
    }

    /// Why `name` cannot be one component of a namespace path, if it cannot.
    /// Lengths count the bytes the name stands for (`NameBytes`).
    public static func refusal(ofName name: some StringProtocol) -> NameRefusal? {
        let utf8 = name.utf8
        if utf8.isEmpty { return .empty }
        if name == "." || name == ".." { return .dot }
        if utf8.contains(UInt8(ascii: "/")) { return .slash }
        if utf8.contains(0) { return .nul }
        if NameBytes.byteCount(utf8: utf8) > maximumNameLength { return .tooLong }
        return nil
    }

    /// Whether `path` is a normalised relative namespace path.
    public static func isValidPath(_ path: String) -> Bool {
        self.refusal(ofPath: path) == nil
    }

    public static func refusal(ofPath path: String) -> NameRefusal? {
        var path = path
        return path.withUTF8 { self.refusal(pathBytes: $0) }
    }

    /// Whether the in-memory UTF-8 `bytes` are a normalised relative
    /// namespace path.
    public static func isValidPath(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        self.refusal(pathBytes: bytes) == nil
    }

    /// Why the in-memory UTF-8 `bytes` are not a normalised relative
    /// namespace path, if they are not.
    public static func refusal(pathBytes bytes: UnsafeBufferPointer<UInt8>) -> NameRefusal? {
        guard !bytes.isEmpty else { return .empty }
        guard bytes.count <= maximumPathLength || NameBytes.byteCount(utf8: bytes) <= maximumPathLength else { return .pathTooLong }
        var start = 0
        var escapes = 0
        var worst: NameRefusal?
        for end in 0...bytes.count {
            guard end == bytes.count || bytes[end] == UInt8(ascii: "/") else {
                if bytes[end] == 0 { return .nul }
                if end > start && bytes[end - 1] == 0xEF && (bytes[end] == 0x9E || bytes[end] == 0x9F) { escapes += 1 }
                continue
            }
            let length = end - start
            if length == 0 {
                worst = .slash
            } else if length - 2 * escapes > maximumNameLength {
                worst = worst ?? .tooLong
            } else if bytes[start] == UInt8(ascii: ".") && (length == 1 || (length == 2 && bytes[start + 1] == UInt8(ascii: "."))) {
                worst = worst ?? .dot
            }
            start = end + 1
            escapes = 0
        }
        return worst
    }

    /// The parent of a path ("" for a top-level name).
    public static func parent(of path: Substring) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return path[..<slash]
    }

    public static func parent(of path: String) -> Substring {
        self.parent(of: path[...])
    }

    /// The last component of a path.
    public static func name(of path: Substring) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return path[path.utf8.index(after: slash)...]
    }

    public static func name(of path: String) -> Substring {
        self.name(of: path[...])
    }

    public static func join(_ parent: some StringProtocol, _ name: some StringProtocol) -> String {
        parent.isEmpty ? String(name) : "\(parent)/\(name)"
    }
}
