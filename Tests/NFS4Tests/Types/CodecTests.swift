import NIOCore
import Namespace
import Testing
import XDR

@testable import NFS4

/// Wire forms checked against bytes computed by hand from RFC 8881's XDR.
@Suite struct CodecTests {
    @Test func bitmapEncodesAttributeNumbersAsBitsOfWords() throws {
        // type (1), size (4) and mounted_on_fileid (55 = word 1, bit 23).
        let bitmap = Bitmap4([1, 4, 55])
        var buffer = ByteBuffer()
        bitmap.encode(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 2, 0, 0, 0, 0x12, 0, 0x80, 0, 0])
        var decoded = buffer
        #expect(try Bitmap4(xdr: &decoded).bits == [1, 4, 55])
    }

    @Test func bitmapLongerThanEightWordsIsUndecodable() {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 9] + [UInt8](repeating: 0, count: 36))
        #expect(throws: XDRError.self) { try Bitmap4(xdr: &buffer) }
    }

    @Test func compoundDecodesSequencePutrootfhGetattr() throws {
        let bytes: [UInt8] = [
            0, 0, 0, 2, 0x61, 0x62, 0, 0,  // tag "ab"
            0, 0, 0, 1,  // minorversion 1
            0, 0, 0, 3,  // three operations
            0, 0, 0, 53,  // SEQUENCE
            0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 9,  // sessionid: client 5, boot 7, counter 9
            0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1,  // seqid 4, slot 2, highest 3, cachethis
            0, 0, 0, 24,  // PUTROOTFH
            0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0x12,  // GETATTR {type, size}
        ]
        var buffer = ByteBuffer(bytes: bytes)
        let compound = try COMPOUND4Args(xdr: &buffer)
        #expect(String(buffer: compound.tag) == "ab")
        #expect(compound.minorVersion == 1)
        #expect(
            compound.operations == [
                .sequence(
                    SEQUENCE4Args(
                        sessionID: SessionID4(clientID: 5, boot: 7, counter: 9), sequenceID: 4, slotID: 2, highestSlotID: 3, cacheThis: true
                    )
                ),
                .putrootfh,
                .getattr(Bitmap4([1, 4])),
            ]
        )
        #expect(buffer.readableBytes == 0)
    }

    @Test func decodingStopsAtModifyingUnknownAndUndecodableOperations() throws {
        func decode(_ operations: [UInt8]) throws -> [NFS4Operation] {
            var buffer = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3] + operations)
            return try COMPOUND4Args(xdr: &buffer).operations
        }
        // WRITE (38) then GETFH: the WRITE's arguments are not read.
        #expect(try decode([0, 0, 0, 38, 0xFF, 0xFF, 0, 0, 0, 10]) == [.refused(.write, .readOnlyFileSystem)])
        // LAYOUTGET (50): not supported.
        #expect(try decode([0, 0, 0, 50]) == [.refused(.layoutGet, .notSupported)])
        // Operation 99 does not exist.
        #expect(try decode([0, 0, 0, 24, 0, 0, 0, 99, 0, 0, 0, 10]) == [.putrootfh, .illegal])
        // LOOKUP whose name runs past the end.
        #expect(try decode([0, 0, 0, 15, 0, 0, 0, 8, 0x61]) == [.undecodable(.lookup)])
    }

    @Test func otherMinorVersionsAreNotDecodedFurther() throws {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 24])
        let compound = try COMPOUND4Args(xdr: &buffer)
        #expect(compound.minorVersion == 2)
        #expect(compound.operations == [])
    }

    @Test func stateIDAndSessionIDWireForm() {
        var buffer = ByteBuffer()
        StateID4(seqid: 3, other: .init(boot: 0x0102_0304, counter: 0x0A)).encode(into: &buffer)
        SessionID4(clientID: 0x0000_0007_0000_0001, boot: 7, counter: 2).encode(into: &buffer)
        #expect(
            Array(buffer.readableBytesView)
                == [0, 0, 0, 3, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0x0A] + [0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 2]
        )
    }

    @Test func componentNamesAreCheckedAsRFC8881Section14Says() throws {
        #expect(try ComponentName4("movies").name() == "movies")
        #expect(throws: NFS4Status.invalid) { try ComponentName4("").name() }
        #expect(throws: NFS4Status.badName) { try ComponentName4("..").name() }
        #expect(throws: NFS4Status.badName) { try ComponentName4("a/b").name() }
        // Names are bytes: one that is not UTF-8 is a name like any other.
        #expect(NameBytes.bytes(try ComponentName4(bytes: ByteBuffer(bytes: [0x61, 0xFF])).name()) == [0x61, 0xFF])
        #expect(throws: NFS4Status.nameTooLong) { try ComponentName4(String(repeating: "x", count: 256)).name() }
    }
}
