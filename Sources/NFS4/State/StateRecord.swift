import Namespace

/// One open or lock stateid's state.
struct StateRecord: Sendable {
    enum Kind: Sendable {
        /// An open owner's share reservation on a file.
        case open(access: UInt32, deny: UInt32)
        /// A lock owner's locked ranges, under the open it was created by.
        case lock(open: StateID4.Other, ranges: [LockedRange])
    }

    var other: StateID4.Other
    var seqid: UInt32
    var clientID: UInt64
    var owner: StateOwner4
    var file: FileID
    var kind: Kind

    var stateID: StateID4 { StateID4(seqid: self.seqid, other: self.other) }

    var isOpen: Bool {
        if case .open = self.kind { return true }
        return false
    }

    var ranges: [LockedRange] {
        if case .lock(_, let ranges) = self.kind { return ranges }
        return []
    }
}

/// A locked byte range: `first...last`, inclusive, so a lock "to the end
/// of the file" (length all ones) is representable.
public struct LockedRange: Hashable, Sendable {
    public var first: UInt64
    public var last: UInt64
    public var isExclusive: Bool

    /// RFC 8881 §18.10.4: a zero length, or one that runs past 2^64 - 1
    /// without being "all ones", is NFS4ERR_INVAL.
    public init(offset: UInt64, length: UInt64, isExclusive: Bool) throws(NFS4Status) {
        guard length != 0 else { throw .invalid }
        self.first = offset
        if length == .max {
            self.last = .max
        } else {
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow || end == 0 else { throw .invalid }
            self.last = end &- 1
        }
        self.isExclusive = isExclusive
    }

    init(first: UInt64, last: UInt64, isExclusive: Bool) {
        self.first = first
        self.last = last
        self.isExclusive = isExclusive
    }

    func overlaps(_ other: LockedRange) -> Bool {
        self.first <= other.last && other.first <= self.last
    }

    var offset: UInt64 { self.first }
    var length: UInt64 { self.last == .max ? .max : self.last - self.first + 1 }

    /// What remains of this range once `other` is taken out of it.
    func subtracting(_ other: LockedRange) -> [LockedRange] {
        guard self.overlaps(other) else { return [self] }
        var pieces: [LockedRange] = []
        if other.first > self.first {
            pieces.append(LockedRange(first: self.first, last: other.first - 1, isExclusive: self.isExclusive))
        }
        if other.last < self.last {
            pieces.append(LockedRange(first: other.last + 1, last: self.last, isExclusive: self.isExclusive))
        }
        return pieces
    }
}
