import NIOCore
import NIOEmbedded
import ONCRPC
import Testing

@Suite("Record marking decoder (RFC 5531 §11)")
struct RecordMarkingDecoderTests {
    static func makeChannel(limit: Int = 1 << 20) throws -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: limit)))
    }

    static func records(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        while let record = try channel.readInbound(as: ByteBuffer.self), result.count < 100_000 {
            result.append(bytes(record))
        }
        return result
    }

    @Test func singleFragmentRecord() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: record([1, 2, 3, 4, 5, 6, 7, 8])))
        #expect(try Self.records(channel) == [[1, 2, 3, 4, 5, 6, 7, 8]])
        #expect(try channel.finish().isClean)
    }

    @Test func emptyRecord() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: recordMark(0)))
        #expect(try Self.records(channel) == [[]])
        #expect(try channel.finish().isClean)
    }

    @Test func multiFragmentRecordIsJoined() throws {
        let channel = try Self.makeChannel()
        let stream = recordMark(3, last: false) + [0x61, 0x62, 0x63] + recordMark(0, last: false) + recordMark(2) + [0x64, 0x65]
        try channel.writeInbound(ByteBuffer(bytes: stream))
        #expect(try Self.records(channel) == [Array("abcde".utf8)])
        #expect(try channel.finish().isClean)
    }

    @Test func byteByByteDelivery() throws {
        let channel = try Self.makeChannel()
        let stream = recordMark(5, last: false) + [1, 2, 3, 4, 5] + recordMark(3) + [6, 7, 8] + record([9])
        for byte in stream {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try Self.records(channel) == [[1, 2, 3, 4, 5, 6, 7, 8], [9]])
        #expect(try channel.finish().isClean)
    }

    @Test func twoRecordsInOneBuffer() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: record([1, 2, 3, 4]) + record([5, 6, 7, 8])))
        #expect(try Self.records(channel) == [[1, 2, 3, 4], [5, 6, 7, 8]])
        #expect(try channel.finish().isClean)
    }

    /// A megabyte fragment (a forwarded READ reply) arriving in uneven
    /// pieces, with the next records right behind it in the last piece.
    @Test func largeFragmentArrivingInPiecesIsGathered() throws {
        let channel = try Self.makeChannel(limit: 2 << 20)
        let large = (0..<(1 << 20) + 3).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let stream = record(large) + record([1, 2, 3, 4]) + recordMark(100_000, last: false) + [UInt8](repeating: 9, count: 100_000)
            + record([5, 6, 7, 8])
        var position = 0
        var piece = 1
        while position < stream.count {
            let end = min(stream.count, position + piece)
            try channel.writeInbound(ByteBuffer(bytes: stream[position..<end]))
            position = end
            piece = piece * 3 + 1000  // 1, 1003, 4009, ... bytes
        }
        let records = try Self.records(channel)
        #expect(records.count == 3)
        #expect(records.first == large)
        #expect(records.dropFirst().first == [1, 2, 3, 4])
        #expect(records.last == [UInt8](repeating: 9, count: 100_000) + [5, 6, 7, 8])
        #expect(try channel.finish().isClean)
    }

    /// A large fragment gets a buffer of its own, sized for it, even when
    /// it arrived in one read: a record kept for long (a cached block) must
    /// not pin the whole receive buffer it came in.
    @Test func largeFragmentDoesNotShareTheReceiveBuffer() throws {
        var decoder = RecordMarkingDecoder(maximumRecordSize: 1 << 20)
        let body = [UInt8](repeating: 7, count: 200_000)
        var buffer = ByteBuffer(bytes: record(body) + record([1, 2, 3, 4]))
        buffer.reserveCapacity(buffer.readableBytes + 300_000)  // a large receive buffer with room to spare
        let large = try #require(try decoder.decode(buffer: &buffer))
        #expect(bytes(large) == body)
        // Its own storage (NIO rounds capacities up to a power of two), not
        // the 500 KB receive buffer.
        #expect(large.storageCapacity == 262_144)
        let small = try #require(try decoder.decode(buffer: &buffer))
        #expect(bytes(small) == [1, 2, 3, 4])
        #expect(buffer.readableBytes == 0)
    }

    @Test func largeFragmentCutOffAtEOFIsDropped() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: record([1]) + recordMark(100_000) + [UInt8](repeating: 1, count: 70_000)))
        #expect(try Self.records(channel) == [[1]])
        #expect(try channel.finish().isClean)
    }

    /// A header claiming 2 GB fails on its own four bytes: the decoder never
    /// waits for (or reserves room for) the fragment.
    @Test func oversizedFragmentHeaderThrowsBeforeAnyBody() throws {
        let channel = try Self.makeChannel(limit: 1 << 20)
        #expect(throws: RecordMarkingError.recordTooLarge(claimed: 0x7FFF_FFFF, limit: 1 << 20)) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        }
        _ = try? channel.finish()
    }

    @Test func fragmentsAddingUpOverTheLimitThrow() throws {
        let channel = try Self.makeChannel(limit: 1000)
        let first = recordMark(600, last: false) + [UInt8](repeating: 1, count: 600)
        try channel.writeInbound(ByteBuffer(bytes: first))
        #expect(try Self.records(channel).isEmpty)
        #expect(throws: RecordMarkingError.recordTooLarge(claimed: 1200, limit: 1000)) {
            try channel.writeInbound(ByteBuffer(bytes: recordMark(600)))
        }
        _ = try? channel.finish()
    }

    @Test func recordExactlyAtTheLimitIsAccepted() throws {
        let channel = try Self.makeChannel(limit: 8)
        try channel.writeInbound(ByteBuffer(bytes: recordMark(4, last: false) + [1, 2, 3, 4] + recordMark(4) + [5, 6, 7, 8]))
        #expect(try Self.records(channel) == [[1, 2, 3, 4, 5, 6, 7, 8]])
        #expect(try channel.finish().isClean)
    }

    @Test func tooManyFragmentsThrow() throws {
        let limit = RecordMarkingDecoder.maximumFragmentsPerRecord
        // One fewer than the limit of non-final fragments is still a record.
        let channel = try Self.makeChannel()
        var stream = ByteBuffer()
        for _ in 0..<(limit - 1) {
            stream.writeBytes(recordMark(0, last: false))
        }
        stream.writeBytes(record([42]))
        try channel.writeInbound(stream)
        #expect(try Self.records(channel) == [[42]])
        #expect(try channel.finish().isClean)

        let hostile = try Self.makeChannel()
        var flood = ByteBuffer()
        for _ in 0..<limit {
            flood.writeBytes(recordMark(0, last: false))
        }
        #expect(throws: RecordMarkingError.tooManyFragments(limit: limit)) {
            try hostile.writeInbound(flood)
        }
        _ = try? hostile.finish()
    }

    @Test func truncatedRecordAtEOFIsDropped() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: record([1, 2, 3, 4]) + recordMark(8) + [1, 2, 3]))
        #expect(try Self.records(channel) == [[1, 2, 3, 4]])
        let leftOver = try channel.finish()
        #expect(leftOver.isClean)
    }

    @Test func unfinishedMultiFragmentRecordAtEOFIsDropped() throws {
        let channel = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: recordMark(2, last: false) + [1, 2] + [0x80]))
        #expect(try Self.records(channel).isEmpty)
        #expect(try channel.finish().isClean)
    }
}

@Suite("Record marking encoder")
struct RecordMarkingEncoderTests {
    @Test func writesOneLastFragmentWithTheLength() throws {
        let channel = EmbeddedChannel(handler: RecordMarkingEncoder())
        try channel.writeOutbound(RPCRecord(head: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        #expect(try drainOutbound(channel) == recordMark(8) + [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try channel.finish().isClean)
    }

    @Test func usesHeadroomAndPadsBulkData() throws {
        let channel = EmbeddedChannel(handler: RecordMarkingEncoder())
        var head = ByteBuffer()
        head.writeBytes([0xEE, 0xEE, 0xEE, 0xEE])
        head.writeBytes(words(3))
        head.moveReaderIndex(forwardBy: 4)
        try channel.writeOutbound(RPCRecord(head: head, bulk: .byteBuffer(ByteBuffer(bytes: [7, 8, 9]))))
        #expect(try drainOutbound(channel) == recordMark(8) + words(3) + [7, 8, 9, 0])
        #expect(try channel.finish().isClean)
    }
}
