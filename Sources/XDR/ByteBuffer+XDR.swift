import NIOCore

/// RFC 4506 primitives on `ByteBuffer`.
///
/// Every item is a multiple of four bytes, big-endian. Readers consume exactly
/// what they decode (including padding) and leave the buffer untouched on error
/// only in the sense that the caller discards it: a failed decode means the
/// whole message is garbage.
extension ByteBuffer {
    // MARK: Integers

    @inlinable
    public mutating func readXDRUInt32() throws(XDRError) -> UInt32 {
        guard let value = self.readInteger(endianness: .big, as: UInt32.self) else {
            throw XDRError.truncated(needed: 4, available: self.readableBytes)
        }
        return value
    }

    @inlinable
    public mutating func readXDRInt32() throws(XDRError) -> Int32 {
        Int32(bitPattern: try self.readXDRUInt32())
    }

    @inlinable
    public mutating func readXDRUInt64() throws(XDRError) -> UInt64 {
        guard let value = self.readInteger(endianness: .big, as: UInt64.self) else {
            throw XDRError.truncated(needed: 8, available: self.readableBytes)
        }
        return value
    }

    @inlinable
    public mutating func readXDRInt64() throws(XDRError) -> Int64 {
        Int64(bitPattern: try self.readXDRUInt64())
    }

    @inlinable
    public mutating func readXDRBool() throws(XDRError) -> Bool {
        switch try self.readXDRUInt32() {
        case 0: return false
        case 1: return true
        case let other: throw XDRError.invalidBool(other)
        }
    }

    /// Reads a 32-bit enum value and maps it through `RawRepresentable`.
    @inlinable
    public mutating func readXDREnum<E: RawRepresentable>(_: E.Type) throws(XDRError) -> E where E.RawValue == UInt32 {
        let raw = try self.readXDRUInt32()
        guard let value = E(rawValue: raw) else {
            throw XDRError.invalidDiscriminant(type: String(describing: E.self), value: raw)
        }
        return value
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRUInt32(_ value: UInt32) -> Int {
        self.writeInteger(value, endianness: .big)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRInt32(_ value: Int32) -> Int {
        self.writeInteger(value, endianness: .big)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRUInt64(_ value: UInt64) -> Int {
        self.writeInteger(value, endianness: .big)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRInt64(_ value: Int64) -> Int {
        self.writeInteger(value, endianness: .big)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRBool(_ value: Bool) -> Int {
        self.writeXDRUInt32(value ? 1 : 0)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDREnum<E: RawRepresentable>(_ value: E) -> Int where E.RawValue == UInt32 {
        self.writeXDRUInt32(value.rawValue)
    }

    // MARK: Opaque data and strings

    /// The number of zero bytes that follow `length` bytes of opaque data.
    @inlinable
    public static func xdrPadding(_ length: Int) -> Int {
        (4 - (length & 3)) & 3
    }

    /// Reads `opaque name[length]`: a slice sharing storage with `self`.
    @inlinable
    public mutating func readXDRFixedOpaque(length: Int) throws(XDRError) -> ByteBuffer {
        let padded = length + ByteBuffer.xdrPadding(length)
        guard self.readableBytes >= padded, let slice = self.readSlice(length: length) else {
            throw XDRError.truncated(needed: padded, available: self.readableBytes)
        }
        self.moveReaderIndex(forwardBy: padded - length)
        return slice
    }

    /// Reads `opaque name<limit>`: a slice sharing storage with `self`.
    ///
    /// The length is checked against `limit` before anything is read, so a
    /// hostile length never causes an allocation.
    @inlinable
    public mutating func readXDRVariableOpaque(limit: Int = Int(UInt32.max)) throws(XDRError) -> ByteBuffer {
        let length = try self.readXDRUInt32()
        guard UInt64(length) <= UInt64(limit) else {
            throw XDRError.lengthLimitExceeded(length: length, limit: limit)
        }
        return try self.readXDRFixedOpaque(length: Int(length))
    }

    /// Reads `string name<limit>` as UTF-8.
    @inlinable
    public mutating func readXDRString(limit: Int = Int(UInt32.max)) throws(XDRError) -> String {
        let bytes = try self.readXDRVariableOpaque(limit: limit)
        guard let string = try? bytes.getUTF8ValidatedString(at: bytes.readerIndex, length: bytes.readableBytes) else {
            throw XDRError.invalidUTF8
        }
        return string
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRFixedOpaque(_ bytes: ByteBuffer) -> Int {
        var written = self.writeImmutableBuffer(bytes)
        written += self.writeXDRPadding(for: bytes.readableBytes)
        return written
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRFixedOpaque<Bytes: Collection>(_ bytes: Bytes) -> Int where Bytes.Element == UInt8 {
        var written = self.writeBytes(bytes)
        written += self.writeXDRPadding(for: bytes.count)
        return written
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRVariableOpaque(_ bytes: ByteBuffer) -> Int {
        self.writeXDRUInt32(UInt32(bytes.readableBytes)) + self.writeXDRFixedOpaque(bytes)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRVariableOpaque<Bytes: Collection>(_ bytes: Bytes) -> Int where Bytes.Element == UInt8 {
        self.writeXDRUInt32(UInt32(bytes.count)) + self.writeXDRFixedOpaque(bytes)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRString(_ string: String) -> Int {
        let length = string.utf8.count
        var written = self.writeXDRUInt32(UInt32(length))
        written += self.writeString(string)
        written += self.writeXDRPadding(for: length)
        return written
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRPadding(for length: Int) -> Int {
        let padding = ByteBuffer.xdrPadding(length)
        if padding > 0 {
            self.writeRepeatingByte(0, count: padding)
        }
        return padding
    }

    // MARK: Optional data and arrays

    /// Reads `T *name` (XDR optional-data): a bool followed by the value.
    @inlinable
    public mutating func readXDROptional<T>(_ body: (inout ByteBuffer) throws(XDRError) -> T) throws(XDRError) -> T? {
        guard try self.readXDRBool() else { return nil }
        return try body(&self)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDROptional<T>(_ value: T?, _ body: (inout ByteBuffer, T) -> Int) -> Int {
        guard let value else { return self.writeXDRBool(false) }
        return self.writeXDRBool(true) + body(&self, value)
    }

    /// Reads `T name<limit>` (a counted array).
    ///
    /// The count is checked against `limit` and against the bytes actually
    /// present (each element takes at least four bytes) before reserving.
    @inlinable
    public mutating func readXDRArray<T>(limit: Int, _ element: (inout ByteBuffer) throws(XDRError) -> T) throws(XDRError) -> [T] {
        let count = try self.readXDRUInt32()
        guard UInt64(count) <= UInt64(limit) else {
            throw XDRError.lengthLimitExceeded(length: count, limit: limit)
        }
        guard Int(count) <= self.readableBytes / 4 else {
            throw XDRError.truncated(needed: Int(count) * 4, available: self.readableBytes)
        }
        var result: [T] = []
        result.reserveCapacity(Int(count))
        for _ in 0..<count {
            result.append(try element(&self))
        }
        return result
    }

    @inlinable
    @discardableResult
    public mutating func writeXDRArray<C: Collection>(_ elements: C, _ body: (inout ByteBuffer, C.Element) -> Int) -> Int {
        var written = self.writeXDRUInt32(UInt32(elements.count))
        for element in elements {
            written += body(&self, element)
        }
        return written
    }
}
