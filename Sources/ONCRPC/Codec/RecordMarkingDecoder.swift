import CP2PFSSystem
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
///
/// A fragment over 64 KiB (a megabyte of file data) is gathered into a
/// buffer of its own as it comes, and the receive buffer is consumed, even
/// when the fragment arrived whole: a slice kept for long (a cached block)
/// must not pin a receive buffer holding other records. Leaving it in `ByteToMessageHandler`'s
/// cumulation instead would copy it again on every read: the cumulation's
/// storage is shared with the slices handed out earlier (which a block cache
/// keeps), so each append or compaction copies the whole storage.
public struct RecordMarkingDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// Fragments per record allowed before the connection counts as hostile.
    public static let maximumFragmentsPerRecord = 1 << 16

    /// Incomplete fragments longer than this are gathered on their own.
    static let gatheringThreshold = 64 * 1024

    /// A large fragment being gathered: what has arrived, how much is
    /// missing, and whether it ends its record.
    private struct PartialFragment {
        var bytes: ByteBuffer
        var missing: Int
        var isLast: Bool
    }

    public let maximumRecordSize: Int
    private var pendingRecord: ByteBuffer?
    private var pendingFragments = 0
    private var partialFragment: PartialFragment?

    public init(maximumRecordSize: Int) {
        self.maximumRecordSize = maximumRecordSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        if var partial = self.partialFragment {
            self.partialFragment = nil  // so `partial.bytes` is the only reference: appended in place
            let taken = min(partial.missing, buffer.readableBytes)
            partial.bytes.populateForWriting(taken)
            partial.bytes.writeImmutableBuffer(buffer.readSlice(length: taken)!)
            partial.missing -= taken
            guard partial.missing == 0 else {
                self.partialFragment = partial
                return nil
            }
            if let record = try self.received(fragment: partial.bytes, isLast: partial.isLast) {
                return record
            }
        }
        while let marker = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) {
            let isLast = marker & 0x8000_0000 != 0
            let length = Int(marker & 0x7FFF_FFFF)
            let accumulated = self.pendingRecord?.readableBytes ?? 0
            guard accumulated + length <= self.maximumRecordSize else {
                throw RecordMarkingError.recordTooLarge(claimed: accumulated + length, limit: self.maximumRecordSize)
            }
            if length > Self.gatheringThreshold {
                // Its size was checked above: allocate for it once.
                buffer.moveReaderIndex(forwardBy: 4)
                var bytes = ByteBufferAllocator().buffer(capacity: length)
                let available = min(buffer.readableBytes, length)
                bytes.populateForWriting(available)
                bytes.writeImmutableBuffer(buffer.readSlice(length: available)!)
                guard available == length else {
                    self.partialFragment = PartialFragment(bytes: bytes, missing: length - available, isLast: isLast)
                    return nil
                }
                if let record = try self.received(fragment: bytes, isLast: isLast) {
                    return record
                }
                continue
            }
            guard buffer.readableBytes >= 4 + length else {
                return nil
            }
            buffer.moveReaderIndex(forwardBy: 4)
            if let record = try self.received(fragment: buffer.readSlice(length: length)!, isLast: isLast) {
                return record
            }
        }
        return nil
    }

    /// Adds a whole fragment to the record it belongs to; the record, if
    /// this fragment ends it.
    private mutating func received(fragment: ByteBuffer, isLast: Bool) throws -> ByteBuffer? {
        if isLast {
            guard var record = self.pendingRecord else {
                return fragment
            }
            self.pendingRecord = nil
            self.pendingFragments = 0
            record.writeImmutableBuffer(fragment)
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
        self.partialFragment = nil
        self.pendingFragments = 0
        return nil
    }
}

extension ByteBuffer {
    /// Faults in, in one system call, the pages the next `count` bytes
    /// written will land in (`p2pfs_populate_for_writing`). A gathered
    /// fragment is mostly memory the process has never touched (a block
    /// cache filling up keeps every one); page by page, each 4 KiB costs a
    /// fault, which in a VM is the dearest part of receiving a block.
    fileprivate mutating func populateForWriting(_ count: Int) {
        guard count >= 16 * 1024 else { return }
        self.withUnsafeMutableWritableBytes { writable in
            _ = p2pfs_populate_for_writing(writable.baseAddress, UInt(min(count, writable.count)))
        }
    }
}
