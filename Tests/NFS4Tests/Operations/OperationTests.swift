import NIOCore
import Namespace
import XCTest

@testable import NFS4

/// Single operations through the program, checked as a client reads them.
final class OperationTests: XCTestCase {
    var harness: NFS4Harness!
    var session: [UInt8] = []
    var clientID: UInt64 = 0
    var sequenceID: UInt32 = 0

    override func setUp() async throws {
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
        XCTAssertTrue(try reply.next() == (ClientCompound.sequence, Status4.ok))
        reply.rest.moveReaderIndex(forwardBy: 36)
        return reply
    }

    func testLookupParentAndTheRootsMissingParent() throws {
        var reply = try self.run { compound in
            compound.putfh("movies/KillBill.mkv")
            compound.add(16)  // LOOKUPP on a file
        }
        XCTAssertEqual(reply.status, 20, "NFS4ERR_NOTDIR")
        reply = try self.run { compound in
            compound.putfh("movies")
            compound.add(16)
            compound.add(ClientCompound.getfh)
        }
        XCTAssertEqual(reply.status, Status4.ok)
        _ = try reply.next()
        _ = try reply.next()
        XCTAssertTrue(try reply.next() == (ClientCompound.getfh, Status4.ok))
        XCTAssertEqual(try reply.rest.opaque(), NFS4Harness.handle(""))
        XCTAssertEqual(try self.run { $0.add(ClientCompound.putrootfh); $0.add(16) }.status, Status4.noEntry)
        XCTAssertEqual(try self.run { $0.putfh("latest"); $0.add(ClientCompound.lookup) { $0.putString("x") } }.status, 10029, "NFS4ERR_SYMLINK")
    }

    func testAccessGrantsReadExecuteAndModifyOnFilesButNeverDelete() throws {
        for (path, expected) in [("movies/trailer.sh", UInt32(0x2D)), ("docs/readme.txt", 0x0D), ("docs", 0x03)] {
            var reply = try self.run { compound in
                compound.putfh(path)
                compound.add(ClientCompound.access) { $0.putU32(0x3F) }
            }
            _ = try reply.next()
            XCTAssertTrue(try reply.next() == (ClientCompound.access, Status4.ok))
            XCTAssertEqual(try reply.rest.u32(), 0x3F, "supported")
            XCTAssertEqual(try reply.rest.u32(), expected, path)
        }
    }

    func testReadlinkAndItsErrors() throws {
        var reply = try self.run { $0.putfh("latest"); $0.add(ClientCompound.readlink) }
        _ = try reply.next()
        XCTAssertTrue(try reply.next() == (ClientCompound.readlink, Status4.ok))
        XCTAssertEqual(try reply.rest.string(), "movies/KillBill.mkv")
        XCTAssertEqual(try self.run { $0.putfh("docs/readme.txt"); $0.add(ClientCompound.readlink) }.status, Status4.invalid)
    }

    func testVerifyAndNverifyCompareAttributeBytes() throws {
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
        XCTAssertEqual(try verify(37, size: 13), Status4.ok)
        XCTAssertEqual(try verify(37, size: 14), 10027, "NFS4ERR_NOT_SAME")
        XCTAssertEqual(try verify(17, size: 14), Status4.ok)
        XCTAssertEqual(try verify(17, size: 13), 10009, "NFS4ERR_SAME")
    }

    func testGetattrOfAWriteOnlyAttributeIsInvalid() throws {
        XCTAssertEqual(try self.run { $0.putfh("docs"); $0.getattr([0, 0x0001_0000]) }.status, Status4.invalid, "time_access_set (48)")
    }

    func testSecinfoListsAuthSysAndConsumesTheFileHandle() throws {
        var reply = try self.run { compound in
            compound.putfh("docs")
            compound.add(33) { $0.putString("readme.txt") }
            compound.add(ClientCompound.getfh)
        }
        XCTAssertEqual(reply.status, 10020, "NFS4ERR_NOFILEHANDLE after SECINFO")
        _ = try reply.next()
        XCTAssertTrue(try reply.next() == (33, Status4.ok))
        XCTAssertEqual(try reply.rest.u32(), 2)
        XCTAssertEqual(try reply.rest.u32(), 1, "AUTH_SYS first")
        XCTAssertEqual(try reply.rest.u32(), 0)
        XCTAssertEqual(try self.run { $0.putfh("docs"); $0.add(33) { $0.putString("missing") } }.status, Status4.noEntry)
    }

    func testOpenCloseAndTestStateID() throws {
        var reply = try self.run { compound in
            compound.putfh("docs")
            compound.openForRead("readme.txt", clientID: self.clientID, owner: "o")
        }
        _ = try reply.next()
        XCTAssertTrue(try reply.next() == (ClientCompound.open, Status4.ok))
        guard let stateID = reply.rest.readBytes(length: 16) else { return XCTFail("no stateid") }
        XCTAssertEqual(Array(stateID[0..<4]), [0, 0, 0, 1], "seqid 1")
        XCTAssertEqual(Array(stateID[4..<8]), [0, 0, 0, 7], "the boot verifier")
        reply.rest.moveReaderIndex(forwardBy: 4 + 16)  // change_info4
        XCTAssertEqual(try reply.rest.u32(), 4, "OPEN4_RESULT_LOCKTYPE_POSIX")
        XCTAssertEqual(try reply.rest.u32(), 0, "empty attrset")
        XCTAssertEqual(try reply.rest.u32(), 0, "OPEN_DELEGATE_NONE")

        func testStateID() throws -> UInt32 {
            var reply = try self.run { $0.add(55) { $0.putU32(1); $0.writeBytes(stateID) } }
            XCTAssertTrue(try reply.next() == (55, Status4.ok))
            XCTAssertEqual(try reply.rest.u32(), 1)
            return try reply.rest.u32()
        }
        XCTAssertEqual(try testStateID(), Status4.ok)
        // READ with the open stateid, on another file: BAD_STATEID.
        XCTAssertEqual(
            try self.run { compound in
                compound.putfh("movies/KillBill.mkv")
                compound.add(ClientCompound.read) { $0.writeBytes(stateID); $0.putU64(0); $0.putU32(10) }
            }.status,
            Status4.badStateID
        )
        XCTAssertEqual(try self.run { $0.putfh("docs/readme.txt"); $0.add(ClientCompound.close) { $0.putU32(0); $0.writeBytes(stateID) } }.status, Status4.ok)
        XCTAssertEqual(try testStateID(), Status4.badStateID)
    }

    func testAHandleUnknownRightAfterARestartIsDelayNotStale() async throws {
        let store = await TestNamespace.makeStore(ready: false)
        let harness = NFS4Harness(store: store)
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("movies/not-yet-known")
        XCTAssertEqual(try harness.call(compound).status, Status4.delay)
    }
}
