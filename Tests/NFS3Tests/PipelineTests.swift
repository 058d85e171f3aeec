import Logging
import NFS3
import NIOCore
import NIOEmbedded
import Namespace
import ONCRPC
import Testing
import ProgramTestSupport

/// The NFS program behind the real RPC stack: record marking, the server
/// handler and the dispatcher.
@Suite("NFS over the RPC pipeline")
struct PipelineTests {
    func makeChannel(_ program: NFSv3Program) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: 1 << 20)),
            RecordMarkingEncoder(),
            RPCServerHandler(dispatcher: RPCDispatcher(programs: [program]), logger: Logger(label: "test")),
        ])
        // Replies to calls answered later (READ) are only written to an active channel.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2049)).wait()
        return channel
    }

    /// One call as a client writes it: record mark, call header, arguments.
    func record(xid: UInt32, procedure: NFS3Procedure, version: UInt32 = 3, _ arguments: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var body = ByteBuffer()
        arguments(&body)
        var message = ByteBuffer()
        RPCCall(xid: xid, program: 100_003, version: version, procedure: procedure.rawValue, arguments: body).encode(into: &message)
        var record = ByteBuffer()
        record.putU32(0x8000_0000 | UInt32(message.readableBytes))
        record.writeImmutableBuffer(message)
        return record
    }

    /// Reads the record mark and accepted-success reply header.
    func readReplyHeader(_ buffer: inout ByteBuffer, xid: UInt32) throws -> Int {
        let mark = try buffer.u32()
        #expect(mark & 0x8000_0000 != 0)
        #expect(try buffer.u32() == xid)
        #expect(try buffer.u32() == 1)  // REPLY
        #expect(try buffer.u32() == 0)  // MSG_ACCEPTED
        #expect(try buffer.u32() == 0)  // AUTH_NONE
        #expect(try buffer.u32() == 0)  // empty verifier
        #expect(try buffer.u32() == 0)  // SUCCESS
        return Int(mark & 0x7FFF_FFFF)
    }

    @Test("GETATTR of the root through the pipeline")
    func getattr() async throws {
        let store = await TestNamespace.makeStore()
        let channel = try self.makeChannel(NFSv3Program(store: store, configuration: TestNamespace.configuration))
        try channel.writeInbound(self.record(xid: 7, procedure: .getattr) { $0.putOpaque(NFSHarness.handle("")) })
        channel.embeddedEventLoop.run()
        guard case .byteBuffer(var reply) = try #require(try channel.readOutbound(as: IOData.self)) else {
            Issue.record("expected a byte buffer")
            return
        }
        let length = try self.readReplyHeader(&reply, xid: 7)
        #expect(length == 24 + 4 + 84)
        #expect(try reply.u32() == 0)
        let attributes = try reply.fattr3()
        #expect(attributes.type == 2)
        #expect(attributes.fileid == FileID.root.rawValue)
        #expect(reply.readableBytes == 0)
        #expect(try channel.readOutbound(as: IOData.self) == nil)
        _ = try channel.finish()
        await store.shutdown()
    }

    @Test("READ through the pipeline: file data is written as its own buffer, then padding")
    func readBulk() async throws {
        let store = await TestNamespace.makeStore()
        let channel = try self.makeChannel(NFSv3Program(store: store, configuration: TestNamespace.configuration))
        try channel.writeInbound(self.record(xid: 8, procedure: .read) {
            $0.putOpaque(NFSHarness.handle("docs/readme.txt"))
            $0.putU64(0)
            $0.putU32(4096)
        })
        channel.embeddedEventLoop.run()
        var outputs: [ByteBuffer] = []
        for _ in 0..<5 {
            guard let output = try channel.readOutbound(as: IOData.self) else { break }
            guard case .byteBuffer(let buffer) = output else {
                Issue.record("unexpected file region")
                break
            }
            outputs.append(buffer)
        }
        try #require(outputs.count == 3)
        var head = outputs[0]
        let length = try self.readReplyHeader(&head, xid: 8)
        #expect(try head.u32() == 0)
        #expect(try head.postOpAttr()?.size == 13)
        #expect(try head.u32() == 13)  // count
        #expect(try head.bool() == true)  // eof
        #expect(try head.u32() == 13)  // data length: the last word of the head
        #expect(head.readableBytes == 0)
        #expect(Array(outputs[1].readableBytesView) == Array("hello, world\n".utf8))
        #expect(Array(outputs[2].readableBytesView) == [0, 0, 0])
        #expect(length == 24 + 4 + 88 + 12 + 16)
        _ = try channel.finish()
        await store.shutdown()
    }

    @Test("NFS version 4 is refused with PROG_MISMATCH 3...3")
    func versionMismatch() async throws {
        let store = await TestNamespace.makeStore()
        let program = NFSv3Program(store: store, configuration: TestNamespace.configuration)
        let dispatcher = RPCDispatcher(programs: [program])
        #expect(dispatcher.registrations.map { "\($0.program)/\($0.version)" } == ["100003/3"])
        let route = dispatcher.route(RPCCall(xid: 9, program: 100_003, version: 4, procedure: 0))
        guard case .refuse(let header) = route else {
            Issue.record("version 4 was delivered")
            return
        }
        #expect(header == RPCReplyHeader(xid: 9, status: .accepted(verifier: .none, status: .programMismatch(low: 3, high: 3))))

        // And on the wire.
        let channel = try self.makeChannel(program)
        try channel.writeInbound(self.record(xid: 10, procedure: .null, version: 4) { _ in })
        channel.embeddedEventLoop.run()
        guard case .byteBuffer(var reply) = try #require(try channel.readOutbound(as: IOData.self)) else {
            Issue.record("expected a byte buffer")
            return
        }
        _ = try reply.u32()  // record mark
        #expect(try reply.u32() == 10)
        #expect(try reply.u32() == 1)
        #expect(try reply.u32() == 0)  // MSG_ACCEPTED
        #expect(try reply.u32() == 0)
        #expect(try reply.u32() == 0)
        #expect(try reply.u32() == 2)  // PROG_MISMATCH
        #expect(try reply.u32() == 3)  // low
        #expect(try reply.u32() == 3)  // high
        #expect(reply.readableBytes == 0)
        _ = try channel.finish()
        await store.shutdown()
    }
}
