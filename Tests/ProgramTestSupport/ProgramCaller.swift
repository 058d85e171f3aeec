import Logging
import NIOCore
import NIOEmbedded
import ONCRPC
import Synchronization

/// The reply to one call as the program produced it.
public struct CallReply {
    /// The results with any bulk data appended (and padded), as a client reads them.
    public var body: ByteBuffer
    /// Bulk data handed over separately (READ), if any.
    public var bulk: ByteBuffer?
    /// Whether the head buffer kept the headroom for the RPC reply header.
    public var hasHeadroom: Bool
}

public enum CallFailure: Error, Equatable {
    case garbageArguments
    case procedureUnavailable
    case other(String)
    case notCompleted
}

final class ResultBox: Sendable {
    let value = Mutex<Result<RPCOutcome, any Error>?>(nil)
}

/// Calls programs directly, the way `RPCServerHandler` does.
public struct ProgramCaller {
    public var credentials: RPCCredentials = .sys(AuthSysParameters(machineName: "client1", uid: 1000, gid: 100))
    public var remoteAddress: SocketAddress? = try? SocketAddress(ipAddress: "127.0.0.1", port: 811)

    public init() {}

    public func outcome(_ program: any RPCProgram, version: UInt32, procedure: UInt32, arguments: ByteBuffer) throws -> RPCOutcome {
        let loop = EmbeddedEventLoop()
        let context = RPCCallContext(
            eventLoop: loop, allocator: ByteBufferAllocator(), transport: .tcp,
            remoteAddress: self.remoteAddress, localAddress: nil, credentials: self.credentials,
            connectionID: 1, logger: Logger(label: "test")
        )
        let call = RPCCall(xid: 42, program: program.program, version: version, procedure: procedure, arguments: arguments)
        switch program.handle(call, context: context) {
        case .done(let outcome):
            return outcome
        case .pending(let future):
            let box = ResultBox()
            future.whenComplete { result in box.value.withLock { $0 = result } }
            loop.run()
            guard let result = box.value.withLock({ $0 }) else { throw CallFailure.notCompleted }
            return try result.get()
        }
    }

    public func call(_ program: any RPCProgram, version: UInt32, procedure: UInt32, arguments: ByteBuffer) throws -> CallReply {
        switch try self.outcome(program, version: version, procedure: procedure, arguments: arguments) {
        case .success(let body):
            var flat = body.head
            var bulkBuffer: ByteBuffer?
            if let bulk = body.bulk {
                guard case .byteBuffer(let bytes) = bulk else { throw CallFailure.other("file region bulk") }
                bulkBuffer = bytes
                flat.writeImmutableBuffer(bytes)
                flat.writeRepeatingByte(0, count: (4 - bytes.readableBytes % 4) % 4)
            }
            return CallReply(body: flat, bulk: bulkBuffer, hasHeadroom: body.head.readerIndex >= RPCReplyHeader.successHeaderLength)
        case .garbageArguments: throw CallFailure.garbageArguments
        case .procedureUnavailable: throw CallFailure.procedureUnavailable
        case let other: throw CallFailure.other("\(other)")
        }
    }
}
