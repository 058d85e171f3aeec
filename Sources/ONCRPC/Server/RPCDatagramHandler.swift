import Logging
import NIOCore

/// Serves RPC calls arriving as UDP datagrams: one call per datagram, no
/// record marking. Used for the portmapper and MOUNT, which clients often
/// query over UDP.
public final class RPCDatagramHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let dispatcher: RPCDispatcher
    private let logger: Logger

    public init(dispatcher: RPCDispatcher, logger: Logger) {
        self.dispatcher = dispatcher
        self.logger = logger
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        var record = envelope.data
        let remote = envelope.remoteAddress
        let call: RPCCall
        do {
            guard case .call(let decoded) = try RPCMessage(record: &record) else { return }
            call = decoded
        } catch {
            if let header = RPCDispatcher.reply(to: error) {
                self.send(nil, header: header, to: remote, context: context)
            }
            return
        }
        switch self.dispatcher.route(call) {
        case .refuse(let header):
            self.send(nil, header: header, to: remote, context: context)
        case .deliver(let program, let credentials):
            let callContext = RPCCallContext(
                eventLoop: context.eventLoop,
                allocator: context.channel.allocator,
                transport: .udp,
                remoteAddress: remote,
                localAddress: context.channel.localAddress,
                credentials: credentials,
                connectionID: 0,
                logger: self.logger
            )
            switch program.handle(call, context: callContext) {
            case .done(let outcome):
                self.send(outcome.record(xid: call.xid, allocator: context.channel.allocator), header: nil, to: remote, context: context)
            case .pending(let future):
                let xid = call.xid
                future.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                    let outcome = (try? result.get()) ?? .systemError
                    self.send(outcome.record(xid: xid, allocator: context.channel.allocator), header: nil, to: remote, context: context)
                }
            }
        }
    }

    private func send(_ record: RPCRecord?, header: RPCReplyHeader?, to remote: SocketAddress, context: ChannelHandlerContext) {
        var datagram: ByteBuffer
        if let header {
            datagram = context.channel.allocator.buffer(capacity: 32)
            header.encode(into: &datagram)
        } else if let record, let flat = record.flattened(allocator: context.channel.allocator) {
            datagram = flat
        } else {
            self.logger.warning("reply cannot be sent as a datagram")
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: datagram)), promise: nil)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket outlives any one sender's errors.
        self.logger.debug("RPC datagram error: \(error)")
    }
}
