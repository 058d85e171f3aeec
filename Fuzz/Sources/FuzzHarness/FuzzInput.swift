import NIOCore

/// A fuzzer's input read as a sequence of small fields.
///
/// Reads past the end yield zeros and empty buffers, so every byte string
/// is a valid input and the fuzzer never wastes runs on "too short".
public struct FuzzInput {
    public private(set) var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.buffer = ByteBuffer(bytes: bytes)
    }

    public init(_ bytes: [UInt8]) {
        self.buffer = ByteBuffer(bytes: bytes)
    }

    public var isEmpty: Bool { self.buffer.readableBytes == 0 }

    public mutating func byte() -> UInt8 {
        self.buffer.readInteger(as: UInt8.self) ?? 0
    }

    public mutating func uint16() -> UInt16 {
        UInt16(self.byte()) << 8 | UInt16(self.byte())
    }

    /// A length-prefixed chunk (16-bit big-endian length); what is left when
    /// the length claims more than there is.
    public mutating func chunk() -> ByteBuffer {
        let length = Int(self.uint16())
        return self.buffer.readSlice(length: min(length, self.buffer.readableBytes))!
    }

    /// Everything not read yet.
    public mutating func rest() -> ByteBuffer {
        self.buffer.readSlice(length: self.buffer.readableBytes)!
    }
}

/// Writes inputs in the format `FuzzInput` reads (for seeds and tests).
public struct FuzzInputWriter {
    public private(set) var buffer = ByteBuffer()

    public init() {}

    public var bytes: [UInt8] { Array(self.buffer.readableBytesView) }

    public mutating func byte(_ value: UInt8) {
        self.buffer.writeInteger(value)
    }

    public mutating func chunk(_ bytes: ByteBuffer) {
        precondition(bytes.readableBytes <= Int(UInt16.max))
        self.buffer.writeInteger(UInt16(bytes.readableBytes), endianness: .big)
        self.buffer.writeImmutableBuffer(bytes)
    }

    public mutating func chunk(_ encode: (inout ByteBuffer) -> Void) {
        var bytes = ByteBuffer()
        encode(&bytes)
        self.chunk(bytes)
    }

    public mutating func rest(_ bytes: ByteBuffer) {
        self.buffer.writeImmutableBuffer(bytes)
    }
}

/// A property the code under test broke: the harness found a bug without a
/// crash (a round trip that changed a value, a reply that does not parse).
public struct FuzzPropertyViolation: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

@inline(__always)
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzPropertyViolation) {
    if !condition {
        throw FuzzPropertyViolation(message())
    }
}

/// Round trip of a value with an XDR form: encoding what was decoded and
/// decoding that again must give the same value, consuming every byte.
func fuzzRoundTrip<T: Equatable>(
    _ value: T, _ name: String, encode: (T, inout ByteBuffer) -> Void, decode: (inout ByteBuffer) throws -> T
) throws(FuzzPropertyViolation) {
    var encoded = ByteBuffer()
    encode(value, &encoded)
    try fuzzCheck(encoded.readableBytes % 4 == 0, "\(name): encoding is \(encoded.readableBytes) bytes, not a multiple of 4")
    let again: T
    do {
        again = try decode(&encoded)
    } catch {
        throw FuzzPropertyViolation("\(name): its own encoding does not decode: \(error)")
    }
    try fuzzCheck(again == value, "\(name): round trip changed the value: \(value) became \(again)")
    try fuzzCheck(encoded.readableBytes == 0, "\(name): \(encoded.readableBytes) bytes left after decoding its own encoding")
}
