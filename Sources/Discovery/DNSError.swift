/// Why a DNS message could not be decoded or encoded.
///
/// Every malformed or hostile packet maps to exactly one of these; the
/// decoder never traps and never allocates more than the packet's size
/// allows.
public enum DNSError: Error, Equatable, Sendable {
    /// The message ended before a field that needed `needed` bytes at `offset`.
    case truncated(offset: Int, needed: Int)
    /// A label length byte used the reserved `01`/`10` prefixes (RFC 6891 §5).
    case unsupportedLabelType(offset: Int, byte: UInt8)
    /// A label longer than 63 bytes (RFC 1035 §2.3.4).
    case labelTooLong(length: Int)
    /// An empty label inside a name (only the root label may be empty).
    case emptyLabel
    /// A name whose wire form exceeds 255 bytes (RFC 1035 §2.3.4).
    case nameTooLong(length: Int)
    /// A compression pointer that does not point strictly before the
    /// previous one: a loop or a forward reference (RFC 1035 §4.1.4).
    case badCompressionPointer(offset: Int, target: Int)
    /// RDATA whose length does not match what its type requires.
    case badRecordData(type: UInt16, reason: String)
    /// Bytes left over after the last record the header announced.
    case trailingBytes(count: Int)
    /// The encoded message would exceed the size given to the encoder.
    case messageTooLarge(size: Int, limit: Int)
}
