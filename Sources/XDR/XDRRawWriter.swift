import NIOCore

/// Writes a run of XDR items whose total length is known up front, with one
/// capacity check instead of one per item.
///
/// Hot replies (attributes in every GETATTR, LOOKUP and READDIRPLUS entry)
/// are long sequences of fixed-size words; writing them one `ByteBuffer`
/// call at a time spends more on bookkeeping than on bytes.
public struct XDRRawWriter {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var offset: Int
    @usableFromInline let limit: Int

    @inlinable
    init(base: UnsafeMutableRawPointer, limit: Int) {
        self.base = base
        self.offset = 0
        self.limit = limit
    }

    @inlinable
    public mutating func uint32(_ value: UInt32) {
        precondition(self.offset + 4 <= self.limit, "XDRRawWriter overrun")
        self.base.storeBytes(of: value.bigEndian, toByteOffset: self.offset, as: UInt32.self)
        self.offset += 4
    }

    @inlinable
    public mutating func uint64(_ value: UInt64) {
        precondition(self.offset + 8 <= self.limit, "XDRRawWriter overrun")
        self.base.storeBytes(of: value.bigEndian, toByteOffset: self.offset, as: UInt64.self)
        self.offset += 8
    }

    @inlinable
    public mutating func bool(_ value: Bool) {
        self.uint32(value ? 1 : 0)
    }

    /// Opaque bytes (no length word) followed by their XDR padding.
    @inlinable
    public mutating func fixedOpaque(_ bytes: UnsafeRawBufferPointer) {
        let padded = bytes.count + ByteBuffer.xdrPadding(bytes.count)
        precondition(self.offset + padded <= self.limit, "XDRRawWriter overrun")
        if let source = bytes.baseAddress, bytes.count > 0 {
            (self.base + self.offset).copyMemory(from: source, byteCount: bytes.count)
        }
        for index in bytes.count..<padded {
            self.base.storeBytes(of: 0, toByteOffset: self.offset + index, as: UInt8.self)
        }
        self.offset += padded
    }

    /// `string<>`: length word, UTF-8 bytes, padding.
    @inlinable
    public mutating func string(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            self.uint32(UInt32(utf8.count))
            self.fixedOpaque(UnsafeRawBufferPointer(utf8))
        }
    }

    /// The encoded length of `string<>` for a UTF-8 length.
    @inlinable
    public static func stringLength(utf8Count: Int) -> Int {
        4 + utf8Count + ByteBuffer.xdrPadding(utf8Count)
    }
}

extension ByteBuffer {
    /// Writes exactly `length` bytes through `body` (which must write them
    /// all) and returns `length`.
    @inlinable
    @discardableResult
    public mutating func writeXDRRaw(length: Int, _ body: (inout XDRRawWriter) -> Void) -> Int {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { pointer in
            var writer = XDRRawWriter(base: pointer.baseAddress!, limit: length)
            body(&writer)
            precondition(writer.offset == length, "XDRRawWriter wrote \(writer.offset) of \(length) bytes")
            return length
        }
    }
}
