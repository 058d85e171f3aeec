import NIOCore
import Namespace
import Testing

import ProgramTestSupport

/// NFSv4.1 with names that are not UTF-8: LOOKUP finds them by their bytes,
/// READ reads them, READDIR lists their exact bytes.
@Suite struct NFS4NameBytesTests {
    static let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]  // "caf\xE9"

    static func harness() async -> NFS4Harness {
        let entries: [(CatalogEntry, [UInt8]?)] = [
            (CatalogEntry(path: "music", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755), nil),
            (CatalogEntry(path: "music/" + NameBytes.string(latin1), kind: .regular, size: 5, mtime: Timestamp(seconds: 2), mode: 0o644), Array("latin".utf8)),
            (CatalogEntry(path: "music/café", kind: .regular, size: 4, mtime: Timestamp(seconds: 2), mode: 0o644), Array("utf8".utf8)),
        ]
        return NFS4Harness(store: await TestNamespace.makeStore(entries: entries))
    }

    @Test func lookupByBytesAndRead() async throws {
        let harness = await Self.harness()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.add(ClientCompound.putrootfh)
        compound.add(ClientCompound.lookup) { $0.putString("music") }
        compound.add(ClientCompound.lookup) { $0.putOpaque(Self.latin1) }
        compound.add(ClientCompound.read) { buffer in
            buffer.writeRepeatingByte(0, count: 16)  // anonymous stateid
            buffer.putU64(0)
            buffer.putU32(100)
        }
        var reply = try harness.call(compound)
        #expect(reply.status == Status4.ok)
        #expect(try reply.next() == (ClientCompound.sequence, Status4.ok))
        reply.rest.moveReaderIndex(forwardBy: 16 + 5 * 4)
        for opcode in [ClientCompound.putrootfh, ClientCompound.lookup, ClientCompound.lookup, ClientCompound.read] {
            #expect(try reply.next() == (opcode, Status4.ok))
        }
        #expect(try reply.rest.u32() == 1)  // eof
        #expect(try reply.rest.opaque() == Array("latin".utf8))
    }

    @Test func readdirListsTheExactBytes() async throws {
        let harness = await Self.harness()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("music")
        compound.add(ClientCompound.readdir) { buffer in
            buffer.putU64(0)
            buffer.putU64(0)
            buffer.putU32(8192)
            buffer.putU32(8192)
            buffer.putU32(0)  // no attributes
        }
        var reply = try harness.call(compound)
        #expect(try reply.next() == (ClientCompound.sequence, Status4.ok))
        reply.rest.moveReaderIndex(forwardBy: 16 + 5 * 4)
        #expect(try reply.next() == (ClientCompound.putfh, Status4.ok))
        #expect(try reply.next() == (ClientCompound.readdir, Status4.ok))
        _ = try reply.rest.u64()  // verifier
        var names: Set<[UInt8]> = []
        while try reply.rest.u32() == 1 {
            _ = try reply.rest.u64()  // cookie
            names.insert(try reply.rest.opaque())
            let words = try reply.rest.u32()  // attribute mask, then the attributes
            for _ in 0..<words { _ = try reply.rest.u32() }
            _ = try reply.rest.opaque()
        }
        #expect(names == [Self.latin1, Array("café".utf8)])
    }
}
