import Foundation
import Namespace
import NIOCore
import NIOPosix
import Testing

/// The scanner keeps every directory entry's exact bytes, and the reader
/// opens a file by them.
@Suite struct LocalExportScannerTests {
    static let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]  // "caf\xE9"

    /// A directory with a Latin-1 named file, a subdirectory named with bytes
    /// 0x80...0x8F holding a file, and a FIFO (not offered).
    final class Tree {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-scan-\(getpid())-\(UUID().uuidString.prefix(8))")

        init() throws {
            try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
            try self.write(Array("latin".utf8), at: [LocalExportScannerTests.latin1])
            guard mkdir(self.raw([Array(0x80...0x8F)]), 0o755) == 0 else { throw POSIXError(.EIO) }
            try self.write(Array("deep".utf8), at: [Array(0x80...0x8F), [0xFF]])
            guard mkfifo(self.raw([Array("pipe".utf8)]), 0o644) == 0 else { throw POSIXError(.EIO) }
        }

        func raw(_ components: [[UInt8]]) -> [CChar] {
            var bytes = Array(self.url.path.utf8)
            for component in components { bytes += [UInt8(ascii: "/")] + component }
            return (bytes + [0]).map { CChar(bitPattern: $0) }
        }

        func write(_ content: [UInt8], at components: [[UInt8]]) throws {
            let descriptor = open(self.raw(components), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw POSIXError(.EIO) }
            defer { close(descriptor) }
            _ = Foundation.write(descriptor, content, content.count)
        }

        deinit {
            try? FileManager.default.removeItem(at: self.url)
        }
    }

    @Test func namesKeepTheirBytesAndFilesReadByThem() async throws {
        let tree = try Tree()
        let root = try ExportRoot(LocalExport(name: "share", path: tree.url.path))
        let result = LocalExportScanner().scan([root])
        let paths = Set(result.entries.map { NameBytes.bytes($0.path) })
        let share = Array("share/".utf8)
        #expect(paths == [Array("share".utf8), share + Self.latin1, share + Array(0x80...0x8F), share + Array(0x80...0x8F) + [0x2F, 0xFF]])
        #expect(result.skippedByReason == ["device, socket or FIFO": 1])
        #expect(result.skippedDescription == "1 device, socket or FIFO (e.g. share/pipe)")

        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { Task { try? await pool.shutdownGracefully() } }
        let reader = LocalExportReader(roots: [root], threadPool: pool)
        for (path, content) in [(share + Self.latin1, "latin"), (share + Array(0x80...0x8F) + [0x2F, 0xFF], "deep")] {
            let entry = try #require(result.entries.first { NameBytes.bytes($0.path) == path })
            let read = try await reader.read(
                path: entry.path, expected: entry.version, offset: 0, count: 100, eventLoop: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
            #expect(read.data == ByteBuffer(string: content))
        }
    }
}
