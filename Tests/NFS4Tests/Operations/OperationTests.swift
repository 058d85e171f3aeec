import NIOCore
import Namespace
import Testing

@testable import NFS4
import ProgramTestSupport

/// Single operations through the program, checked as a client reads them.
///
/// A class, so `run` can count sequence IDs; each test gets a new instance.
@Suite final class OperationTests {
    let harness: NFS4Harness
    let session: [UInt8]
    let clientID: UInt64
    var sequenceID: UInt32 = 0

    init() async throws {
        self.harness = await NFS4Harness.standard()
        (self.clientID, self.session) = try self.harness.createSession()
    }

    /// Runs `build` after SEQUENCE and returns the reply positioned at the
    /// first result after SEQUENCE's.
    func run(_ build: (inout ClientCompound) -> Void) throws -> ClientCompoundReply {
        self.sequenceID += 1
        var compound = NFS4Harness.sequenced(self.session, sequenceID: self.sequenceID)
        build(&compound)
        var reply = try self.harness.call(compound)
        #expect(try reply.next() == (ClientCompound.sequence, Status4.ok))
        reply.rest.moveReaderIndex(forwardBy: 36)
        return reply
    }

    @Test func lookupParentAndTheRootsMissingParent() throws {
        var reply = try self.run { compound in
            compound.putfh("movies/KillBill.mkv")
            compound.add(16)  // LOOKUPP on a file
        }
        #expect(reply.status == 20, "NFS4ERR_NOTDIR")
        reply = try self.run { compound in
            compound.putfh("movies")
            compound.add(16)
            compound.add(ClientCompound.getfh)
        }
        #expect(reply.status == Status4.ok)
        _ = try reply.next()
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.getfh, Status4.ok))
        #expect(try reply.rest.opaque() == NFS4Harness.handle(""))
        #expect(try self.run { $0.add(ClientCompound.putrootfh); $0.add(16) }.status == Status4.noEntry)
        #expect(try self.run { $0.putfh("latest"); $0.add(ClientCompound.lookup) { $0.putString("x") } }.status == 10029, "NFS4ERR_SYMLINK")
    }

    @Test func accessGrantsReadExecuteAndModifyOnFilesButNeverDelete() throws {
        for (path, expected) in [("movies/trailer.sh", UInt32(0x2D)), ("docs/readme.txt", 0x0D), ("docs", 0x03)] {
            var reply = try self.run { compound in
                compound.putfh(path)
                compound.add(ClientCompound.access) { $0.putU32(0x3F) }
            }
            _ = try reply.next()
            #expect(try reply.next() == (ClientCompound.access, Status4.ok))
            #expect(try reply.rest.u32() == 0x3F, "supported")
            #expect(try reply.rest.u32() == expected, "\(path)")
        }
    }

    @Test func readlinkAndItsErrors() throws {
        var reply = try self.run { $0.putfh("latest"); $0.add(ClientCompound.readlink) }
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.readlink, Status4.ok))
        #expect(try reply.rest.string() == "movies/KillBill.mkv")
        #expect(try self.run { $0.putfh("docs/readme.txt"); $0.add(ClientCompound.readlink) }.status == Status4.invalid)
    }

    @Test func verifyAndNverifyCompareAttributeBytes() throws {
        // size of docs/readme.txt is 13.
        func verify(_ opcode: UInt32, size: UInt64) throws -> UInt32 {
            try self.run { compound in
                compound.putfh("docs/readme.txt")
                compound.add(opcode) { buffer in
                    buffer.putU32(1)
                    buffer.putU32(0x10)
                    buffer.putU32(8)
                    buffer.putU64(size)
                }
            }.status
        }
        #expect(try verify(37, size: 13) == Status4.ok)
        #expect(try verify(37, size: 14) == 10027, "NFS4ERR_NOT_SAME")
        #expect(try verify(17, size: 14) == Status4.ok)
        #expect(try verify(17, size: 13) == 10009, "NFS4ERR_SAME")
    }

    @Test func getattrOfAWriteOnlyAttributeIsInvalid() throws {
        #expect(try self.run { $0.putfh("docs"); $0.getattr([0, 0x0001_0000]) }.status == Status4.invalid, "time_access_set (48)")
    }

    @Test func secinfoListsAuthSysAndConsumesTheFileHandle() throws {
        var reply = try self.run { compound in
            compound.putfh("docs")
            compound.add(33) { $0.putString("readme.txt") }
            compound.add(ClientCompound.getfh)
        }
        #expect(reply.status == 10020, "NFS4ERR_NOFILEHANDLE after SECINFO")
        _ = try reply.next()
        #expect(try reply.next() == (33, Status4.ok))
        #expect(try reply.rest.u32() == 2)
        #expect(try reply.rest.u32() == 1, "AUTH_SYS first")
        #expect(try reply.rest.u32() == 0)
        #expect(try self.run { $0.putfh("docs"); $0.add(33) { $0.putString("missing") } }.status == Status4.noEntry)
    }

    @Test func openCloseAndTestStateID() throws {
        var reply = try self.run { compound in
            compound.putfh("docs")
            compound.openForRead("readme.txt", clientID: self.clientID, owner: "o")
        }
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.open, Status4.ok))
        let stateIDBytes = reply.rest.readBytes(length: 16)
        let stateID = try #require(stateIDBytes, "no stateid")
        #expect(Array(stateID[0..<4]) == [0, 0, 0, 1], "seqid 1")
        #expect(Array(stateID[4..<8]) == [0, 0, 0, 7], "the boot verifier")
        reply.rest.moveReaderIndex(forwardBy: 4 + 16)  // change_info4
        #expect(try reply.rest.u32() == 4, "OPEN4_RESULT_LOCKTYPE_POSIX")
        #expect(try reply.rest.u32() == 0, "empty attrset")
        #expect(try reply.rest.u32() == 0, "OPEN_DELEGATE_NONE")

        func testStateID() throws -> UInt32 {
            var reply = try self.run { $0.add(55) { $0.putU32(1); $0.writeBytes(stateID) } }
            #expect(try reply.next() == (55, Status4.ok))
            #expect(try reply.rest.u32() == 1)
            return try reply.rest.u32()
        }
        #expect(try testStateID() == Status4.ok)
        // READ with the open stateid, on another file: BAD_STATEID.
        #expect(
            try self.run { compound in
                compound.putfh("movies/KillBill.mkv")
                compound.add(ClientCompound.read) { $0.writeBytes(stateID); $0.putU64(0); $0.putU32(10) }
            }.status == Status4.badStateID
        )
        #expect(try self.run { $0.putfh("docs/readme.txt"); $0.add(ClientCompound.close) { $0.putU32(0); $0.writeBytes(stateID) } }.status == Status4.ok)
        #expect(try testStateID() == Status4.badStateID)
    }

    @Test func aHandleUnknownRightAfterARestartIsDelayNotStale() async throws {
        let store = await TestNamespace.makeStore(ready: false)
        let harness = NFS4Harness(store: store)
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("movies/not-yet-known")
        #expect(try harness.call(compound).status == Status4.delay)
    }
}
