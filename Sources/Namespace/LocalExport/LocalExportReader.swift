import CoreMetrics
import CP2PFSSystem
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

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
///
/// A read of a file whose descriptor is open already is first tried on the
/// calling event loop with `RWF_NOWAIT`, which copies what the page cache
/// holds and refuses rather than waits for the disk: for a client with one
/// request in flight the two thread hops cost more than the copy. Only what
/// would block goes to the pool. Large reads go inline one per event-loop
/// turn: the first of a burst (a client with many requests in flight)
/// is copied inline, the rest on the pool's threads, in parallel.
///
/// A caller that only writes the bytes to a socket (`readForSending`: the
/// NFS READ replies) gets large reads of cached pages as a region of the
/// open file instead, which the socket sends with `sendfile`: no copy into
/// user space at all, and no thread hop.
public final class LocalExportReader: FileReader {
    /// How long an open descriptor is reused before the path is opened again
    /// (so a file replaced by rename is noticed).
    private let descriptorLifetime: Duration
    static let maximumOpenFiles = 64
    /// Reads larger than this always go to the pool, so a big copy never
    /// holds up an event loop's other connections.
    static let inlineReadLimit = 1 << 20
    /// Reads up to this size go inline however many arrive at once; reads
    /// above it are sent as file regions where they can be.
    static let smallReadLimit = 64 << 10

    /// Where a read was served, counted for tests and statistics.
    public struct Counters: Sendable, Equatable {
        /// Served on the caller's event loop from the page cache.
        public var inline: Int
        /// Served on the thread pool.
        public var pooled: Int
        /// Handed out as a region of the open file, for `sendfile`.
        public var regions: Int

        public init(inline: Int, pooled: Int, regions: Int = 0) {
            self.inline = inline
            self.pooled = pooled
            self.regions = regions
        }
    }

    /// By name's bytes, as `ExportRoot.openAll` tells names apart.
    private let roots: [ExactPath: ExportRoot]
    let threadPool: NIOThreadPool
    /// Content hashes for HASH (`LocalExportReader+ContentHasher.swift`).
    public let hashes: ContentHashCache
    private let allocator = ByteBufferAllocator()
    /// By the path's bytes: Swift's `String ==` would take two canonically
    /// equivalent names (NFC and NFD "café", two files) for one.
    private let openFiles = NIOLockedValueBox<[[UInt8]: OpenFile]>([:])
    private let inlineReads = Atomic<Int>(0)
    private let pooledReads = Atomic<Int>(0)
    private let regionReads = Atomic<Int>(0)
    /// `p2pfs_local_reads_total{served=...}`: where each read of an export
    /// was served, so an operator can see whether READs go out by sendfile.
    private let servedOnEventLoop = Counter(label: "p2pfs_local_reads_total", dimensions: [("served", "event_loop")])
    private let servedOnThreadPool = Counter(label: "p2pfs_local_reads_total", dimensions: [("served", "thread_pool")])
    private let servedBySendfile = Counter(label: "p2pfs_local_reads_total", dimensions: [("served", "sendfile")])
    /// False once the kernel or file system refused RWF_NOWAIT.
    private let inlineSupported = Atomic<Bool>(true)
    private let allowInline: Bool
    /// Event loops that copied a large read inline in their current turn.
    private let loopsCopyingInline = NIOLockedValueBox<Set<ObjectIdentifier>>([])

    public var counters: Counters {
        Counters(
            inline: self.inlineReads.load(ordering: .relaxed), pooled: self.pooledReads.load(ordering: .relaxed),
            regions: self.regionReads.load(ordering: .relaxed)
        )
    }

    /// `allowInline: false` sends every read to the pool (for comparison).
    public init(roots: [ExportRoot], threadPool: NIOThreadPool, allowInline: Bool = true,
                descriptorLifetime: Duration = .seconds(1)) {
        self.roots = Dictionary(uniqueKeysWithValues: roots.map { (ExactPath($0.name), $0) })
        self.threadPool = threadPool
        self.hashes = ContentHashCache(threadPool: threadPool)
        self.allowInline = allowInline
        self.descriptorLifetime = descriptorLifetime
    }

    public func read(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        if self.allowInline, count <= Self.inlineReadLimit, self.inlineSupported.load(ordering: .relaxed),
            let file = self.cachedFile(path), count <= Self.smallReadLimit || self.claimInlineTurn(eventLoop)
        {
            do {
                if let result = try self.read(file, path: path, offset: offset, count: count, cachedOnly: true) {
                    self.inlineReads.add(1, ordering: .relaxed)
                    self.servedOnEventLoop.increment()
                    return eventLoop.makeSucceededFuture(result)
                }
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
        return self.threadPool.runIfActive(eventLoop: eventLoop) {
            self.pooledReads.add(1, ordering: .relaxed)
            self.servedOnThreadPool.increment()
            return try self.read(try self.openFile(path), path: path, offset: offset, count: count, cachedOnly: false)!
        }
    }

    public func readForSending(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        if self.allowInline, count > Self.smallReadLimit, let file = self.cachedFile(path), file.sendsFromPageCache {
            do {
                if let result = try self.region(file, path: path, offset: offset, count: count) {
                    self.regionReads.add(1, ordering: .relaxed)
                    self.servedBySendfile.increment()
                    return eventLoop.makeSucceededFuture(result)
                }
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
        return self.read(path: path, expected: expected, offset: offset, count: count, eventLoop: eventLoop)
    }

    /// The range as a region of `file`, when the page cache holds all of it
    /// (so `sendfile` on the event loop never waits for the disk); nil when
    /// it does not, or the kernel cannot tell (before Linux 6.5) or will not
    /// (`OpenFile.pageCacheStateRefused`).
    private func region(_ file: OpenFile, path: String, offset: UInt64, count: Int) throws -> FileReadResult? {
        var info = stat()
        guard fstat(file.descriptor, &info) == 0 else { throw Self.error(errno, path: path) }
        let size = UInt64(info.st_size)
        guard offset < size else { return nil }
        let wanted = Int(min(UInt64(count), size - offset))
        guard !file.pageCacheStateRefused.load(ordering: .relaxed) else { return nil }
        let cached = p2pfs_range_is_cached(file.descriptor, offset, UInt64(wanted))
        if cached == -2 { file.pageCacheStateRefused.store(true, ordering: .relaxed) }  // not ours to ask: copied
        guard cached == 1 else { return nil }
        let region = FileRegion(fileHandle: file.handle, readerIndex: Int(offset), endIndex: Int(offset) + wanted)
        return FileReadResult(
            content: .region(region, file: file), isEndOfFile: offset + UInt64(wanted) >= size, version: FileVersion(of: info)
        )
    }

    /// True for the first large read of this turn of `eventLoop`; the claim
    /// is dropped by a task that runs once the turn's I/O is handled.
    private func claimInlineTurn(_ eventLoop: any EventLoop) -> Bool {
        let id = ObjectIdentifier(eventLoop)
        guard self.loopsCopyingInline.withLockedValue({ $0.insert(id).inserted }) else { return false }
        eventLoop.execute { self.loopsCopyingInline.withLockedValue { _ = $0.remove(id) } }
        return true
    }

    /// Reads with fstat for the version. With `cachedOnly`, nil when any of
    /// the bytes would have to come from the disk (nothing is kept: the
    /// pool reads it all again, which keeps one code path for the result).
    private func read(_ file: OpenFile, path: String, offset: UInt64, count: Int, cachedOnly: Bool) throws -> FileReadResult? {
        var info = stat()
        guard fstat(file.descriptor, &info) == 0 else { throw Self.error(errno, path: path) }
        let size = UInt64(info.st_size)
        let version = FileVersion(of: info)
        guard offset < size, count > 0 else {
            return FileReadResult(data: ByteBuffer(), isEndOfFile: true, version: version)
        }
        let wanted = Int(min(UInt64(count), size - offset))
        var buffer = self.allocator.buffer(capacity: wanted)
        var wouldBlock = false
        let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer -> Int in
            var done = 0
            while done < wanted {
                let result: Int
                if cachedOnly {
                    result = Int(p2pfs_pread_cached(file.descriptor, pointer.baseAddress! + done, UInt64(wanted - done), Int64(offset) + Int64(done)))
                } else {
                    result = pread(file.descriptor, pointer.baseAddress! + done, wanted - done, off_t(offset) + off_t(done))
                }
                if result < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if cachedOnly && (code == EAGAIN || code == EOPNOTSUPP) {
                        if code == EOPNOTSUPP { self.inlineSupported.store(false, ordering: .relaxed) }
                        wouldBlock = true
                        break
                    }
                    throw Self.error(code, path: path)
                }
                if result == 0 { break }
                done += result
            }
            return done
        }
        if wouldBlock { return nil }
        return FileReadResult(data: buffer, isEndOfFile: offset + UInt64(got) >= size, version: version)
    }

    /// The open descriptor of `path` if it is young enough to reuse.
    private func cachedFile(_ path: String) -> OpenFile? {
        guard let cached = self.openFiles.withLockedValue({ $0[Array(path.utf8)] }),
            ContinuousClock.now - cached.openedAt < self.descriptorLifetime
        else { return nil }
        return cached
    }

    private func openFile(_ path: String) throws -> OpenFile {
        let now = ContinuousClock.now
        if let cached = self.cachedFile(path) {
            return cached
        }
        let file = try self.openRegularFile(path, now: now)
        self.openFiles.withLockedValue { files in
            if files.count >= Self.maximumOpenFiles {
                files = files.filter { now - $0.value.openedAt < self.descriptorLifetime }
                if files.count >= Self.maximumOpenFiles { files.removeAll() }
            }
            files[Array(path.utf8)] = file
        }
        return file
    }

    /// Opens `path` afresh (no reused descriptor), refusing anything but a
    /// regular file beneath its export.
    func openRegularFile(_ path: String, now: ContinuousClock.Instant = .now) throws -> OpenFile {
        guard let slash = path.firstIndex(of: "/"), let root = self.roots[ExactPath(path[..<slash])] else {
            throw self.roots[ExactPath(path)] != nil ? FileSystemError.isDirectory : FileSystemError.stale
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
        return OpenFile(descriptor: descriptor, openedAt: now, sendsFromPageCache: OpenFile.sendfileFileSystems.contains(p2pfs_filesystem_type(descriptor)))
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

/// A descriptor shared by concurrent reads, and by the file regions being
/// sent from it; closed when the last of them is done.
public final class OpenFile: Sendable {
    let descriptor: CInt
    /// The same descriptor, for `FileRegion`s.
    let handle: NIOFileHandle
    let openedAt: ContinuousClock.Instant
    /// On a file system whose files `sendfile` reads from the page cache.
    let sendsFromPageCache: Bool
    /// The kernel refused to say which pages of this file are cached: newer
    /// kernels answer `cachestat` only for a file the caller owns or may
    /// write (or with CAP_FOWNER), and a seccomp filter may not list the
    /// call. Reads of this descriptor are then copied without asking again;
    /// other files are still asked about.
    let pageCacheStateRefused = Atomic<Bool>(false)

    /// File systems (`statfs.f_type`) whose reads `sendfile` serves from the
    /// page cache: ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS,
    /// bcachefs. Files on others (FUSE, NFS, SMB) are copied, as before.
    static let sendfileFileSystems: Set<Int64> = [
        0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630, 0x2FC1_2FC1, 0xF2F5_2010, 0xCA45_1A4E,
    ]

    init(descriptor: CInt, openedAt: ContinuousClock.Instant, sendsFromPageCache: Bool = false) {
        self.descriptor = descriptor
        self.handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
        self.openedAt = openedAt
        self.sendsFromPageCache = sendsFromPageCache
    }

    deinit {
        try? self.handle.close()
    }
}
