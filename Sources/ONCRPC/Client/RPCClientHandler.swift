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
/// xid, each call bounded by its own timeout, as `timeouts` says what a
/// timeout measures (`RPCClientTimeoutPolicy`).
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
    private let timeouts: RPCClientTimeoutPolicy
    /// Bytes read off the socket (`.silence`); without one, only whole
    /// replies show that the peer is there.
    private let readCounter: RPCClientReadCounter?
    private var bytesSeen: UInt64 = 0

    public init(timeouts: RPCClientTimeoutPolicy = .perCall, readCounter: RPCClientReadCounter? = nil, logger: Logger) {
        self.timeouts = timeouts
        self.readCounter = readCounter
        self.logger = logger
    }

    /// Tells the state machine of bytes read since it last heard.
    private func noteBytesRead() {
        guard let counter = self.readCounter, counter.bytesRead != self.bytesSeen else { return }
        self.bytesSeen = counter.bytesRead
        self.state.progressed()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        self.noteBytesRead()
        switch self.state.startCall(Pending(promise: request.promise, timeout: nil)) {
        case .fail(let error):
            request.promise.fail(error)
            promise?.fail(error)
        case .send(let xid):
            self.armTimer(xid: xid, period: request.timeout, context: context)
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

    private func armTimer(xid: UInt32, period: TimeAmount, context: ChannelHandlerContext) {
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: period) {
            switch self.timeouts {
            case .perCall:
                self.state.timedOut(xid: xid)?.promise.fail(RPCClientError.timedOut)
            case .silence(let patience):
                self.noteBytesRead()
                switch self.state.timerFired(xid: xid, patience: patience) {
                case .fail(let pending, let silent):
                    pending.promise.fail(RPCClientError.timedOut)
                    if silent {
                        self.logger.info("closing RPC client connection: nothing read for \(period.nanoseconds / 1_000_000) ms")
                        context.close(promise: nil)
                    }
                case .waitAgain:
                    self.armTimer(xid: xid, period: period, context: context)
                case .none:
                    break
                }
            }
        }
        self.state.modify(xid: xid) { $0.timeout = timer }
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
