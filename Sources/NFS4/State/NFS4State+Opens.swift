import NIOCore
import Namespace

/// Opens (share reservations) and stateid checks.
extension NFS4State {
    mutating func newOther() -> StateID4.Other {
        self.nextState &+= 1
        return StateID4.Other(boot: self.boot, counter: self.nextState)
    }

    mutating func removeState(_ other: StateID4.Other) {
        guard let record = self.states.removeValue(forKey: other) else { return }
        self.statesByFile[record.file]?.remove(other)
        if self.statesByFile[record.file]?.isEmpty == true {
            self.statesByFile.removeValue(forKey: record.file)
        }
        self.clients[record.clientID]?.stateIDs.remove(other)
    }

    private mutating func insertState(_ record: StateRecord) throws(NFS4Status) {
        guard let client = self.clients[record.clientID] else { throw .staleClientID }
        guard client.stateIDs.count < self.limits.stateIDsPerClient, self.states.count < self.limits.stateIDs else { throw .noSpace }
        self.states[record.other] = record
        self.statesByFile[record.file, default: []].insert(record.other)
        self.clients[record.clientID]!.stateIDs.insert(record.other)
    }

    /// OPEN for reading (RFC 8881 §18.16): one stateid per open owner and
    /// file; opening again adds to its access and bumps its seqid. Share
    /// deny bits of other owners are honoured (NFS4ERR_SHARE_DENIED).
    public mutating func open(
        file: FileID, owner: StateOwner4, access: UInt32, deny: UInt32, clientID: UInt64
    ) throws(NFS4Status) -> StateID4 {
        guard owner.clientID == clientID else { throw .staleClientID }
        guard access & ShareBits.accessMask != 0, access & ShareBits.accessMask == access, deny & ~ShareBits.both == 0 else {
            throw .invalid
        }
        var existing: StateRecord?
        for other in self.statesByFile[file] ?? [] {
            guard let record = self.states[other], case .open(let otherAccess, let otherDeny) = record.kind else { continue }
            if record.owner == owner {
                existing = record
                continue
            }
            if otherAccess & deny != 0 || otherDeny & access != 0 { throw .shareDenied }
        }
        if var record = existing, case .open(let oldAccess, let oldDeny) = record.kind {
            record.kind = .open(access: oldAccess | access, deny: oldDeny | deny)
            record.seqid &+= 1
            self.states[record.other] = record
            return record.stateID
        }
        let record = StateRecord(
            other: self.newOther(), seqid: 1, clientID: clientID, owner: owner, file: file, kind: .open(access: access, deny: deny)
        )
        try self.insertState(record)
        return record.stateID
    }

    /// The record a client's stateid names, with RFC 8881 §8.2.2's checks:
    /// seqid 0 means "the current one", an older seqid is
    /// NFS4ERR_OLD_STATEID and a newer one NFS4ERR_BAD_STATEID.
    func record(_ stateID: StateID4, clientID: UInt64) throws(NFS4Status) -> StateRecord {
        guard let record = self.states[stateID.other], record.clientID == clientID else {
            throw stateID.other.boot != self.boot && !stateID.isSpecial ? .staleStateID : .badStateID
        }
        if stateID.seqid != 0 {
            if stateID.seqid > record.seqid { throw .badStateID }
            if stateID.seqid < record.seqid { throw .oldStateID }
        }
        return record
    }

    /// CLOSE: ends the open; lock stateids under it go too, unless they
    /// still hold locks (NFS4ERR_LOCKS_HELD).
    public mutating func close(_ stateID: StateID4, file: FileID, clientID: UInt64) throws(NFS4Status) -> StateID4 {
        let record = try self.record(stateID, clientID: clientID)
        guard record.isOpen else { throw .badStateID }
        guard record.file == file else { throw .badStateID }
        let locks = (self.statesByFile[file] ?? []).compactMap { self.states[$0] }.filter {
            if case .lock(let open, _) = $0.kind { return open == record.other }
            return false
        }
        guard locks.allSatisfy({ $0.ranges.isEmpty }) else { throw .locksHeld }
        for lock in locks { self.removeState(lock.other) }
        self.removeState(record.other)
        // RFC 8881 §18.2.4: the stateid returned by CLOSE is meaningless.
        return StateID4(seqid: record.seqid &+ 1, other: .zero)
    }

    /// OPEN_DOWNGRADE: access and deny may only shrink.
    public mutating func openDowngrade(
        _ stateID: StateID4, file: FileID, access: UInt32, deny: UInt32, clientID: UInt64
    ) throws(NFS4Status) -> StateID4 {
        var record = try self.record(stateID, clientID: clientID)
        guard case .open(let oldAccess, let oldDeny) = record.kind, record.file == file else { throw .badStateID }
        guard access & ShareBits.accessMask != 0, access & ~oldAccess == 0, deny & ~oldDeny == 0 else { throw .invalid }
        record.kind = .open(access: access, deny: deny)
        record.seqid &+= 1
        self.states[record.other] = record
        return record.stateID
    }

    /// Whether READ may use `stateID` on `file`: the special stateids, or
    /// an open or lock stateid of this client for that file.
    public func checkRead(_ stateID: StateID4, file: FileID, clientID: UInt64) throws(NFS4Status) {
        if stateID.isSpecial { return }
        let record = try self.record(stateID, clientID: clientID)
        guard record.file == file else { throw .badStateID }
    }

    /// TEST_STATEID: each stateid's status for this client.
    public func testStateIDs(_ stateIDs: [StateID4], clientID: UInt64) -> [NFS4Status] {
        stateIDs.map { stateID in
            if stateID.isSpecial { return .badStateID }
            do throws(NFS4Status) {
                _ = try self.record(stateID, clientID: clientID)
                return .ok
            } catch {
                return error
            }
        }
    }

    /// FREE_STATEID: only a lock stateid without locks can be freed.
    public mutating func freeStateID(_ stateID: StateID4, clientID: UInt64) throws(NFS4Status) {
        let record = try self.record(stateID, clientID: clientID)
        guard case .lock(_, let ranges) = record.kind, ranges.isEmpty else { throw .locksHeld }
        self.removeState(record.other)
    }
}
