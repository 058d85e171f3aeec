import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves RPC calls arriving as records on one TCP connection.
///
/// Thin by design: decoding is `RPCMessage`, routing is `RPCDispatcher`, the
/// work is the program's. What lives here is per-connection flow control.
/// At most `maximumCallsInProgress` calls run at once; records beyond that
/// (one socket read can carry hundreds of small calls) wait in a queue, and
/// while anything waits, or while the peer is not draining replies, the
/// handler neither starts calls nor reads from the socket. So the memory a
/// connection can pin is bounded by the calls in progress and the write
/// buffer's high-water mark, whatever the client sends or fails to read.
public final class RPCServerHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Never
    public typealias OutboundIn = Never
    public typealias OutboundOut = RPCRecord

    private static let nextConnectionID = Atomic<UInt64>(1)

    private let dispatcher: RPCDispatcher
    private let maximumCallsInProgress: Int
    private var logger: Logger
    private let connectionID: UInt64
    private var callsInProgress = 0
    private var waitingRecords = CircularBuffer<ByteBuffer>()
    private var readSuppressed = false
    private var needsFlush = false
    private var remoteAddress: SocketAddress?
    private var localAddress: SocketAddress?
    private var peerIdentity: RPCPeerIdentity?

    public init(dispatcher: RPCDispatcher, maximumCallsInProgress: Int = 32, logger: Logger) {
        self.dispatcher = dispatcher
        self.maximumCallsInProgress = maximumCallsInProgress
        self.connectionID = Self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.logger = logger
        self.logger[metadataKey: "connection"] = "\(self.connectionID)"
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.remoteAddress = context.channel.remoteAddress
        self.localAddress = context.channel.localAddress
        if let remote = self.remoteAddress {
            self.logger[metadataKey: "peer"] = "\(remote)"
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.waitingRecords.append(self.unwrapInboundIn(data))
        self.startWaitingCalls(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    public func read(context: ChannelHandlerContext) {
        if self.canStartCall(context: context) {
            context.read()
        } else {
            self.readSuppressed = true
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.startWaitingCalls(context: context)
        self.flushIfNeeded(context: context)
        self.resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.waitingRecords.removeAll()
        self.dispatcher.connectionClosed(self.connectionID)
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let identity = event as? RPCPeerIdentity {
            self.peerIdentity = identity
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as RecordMarkingError:
            self.logger.warning("closing RPC connection: \(error)")
        case let error as IOError where error.errnoCode == ECONNRESET || error.errnoCode == EPIPE:
            self.logger.debug("RPC connection reset")
        default:
            self.logger.info("closing RPC connection after error: \(error)")
        }
        context.close(promise: nil)
    }

    // MARK: Calls

    private func canStartCall(context: ChannelHandlerContext) -> Bool {
        self.callsInProgress < self.maximumCallsInProgress && context.channel.isWritable
    }

    private func startWaitingCalls(context: ChannelHandlerContext) {
        while !self.waitingRecords.isEmpty && self.canStartCall(context: context) {
            self.handle(record: self.waitingRecords.removeFirst(), context: context)
        }
    }

    private func handle(record: ByteBuffer, context: ChannelHandlerContext) {
        var record = record
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &record)
        } catch {
            self.logger.debug("undecodable RPC record", metadata: ["error": "\(error)"])
            if let header = RPCDispatcher.reply(to: error) {
                self.writeHeader(header, context: context)
            }
            return
        }
        guard case .call(let call) = message else {
            self.logger.debug("ignoring an RPC reply sent to a server")
            return
        }

        switch self.dispatcher.route(call) {
        case .refuse(let header):
            self.writeHeader(header, context: context)

        case .deliver(let program, let credentials):
            var callContext = RPCCallContext(
                eventLoop: context.eventLoop,
                allocator: context.channel.allocator,
                transport: .tcp,
                remoteAddress: self.remoteAddress,
                localAddress: self.localAddress,
                credentials: credentials,
                connectionID: self.connectionID,
                logger: self.logger
            )
            callContext.peerIdentity = self.peerIdentity
            switch program.handle(call, context: callContext) {
            case .done(let outcome):
                self.write(outcome.record(xid: call.xid, allocator: context.channel.allocator, recordMarked: true), context: context)
            case .pending(let future):
                self.callsInProgress += 1
                let xid = call.xid
                future.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                    self.callsInProgress -= 1
                    let outcome: RPCOutcome
                    switch result {
                    case .success(let value):
                        outcome = value
                    case .failure(let error):
                        self.logger.warning("RPC procedure failed", metadata: ["xid": "\(xid)", "error": "\(error)"])
                        outcome = .systemError
                    }
                    guard context.channel.isActive else { return }
                    self.write(outcome.record(xid: xid, allocator: context.channel.allocator, recordMarked: true), context: context)
                    self.startWaitingCalls(context: context)
                    self.flushIfNeeded(context: context)
                    self.resumeReadingIfPossible(context: context)
                }
            }
        }
    }

    private func writeHeader(_ header: RPCReplyHeader, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 32)
        header.encode(into: &buffer)
        self.write(RPCRecord(head: buffer), context: context)
    }

    private func write(_ record: RPCRecord, context: ChannelHandlerContext) {
        context.write(self.wrapOutboundOut(record), promise: nil)
        self.needsFlush = true
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard self.needsFlush else { return }
        self.needsFlush = false
        context.flush()
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        guard self.readSuppressed, self.waitingRecords.isEmpty, self.canStartCall(context: context) else { return }
        self.readSuppressed = false
        context.read()
    }
}
