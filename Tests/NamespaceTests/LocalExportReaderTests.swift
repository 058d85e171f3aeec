import CP2PFSSystem
import CThreadCapabilities
import Foundation
import NIOCore
import NIOPosix
import Namespace
import TestPrerequisites
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where LocalExportReader serves a read: on the event loop from the page
/// cache when the descriptor is open already, on the pool otherwise; the
/// bytes and the version are the same either way.
@Suite struct LocalExportReaderTests {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Long enough that a slow machine never sees the descriptor expire
    /// between a test's reads (expiry is not what these tests are about).
    static let lifetime: Duration = .seconds(600)

    final class Fixture {
        let base: URL
        let root: ExportRoot
        let content: [UInt8]

        init(size: Int) throws {
            // Not tmpfs where it can be avoided: the eviction test needs a
            // file system whose page cache can be dropped.
            let parent = FileManager.default.fileExists(atPath: "/var/tmp") ? URL(fileURLWithPath: "/var/tmp") : FileManager.default.temporaryDirectory
            self.base = parent.appendingPathComponent("p2pfs-reader-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: self.base, withIntermediateDirectories: true)
            var generator = SystemRandomNumberGenerator()
            var content = [UInt8](repeating: 0, count: size)
            content.withUnsafeMutableBytes { bytes in
                for offset in stride(from: 0, to: size - 7, by: 8) { bytes.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self) }
            }
            self.content = content
            try Data(self.content).write(to: self.base.appendingPathComponent("data.bin"))
            Self.flush(self.base.appendingPathComponent("data.bin").path)
            self.root = try ExportRoot(LocalExport(name: "share", path: self.base.path))
        }

        deinit { try? FileManager.default.removeItem(at: self.base) }

        var filePath: String { self.base.appendingPathComponent("data.bin").path }

        /// Writes the file's pages back, so none is locked for writeback
        /// when a test expects a cached-only read to succeed.
        static func flush(_ path: String) {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { return }
            fsync(descriptor)
            close(descriptor)
        }
    }

    /// Reads until a read is served inline (at most 10 tries): the kernel
    /// may refuse a cached-only read now and then (a page locked by
    /// writeback or reclaim elsewhere on the machine), which is the fallback
    /// doing its job, not what these tests look at.
    static func readInline(_ reader: LocalExportReader, offset: UInt64, count: Int) async throws -> FileReadResult {
        try await Self.retry(reader, until: \.inline) { try await Self.read(reader, offset: offset, count: count) }
    }

    /// Reads (at most 10 times) until the counter at `served` moves.
    static func retry(
        _ reader: LocalExportReader, until served: KeyPath<LocalExportReader.Counters, Int>,
        _ read: () async throws -> FileReadResult
    ) async throws -> FileReadResult {
        let before = reader.counters[keyPath: served]
        var result = try await read()
        for _ in 0..<9 where reader.counters[keyPath: served] == before {
            result = try await read()
        }
        return result
    }

    static func read(_ reader: LocalExportReader, offset: UInt64, count: Int) async throws -> FileReadResult {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return try await reader.read(path: "share/data.bin", expected: FileVersion(size: 0, mtime: .zero), offset: offset,
                                     count: count, eventLoop: loop).get()
    }

    @Test func secondReadOfAnOpenFileIsServedInlineWithTheSameBytes() async throws {
        let fixture = try Fixture(size: 300_000)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        let first = try await Self.read(reader, offset: 0, count: 4096)
        #expect(first.data.readableBytesView.elementsEqual(fixture.content[0..<4096]))
        #expect(reader.counters == .init(inline: 0, pooled: 1), "the first read opens the file on the pool")

        let second = try await Self.readInline(reader, offset: 100_000, count: 250_000)
        #expect(reader.counters.inline == 1)
        #expect(second.data.readableBytesView.elementsEqual(fixture.content[100_000...]), "short at end of file")
        #expect(second.isEndOfFile)
        #expect(second.version.size == 300_000)
        #expect(!first.isEndOfFile)
    }

    @Test func inlineReadSeesATruncation() async throws {
        let fixture = try Fixture(size: 65_536)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader, offset: 0, count: 1)
        #expect(truncate(fixture.filePath, 1000) == 0)
        Fixture.flush(fixture.filePath)
        let after = try await Self.readInline(reader, offset: 900, count: 4096)
        #expect(reader.counters.inline == 1)
        #expect(after.data.readableBytesView.elementsEqual(fixture.content[900..<1000]))
        #expect(after.isEndOfFile)
        #expect(after.version.size == 1000)
    }

    @Test func readThatWouldWaitForTheDiskGoesToThePool() async throws {
        let fixture = try Fixture(size: 2 << 20)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader, offset: 0, count: 1)       // opens the descriptor
        // Write back and drop the file's pages, then check that the kernel
        // really refuses a cached-only read here (not on tmpfs, for one).
        let descriptor = open(fixture.filePath, O_RDONLY)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        fsync(descriptor)
        posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
        var probe = [UInt8](repeating: 0, count: 4096)
        let refused = probe.withUnsafeMutableBytes { p2pfs_pread_cached(descriptor, $0.baseAddress, 4096, 1 << 20) } < 0 && errno == EAGAIN
        try #require(refused, "this file system keeps the pages: nothing to fall back from")

        let read = try await Self.read(reader, offset: 1 << 20, count: 65_536)
        #expect(reader.counters == .init(inline: 0, pooled: 2))
        #expect(read.data.readableBytesView.elementsEqual(fixture.content[(1 << 20)..<((1 << 20) + 65_536)]))
    }

    @Test func largeReadsOfOneLoopTurnGoInlineOneAtATime() async throws {
        let fixture = try Fixture(size: 4 << 20)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader, offset: 0, count: 1)        // opens the descriptor
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // Three 1 MiB reads and one small one issued in the same turn of the
        // loop, as a burst of requests from one client would be.
        let futures = try await loop.submit { () -> [EventLoopFuture<FileReadResult>] in
            [0, 1, 2].map { index in
                reader.read(path: "share/data.bin", expected: FileVersion(size: 0, mtime: .zero),
                            offset: UInt64(index) << 20, count: 1 << 20, eventLoop: loop)
            } + [reader.read(path: "share/data.bin", expected: FileVersion(size: 0, mtime: .zero),
                             offset: 3 << 20, count: 4096, eventLoop: loop)]
        }.get()
        var results: [FileReadResult] = []
        for future in futures { results.append(try await future.get()) }
        for index in 0..<3 {
            #expect(results[index].data.readableBytesView.elementsEqual(fixture.content[(index << 20)..<((index + 1) << 20)]))
        }
        #expect(results[3].data.readableBytesView.elementsEqual(fixture.content[(3 << 20)..<((3 << 20) + 4096)]))
        // At most one large read of the turn inline (none if the kernel
        // refused it), the small one inline unless refused: the other two
        // large ones on the pool whatever happens.
        #expect(reader.counters.pooled >= 1 + 2)
        #expect(reader.counters.inline <= 2)

        // A later turn may copy a large read inline again.
        let before = reader.counters.inline
        _ = try await Self.readInline(reader, offset: 1 << 20, count: 1 << 20)
        #expect(reader.counters.inline == before + 1)
    }

    @Test func inlineCanBeTurnedOff() async throws {
        let fixture = try Fixture(size: 8192)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, allowInline: false, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader, offset: 0, count: 1)
        let read = try await Self.read(reader, offset: 4096, count: 4096)
        #expect(reader.counters == .init(inline: 0, pooled: 2))
        #expect(read.data.readableBytesView.elementsEqual(fixture.content[4096...]))
    }

    static func readForSending(_ reader: LocalExportReader, offset: UInt64, count: Int) async throws -> FileReadResult {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return try await reader.readForSending(path: "share/data.bin", expected: FileVersion(size: 0, mtime: .zero), offset: offset,
                                               count: count, eventLoop: loop).get()
    }

    /// Whether this kernel tells which pages are cached (cachestat, 6.5).
    static func kernelTellsCachedPages(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        return p2pfs_range_is_cached(descriptor, 0, 4096) >= 0
    }

    /// As `readInline`, for regions.
    static func readRegion(_ reader: LocalExportReader, offset: UInt64, count: Int) async throws -> FileReadResult {
        try await Self.retry(reader, until: \.regions) { try await Self.readForSending(reader, offset: offset, count: count) }
    }

    @Test func largeReadForSendingIsARegionOfTheOpenFile() async throws {
        let fixture = try Fixture(size: 3 << 20)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        let first = try await Self.readForSending(reader, offset: 0, count: 1 << 20)
        #expect(reader.counters == .init(inline: 0, pooled: 1), "the first read opens the file on the pool, and copies")
        guard case .bytes(let copied) = first.content else {
            Issue.record("a file not yet open is read, not sent as a region")
            return
        }
        #expect(copied.readableBytesView.elementsEqual(fixture.content[0..<(1 << 20)]))

        let read = try await Self.readRegion(reader, offset: 4096, count: 1 << 20)
        if Self.kernelTellsCachedPages(fixture.filePath) {
            #expect(reader.counters.regions == 1)
            guard case .region(let region, _) = read.content else {
                Issue.record("a cached range of an open file is a region")
                return
            }
            #expect(region.readerIndex == 4096 && region.endIndex == 4096 + (1 << 20))
        }
        #expect(read.data.readableBytesView.elementsEqual(fixture.content[4096..<(4096 + (1 << 20))]))
        #expect(!read.isEndOfFile)
        #expect(read.version.size == 3 << 20)

        let last = try await Self.readRegion(reader, offset: (3 << 20) - 100_000, count: 1 << 20)
        #expect(last.content.count == 100_000, "short at end of file")
        #expect(last.isEndOfFile)
        #expect(last.data.readableBytesView.elementsEqual(fixture.content[((3 << 20) - 100_000)...]))
    }

    @Test func smallReadForSendingIsCopied() async throws {
        let fixture = try Fixture(size: 1 << 20)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader, offset: 0, count: 1)
        let read = try await Self.readForSending(reader, offset: 8192, count: 64 << 10)
        #expect(reader.counters.regions == 0)
        guard case .bytes(let bytes) = read.content else {
            Issue.record("64 KiB and less are copied: a region costs more than the copy")
            return
        }
        #expect(bytes.readableBytesView.elementsEqual(fixture.content[8192..<(8192 + (64 << 10))]))
    }

    /// Newer kernels (this machine's 6.18) tell which pages of a file are
    /// cached only to a caller who owns the file, may write it, or holds
    /// CAP_FOWNER. A daemon that may only read a file (a user's daemon
    /// sharing another owner's file, the packaged unit's root without
    /// CAP_FOWNER) copies that file, and still sends the others by region.
    @Test(.requires(.root)) func aFileWhoseCacheStateIsRefusedIsCopiedAndOthersAreStillSent() async throws {
        let fixture = try Fixture(size: 2 << 20)
        try #require(Self.kernelTellsCachedPages(fixture.filePath), "this kernel hands out no regions")
        let otherPath = fixture.base.appendingPathComponent("other.bin").path
        let otherContent = Array(fixture.content.reversed())
        try Data(otherContent).write(to: URL(fileURLWithPath: otherPath))
        try #require(chown(otherPath, 65534, 65534) == 0 && chmod(otherPath, 0o644) == 0)
        Fixture.flush(otherPath)
        let reader = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // Open both (on the reader's pool, whose threads keep root's capabilities).
        for path in ["share/other.bin", "share/data.bin"] {
            _ = try await reader.read(path: path, expected: FileVersion(size: 0, mtime: .zero), offset: 0, count: 1, eventLoop: loop).get()
        }

        // Ask from a thread without capabilities: root's uid, no CAP_FOWNER.
        let unprivileged = NIOThreadPool(numberOfThreads: 1)
        unprivileged.start()
        do {
            try await Self.readAsUnprivileged(reader, fixture: fixture, otherPath: otherPath, otherContent: otherContent, on: unprivileged)
        } catch {
            try? await unprivileged.shutdownGracefully()
            throw error
        }
        try await unprivileged.shutdownGracefully()
    }

    private static func readAsUnprivileged(
        _ reader: LocalExportReader, fixture: Fixture, otherPath: String, otherContent: [UInt8], on unprivileged: NIOThreadPool
    ) async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        try await unprivileged.runIfActive(eventLoop: loop) {
            guard p2pfs_test_clear_thread_capabilities() == 0 else { throw POSIXError(.EPERM) }
        }.get()
        let refusedHere = try await unprivileged.runIfActive(eventLoop: loop) { () -> Bool in
            let descriptor = open(otherPath, O_RDONLY)
            defer { close(descriptor) }
            return p2pfs_range_is_cached(descriptor, 0, 4096) == -2
        }.get()
        try #require(refusedHere, "this kernel answers cachestat for any readable file, so nothing is refused")

        func readForSending(_ path: String, offset: UInt64) async throws -> FileReadResult {
            try await unprivileged.runIfActive(eventLoop: loop) {
                try reader.readForSending(path: path, expected: FileVersion(size: 0, mtime: .zero), offset: offset,
                                          count: 1 << 20, eventLoop: loop).wait()
            }.get()
        }
        for offset: UInt64 in [0, 1 << 20] {
            let other = try await readForSending("share/other.bin", offset: offset)
            guard case .bytes(let copied) = other.content else {
                Issue.record("a file whose cache state the kernel will not tell is copied")
                return
            }
            let start = Int(offset)
            #expect(copied.readableBytesView.elementsEqual(otherContent[start..<(start + (1 << 20))]))
        }
        #expect(reader.counters.regions == 0)
        // A refusal is about that file: the daemon's own file is still sent.
        let own = try await Self.retry(reader, until: \.regions) { try await readForSending("share/data.bin", offset: 1 << 20) }
        #expect(reader.counters.regions == 1, "the refusal for one file stopped regions for all")
        guard case .region = own.content else {
            Issue.record("the file this thread may ask about is sent as a region")
            return
        }
        #expect(own.data.readableBytesView.elementsEqual(fixture.content[(1 << 20)...]))
    }

    @Test func regionKeepsItsFileOpenAfterTheReaderLetsGo() async throws {
        let fixture = try Fixture(size: 2 << 20)
        try #require(Self.kernelTellsCachedPages(fixture.filePath), "this kernel hands out no regions")
        var reader: LocalExportReader? = LocalExportReader(roots: [fixture.root], threadPool: Self.pool, descriptorLifetime: Self.lifetime)
        _ = try await Self.read(reader!, offset: 0, count: 1)
        let read = try await Self.readRegion(reader!, offset: 1 << 20, count: 1 << 20)
        try #require(reader!.counters.regions == 1)
        reader = nil        // and with it the cache of open descriptors
        #expect(read.data.readableBytesView.elementsEqual(fixture.content[(1 << 20)...]))
    }
}
