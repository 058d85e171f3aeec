import Logging
import NIOCore
import NIOEmbedded
import ONCRPC
import Testing

/// `RPCClientHandler`'s timeouts on an `EmbeddedChannel` with the client
/// pipeline's order (read counter, record marking, handler), the clock
/// moved by hand: what a timeout measures, without a machine's load in it.
@Suite struct RPCClientHandlerTests {
    final class Connection {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel

        init(timeouts: RPCClientTimeoutPolicy) throws {
            self.channel = EmbeddedChannel(loop: self.loop)
            let counter = RPCClientReadCounter()
            try self.channel.pipeline.syncOperations.addHandlers([
                counter,
                ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: 1 << 20)),
                RecordMarkingEncoder(),
                RPCClientHandler(timeouts: timeouts, readCounter: counter, logger: Logger(label: "test")),
            ])
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// Sends a call; its xid (read back from the bytes written) and its result.
        func call(timeout: TimeAmount) throws -> (xid: UInt32, result: EventLoopFuture<ByteBuffer>) {
            let promise = self.loop.makePromise(of: ByteBuffer.self)
            try self.channel.writeOutbound(
                RPCClientRequest(program: 1, version: 1, procedure: 1, arguments: ByteBuffer(), timeout: timeout, promise: promise)
            )
            var written = ByteBuffer()
            while let part = try self.channel.readOutbound(as: IOData.self) {
                guard case .byteBuffer(var buffer) = part else { throw TestFailure("unexpected file region") }
                written.writeBuffer(&buffer)
            }
            let xid = try #require(written.getInteger(at: 4, as: UInt32.self), "no call written")
            return (xid, promise.futureResult)
        }

        /// A successful reply to `xid` with `payload` bytes of results, record-marked.
        static func reply(xid: UInt32, payload: Int) -> ByteBuffer {
            var reply = ByteBuffer()
            reply.writeInteger(UInt32(0x8000_0000) | UInt32(24 + payload))
            reply.writeBytes(words(xid, 1, 0, 0, 0, 0))
            reply.writeRepeatingByte(0x5A, count: payload)
            return reply
        }

        func receive(_ bytes: ByteBuffer) throws {
            try self.channel.writeInbound(bytes)
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Outcome of a call so far: nil while it waits.
    static func outcome(_ future: EventLoopFuture<ByteBuffer>) -> Result<ByteBuffer, any Error>? {
        var outcome: Result<ByteBuffer, any Error>?
        future.whenComplete { outcome = $0 }
        return outcome
    }

    @Test func aSilentConnectionFailsTheCallAndCloses() throws {
        let connection = try Connection(timeouts: .silence(patience: 20))
        let call = try connection.call(timeout: .seconds(1))
        connection.loop.advanceTime(by: .milliseconds(999))
        #expect(Self.outcome(call.result) == nil)
        connection.loop.advanceTime(by: .milliseconds(1))
        guard case .failure(RPCClientError.timedOut) = Self.outcome(call.result) else {
            Issue.record("a call on a silent connection must time out: \(String(describing: Self.outcome(call.result)))")
            return
        }
        #expect(!connection.channel.isActive, "the silent connection must close")
    }

    /// Replies to other calls, then the first half of this call's own
    /// reply, each period: the call waits past its timeout and gets its
    /// results whole.
    @Test func aCallWaitsWhileBytesKeepArriving() throws {
        let connection = try Connection(timeouts: .silence(patience: 20))
        let held = try connection.call(timeout: .seconds(1))
        let other = try connection.call(timeout: .seconds(10))
        connection.loop.advanceTime(by: .milliseconds(500))
        try connection.receive(Connection.reply(xid: other.xid, payload: 8))
        connection.loop.advanceTime(by: .milliseconds(600))  // first period over: a reply came in it
        var whole = Connection.reply(xid: held.xid, payload: 64 * 1024)
        try connection.receive(whole.readSlice(length: 30_000)!)
        connection.loop.advanceTime(by: .seconds(1))  // second period: only part of a reply, still a sign of life
        #expect(Self.outcome(held.result) == nil, "the call must still wait")
        try connection.receive(whole)
        guard case .success(let results) = Self.outcome(held.result) else {
            Issue.record("the call must get its reply: \(String(describing: Self.outcome(held.result)))")
            return
        }
        #expect(results.readableBytes == 64 * 1024)
        #expect(connection.channel.isActive)
    }

    /// However busy the connection, a call's wait ends after `patience`
    /// timeouts, and only that call fails.
    @Test func patienceBoundsTheWaitAndTheBusyConnectionStays() throws {
        let connection = try Connection(timeouts: .silence(patience: 3))
        let held = try connection.call(timeout: .seconds(1))
        for period in 1...3 {
            let echo = try connection.call(timeout: .seconds(10))
            try connection.receive(Connection.reply(xid: echo.xid, payload: 4))
            connection.loop.advanceTime(by: .seconds(1))
            let outcome = Self.outcome(held.result)
            switch (period, outcome) {
            case (1, nil), (2, nil), (3, .failure(RPCClientError.timedOut)?): break
            default: Issue.record("period \(period): \(String(describing: outcome))")
            }
        }
        #expect(connection.channel.isActive)
    }

    /// The default: a call fails when its timeout has passed, whatever
    /// else arrived, and the connection stays.
    @Test func perCallTimeoutsIgnoreOtherReplies() throws {
        let connection = try Connection(timeouts: .perCall)
        let held = try connection.call(timeout: .seconds(1))
        let other = try connection.call(timeout: .seconds(10))
        connection.loop.advanceTime(by: .milliseconds(500))
        try connection.receive(Connection.reply(xid: other.xid, payload: 8))
        connection.loop.advanceTime(by: .milliseconds(500))
        guard case .failure(RPCClientError.timedOut) = Self.outcome(held.result) else {
            Issue.record("per call, the timeout ends the call: \(String(describing: Self.outcome(held.result)))")
            return
        }
        connection.loop.advanceTime(by: .seconds(5))
        #expect(connection.channel.isActive)
    }
}
