import Logging
import NFS3
import NIOCore
import Namespace
import ONCRPC
import Synchronization
import Testing
import ProgramTestSupport

/// Records the calls the lock manager makes to clients, and answers them
/// as told, without sockets.
final class RecordingCallbacks: NLMCallbackSending {
    struct Sent: Sendable {
        var procedure: NLMProcedure
        var arguments: [UInt8]
        var client: NLMCallbackAddress
    }

    enum Answer: Sendable {
        /// An `nlm4_res` with an empty cookie and this status.
        case status(UInt32)
        /// The call fails (unreachable client, timeout).
        case failure
    }

    let sent = Mutex<[Sent]>([])
    let answer = Mutex<Answer>(.status(0))

    func call(
        procedure: NLMProcedure, arguments: ByteBuffer, to client: NLMCallbackAddress, eventLoop: any EventLoop, logger: Logger
    ) -> EventLoopFuture<ByteBuffer> {
        self.sent.withLock { $0.append(Sent(procedure: procedure, arguments: Array(arguments.readableBytesView), client: client)) }
        switch self.answer.withLock({ $0 }) {
        case .status(let status):
            var reply = ByteBuffer()
            reply.putU32(0)
            reply.putU32(status)
            return eventLoop.makeSucceededFuture(reply)
        case .failure:
            return eventLoop.makeFailedFuture(NLMCallbackError.notRegistered(host: client.host))
        }
    }

    func take() -> [Sent] {
        self.sent.withLock { sent in
            defer { sent = [] }
            return sent
        }
    }
}

/// `nlm4_lock` as a client writes it.
struct ClientLock {
    var caller = "client1"
    var handle: [UInt8]
    var svid: Int32
    var offset: UInt64 = 0
    var length: UInt64 = 0

    var ownerHandle: [UInt8] { Array("\(self.svid)@\(self.caller)".utf8) }

    func put(into buffer: inout ByteBuffer) {
        buffer.putString(self.caller)
        buffer.putOpaque(self.handle)
        buffer.putOpaque(self.ownerHandle)
        buffer.putU32(UInt32(bitPattern: self.svid))
        buffer.putU64(self.offset)
        buffer.putU64(self.length)
    }
}

/// What a TEST answered.
struct ClientTestReply: Equatable {
    var cookie: [UInt8]
    var status: UInt32
    var holder: ClientHolder?
}

struct ClientHolder: Equatable {
    var exclusive: Bool
    var svid: Int32
    var ownerHandle: [UInt8]
    var offset: UInt64
    var length: UInt64
}

/// A lock manager over the standard test namespace, called procedure by procedure.
struct NLMHarness {
    static let movie = NFSHarness.handle("movies/KillBill.mkv")
    static let readme = NFSHarness.handle("docs/readme.txt")

    let store: NamespaceStore
    let program: NLMProgram
    let callbacks: RecordingCallbacks
    var caller = ProgramCaller()

    static func standard(ready: Bool = true, limits: NLMLockTable.Limits = .init()) async -> NLMHarness {
        let store = await TestNamespace.makeStore(ready: ready)
        let callbacks = RecordingCallbacks()
        return NLMHarness(store: store, program: NLMProgram(store: store, callbacks: callbacks, limits: limits), callbacks: callbacks)
    }

    func call(_ procedure: UInt32, from caller: ProgramCaller? = nil, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws -> CallReply {
        var arguments = ByteBuffer()
        encode(&arguments)
        return try (caller ?? self.caller).call(self.program, version: 4, procedure: procedure, arguments: arguments)
    }

    func call(_ procedure: NLMProcedure, from caller: ProgramCaller? = nil, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws
        -> CallReply
    {
        try self.call(procedure.rawValue, from: caller, encode)
    }

    /// Reads an `nlm4_res`, checking the cookie came back.
    func result(_ reply: CallReply, cookie: [UInt8]) throws -> UInt32 {
        var body = reply.body
        #expect(try body.opaque() == cookie)
        let status = try body.u32()
        #expect(body.readableBytes == 0)
        return status
    }

    /// LOCK (procedure 2, or 22 for NM_LOCK); returns the status.
    func lock(
        _ lock: ClientLock, exclusive: Bool = true, block: Bool = false, reclaim: Bool = false,
        cookie: [UInt8] = [1, 2, 3, 4], procedure: NLMProcedure = .lock
    ) throws -> UInt32 {
        let reply = try self.call(procedure) { buffer in
            buffer.putOpaque(cookie)
            buffer.putU32(block ? 1 : 0)
            buffer.putU32(exclusive ? 1 : 0)
            lock.put(into: &buffer)
            buffer.putU32(reclaim ? 1 : 0)
            buffer.putU32(1)  // NSM state
        }
        return try self.result(reply, cookie: cookie)
    }

    func test(_ lock: ClientLock, exclusive: Bool = true, cookie: [UInt8] = [9]) throws -> ClientTestReply {
        var reply = try self.call(.test) { buffer in
            buffer.putOpaque(cookie)
            buffer.putU32(exclusive ? 1 : 0)
            lock.put(into: &buffer)
        }
        return try Self.testReply(&reply.body)
    }

    static func testReply(_ body: inout ByteBuffer) throws -> ClientTestReply {
        let cookie = try body.opaque()
        let status = try body.u32()
        var holder: ClientHolder?
        if status == 1 {
            holder = ClientHolder(
                exclusive: try body.bool(), svid: Int32(bitPattern: try body.u32()), ownerHandle: try body.opaque(),
                offset: try body.u64(), length: try body.u64()
            )
        }
        #expect(body.readableBytes == 0)
        return ClientTestReply(cookie: cookie, status: status, holder: holder)
    }

    func unlock(_ lock: ClientLock, cookie: [UInt8] = [5]) throws -> UInt32 {
        let reply = try self.call(.unlock) { buffer in
            buffer.putOpaque(cookie)
            lock.put(into: &buffer)
        }
        return try self.result(reply, cookie: cookie)
    }

    func cancel(_ lock: ClientLock, exclusive: Bool = true, cookie: [UInt8] = [6]) throws -> UInt32 {
        let reply = try self.call(.cancel) { buffer in
            buffer.putOpaque(cookie)
            buffer.putU32(1)
            buffer.putU32(exclusive ? 1 : 0)
            lock.put(into: &buffer)
        }
        return try self.result(reply, cookie: cookie)
    }

    func share(_ handle: [UInt8], caller: String = "pc1", mode: UInt32, access: UInt32, procedure: NLMProcedure = .share) throws -> UInt32 {
        var reply = try self.call(procedure) { buffer in
            buffer.putOpaque([8])
            buffer.putString(caller)
            buffer.putOpaque(handle)
            buffer.putOpaque(Array(caller.utf8))
            buffer.putU32(mode)
            buffer.putU32(access)
            buffer.putU32(0)
        }
        #expect(try reply.body.opaque() == [8])
        let status = try reply.body.u32()
        #expect(try reply.body.u32() == 0)  // sequence
        #expect(reply.body.readableBytes == 0)
        return status
    }

    func freeAll(_ name: String) throws {
        let reply = try self.call(.freeAll) { buffer in
            buffer.putString(name)
            buffer.putU32(2)
        }
        #expect(reply.body.readableBytes == 0)
    }
}

/// nlm4_stats, spelled as numbers so the tests read the wire.
private let granted: UInt32 = 0
private let denied: UInt32 = 1
private let deniedNoLocks: UInt32 = 2
private let blocked: UInt32 = 3
private let deniedGracePeriod: UInt32 = 4
private let readOnly: UInt32 = 6
private let staleHandle: UInt32 = 7

@Suite("NLM procedures")
struct NLMProgramTests {
    @Test("program 100021, version 4 only; NULL answers void")
    func null() async throws {
        let harness = await NLMHarness.standard()
        #expect(harness.program.program == 100_021)
        #expect(harness.program.versions == 4...4)
        #expect(try harness.call(.null).body.readableBytes == 0)
        #expect(RPCDispatcher(programs: [harness.program]).registrations.map(\.version) == [4])
        await harness.store.shutdown()
    }

    @Test("unknown procedures and undecodable arguments")
    func refusals() async throws {
        let harness = await NLMHarness.standard()
        func outcome(_ procedure: UInt32, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws -> String {
            var arguments = ByteBuffer()
            encode(&arguments)
            return "\(try harness.caller.outcome(harness.program, version: 4, procedure: procedure, arguments: arguments))"
        }
        for procedure: UInt32 in [17, 18, 19, 24, 1000] {
            #expect(try outcome(procedure) == "procedureUnavailable")
        }
        let shortLock = try outcome(NLMProcedure.lock.rawValue) { $0.putOpaque([1]) }
        let longCookie = try outcome(NLMProcedure.unlock.rawValue) { $0.putU32(5000) }
        let longName = try outcome(NLMProcedure.freeAll.rawValue) { $0.putU32(2000) }
        #expect([shortLock, longCookie, longName] == ["garbageArguments", "garbageArguments", "garbageArguments"])
        await harness.store.shutdown()
    }

    @Test("LOCK, TEST from another owner, UNLOCK")
    func lockTestUnlock() async throws {
        let harness = await NLMHarness.standard()
        let mine = ClientLock(handle: NLMHarness.movie, svid: 100, offset: 10, length: 90)
        let theirs = ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 200, offset: 50, length: 0)

        #expect(try harness.lock(mine, cookie: [0xAB]) == granted)
        #expect(try harness.test(mine, cookie: [1]) == ClientTestReply(cookie: [1], status: granted))
        #expect(
            try harness.test(theirs, exclusive: false)
                == ClientTestReply(
                    cookie: [9], status: denied,
                    holder: ClientHolder(exclusive: true, svid: 100, ownerHandle: mine.ownerHandle, offset: 10, length: 90)
                )
        )
        #expect(try harness.lock(theirs) == denied)
        // Other bytes, and other files, are free.
        #expect(try harness.lock(ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 200, offset: 0, length: 10)) == granted)
        #expect(try harness.lock(ClientLock(caller: "client2", handle: NLMHarness.readme, svid: 200)) == granted)

        #expect(try harness.unlock(mine) == granted)
        #expect(try harness.test(theirs).status == granted)
        #expect(try harness.lock(theirs) == granted)
        // client2's [0, 10) and [50, EOF) on the movie, and the readme.
        #expect(harness.program.snapshot.totalLocks == 3)
        #expect(harness.callbacks.take().isEmpty)
        await harness.store.shutdown()
    }

    @Test("shared locks: readers coexist, a writer is refused")
    func sharedLocks() async throws {
        let harness = await NLMHarness.standard()
        let reader1 = ClientLock(handle: NLMHarness.movie, svid: 1)
        let reader2 = ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 2)
        #expect(try harness.lock(reader1, exclusive: false) == granted)
        #expect(try harness.lock(reader2, exclusive: false) == granted)
        #expect(try harness.test(ClientLock(handle: NLMHarness.movie, svid: 3), exclusive: false).status == granted)
        let reply = try harness.test(ClientLock(handle: NLMHarness.movie, svid: 3))
        #expect(reply.status == denied)
        #expect(reply.holder?.exclusive == false)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 3)) == denied)
        await harness.store.shutdown()
    }

    @Test("handles that are not p2pfs handles, or name nothing, are stale")
    func staleHandles() async throws {
        let harness = await NLMHarness.standard()
        let gone = NFSHarness.handle("movies/Gone.mkv")
        for handle in [gone, [UInt8](repeating: 1, count: 12), [], NLMHarness.movie + [0]] {
            let lock = ClientLock(handle: handle, svid: 1)
            #expect(try harness.lock(lock) == staleHandle)
            #expect(try harness.test(lock).status == staleHandle)
            #expect(try harness.share(handle, mode: 0, access: 1) == staleHandle)
        }
        // Unlocking what one does not hold on a file that is gone: stale too;
        // a malformed handle is stale for CANCEL.
        #expect(try harness.unlock(ClientLock(handle: gone, svid: 1)) == staleHandle)
        #expect(try harness.cancel(ClientLock(handle: [1, 2], svid: 1)) == staleHandle)
        #expect(harness.program.snapshot.isEmpty)
        await harness.store.shutdown()
    }

    @Test("the grace period: only reclaims are granted until the namespace is ready")
    func gracePeriod() async throws {
        let harness = await NLMHarness.standard(ready: false)
        let lock = ClientLock(handle: NLMHarness.movie, svid: 1)
        #expect(try harness.lock(lock) == deniedGracePeriod)
        #expect(try harness.lock(lock, procedure: .nmLock) == deniedGracePeriod)
        #expect(try harness.test(lock).status == deniedGracePeriod)
        #expect(try harness.share(NLMHarness.movie, mode: 0, access: 1) == deniedGracePeriod)

        // A reclaim is granted, even for a handle not known yet.
        #expect(try harness.lock(lock, reclaim: true) == granted)
        let unknown = ClientLock(handle: NFSHarness.handle("movies/NotYet.mkv"), svid: 1)
        #expect(try harness.lock(unknown, reclaim: true) == granted)
        // Releasing is always allowed.
        #expect(try harness.unlock(unknown) == granted)

        harness.store.markReady()
        #expect(try harness.test(ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 2)).status == denied)
        #expect(try harness.unlock(lock) == granted)
        #expect(try harness.lock(ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 2)) == granted)
        await harness.store.shutdown()
    }

    @Test("a blocked LOCK is granted on UNLOCK, with a GRANTED callback to the waiting client")
    func blockedThenCallback() async throws {
        var harness = await NLMHarness.standard()
        let holder = ClientLock(handle: NLMHarness.movie, svid: 1)
        let waiter = ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 2, offset: 4096, length: 4096)
        #expect(try harness.lock(holder) == granted)

        var client2 = ProgramCaller()
        client2.remoteAddress = try SocketAddress(ipAddress: "127.0.0.2", port: 700)
        harness.caller = client2
        #expect(try harness.lock(waiter, block: true, cookie: [0xC0, 0x0C]) == blocked)
        // Asking again while blocked (the Linux client re-polls): still blocked, one waiter.
        #expect(try harness.lock(waiter, block: true, cookie: [0xC0, 0x0C]) == blocked)
        #expect(harness.program.snapshot.totalWaiters == 1)
        #expect(harness.callbacks.take().isEmpty)

        harness.caller = ProgramCaller()
        #expect(try harness.unlock(holder) == granted)
        let sent = harness.callbacks.take()
        try #require(sent.count == 1)
        #expect(sent[0].procedure == .granted)
        #expect(sent[0].client.host == "127.0.0.2")
        // nlm4_testargs: the LOCK's cookie, exclusive, and the lock as the client sent it.
        var expected = ByteBuffer()
        expected.putOpaque([0xC0, 0x0C])
        expected.putU32(1)
        waiter.put(into: &expected)
        #expect(sent[0].arguments == Array(expected.readableBytesView))

        // The waiter holds it now; its next poll is answered GRANTED.
        #expect(try harness.test(holder).holder?.svid == 2)
        harness.caller = client2
        #expect(try harness.lock(waiter, block: true) == granted)
        #expect(harness.program.snapshot.totalWaiters == 0)
        await harness.store.shutdown()
    }

    @Test("a failed GRANTED callback leaves the lock granted for the client's next poll")
    func callbackFails() async throws {
        let harness = await NLMHarness.standard()
        let holder = ClientLock(handle: NLMHarness.movie, svid: 1)
        let waiter = ClientLock(handle: NLMHarness.movie, svid: 2)
        harness.callbacks.answer.withLock { $0 = .failure }
        #expect(try harness.lock(holder) == granted)
        #expect(try harness.lock(waiter, block: true) == blocked)
        #expect(try harness.unlock(holder) == granted)
        #expect(harness.callbacks.take().count == 1)
        #expect(try harness.test(holder).holder?.svid == 2)
        #expect(try harness.lock(waiter, block: true) == granted)
        await harness.store.shutdown()
    }

    @Test("a client that answers GRANTED with DENIED gives the lock back to the next waiter")
    func callbackRefused() async throws {
        let harness = await NLMHarness.standard()
        let holder = ClientLock(handle: NLMHarness.movie, svid: 1)
        let quitter = ClientLock(handle: NLMHarness.movie, svid: 2)
        let patient = ClientLock(handle: NLMHarness.movie, svid: 3)
        #expect(try harness.lock(holder) == granted)
        #expect(try harness.lock(quitter, block: true, cookie: [2]) == blocked)
        #expect(try harness.lock(patient, block: true, cookie: [3]) == blocked)

        harness.callbacks.answer.withLock { $0 = .status(1) }  // NLM4_DENIED: not waiting
        #expect(try harness.unlock(holder) == granted)
        // quitter refused; patient was granted in turn (and refused too, with
        // this answer), so the file is free again.
        let sent = harness.callbacks.take()
        #expect(sent.map(\.procedure) == [.granted, .granted])
        #expect(sent.map { Array($0.arguments.prefix(5)) } == [[0, 0, 0, 1, 2], [0, 0, 0, 1, 3]])
        #expect(harness.program.snapshot.totalLocks == 0)
        #expect(try harness.test(holder).status == granted)
        await harness.store.shutdown()
    }

    @Test("CANCEL withdraws a blocked LOCK: nothing is granted, nobody called back")
    func cancelBlocked() async throws {
        let harness = await NLMHarness.standard()
        let holder = ClientLock(handle: NLMHarness.movie, svid: 1)
        let waiter = ClientLock(handle: NLMHarness.movie, svid: 2)
        #expect(try harness.lock(holder) == granted)
        #expect(try harness.lock(waiter, block: true) == blocked)
        #expect(try harness.cancel(waiter) == granted)
        #expect(harness.program.snapshot.totalWaiters == 0)
        // Cancelling what is not queued is answered the same.
        #expect(try harness.cancel(waiter) == granted)
        #expect(try harness.unlock(holder) == granted)
        #expect(harness.callbacks.take().isEmpty)
        #expect(harness.program.snapshot.isEmpty)
        await harness.store.shutdown()
    }

    @Test("NM_LOCK never blocks")
    func nmLock() async throws {
        let harness = await NLMHarness.standard()
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 1), procedure: .nmLock) == granted)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 2), block: true, procedure: .nmLock) == denied)
        #expect(harness.program.snapshot.totalWaiters == 0)
        await harness.store.shutdown()
    }

    @Test("an upgrade by the same owner replaces its range; unlocking the middle splits it")
    func upgradeAndSplit() async throws {
        let harness = await NLMHarness.standard()
        let other = ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 9, offset: 0, length: 1)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 1, offset: 0, length: 300), exclusive: false) == granted)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 1, offset: 100, length: 100)) == granted)
        func probe(_ offset: UInt64) throws -> ClientTestReply {
            var lock = other
            lock.offset = offset
            return try harness.test(lock, exclusive: false)
        }
        #expect(try probe(50).status == granted)
        #expect(try probe(150).holder == ClientHolder(exclusive: true, svid: 1, ownerHandle: Array("1@client1".utf8), offset: 100, length: 100))
        #expect(try probe(250).status == granted)

        #expect(try harness.unlock(ClientLock(handle: NLMHarness.movie, svid: 1, offset: 120, length: 10)) == granted)
        #expect(try probe(125).status == granted)
        #expect(try probe(119).holder?.length == 20)
        #expect(try probe(130).holder?.offset == 130)
        #expect(harness.program.snapshot.totalLocks == 4)
        await harness.store.shutdown()
    }

    @Test("the _MSG requests answer void and send their result as the matching _RES call")
    func asynchronousMessages() async throws {
        let harness = await NLMHarness.standard()
        let lock = ClientLock(handle: NLMHarness.movie, svid: 1)
        let reply = try harness.call(.lockMessage) { buffer in
            buffer.putOpaque([7])
            buffer.putU32(0)
            buffer.putU32(1)
            lock.put(into: &buffer)
            buffer.putU32(0)
            buffer.putU32(1)
        }
        #expect(reply.body.readableBytes == 0)
        #expect(reply.hasHeadroom)

        let testReply = try harness.call(.testMessage) { buffer in
            buffer.putOpaque([8])
            buffer.putU32(1)
            ClientLock(caller: "client2", handle: NLMHarness.movie, svid: 2).put(into: &buffer)
        }
        #expect(testReply.body.readableBytes == 0)
        _ = try harness.call(.unlockMessage) { buffer in
            buffer.putOpaque([9])
            lock.put(into: &buffer)
        }

        let sent = harness.callbacks.take()
        #expect(sent.map(\.procedure) == [.lockResult, .testResult, .unlockResult])
        #expect(sent.map(\.client.host) == ["127.0.0.1", "127.0.0.1", "127.0.0.1"])
        #expect(sent[0].arguments == hex("00 00 00 01 07 00 00 00  00 00 00 00"))
        var test = ByteBuffer(bytes: sent[1].arguments)
        let decoded = try NLMHarness.testReply(&test)
        #expect(decoded.cookie == [8])
        #expect(decoded.status == denied)
        #expect(decoded.holder?.svid == 1)
        #expect(sent[2].arguments == hex("00 00 00 01 09 00 00 00  00 00 00 00"))
        #expect(harness.program.snapshot.isEmpty)
        await harness.store.shutdown()
    }

    @Test("_RES calls and GRANTED sent to the server are answered sanely")
    func resultsAndGranted() async throws {
        let harness = await NLMHarness.standard()
        for procedure: NLMProcedure in [.lockResult, .cancelResult, .unlockResult, .grantedResult] {
            let reply = try harness.call(procedure) { $0.putOpaque([1]); $0.putU32(0) }
            #expect(reply.body.readableBytes == 0)
        }
        let testResult = try harness.call(.testResult) { $0.putOpaque([1]); $0.putU32(0) }
        #expect(testResult.body.readableBytes == 0)

        // p2pfs waits for nobody's lock: GRANTED finds nothing to grant.
        let reply = try harness.call(.granted) { buffer in
            buffer.putOpaque([4])
            buffer.putU32(1)
            ClientLock(handle: NLMHarness.movie, svid: 1).put(into: &buffer)
        }
        #expect(try harness.result(reply, cookie: [4]) == denied)
        let message = try harness.call(.grantedMessage) { buffer in
            buffer.putOpaque([4])
            buffer.putU32(1)
            ClientLock(handle: NLMHarness.movie, svid: 1).put(into: &buffer)
        }
        #expect(message.body.readableBytes == 0)
        #expect(harness.callbacks.take().map(\.procedure) == [.grantedResult])
        await harness.store.shutdown()
    }

    @Test("SHARE: reading is granted, writing is refused as read-only; UNSHARE releases")
    func shares() async throws {
        let harness = await NLMHarness.standard()
        #expect(try harness.share(NLMHarness.movie, caller: "pc1", mode: 0, access: 1) == granted)
        #expect(try harness.share(NLMHarness.movie, caller: "pc2", mode: 2, access: 1) == granted)
        #expect(try harness.share(NLMHarness.movie, caller: "pc3", mode: 0, access: 2) == readOnly)
        #expect(try harness.share(NLMHarness.movie, caller: "pc3", mode: 0, access: 3) == readOnly)
        // Denying reads to others conflicts with the readers.
        #expect(try harness.share(NLMHarness.movie, caller: "pc3", mode: 1, access: 1) == denied)
        #expect(try harness.share(NLMHarness.movie, caller: "pc1", mode: 0, access: 1, procedure: .unshare) == granted)
        #expect(try harness.share(NLMHarness.movie, caller: "pc2", mode: 0, access: 1, procedure: .unshare) == granted)
        #expect(try harness.share(NLMHarness.movie, caller: "pc3", mode: 1, access: 1) == granted)
        #expect(harness.program.snapshot.totalShares == 1)
        await harness.store.shutdown()
    }

    @Test("FREE_ALL releases a client's locks and grants what waited, with a callback")
    func freeAll() async throws {
        let harness = await NLMHarness.standard()
        #expect(try harness.lock(ClientLock(caller: "crashed", handle: NLMHarness.movie, svid: 1)) == granted)
        #expect(try harness.lock(ClientLock(caller: "crashed", handle: NLMHarness.readme, svid: 1), exclusive: false) == granted)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 2), block: true) == blocked)
        try harness.freeAll("someone-else")
        #expect(harness.program.snapshot.totalLocks == 2)
        try harness.freeAll("crashed")
        #expect(harness.callbacks.take().map(\.procedure) == [.granted])
        #expect(try harness.test(ClientLock(caller: "x", handle: NLMHarness.movie, svid: 3)).holder?.svid == 2)
        #expect(try harness.test(ClientLock(caller: "x", handle: NLMHarness.readme, svid: 3)).status == granted)
        await harness.store.shutdown()
    }

    @Test("rpc.statd's SM_NOTIFY (procedure 16) from loopback releases a restarted host's locks")
    func statusMonitorNotify() async throws {
        var harness = await NLMHarness.standard()
        #expect(try harness.lock(ClientLock(caller: "rebooted", handle: NLMHarness.movie, svid: 1)) == granted)
        func notify(from caller: ProgramCaller) throws {
            let reply = try harness.call(.statusMonitorNotify, from: caller) { buffer in
                buffer.putString("rebooted")
                buffer.putU32(3)
                buffer.writeBytes([UInt8](repeating: 0, count: 16))
            }
            #expect(reply.body.readableBytes == 0)
        }
        var remote = ProgramCaller()
        remote.remoteAddress = try SocketAddress(ipAddress: "192.0.2.1", port: 900)
        try notify(from: remote)
        #expect(harness.program.snapshot.totalLocks == 1)
        harness.caller = ProgramCaller()
        try notify(from: harness.caller)
        #expect(harness.program.snapshot.isEmpty)
        await harness.store.shutdown()
    }

    @Test("a full table answers NLM4_DENIED_NOLOCKS")
    func fullTable() async throws {
        let harness = await NLMHarness.standard(limits: .init(locks: 1, waiters: 0, shares: 0))
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 1, offset: 0, length: 1)) == granted)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 1, offset: 5, length: 1)) == deniedNoLocks)
        #expect(try harness.lock(ClientLock(handle: NLMHarness.movie, svid: 2, offset: 0, length: 1), block: true) == deniedNoLocks)
        await harness.store.shutdown()
    }
}
