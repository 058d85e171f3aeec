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
/// work is the program's. What lives here is per-connection flow control: the
/// handler stops reading while too many calls are in progress or while the
/// peer is not draining replies, so a client that never reads cannot make the
/// daemon buffer without bound.
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
    private var readSuppressed = false
    private var remoteAddress: SocketAddress?
    private var localAddress: SocketAddress?

    public init(dispatcher: RPCDispatcher, maximumCallsInProgress: Int = 64, logger: Logger) {
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
        var record = self.unwrapInboundIn(data)
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &record)
        } catch {
            self.logger.debug("undecodable RPC record", metadata: ["error": "\(error)"])
            if let header = RPCDispatcher.reply(to: error) {
                var buffer = context.channel.allocator.buffer(capacity: 32)
                header.encode(into: &buffer)
                context.write(self.wrapOutboundOut(RPCRecord(head: buffer)), promise: nil)
            }
            return
        }
        guard case .call(let call) = message else {
            self.logger.debug("ignoring an RPC reply sent to a server")
            return
        }

        switch self.dispatcher.route(call) {
        case .refuse(let header):
            var buffer = context.channel.allocator.buffer(capacity: 32)
            header.encode(into: &buffer)
            context.write(self.wrapOutboundOut(RPCRecord(head: buffer)), promise: nil)

        case .deliver(let program, let credentials):
            let callContext = RPCCallContext(
                eventLoop: context.eventLoop,
                allocator: context.channel.allocator,
                transport: .tcp,
                remoteAddress: self.remoteAddress,
                localAddress: self.localAddress,
                credentials: credentials,
                connectionID: self.connectionID,
                logger: self.logger
            )
            switch program.handle(call, context: callContext) {
            case .done(let outcome):
                context.write(self.wrapOutboundOut(outcome.record(xid: call.xid, allocator: context.channel.allocator)), promise: nil)
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
                    if context.channel.isActive {
                        context.writeAndFlush(self.wrapOutboundOut(outcome.record(xid: xid, allocator: context.channel.allocator)), promise: nil)
                    }
                    self.resumeReadingIfPossible(context: context)
                }
            }
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    public func read(context: ChannelHandlerContext) {
        if self.callsInProgress >= self.maximumCallsInProgress || !context.channel.isWritable {
            self.readSuppressed = true
        } else {
            context.read()
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
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

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        guard self.readSuppressed,
            self.callsInProgress < self.maximumCallsInProgress,
            context.channel.isWritable
        else { return }
        self.readSuppressed = false
        context.read()
    }
}
