import Logging
import NIOCore
import Namespace

#if canImport(Glibc)
import Glibc
#endif

/// File content served from memory: the fuzz targets never touch a disk or
/// a network.
public struct FuzzMemoryReader: FileReader {
    public var files: [String: [UInt8]]
    /// When set, reads report this version instead of the expected one (the
    /// file changed at its source).
    public var reportedVersion: FileVersion?

    public init(files: [String: [UInt8]], reportedVersion: FileVersion? = nil) {
        self.files = files
        self.reportedVersion = reportedVersion
    }

    public func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        guard let bytes = self.files[path] else {
            return eventLoop.makeFailedFuture(FileSystemError.noEntry)
        }
        let start = Int(min(offset, UInt64(bytes.count)))
        let end = start + min(count, bytes.count - start)
        let version = self.reportedVersion ?? FileVersion(size: UInt64(bytes.count), mtime: expected.mtime)
        return eventLoop.makeSucceededFuture(
            FileReadResult(data: ByteBuffer(bytes: bytes[start..<end]), isEndOfFile: end == bytes.count, version: version)
        )
    }
}

/// The small namespace every fuzz target serves, built once per process.
///
/// Two sources, so that merged directories, conflict variants (`NAME@node`),
/// files with several sources and failing sources are all there:
///
///     alpha (local)                          beta (remote)
///     movies/KillBill.mkv   10,000 bytes     movies/KillBill.mkv   same version: two sources
///     movies/trailer.sh     executable       shared.txt            newer: alpha's is shared.txt@alpha
///     docs/readme.txt                        beta-only.bin         its reader fails: NFS3ERR_IO
///     empty.txt             0 bytes          deep/a/b/c/d/file
///     shared.txt                             (its reader knows only shared.txt)
///     latest -> movies/KillBill.mkv
///     big/f000 ... big/f299
///     "name with spaces/ünïcödé.txt"
public enum FuzzNamespace {
    public static let alpha = NodeIdentity(id: NodeID(high: 0xA1FA, low: 1), name: "alpha")
    public static let beta = NodeIdentity(id: NodeID(high: 0xBE7A, low: 2), name: "beta")
    public static let now = Timestamp(seconds: 1_700_000_000)

    public static let movieBytes: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    public static let alphaFiles: [(CatalogEntry, [UInt8]?)] = {
        var files: [(CatalogEntry, [UInt8]?)] = [
            (CatalogEntry(path: "movies", kind: .directory, mtime: Timestamp(seconds: 1000), mode: 0o755), nil),
            (CatalogEntry(path: "movies/KillBill.mkv", kind: .regular, size: UInt64(movieBytes.count), mtime: Timestamp(seconds: 2000, nanoseconds: 123), mode: 0o644), movieBytes),
            (CatalogEntry(path: "movies/trailer.sh", kind: .regular, size: 5, mtime: Timestamp(seconds: 2100), mode: 0o750), Array("echo\n".utf8)),
            (CatalogEntry(path: "docs", kind: .directory, mtime: Timestamp(seconds: 900), mode: 0o755), nil),
            (CatalogEntry(path: "docs/readme.txt", kind: .regular, size: 13, mtime: Timestamp(seconds: 3000), mode: 0o644), Array("hello, world\n".utf8)),
            (CatalogEntry(path: "empty.txt", kind: .regular, size: 0, mtime: Timestamp(seconds: 3100), mode: 0o600), []),
            (CatalogEntry(path: "shared.txt", kind: .regular, size: 5, mtime: Timestamp(seconds: 100), mode: 0o644), Array("old!\n".utf8)),
            (CatalogEntry(path: "latest", kind: .symlink, size: 0, mtime: Timestamp(seconds: 3200), mode: 0o777, symlinkTarget: "movies/KillBill.mkv"), nil),
            (CatalogEntry(path: "name with spaces/ünïcödé.txt", kind: .regular, size: 3, mtime: Timestamp(seconds: 3300), mode: 0o644), Array("ü\n".utf8)),
            (CatalogEntry(path: "big", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755), nil),
        ]
        for index in 0..<300 {
            let name = "f" + String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index)
            files.append((CatalogEntry(path: "big/\(name)", kind: .regular, size: UInt64(index), mtime: Timestamp(seconds: 5), mode: 0o644), nil))
        }
        return files
    }()

    public static let betaEntries: [CatalogEntry] = [
        CatalogEntry(path: "movies/KillBill.mkv", kind: .regular, size: UInt64(movieBytes.count), mtime: Timestamp(seconds: 2000, nanoseconds: 123), mode: 0o644),
        CatalogEntry(path: "shared.txt", kind: .regular, size: 7, mtime: Timestamp(seconds: 200), mode: 0o644),
        CatalogEntry(path: "beta-only.bin", kind: .regular, size: 4096, mtime: Timestamp(seconds: 300), mode: 0o644),
        CatalogEntry(path: "deep/a/b/c/d/file", kind: .regular, size: 1, mtime: Timestamp(seconds: 400), mode: 0o644),
    ]

    /// What alpha offers (also what the peer program serves).
    public static let alphaCatalog: SourceCatalog = {
        var files: [String: [UInt8]] = [:]
        for (entry, content) in alphaFiles {
            if let content { files[entry.path] = content }
        }
        return SourceCatalog(
            origin: alpha, generation: 7, entries: alphaFiles.map(\.0), reader: FuzzMemoryReader(files: files), isLocal: true
        )
    }()

    public static let betaCatalog = SourceCatalog(
        origin: beta, generation: 3, entries: betaEntries,
        reader: FuzzMemoryReader(files: ["shared.txt": Array("newer!\n".utf8)]), isLocal: false
    )

    /// The namespace after start-up.
    public static let readyStore: NamespaceStore = makeStore(ready: true)
    /// The namespace while it is still being gathered (NFS3ERR_JUKEBOX, NLM grace period).
    public static let gatheringStore: NamespaceStore = makeStore(ready: false)

    static func makeStore(ready: Bool) -> NamespaceStore {
        let logger = Logger(label: "p2pfs.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = NamespaceStore(logger: logger, clock: { now })
        store.setCatalogs([alphaCatalog, betaCatalog])
        // Built on the store's own thread; the fuzz entry points are synchronous.
        while store.current.generation == 0 {
            usleep(100)
        }
        if ready { store.markReady() }
        return store
    }

    /// The NFS file handle bytes of a namespace path ("" is the root).
    public static func handle(_ path: String) -> [UInt8] {
        var bytes: [UInt8] = [0x50, 0x32, 0x46, 0x01]
        let id = FileID(path: path).rawValue
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: id >> UInt64(shift)))
        }
        return bytes
    }
}
