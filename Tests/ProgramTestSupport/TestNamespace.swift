import Logging
import NFS3
import NIOCore
import Namespace

/// File content served from memory, so reads need no disk or peer.
public struct MemoryReader: FileReader {
    public var files: [String: [UInt8]]
    /// When set, every read fails with it.
    public var failure: FileSystemError?
    /// When set, reads report this version instead of the expected one (the
    /// file changed at its source).
    public var reportedVersion: FileVersion?

    public init(files: [String: [UInt8]], failure: FileSystemError? = nil, reportedVersion: FileVersion? = nil) {
        self.files = files
        self.failure = failure
        self.reportedVersion = reportedVersion
    }

    public func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        if let failure {
            return eventLoop.makeFailedFuture(failure)
        }
        guard let bytes = self.files[path] else {
            return eventLoop.makeFailedFuture(FileSystemError.noEntry)
        }
        let start = Int(min(offset, UInt64(bytes.count)))
        let end = min(start + count, bytes.count)
        return eventLoop.makeSucceededFuture(
            FileReadResult(data: ByteBuffer(bytes: bytes[start..<end]), isEndOfFile: end == bytes.count, version: self.reportedVersion ?? expected)
        )
    }
}

/// Builds namespaces for the NFS program tests (NFSv3 and NFSv4.1 use the
/// same tree).
public enum TestNamespace {
    public static let now = Timestamp(seconds: 1_700_000_000, nanoseconds: 5)
    public static let movieBytes: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    public static let configuration = NFS3Configuration(uid: 1000, gid: 100, fsid: 0xABCD_0000_1234)

    /// A small tree:
    ///
    ///     movies/              (dir)
    ///     movies/KillBill.mkv  10,000 bytes
    ///     movies/trailer.sh    executable
    ///     docs/readme.txt
    ///     empty.txt            0 bytes
    ///     latest -> movies/KillBill.mkv
    public static var standardEntries: [(CatalogEntry, [UInt8]?)] {
        [
            (CatalogEntry(path: "movies", kind: .directory, mtime: Timestamp(seconds: 1000), mode: 0o755), nil),
            (
                CatalogEntry(path: "movies/KillBill.mkv", kind: .regular, size: UInt64(movieBytes.count), mtime: Timestamp(seconds: 2000, nanoseconds: 123), mode: 0o644),
                movieBytes
            ),
            (CatalogEntry(path: "movies/trailer.sh", kind: .regular, size: 5, mtime: Timestamp(seconds: 2100), mode: 0o750), Array("echo\n".utf8)),
            (CatalogEntry(path: "docs", kind: .directory, mtime: Timestamp(seconds: 900), mode: 0o755), nil),
            (CatalogEntry(path: "docs/readme.txt", kind: .regular, size: 13, mtime: Timestamp(seconds: 3000), mode: 0o644), Array("hello, world\n".utf8)),
            (CatalogEntry(path: "empty.txt", kind: .regular, size: 0, mtime: Timestamp(seconds: 3100), mode: 0o600), []),
            (CatalogEntry(path: "latest", kind: .symlink, size: 0, mtime: Timestamp(seconds: 3200), mode: 0o777, symlinkTarget: "movies/KillBill.mkv"), nil),
        ]
    }

    public static func makeStore(
        entries: [(CatalogEntry, [UInt8]?)] = standardEntries,
        ready: Bool = true,
        failure: FileSystemError? = nil,
        reportedVersion: FileVersion? = nil
    ) async -> NamespaceStore {
        let store = NamespaceStore(logger: Logger(label: "test"), clock: { now })
        var files: [String: [UInt8]] = [:]
        for (entry, content) in entries {
            if let content { files[entry.path] = content }
        }
        store.setCatalog(
            SourceCatalog(
                origin: NodeIdentity(id: NodeID(high: 1, low: 2), name: "alpha"),
                generation: 1,
                entries: entries.map(\.0),
                reader: MemoryReader(files: files, failure: failure, reportedVersion: reportedVersion),
                isLocal: true
            )
        )
        await store.settled()
        if ready { store.markReady() }
        return store
    }

    /// A directory "big" holding `count` files named f00000, f00001, ...
    public static func bigDirectoryEntries(count: Int) -> [(CatalogEntry, [UInt8]?)] {
        var entries: [(CatalogEntry, [UInt8]?)] = [(CatalogEntry(path: "big", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755), nil)]
        for index in 0..<count {
            let name = "f" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
            entries.append((CatalogEntry(path: "big/\(name)", kind: .regular, size: UInt64(index), mtime: Timestamp(seconds: 5), mode: 0o644), nil))
        }
        return entries
    }
}
