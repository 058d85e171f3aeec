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
