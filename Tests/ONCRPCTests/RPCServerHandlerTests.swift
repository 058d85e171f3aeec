import NIOCore
import NIOEmbedded
import ONCRPC
import Testing
import XDR

@Suite("RPC server handler over EmbeddedChannel")
struct RPCServerHandlerTests {
    struct Harness {
        let channel: EmbeddedChannel
        let reads: ReadCounter
        let pending: PendingCalls

        init(maximumCallsInProgress: Int = 64, maximumRecordSize: Int = 1 << 16) throws {
            self.pending = PendingCalls()
            self.reads = ReadCounter()
            self.channel = EmbeddedChannel()
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 700)).wait()
            try self.channel.pipeline.syncOperations.addHandlers([
                self.reads,
                ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: maximumRecordSize)),
                RecordMarkingEncoder(),
                RPCServerHandler(
                    dispatcher: RPCDispatcher(programs: [ToyProgram(pending: self.pending)]),
                    maximumCallsInProgress: maximumCallsInProgress,
                    logger: testLogger
                ),
            ])
        }

        func send(_ bytes: [UInt8]) throws {
            try self.channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        func replies() throws -> [[UInt8]] {
            splitRecords(try drainOutbound(self.channel))
        }

        func finish() {
            for promise in self.pending.takeAll() {
                promise.fail(ToyProgram.Failure())
            }
            _ = try? self.channel.finish(acceptAlreadyClosed: true)
        }
    }

    @Test func repliesCarryTheXIDsOfTheirCalls() throws {
        let harness = try Harness()
        defer { harness.finish() }
        let stream =
            record(callBytes(xid: 1, procedure: 1, arguments: words(0x11)))
            + record(callBytes(xid: 2, procedure: 0))
            + record(callBytes(xid: 3, procedure: 1, arguments: words(0x33, 0x34)))
        try harness.send(stream)
        #expect(
            try harness.replies() == [
                words(1, 1, 0, 0, 0, 0, 0x11),
                words(2, 1, 0, 0, 0, 0),
                words(3, 1, 0, 0, 0, 0, 0x33, 0x34),
            ]
        )
    }

    @Test func refusalsAreAnsweredOnTheConnection() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record(callBytes(xid: 4, program: 77, procedure: 0)))
        try harness.send(record(callBytes(xid: 5, version: 9, procedure: 0)))
        try harness.send(record(callBytes(xid: 6, procedure: 99)))
        try harness.send(record(callBytes(xid: 7, procedure: 5)))
        try harness.send(record(words(8, 0, 3, 1, 1, 0, 0, 0, 0, 0)))
        #expect(
            try harness.replies() == [
                words(4, 1, 0, 0, 0, 1),
                words(5, 1, 0, 0, 0, 2, 1, 1),
                words(6, 1, 0, 0, 0, 3),
                words(7, 1, 0, 0, 0, 4),
                words(8, 1, 1, 0, 2, 2),
            ]
        )
    }

    @Test func pendingReplyIsWrittenWhenTheFutureCompletes() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record(callBytes(xid: 21, procedure: 2)))
        #expect(try harness.replies().isEmpty)
        let promises = harness.pending.takeAll()
        try #require(promises.count == 1)
        var results = ByteBuffer()
        results.writeBytes(words(0xBEEF))
        promises[0].succeed(.success(RPCResultBody(head: results)))
        #expect(try harness.replies() == [words(21, 1, 0, 0, 0, 0, 0xBEEF)])
    }

    @Test func failedFutureIsASystemError() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record(callBytes(xid: 22, procedure: 4)))
        #expect(try harness.replies() == [words(22, 1, 0, 0, 0, 5)])
    }

    @Test func readsStopAtTheLimitOfCallsInProgressAndResume() throws {
        let harness = try Harness(maximumCallsInProgress: 2)
        defer { harness.finish() }
        harness.channel.read()
        #expect(harness.reads.reads == 1)

        try harness.send(record(callBytes(xid: 31, procedure: 2)))
        harness.channel.read()
        #expect(harness.reads.reads == 2, "one call in progress is under the limit")

        try harness.send(record(callBytes(xid: 32, procedure: 2)))
        harness.channel.read()
        #expect(harness.reads.reads == 2, "two calls in progress: the read is held back")

        // At the limit even a call that would finish at once waits its turn.
        try harness.send(record(callBytes(xid: 33, procedure: 0)))
        #expect(try harness.replies() == [])
        #expect(harness.reads.reads == 2)

        let promises = harness.pending.takeAll()
        try #require(promises.count == 2)
        promises[0].succeed(.success(RPCResultBody(head: ByteBuffer())))
        #expect(try harness.replies() == [words(31, 1, 0, 0, 0, 0), words(33, 1, 0, 0, 0, 0)], "the freed slot runs the waiting call")
        #expect(harness.reads.reads == 3, "the held-back read is passed on once nothing waits")
        promises[1].succeed(.success(RPCResultBody(head: ByteBuffer())))
        #expect(harness.reads.reads == 3, "no read was waiting")
        #expect(try harness.replies() == [words(32, 1, 0, 0, 0, 0)])
    }

    @Test func callsBeyondTheLimitWaitInsteadOfRunning() throws {
        let harness = try Harness(maximumCallsInProgress: 2)
        defer { harness.finish() }
        // Five slow calls in one burst, as one socket read delivers them.
        for xid in 40..<45 {
            try harness.send(record(callBytes(xid: UInt32(xid), procedure: 2)))
        }
        #expect(harness.pending.takeAll().count == 2, "only two calls started")
        harness.channel.read()
        #expect(harness.reads.reads == 0, "no more reading while calls wait")
    }

    @Test func readsStopWhileTheChannelIsNotWritable() throws {
        let harness = try Harness()
        defer { harness.finish() }
        harness.channel.isWritable = false
        harness.channel.pipeline.fireChannelWritabilityChanged()
        harness.channel.read()
        #expect(harness.reads.reads == 0)
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(harness.reads.reads == 1)
    }

    @Test func garbageRecordGetsNoReplyButTheNextCallIsAnswered() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record([0xDE, 0xAD]))
        try harness.send(record(words(99, 5)))
        #expect(try harness.replies().isEmpty)
        #expect(harness.channel.isActive)
        try harness.send(record(callBytes(xid: 41, procedure: 0)))
        #expect(try harness.replies() == [words(41, 1, 0, 0, 0, 0)])
    }

    @Test func malformedCallHeaderWithReadableXIDIsAnswered() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record(words(42, 0, 2, ToyProgram.number, 1, 0, 1, 401) + [UInt8](repeating: 0, count: 404) + words(0, 0)))
        try harness.send(record(words(43, 0, 2, ToyProgram.number, 1)))
        #expect(try harness.replies() == [words(42, 1, 1, 1, 1), words(43, 1, 0, 0, 0, 4)])
    }

    @Test func aReplySentToTheServerIsIgnored() throws {
        let harness = try Harness()
        defer { harness.finish() }
        try harness.send(record(words(44, 1, 0, 0, 0, 0)))
        #expect(try harness.replies().isEmpty)
        #expect(harness.channel.isActive)
    }

    @Test func oversizedRecordClosesTheConnection() throws {
        let harness = try Harness(maximumRecordSize: 1024)
        defer { harness.finish() }
        try harness.send(recordMark(1025))
        #expect(!harness.channel.isActive)
        #expect(try harness.replies().isEmpty)
    }

    @Test func credentialsReachTheProgram() throws {
        let harness = try Harness()
        defer { harness.finish() }
        var body = ByteBuffer()
        AuthSysParameters(machineName: "h", uid: 4242, gid: 1).encode(into: &body)
        try harness.send(record(callBytes(xid: 45, procedure: 6, credential: RPCOpaqueAuth(flavor: .sys, body: body))))
        try harness.send(record(callBytes(xid: 46, procedure: 6)))
        #expect(try harness.replies() == [words(45, 1, 0, 0, 0, 0, 4242), words(46, 1, 0, 0, 0, 0, 0xFFFF_FFFF)])
    }
}

@Suite("RPC datagram handler")
struct RPCDatagramHandlerTests {
    @Test func answersEachDatagramToItsSender() throws {
        let channel = EmbeddedChannel(
            handler: RPCDatagramHandler(dispatcher: RPCDispatcher(programs: [ToyProgram()]), logger: testLogger)
        )
        defer { _ = try? channel.finish() }
        let peer = try SocketAddress(ipAddress: "127.0.0.1", port: 900)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: callBytes(xid: 1, procedure: 1, arguments: words(5)))))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: callBytes(xid: 2, program: 1, procedure: 0))))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: [1, 2, 3])))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(bytes: callBytes(xid: 3, procedure: 3, arguments: words(0)))))
        channel.embeddedEventLoop.run()

        var replies: [[UInt8]] = []
        while let envelope = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self), replies.count < 10 {
            #expect(envelope.remoteAddress == peer)
            replies.append(bytes(envelope.data))
        }
        #expect(replies == [words(1, 1, 0, 0, 0, 0, 5), words(2, 1, 0, 0, 0, 1), words(3, 1, 0, 0, 0, 0, 0)])
    }
}
