import Logging
import NIOCore
import NIOPosix
import ONCRPC
import Synchronization
import Testing
import XDR

extension RPCClientStateMachine.StartAction {
    /// The xid of a call the machine let through; nil for a refused one.
    var xid: UInt32? {
        if case .send(let xid) = self { return xid }
        return nil
    }
}

@Suite("RPC client state machine")
struct RPCClientStateMachineTests {
    @Test func callsGetDistinctConsecutiveXIDs() {
        var machine = RPCClientStateMachine<Int>(firstXID: 100)
        var xids: [UInt32] = []
        for index in 0..<5 {
            guard case .send(let xid) = machine.startCall(index) else {
                Issue.record("call refused")
                return
            }
            xids.append(xid)
        }
        #expect(xids == [100, 101, 102, 103, 104])
        #expect(machine.callsInProgress == 5)
    }

    @Test func replyEndsTheCallOnce() throws {
        var machine = RPCClientStateMachine<String>(firstXID: 7)
        let xid = try #require(machine.startCall("a").xid, "call refused")
        #expect(machine.replyReceived(xid: xid) == "a")
        #expect(machine.replyReceived(xid: xid) == nil, "a duplicate reply is ignored")
        #expect(machine.timedOut(xid: xid) == nil, "a timeout after the reply does nothing")
        #expect(machine.connectionClosed().isEmpty)
    }

    @Test func timeoutEndsTheCallOnce() throws {
        var machine = RPCClientStateMachine<String>(firstXID: 7)
        let xid = try #require(machine.startCall("a").xid, "call refused")
        #expect(machine.timedOut(xid: xid) == "a")
        #expect(machine.replyReceived(xid: xid) == nil, "a late reply is ignored")
        #expect(machine.timedOut(xid: xid) == nil)
    }

    /// The `silence` rule: a period with nothing read fails the call (and
    /// says the connection is silent); a period in which any reply arrived,
    /// even a late one nobody waits for, lets it wait again, up to
    /// `patience` periods in all.
    @Test func aCallWaitsWhileRepliesArriveAndFailsInSilenceOrWhenPatienceIsSpent() throws {
        var machine = RPCClientStateMachine<String>(firstXID: 7)
        let a = try #require(machine.startCall("a").xid)
        guard case .fail("a", connectionIsSilent: true) = machine.timerFired(xid: a, patience: 3) else {
            Issue.record("a silent period must fail the call as silent")
            return
        }
        guard case .none = machine.timerFired(xid: a, patience: 3) else {
            Issue.record("a call that ended has no timer left")
            return
        }

        let b = try #require(machine.startCall("b").xid)
        let c = try #require(machine.startCall("c").xid)
        #expect(machine.replyReceived(xid: c) == "c")
        guard case .waitAgain = machine.timerFired(xid: b, patience: 3) else {
            Issue.record("c's reply came in b's first period: b waits again")
            return
        }
        guard case .fail("b", connectionIsSilent: true) = machine.timerFired(xid: b, patience: 3) else {
            Issue.record("nothing came in b's second period: b fails, silent")
            return
        }

        let d = try #require(machine.startCall("d").xid)
        for period in 1...3 {
            // A late reply nobody waits for, or bytes of a reply still coming.
            if period == 2 {
                machine.progressed()
            } else {
                #expect(machine.replyReceived(xid: 999) == nil)
            }
            let action = machine.timerFired(xid: d, patience: 3)
            switch (period, action) {
            case (1, .waitAgain), (2, .waitAgain), (3, .fail("d", connectionIsSilent: false)): break
            default: Issue.record("period \(period): \(action)")
            }
        }
        #expect(machine.callsInProgress == 0)
    }

    @Test func unknownXIDIsIgnored() {
        var machine = RPCClientStateMachine<String>(firstXID: 7)
        _ = machine.startCall("a")
        #expect(machine.replyReceived(xid: 12345) == nil)
        #expect(machine.callsInProgress == 1)
    }

    @Test func closeEndsEveryCallAndRefusesNewOnes() {
        var machine = RPCClientStateMachine<Int>(firstXID: 1)
        for index in 0..<3 {
            _ = machine.startCall(index)
        }
        #expect(machine.connectionClosed().sorted() == [0, 1, 2])
        #expect(machine.callsInProgress == 0)
        guard case .fail(let error) = machine.startCall(9) else {
            Issue.record("call started after close")
            return
        }
        #expect(error == .connectionClosed)
        #expect(machine.connectionClosed().isEmpty)
    }

    @Test func xidsWrapAndSkipCallsStillInProgress() throws {
        var machine = RPCClientStateMachine<Int>(firstXID: UInt32.max)
        let first = try #require(machine.startCall(0).xid, "call refused")
        let second = try #require(machine.startCall(1).xid, "call refused")
        #expect(first == UInt32.max)
        #expect(second == 0)
        // Walk the counter all the way round is too long; instead check that an
        // xid still in progress is skipped when the counter reaches it again.
        var wrapped = RPCClientStateMachine<Int>(firstXID: 5)
        _ = wrapped.startCall(0)  // 5
        _ = wrapped.startCall(1)  // 6
        #expect(wrapped.replyReceived(xid: 5) == 0)
        let next = try #require(wrapped.startCall(2).xid, "call refused")
        #expect(next == 7)
    }

    @Test func modifyChangesOnlyCallsInProgress() throws {
        var machine = RPCClientStateMachine<Int>(firstXID: 1)
        let xid = try #require(machine.startCall(1).xid, "call refused")
        machine.modify(xid: xid) { $0 = 10 }
        machine.modify(xid: 999) { $0 = 20 }
        #expect(machine.replyReceived(xid: xid) == 10)
        #expect(machine.callsInProgress == 0)
    }

    /// A random interleaving of starts, replies (some for unknown xids),
    /// timeouts and one close: every call ends exactly once.
    @Test func everyCallEndsExactlyOnce() {
        var generator = SystemRandomNumberGenerator()
        var machine = RPCClientStateMachine<Int>(firstXID: 1)
        var started: [Int: UInt32] = [:]
        var endings: [Int: Int] = [:]
        var nextCall = 0
        for step in 0..<2000 {
            if step == 1500 {
                for call in machine.connectionClosed() {
                    endings[call, default: 0] += 1
                }
                continue
            }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                if case .send(let xid) = machine.startCall(nextCall) {
                    started[nextCall] = xid
                }
                nextCall += 1
            case 2:
                let xid = started.values.randomElement(using: &generator) ?? UInt32.random(in: 0...UInt32.max, using: &generator)
                if let call = machine.replyReceived(xid: xid) { endings[call, default: 0] += 1 }
            default:
                let xid = started.values.randomElement(using: &generator) ?? 0
                if let call = machine.timedOut(xid: xid) { endings[call, default: 0] += 1 }
            }
        }
        for call in machine.connectionClosed() {
            endings[call, default: 0] += 1
        }
        #expect(Set(endings.keys) == Set(started.keys))
        #expect(endings.values.allSatisfy { $0 == 1 })
    }
}

@Suite("RPC client against RPC server on loopback", .timeLimit(.minutes(1)))
struct RPCClientServerTests {
    static func withServer<T>(
        servesUDP: Bool = false,
        pending: PendingCalls = PendingCalls(),
        _ body: (RPCServer, MultiThreadedEventLoopGroup) async throws -> T
    ) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let server = try await RPCServer.start(
            configuration: RPCServer.Configuration(host: "127.0.0.1", port: 0, servesUDP: servesUDP),
            dispatcher: RPCDispatcher(programs: [ToyProgram(pending: pending)]),
            group: group,
            logger: testLogger
        )
        do {
            let result = try await body(server, group)
            await server.close()
            try await group.shutdownGracefully()
            return result
        } catch {
            await server.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// TCP_NODELAY is set as a TCP option: given at the socket level, its
    /// number is SO_DEBUG's, which needs CAP_NET_ADMIN, so every connection
    /// failed under the capability bounding set of p2pfs.service.
    @Test func clientSocketHasNoDelayAndNoDebug() async throws {
        try await Self.withServer { server, group in
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            defer { client.close() }
            #expect(try await client.channel.getOption(.tcpOption(.tcp_nodelay)).get() != 0)
            let debug = ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_DEBUG))
            #expect(try await client.channel.getOption(debug).get() == 0)
        }
    }

    /// Every connection accepted by a server given a `childLoop` is served
    /// there, whichever loop of the group the client used.
    @Test func acceptedConnectionsGoToTheChildLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let loops = Array(group.makeIterator())
        final class Served: Sendable {
            let loops = Mutex<[ObjectIdentifier]>([])
        }
        let served = Served()
        struct LoopProgram: RPCProgram {
            let program: UInt32 = 0x2000_0002
            let versions: ClosedRange<UInt32> = 1...1
            let served: Served
            func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
                self.served.loops.withLock { $0.append(ObjectIdentifier(context.eventLoop)) }
                return .done(.success(RPCResultBody(head: context.makeResultBuffer())))
            }
        }
        let server = try await RPCServer.start(
            configuration: RPCServer.Configuration(host: "127.0.0.1", port: 0),
            dispatcher: RPCDispatcher(programs: [LoopProgram(served: served)]), group: group, childLoop: loops[2], logger: testLogger
        )
        for _ in 0..<4 {
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            _ = try await client.call(program: 0x2000_0002, version: 1, procedure: 0, arguments: ByteBuffer(), timeout: .seconds(10))
            client.close()
        }
        #expect(served.loops.withLock { $0 } == Array(repeating: ObjectIdentifier(loops[2]), count: 4))
        await server.close()
        try await group.shutdownGracefully()
    }

    @Test func manyConcurrentCalls() async throws {
        try await Self.withServer { server, group in
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            defer { client.close() }
            let results = try await withThrowingTaskGroup(of: (UInt32, [UInt8]).self) { tasks in
                for index in UInt32(0)..<300 {
                    tasks.addTask {
                        var arguments = ByteBuffer()
                        arguments.writeXDRUInt32(index)
                        // Every third call goes through a pending future.
                        let procedure: UInt32 = index % 3 == 0 ? 3 : 1
                        let payload = procedure == 3 ? words(index % 5) : words(index)
                        let reply = try await client.call(
                            program: ToyProgram.number, version: 1, procedure: procedure,
                            arguments: ByteBuffer(bytes: payload), timeout: .seconds(10)
                        )
                        return (index, bytes(reply) == payload ? payload : [])
                    }
                }
                var collected: [UInt32: [UInt8]] = [:]
                for try await (index, payload) in tasks {
                    collected[index] = payload
                }
                return collected
            }
            #expect(results.count == 300)
            #expect(results.values.allSatisfy { !$0.isEmpty })
        }
    }

    @Test func severalClientsAtOnce() async throws {
        try await Self.withServer { server, group in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for clientIndex in UInt32(0)..<4 {
                    tasks.addTask {
                        let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
                        defer { client.close() }
                        for call in UInt32(0)..<25 {
                            let reply = try await client.call(
                                program: ToyProgram.number, version: 1, procedure: 1,
                                arguments: ByteBuffer(bytes: words(clientIndex, call)), timeout: .seconds(10)
                            )
                            #expect(bytes(reply) == words(clientIndex, call))
                        }
                    }
                }
                try await tasks.waitForAll()
            }
        }
    }

    @Test func refusalsBecomeClientErrors() async throws {
        try await Self.withServer { server, group in
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            defer { client.close() }
            await #expect(throws: RPCClientError.notAccepted(.programUnavailable)) {
                try await client.call(program: 1, version: 1, procedure: 0, timeout: .seconds(5))
            }
            await #expect(throws: RPCClientError.notAccepted(.programMismatch(low: 1, high: 1))) {
                try await client.call(program: ToyProgram.number, version: 2, procedure: 0, timeout: .seconds(5))
            }
            await #expect(throws: RPCClientError.denied(.authError(.rejectedCredential))) {
                try await client.call(
                    program: ToyProgram.number, version: 1, procedure: 0, credential: RPCOpaqueAuth(flavor: 77), timeout: .seconds(5)
                )
            }
            await #expect(throws: RPCClientError.notAccepted(.systemError)) {
                try await client.call(program: ToyProgram.number, version: 1, procedure: 4, timeout: .seconds(5))
            }
        }
    }

    @Test func timeoutFailsTheCallAndTheLateReplyIsIgnored() async throws {
        let pending = PendingCalls()
        try await Self.withServer(pending: pending) { server, group in
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            defer { client.close() }
            // PENDING answers only when this test says: the timeout, not the
            // server, ends the call.
            await #expect(throws: RPCClientError.timedOut) {
                try await client.call(program: ToyProgram.number, version: 1, procedure: 2, timeout: .milliseconds(100))
            }
            // The server holds the call (bounded wait for it to arrive).
            for _ in 0..<1000 where pending.count == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let promises = pending.takeAll()
            try #require(promises.count == 1, "the server never received the call")
            // The late reply is written to the socket before the next call is
            // sent, so the client reads it first, for an xid nobody waits for.
            let promise = promises[0]
            try await promise.futureResult.eventLoop.submit {
                var late = ByteBufferAllocator().buffer(capacity: RPCCallContext.headroom + 8)
                late.moveWriterIndex(forwardBy: RPCCallContext.headroom)
                late.moveReaderIndex(forwardBy: RPCCallContext.headroom)
                late.writeBytes(words(0xDEAD, 0xBEEF))
                promise.succeed(.success(RPCResultBody(head: late)))
            }.get()
            // The connection stays usable, and the late reply is not taken
            // for the next call's.
            let reply = try await client.call(
                program: ToyProgram.number, version: 1, procedure: 1, arguments: ByteBuffer(bytes: words(1)), timeout: .seconds(10)
            )
            #expect(bytes(reply) == words(1))
            #expect(client.isActive)
        }
    }

    /// Results with nothing in them, with the headroom a reply needs.
    static func emptyResults() -> RPCResultBody {
        var head = ByteBufferAllocator().buffer(capacity: RPCCallContext.headroom)
        head.moveWriterIndex(forwardBy: RPCCallContext.headroom)
        head.moveReaderIndex(forwardBy: RPCCallContext.headroom)
        return RPCResultBody(head: head)
    }

    static func silenceAwareClient(of server: RPCServer, group: MultiThreadedEventLoopGroup, patience: Int = 3) async throws -> RPCClient {
        try await RPCClient.connect(to: server.localAddress, group: group, timeouts: .silence(patience: patience), logger: testLogger).get()
    }

    /// `.silence`: a call that times out while the server answered nothing
    /// closes the connection (the owner then reconnects), instead of leaving
    /// every later call to time out too.
    @Test func aSilentServerIsDisconnectedAtTheFirstTimeout() async throws {
        let pending = PendingCalls()
        try await Self.withServer(pending: pending) { server, group in
            let client = try await Self.silenceAwareClient(of: server, group: group)
            defer { client.close() }
            await #expect(throws: RPCClientError.timedOut) {
                try await client.call(program: ToyProgram.number, version: 1, procedure: 2, timeout: .milliseconds(100))
            }
            for _ in 0..<500 where client.isActive { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!client.isActive)
            await #expect(throws: RPCClientError.connectionClosed) {
                try await client.call(program: ToyProgram.number, version: 1, procedure: 0, timeout: .seconds(1))
            }
            for promise in pending.takeAll() { promise.succeed(.success(Self.emptyResults())) }
        }
    }

    @Test func clientCloseEndsCallsInProgress() async throws {
        try await Self.withServer { server, group in
            let client = try await RPCClient.connect(to: server.localAddress, group: group, logger: testLogger)
            let call: EventLoopFuture<ByteBuffer> = client.call(
                program: ToyProgram.number, version: 1, procedure: 3, arguments: ByteBuffer(bytes: words(2000)), timeout: .seconds(10)
            )
            try await Task.sleep(for: .milliseconds(50))
            client.close()
            await #expect(throws: RPCClientError.connectionClosed) { try await call.get() }
            await #expect(throws: RPCClientError.connectionClosed) {
                try await client.call(program: ToyProgram.number, version: 1, procedure: 0, timeout: .seconds(1))
            }
        }
    }

    /// A server that drops the connection as soon as a call arrives.
    final class HangUp: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)
        }
    }

    @Test func serverClosingTheConnectionEndsCallsInProgress() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(HangUp()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await RPCClient.connect(to: listener.localAddress!, group: group, logger: testLogger)
        await #expect(throws: RPCClientError.connectionClosed) {
            try await client.call(program: ToyProgram.number, version: 1, procedure: 0, timeout: .seconds(10))
        }
        #expect(!client.isActive)
        try await listener.close()
        try await group.shutdownGracefully()
    }

    @Test func closedServerRefusesNewConnections() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await RPCServer.start(
            configuration: RPCServer.Configuration(host: "127.0.0.1", port: 0),
            dispatcher: RPCDispatcher(programs: [ToyProgram()]),
            group: group,
            logger: testLogger
        )
        let address = server.localAddress
        await server.close()
        await #expect(throws: (any Error).self) {
            try await RPCClient.connect(to: address, group: group, connectTimeout: .seconds(2), logger: testLogger)
        }
        try await group.shutdownGracefully()
    }

    @Test func udpCallsAreAnswered() async throws {
        try await Self.withServer(servesUDP: true) { server, group in
            let replies = AsyncStream<ByteBuffer>.makeStream()
            final class Collector: ChannelInboundHandler, Sendable {
                typealias InboundIn = AddressedEnvelope<ByteBuffer>
                let sink: AsyncStream<ByteBuffer>.Continuation
                init(sink: AsyncStream<ByteBuffer>.Continuation) { self.sink = sink }
                func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                    self.sink.yield(self.unwrapInboundIn(data).data)
                }
            }
            let channel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(sink: replies.continuation))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            defer { channel.close(promise: nil) }
            try await channel.writeAndFlush(
                AddressedEnvelope(remoteAddress: server.localAddress, data: ByteBuffer(bytes: callBytes(xid: 77, procedure: 1, arguments: words(9))))
            )
            let reply = await withTaskGroup(of: ByteBuffer?.self) { tasks in
                tasks.addTask {
                    var iterator = replies.stream.makeAsyncIterator()
                    return await iterator.next()
                }
                tasks.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    return nil
                }
                let first = await tasks.next() ?? nil
                tasks.cancelAll()
                replies.continuation.finish()
                return first
            }
            #expect(reply.map(bytes) == words(77, 1, 0, 0, 0, 0, 9))
        }
    }
}
