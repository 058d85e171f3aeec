import NIOCore
import Namespace
import Testing

@testable import NFS4
import ProgramTestSupport

@Suite struct FileAttributes4Tests {
    static let fileSystem = FileSystemAttributes4(
        fsid: 0xABCD_0000_1234, uid: 1000, gid: 100, leaseSeconds: 90, maximumRead: 1 << 20, maximumWrite: 1 << 20,
        filesTotal: 8, spaceTotal: 10_018
    )

    func node(_ path: String) async -> NamespaceNode {
        let store = await TestNamespace.makeStore()
        defer { Task { await store.shutdown() } }
        return try! store.current.lookup(path: path)
    }

    func encoded(_ path: String, _ bits: [Int]) async -> [UInt8] {
        let attributes = FileAttributes4(node: await self.node(path), fileSystem: Self.fileSystem)
        var buffer = ByteBuffer()
        attributes.encode(Bitmap4(bits), into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func typeAndSizeOfARegularFile() async {
        // fattr4 { bitmap4 {0x12}, attrlist4 <12> { NF4REG, 10000 as uint64 } }
        let bytes = await self.encoded("movies/KillBill.mkv", [1, 4])
        #expect(bytes == [0, 0, 0, 1, 0, 0, 0, 0x12, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10])
    }

    @Test func ownerModeAndTimesOfADirectory() async {
        // mode (33), numlinks (35), owner (36), owner_group (37): word 1
        // bits 1, 3, 4, 5 = 0x3A; time_modify (53): word 1 bit 21.
        let bytes = await self.encoded("movies", [33, 35, 36, 37, 53])
        var expected: [UInt8] = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0x20, 0, 0x3A]
        let values: [UInt8] =
            [0, 0, 0x01, 0x6D]  // mode 0555
            + [0, 0, 0, 2]  // numlinks: no subdirectories
            + [0, 0, 0, 4, 0x31, 0x30, 0x30, 0x30]  // "1000"
            + [0, 0, 0, 3, 0x31, 0x30, 0x30, 0]  // "100"
        #expect(Array(bytes.prefix(12)) == expected)
        expected = [0, 0, 0, UInt8(values.count + 12)] + values
        #expect(Array(bytes[12..<(12 + 4 + values.count)]) == expected)
        // time_modify: nfstime4 {int64 seconds, uint32 nseconds}; 12 bytes.
        #expect(bytes.count == 12 + 4 + values.count + 12)
    }

    @Test func unsupportedAttributesAreLeftOutOfTheMask() async {
        // acl (12) and hidden (25) are not supported: only type comes back.
        let bytes = await self.encoded("docs", [1, 12, 25])
        #expect(bytes == [0, 0, 0, 1, 0, 0, 0, 0x02, 0, 0, 0, 4, 0, 0, 0, 2])
    }

    @Test func fileHandleAttributeIsTheNFSv3Handle() async {
        let bytes = await self.encoded("docs/readme.txt", [19])
        #expect(Array(bytes.prefix(12)) == [0, 0, 0, 1, 0, 0x08, 0, 0, 0, 0, 0, 16])
        #expect(Array(bytes[12...]) == [0, 0, 0, 12] + NFS4Harness.handle("docs/readme.txt"))
    }

    @Test func supportedAttributesListsWhatTheLinuxClientAsksFor() {
        let supported = Attribute4.supported
        // RFC 8881's REQUIRED attributes (0-12 except acl, 19) and the
        // RECOMMENDED ones the Linux client requests in its probes.
        for bit in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 19, 20, 21, 22, 23, 27, 29, 30, 31, 33, 35, 36, 37, 41, 42, 43, 44, 45, 47, 51, 52, 53, 55, 75] {
            #expect(supported.contains(bit), "attribute \(bit)")
        }
        #expect(!supported.contains(48), "time_access_set is write-only")
        #expect(!supported.contains(12), "no ACLs")
    }
}
