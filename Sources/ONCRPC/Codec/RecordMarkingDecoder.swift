import NIOCore

/// Why the record-marking layer gave up on a connection.
public enum RecordMarkingError: Error, Equatable, Sendable {
    /// The fragments of one record add up to more than the configured limit.
    /// The limit is checked against each fragment header before any of its
    /// bytes are awaited, so a claimed 2 GB fragment never allocates.
    case recordTooLarge(claimed: Int, limit: Int)
    /// More fragments than any sane sender produces for one record.
    case tooManyFragments(limit: Int)
}

/// Splits a TCP byte stream into RPC records (RFC 5531 §11 record marking).
///
/// Each fragment starts with a 4-byte header: the top bit marks the last
/// fragment of a record, the other 31 bits give the fragment's length. A record
/// that arrives as one fragment is passed on as a slice of the receive buffer
/// without copying; multi-fragment records are joined.
public struct RecordMarkingDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// Fragments per record allowed before the connection counts as hostile.
    public static let maximumFragmentsPerRecord = 1 << 16

    /// Fragments longer than this get their buffer sized up front.
    static let presizeThreshold = 64 * 1024

    public let maximumRecordSize: Int
    private var pendingRecord: ByteBuffer?
    private var pendingFragments = 0

    public init(maximumRecordSize: Int) {
        self.maximumRecordSize = maximumRecordSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        while let marker = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) {
            let isLast = marker & 0x8000_0000 != 0
            let length = Int(marker & 0x7FFF_FFFF)
            let accumulated = self.pendingRecord?.readableBytes ?? 0
            guard accumulated + length <= self.maximumRecordSize else {
                throw RecordMarkingError.recordTooLarge(claimed: accumulated + length, limit: self.maximumRecordSize)
            }
            guard buffer.readableBytes >= 4 + length else {
                // Make room for the whole fragment now (its size was checked
                // above), so a megabyte reply arriving in pieces lands in one
                // allocation instead of a buffer doubled and copied again
                // and again.
                if length > Self.presizeThreshold {
                    buffer.reserveCapacity(minimumWritableBytes: 4 + length - buffer.readableBytes)
                }
                return nil
            }
            buffer.moveReaderIndex(forwardBy: 4)
            let fragment = buffer.readSlice(length: length)!

            if isLast {
                guard var record = self.pendingRecord else {
                    return fragment
                }
                record.writeImmutableBuffer(fragment)
                self.pendingRecord = nil
                self.pendingFragments = 0
                return record
            }

            self.pendingFragments += 1
            guard self.pendingFragments < Self.maximumFragmentsPerRecord else {
                throw RecordMarkingError.tooManyFragments(limit: Self.maximumFragmentsPerRecord)
            }
            if self.pendingRecord == nil {
                self.pendingRecord = fragment
            } else {
                self.pendingRecord!.writeImmutableBuffer(fragment)
            }
        }
        return nil
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        if let record = try self.decode(buffer: &buffer) {
            return record
        }
        // A record cut off by the peer closing is dropped: there is nobody left
        // to answer and nothing in it can be trusted.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        self.pendingRecord = nil
        self.pendingFragments = 0
        return nil
    }
}
