/// A byte range of a lock: `length` bytes from `offset`, where a length of 0
/// means "to the end of the file, however far it grows".
public struct NLMRange: Hashable, Sendable, CustomStringConvertible {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }

    /// From `start` up to (not including) `end`; nil: to the end of the file.
    init(start: UInt64, end: UInt64?) {
        if let end {
            precondition(end > start, "an empty range is not a lock")
            self.init(offset: start, length: end - start)
        } else {
            self.init(offset: start, length: 0)
        }
    }

    /// The whole file.
    public static let wholeFile = NLMRange(offset: 0, length: 0)

    var start: UInt64 { self.offset }

    /// One past the last byte, or nil when the range runs to the end of the
    /// file. A range reaching past 2^64 runs to the end too.
    var end: UInt64? {
        guard self.length != 0 else { return nil }
        let (end, overflow) = self.offset.addingReportingOverflow(self.length)
        return overflow ? nil : end
    }

    /// Whether the two ranges share a byte.
    public func overlaps(_ other: NLMRange) -> Bool {
        Self.before(other.start, self.end) && Self.before(self.start, other.end)
    }

    /// Whether the two ranges overlap or meet end to start (so they can merge).
    func touches(_ other: NLMRange) -> Bool {
        Self.notAfter(other.start, self.end) && Self.notAfter(self.start, other.end)
    }

    /// Whether `self` covers every byte of `other`.
    public func contains(_ other: NLMRange) -> Bool {
        guard self.start <= other.start else { return false }
        guard let end = self.end else { return true }
        guard let otherEnd = other.end else { return false }
        return otherEnd <= end
    }

    /// The parts of `self` outside `other`: none, one or (when `other` lies
    /// strictly inside) two ranges.
    func subtracting(_ other: NLMRange) -> [NLMRange] {
        guard self.overlaps(other) else { return [self] }
        var pieces: [NLMRange] = []
        if self.start < other.start {
            pieces.append(NLMRange(start: self.start, end: other.start))
        }
        if let otherEnd = other.end, Self.before(otherEnd, self.end) {
            pieces.append(NLMRange(start: otherEnd, end: self.end))
        }
        return pieces
    }

    /// The smallest range covering both (meant for ranges that touch).
    func union(_ other: NLMRange) -> NLMRange {
        let end: UInt64? = if let a = self.end, let b = other.end { max(a, b) } else { nil }
        return NLMRange(start: min(self.start, other.start), end: end)
    }

    /// `value < end`, where a nil end is infinity.
    private static func before(_ value: UInt64, _ end: UInt64?) -> Bool {
        end.map { value < $0 } ?? true
    }

    /// `value <= end`, where a nil end is infinity.
    private static func notAfter(_ value: UInt64, _ end: UInt64?) -> Bool {
        end.map { value <= $0 } ?? true
    }

    public var description: String {
        self.length == 0 ? "[\(self.offset)-EOF)" : "[\(self.offset)+\(self.length))"
    }
}

/// Who holds a lock: a process (or the kernel's lock owner) on a client host.
///
/// NLM names the owner three ways at once; all three must match for two
/// calls to be the same owner, so two hosts that reuse a pid never share locks.
public struct NLMLockOwner: Hashable, Sendable, CustomStringConvertible {
    public var callerName: String
    public var svid: Int32
    public var ownerHandle: [UInt8]

    public init(callerName: String, svid: Int32, ownerHandle: [UInt8]) {
        self.callerName = callerName
        self.svid = svid
        self.ownerHandle = ownerHandle
    }

    public var description: String { "\(self.callerName)/\(self.svid)" }
}

/// A granted lock.
public struct NLMHeldLock: Hashable, Sendable, CustomStringConvertible {
    public var owner: NLMLockOwner
    public var range: NLMRange
    public var exclusive: Bool

    public init(owner: NLMLockOwner, range: NLMRange, exclusive: Bool) {
        self.owner = owner
        self.range = range
        self.exclusive = exclusive
    }

    /// Whether this lock stands in the way of `owner` taking `range`.
    func conflicts(owner: NLMLockOwner, range: NLMRange, exclusive: Bool) -> Bool {
        self.owner != owner && (self.exclusive || exclusive) && self.range.overlaps(range)
    }

    public var description: String { "\(self.exclusive ? "W" : "R")\(self.range) by \(self.owner)" }
}

/// What a LOCK, TEST, UNLOCK or CANCEL is about.
public struct NLMLockRequest: Hashable, Sendable {
    public var file: NFS3FileHandle
    public var owner: NLMLockOwner
    public var range: NLMRange
    public var exclusive: Bool

    public init(file: NFS3FileHandle, owner: NLMLockOwner, range: NLMRange, exclusive: Bool) {
        self.file = file
        self.owner = owner
        self.range = range
        self.exclusive = exclusive
    }
}

/// Where a client's lock manager listens for callbacks: its address as this
/// server saw it, and the address and port it reached this server at (a
/// callback must come from the address the client locked against).
public struct NLMCallbackAddress: Hashable, Sendable {
    public var host: String
    public var localHost: String?
    public var localPort: Int?

    public init(host: String, localHost: String? = nil, localPort: Int? = nil) {
        self.host = host
        self.localHost = localHost
        self.localPort = localPort
    }
}

/// A blocking LOCK that was answered NLM4_BLOCKED and waits in the queue,
/// with what the GRANTED callback needs once it is granted.
public struct NLMBlockedLock: Hashable, Sendable {
    public var request: NLMLockRequest
    /// The LOCK call's cookie, sent back in the GRANTED callback.
    public var cookie: [UInt8]
    /// The client's file handle bytes, sent back unchanged.
    public var fileHandle: [UInt8]
    public var callback: NLMCallbackAddress?
    /// Identifies this grant when the client's answer to the callback
    /// comes back (see `NLMLockTable.rejectGrant`); 0 while still blocked.
    public internal(set) var grantID: UInt64 = 0

    public init(request: NLMLockRequest, cookie: [UInt8], fileHandle: [UInt8], callback: NLMCallbackAddress?) {
        self.request = request
        self.cookie = cookie
        self.fileHandle = fileHandle
        self.callback = callback
    }
}

/// A share reservation (SHARE): DOS-style open modes.
public struct NLMShareReservation: Hashable, Sendable {
    public var callerName: String
    public var ownerHandle: [UInt8]
    public var mode: NLM4ShareMode
    public var access: NLM4ShareAccess

    public init(callerName: String, ownerHandle: [UInt8], mode: NLM4ShareMode, access: NLM4ShareAccess) {
        self.callerName = callerName
        self.ownerHandle = ownerHandle
        self.mode = mode
        self.access = access
    }

    /// One holder's access overlaps what the other denies.
    func conflicts(with other: NLMShareReservation) -> Bool {
        (self.access.rawValue & other.mode.rawValue) != 0 || (self.mode.rawValue & other.access.rawValue) != 0
    }

    func sameOwner(as other: NLMShareReservation) -> Bool {
        self.callerName == other.callerName && self.ownerHandle == other.ownerHandle
    }
}

/// The lock manager's state: granted byte-range locks, blocked requests
/// waiting for them, and share reservations, per file.
///
/// A plain value with POSIX `fcntl` semantics, so it is tested without
/// sockets:
///
/// - shared locks coexist; an exclusive one conflicts with every other
///   owner's lock on an overlapping range;
/// - an owner never conflicts with itself: a new lock replaces whatever the
///   owner held on that range (upgrade, downgrade), and neighbouring ranges
///   of one kind merge;
/// - unlocking part of a range leaves the rest (two pieces for the middle);
/// - blocked requests are granted in arrival order as soon as nothing
///   conflicts; every operation that frees bytes reports who was granted,
///   so the caller can send the GRANTED callbacks.
///
/// An owner's own locks on one file never overlap each other.
public struct NLMLockTable: Sendable {
    public struct Limits: Sendable {
        /// Granted locks across all files; past it LOCK answers NLM4_DENIED_NOLOCKS.
        public var locks: Int
        /// Blocked requests across all files.
        public var waiters: Int
        /// Share reservations across all files.
        public var shares: Int

        public init(locks: Int = 100_000, waiters: Int = 10_000, shares: Int = 10_000) {
            self.locks = locks
            self.waiters = waiters
            self.shares = shares
        }
    }

    /// What LOCK came to.
    public enum LockOutcome: Equatable, Sendable {
        case granted
        /// Someone else holds a conflicting lock (returned for information).
        case denied(NLMHeldLock)
        /// Queued: granted later, reported by the operation that frees the range.
        case blocked
        /// A limit was reached.
        case noLocks
    }

    public let limits: Limits
    private var locks: [NFS3FileHandle: [NLMHeldLock]] = [:]
    private var waiters: [NFS3FileHandle: [NLMBlockedLock]] = [:]
    private var shares: [NFS3FileHandle: [NLMShareReservation]] = [:]
    /// Grants made from the queue whose GRANTED callback has not been
    /// confirmed, by the request granted; see `rejectGrant`.
    private var unconfirmedGrants: [NLMLockRequest: UInt64] = [:]
    private var lockCount = 0
    private var waiterCount = 0
    private var shareCount = 0
    private var lastGrantID: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    // MARK: Inspection

    /// The granted locks on a file, ordered by owner and offset.
    public func locks(on file: NFS3FileHandle) -> [NLMHeldLock] {
        self.locks[file, default: []]
    }

    /// The blocked requests on a file, in arrival order.
    public func waiters(on file: NFS3FileHandle) -> [NLMBlockedLock] {
        self.waiters[file, default: []]
    }

    public func shares(on file: NFS3FileHandle) -> [NLMShareReservation] {
        self.shares[file, default: []]
    }

    public var totalLocks: Int { self.lockCount }
    public var totalWaiters: Int { self.waiterCount }
    public var totalShares: Int { self.shareCount }
    public var isEmpty: Bool { self.lockCount == 0 && self.waiterCount == 0 && self.shareCount == 0 }

    // MARK: Byte-range locks

    /// TEST: the first lock of another owner that would conflict, if any.
    public func test(_ request: NLMLockRequest) -> NLMHeldLock? {
        self.conflict(for: request)
    }

    /// LOCK: grants when nothing conflicts; otherwise denies, or (when
    /// `blocking`) queues `waiter` and answers `.blocked`.
    ///
    /// Also returns the blocked requests this made grantable (a downgrade
    /// from exclusive to shared frees bytes for readers).
    public mutating func lock(
        _ request: NLMLockRequest, blocking: Bool = false, waiter: NLMBlockedLock? = nil
    ) -> (outcome: LockOutcome, granted: [NLMBlockedLock]) {
        if let holder = self.conflict(for: request) {
            guard blocking else { return (.denied(holder), []) }
            var queue = self.waiters[request.file, default: []]
            if let index = queue.firstIndex(where: { $0.request == request }) {
                // The client asking again (Linux re-polls every 30 s): same
                // place in the queue, freshest callback details.
                if let waiter { queue[index] = waiter }
            } else {
                guard self.waiterCount < self.limits.waiters else { return (.noLocks, []) }
                queue.append(waiter ?? NLMBlockedLock(request: request, cookie: [], fileHandle: request.file.bytes, callback: nil))
                self.waiterCount += 1
            }
            self.waiters[request.file] = queue
            return (.blocked, [])
        }
        guard self.apply(request) else { return (.noLocks, []) }
        // Granted on request: whatever the owner was waiting for on this
        // range is settled, and an earlier callback needs no confirmation.
        self.removeWaiters(on: request.file) { $0.request == request }
        self.unconfirmedGrants.removeValue(forKey: request)
        return (.granted, self.grantWaiters(on: request.file))
    }

    /// UNLOCK: releases the owner's locks on `range` (splitting ranges that
    /// stick out of it) and drops the owner's blocked requests that overlap
    /// it. Unlocking what is not locked is not an error.
    public mutating func unlock(file: NFS3FileHandle, owner: NLMLockOwner, range: NLMRange) -> [NLMBlockedLock] {
        self.removeWaiters(on: file) { $0.request.owner == owner && $0.request.range.overlaps(range) }
        self.unconfirmedGrants = self.unconfirmedGrants.filter { key, _ in
            !(key.file == file && key.owner == owner && key.range.overlaps(range))
        }
        var held = self.locks[file, default: []]
        let before = held.count
        held = held.flatMap { lock -> [NLMHeldLock] in
            guard lock.owner == owner, lock.range.overlaps(range) else { return [lock] }
            return lock.range.subtracting(range).map { NLMHeldLock(owner: owner, range: $0, exclusive: lock.exclusive) }
        }
        self.setLocks(held, on: file, previousCount: before)
        return self.grantWaiters(on: file)
    }

    /// CANCEL: removes a blocked request (matched by owner, range and mode).
    /// Returns whether one was queued.
    @discardableResult
    public mutating func cancel(_ request: NLMLockRequest) -> Bool {
        self.removeWaiters(on: request.file) { $0.request == request } > 0
    }

    /// FREE_ALL, or the client host restarted: drops every lock, blocked
    /// request and share of `callerName`, and grants what that frees.
    public mutating func freeAll(callerName: String) -> [NLMBlockedLock] {
        var granted: [NLMBlockedLock] = []
        for file in Set(self.locks.keys).union(self.waiters.keys) {
            self.removeWaiters(on: file) { $0.request.owner.callerName == callerName }
            let held = self.locks[file, default: []]
            self.setLocks(held.filter { $0.owner.callerName != callerName }, on: file, previousCount: held.count)
            granted += self.grantWaiters(on: file)
        }
        for file in Array(self.shares.keys) {
            let reservations = self.shares[file, default: []]
            self.setShares(reservations.filter { $0.callerName != callerName }, on: file, previousCount: reservations.count)
        }
        self.unconfirmedGrants = self.unconfirmedGrants.filter { key, _ in key.owner.callerName != callerName }
        return granted
    }

    /// The client answered a GRANTED callback with NLM4_DENIED: it no longer
    /// waits for the lock (it gave up, or never knew of it), so the grant is
    /// undone, unless the client has asked for that lock again since, in
    /// which case it holds it knowingly.
    public mutating func rejectGrant(_ grant: NLMBlockedLock) -> [NLMBlockedLock] {
        guard grant.grantID != 0, self.unconfirmedGrants[grant.request] == grant.grantID else { return [] }
        self.unconfirmedGrants.removeValue(forKey: grant.request)
        return self.unlock(file: grant.request.file, owner: grant.request.owner, range: grant.request.range)
    }

    /// The client accepted a GRANTED callback.
    public mutating func confirmGrant(_ grant: NLMBlockedLock) {
        if self.unconfirmedGrants[grant.request] == grant.grantID {
            self.unconfirmedGrants.removeValue(forKey: grant.request)
        }
    }

    // MARK: Share reservations

    /// SHARE: adds (or, for the same owner, replaces) a reservation; false
    /// when another owner's reservation conflicts.
    public mutating func share(file: NFS3FileHandle, _ reservation: NLMShareReservation) -> Bool {
        var reservations = self.shares[file, default: []]
        let before = reservations.count
        reservations.removeAll { $0.sameOwner(as: reservation) }
        guard !reservations.contains(where: { $0.conflicts(with: reservation) }) else { return false }
        guard self.shareCount - (before - reservations.count) < self.limits.shares else { return false }
        reservations.append(reservation)
        self.setShares(reservations, on: file, previousCount: before)
        return true
    }

    /// UNSHARE: removes the owner's reservation, if any.
    public mutating func unshare(file: NFS3FileHandle, callerName: String, ownerHandle: [UInt8]) {
        let reservations = self.shares[file, default: []]
        let kept = reservations.filter { !($0.callerName == callerName && $0.ownerHandle == ownerHandle) }
        self.setShares(kept, on: file, previousCount: reservations.count)
    }

    // MARK: Internals

    private func conflict(for request: NLMLockRequest) -> NLMHeldLock? {
        self.locks[request.file]?.first { $0.conflicts(owner: request.owner, range: request.range, exclusive: request.exclusive) }
    }

    /// Gives `request.owner` the lock, replacing what it held on the range
    /// and merging it with touching locks of the same kind. False (nothing
    /// changed) when that would pass the limit.
    private mutating func apply(_ request: NLMLockRequest) -> Bool {
        let held = self.locks[request.file, default: []]
        var others: [NLMHeldLock] = []
        var mine: [NLMHeldLock] = []
        for lock in held {
            if lock.owner != request.owner {
                others.append(lock)
            } else {
                mine += lock.range.subtracting(request.range).map {
                    NLMHeldLock(owner: lock.owner, range: $0, exclusive: lock.exclusive)
                }
            }
        }
        mine.append(NLMHeldLock(owner: request.owner, range: request.range, exclusive: request.exclusive))
        mine.sort { $0.range.start < $1.range.start }
        var merged: [NLMHeldLock] = []
        for lock in mine {
            if let last = merged.last, last.exclusive == lock.exclusive, last.range.touches(lock.range) {
                merged[merged.count - 1].range = last.range.union(lock.range)
            } else {
                merged.append(lock)
            }
        }
        let updated = others + merged
        guard self.lockCount - held.count + updated.count <= self.limits.locks else { return false }
        self.setLocks(updated, on: request.file, previousCount: held.count)
        return true
    }

    /// Grants, in arrival order, every blocked request on `file` that no
    /// longer conflicts, and returns them.
    private mutating func grantWaiters(on file: NFS3FileHandle) -> [NLMBlockedLock] {
        guard let queue = self.waiters[file], !queue.isEmpty else { return [] }
        var granted: [NLMBlockedLock] = []
        var remaining: [NLMBlockedLock] = []
        for var waiter in queue {
            if self.conflict(for: waiter.request) == nil, self.apply(waiter.request) {
                self.lastGrantID += 1
                waiter.grantID = self.lastGrantID
                self.unconfirmedGrants[waiter.request] = waiter.grantID
                granted.append(waiter)
            } else {
                remaining.append(waiter)
            }
        }
        self.waiterCount -= granted.count
        self.waiters[file] = remaining.isEmpty ? nil : remaining
        return granted
    }

    @discardableResult
    private mutating func removeWaiters(on file: NFS3FileHandle, where predicate: (NLMBlockedLock) -> Bool) -> Int {
        guard var queue = self.waiters[file] else { return 0 }
        let before = queue.count
        queue.removeAll(where: predicate)
        self.waiterCount -= before - queue.count
        self.waiters[file] = queue.isEmpty ? nil : queue
        return before - queue.count
    }

    private mutating func setLocks(_ held: [NLMHeldLock], on file: NFS3FileHandle, previousCount: Int) {
        self.lockCount += held.count - previousCount
        self.locks[file] = held.isEmpty ? nil : held
    }

    private mutating func setShares(_ reservations: [NLMShareReservation], on file: NFS3FileHandle, previousCount: Int) {
        self.shareCount += reservations.count - previousCount
        self.shares[file] = reservations.isEmpty ? nil : reservations
    }
}
