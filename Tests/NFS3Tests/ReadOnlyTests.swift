import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

/// The eleven modifying procedures: each decodes its arguments and answers
/// NFS3ERR_ROFS with wcc_data that says nothing changed.
@Suite("Modifying procedures answer ROFS")
struct ReadOnlyTests {
    /// Arguments naming a directory (or file, for SETATTR/WRITE/COMMIT/LINK) by handle.
    static func arguments(_ procedure: NFS3Procedure, handle: [UInt8]) -> (inout ByteBuffer) -> Void {
        { buffer in
            func diropargs(_ name: String) {
                buffer.putOpaque(handle)
                buffer.putString(name)
            }
            switch procedure {
            case .setattr:
                buffer.putOpaque(handle)
                buffer.putFullSattr3()
                buffer.putU32(1)  // guard
                buffer.putU32(5)
                buffer.putU32(6)
            case .write:
                buffer.putOpaque(handle)
                buffer.putU64(0)
                buffer.putU32(5)
                buffer.putU32(2)  // FILE_SYNC
                buffer.putOpaque(Array("hello".utf8))
            case .create:
                diropargs("new.txt")
                buffer.putU32(1)  // GUARDED
                buffer.putFullSattr3()
            case .mkdir:
                diropargs("newdir")
                buffer.putEmptySattr3()
            case .symlink:
                diropargs("newlink")
                buffer.putEmptySattr3()
                buffer.putString("target")
            case .mknod:
                diropargs("device")
                buffer.putU32(4)  // NF3CHR
                buffer.putEmptySattr3()
                buffer.putU32(1)
                buffer.putU32(3)
            case .remove:
                diropargs("empty.txt")
            case .rmdir:
                diropargs("docs")
            case .rename:
                diropargs("empty.txt")
                diropargs("full.txt")
            case .link:
                buffer.putOpaque(handle)
                diropargs("hardlink")
            case .commit:
                buffer.putOpaque(handle)
                buffer.putU64(0)
                buffer.putU32(0)
            default:
                fatalError("not a modifying procedure")
            }
        }
    }

    static let modifying: [NFS3Procedure] = [.setattr, .write, .create, .mkdir, .symlink, .mknod, .remove, .rmdir, .rename, .link, .commit]

    @Test("every modifying procedure is ROFS with unchanged wcc_data", arguments: ReadOnlyTests.modifying)
    func readOnly(procedure: NFS3Procedure) async throws {
        let harness = await NFSHarness.standard()
        let root = try harness.attributes(of: "")
        var reply = try harness.call(procedure, Self.arguments(procedure, handle: NFSHarness.handle("")))
        #expect(reply.hasHeadroom)
        #expect(try reply.body.u32() == 30)
        if procedure == .link {
            #expect(try reply.body.postOpAttr() == root)
        }
        let wccCount = procedure == .rename ? 2 : 1
        for _ in 0..<wccCount {
            let wcc = try reply.body.wcc()
            #expect(wcc.before == ClientWCCAttributes(size: root.size, mtime: root.mtime, ctime: root.ctime))
            #expect(wcc.after == root)
        }
        #expect(reply.body.readableBytes == 0)
        // Nothing changed.
        #expect(try harness.attributes(of: "") == root)
        #expect(try harness.attributes(of: "empty.txt").size == 0)
        await harness.shutdown()
    }

    @Test("a bad handle is reported instead, with empty wcc_data", arguments: ReadOnlyTests.modifying)
    func badHandle(procedure: NFS3Procedure) async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(procedure, Self.arguments(procedure, handle: [9, 9, 9]))
        #expect(try reply.body.u32() == 10001)
        if procedure == .link {
            #expect(try reply.body.postOpAttr() == nil)
        }
        for _ in 0..<(procedure == .rename ? 2 : 1) {
            let wcc = try reply.body.wcc()
            #expect(wcc.before == nil)
            #expect(wcc.after == nil)
        }
        #expect(reply.body.readableBytes == 0)
        await harness.shutdown()
    }

    @Test("other argument forms decode too: EXCLUSIVE create, FIFO mknod, unstable write")
    func otherArgumentForms() async throws {
        let harness = await NFSHarness.standard()
        let directory = NFSHarness.handle("movies")
        var exclusive = try harness.call(.create) {
            $0.putOpaque(directory)
            $0.putString("x")
            $0.putU32(2)  // EXCLUSIVE
            $0.putU64(0x1122_3344_5566_7788)
        }
        #expect(try exclusive.body.u32() == 30)

        var fifo = try harness.call(.mknod) {
            $0.putOpaque(directory)
            $0.putString("pipe")
            $0.putU32(7)  // NF3FIFO
            $0.putEmptySattr3()
        }
        #expect(try fifo.body.u32() == 30)

        var regular = try harness.call(.mknod) {
            $0.putOpaque(directory)
            $0.putString("file")
            $0.putU32(1)  // NF3REG: no further data
        }
        #expect(try regular.body.u32() == 30)

        var write = try harness.call(.write) {
            $0.putOpaque(NFSHarness.handle("movies/KillBill.mkv"))
            $0.putU64(100)
            $0.putU32(3)
            $0.putU32(0)  // UNSTABLE
            $0.putOpaque([1, 2, 3])
        }
        #expect(try write.body.u32() == 30)
        let wcc = try write.body.wcc()
        #expect(wcc.before?.size == 10_000)
        #expect(wcc.after?.size == 10_000)

        // An undefined createmode3 or stable_how is garbage.
        #expect(throws: CallFailure.garbageArguments) {
            try harness.call(.create) {
                $0.putOpaque(directory)
                $0.putString("x")
                $0.putU32(3)
            }
        }
        #expect(throws: CallFailure.garbageArguments) {
            try harness.call(.write) {
                $0.putOpaque(directory)
                $0.putU64(0)
                $0.putU32(0)
                $0.putU32(9)
                $0.putOpaque([])
            }
        }
        await harness.shutdown()
    }
}
