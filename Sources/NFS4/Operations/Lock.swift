import NIOCore
import XDR

/// `nfs_lock_type4`: the W variants only say the client would wait.
public enum LockType4: UInt32, Sendable {
    case read = 1
    case write = 2
    case readWait = 3
    case writeWait = 4

    public var isExclusive: Bool { self == .write || self == .writeWait }
}

/// LOCK4args (RFC 8881 §18.10).
public struct LOCK4Args: Sendable, Equatable {
    public enum Locker: Sendable, Equatable {
        /// A lock owner new to the server, with the open it locks under.
        case newOwner(openStateID: StateID4, owner: StateOwner4)
        /// A lock owner that already has a lock stateid for the file.
        case existingOwner(lockStateID: StateID4)
    }

    public var type: LockType4
    public var reclaim: Bool
    public var offset: UInt64
    public var length: UInt64
    public var locker: Locker

    public init(type: LockType4, reclaim: Bool = false, offset: UInt64, length: UInt64, locker: Locker) {
        self.type = type
        self.reclaim = reclaim
        self.offset = offset
        self.length = length
        self.locker = locker
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.type = try buffer.readXDREnum(LockType4.self)
        self.reclaim = try buffer.readXDRBool()
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
        if try buffer.readXDRBool() {
            _ = try buffer.readXDRUInt32()  // open_seqid
            let open = try StateID4(xdr: &buffer)
            _ = try buffer.readXDRUInt32()  // lock_seqid
            self.locker = .newOwner(openStateID: open, owner: try StateOwner4(xdr: &buffer))
        } else {
            let lock = try StateID4(xdr: &buffer)
            _ = try buffer.readXDRUInt32()  // lock_seqid
            self.locker = .existingOwner(lockStateID: lock)
        }
    }
}

/// LOCKT4args.
public struct LOCKT4Args: Sendable, Equatable {
    public var type: LockType4
    public var offset: UInt64
    public var length: UInt64
    public var owner: StateOwner4

    public init(type: LockType4, offset: UInt64, length: UInt64, owner: StateOwner4) {
        self.type = type
        self.offset = offset
        self.length = length
        self.owner = owner
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.type = try buffer.readXDREnum(LockType4.self)
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
        self.owner = try StateOwner4(xdr: &buffer)
    }
}

/// LOCKU4args.
public struct LOCKU4Args: Sendable, Equatable {
    public var type: LockType4
    public var stateID: StateID4
    public var offset: UInt64
    public var length: UInt64

    public init(type: LockType4, stateID: StateID4, offset: UInt64, length: UInt64) {
        self.type = type
        self.stateID = stateID
        self.offset = offset
        self.length = length
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.type = try buffer.readXDREnum(LockType4.self)
        _ = try buffer.readXDRUInt32()  // seqid
        self.stateID = try StateID4(xdr: &buffer)
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
    }
}

/// LOCK4denied: who holds the conflicting lock.
public struct LOCK4Denied: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64
    public var type: LockType4
    public var owner: StateOwner4

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.offset) + buffer.writeXDRUInt64(self.length) + buffer.writeXDRUInt32(self.type.rawValue)
            + self.owner.encode(into: &buffer)
    }
}

extension NFSv4Program {
    /// LOCK (RFC 8881 §18.10). A conflict is NFS4ERR_DENIED with the
    /// holder's range and owner; the client polls for the W variants.
    func lock(_ args: LOCK4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let file = try context.currentNode()
        guard file.kind == .regular else { throw file.kind == .directory ? .isDirectory : .invalid }
        var args = args
        switch args.locker {
        case .newOwner(let open, let owner): args.locker = .newOwner(openStateID: try context.resolve(open), owner: owner)
        case .existingOwner(let lock): args.locker = .existingOwner(lockStateID: try context.resolve(lock))
        }
        let outcome = try self.withState { state throws(NFS4Status) in
            try state.lock(args, file: file.fileID, clientID: client)
        }
        switch outcome {
        case .granted(let stateID):
            context.currentStateID = stateID
            stateID.encode(into: &body)
        case .denied(let denied):
            denied.encode(into: &body)
            context.status = .denied
        }
    }

    /// LOCKT (§18.11).
    func lockTest(_ args: LOCKT4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let file = try context.currentNode()
        guard file.kind == .regular else { throw file.kind == .directory ? .isDirectory : .invalid }
        let denied = try self.withState { state throws(NFS4Status) in
            try state.testLock(args, file: file.fileID, clientID: client)
        }
        if let denied {
            denied.encode(into: &body)
            context.status = .denied
        }
    }

    /// LOCKU (§18.12).
    func unlock(_ args: LOCKU4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let file = try context.currentNode()
        var args = args
        args.stateID = try context.resolve(args.stateID)
        let stateID = try self.withState { state throws(NFS4Status) in
            try state.unlock(args, file: file.fileID, clientID: client)
        }
        context.currentStateID = stateID
        stateID.encode(into: &body)
    }
}
