import Logging
import NIOCore
import NIOEmbedded
import ONCRPC
import RPCBind
import XDR

func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

func words(_ values: UInt32...) -> [UInt8] {
    values.flatMap { value in [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
}

/// The XDR form of a string: length, bytes, zero padding.
func xdrString(_ text: String) -> [UInt8] {
    var out = ByteBuffer()
    out.writeXDRString(text)
    return bytes(out)
}

let testLogger: Logger = {
    var logger = Logger(label: "p2pfs.rpcbind.test")
    logger.logLevel = .critical
    return logger
}()

/// A portmapper call, encoded (without record mark).
func portmapCall(xid: UInt32, version: UInt32, procedure: UInt32, arguments: [UInt8] = []) -> [UInt8] {
    var out = ByteBuffer()
    RPCCall(xid: xid, program: Portmap.program, version: version, procedure: procedure, arguments: ByteBuffer(bytes: arguments))
        .encode(into: &out)
    return bytes(out)
}

/// A successful reply header for `xid` with an AUTH_NONE verifier.
func successHeader(_ xid: UInt32) -> [UInt8] {
    words(xid, 1, 0, 0, 0, 0)
}

/// Runs a `PortmapProgram` behind the real server pipeline on an
/// `EmbeddedChannel`, as a connection from `remote` to `local` over TCP, or
/// behind `RPCDatagramHandler` for UDP.
struct PortmapHarness {
    let program: PortmapProgram
    let channel: EmbeddedChannel
    let transport: RPCTransport
    let remote: SocketAddress

    init(
        program: PortmapProgram = PortmapProgram(),
        transport: RPCTransport = .tcp,
        remote: String = "127.0.0.1",
        local: String = "127.0.0.1"
    ) throws {
        self.program = program
        self.transport = transport
        self.remote = try SocketAddress(ipAddress: remote, port: 900)
        self.channel = EmbeddedChannel()
        self.channel.localAddress = try SocketAddress(ipAddress: local, port: 111)
        self.channel.remoteAddress = self.remote
        let dispatcher = RPCDispatcher(programs: [program])
        switch transport {
        case .tcp:
            try self.channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: 1 << 16)),
                RecordMarkingEncoder(),
                RPCServerHandler(dispatcher: dispatcher, logger: testLogger),
            ])
        case .udp:
            try self.channel.pipeline.syncOperations.addHandler(RPCDatagramHandler(dispatcher: dispatcher, logger: testLogger))
        }
    }

    /// Sends one call and returns the reply record (TCP: with its record mark).
    func exchange(_ call: [UInt8]) throws -> [UInt8] {
        switch self.transport {
        case .tcp:
            var framed = ByteBuffer()
            framed.writeInteger(0x8000_0000 | UInt32(call.count))
            framed.writeBytes(call)
            try self.channel.writeInbound(framed)
            var out: [UInt8] = []
            var guardCount = 0
            while let data = try self.channel.readOutbound(as: IOData.self), guardCount < 1000 {
                guardCount += 1
                if case .byteBuffer(let buffer) = data { out += bytes(buffer) }
            }
            return out
        case .udp:
            try self.channel.writeInbound(AddressedEnvelope(remoteAddress: self.remote, data: ByteBuffer(bytes: call)))
            guard let envelope = try self.channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) else { return [] }
            return bytes(envelope.data)
        }
    }

    /// Sends one call and returns the results after a successful reply header.
    func results(_ call: [UInt8]) throws -> [UInt8]? {
        var reply = try self.exchange(call)
        if self.transport == .tcp { reply.removeFirst(min(4, reply.count)) }
        let xid = Array(call.prefix(4))
        guard reply.count >= 24, Array(reply.prefix(24)) == xid + words(1, 0, 0, 0, 0) else { return nil }
        return Array(reply.dropFirst(24))
    }

    func finish() {
        _ = try? self.channel.finish(acceptAlreadyClosed: true)
    }
}
