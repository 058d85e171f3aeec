import NIOCore

/// Counts the bytes a client connection reads off its socket, in front of
/// everything else (TLS included), so that `RPCClientHandler` can tell a
/// connection that is still receiving (a megabyte reply that takes seconds
/// on a slow link) from a silent one, before any whole reply has arrived.
public final class RPCClientReadCounter: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// Bytes read so far; only ever touched on the channel's event loop.
    public private(set) var bytesRead: UInt64 = 0

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.bytesRead &+= UInt64(self.unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }
}
