import Logging
import NIOCore

/// One call handed to `RPCClientHandler`.
public struct RPCClientRequest: Sendable {
    public var program: UInt32
    public var version: UInt32
    public var procedure: UInt32
    public var credential: RPCOpaqueAuth
    public var arguments: ByteBuffer
    public var timeout: TimeAmount
    public var promise: EventLoopPromise<ByteBuffer>

    public init(
        program: UInt32, version: UInt32, procedure: UInt32,
        credential: RPCOpaqueAuth = .none, arguments: ByteBuffer,
        timeout: TimeAmount, promise: EventLoopPromise<ByteBuffer>
    ) {
        self.program = program
        self.version = version
        self.procedure = procedure
        self.credential = credential
        self.arguments = arguments
        self.timeout = timeout
        self.promise = promise
    }
}

/// Client side of an RPC connection: many calls in flight, replies matched by
/// xid, each call bounded by its own timeout.
///
/// With `closesWhenSilent`, a call that times out with no reply read since
/// it was sent (to it or to any other call) closes the connection: the
/// peer is gone or has moved, and calls on the connection would only go on
/// timing out, while TCP retransmits for many minutes before giving up.
/// The owner reconnects. A slow peer that still answers other calls keeps
/// its connection.
public final class RPCClientHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = RPCClientRequest
    public typealias OutboundOut = RPCRecord

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var timeout: Scheduled<Void>?
    }

    private var state = RPCClientStateMachine<Pending>()
    private let logger: Logger
    private let closesWhenSilent: Bool

    public init(closesWhenSilent: Bool = false, logger: Logger) {
        self.closesWhenSilent = closesWhenSilent
        self.logger = logger
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        switch self.state.startCall(Pending(promise: request.promise, timeout: nil)) {
        case .fail(let error):
            request.promise.fail(error)
            promise?.fail(error)
        case .send(let xid):
            let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: request.timeout) {
                let silent = self.closesWhenSilent && self.state.isSilent(since: xid)
                if let pending = self.state.timedOut(xid: xid) {
                    pending.promise.fail(RPCClientError.timedOut)
                }
                if silent {
                    self.logger.info("closing RPC client connection: no reply to anything for \(request.timeout.nanoseconds / 1_000_000) ms")
                    context.close(promise: nil)
                }
            }
            self.state.modify(xid: xid) { $0.timeout = timeout }
            let call = RPCCall(
                xid: xid, program: request.program, version: request.version, procedure: request.procedure,
                credential: request.credential, verifier: .none, arguments: request.arguments
            )
            var head = context.channel.allocator.buffer(
                capacity: 4 + 40 + request.credential.body.readableBytes + request.arguments.readableBytes
            )
            head.moveWriterIndex(forwardBy: 4)
            head.moveReaderIndex(forwardBy: 4)
            call.encode(into: &head)
            context.write(self.wrapOutboundOut(RPCRecord(head: head)), promise: promise)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var record = self.unwrapInboundIn(data)
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &record)
        } catch {
            // A reply we cannot parse cannot be matched to its call; the
            // connection is no longer trustworthy.
            self.logger.warning("closing RPC client connection: undecodable reply (\(error))")
            context.close(promise: nil)
            return
        }
        guard case .reply(let header, let results) = message else {
            self.logger.debug("ignoring an RPC call sent to a client connection")
            return
        }
        guard let pending = self.state.replyReceived(xid: header.xid) else {
            self.logger.debug("ignoring a reply for unknown xid \(header.xid)")
            return
        }
        pending.timeout?.cancel()
        switch header.status {
        case .accepted(_, .success):
            pending.promise.succeed(results)
        case .accepted(_, let status):
            pending.promise.fail(RPCClientError.notAccepted(status))
        case .denied(let rejection):
            pending.promise.fail(RPCClientError.denied(rejection))
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        for pending in self.state.connectionClosed() {
            pending.timeout?.cancel()
            pending.promise.fail(RPCClientError.connectionClosed)
        }
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("RPC client connection error: \(error)")
        context.close(promise: nil)
    }
}
