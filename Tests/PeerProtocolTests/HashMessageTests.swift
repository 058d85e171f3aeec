import Namespace
import NIOCore
import PeerProtocol
import Testing
import XDR

/// HASH on the wire (`Docs/p2pfs_peer.x`: hash_args, hash_res).
@Suite struct HashMessageTests {
    static let arguments = HashArguments(
        path: "a/b", version: FileVersion(size: 0x0102_0304_0506_0708, mtime: Timestamp(seconds: 0x1122_3344_5566_7788, nanoseconds: 999))
    )
    static let argumentBytes: [UInt8] = [
        0, 0, 0, 3, 0x61, 0x2F, 0x62, 0,  // path "a/b", padded
        1, 2, 3, 4, 5, 6, 7, 8,  // size
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  // mtime seconds
        0, 0, 0x03, 0xE7,  // mtime nanoseconds
    ]

    @Test func argumentsEncodeByteExact() throws {
        var buffer = ByteBuffer()
        let written = Self.arguments.encode(into: &buffer)
        #expect(Array(buffer.readableBytesView) == Self.argumentBytes)
        #expect(written == Self.argumentBytes.count)
        var input = ByteBuffer(bytes: Self.argumentBytes)
        #expect(try HashArguments(xdr: &input) == Self.arguments)
        #expect(input.readableBytes == 0)
    }

    @Test func procedureSevenIsHash() {
        #expect(PeerProcedure.hash.rawValue == 7)
    }

    @Test func resultsEncodeByteExact() throws {
        let digest = ContentHash(bytes: (0..<32).map { UInt8($0) })!
        var ok = ByteBuffer()
        HashResult.ok(digest).encode(into: &ok)
        #expect(Array(ok.readableBytesView) == [0, 0, 0, 0] + (0..<32).map { UInt8($0) })
        #expect(try HashResult(xdr: &ok) == .ok(digest))

        var changed = ByteBuffer()
        HashResult.failed(.changed).encode(into: &changed)
        #expect(Array(changed.readableBytesView) == [0, 0, 0x27, 0x11])
        #expect(try HashResult(xdr: &changed) == .failed(.changed))
    }

    @Test func malformedMessagesAreRefused() {
        var truncated = ByteBuffer(bytes: [0, 0, 0, 0] + [UInt8](repeating: 9, count: 31))
        #expect(throws: XDRError.self) { try HashResult(xdr: &truncated) }
        var badNanoseconds = ByteBuffer(bytes: Self.argumentBytes.dropLast(4) + [0x3B, 0x9A, 0xCA, 0x00])
        #expect(throws: XDRError.self) { try HashArguments(xdr: &badNanoseconds) }
        var longPath = ByteBuffer()
        longPath.writeXDRString(String(repeating: "x", count: PeerLimits.maximumPathLength + 1))
        #expect(throws: XDRError.self) { try HashArguments(xdr: &longPath) }
        var unknownStatus = ByteBuffer(bytes: [0, 0, 0, 99])
        #expect(throws: XDRError.self) { try HashResult(xdr: &unknownStatus) }
    }

    @Test func hashErrorsMapToPeerStatuses() {
        #expect(PeerStatus(ContentHashError.changed(FileVersion(size: 1, mtime: .zero))) == .changed)
        #expect(PeerStatus(ContentHashError.file(.stale)) == .stale)
        #expect(PeerStatus(ContentHashError.file(.noEntry)) == .noEntry)
        #expect(PeerStatus(ContentHashError.file(.isDirectory)) == .isDirectory)
        #expect(PeerStatus(ContentHashError.file(.ioError("disk"))) == .io)
    }
}
