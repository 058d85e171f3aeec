import NIOCore
import Namespace

/// Byte-range locks (RFC 8881 §9): POSIX semantics between lock owners.
extension NFS4State {
    /// The first lock of another owner that conflicts with `range`.
    func conflict(file: FileID, owner: StateOwner4, range: LockedRange) -> LOCK4Denied? {
        for other in self.statesByFile[file] ?? [] {
            guard let record = self.states[other], record.owner != owner else { continue }
            for held in record.ranges where held.overlaps(range) && (held.isExclusive || range.isExclusive) {
                return LOCK4Denied(
                    offset: held.offset, length: held.length, type: held.isExclusive ? .write : .read, owner: record.owner
                )
            }
        }
        return nil
    }

    /// What LOCK did: the lock stateid, or who is in the way.
    public enum LockOutcome: Sendable, Equatable {
        case granted(StateID4)
        case denied(LOCK4Denied)
    }

    /// LOCK: a new lock owner starts from an open stateid; an existing one
    /// names its lock stateid. The owner's own ranges are merged POSIX
    /// style (the new range replaces whatever it overlaps).
    public mutating func lock(_ args: LOCK4Args, file: FileID, clientID: UInt64) throws(NFS4Status) -> LockOutcome {
        let range = try LockedRange(offset: args.offset, length: args.length, isExclusive: args.type.isExclusive)
        if args.reclaim { throw .noGrace }
        var record: StateRecord
        switch args.locker {
        case .newOwner(let openStateID, let owner):
            let open = try self.record(openStateID, clientID: clientID)
            guard open.isOpen, open.file == file else { throw .badStateID }
            guard owner.clientID == clientID else { throw .staleClientID }
            if let existing = (self.statesByFile[file] ?? []).compactMap({ self.states[$0] }).first(where: {
                !$0.isOpen && $0.owner == owner
            }) {
                record = existing
            } else {
                if let denied = self.conflict(file: file, owner: owner, range: range) { return .denied(denied) }
                record = StateRecord(
                    other: self.newOther(), seqid: 0, clientID: clientID, owner: owner, file: file,
                    kind: .lock(open: open.other, ranges: [])
                )
                guard let client = self.clients[clientID], client.stateIDs.count < self.limits.stateIDsPerClient,
                    self.states.count < self.limits.stateIDs
                else {
                    throw .noSpace
                }
                self.states[record.other] = record
                self.statesByFile[file, default: []].insert(record.other)
                self.clients[clientID]!.stateIDs.insert(record.other)
            }
        case .existingOwner(let lockStateID):
            record = try self.record(lockStateID, clientID: clientID)
            guard !record.isOpen, record.file == file else { throw .badStateID }
        }
        if let denied = self.conflict(file: file, owner: record.owner, range: range) { return .denied(denied) }
        guard case .lock(let open, let ranges) = record.kind else { throw .badStateID }
        var updated = ranges.flatMap { $0.subtracting(range) }
        updated.append(range)
        guard updated.count <= self.limits.rangesPerLock else { throw .noSpace }
        record.kind = .lock(open: open, ranges: updated)
        record.seqid &+= 1
        self.states[record.other] = record
        return .granted(record.stateID)
    }

    /// LOCKT: whether another owner's lock is in the way.
    public func testLock(_ args: LOCKT4Args, file: FileID, clientID: UInt64) throws(NFS4Status) -> LOCK4Denied? {
        let range = try LockedRange(offset: args.offset, length: args.length, isExclusive: args.type.isExclusive)
        guard args.owner.clientID == clientID else { throw .staleClientID }
        return self.conflict(file: file, owner: args.owner, range: range)
    }

    /// LOCKU: releases the range (unlocking what is not locked is fine).
    public mutating func unlock(_ args: LOCKU4Args, file: FileID, clientID: UInt64) throws(NFS4Status) -> StateID4 {
        let range = try LockedRange(offset: args.offset, length: args.length, isExclusive: false)
        var record = try self.record(args.stateID, clientID: clientID)
        guard case .lock(let open, let ranges) = record.kind, record.file == file else { throw .badStateID }
        record.kind = .lock(open: open, ranges: ranges.flatMap { $0.subtracting(range) })
        record.seqid &+= 1
        self.states[record.other] = record
        return record.stateID
    }
}
