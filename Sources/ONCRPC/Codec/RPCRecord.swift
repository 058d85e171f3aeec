import NIOCore
import XDR

/// One outgoing RPC message before record marking.
///
/// `head` holds the XDR bytes, `body` (when present) more XDR bytes that
/// follow them: large results travel as their own buffer rather than being
/// copied behind a reply header. `bulk`, when present, is the body of a
/// trailing variable-length opaque whose length word is already the last
/// thing before it: file data from a READ, sent as its own buffer or file
/// region so it is never copied; the encoder appends its XDR padding.
public struct RPCRecord {
    public var head: ByteBuffer
    public var body: ByteBuffer?
    public var bulk: IOData?
    /// Kept alive until `bulk` has been written: what keeps a file
    /// region's descriptor open.
    public var bulkOwner: (any AnyObject & Sendable)?
    /// True when `head` already starts with the record mark (see
    /// `RPCOutcome.record(xid:allocator:recordMarked:)`).
    public var isRecordMarked: Bool

    public init(
        head: ByteBuffer, body: ByteBuffer? = nil, bulk: IOData? = nil, bulkOwner: (any AnyObject & Sendable)? = nil,
        isRecordMarked: Bool = false
    ) {
        self.head = head
        self.body = body
        self.bulk = bulk
        self.bulkOwner = bulkOwner
        self.isRecordMarked = isRecordMarked
    }

    /// Bytes this record occupies on the wire, excluding the record mark.
    public var length: Int {
        let head = self.head.readableBytes - (self.isRecordMarked ? 4 : 0) + (self.body?.readableBytes ?? 0)
        guard let bulk else { return head }
        let bulkLength = bulk.readableBytes
        return head + bulkLength + ByteBuffer.xdrPadding(bulkLength)
    }

    /// Concatenates the record into one buffer (for datagrams, and for tests),
    /// without the record mark.
    public func flattened(allocator: ByteBufferAllocator) -> ByteBuffer? {
        var head = self.head
        if self.isRecordMarked { head.moveReaderIndex(forwardBy: 4) }
        if self.body == nil && self.bulk == nil { return head }
        var out = allocator.buffer(capacity: self.length)
        out.writeImmutableBuffer(head)
        if let body = self.body { out.writeImmutableBuffer(body) }
        if let bulk = self.bulk {
            guard case .byteBuffer(let bytes) = bulk else { return nil }
            out.writeImmutableBuffer(bytes)
            out.writeXDRPadding(for: bytes.readableBytes)
        }
        return out
    }
}
