import Foundation
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A file's content hash as HASH's owner computes it: SHA-256 of the bytes
/// on disk, remembered until the file's device, inode, size or mtime moves.
@Suite struct ContentHashCacheTests {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    final class Share {
        let url: URL
        let reader: LocalExportReader

        init() throws {
            self.url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-hash-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
            self.reader = LocalExportReader(roots: [try ExportRoot(LocalExport(name: "share", path: self.url.path))], threadPool: ContentHashCacheTests.pool)
        }

        deinit { try? FileManager.default.removeItem(at: self.url) }

        func write(_ name: String, _ bytes: [UInt8], mtime: Int? = nil) throws {
            try Data(bytes).write(to: self.url.appendingPathComponent(name))
            if let mtime { try self.setMtime(name, mtime) }
        }

        func setMtime(_ name: String, _ seconds: Int) throws {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: TimeInterval(seconds))], ofItemAtPath: self.url.appendingPathComponent(name).path
            )
        }

        func version(_ name: String) throws -> FileVersion {
            var info = stat()
            guard stat(self.url.appendingPathComponent(name).path, &info) == 0 else { throw FileSystemError.noEntry }
            return FileVersion(size: UInt64(info.st_size), mtime: Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec)))
        }

        func hash(_ name: String) async throws -> String {
            let hash = try await self.reader.contentHash(
                path: "share/" + name, expected: try self.version(name), eventLoop: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
            return hash.description
        }

        /// What `sha256sum` says: the expected value, computed independently.
        func sha256sum(_ name: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [self.url.appendingPathComponent(name).path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(String(decoding: output, as: UTF8.self).prefix(64))
        }
    }

    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 11)) }
    }

    @Test func aFileHashesToTheSHA256OfItsBytes() async throws {
        let share = try Share()
        try share.write("abc", Array("abc".utf8))
        #expect(try await share.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Several chunks and a partial last one.
        try share.write("big", Self.pattern(3 << 20 | 12345, seed: 7))
        #expect(try await share.hash("big") == (try share.sha256sum("big")))
        try share.write("empty", [])
        #expect(try await share.hash("empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func aKnownFileIsNotHashedAgain() async throws {
        let share = try Share()
        try share.write("f", Self.pattern(100_000, seed: 1), mtime: 1_000_000)
        let first = try await share.hash("f")
        #expect(try await share.hash("f") == first)
        #expect(share.reader.hashes.computations == 1)
    }

    @Test func aNewMtimeHashesAgain() async throws {
        let share = try Share()
        try share.write("f", Self.pattern(100_000, seed: 1), mtime: 1_000_000)
        let first = try await share.hash("f")
        try share.setMtime("f", 1_000_001)
        #expect(try await share.hash("f") == first)
        #expect(share.reader.hashes.computations == 2)
    }

    @Test func aNewSizeHashesAgain() async throws {
        let share = try Share()
        try share.write("f", Self.pattern(100_000, seed: 1), mtime: 1_000_000)
        _ = try await share.hash("f")
        try share.write("f", Self.pattern(100_001, seed: 1), mtime: 1_000_000)
        #expect(try await share.hash("f") == (try share.sha256sum("f")))
        #expect(share.reader.hashes.computations == 2)
    }

    @Test func aFileReplacedByRenameWithTheSameSizeAndMtimeHashesAgain() async throws {
        let share = try Share()
        try share.write("f", Self.pattern(100_000, seed: 1), mtime: 1_000_000)
        let before = try await share.hash("f")
        // Other bytes, same size and mtime, a new inode.
        try share.write("f.new", Self.pattern(100_000, seed: 2), mtime: 1_000_000)
        #expect(rename(share.url.appendingPathComponent("f.new").path, share.url.appendingPathComponent("f").path) == 0)
        let after = try await share.hash("f")
        #expect(after == (try share.sha256sum("f")))
        #expect(after != before)
        #expect(share.reader.hashes.computations == 2)
    }

    @Test func aFileNotAtTheExpectedVersionIsRefused() async throws {
        let share = try Share()
        try share.write("f", Self.pattern(1000, seed: 1), mtime: 1_000_000)
        let found = try share.version("f")
        let stale = FileVersion(size: 1000, mtime: Timestamp(seconds: 999_999))
        await #expect(throws: ContentHashError.changed(found)) {
            try await share.reader.contentHash(path: "share/f", expected: stale, eventLoop: MultiThreadedEventLoopGroup.singleton.next()).get()
        }
        await #expect(throws: ContentHashError.file(.stale)) {
            try await share.reader.contentHash(path: "share/gone", expected: stale, eventLoop: MultiThreadedEventLoopGroup.singleton.next()).get()
        }
        #expect(share.reader.hashes.computations == 0)
    }

    // MARK: The cache itself

    static func key(_ inode: UInt64) -> ContentHashCache.Key {
        ContentHashCache.Key(device: 1, inode: inode, version: FileVersion(size: 10, mtime: Timestamp(seconds: 1)))
    }

    static let digest = ContentHash(bytes: [UInt8](repeating: 0xAB, count: 32))!

    @Test func concurrentRequestsShareOneComputation() async throws {
        let cache = ContentHashCache(threadPool: Self.pool)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // The computation waits until every request has been made.
        let release = ConditionLock(value: 0)
        let calls = NIOLockedValueBox(0)
        let futures = (0..<5).map { _ in
            cache.hash(Self.key(1), eventLoop: loop) {
                calls.withLockedValue { $0 += 1 }
                if release.lock(whenValue: 1, timeoutSeconds: 30) { release.unlock() }
                return Self.digest
            }
        }
        release.lock()
        release.unlock(withValue: 1)
        for future in futures {
            #expect(try await future.get() == Self.digest)
        }
        #expect(calls.withLockedValue { $0 } == 1)
        #expect(cache.computations == 1)
    }

    @Test func theCacheIsBoundedOldestOut() async throws {
        let cache = ContentHashCache(capacity: 2, threadPool: Self.pool)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for inode in [1, 2, 3] as [UInt64] {
            _ = try await cache.hash(Self.key(inode), eventLoop: loop) { Self.digest }.get()
        }
        #expect(cache.count == 2)
        _ = try await cache.hash(Self.key(3), eventLoop: loop) { Self.digest }.get()
        #expect(cache.computations == 3)
        _ = try await cache.hash(Self.key(1), eventLoop: loop) { Self.digest }.get()
        #expect(cache.computations == 4)
    }

    @Test func aFailedComputationIsNotRemembered() async throws {
        let cache = ContentHashCache(threadPool: Self.pool)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        await #expect(throws: ContentHashError.file(.ioError("disk"))) {
            try await cache.hash(Self.key(1), eventLoop: loop) { throw ContentHashError.file(.ioError("disk")) }.get()
        }
        #expect(try await cache.hash(Self.key(1), eventLoop: loop) { Self.digest }.get() == Self.digest)
        #expect(cache.computations == 2)
    }
}
