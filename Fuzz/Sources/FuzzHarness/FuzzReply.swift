import NIOCore
import ONCRPC
import XDR

/// Checks on what a server sends back.
public enum FuzzReply {
    /// Frames `outcome` as the server does on TCP and on UDP, checks both,
    /// and returns the results that follow the reply header.
    public static func check(_ outcome: RPCOutcome, xid: UInt32) throws(FuzzPropertyViolation) -> ByteBuffer {
        let allocator = ByteBufferAllocator()
        let tcp = outcome.record(xid: xid, allocator: allocator, recordMarked: true)
        var head = tcp.head
        guard let mark = head.readInteger(endianness: .big, as: UInt32.self) else {
            throw FuzzPropertyViolation("reply record without a record mark")
        }
        try fuzzCheck(mark == 0x8000_0000 | UInt32(tcp.length), "record mark \(mark) for a record of \(tcp.length) bytes")
        guard let flat = tcp.flattened(allocator: allocator) else {
            throw FuzzPropertyViolation("reply record cannot be flattened")
        }
        try fuzzCheck(flat.readableBytes == tcp.length, "flattened reply is \(flat.readableBytes) bytes, record says \(tcp.length)")
        try fuzzCheck(flat.readableBytes % 4 == 0, "reply of \(flat.readableBytes) bytes is not XDR-aligned")

        let udp = outcome.record(xid: xid, allocator: allocator, recordMarked: false)
        guard let datagram = udp.flattened(allocator: allocator) else {
            throw FuzzPropertyViolation("datagram reply cannot be flattened")
        }
        try fuzzCheck(datagram == flat, "TCP and UDP framings of one reply differ")

        var record = flat
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &record)
        } catch {
            throw FuzzPropertyViolation("the server's reply does not decode: \(error)")
        }
        guard case .reply(let header, let results) = message else {
            throw FuzzPropertyViolation("the server's reply decodes as a call")
        }
        try fuzzCheck(header == RPCDispatcher.header(xid: xid, outcome: outcome), "reply header \(header) for outcome \(outcome)")
        if case .success = outcome {
            return results
        }
        try fuzzCheck(results.readableBytes == 0, "a refusal carries \(results.readableBytes) bytes of results")
        return ByteBuffer()
    }
}

extension RPCReplyHeader {
    /// Encoding a header and decoding it again gives the same header.
    func fuzzCheckRoundTrip() throws(FuzzPropertyViolation) {
        var buffer = ByteBuffer()
        self.encode(into: &buffer)
        let message: RPCMessage
        do {
            message = try RPCMessage(record: &buffer)
        } catch {
            throw FuzzPropertyViolation("reply header \(self) does not decode: \(error)")
        }
        guard case .reply(let again, let rest) = message else {
            throw FuzzPropertyViolation("reply header \(self) decodes as a call")
        }
        try fuzzCheck(again == self, "reply header \(self) decodes as \(again)")
        try fuzzCheck(rest.readableBytes == 0, "reply header \(self) leaves \(rest.readableBytes) bytes")
    }
}

/// Reads a client's view of XDR results, throwing a property violation on
/// anything malformed: the server's replies must always parse.
struct FuzzResultsReader {
    var buffer: ByteBuffer
    let what: String

    init(_ buffer: ByteBuffer, _ what: String) {
        self.buffer = buffer
        self.what = what
    }

    mutating func uint32() throws(FuzzPropertyViolation) -> UInt32 {
        do { return try self.buffer.readXDRUInt32() } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    mutating func uint64() throws(FuzzPropertyViolation) -> UInt64 {
        do { return try self.buffer.readXDRUInt64() } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    mutating func bool() throws(FuzzPropertyViolation) -> Bool {
        do { return try self.buffer.readXDRBool() } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    mutating func opaque(limit: Int = Int(UInt32.max)) throws(FuzzPropertyViolation) -> ByteBuffer {
        do { return try self.buffer.readXDRVariableOpaque(limit: limit) } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    mutating func string() throws(FuzzPropertyViolation) -> String {
        do { return try self.buffer.readXDRString() } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    mutating func skip(_ bytes: Int) throws(FuzzPropertyViolation) {
        guard self.buffer.readableBytes >= bytes else {
            throw FuzzPropertyViolation("\(self.what): truncated (\(bytes) bytes wanted, \(self.buffer.readableBytes) left)")
        }
        self.buffer.moveReaderIndex(forwardBy: bytes)
    }

    mutating func decode<T>(_ body: (inout ByteBuffer) throws -> T) throws(FuzzPropertyViolation) -> T {
        do { return try body(&self.buffer) } catch { throw FuzzPropertyViolation("\(self.what): \(error)") }
    }

    func end() throws(FuzzPropertyViolation) {
        try fuzzCheck(self.buffer.readableBytes == 0, "\(self.what): \(self.buffer.readableBytes) bytes after the results")
    }
}
