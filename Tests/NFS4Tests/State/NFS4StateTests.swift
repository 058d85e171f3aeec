import NIOCore
import Namespace
import XCTest

@testable import NFS4

/// The state machine as a plain value: no sockets, no namespace, a clock
/// passed in by hand.
final class NFS4StateTests: XCTestCase {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let file = FileID(path: "movies/KillBill.mkv")
    let otherFile = FileID(path: "docs/readme.txt")

    func channel(requests: UInt32 = 4) -> ChannelAttributes4 {
        ChannelAttributes4(
            maximumRequestSize: 1 << 20, maximumResponseSize: 1 << 20, maximumResponseSizeCached: 4096, maximumOperations: 16,
            maximumRequests: requests
        )
    }

    /// A confirmed client with one session.
    func client(_ state: inout NFS4State, owner: String, verifier: UInt64 = 1) throws -> (UInt64, SessionID4) {
        let exchanged = try state.exchangeID(EXCHANGE_ID4Args(verifier: verifier, ownerID: Array(owner.utf8), flags: 0), now: self.start)
        let session = try state.createSession(
            CREATE_SESSION4Args(
                clientID: exchanged.clientID, sequence: exchanged.sequenceID, flags: 0, foreChannel: self.channel(),
                backChannel: self.channel(requests: 1)
            ),
            now: self.start
        )
        return (exchanged.clientID, session.sessionID)
    }

    func lockArgs(_ stateID: StateID4, owner: StateOwner4?, type: LockType4, offset: UInt64, length: UInt64) -> LOCK4Args {
        LOCK4Args(
            type: type, offset: offset, length: length,
            locker: owner.map { .newOwner(openStateID: stateID, owner: $0) } ?? .existingOwner(lockStateID: stateID)
        )
    }

    func testExchangeIDIsIdempotentAndARebootReplacesTheClientOnceConfirmed() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (clientID, _) = try self.client(&state, owner: "host")
        let again = try state.exchangeID(EXCHANGE_ID4Args(verifier: 1, ownerID: Array("host".utf8), flags: 0), now: self.start)
        XCTAssertEqual(again.clientID, clientID)
        XCTAssertNotEqual(again.flags & ExchangeIDFlags.confirmedRecord, 0)

        // A new verifier: the client rebooted. The old record lives until
        // the new one creates a session.
        let rebooted = try state.exchangeID(EXCHANGE_ID4Args(verifier: 2, ownerID: Array("host".utf8), flags: 0), now: self.start)
        XCTAssertNotEqual(rebooted.clientID, clientID)
        XCTAssertEqual(state.clientCount, 2)
        _ = try state.createSession(
            CREATE_SESSION4Args(
                clientID: rebooted.clientID, sequence: rebooted.sequenceID, flags: 0, foreChannel: self.channel(),
                backChannel: self.channel()
            ),
            now: self.start
        )
        XCTAssertEqual(state.clientCount, 1)
        XCTAssertEqual(state.sessionCount, 1)
        XCTAssertThrowsError(try state.exchangeID(EXCHANGE_ID4Args(verifier: 1, ownerID: [1], flags: 0x8), now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .invalid)
        }
    }

    func testAnotherPrincipalCannotTakeOverARecordThatHoldsState() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let owner = Array("host".utf8)
        let first = try state.exchangeID(EXCHANGE_ID4Args(verifier: 1, ownerID: owner, flags: 0), principal: "sys:0:0", now: self.start)
        let args = CREATE_SESSION4Args(
            clientID: first.clientID, sequence: first.sequenceID, flags: 0, foreChannel: self.channel(), backChannel: self.channel()
        )
        XCTAssertThrowsError(try state.createSession(args, principal: "sys:1000:100", now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .clientIDInUse)
        }
        _ = try state.createSession(args, principal: "sys:0:0", now: self.start)
        var second = args
        second.sequence += 1
        XCTAssertNoThrow(try state.createSession(second, principal: "sys:1000:100", now: self.start), "confirmed: any principal")
        let update = EXCHANGE_ID4Args(verifier: 1, ownerID: owner, flags: ExchangeIDFlags.updateConfirmedRecord)
        XCTAssertThrowsError(try state.exchangeID(update, principal: "sys:1000:100", now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .perm)
        }
        _ = try state.open(file: self.file, owner: StateOwner4(clientID: first.clientID, owner: [1]), access: 1, deny: 0, clientID: first.clientID)
        let other = EXCHANGE_ID4Args(verifier: 1, ownerID: owner, flags: 0)
        XCTAssertThrowsError(try state.exchangeID(other, principal: "sys:1000:100", now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .clientIDInUse)
        }
        XCTAssertEqual(state.stateIDCount, 1, "the holder keeps its open")
    }

    func testCreateSessionReplaysARetransmissionAndRejectsOthers() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let exchanged = try state.exchangeID(EXCHANGE_ID4Args(verifier: 1, ownerID: [9], flags: 0), now: self.start)
        let args = CREATE_SESSION4Args(
            clientID: exchanged.clientID, sequence: exchanged.sequenceID, flags: 0, foreChannel: self.channel(requests: 500),
            backChannel: self.channel()
        )
        let first = try state.createSession(args, now: self.start)
        XCTAssertEqual(first.foreChannel.maximumRequests, 64, "slots are capped")
        XCTAssertEqual(try state.createSession(args, now: self.start), first)
        XCTAssertEqual(state.sessionCount, 1)
        var skipped = args
        skipped.sequence += 2
        XCTAssertThrowsError(try state.createSession(skipped, now: self.start)) { XCTAssertEqual($0 as? NFS4Status, .sequenceMisordered) }
        var stranger = args
        stranger.clientID = 12345
        XCTAssertThrowsError(try state.createSession(stranger, now: self.start)) { XCTAssertEqual($0 as? NFS4Status, .staleClientID) }
    }

    func testDestroyClientIDWaitsForItsSessions() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (clientID, session) = try self.client(&state, owner: "a")
        XCTAssertThrowsError(try state.destroyClientID(clientID)) { XCTAssertEqual($0 as? NFS4Status, .clientIDBusy) }
        try state.destroySession(session)
        XCTAssertThrowsError(try state.destroySession(session)) { XCTAssertEqual($0 as? NFS4Status, .badSession) }
        try state.destroyClientID(clientID)
        XCTAssertEqual(state.clientCount, 0)
        XCTAssertThrowsError(try state.reclaimComplete(clientID: clientID)) { XCTAssertEqual($0 as? NFS4Status, .staleClientID) }
    }

    func testLimitsOnClientsSessionsAndStateIDs() throws {
        let limits = NFS4State.Limits(clients: 2, sessionsPerClient: 1, stateIDsPerClient: 2)
        var state = NFS4State(boot: 3, serverOwner: [1], limits: limits)
        let (clientID, _) = try self.client(&state, owner: "a")
        _ = try self.client(&state, owner: "b")
        XCTAssertThrowsError(try state.exchangeID(EXCHANGE_ID4Args(verifier: 1, ownerID: [7], flags: 0), now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .delay)
        }
        let again = CREATE_SESSION4Args(clientID: clientID, sequence: 2, flags: 0, foreChannel: self.channel(), backChannel: self.channel())
        XCTAssertThrowsError(try state.createSession(again, now: self.start)) { XCTAssertEqual($0 as? NFS4Status, .noSpace) }
        for index in 0..<2 {
            _ = try state.open(
                file: FileID(rawValue: UInt64(100 + index)), owner: StateOwner4(clientID: clientID, owner: [1]), access: 1, deny: 0,
                clientID: clientID
            )
        }
        XCTAssertThrowsError(
            try state.open(file: self.file, owner: StateOwner4(clientID: clientID, owner: [1]), access: 1, deny: 0, clientID: clientID)
        ) { XCTAssertEqual($0 as? NFS4Status, .noSpace) }
        // Expiry is what frees a silent client's share of the tables.
        state.expireLeases(now: self.start + .seconds(91))
        XCTAssertEqual(state.clientCount, 0)
        XCTAssertEqual(state.stateIDCount, 0)
    }

    func testCachedRepliesAreBoundedAcrossSessions() throws {
        var state = NFS4State(boot: 3, serverOwner: [1], limits: NFS4State.Limits(cachedReplyTotal: 100))
        let (_, a) = try self.client(&state, owner: "a")
        let (_, b) = try self.client(&state, owner: "b")
        func run(_ session: SessionID4, sequenceID: UInt32, replyBytes: Int) throws -> NFS4State.SequenceOutcome {
            let args = SEQUENCE4Args(sessionID: session, sequenceID: sequenceID, slotID: 0, highestSlotID: 0, cacheThis: true)
            let outcome = try state.sequence(args, operationCount: 1, requestDigest: Int(sequenceID), now: self.start)
            if case .execute = outcome {
                state.complete(session: session, slot: 0, reply: ByteBuffer(repeating: 1, count: replyBytes))
            }
            return outcome
        }
        _ = try run(a, sequenceID: 1, replyBytes: 80)
        _ = try run(b, sequenceID: 1, replyBytes: 80)
        XCTAssertEqual(state.cachedReplyBytes, 80)
        guard case .replay = try run(a, sequenceID: 1, replyBytes: 0) else { return XCTFail("a's reply was cached") }
        XCTAssertThrowsError(try run(b, sequenceID: 1, replyBytes: 0)) { XCTAssertEqual($0 as? NFS4Status, .retryUncachedReply) }
        // a's next request frees its cached reply; destroying sessions frees theirs.
        _ = try run(a, sequenceID: 2, replyBytes: 10)
        XCTAssertEqual(state.cachedReplyBytes, 10)
        try state.destroySession(a)
        XCTAssertEqual(state.cachedReplyBytes, 0)
    }

    func testOwnLocksMergeAndSplitWhileOthersConflictOnlyWithWhatIsHeld() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (a, _) = try self.client(&state, owner: "a")
        let (b, _) = try self.client(&state, owner: "b")
        let ownerA = StateOwner4(clientID: a, owner: Array("lock".utf8))
        let ownerB = StateOwner4(clientID: b, owner: Array("lock".utf8))
        let openA = try state.open(file: self.file, owner: StateOwner4(clientID: a, owner: [1]), access: 1, deny: 0, clientID: a)
        let openB = try state.open(file: self.file, owner: StateOwner4(clientID: b, owner: [1]), access: 1, deny: 0, clientID: b)

        guard case .granted(let lockA) = try state.lock(self.lockArgs(openA, owner: ownerA, type: .read, offset: 0, length: 100), file: self.file, clientID: a) else {
            return XCTFail("first lock")
        }
        // The same owner upgrades its own range to a write lock: no conflict with itself.
        guard case .granted(let lockA2) = try state.lock(self.lockArgs(lockA, owner: nil, type: .write, offset: 0, length: 100), file: self.file, clientID: a) else {
            return XCTFail("upgrade")
        }
        XCTAssertEqual(lockA2.seqid, lockA.seqid + 1)
        // b's read lock on 50..<60 conflicts; unlocking 40..<70 splits a's lock.
        let readB = self.lockArgs(openB, owner: ownerB, type: .read, offset: 50, length: 10)
        guard case .denied(let denied) = try state.lock(readB, file: self.file, clientID: b) else { return XCTFail("conflict") }
        XCTAssertEqual(denied, LOCK4Denied(offset: 0, length: 100, type: .write, owner: ownerA))
        let unlock = LOCKU4Args(type: .write, stateID: lockA2, offset: 40, length: 30)
        _ = try state.unlock(unlock, file: self.file, clientID: a)
        guard case .granted = try state.lock(readB, file: self.file, clientID: b) else { return XCTFail("after unlock") }
        let conflicting = LOCKT4Args(type: .read, offset: 65, length: 10, owner: ownerB)
        XCTAssertEqual(try state.testLock(conflicting, file: self.file, clientID: b)?.offset, 70)
        // Shared locks do not conflict with each other.
        XCTAssertNil(try state.testLock(LOCKT4Args(type: .read, offset: 50, length: 5, owner: ownerA), file: self.file, clientID: a))
        XCTAssertThrowsError(try state.testLock(LOCKT4Args(type: .read, offset: 5, length: 0, owner: ownerA), file: self.file, clientID: a))
    }

    func testCloseWithLocksHeldAndStateIDChecks() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (a, _) = try self.client(&state, owner: "a")
        let (b, _) = try self.client(&state, owner: "b")
        let open = try state.open(file: self.file, owner: StateOwner4(clientID: a, owner: [1]), access: 1, deny: 0, clientID: a)
        guard case .granted(let lock) = try state.lock(
            self.lockArgs(open, owner: StateOwner4(clientID: a, owner: [2]), type: .write, offset: 0, length: .max), file: self.file, clientID: a
        ) else { return XCTFail("lock") }
        XCTAssertThrowsError(try state.close(open, file: self.file, clientID: a)) { XCTAssertEqual($0 as? NFS4Status, .locksHeld) }
        XCTAssertThrowsError(try state.close(open, file: self.otherFile, clientID: a)) { XCTAssertEqual($0 as? NFS4Status, .badStateID) }
        XCTAssertEqual(
            state.testStateIDs([open, lock, StateID4(seqid: 0, other: lock.other), StateID4(seqid: lock.seqid + 1, other: lock.other)], clientID: a),
            [.ok, .ok, .ok, .badStateID]
        )
        XCTAssertEqual(state.testStateIDs([open], clientID: b), [.badStateID], "another client's stateid")
        XCTAssertThrowsError(try state.checkRead(open, file: self.file, clientID: b))
        XCTAssertNoThrow(try state.checkRead(.anonymous, file: self.file, clientID: b))

        let unlocked = try state.unlock(LOCKU4Args(type: .write, stateID: lock, offset: 0, length: .max), file: self.file, clientID: a)
        XCTAssertThrowsError(try state.unlock(LOCKU4Args(type: .write, stateID: lock, offset: 0, length: 1), file: self.file, clientID: a)) {
            XCTAssertEqual($0 as? NFS4Status, .oldStateID)
        }
        _ = try state.close(open, file: self.file, clientID: a)
        XCTAssertEqual(state.testStateIDs([open, unlocked], clientID: a), [.badStateID, .badStateID], "the lock stateid went with the open")
        XCTAssertEqual(state.stateIDCount, 0)
    }

    func testShareDenyAndDowngrade() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (a, _) = try self.client(&state, owner: "a")
        let (b, _) = try self.client(&state, owner: "b")
        let open = try state.open(file: self.file, owner: StateOwner4(clientID: a, owner: [1]), access: 1, deny: 1, clientID: a)
        XCTAssertThrowsError(try state.open(file: self.file, owner: StateOwner4(clientID: b, owner: [1]), access: 1, deny: 0, clientID: b)) {
            XCTAssertEqual($0 as? NFS4Status, .shareDenied)
        }
        XCTAssertThrowsError(try state.openDowngrade(open, file: self.file, access: 3, deny: 0, clientID: a)) {
            XCTAssertEqual($0 as? NFS4Status, .invalid)
        }
        let downgraded = try state.openDowngrade(open, file: self.file, access: 1, deny: 0, clientID: a)
        XCTAssertEqual(downgraded.seqid, open.seqid + 1)
        XCTAssertNoThrow(try state.open(file: self.file, owner: StateOwner4(clientID: b, owner: [1]), access: 1, deny: 0, clientID: b))
    }

    func testSequenceSlotSemantics() throws {
        var state = NFS4State(boot: 3, serverOwner: [1])
        let (_, session) = try self.client(&state, owner: "a")
        let args = SEQUENCE4Args(sessionID: session, sequenceID: 1, slotID: 1, highestSlotID: 1, cacheThis: true)
        guard case .execute(let result) = try state.sequence(args, operationCount: 2, requestDigest: 42, now: self.start) else {
            return XCTFail("new request")
        }
        XCTAssertEqual(result.highestSlotID, 3)
        // The retry arrives while the first is still being executed.
        XCTAssertThrowsError(try state.sequence(args, operationCount: 2, requestDigest: 42, now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .delay)
        }
        state.complete(session: session, slot: 1, reply: ByteBuffer(bytes: [1, 2, 3]))
        guard case .replay(let cached) = try state.sequence(args, operationCount: 2, requestDigest: 42, now: self.start) else {
            return XCTFail("replay")
        }
        XCTAssertEqual(Array(cached.readableBytesView), [1, 2, 3])
        var tooMany = args
        tooMany.sequenceID = 2
        XCTAssertThrowsError(try state.sequence(tooMany, operationCount: 17, requestDigest: 1, now: self.start)) {
            XCTAssertEqual($0 as? NFS4Status, .tooManyOperations)
        }
        // SEQUENCE renews the lease: 80 s later, and 80 s after that, the client is still there.
        var renew = args
        renew.slotID = 0
        _ = try state.sequence(renew, operationCount: 1, requestDigest: 5, now: self.start + .seconds(80))
        state.complete(session: session, slot: 0, reply: ByteBuffer())
        renew.sequenceID = 2
        XCTAssertNoThrow(try state.sequence(renew, operationCount: 1, requestDigest: 6, now: self.start + .seconds(160)))
        state.expireLeases(now: self.start + .seconds(251))
        XCTAssertEqual(state.clientCount, 0)
    }
}
