import NIOCore
import XDR

/// Frames outgoing `RPCRecord`s as single-fragment RPC records.
///
/// The 4-byte record mark is written into the head buffer's headroom when
/// there is some (see `RPCRecord.headroom`), so a typical reply is one buffer;
/// bulk data follows as a separate write and reaches the socket via `writev`
/// or `sendfile`, never through an intermediate copy.
public final class RecordMarkingEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = RPCRecord
    public typealias OutboundOut = IOData

    static let lastFragmentBit: UInt32 = 0x8000_0000
    private static let padding = ByteBuffer(bytes: [0, 0, 0])

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let record = self.unwrapOutboundIn(data)
        let length = record.length
        precondition(length < Int(Self.lastFragmentBit), "RPC record too large for one fragment")
        let marker = Self.lastFragmentBit | UInt32(length)

        var head = record.head
        if record.isRecordMarked {
            // Already framed by the server handler: pass on untouched.
        } else if head.readerIndex >= 4 {
            head.moveReaderIndex(to: head.readerIndex - 4)
            head.setInteger(marker, at: head.readerIndex, endianness: .big)
        } else {
            var framed = context.channel.allocator.buffer(capacity: 4 + head.readableBytes)
            framed.writeInteger(marker, endianness: .big)
            framed.writeImmutableBuffer(head)
            head = framed
        }

        if let body = record.body {
            context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
            head = body
        }
        guard let bulk = record.bulk else {
            context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: promise)
            return
        }
        context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
        let padding = ByteBuffer.xdrPadding(bulk.readableBytes)
        if padding == 0 {
            context.write(self.wrapOutboundOut(bulk), promise: promise)
        } else {
            context.write(self.wrapOutboundOut(bulk), promise: nil)
            context.write(self.wrapOutboundOut(.byteBuffer(Self.padding.getSlice(at: 0, length: padding)!)), promise: promise)
        }
    }
}
