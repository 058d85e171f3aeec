import CP2PFSSystem
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads files of local exports from disk, on a thread pool.
///
/// Files are opened beneath their export's root descriptor without following
/// symlinks (`p2pfs_open_beneath`), so a file swapped for a symlink between
/// scan and read is refused rather than followed. Open descriptors are kept
/// for a short while so sequential READs don't reopen the file each time.
public final class LocalExportReader: FileReader {
    /// How long an open descriptor is reused before the path is opened again
    /// (so a file replaced by rename is noticed).
    static let descriptorLifetime: Duration = .seconds(1)
    static let maximumOpenFiles = 64

    private let roots: [String: ExportRoot]
    private let threadPool: NIOThreadPool
    private let allocator = ByteBufferAllocator()
    /// By the path's bytes: Swift's `String ==` would take two canonically
    /// equivalent names (NFC and NFD "café", two files) for one.
    private let openFiles = NIOLockedValueBox<[[UInt8]: OpenFile]>([:])

    public init(roots: [ExportRoot], threadPool: NIOThreadPool) {
        self.roots = Dictionary(uniqueKeysWithValues: roots.map { ($0.name, $0) })
        self.threadPool = threadPool
    }

    public func read(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        self.threadPool.runIfActive(eventLoop: eventLoop) {
            try self.readBlocking(path: path, offset: offset, count: count)
        }
    }

    private func readBlocking(path: String, offset: UInt64, count: Int) throws -> FileReadResult {
        let file = try self.openFile(path)
        var info = stat()
        guard fstat(file.descriptor, &info) == 0 else { throw Self.error(errno, path: path) }
        let size = UInt64(info.st_size)
        let version = FileVersion(
            size: size,
            mtime: Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec))
        )
        guard offset < size, count > 0 else {
            return FileReadResult(data: ByteBuffer(), isEndOfFile: true, version: version)
        }
        let wanted = Int(min(UInt64(count), size - offset))
        var buffer = self.allocator.buffer(capacity: wanted)
        let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer -> Int in
            var done = 0
            while done < wanted {
                let result = pread(file.descriptor, pointer.baseAddress! + done, wanted - done, off_t(offset) + off_t(done))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw Self.error(errno, path: path)
                }
                if result == 0 { break }
                done += result
            }
            return done
        }
        return FileReadResult(data: buffer, isEndOfFile: offset + UInt64(read) >= size, version: version)
    }

    private func openFile(_ path: String) throws -> OpenFile {
        let now = ContinuousClock.now
        let key = Array(path.utf8)
        if let cached = self.openFiles.withLockedValue({ $0[key] }), now - cached.openedAt < Self.descriptorLifetime {
            return cached
        }
        guard let slash = path.firstIndex(of: "/"), let root = self.roots[String(path[..<slash])] else {
            throw self.roots[path] != nil ? FileSystemError.isDirectory : FileSystemError.stale
        }
        let relative = String(path[path.index(after: slash)...])
        // O_NONBLOCK: a FIFO put where a file was must not block this thread
        // waiting for a writer (it is refused below as not a regular file);
        // reads of regular files are unaffected.
        // By the path's exact bytes (`NameBytes`), NUL-terminated.
        let descriptor = (NameBytes.bytes(relative) + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { p2pfs_open_beneath(root.descriptor, $0.baseAddress!, O_RDONLY | O_NONBLOCK) }
        }
        guard descriptor >= 0 else { throw Self.error(errno, path: path) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw FileSystemError.isDirectory
        }
        let file = OpenFile(descriptor: descriptor, openedAt: now)
        self.openFiles.withLockedValue { files in
            if files.count >= Self.maximumOpenFiles {
                files = files.filter { now - $0.value.openedAt < Self.descriptorLifetime }
                if files.count >= Self.maximumOpenFiles { files.removeAll() }
            }
            files[key] = file
        }
        return file
    }

    static func error(_ code: Int32, path: String) -> FileSystemError {
        switch code {
        case ENOENT, ENOTDIR:
            return .stale
        case ELOOP, EXDEV:
            return .ioError("\(NameBytes.display(path)): refused, the path now leads through a symlink or out of the export")
        default:
            return .ioError("\(NameBytes.display(path)): \(String(cString: strerror(code)))")
        }
    }
}

/// A descriptor shared by concurrent reads; closed when the last one is done.
final class OpenFile: Sendable {
    let descriptor: CInt
    let openedAt: ContinuousClock.Instant

    init(descriptor: CInt, openedAt: ContinuousClock.Instant) {
        self.descriptor = descriptor
        self.openedAt = openedAt
    }

    deinit {
        close(self.descriptor)
    }
}
