import Logging
import NFS3
import NIOCore
import NIOPosix
import Namespace
import ONCRPC
import ProgramTestSupport
import Synchronization
import Testing

/// The daemon puts NLM's rpcbind entry back (after the kernel's lock
/// manager took it during a mount) before FSINFO is answered, so `mount`
/// cannot return before the entry is ours again.
@Suite("FSINFO waits for beforeFSInfo")
struct FSInfoBarrierTests {
    @Test("FSINFO's reply comes only after beforeFSInfo returned, and is the usual FSINFO")
    func fsinfoWaitsForHook() async throws {
        let store = await TestNamespace.makeStore()
        let (release, released) = AsyncStream<Void>.makeStream()
        let hookStarted = Mutex(false)
        let program = NFSv3Program(
            store: store, configuration: TestNamespace.configuration,
            beforeFSInfo: {
                hookStarted.withLock { $0 = true }
                for await _ in release { break }
            }
        )
        let group = MultiThreadedEventLoopGroup.singleton
        let context = RPCCallContext(
            eventLoop: group.next(), allocator: ByteBufferAllocator(), transport: .tcp,
            remoteAddress: nil, localAddress: nil, credentials: .none, connectionID: 1, logger: Logger(label: "test")
        )
        var arguments = ByteBuffer()
        arguments.putOpaque(NFSHarness.handle(""))
        let call = RPCCall(xid: 7, program: NFSv3Program.programNumber, version: 3, procedure: NFS3Procedure.fsinfo.rawValue, arguments: arguments)
        let response = try await group.next().submit { program.handle(call, context: context) }.get()
        guard case .pending(let future) = response else {
            Issue.record("FSINFO was answered at once, without waiting for beforeFSInfo")
            return
        }
        let answered = Mutex(false)
        future.whenComplete { _ in answered.withLock { $0 = true } }

        // Bounded: the hook starts as soon as the call is handled.
        for _ in 0..<300 where !hookStarted.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(hookStarted.withLock { $0 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(!answered.withLock { $0 }, "FSINFO was answered while beforeFSInfo was still running")

        released.yield(())
        guard case .success(let body) = try await future.get() else {
            Issue.record("FSINFO did not succeed")
            return
        }
        var reply = body.head
        #expect(try reply.u32() == 0)
        #expect(try reply.postOpAttr()?.fileid == FileID.root.rawValue)
        #expect(try reply.u32() == TestNamespace.configuration.maximumReadSize)  // rtmax
    }

    @Test("FSINFO with undecodable arguments is GARBAGE_ARGS, and the hook is not run")
    func garbage() async throws {
        let store = await TestNamespace.makeStore()
        let ran = Mutex(false)
        let program = NFSv3Program(store: store, configuration: TestNamespace.configuration, beforeFSInfo: { ran.withLock { $0 = true } })
        var arguments = ByteBuffer()
        arguments.writeInteger(UInt32(200))  // a handle length larger than NFS3_FHSIZE, and no bytes
        let outcome = try ProgramCaller().outcome(program, version: 3, procedure: NFS3Procedure.fsinfo.rawValue, arguments: arguments)
        guard case .garbageArguments = outcome else {
            Issue.record("expected GARBAGE_ARGS, got \(outcome)")
            return
        }
        #expect(!ran.withLock { $0 })
    }
}
