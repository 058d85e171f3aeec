import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A record whose bulk is a file region, over a real loopback connection
/// (only a socket sends a region, with `sendfile`): the bytes arrive whole
/// behind their record mark, the region's owner lives until the write is
/// done, and a file that shrinks under a pending region closes the
/// connection instead of leaving the peer waiting for bytes that never come.
@Suite struct RecordMarkingEncoderFileRegionTests {
    /// Collects what the client receives; reads only when asked to.
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        let ended = NIOLockedValueBox<Bool>(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = self.unwrapInboundIn(data)
            self.received.withLockedValue { $0 += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.ended.withLockedValue { $0 = true }
        }
    }

    final class Owner: Sendable {}

    struct Connection {
        let server: any Channel
        let accepted: any Channel
        let client: any Channel
        let collector: Collector

        func close() {
            self.client.close(promise: nil)
            self.accepted.close(promise: nil)
            self.server.close(promise: nil)
        }
    }

    /// A server whose accepted connection has only the encoder, and a client
    /// that reads nothing until told to, with a small receive buffer so a
    /// large region stays pending.
    static func connect(checkInterval: TimeAmount) async throws -> Connection {
        let group = MultiThreadedEventLoopGroup.singleton
        let accepted = group.next().makePromise(of: (any Channel).self)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RecordMarkingEncoder(regionCheckInterval: checkInterval))
                    accepted.succeed(channel)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let collector = Collector()
        let client = try await ClientBootstrap(group: group)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(to: server.localAddress!).get()
        return Connection(server: server, accepted: try await accepted.futureResult.get(), client: client, collector: collector)
    }

    static func makeFile(size: Int) throws -> (path: String, content: [UInt8]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-region-\(getpid())-\(UUID().uuidString.prefix(8))").path
        var generator = SystemRandomNumberGenerator()
        var content = [UInt8](repeating: 0, count: size)
        content.withUnsafeMutableBytes { bytes in
            for offset in stride(from: 0, to: size - 7, by: 8) { bytes.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self) }
        }
        try Data(content).write(to: URL(fileURLWithPath: path))
        return (path, content)
    }

    /// Polls `condition` every 10 ms for at most `seconds`.
    static func wait(seconds: Double, until condition: () -> Bool) async throws -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    static func write(_ connection: Connection, path: String, length: Int, owner: Owner) async throws -> EventLoopFuture<Void> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
        let region = FileRegion(fileHandle: handle, readerIndex: 0, endIndex: length)
        let head = ByteBuffer(bytes: [0, 0, 0, 9])
        let channel = connection.accepted
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in try? handle.close() }
        channel.writeAndFlush(RPCRecord(head: head, bulk: .fileRegion(region), bulkOwner: owner), promise: written)
        return written.futureResult
    }

    @Test func regionArrivesWholeBehindItsMark() async throws {
        let file = try Self.makeFile(size: 3 << 20 | 5)
        defer { unlink(file.path) }
        let connection = try await Self.connect(checkInterval: .milliseconds(50))
        defer { connection.close() }
        var owner: Owner? = Owner()
        weak let watched = owner
        let written = try await Self.write(connection, path: file.path, length: file.content.count, owner: owner!)
        owner = nil
        #expect(watched != nil, "the owner lives while the region is unwritten")
        connection.client.read()
        _ = connection.client.setOption(.autoRead, value: true)
        try await written.get()
        let expected = recordMark(4 + file.content.count + 3) + [0, 0, 0, 9] + file.content + [0, 0, 0]
        let complete = try await Self.wait(seconds: 20) { connection.collector.received.withLockedValue { $0.count } >= expected.count }
        #expect(complete)
        #expect(connection.collector.received.withLockedValue { $0.elementsEqual(expected) })
        #expect(watched == nil, "released once written")
        #expect(connection.accepted.isActive)
    }

    @Test func fileShrinkingUnderAPendingRegionClosesTheConnection() async throws {
        let file = try Self.makeFile(size: 16 << 20)
        defer { unlink(file.path) }
        let connection = try await Self.connect(checkInterval: .milliseconds(50))
        defer { connection.close() }
        let owner = Owner()
        let written = try await Self.write(connection, path: file.path, length: file.content.count, owner: owner)
        let done = NIOLockedValueBox(false)
        written.whenComplete { _ in done.withLockedValue { $0 = true } }
        // The client reads nothing: most of the region is still pending.
        try await Task.sleep(for: .milliseconds(100))
        #expect(!done.withLockedValue { $0 }, "16 MiB cannot fit the socket buffers")
        #expect(truncate(file.path, 1 << 20) == 0)

        let closed = try await Self.wait(seconds: 10) { !connection.accepted.isActive }
        try #require(closed, "the server gives up on a record it cannot finish")
        await #expect(throws: (any Error).self) { try await written.get() }

        // What did arrive is shorter than the mark said, and starts as the
        // file does. (Beyond the new end, bytes the kernel had queued
        // before the truncation may have been zeroed by it: a read racing
        // a truncation sees either.)
        _ = connection.client.setOption(.autoRead, value: true)
        connection.client.read()
        let ended = try await Self.wait(seconds: 10) { connection.collector.ended.withLockedValue { $0 } }
        #expect(ended)
        let received = connection.collector.received.withLockedValue { $0 }
        #expect(received.count < 4 + 4 + file.content.count)
        #expect(received.count >= 8)
        let kept = min(received.count - 8, 1 << 20)
        #expect(received[8..<(8 + kept)].elementsEqual(file.content[0..<kept]))
    }
}
