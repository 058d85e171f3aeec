import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

/// Names are bytes: READDIR and READDIRPLUS send them exactly, LOOKUP finds
/// a file by them, READ reads it.
@Suite("names that are not UTF-8")
struct NameBytesTests {
    static let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]  // "caf\xE9"
    static let high: [UInt8] = Array(0x80...0xFF)

    static func harness() async -> NFSHarness {
        let entries: [(CatalogEntry, [UInt8]?)] = [
            (CatalogEntry(path: "music", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755), nil),
            (CatalogEntry(path: "music/" + NameBytes.string(latin1), kind: .regular, size: 5, mtime: Timestamp(seconds: 2), mode: 0o644), Array("latin".utf8)),
            (CatalogEntry(path: "music/" + NameBytes.string(high), kind: .regular, size: 4, mtime: Timestamp(seconds: 2), mode: 0o644), Array("high".utf8)),
            (CatalogEntry(path: "music/café", kind: .regular, size: 4, mtime: Timestamp(seconds: 2), mode: 0o644), Array("utf8".utf8)),
        ]
        return NFSHarness(store: await TestNamespace.makeStore(entries: entries))
    }

    @Test("READDIR and READDIRPLUS list the exact bytes")
    func listing() async throws {
        let harness = await Self.harness()
        let expected: Set<[UInt8]> = [Array(".".utf8), Array("..".utf8), Self.latin1, Self.high, Array("café".utf8)]
        let plain = try harness.listAll("music", plus: false, count: 8192, maximumPages: 4)
        #expect(Set(plain.map(\.nameBytes)) == expected)
        let plus = try harness.listAll("music", plus: true, count: 8192, dircount: 8192, maximumPages: 4)
        #expect(Set(plus.map(\.nameBytes)) == expected)
        await harness.shutdown()
    }

    @Test("LOOKUP by the exact bytes finds the file, READ reads it")
    func lookupAndRead() async throws {
        let harness = await Self.harness()
        for (name, content) in [(Self.latin1, "latin"), (Self.high, "high"), (Array("café".utf8), "utf8")] {
            var reply = try harness.call(.lookup) {
                $0.putOpaque(NFSHarness.handle("music"))
                $0.putOpaque(name)
            }
            try #require(try reply.body.u32() == 0, "LOOKUP \(name)")
            let handle = try reply.body.opaque()
            var read = try harness.call(.read) {
                $0.putOpaque(handle)
                $0.putU64(0)
                $0.putU32(100)
            }
            try #require(try read.body.u32() == 0)
            _ = try read.body.postOpAttr()
            _ = try read.body.u32()
            _ = try read.body.bool()
            #expect(try read.body.opaque() == Array(content.utf8))
        }
        // One byte off names nothing.
        var missing = try harness.call(.lookup) {
            $0.putOpaque(NFSHarness.handle("music"))
            $0.putOpaque([0x63, 0x61, 0x66, 0xE8])
        }
        #expect(try missing.body.u32() == 2)
        await harness.shutdown()
    }
}
