import NIOCore
import Namespace
import XCTest

@testable import NFS4

/// Wire forms checked against bytes computed by hand from RFC 8881's XDR.
final class CodecTests: XCTestCase {
    func testBitmapEncodesAttributeNumbersAsBitsOfWords() {
        // type (1), size (4) and mounted_on_fileid (55 = word 1, bit 23).
        let bitmap = Bitmap4([1, 4, 55])
        var buffer = ByteBuffer()
        bitmap.encode(into: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), [0, 0, 0, 2, 0, 0, 0, 0x12, 0, 0x80, 0, 0])
        var decoded = buffer
        XCTAssertEqual(try Bitmap4(xdr: &decoded).bits, [1, 4, 55])
    }

    func testBitmapLongerThanEightWordsIsUndecodable() {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 9] + [UInt8](repeating: 0, count: 36))
        XCTAssertThrowsError(try Bitmap4(xdr: &buffer))
    }

    func testCompoundDecodesSequencePutrootfhGetattr() throws {
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
        XCTAssertEqual(String(buffer: compound.tag), "ab")
        XCTAssertEqual(compound.minorVersion, 1)
        XCTAssertEqual(
            compound.operations,
            [
                .sequence(
                    SEQUENCE4Args(
                        sessionID: SessionID4(clientID: 5, boot: 7, counter: 9), sequenceID: 4, slotID: 2, highestSlotID: 3, cacheThis: true
                    )
                ),
                .putrootfh,
                .getattr(Bitmap4([1, 4])),
            ]
        )
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testDecodingStopsAtModifyingUnknownAndUndecodableOperations() throws {
        func decode(_ operations: [UInt8]) throws -> [NFS4Operation] {
            var buffer = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3] + operations)
            return try COMPOUND4Args(xdr: &buffer).operations
        }
        // WRITE (38) then GETFH: the WRITE's arguments are not read.
        XCTAssertEqual(try decode([0, 0, 0, 38, 0xFF, 0xFF, 0, 0, 0, 10]), [.refused(.write, .readOnlyFileSystem)])
        // LAYOUTGET (50): not supported.
        XCTAssertEqual(try decode([0, 0, 0, 50]), [.refused(.layoutGet, .notSupported)])
        // Operation 99 does not exist.
        XCTAssertEqual(try decode([0, 0, 0, 24, 0, 0, 0, 99, 0, 0, 0, 10]), [.putrootfh, .illegal])
        // LOOKUP whose name runs past the end.
        XCTAssertEqual(try decode([0, 0, 0, 15, 0, 0, 0, 8, 0x61]), [.undecodable(.lookup)])
    }

    func testOtherMinorVersionsAreNotDecodedFurther() throws {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 24])
        let compound = try COMPOUND4Args(xdr: &buffer)
        XCTAssertEqual(compound.minorVersion, 2)
        XCTAssertEqual(compound.operations, [])
    }

    func testStateIDAndSessionIDWireForm() {
        var buffer = ByteBuffer()
        StateID4(seqid: 3, other: .init(boot: 0x0102_0304, counter: 0x0A)).encode(into: &buffer)
        SessionID4(clientID: 0x0000_0007_0000_0001, boot: 7, counter: 2).encode(into: &buffer)
        XCTAssertEqual(
            Array(buffer.readableBytesView),
            [0, 0, 0, 3, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0x0A] + [0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 2]
        )
    }

    func testComponentNamesAreCheckedAsRFC8881Section14Says() {
        XCTAssertEqual(try ComponentName4("movies").name(), "movies")
        XCTAssertThrowsError(try ComponentName4("").name()) { XCTAssertEqual($0 as? NFS4Status, .invalid) }
        XCTAssertThrowsError(try ComponentName4("..").name()) { XCTAssertEqual($0 as? NFS4Status, .badName) }
        XCTAssertThrowsError(try ComponentName4("a/b").name()) { XCTAssertEqual($0 as? NFS4Status, .badName) }
        XCTAssertThrowsError(try ComponentName4(bytes: ByteBuffer(bytes: [0x61, 0xFF])).name()) {
            XCTAssertEqual($0 as? NFS4Status, .invalid)
        }
        XCTAssertThrowsError(try ComponentName4(String(repeating: "x", count: 256)).name()) {
            XCTAssertEqual($0 as? NFS4Status, .nameTooLong)
        }
    }
}
