import NFS3
import NIOCore
import Namespace
import ProgramTestSupport
import Testing

/// CREATE in a read-only namespace: nothing is created, but an UNCHECKED
/// create of a regular file that is there already opens it, as newer Linux
/// clients expect of `open(O_CREAT)` (they send it before any LOOKUP).
@Suite("CREATE of a name that exists")
struct CreateTests {
    /// UNCHECKED with the `sattr3` Linux sends for `open(O_CREAT, 0644)`:
    /// a mode, nothing else.
    static func unchecked(_ name: String, in directory: String, size: UInt64? = nil) -> (inout ByteBuffer) -> Void {
        { buffer in
            buffer.putOpaque(NFSHarness.handle(directory))
            buffer.putString(name)
            buffer.putU32(0)  // UNCHECKED
            buffer.putU32(1); buffer.putU32(0o644)
            buffer.putU32(0)
            buffer.putU32(0)
            if let size {
                buffer.putU32(1); buffer.putU64(size)
            } else {
                buffer.putU32(0)
            }
            buffer.putU32(0)
            buffer.putU32(0)
        }
    }

    @Test("UNCHECKED of an existing regular file answers that file, unchanged")
    func uncheckedExistingFile() async throws {
        let harness = await NFSHarness.standard()
        let before = try harness.attributes(of: "movies/KillBill.mkv")
        let directory = try harness.attributes(of: "movies")
        var reply = try harness.call(.create, Self.unchecked("KillBill.mkv", in: "movies"))
        #expect(try reply.body.u32() == 0)
        #expect(try reply.body.bool(), "post_op_fh3 carries the handle")
        #expect(try reply.body.opaque() == NFSHarness.handle("movies/KillBill.mkv"), "the handle LOOKUP gives")
        #expect(try reply.body.postOpAttr() == before)
        let wcc = try reply.body.wcc()
        #expect(wcc.before == ClientWCCAttributes(size: directory.size, mtime: directory.mtime, ctime: directory.ctime))
        #expect(wcc.after == directory)
        #expect(reply.body.readableBytes == 0)
        #expect(try harness.attributes(of: "movies/KillBill.mkv") == before, "the mode asked for is not applied")
        await harness.shutdown()
    }

    @Test(
        "anything else is ROFS: a new name, a truncation, a directory, GUARDED and EXCLUSIVE",
        arguments: ["new", "truncate", "directory", "guarded", "exclusive"]
    )
    func refused(_ form: String) async throws {
        let harness = await NFSHarness.standard()
        let file = try harness.attributes(of: "movies/KillBill.mkv")
        var reply = try harness.call(.create) { buffer in
            switch form {
            case "new": Self.unchecked("Jackie Brown.mkv", in: "movies")(&buffer)
            case "truncate": Self.unchecked("KillBill.mkv", in: "movies", size: 0)(&buffer)
            case "directory": Self.unchecked("movies", in: "")(&buffer)
            case "guarded":
                buffer.putOpaque(NFSHarness.handle("movies"))
                buffer.putString("KillBill.mkv")
                buffer.putU32(1)  // GUARDED
                buffer.putEmptySattr3()
            default:
                buffer.putOpaque(NFSHarness.handle("movies"))
                buffer.putString("KillBill.mkv")
                buffer.putU32(2)  // EXCLUSIVE
                buffer.putU64(7)
            }
        }
        #expect(try reply.body.u32() == 30)
        _ = try reply.body.wcc()
        #expect(reply.body.readableBytes == 0)
        #expect(try harness.attributes(of: "movies/KillBill.mkv") == file)
        await harness.shutdown()
    }

    @Test("a bad directory handle is still reported as such")
    func badHandle() async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(.create) {
            $0.putOpaque([9, 9, 9])
            $0.putString("KillBill.mkv")
            $0.putU32(0)
            $0.putEmptySattr3()
        }
        #expect(try reply.body.u32() == 10001)
        await harness.shutdown()
    }
}
