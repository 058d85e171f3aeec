import NIOCore
import Namespace
import Testing

@testable import NFS4
import ProgramTestSupport

/// COMPOUNDs through the program, as a client sends them.
@Suite struct CompoundTests {
    @Test func minorVersions0And2AreAnsweredMismatchWithTheTag() async throws {
        let harness = await NFS4Harness.standard()
        for minor: UInt32 in [0, 2] {
            var compound = ClientCompound(tag: "t", minorVersion: minor)
            compound.add(ClientCompound.putrootfh)
            let reply = try harness.callRaw(compound)
            // status NFS4ERR_MINOR_VERS_MISMATCH (10021), tag "t", no results.
            #expect(Array(reply.body.readableBytesView) == [0, 0, 0x27, 0x25, 0, 0, 0, 1, 0x74, 0, 0, 0, 0, 0, 0, 0])
        }
    }

    @Test func nullProcedureAnswersEmpty() async throws {
        let harness = await NFS4Harness.standard()
        let reply = try harness.caller.call(harness.program, version: 4, procedure: 0, arguments: ByteBuffer())
        #expect(reply.body.readableBytes == 0)
        #expect(throws: CallFailure.self) { try harness.caller.call(harness.program, version: 4, procedure: 2, arguments: ByteBuffer()) }
    }

    @Test func operationsOutsideASessionAreRefused() async throws {
        let harness = await NFS4Harness.standard()
        var compound = ClientCompound()
        compound.add(ClientCompound.putrootfh)
        var reply = try harness.call(compound)
        #expect(reply.status == Status4.operationNotInSession)
        #expect(try reply.next().status == Status4.operationNotInSession)

        var illegal = ClientCompound()
        illegal.add(99)
        reply = try harness.call(illegal)
        #expect(reply.status == Status4.operationIllegal)
        #expect(try reply.next() == (10044, Status4.operationIllegal))
    }

    @Test func lookupGetfhGetattrAndReadAFile() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.add(ClientCompound.putrootfh)
        compound.add(ClientCompound.lookup) { $0.putString("movies") }
        compound.add(ClientCompound.lookup) { $0.putString("KillBill.mkv") }
        compound.add(ClientCompound.getfh)
        compound.getattr([0x12])  // type, size
        compound.add(ClientCompound.read) { buffer in
            buffer.writeRepeatingByte(0, count: 16)  // anonymous stateid
            buffer.putU64(100)
            buffer.putU32(50)
        }
        var reply = try harness.call(compound)
        #expect(reply.status == Status4.ok)
        #expect(reply.count == 7)
        #expect(try reply.next() == (ClientCompound.sequence, Status4.ok))
        reply.rest.moveReaderIndex(forwardBy: 16 + 5 * 4)
        for opcode in [ClientCompound.putrootfh, ClientCompound.lookup, ClientCompound.lookup] {
            #expect(try reply.next() == (opcode, Status4.ok))
        }
        #expect(try reply.next() == (ClientCompound.getfh, Status4.ok))
        #expect(try reply.rest.opaque() == NFS4Harness.handle("movies/KillBill.mkv"))
        #expect(try reply.next() == (ClientCompound.getattr, Status4.ok))
        #expect(try reply.rest.u32() == 1)
        #expect(try reply.rest.u32() == 0x12)
        #expect(try reply.rest.u32() == 12)
        #expect(try reply.rest.u32() == 1)  // NF4REG
        #expect(try reply.rest.u64() == 10_000)
        #expect(try reply.next() == (ClientCompound.read, Status4.ok))
        #expect(try reply.rest.u32() == 0)  // not eof
        #expect(try reply.rest.opaque() == Array(TestNamespace.movieBytes[100..<150]))
        #expect(reply.rest.readableBytes == 0)
    }

    @Test func readFollowedByMoreOperationsCarriesTheDataInline() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("docs/readme.txt")
        compound.add(ClientCompound.read) { buffer in
            buffer.writeRepeatingByte(0, count: 16)
            buffer.putU64(7)
            buffer.putU32(100)
        }
        compound.getattr([0x10])  // size
        var reply = try harness.call(compound)
        #expect(reply.status == Status4.ok)
        #expect(reply.count == 4)
        _ = try reply.next()
        reply.rest.moveReaderIndex(forwardBy: 36)
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.read, Status4.ok))
        #expect(try reply.rest.u32() == 1)  // eof
        #expect(try reply.rest.string() == "world\n")
        #expect(try reply.next() == (ClientCompound.getattr, Status4.ok))
        #expect((reply.rest.readBytes(length: 20) ?? []) == [0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 13])
    }

    @Test func twoReadsInOneCompound() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("movies/KillBill.mkv")
        for offset: UInt64 in [0, 9_995] {
            compound.add(ClientCompound.read) { buffer in
                buffer.writeRepeatingByte(0, count: 16)
                buffer.putU64(offset)
                buffer.putU32(7)
            }
        }
        var reply = try harness.call(compound)
        #expect(reply.status == Status4.ok)
        #expect(reply.count == 4)
        _ = try reply.next()
        reply.rest.moveReaderIndex(forwardBy: 36)
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.read, Status4.ok))
        #expect(try reply.rest.u32() == 0)
        #expect(try reply.rest.opaque() == Array(TestNamespace.movieBytes[0..<7]))
        #expect(try reply.next() == (ClientCompound.read, Status4.ok))
        #expect(try reply.rest.u32() == 1, "eof")
        #expect(try reply.rest.opaque() == Array(TestNamespace.movieBytes[9_995...]))
        #expect(reply.rest.readableBytes == 0)
    }

    @Test func readingADirectoryIsIsDir() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("movies")
        compound.add(ClientCompound.read) { buffer in
            buffer.writeRepeatingByte(0, count: 16)
            buffer.putU64(0)
            buffer.putU32(10)
        }
        let reply = try harness.call(compound)
        #expect(reply.status == Status4.isDirectory)
        #expect(reply.count == 3)
    }

    @Test func modifyingOperationsAreReadOnlyAndStopTheCompound() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        for opcode in [ClientCompound.write, ClientCompound.remove] {
            var compound = NFS4Harness.sequenced(session, sequenceID: opcode == ClientCompound.write ? 1 : 2)
            compound.putfh("docs/readme.txt")
            compound.add(opcode) { $0.writeRepeatingByte(0, count: 40) }
            compound.add(ClientCompound.getfh)
            var reply = try harness.call(compound)
            #expect(reply.status == Status4.readOnly)
            #expect(reply.count == 3)
            _ = try reply.next()
            reply.rest.moveReaderIndex(forwardBy: 36)
            _ = try reply.next()
            #expect(try reply.next() == (opcode, Status4.readOnly))
        }
    }

    @Test func opensOfExistingFilesSucceedButCreatingAndTruncatingAreReadOnly() async throws {
        let harness = await NFS4Harness.standard()
        let (clientID, session) = try harness.createSession()
        var sequenceID: UInt32 = 0
        /// OPEN4_CREATE with `how` (createmode4 and its arguments) on `name` in docs/.
        func open(_ name: String, access: UInt32 = 1, create: ((inout ByteBuffer) -> Void)? = nil) throws -> UInt32 {
            sequenceID += 1
            var compound = NFS4Harness.sequenced(session, sequenceID: sequenceID)
            compound.putfh("docs")
            compound.add(ClientCompound.open) { buffer in
                buffer.putU32(0)
                buffer.putU32(access)
                buffer.putU32(0)
                buffer.putU64(clientID)
                buffer.putString("o")
                if let create {
                    buffer.putU32(1)  // OPEN4_CREATE
                    create(&buffer)
                } else {
                    buffer.putU32(0)
                }
                buffer.putU32(0)  // CLAIM_NULL
                buffer.putString(name)
            }
            return try harness.call(compound).status
        }
        func unchecked(size: UInt64?) -> (inout ByteBuffer) -> Void {
            { buffer in
                buffer.putU32(0)  // UNCHECKED4
                if let size {
                    buffer.putU32(1)
                    buffer.putU32(0x10)  // size
                    buffer.putU32(8)
                    buffer.putU64(size)
                } else {
                    buffer.putU32(2)
                    buffer.putU32(0)
                    buffer.putU32(0x2)  // mode (33)
                    buffer.putU32(4)
                    buffer.putU32(0o644)
                }
            }
        }
        #expect(try open("readme.txt") == Status4.ok)
        // Read-write: granted, so the client can lock exclusively; writes fail later.
        #expect(try open("readme.txt", access: 3) == Status4.ok)
        // O_CREAT of an existing file (UNCHECKED4 with a mode) just opens it.
        #expect(try open("readme.txt", create: unchecked(size: nil)) == Status4.ok)
        #expect(try open("readme.txt", create: unchecked(size: 0)) == Status4.readOnly, "O_TRUNC")
        #expect(try open("new.txt", create: unchecked(size: nil)) == Status4.readOnly, "would create")
        #expect(try open("readme.txt", create: { $0.putU32(2); $0.putU64(7) }) == 17, "EXCLUSIVE4 of an existing file: NFS4ERR_EXIST")
        #expect(try open("nothing.txt") == Status4.noEntry)
    }

    @Test func readdirListsChildrenInCookieOrderAndResumes() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var sequenceID: UInt32 = 0
        func readdir(cookie: UInt64, maximum: UInt32) throws -> (status: UInt32, names: [String], cookies: [UInt64], eof: Bool) {
            sequenceID += 1
            var compound = NFS4Harness.sequenced(session, sequenceID: sequenceID)
            compound.putfh("")
            compound.add(ClientCompound.readdir) { buffer in
                buffer.putU64(cookie)
                buffer.putU64(cookie == 0 ? 0 : 0x7032_7066_7364_6972)
                buffer.putU32(maximum)
                buffer.putU32(maximum)
                buffer.putU32(1)
                buffer.putU32(0x0010_0000)  // fileid (20)
            }
            var reply = try harness.call(compound)
            guard try reply.next() == (ClientCompound.sequence, Status4.ok) else { return (reply.status, [], [], false) }
            reply.rest.moveReaderIndex(forwardBy: 36)
            _ = try reply.next()
            let (_, status) = try reply.next()
            guard status == Status4.ok else { return (status, [], [], false) }
            _ = try reply.rest.u64()  // verifier
            var names: [String] = []
            var cookies: [UInt64] = []
            while try reply.rest.u32() == 1 {
                let cookie = try reply.rest.u64()
                let name = try reply.rest.string()
                #expect(try reply.rest.u32() == 1)
                #expect(try reply.rest.u32() == 0x0010_0000)
                #expect(try reply.rest.u32() == 8)
                #expect(try reply.rest.u64() == cookie, "the cookie is the entry's fileid")
                names.append(name)
                cookies.append(cookie)
            }
            return (status, names, cookies, try reply.rest.u32() == 1)
        }
        let all = try readdir(cookie: 0, maximum: 4096)
        #expect(Set(all.names) == ["movies", "docs", "empty.txt", "latest"])
        #expect(all.cookies == all.cookies.sorted())
        #expect(all.eof)
        // Room for one entry per call: every entry once, in the same order.
        var names: [String] = []
        var cookie: UInt64 = 0
        for _ in 0..<10 {
            let page = try readdir(cookie: cookie, maximum: 16 + 40 + 12)
            #expect(page.status == Status4.ok)
            names += page.names
            if page.eof { break }
            cookie = page.cookies.last!
        }
        #expect(names == all.names)
        #expect(try readdir(cookie: 0, maximum: 20).status == 10005, "NFS4ERR_TOOSMALL")
        // After the last entry the page is empty, but its verifier, end of
        // list and eof (16 bytes) still do not fit a maxcount of 15.
        let last = try #require(all.cookies.last)
        let end = try readdir(cookie: last, maximum: 16)
        #expect(end.status == Status4.ok && end.names.isEmpty && end.eof)
        #expect(try readdir(cookie: last, maximum: 15).status == 10005, "NFS4ERR_TOOSMALL")
    }

    @Test func locksConflictBetweenClientsAndLockTTellsWho() async throws {
        let harness = await NFS4Harness.standard()
        let a = try harness.createSession(owner: "a")
        let b = try harness.createSession(owner: "b")
        func openAndLock(_ client: (clientID: UInt64, session: [UInt8]), sequenceID: UInt32, type: UInt32) throws -> UInt32 {
            var compound = NFS4Harness.sequenced(client.session, sequenceID: sequenceID)
            compound.putfh("movies")
            compound.openForRead("KillBill.mkv", clientID: client.clientID, owner: "open-owner")
            compound.add(ClientCompound.lock) { buffer in
                buffer.putU32(type)
                buffer.putU32(0)  // reclaim
                buffer.putU64(0)
                buffer.putU64(.max)
                buffer.putU32(1)  // new lock owner
                buffer.putU32(0)
                buffer.putU32(1)  // the current stateid: the OPEN's
                buffer.writeRepeatingByte(0, count: 12)
                buffer.putU32(0)
                buffer.putU64(client.clientID)
                buffer.putString("lock-owner")
            }
            return try harness.call(compound).status
        }
        #expect(try openAndLock(a, sequenceID: 1, type: 2) == Status4.ok)
        #expect(try openAndLock(b, sequenceID: 1, type: 1) == Status4.denied)

        var test = NFS4Harness.sequenced(b.session, sequenceID: 2)
        test.putfh("movies/KillBill.mkv")
        test.add(ClientCompound.lockt) { buffer in
            buffer.putU32(1)
            buffer.putU64(10)
            buffer.putU64(1)
            buffer.putU64(b.clientID)
            buffer.putString("lock-owner")
        }
        var reply = try harness.call(test)
        #expect(reply.status == Status4.denied)
        _ = try reply.next()
        reply.rest.moveReaderIndex(forwardBy: 36)
        _ = try reply.next()
        #expect(try reply.next() == (ClientCompound.lockt, Status4.denied))
        #expect(try reply.rest.u64() == 0)  // offset
        #expect(try reply.rest.u64() == .max)  // length
        #expect(try reply.rest.u32() == 2)  // WRITE_LT
        #expect(try reply.rest.u64() == a.clientID)
        #expect(try reply.rest.string() == "lock-owner")

        // Client a stops renewing: after the lease, its lock is gone.
        harness.clock.advance(by: .seconds(60))
        #expect(try harness.call(NFS4Harness.sequenced(b.session, sequenceID: 3)).status == Status4.ok)
        harness.clock.advance(by: .seconds(31))
        #expect(try openAndLock(b, sequenceID: 4, type: 1) == Status4.ok)
        #expect(try harness.call(NFS4Harness.sequenced(a.session, sequenceID: 2)).status == Status4.badSession)
    }

    @Test func sequenceReplaysCachedRepliesAndRejectsMisuse() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var compound = NFS4Harness.sequenced(session, sequenceID: 1, cacheThis: true, tag: "first")
        compound.add(ClientCompound.putrootfh)
        compound.add(ClientCompound.getfh)
        let first = try harness.callRaw(compound)
        let retry = try harness.callRaw(compound)
        #expect(first.body == retry.body)

        var different = NFS4Harness.sequenced(session, sequenceID: 1, cacheThis: true, tag: "other")
        different.add(ClientCompound.putrootfh)
        #expect(try harness.call(different).status == Status4.falseRetry)
        #expect(try harness.call(NFS4Harness.sequenced(session, sequenceID: 3)).status == Status4.sequenceMisordered)
        #expect(try harness.call(NFS4Harness.sequenced(session, sequenceID: 1, slot: 8)).status == Status4.badSlot)

        let uncached = NFS4Harness.sequenced(session, sequenceID: 2, cacheThis: false)
        #expect(try harness.call(uncached).status == Status4.ok)
        #expect(try harness.call(uncached).status == Status4.retryUncached)

        var late = NFS4Harness.sequenced(session, sequenceID: 3)
        late.add(ClientCompound.sequence) { $0.writeRepeatingByte(0, count: 32) }
        #expect(try harness.call(late).status == Status4.sequencePosition)
    }

    @Test func aCachedReadIsReplayedWithItsDataAnUncachedOneIsNot() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        func read(sequenceID: UInt32, cacheThis: Bool) -> ClientCompound {
            var compound = NFS4Harness.sequenced(session, sequenceID: sequenceID, cacheThis: cacheThis)
            compound.putfh("movies/KillBill.mkv")
            compound.add(ClientCompound.read) { buffer in
                buffer.writeRepeatingByte(0, count: 16)
                buffer.putU64(100)
                buffer.putU32(1000)
            }
            return compound
        }
        let cached = read(sequenceID: 1, cacheThis: true)
        let first = try harness.callRaw(cached)
        let retry = try harness.callRaw(cached)
        #expect(retry.body == first.body)
        var reply = try ClientCompoundReply(retry.body)
        #expect(reply.status == Status4.ok)
        _ = try reply.next()
        reply.rest.moveReaderIndex(forwardBy: 36)
        #expect(try reply.next() == (ClientCompound.putfh, Status4.ok))
        #expect(try reply.next() == (ClientCompound.read, Status4.ok))
        #expect(try reply.rest.u32() == 0)  // not eof
        #expect(try reply.rest.opaque() == Array(TestNamespace.movieBytes[100..<1100]))

        let uncached = read(sequenceID: 2, cacheThis: false)
        #expect(try harness.call(uncached).status == Status4.ok)
        #expect(try harness.call(uncached).status == Status4.retryUncached)
    }

    @Test func staleAndForeignHandles() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        var foreign = NFS4Harness.sequenced(session, sequenceID: 1)
        foreign.add(ClientCompound.putfh) { $0.putOpaque([1, 2, 3]) }
        #expect(try harness.call(foreign).status == Status4.badHandle)
        var gone = NFS4Harness.sequenced(session, sequenceID: 2)
        gone.putfh("movies/never-existed")
        #expect(try harness.call(gone).status == 70, "NFS4ERR_STALE")
    }
}

/// Session rules the pynfs suite checks (RFC 8881 §2.10, §18.36).
@Suite struct SessionRuleTests {
    @Test func nothingMayFollowASessionlessOperationOrTheOwnSessionsDestruction() async throws {
        let harness = await NFS4Harness.standard()
        var exchange = ClientCompound()
        exchange.add(ClientCompound.exchangeID) { buffer in
            buffer.putU64(1)
            buffer.putString("x")
            buffer.putU32(0)
            buffer.putU32(0)
            buffer.putU32(0)
        }
        exchange.add(ClientCompound.putrootfh)
        var reply = try harness.call(exchange)
        #expect(reply.status == 10081, "NFS4ERR_NOT_ONLY_OP")
        #expect(reply.count == 2)

        let (_, session) = try harness.createSession()
        var destroy = NFS4Harness.sequenced(session, sequenceID: 1)
        destroy.add(44) { $0.writeBytes(session) }  // DESTROY_SESSION
        destroy.add(ClientCompound.putrootfh)
        reply = try harness.call(destroy)
        #expect(reply.status == 10081)
        #expect(try harness.call(NFS4Harness.sequenced(session, sequenceID: 2)).status == Status4.badSession)
    }

    @Test func repliesLargerThanTheSessionAllowsAreRefused() async throws {
        let harness = await NFS4Harness.standard()
        let (_, session) = try harness.createSession()
        // The session caches 4096 bytes at most: a cached READDIR of a
        // 3,000-entry directory cannot be.
        var compound = NFS4Harness.sequenced(session, sequenceID: 1, cacheThis: true)
        compound.putfh("")
        compound.add(ClientCompound.readdir) { buffer in
            buffer.putU64(0)
            buffer.putU64(0)
            buffer.putU32(60_000)
            buffer.putU32(60_000)
            buffer.putU32(1)
            buffer.putU32(0x0010_0000)
        }
        #expect(try harness.call(compound).status == Status4.ok, "the root lists four entries")
        let big = NFS4Harness(store: await TestNamespace.makeStore(entries: TestNamespace.bigDirectoryEntries(count: 3000)))
        let (_, bigSession) = try big.createSession()
        var listing = NFS4Harness.sequenced(bigSession, sequenceID: 1, cacheThis: true)
        listing.putfh("big")
        listing.add(ClientCompound.readdir) { buffer in
            buffer.putU64(0)
            buffer.putU64(0)
            buffer.putU32(60_000)
            buffer.putU32(60_000)
            buffer.putU32(1)
            buffer.putU32(0x0010_0000)
        }
        #expect(try big.call(listing).status == 10067, "NFS4ERR_REP_TOO_BIG_TO_CACHE")
    }
}
