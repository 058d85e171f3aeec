import NFS3
import Namespace
import Testing

/// Short names for table tests.
private let fileA = NFS3FileHandle(fileID: FileID(rawValue: 0xA))
private let fileB = NFS3FileHandle(fileID: FileID(rawValue: 0xB))

private func owner(_ svid: Int32, host: String = "client1", oh: String? = nil) -> NLMLockOwner {
    NLMLockOwner(callerName: host, svid: svid, ownerHandle: Array((oh ?? "\(svid)@\(host)").utf8))
}

private let alice = owner(1)
private let bob = owner(2)
private let carol = owner(3, host: "client2")

private func range(_ offset: UInt64, _ length: UInt64) -> NLMRange {
    NLMRange(offset: offset, length: length)
}

private func request(_ owner: NLMLockOwner, _ offset: UInt64, _ length: UInt64, exclusive: Bool = true, file: NFS3FileHandle = fileA)
    -> NLMLockRequest
{
    NLMLockRequest(file: file, owner: owner, range: range(offset, length), exclusive: exclusive)
}

private func held(_ owner: NLMLockOwner, _ offset: UInt64, _ length: UInt64, exclusive: Bool = true) -> NLMHeldLock {
    NLMHeldLock(owner: owner, range: range(offset, length), exclusive: exclusive)
}

/// The table under test, by reference: `#expect` cannot wrap mutating calls.
private final class Table {
    var value: NLMLockTable

    init(limits: NLMLockTable.Limits = .init()) {
        self.value = NLMLockTable(limits: limits)
    }

    /// LOCK without blocking; true when granted.
    func take(_ request: NLMLockRequest) -> Bool {
        self.value.lock(request).outcome == .granted
    }

    func lock(_ request: NLMLockRequest) -> (outcome: NLMLockTable.LockOutcome, granted: [NLMBlockedLock]) {
        self.value.lock(request)
    }

    /// A blocking LOCK with a waiter that remembers a cookie.
    func wait(_ request: NLMLockRequest, cookie: UInt8 = 0) -> NLMLockTable.LockOutcome {
        let waiter = NLMBlockedLock(request: request, cookie: [cookie], fileHandle: request.file.bytes, callback: nil)
        return self.value.lock(request, blocking: true, waiter: waiter).outcome
    }

    func test(_ request: NLMLockRequest) -> NLMHeldLock? { self.value.test(request) }

    func unlock(file: NFS3FileHandle, owner: NLMLockOwner, range: NLMRange) -> [NLMBlockedLock] {
        self.value.unlock(file: file, owner: owner, range: range)
    }

    func cancel(_ request: NLMLockRequest) -> Bool { self.value.cancel(request) }
    func freeAll(callerName: String) -> [NLMBlockedLock] { self.value.freeAll(callerName: callerName) }
    func rejectGrant(_ grant: NLMBlockedLock) -> [NLMBlockedLock] { self.value.rejectGrant(grant) }
    func confirmGrant(_ grant: NLMBlockedLock) { self.value.confirmGrant(grant) }
    func share(file: NFS3FileHandle, _ reservation: NLMShareReservation) -> Bool { self.value.share(file: file, reservation) }

    func unshare(file: NFS3FileHandle, callerName: String, ownerHandle: [UInt8]) {
        self.value.unshare(file: file, callerName: callerName, ownerHandle: ownerHandle)
    }

    func locks(on file: NFS3FileHandle) -> [NLMHeldLock] { self.value.locks(on: file) }
    func waiters(on file: NFS3FileHandle) -> [NLMBlockedLock] { self.value.waiters(on: file) }
    func shares(on file: NFS3FileHandle) -> [NLMShareReservation] { self.value.shares(on: file) }
    var totalLocks: Int { self.value.totalLocks }
    var totalWaiters: Int { self.value.totalWaiters }
    var totalShares: Int { self.value.totalShares }
    var isEmpty: Bool { self.value.isEmpty }

    /// Locks on file A, sorted by owner then offset, for comparisons.
    var sortedA: [NLMHeldLock] {
        self.value.locks(on: fileA).sorted { ($0.owner.svid, $0.range.offset) < ($1.owner.svid, $1.range.offset) }
    }
}

@Suite("NLM ranges")
struct NLMRangeTests {
    @Test("overlap is by byte; a length of 0 runs to the end of the file")
    func overlaps() {
        #expect(range(0, 10).overlaps(range(9, 1)))
        #expect(!range(0, 10).overlaps(range(10, 5)))
        #expect(!range(10, 5).overlaps(range(0, 10)))
        #expect(range(100, 0).overlaps(range(1_000_000, 1)))
        #expect(!range(100, 0).overlaps(range(0, 100)))
        #expect(range(100, 0).overlaps(range(0, 101)))
        #expect(range(0, 0).overlaps(range(UInt64.max - 1, 1)))
        #expect(range(5, 0).overlaps(range(7, 0)))
    }

    @Test("a range reaching past 2^64 runs to the end of the file")
    func overflow() {
        let huge = range(UInt64.max - 5, 100)
        #expect(huge.overlaps(range(UInt64.max - 1, 1)))
        #expect(!huge.overlaps(range(0, UInt64.max - 5)))
        #expect(range(10, 0).contains(huge))
        #expect(huge.contains(range(UInt64.max - 2, 1)))
    }

    @Test("containment")
    func contains() {
        #expect(range(0, 0).contains(range(5, 10)))
        #expect(range(0, 20).contains(range(5, 10)))
        #expect(!range(0, 14).contains(range(5, 10)))
        #expect(!range(0, 100).contains(range(5, 0)))
        #expect(range(5, 0).contains(range(5, 0)))
        #expect(!range(6, 0).contains(range(5, 0)))
    }
}

@Suite("NLM lock table")
struct NLMLockTableTests {
    @Test("shared locks coexist; an exclusive lock conflicts with any other owner's")
    func sharedAndExclusive() {
        let table = Table()
        #expect(table.take(request(alice, 0, 100, exclusive: false)))
        #expect(table.take(request(bob, 50, 100, exclusive: false)))
        #expect(table.test(request(carol, 0, 10, exclusive: false)) == nil)

        // An exclusive request runs into the first shared holder it overlaps.
        #expect(table.test(request(carol, 120, 10)) == held(bob, 50, 100, exclusive: false))
        #expect(table.lock(request(carol, 0, 10)).outcome == .denied(held(alice, 0, 100, exclusive: false)))
        // Beyond both: free.
        #expect(table.take(request(carol, 150, 10)))
        // A shared request runs into the exclusive one.
        #expect(table.test(request(alice, 155, 1, exclusive: false)) == held(carol, 150, 10))
        #expect(table.totalLocks == 3)
    }

    @Test("locks on different files never conflict")
    func separateFiles() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.take(request(bob, 0, 0, file: fileB)))
        #expect(table.test(request(bob, 0, 0)) == held(alice, 0, 0))
        #expect(table.locks(on: fileB) == [held(bob, 0, 0)])
    }

    @Test("a length of 0 locks to the end of the file")
    func toEndOfFile() {
        let table = Table()
        #expect(table.take(request(alice, 100, 0)))
        #expect(table.test(request(bob, 1 << 40, 1)) == held(alice, 100, 0))
        #expect(table.test(request(bob, 99, 2)) == held(alice, 100, 0))
        #expect(table.test(request(bob, 0, 100)) == nil)
        #expect(table.take(request(bob, 0, 100)))
        #expect(!table.take(request(carol, 0, 0)))
    }

    @Test("owners are told apart by host, svid and owner handle")
    func ownerIdentity() {
        let table = Table()
        #expect(table.take(request(owner(7), 0, 10)))
        // Same pid on another host, and a different owner handle on the same host.
        #expect(!table.take(request(owner(7, host: "client2"), 0, 10)))
        #expect(!table.take(request(owner(7, oh: "other"), 0, 10)))
        // The same owner again: no conflict with itself.
        #expect(table.take(request(owner(7), 5, 10)))
        #expect(table.locks(on: fileA) == [held(owner(7), 0, 15)])
    }

    @Test("an upgrade replaces the middle of a shared range; a downgrade goes back")
    func upgradeAndDowngrade() {
        let table = Table()
        #expect(table.take(request(alice, 0, 100, exclusive: false)))
        #expect(table.take(request(alice, 40, 20, exclusive: true)))
        #expect(table.sortedA == [held(alice, 0, 40, exclusive: false), held(alice, 40, 20), held(alice, 60, 40, exclusive: false)])
        // Another reader may share the shared parts only.
        #expect(table.test(request(bob, 10, 10, exclusive: false)) == nil)
        #expect(table.test(request(bob, 45, 1, exclusive: false)) == held(alice, 40, 20))

        // Downgrading merges the three pieces back into one shared range.
        #expect(table.take(request(alice, 40, 20, exclusive: false)))
        #expect(table.sortedA == [held(alice, 0, 100, exclusive: false)])

        // Upgrading the whole file replaces everything.
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.sortedA == [held(alice, 0, 0)])
    }

    @Test("an upgrade is refused while another owner shares the range")
    func upgradeBlockedByReader() {
        let table = Table()
        #expect(table.take(request(alice, 0, 100, exclusive: false)))
        #expect(table.take(request(bob, 90, 20, exclusive: false)))
        #expect(table.lock(request(alice, 0, 100)).outcome == .denied(held(bob, 90, 20, exclusive: false)))
        // The refused upgrade left the shared lock alone.
        #expect(table.sortedA == [held(alice, 0, 100, exclusive: false), held(bob, 90, 20, exclusive: false)])
    }

    @Test("touching ranges of one kind merge; others stay apart")
    func merging() {
        let table = Table()
        #expect(table.take(request(alice, 0, 10)))
        #expect(table.take(request(alice, 20, 10)))
        #expect(table.sortedA == [held(alice, 0, 10), held(alice, 20, 10)])
        #expect(table.take(request(alice, 10, 10)))
        #expect(table.sortedA == [held(alice, 0, 30)])
        #expect(table.take(request(alice, 30, 10, exclusive: false)))
        #expect(table.sortedA == [held(alice, 0, 30), held(alice, 30, 10, exclusive: false)])
        #expect(table.take(request(alice, 25, 0)))
        #expect(table.sortedA == [held(alice, 0, 0)])
        #expect(table.totalLocks == 1)
    }

    @Test("unlocking the middle of a range leaves two")
    func splitOnUnlock() {
        let table = Table()
        #expect(table.take(request(alice, 0, 100)))
        #expect(table.unlock(file: fileA, owner: alice, range: range(40, 20)).isEmpty)
        #expect(table.sortedA == [held(alice, 0, 40), held(alice, 60, 40)])
        #expect(table.take(request(bob, 40, 20)))
        #expect(table.totalLocks == 3)

        // The head, the tail, then what is left.
        _ = table.unlock(file: fileA, owner: alice, range: range(0, 10))
        _ = table.unlock(file: fileA, owner: alice, range: range(90, 0))
        #expect(table.sortedA == [held(alice, 10, 30), held(alice, 60, 30), held(bob, 40, 20)])
        _ = table.unlock(file: fileA, owner: alice, range: .wholeFile)
        #expect(table.sortedA == [held(bob, 40, 20)])
    }

    @Test("unlocking the middle of a lock to the end of the file")
    func splitToEndOfFile() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0, exclusive: false)))
        _ = table.unlock(file: fileA, owner: alice, range: range(10, 10))
        #expect(table.sortedA == [held(alice, 0, 10, exclusive: false), held(alice, 20, 0, exclusive: false)])
        _ = table.unlock(file: fileA, owner: alice, range: range(1_000, 0))
        #expect(table.sortedA == [held(alice, 0, 10, exclusive: false), held(alice, 20, 980, exclusive: false)])
    }

    @Test("unlocking touches only the owner's locks, and nothing held is no error")
    func unlockOthers() {
        let table = Table()
        #expect(table.take(request(alice, 0, 10, exclusive: false)))
        #expect(table.take(request(bob, 0, 10, exclusive: false)))
        _ = table.unlock(file: fileA, owner: carol, range: .wholeFile)
        _ = table.unlock(file: fileB, owner: alice, range: .wholeFile)
        #expect(table.totalLocks == 2)
        _ = table.unlock(file: fileA, owner: bob, range: .wholeFile)
        #expect(table.sortedA == [held(alice, 0, 10, exclusive: false)])
        _ = table.unlock(file: fileA, owner: alice, range: range(0, 10))
        #expect(table.isEmpty)
    }

    @Test("a blocking request queues, and is granted when the holder unlocks")
    func blockedThenGranted() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 10, 10), cookie: 1) == .blocked)
        #expect(table.wait(request(carol, 15, 10), cookie: 2) == .blocked)
        #expect(table.waiters(on: fileA).map(\.cookie) == [[UInt8(1)], [UInt8(2)]])
        #expect(table.totalWaiters == 2)

        // Freeing bytes 0..<5 helps neither.
        #expect(table.unlock(file: fileA, owner: alice, range: range(0, 5)).isEmpty)

        // Freeing the rest grants bob, who arrived first; carol overlaps him.
        let granted = table.unlock(file: fileA, owner: alice, range: .wholeFile)
        #expect(granted.map(\.request) == [request(bob, 10, 10)])
        #expect(granted.map(\.cookie) == [[UInt8(1)]])
        #expect(table.sortedA == [held(bob, 10, 10)])
        #expect(table.waiters(on: fileA).map(\.request) == [request(carol, 15, 10)])

        let next = table.unlock(file: fileA, owner: bob, range: .wholeFile)
        #expect(next.map(\.request) == [request(carol, 15, 10)])
        #expect(table.sortedA == [held(carol, 15, 10)])
        #expect(table.totalWaiters == 0)
    }

    @Test("shared waiters are granted together")
    func sharedWaitersTogether() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 0, exclusive: false)) == .blocked)
        #expect(table.wait(request(carol, 0, 0, exclusive: false)) == .blocked)
        let granted = table.unlock(file: fileA, owner: alice, range: .wholeFile)
        #expect(granted.map(\.request.owner) == [bob, carol])
        #expect(table.totalLocks == 2)
    }

    @Test("a downgrade grants waiting readers")
    func downgradeGrants() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 10, exclusive: false)) == .blocked)
        let (outcome, granted) = table.lock(request(alice, 0, 0, exclusive: false))
        #expect(outcome == .granted)
        #expect(granted.map(\.request) == [request(bob, 0, 10, exclusive: false)])
    }

    @Test("asking again while blocked keeps one place in the queue; once granted, LOCK answers granted")
    func repoll() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 0), cookie: 1) == .blocked)
        #expect(table.wait(request(carol, 0, 0), cookie: 2) == .blocked)
        #expect(table.wait(request(bob, 0, 0), cookie: 3) == .blocked)
        #expect(table.waiters(on: fileA).map(\.cookie) == [[UInt8(3)], [UInt8(2)]])

        let granted = table.unlock(file: fileA, owner: alice, range: .wholeFile)
        #expect(granted.map(\.request.owner) == [bob])
        // bob never heard of the grant and polls: granted at once.
        #expect(table.wait(request(bob, 0, 0), cookie: 4) == .granted)
        #expect(table.sortedA == [held(bob, 0, 0)])
        #expect(table.waiters(on: fileA).map(\.request.owner) == [carol])
    }

    @Test("CANCEL removes a blocked request, matched by owner, range and mode")
    func cancel() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 10)) == .blocked)
        #expect(table.wait(request(carol, 0, 10)) == .blocked)
        #expect(!table.cancel(request(bob, 0, 11)))
        #expect(!table.cancel(request(bob, 0, 10, exclusive: false)))
        #expect(table.cancel(request(bob, 0, 10)))
        #expect(!table.cancel(request(bob, 0, 10)))
        #expect(table.waiters(on: fileA).map(\.request.owner) == [carol])
        #expect(table.unlock(file: fileA, owner: alice, range: .wholeFile).map(\.request.owner) == [carol])
    }

    @Test("unlocking drops the owner's own blocked requests on the range")
    func unlockDropsOwnWaiters() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 10)) == .blocked)
        _ = table.unlock(file: fileA, owner: bob, range: .wholeFile)
        #expect(table.totalWaiters == 0)
        #expect(table.unlock(file: fileA, owner: alice, range: .wholeFile).isEmpty)
    }

    @Test("FREE_ALL drops a host's locks, waiters and shares, and grants what waited")
    func freeAll() {
        let table = Table()
        let alice2 = owner(9)
        #expect(table.take(request(alice, 0, 10)))
        #expect(table.take(request(alice2, 0, 10, file: fileB)))
        #expect(table.wait(request(carol, 0, 0)) == .blocked)
        #expect(table.wait(request(bob, 0, 0, file: fileB)) == .blocked)  // bob is on client1 too
        #expect(table.share(file: fileA, NLMShareReservation(callerName: "client1", ownerHandle: [1], mode: .denyWrite, access: .read)))
        #expect(table.share(file: fileA, NLMShareReservation(callerName: "client2", ownerHandle: [1], mode: .denyNone, access: .read)))

        let granted = table.freeAll(callerName: "client1")
        #expect(granted.map(\.request) == [request(carol, 0, 0)])
        #expect(table.sortedA == [held(carol, 0, 0)])
        #expect(table.locks(on: fileB).isEmpty)
        #expect(table.totalWaiters == 0)
        #expect(table.shares(on: fileA).map(\.callerName) == ["client2"])
        #expect(table.freeAll(callerName: "nobody").isEmpty)
        #expect(table.totalLocks == 1)
    }

    @Test("a client that refuses a GRANTED callback gives the lock back, unless it asked again since")
    func rejectedGrant() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 0)) == .blocked)
        #expect(table.wait(request(carol, 0, 0)) == .blocked)
        let grant = table.unlock(file: fileA, owner: alice, range: .wholeFile)[0]
        #expect(grant.grantID != 0)

        // bob refuses: his lock goes, carol's is granted in turn.
        let next = table.rejectGrant(grant)
        #expect(next.map(\.request.owner) == [carol])
        #expect(table.sortedA == [held(carol, 0, 0)])
        // A second answer to the same callback changes nothing.
        #expect(table.rejectGrant(grant).isEmpty)

        // carol polls before her callback's answer comes back: she keeps it.
        #expect(table.wait(request(carol, 0, 0)) == .granted)
        #expect(table.rejectGrant(next[0]).isEmpty)
        #expect(table.sortedA == [held(carol, 0, 0)])
    }

    @Test("a confirmed grant cannot be undone")
    func confirmedGrant() {
        let table = Table()
        #expect(table.take(request(alice, 0, 0)))
        #expect(table.wait(request(bob, 0, 0)) == .blocked)
        let grant = table.unlock(file: fileA, owner: alice, range: .wholeFile)[0]
        table.confirmGrant(grant)
        #expect(table.rejectGrant(grant).isEmpty)
        #expect(table.sortedA == [held(bob, 0, 0)])
    }

    @Test("limits: no more locks or waiters than allowed")
    func limits() {
        let table = Table(limits: .init(locks: 2, waiters: 1, shares: 1))
        #expect(table.take(request(alice, 0, 10)))
        #expect(table.take(request(alice, 20, 10)))
        #expect(table.lock(request(alice, 40, 10)).outcome == .noLocks)
        // Merging needs no extra entry.
        #expect(table.take(request(alice, 10, 10)))
        #expect(table.take(request(alice, 40, 10)))
        #expect(table.wait(request(bob, 0, 1)) == .blocked)
        #expect(table.wait(request(carol, 0, 1)) == .noLocks)
        #expect(table.share(file: fileA, NLMShareReservation(callerName: "a", ownerHandle: [], mode: .denyNone, access: .read)))
        #expect(!table.share(file: fileB, NLMShareReservation(callerName: "b", ownerHandle: [], mode: .denyNone, access: .read)))
        // Replacing one's own reservation is not a new one.
        #expect(table.share(file: fileA, NLMShareReservation(callerName: "a", ownerHandle: [], mode: .denyWrite, access: .read)))
    }

    @Test("share reservations: deny modes against access, per owner")
    func shares() {
        let table = Table()
        let reader = NLMShareReservation(callerName: "pc1", ownerHandle: [1], mode: .denyNone, access: .read)
        let exclusiveReader = NLMShareReservation(callerName: "pc2", ownerHandle: [2], mode: .denyRead, access: .read)
        let denyWriter = NLMShareReservation(callerName: "pc3", ownerHandle: [3], mode: .denyWrite, access: .read)
        #expect(table.share(file: fileA, reader))
        #expect(table.share(file: fileA, denyWriter))
        #expect(!table.share(file: fileA, exclusiveReader))
        table.unshare(file: fileA, callerName: "pc1", ownerHandle: [1])
        table.unshare(file: fileA, callerName: "pc3", ownerHandle: [3])
        #expect(table.share(file: fileA, exclusiveReader))
        #expect(!table.share(file: fileA, reader))
        #expect(table.share(file: fileB, reader))
        // The same owner replaces its own reservation.
        #expect(table.share(file: fileA, NLMShareReservation(callerName: "pc2", ownerHandle: [2], mode: .denyNone, access: .read)))
        #expect(table.share(file: fileA, reader))
        #expect(table.totalShares == 3)
    }
}
