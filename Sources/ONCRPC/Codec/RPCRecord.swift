import NIOCore
import XDR

/// One outgoing RPC message before record marking.
///
/// `head` holds the XDR bytes. `bulk`, when present, is the body of a trailing
/// variable-length opaque whose length word is already the last thing in
/// `head`: file data from a READ, sent as its own buffer or file region so it
/// is never copied; the encoder appends its XDR padding.
public struct RPCRecord {
    public var head: ByteBuffer
    public var bulk: IOData?

    public init(head: ByteBuffer, bulk: IOData? = nil) {
        self.head = head
        self.bulk = bulk
    }

    /// Bytes this record occupies on the wire, excluding the record mark.
    public var length: Int {
        guard let bulk else { return self.head.readableBytes }
        let bulkLength = bulk.readableBytes
        return self.head.readableBytes + bulkLength + ByteBuffer.xdrPadding(bulkLength)
    }

    /// Concatenates the record into one buffer (for datagrams, and for tests).
    public func flattened(allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let bulk else { return self.head }
        guard case .byteBuffer(let bytes) = bulk else { return nil }
        var out = allocator.buffer(capacity: self.length)
        out.writeImmutableBuffer(self.head)
        out.writeImmutableBuffer(bytes)
        out.writeXDRPadding(for: bytes.readableBytes)
        return out
    }
}

