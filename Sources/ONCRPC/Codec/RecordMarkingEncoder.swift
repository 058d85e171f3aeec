import NIOCore
import XDR

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Frames outgoing `RPCRecord`s as single-fragment RPC records.
///
/// The 4-byte record mark is written into the head buffer's headroom when
/// there is some (see `RPCRecord.headroom`), so a typical reply is one buffer;
/// bulk data follows as a separate write and reaches the socket via `writev`
/// or `sendfile`, never through an intermediate copy.
///
/// A file region's record mark promises its length, but `sendfile` finds
/// nothing to send once the file has shrunk below the region's end, and
/// NIO would then retry the write for ever. So while a region is unwritten
/// its file is checked every `regionCheckInterval`; once it is shorter the
/// connection is closed (the client retries on a new one and reads the
/// file as it is now), so the stream never carries a record shorter than
/// its mark.
public final class RecordMarkingEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = RPCRecord
    public typealias OutboundOut = IOData

    static let lastFragmentBit: UInt32 = 0x8000_0000
    private static let padding = ByteBuffer(bytes: [0, 0, 0])
    private let regionCheckInterval: TimeAmount

    public init(regionCheckInterval: TimeAmount = .milliseconds(250)) {
        self.regionCheckInterval = regionCheckInterval
    }

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
        var promise = promise
        if case .fileRegion(let region) = bulk {
            promise = self.watch(region, owner: record.bulkOwner, context: context, promise: promise)
        }
        let padding = ByteBuffer.xdrPadding(bulk.readableBytes)
        if padding == 0 {
            context.write(self.wrapOutboundOut(bulk), promise: promise)
        } else {
            context.write(self.wrapOutboundOut(bulk), promise: nil)
            context.write(self.wrapOutboundOut(.byteBuffer(Self.padding.getSlice(at: 0, length: padding)!)), promise: promise)
        }
    }

    /// A promise for the record's last write that keeps `owner` (what holds
    /// the region's descriptor open) until the write is done, and checks
    /// the file while it is not.
    private func watch(
        _ region: FileRegion, owner: (any AnyObject & Sendable)?, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) -> EventLoopPromise<Void> {
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        let channel = context.channel
        let check = context.eventLoop.scheduleRepeatedTask(initialDelay: self.regionCheckInterval, delay: self.regionCheckInterval) { task in
            if region.fileEndsBeforeRegion() {
                task.cancel()
                channel.close(promise: nil)
            }
        }
        written.futureResult.whenComplete { _ in
            check.cancel()
            withExtendedLifetime(owner) {}
        }
        return written
    }
}

extension FileRegion {
    /// True when the file now ends before the region does (or cannot be
    /// looked at).
    func fileEndsBeforeRegion() -> Bool {
        var info = stat()
        let result = (try? self.fileHandle.withUnsafeFileDescriptor { fstat($0, &info) }) ?? -1
        return result != 0 || Int(info.st_size) < self.endIndex
    }
}
