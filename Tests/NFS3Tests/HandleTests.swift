import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

@Suite("File handle resolution")
struct HandleTests {
    func getattrStatus(_ harness: NFSHarness, _ handle: [UInt8]) throws -> UInt32 {
        var reply = try harness.call(.getattr) { $0.putOpaque(handle) }
        let status = try reply.body.u32()
        #expect(status == 0 || reply.body.readableBytes == 0, "a failed GETATTR carries nothing after the status")
        return status
    }

    @Test("handles that are not ours are BADHANDLE")
    func badHandles() async throws {
        let harness = await NFSHarness.standard()
        let good = NFSHarness.handle("")
        #expect(try self.getattrStatus(harness, good) == 0)
        #expect(try self.getattrStatus(harness, Array(good.dropLast())) == 10001)
        #expect(try self.getattrStatus(harness, good + [0]) == 10001)
        #expect(try self.getattrStatus(harness, [UInt8(ascii: "X")] + good.dropFirst()) == 10001)
        var wrongFormat = good
        wrongFormat[3] = 2
        #expect(try self.getattrStatus(harness, wrongFormat) == 10001)
        #expect(try self.getattrStatus(harness, []) == 10001)
        #expect(try self.getattrStatus(harness, [UInt8](repeating: 0, count: 64)) == 10001)
        await harness.shutdown()
    }

    @Test("a handle longer than NFS3_FHSIZE is garbage")
    func oversizedHandle() async throws {
        let harness = await NFSHarness.standard()
        #expect(throws: CallFailure.garbageArguments) { try harness.call(.getattr) { $0.putOpaque([UInt8](repeating: 0, count: 65)) } }
        await harness.shutdown()
    }

    @Test("a handle of something gone is STALE")
    func staleHandle() async throws {
        let harness = await NFSHarness.standard()
        #expect(try self.getattrStatus(harness, NFSHarness.handle("movies/Gone.mkv")) == 70)
        // LOOKUP and READDIR report it too, without directory attributes.
        var lookup = try harness.call(.lookup) {
            $0.putOpaque(NFSHarness.handle("gone"))
            $0.putString("x")
        }
        #expect(try lookup.body.u32() == 70)
        #expect(try lookup.body.postOpAttr() == nil)
        #expect(lookup.body.readableBytes == 0)
        await harness.shutdown()
    }

    @Test("while the namespace is still being gathered, unknown handles are JUKEBOX")
    func jukeboxBeforeReady() async throws {
        let store = await TestNamespace.makeStore(ready: false)
        let harness = NFSHarness(store: store)
        #expect(try self.getattrStatus(harness, NFSHarness.handle("movies/Gone.mkv")) == 10008)
        #expect(try self.getattrStatus(harness, NFSHarness.handle("movies/KillBill.mkv")) == 0)
        #expect(try self.getattrStatus(harness, [1, 2, 3]) == 10001)
        store.markReady()
        #expect(try self.getattrStatus(harness, NFSHarness.handle("movies/Gone.mkv")) == 70)
        await harness.shutdown()
    }

    /// Handle bytes written down once (from the FNV-1a + finalizer hash of
    /// `FileID`) and never recomputed here: a kernel that stayed mounted
    /// across a restart or an upgrade holds exactly these, so a seeded,
    /// per-process or changed hash must fail this test.
    static let goldenHandles: [String: [UInt8]] = [
        "": [0x50, 0x32, 0x46, 0x01, 0xEF, 0xD0, 0x1F, 0x60, 0xBA, 0x99, 0x29, 0x26],
        "movies": [0x50, 0x32, 0x46, 0x01, 0x17, 0xE5, 0x74, 0x96, 0xD5, 0xC5, 0x3D, 0x00],
        "movies/KillBill.mkv": [0x50, 0x32, 0x46, 0x01, 0xD1, 0x2E, 0x71, 0xD7, 0x2B, 0x03, 0xD8, 0x52],
    ]

    @Test("handles survive a restart: every store issues the same, fixed handle bytes and fileids")
    func stableAcrossRestarts() async throws {
        let first = await NFSHarness.standard()
        let second = await NFSHarness.standard()
        let golden = Self.goldenHandles
        for harness in [first, second] {
            var reply = try harness.call(.lookup) {
                $0.putOpaque(golden["movies"]!)
                $0.putString("KillBill.mkv")
            }
            #expect(try reply.body.u32() == 0)
            #expect(try reply.body.opaque() == golden["movies/KillBill.mkv"]!)
            #expect(try reply.body.postOpAttr()?.fileid == 0xD12E_71D7_2B03_D852)
            #expect(try self.getattrStatus(harness, golden[""]!) == 0)
        }
        await first.shutdown()
        await second.shutdown()
    }
}
