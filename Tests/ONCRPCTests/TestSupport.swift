import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import ONCRPC
import Synchronization
import XDR

func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

/// XDR words, big-endian, for writing test vectors as numbers.
func words(_ values: UInt32...) -> [UInt8] {
    values.flatMap { value in [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
}

/// A record mark: `last` in the top bit, then 31 bits of length.
func recordMark(_ length: Int, last: Bool = true) -> [UInt8] {
    words((last ? 0x8000_0000 : 0) | UInt32(length))
}

/// One single-fragment record around `body`.
func record(_ body: [UInt8]) -> [UInt8] {
    recordMark(body.count) + body
}

func callBytes(
    xid: UInt32, program: UInt32 = ToyProgram.number, version: UInt32 = 1, procedure: UInt32,
    credential: RPCOpaqueAuth = .none, arguments: [UInt8] = []
) -> [UInt8] {
    var out = ByteBuffer()
    RPCCall(
        xid: xid, program: program, version: version, procedure: procedure,
        credential: credential, arguments: ByteBuffer(bytes: arguments)
    ).encode(into: &out)
    return bytes(out)
}

let testLogger: Logger = {
    var logger = Logger(label: "p2pfs.test")
    logger.logLevel = .critical
    return logger
}()

/// Hands out promises that a `.pending` procedure returns, for tests to complete.
final class PendingCalls: Sendable {
    private let promises = Mutex<[EventLoopPromise<RPCOutcome>]>([])

    func add(_ promise: EventLoopPromise<RPCOutcome>) {
        self.promises.withLock { $0.append(promise) }
    }

    func takeAll() -> [EventLoopPromise<RPCOutcome>] {
        self.promises.withLock { promises in
            defer { promises.removeAll() }
            return promises
        }
    }

    var count: Int { self.promises.withLock { $0.count } }
}

/// Program 0x2000_0001 version 1, a stand-in for a real service.
///
/// 0 NULL; 1 ECHO returns its arguments; 2 PENDING answers when the test
/// completes the promise; 3 DELAY waits the milliseconds in its argument, then
/// echoes it; 4 FAIL fails its future; 5 GARBAGE answers GARBAGE_ARGS;
/// 6 CREDENTIALS returns the AUTH_SYS uid or 0xFFFFFFFF.
struct ToyProgram: RPCProgram {
    static let number: UInt32 = 0x2000_0001
    let program = ToyProgram.number
    let versions: ClosedRange<UInt32>
    let pending: PendingCalls

    init(versions: ClosedRange<UInt32> = 1...1, pending: PendingCalls = PendingCalls()) {
        self.versions = versions
        self.pending = pending
    }

    struct Failure: Error {}

    func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        switch call.procedure {
        case 0:
            return .done(.success(RPCResultBody(head: context.makeResultBuffer())))
        case 1:
            var out = context.makeResultBuffer()
            out.writeImmutableBuffer(call.arguments)
            return .done(.success(RPCResultBody(head: out)))
        case 2:
            let promise = context.eventLoop.makePromise(of: RPCOutcome.self)
            self.pending.add(promise)
            return .pending(promise.futureResult)
        case 3:
            var arguments = call.arguments
            guard let milliseconds = try? arguments.readXDRUInt32() else { return .done(.garbageArguments) }
            let allocator = context.allocator
            let echoed = call.arguments
            let future = context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) { () -> RPCOutcome in
                var out = allocator.buffer(capacity: RPCCallContext.headroom + 4)
                out.moveWriterIndex(forwardBy: RPCCallContext.headroom)
                out.moveReaderIndex(forwardBy: RPCCallContext.headroom)
                out.writeImmutableBuffer(echoed)
                return .success(RPCResultBody(head: out))
            }.futureResult
            return .pending(future)
        case 4:
            return .pending(context.eventLoop.makeFailedFuture(Failure()))
        case 5:
            return .done(.garbageArguments)
        case 6:
            var out = context.makeResultBuffer()
            if case .sys(let parameters) = context.credentials {
                out.writeXDRUInt32(parameters.uid)
            } else {
                out.writeXDRUInt32(0xFFFF_FFFF)
            }
            return .done(.success(RPCResultBody(head: out)))
        default:
            return .done(.procedureUnavailable)
        }
    }
}

/// Counts outbound `read()` calls that reach it (put it nearest the head).
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
    private let counter = Atomic<Int>(0)
    var reads: Int { self.counter.load(ordering: .relaxed) }

    func read(context: ChannelHandlerContext) {
        self.counter.add(1, ordering: .relaxed)
        context.read()
    }
}

/// Collects everything an `EmbeddedChannel` wrote as `IOData` into one byte array.
func drainOutbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
    var out: [UInt8] = []
    var guardCount = 0
    while let data = try channel.readOutbound(as: IOData.self), guardCount < 10_000 {
        guardCount += 1
        guard case .byteBuffer(let buffer) = data else { continue }
        out += bytes(buffer)
    }
    return out
}

/// Splits a record-marked byte stream into single-fragment record bodies.
func splitRecords(_ stream: [UInt8]) -> [[UInt8]] {
    var records: [[UInt8]] = []
    var index = 0
    while index + 4 <= stream.count, records.count < 10_000 {
        let mark = UInt32(stream[index]) << 24 | UInt32(stream[index + 1]) << 16 | UInt32(stream[index + 2]) << 8 | UInt32(stream[index + 3])
        let length = Int(mark & 0x7FFF_FFFF)
        guard index + 4 + length <= stream.count else { break }
        records.append(Array(stream[(index + 4)..<(index + 4 + length)]))
        index += 4 + length
    }
    return records
}
