import CP2PFSSystem
import NIOConcurrencyHelpers
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Watches every directory of the exports with inotify, so that a change is
/// rescanned within about a second instead of at the next periodic rescan,
/// and an idle export costs nothing.
///
/// Directories are watched as the scanner opens them, through
/// `/proc/self/fd/N`: the watch lands on the very inode the scan read, never
/// on whatever a path or symlink points to later. The descriptor is read on
/// a thread of its own blocking in `poll` (inotify descriptors cannot be
/// handed to NIO as a channel without a pipe bootstrap that expects a byte
/// stream, and a dedicated thread keeps event loops free of any read).
public final class ExportWatcher: Sendable {
    /// What the watches cover after a scan.
    public struct Coverage: Equatable, Sendable {
        /// Directories watched.
        public var watched: Int
        /// Directories left unwatched because `max_user_watches` is reached.
        public var refusedForLimit: Int
        /// Directories that could not be watched for another reason.
        public var failed: Int
    }

    private struct State {
        var directories: [Int32: String] = [:]
        /// By path (exact bytes): an incremental rescan tries a refused
        /// directory again (the parent of a changed one) and must not count
        /// it twice.
        var refusedForLimit: Set<ExactPath> = []
        var failed: Set<ExactPath> = []
        /// Watches (re)added by the scan under way.
        var seen: Set<Int32> = []
        var thread: NIOThreadPool?
    }

    private let descriptor: CInt
    private let wakeup: CInt
    private let state = NIOLockedValueBox(State())

    /// Opens an inotify instance; nil (with `errno`) where the kernel or a
    /// sandbox refuses one, and the caller falls back to periodic rescans.
    public init?() {
        let descriptor = inotify_init1(CInt(O_NONBLOCK | O_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        let wakeup = p2pfs_wakeup_descriptor()
        guard wakeup >= 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.wakeup = wakeup
    }

    deinit {
        close(self.descriptor)
        close(self.wakeup)
    }

    /// Watches the directory open as `directory` (the scanner's descriptor)
    /// under the export-relative `path`. Watching an inode twice returns the
    /// same watch, which then takes the newer path (a renamed directory).
    public func watch(directory: CInt, path: String) {
        let wd = inotify_add_watch(self.descriptor, "/proc/self/fd/\(directory)", InotifyEvent.Mask([.watched, .onlyDirectory]).rawValue)
        let code = errno
        let exact = ExactPath(path)
        self.state.withLockedValue { state in
            if wd >= 0 {
                state.directories[wd] = path
                state.seen.insert(wd)
                state.refusedForLimit.remove(exact)
                state.failed.remove(exact)
            } else if code == ENOSPC {
                state.refusedForLimit.insert(exact)
            } else {
                state.failed.insert(exact)
            }
        }
    }

    /// Clears the refusal counts before a full scan, so `coverage` after it
    /// says what that scan could watch.
    public func beginScan() {
        self.state.withLockedValue {
            $0.refusedForLimit = []
            $0.failed = []
            $0.seen = []
        }
    }

    /// Removes the watches a full scan did not meet again: directories moved
    /// out of the exports keep their inode, and their watch would leak.
    public func endScan() {
        let stale = self.state.withLockedValue { state -> [Int32] in
            let stale = state.directories.keys.filter { !state.seen.contains($0) }
            for watch in stale { state.directories[watch] = nil }
            return stale
        }
        for watch in stale { inotify_rm_watch(self.descriptor, watch) }
    }

    /// Removes the watches still standing for directories under `paths`
    /// (deleted or moved out of the exports); a directory moved within the
    /// exports was watched again under its new path, and keeps its watch.
    public func unwatch(under paths: [ExactPath]) {
        guard !paths.isEmpty else { return }
        let roots = Set(paths)
        let stale = self.state.withLockedValue { state -> [Int32] in
            let stale = state.directories.filter { LocalExportIndex.isUnder(ExactPath($0.value), anyOf: roots) }.map(\.key)
            for watch in stale { state.directories[watch] = nil }
            state.refusedForLimit = state.refusedForLimit.filter { !LocalExportIndex.isUnder($0, anyOf: roots) }
            state.failed = state.failed.filter { !LocalExportIndex.isUnder($0, anyOf: roots) }
            return stale
        }
        for watch in stale { inotify_rm_watch(self.descriptor, watch) }
    }

    public var coverage: Coverage {
        self.state.withLockedValue {
            Coverage(watched: $0.directories.count, refusedForLimit: $0.refusedForLimit.count, failed: $0.failed.count)
        }
    }

    /// Starts the reading thread; `onBatch` is called on it for each batch of
    /// changes (keep it short: hand the work to a task).
    public func start(batcher: ChangeBatcher = .init(), onBatch: @escaping @Sendable (ChangeBatch) -> Void) {
        let pool = NIOThreadPool(numberOfThreads: 1)
        let started: Bool = self.state.withLockedValue { state in
            guard state.thread == nil else { return false }
            state.thread = pool
            return true
        }
        guard started else { return }
        pool.start()
        pool.submit { _ in self.readLoop(batcher: batcher, onBatch: onBatch) }
    }

    /// Stops the reading thread and waits for it.
    public func stop() async {
        var one: UInt64 = 1
        _ = write(self.wakeup, &one, MemoryLayout<UInt64>.size)
        let pool = self.state.withLockedValue { state -> NIOThreadPool? in
            defer { state.thread = nil }
            return state.thread
        }
        try? await pool?.shutdownGracefully()
    }

    private func readLoop(batcher initial: ChangeBatcher, onBatch: @Sendable (ChangeBatch) -> Void) {
        var batcher = initial
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var timeout: CInt = -1
            if let deadline = batcher.deadline {
                let left = deadline - ContinuousClock.now
                let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
                timeout = CInt(max(0, min(milliseconds + 1, 60_000)))
            }
            var fds = [pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: self.wakeup, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR { return }
            if fds[1].revents != 0 { return }
            if fds[0].revents != 0 {
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(self.descriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    // The kernel returns whole records only.
                    let (events, _) = InotifyEventDecoder.decode(buffer[0..<count])
                    self.forget(events.filter { $0.mask.contains(.ignored) }.map(\.watch))
                    let paths = self.state.withLockedValue { $0.directories }
                    batcher.record(events, at: .now) { paths[$0] }
                }
            }
            if let batch = batcher.take(at: .now) { onBatch(batch) }
        }
    }

    private func forget(_ watches: [Int32]) {
        guard !watches.isEmpty else { return }
        self.state.withLockedValue { state in
            for watch in watches { state.directories[watch] = nil }
        }
    }

    /// The per-user watch limit, `/proc/sys/fs/inotify/max_user_watches`.
    public static func maximumUserWatches() -> Int? {
        let descriptor = open("/proc/sys/fs/inotify/max_user_watches", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return Int(String(decoding: buffer[0..<count], as: UTF8.self).filter(\.isNumber))
    }

    /// Whether the file system under `descriptor` reports changes through
    /// inotify: network and FUSE file systems only see local changes, so
    /// their exports are left to periodic rescans. Returns the type's name
    /// when it does not.
    public static func fileSystemWithoutEvents(_ descriptor: CInt) -> String? {
        let type = p2pfs_filesystem_type(descriptor)
        guard type != -1 else { return nil }
        switch UInt32(truncatingIfNeeded: type) {
        case 0x6969: return "NFS"
        case 0x517B: return "SMB"
        case 0xFF53_4D42: return "CIFS"
        case 0xFE53_4D42: return "SMB2"
        case 0x6573_5546: return "FUSE"
        case 0x0102_1997: return "9P"
        case 0x00C3_6400: return "Ceph"
        default: return nil
        }
    }
}
