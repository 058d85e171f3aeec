import NFS3
import NIOCore
import Namespace
import Testing
import XDR

/// Parses "00 00 00 01 ..." (whitespace ignored) into bytes.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

func encoded(_ value: some XDREncodable) -> [UInt8] {
    var buffer = ByteBuffer()
    let written = value.encode(into: &buffer)
    #expect(written == buffer.readableBytes, "encode(into:) must report what it wrote")
    return Array(buffer.readableBytesView)
}

@Suite("XDR layouts")
struct XDRLayoutTests {
    @Test("a handle is P2F, format 1 and the big-endian FileID")
    func handleBytes() {
        let handle = NFS3FileHandle(fileID: FileID(rawValue: 0x0102_0304_0506_0708))
        #expect(handle.bytes == hex("50 32 46 01 01 02 03 04 05 06 07 08"))
        #expect(encoded(handle) == hex("00 00 00 0c 50 32 46 01 01 02 03 04 05 06 07 08"))
        #expect(NFS3FileHandle(bytes: ByteBuffer(bytes: handle.bytes)) == handle)
        #expect(RawFileHandle3(handle).handle == handle)
    }

    @Test("handles of the wrong length, magic or format are not ours")
    func malformedHandles() {
        let good = hex("50 32 46 01 01 02 03 04 05 06 07 08")
        #expect(NFS3FileHandle(bytes: ByteBuffer(bytes: good.dropLast())) == nil)
        #expect(NFS3FileHandle(bytes: ByteBuffer(bytes: good + [0])) == nil)
        #expect(NFS3FileHandle(bytes: ByteBuffer(bytes: hex("51 32 46 01 01 02 03 04 05 06 07 08"))) == nil)
        #expect(NFS3FileHandle(bytes: ByteBuffer(bytes: hex("50 32 46 02 01 02 03 04 05 06 07 08"))) == nil)
        #expect(NFS3FileHandle(bytes: ByteBuffer()) == nil)
    }

    @Test("nfs_fh3 decoding enforces NFS3_FHSIZE only")
    func rawHandleLimit() throws {
        var ok = ByteBuffer()
        ok.putOpaque([UInt8](repeating: 7, count: 64))
        let raw = try RawFileHandle3(xdr: &ok)
        #expect(raw.bytes.readableBytes == 64)
        #expect(raw.handle == nil)

        var tooLong = ByteBuffer()
        tooLong.putOpaque([UInt8](repeating: 7, count: 65))
        #expect(throws: XDRError.self) { try RawFileHandle3(xdr: &tooLong) }
    }

    @Test("fattr3 is 84 bytes in RFC 1813 order")
    func fattr3Layout() {
        let attributes = FileAttributes3(
            type: .regular, mode: 0o444, nlink: 1, uid: 1000, gid: 100,
            size: 0x1_0000_0001, used: 0x1_0000_1000, rdev: SpecData3(major: 0, minor: 0),
            fsid: 0xABCD, fileID: 0x0102_0304_0506_0708,
            atime: NFSTime3(seconds: 0x11, nanoseconds: 0x22),
            mtime: NFSTime3(seconds: 0x33, nanoseconds: 0x44),
            ctime: NFSTime3(seconds: 0x55, nanoseconds: 0x66)
        )
        let expected = hex(
            """
            00 00 00 01  00 00 01 24  00 00 00 01  00 00 03 e8  00 00 00 64
            00 00 00 01 00 00 00 01
            00 00 00 01 00 00 10 00
            00 00 00 00 00 00 00 00
            00 00 00 00 00 00 ab cd
            01 02 03 04 05 06 07 08
            00 00 00 11 00 00 00 22
            00 00 00 33 00 00 00 44
            00 00 00 55 00 00 00 66
            """
        )
        #expect(expected.count == FileAttributes3.encodedLength)
        #expect(encoded(attributes) == expected)
        #expect(encoded(PostOpAttributes(attributes)) == hex("00 00 00 01") + expected)
        #expect(encoded(PostOpAttributes.none) == hex("00 00 00 00"))
    }

    @Test("wcc_data: pre_op_attr then post_op_attr")
    func wccLayout() {
        let wcc = WeakCacheConsistency(
            before: WeakCacheAttributes3(size: 5, mtime: NFSTime3(seconds: 1, nanoseconds: 2), ctime: NFSTime3(seconds: 3, nanoseconds: 4)),
            after: .none
        )
        #expect(encoded(wcc) == hex("00000001 00000000 00000005 00000001 00000002 00000003 00000004 00000000"))
        #expect(encoded(WeakCacheConsistency.none) == hex("00000000 00000000"))
    }

    @Test("READDIR3resok with two entries, byte for byte")
    func readdirLayout() {
        let result = READDIR3Result.ok(
            directoryAttributes: .none,
            cookieVerifier: CookieVerifier3.current,
            entries: [
                DirectoryEntry3(fileID: 0x10, name: "a", cookie: 1),
                DirectoryEntry3(fileID: 0x20, name: "abcd", cookie: 0x20),
            ],
            isEndOfDirectory: true
        )
        let expected = hex(
            """
            00000000
            00000000
            70327066 73646972
            00000001  00000000 00000010  00000001 61000000  00000000 00000001
            00000001  00000000 00000020  00000004 61626364  00000000 00000020
            00000000
            00000001
            """
        )
        #expect(encoded(result) == expected)
        // The sizes READDIR budgets with match the bytes: 4 + 8 + 4 + name + padding + 8.
        #expect(DirectoryEntry3.encodedLength(nameLength: 1) == 28)
        #expect(DirectoryEntry3.encodedLength(nameLength: 4) == 28)
        #expect(DirectoryEntry3.encodedLength(nameLength: 5) == 32)
        // status + resok: 4 + (4 + 8 + 28 + 28 + 4 + 4)
        #expect(expected.count == 4 + 76)
    }

    @Test("entryplus3 carries post_op_attr and post_op_fh3 after the cookie")
    func readdirplusEntryLayout() {
        let entry = DirectoryEntryPlus3(
            fileID: 0x10, name: "xyz", cookie: 0x10, attributes: .none,
            handle: PostOpFileHandle3(NFS3FileHandle(fileID: FileID(rawValue: 0x10)))
        )
        let result = READDIRPLUS3Result.ok(directoryAttributes: .none, cookieVerifier: 0, entries: [entry], isEndOfDirectory: false)
        let expected = hex(
            """
            00000000 00000000 00000000 00000000
            00000001  00000000 00000010  00000003 78797a00  00000000 00000010
            00000000
            00000001 0000000c 50324601 00000000 00000010
            00000000 00000000
            """
        )
        #expect(encoded(result) == expected)
        #expect(entry.encodedLength == 4 + 8 + 8 + 8 + 4 + 20)
        #expect(entry.directoryInformationLength == 28)
    }

    @Test("nfstime3 clamps what 32 bits cannot hold")
    func timeClamping() {
        #expect(NFSTime3(Timestamp(seconds: -5, nanoseconds: 7)) == NFSTime3(seconds: 0, nanoseconds: 0))
        #expect(NFSTime3(Timestamp(seconds: 1 << 33)) == NFSTime3(seconds: .max, nanoseconds: 999_999_999))
        #expect(NFSTime3(Timestamp(seconds: 12, nanoseconds: 34)) == NFSTime3(seconds: 12, nanoseconds: 34))
    }

    @Test("sattr3 decodes every arm")
    func sattr3Decoding() throws {
        var full = ByteBuffer()
        full.putFullSattr3()
        let attributes = try SetAttributes3(xdr: &full)
        #expect(full.readableBytes == 0)
        #expect(attributes == SetAttributes3(mode: 0o644, uid: 1000, gid: 100, size: 0, atime: .clientTime(NFSTime3(seconds: 1, nanoseconds: 2)), mtime: .clientTime(NFSTime3(seconds: 3, nanoseconds: 4))))

        var empty = ByteBuffer()
        empty.putEmptySattr3()
        #expect(try SetAttributes3(xdr: &empty) == SetAttributes3())

        var serverTime = ByteBuffer()
        for value: UInt32 in [0, 0, 0, 0, 1, 1] { serverTime.putU32(value) }
        #expect(try SetAttributes3(xdr: &serverTime) == SetAttributes3(atime: .serverTime, mtime: .serverTime))

        var badTimeHow = ByteBuffer()
        for value: UInt32 in [0, 0, 0, 0, 3] { badTimeHow.putU32(value) }
        #expect(throws: XDRError.self) { try SetAttributes3(xdr: &badTimeHow) }
    }

    @Test("FileSystemError maps to one nfsstat3 each")
    func statusMapping() {
        #expect(NFS3Status(FileSystemError.noEntry) == .noEntry)
        #expect(NFS3Status(FileSystemError.notDirectory) == .notDirectory)
        #expect(NFS3Status(FileSystemError.isDirectory) == .isDirectory)
        #expect(NFS3Status(FileSystemError.invalidArgument) == .invalid)
        #expect(NFS3Status(FileSystemError.nameTooLong) == .nameTooLong)
        #expect(NFS3Status(FileSystemError.stale) == .stale)
        #expect(NFS3Status(FileSystemError.readOnly) == .readOnlyFileSystem)
        #expect(NFS3Status(FileSystemError.ioError("gone")) == .io)
        #expect(NFS3Status(FileSystemError.notReady) == .jukebox)
        #expect(NFS3Status.jukebox.rawValue == 10008)
        #expect(NFS3Status.badHandle.rawValue == 10001)
    }
}
