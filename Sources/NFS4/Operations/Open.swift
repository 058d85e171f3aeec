import NIOCore
import XDR

/// `state_owner4` (open_owner4, lock_owner4): a client ID and the client's
/// opaque name for the owner.
public struct StateOwner4: Hashable, Sendable, CustomStringConvertible {
    public var clientID: UInt64
    public var owner: [UInt8]

    public init(clientID: UInt64, owner: [UInt8]) {
        self.clientID = clientID
        self.owner = owner
    }

    static let ownerLimit = 1024

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.clientID = try buffer.readXDRUInt64()
        self.owner = Array(try buffer.readXDRVariableOpaque(limit: Self.ownerLimit).readableBytesView)
    }

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.clientID) + buffer.writeXDRVariableOpaque(self.owner)
    }

    public var description: String { "owner(\(String(self.clientID, radix: 16)):\(self.owner.count) bytes)" }
}

/// OPEN4_SHARE_ACCESS_* and OPEN4_SHARE_DENY_* (the low two bits; the
/// v4.1 "want" bits above them only ask for delegations, never granted).
public enum ShareBits {
    public static let read: UInt32 = 1
    public static let write: UInt32 = 2
    public static let both: UInt32 = 3
    static let accessMask: UInt32 = 3
    static let wantMask: UInt32 = 0xFF00
    static let wantSignalMask: UInt32 = 0x3_0000
}

/// OPEN4args, as far as a read-only server needs them.
public struct OPEN4Args: Sendable, Equatable {
    public enum Claim: Sendable, Equatable {
        /// CLAIM_NULL: a name in the current (directory) file handle.
        case name(ComponentName4)
        /// CLAIM_FH: the current file handle itself.
        case fileHandle
        /// CLAIM_PREVIOUS: a reclaim after a server restart.
        case previous
        /// The delegation claims (p2pfs never grants delegations).
        case delegation(UInt32)
    }

    /// OPEN4_CREATE's `createhow4`. Nothing can be created here, but
    /// UNCHECKED4 on an existing file only opens it (RFC 8881 §18.16.3),
    /// which is how the Linux client opens with O_CREAT.
    public enum CreateMode: Sendable, Equatable {
        /// UNCHECKED4; `truncates` when createattrs sets the size to 0.
        case unchecked(truncates: Bool)
        /// GUARDED4, EXCLUSIVE4, EXCLUSIVE4_1: the file must not exist.
        case exclusive
    }

    public var shareAccess: UInt32
    public var shareDeny: UInt32
    public var owner: StateOwner4
    public var create: CreateMode?
    public var claim: Claim

    public init(shareAccess: UInt32, shareDeny: UInt32, owner: StateOwner4, create: CreateMode? = nil, claim: Claim) {
        self.shareAccess = shareAccess
        self.shareDeny = shareDeny
        self.owner = owner
        self.create = create
        self.claim = claim
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        _ = try buffer.readXDRUInt32()  // seqid, unused in v4.1
        self.shareAccess = try buffer.readXDRUInt32()
        self.shareDeny = try buffer.readXDRUInt32()
        self.owner = try StateOwner4(xdr: &buffer)
        let openType = try buffer.readXDRUInt32()
        switch openType {
        case 0: self.create = nil
        case 1:
            let mode = try buffer.readXDRUInt32()
            switch mode {
            case 0:  // UNCHECKED4
                let attributes = try FileAttributesArgument4(xdr: &buffer)
                self.create = .unchecked(truncates: Self.setsSizeToZero(attributes))
            case 1:  // GUARDED4
                _ = try FileAttributesArgument4(xdr: &buffer)
                self.create = .exclusive
            case 2:  // EXCLUSIVE4
                _ = try buffer.readXDRUInt64()
                self.create = .exclusive
            case 3:  // EXCLUSIVE4_1
                _ = try buffer.readXDRUInt64()
                _ = try FileAttributesArgument4(xdr: &buffer)
                self.create = .exclusive
            default: throw .invalidDiscriminant(type: "createmode4", value: mode)
            }
        default: throw .invalidDiscriminant(type: "opentype4", value: openType)
        }
        let claimType = try buffer.readXDRUInt32()
        switch claimType {
        case 0: self.claim = .name(try buffer.readComponent4())
        case 1:
            _ = try buffer.readXDRUInt32()  // delegate_type
            self.claim = .previous
        case 4: self.claim = .fileHandle
        case 2, 3, 5, 6: self.claim = .delegation(claimType)
        default: throw .invalidDiscriminant(type: "open_claim_type4", value: claimType)
        }
    }
}

extension OPEN4Args {
    /// Whether createattrs truncate: size (4) is the first settable
    /// attribute, so when present its value comes first.
    static func setsSizeToZero(_ attributes: FileAttributesArgument4) -> Bool {
        guard attributes.mask.contains(Attribute4.size.rawValue) else { return false }
        return attributes.values.getInteger(at: attributes.values.readerIndex, endianness: .big, as: UInt64.self) == 0
    }
}

/// OPEN4_RESULT_LOCKTYPE_POSIX: byte-range locks have POSIX semantics (the
/// Linux client refuses fcntl locks without it).
let openResultLockTypePOSIX: UInt32 = 0x4

/// OPEN_DOWNGRADE4args.
public struct OPEN_DOWNGRADE4Args: Sendable, Equatable {
    public var stateID: StateID4
    public var shareAccess: UInt32
    public var shareDeny: UInt32

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.stateID = try StateID4(xdr: &buffer)
        _ = try buffer.readXDRUInt32()  // seqid
        self.shareAccess = try buffer.readXDRUInt32()
        self.shareDeny = try buffer.readXDRUInt32()
    }
}

import Namespace

extension NFSv4Program {
    /// OPEN (RFC 8881 §18.16) of an existing file. Creating or truncating
    /// is NFS4ERR_ROFS, a reclaim after a restart NFS4ERR_NO_GRACE, and no
    /// delegation is ever granted.
    ///
    /// Write access is granted as a share reservation, as NFSv3's ACCESS
    /// grants MODIFY: the Linux client takes an exclusive lock (`flock -x`,
    /// `fcntl(F_WRLCK)`) only on a file open for writing, and every WRITE
    /// and SETATTR is still refused with NFS4ERR_ROFS.
    func open(_ args: OPEN4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let current = try context.currentNode()
        let file: NamespaceNode
        switch args.claim {
        case .name(let component):
            try Self.requireDirectory(current)
            let name = try component.name()
            do {
                file = try nfs4StatusOnError { () throws(FileSystemError) in try context.snapshot.lookup(name, in: current) }
            } catch .noEntry where args.create != nil {
                throw .readOnlyFileSystem  // it would be created
            }
            switch args.create {
            case nil: break
            case .unchecked(let truncates): if truncates { throw .readOnlyFileSystem }
            case .exclusive: throw .exists
            }
        case .fileHandle:
            guard args.create == nil else { throw .invalid }
            file = current
        case .previous:
            // No grace period: state from before a restart is not kept, and
            // the client reopens normally (RFC 8881 §8.4.2.1).
            throw .noGrace
        case .delegation:
            throw .notSupported
        }
        switch file.kind {
        case .regular: break
        case .directory: throw .isDirectory
        case .symlink: throw .symlink
        }
        let access = args.shareAccess & ShareBits.accessMask
        let stateID = try self.withState { state throws(NFS4Status) in
            try state.open(file: file.fileID, owner: args.owner, access: access, deny: args.shareDeny, clientID: client)
        }
        context.currentFileHandle = file.fileID
        context.currentStateID = stateID
        stateID.encode(into: &body)
        // change_info4: nothing changed.
        let change = context.attributes(of: current).change
        body.writeXDRBool(true)
        body.writeXDRUInt64(change)
        body.writeXDRUInt64(change)
        body.writeXDRUInt32(openResultLockTypePOSIX)
        Bitmap4().encode(into: &body)  // attrset
        body.writeXDRUInt32(0)  // OPEN_DELEGATE_NONE
    }

    /// CLOSE (§18.2).
    func close(_ stateID: StateID4, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let file = try context.currentNode()
        let resolved = try context.resolve(stateID)
        let result = try self.withState { state throws(NFS4Status) in
            try state.close(resolved, file: file.fileID, clientID: client)
        }
        context.currentStateID = nil
        result.encode(into: &body)
    }

    /// OPEN_DOWNGRADE (§18.18).
    func openDowngrade(_ args: OPEN_DOWNGRADE4Args, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let client = try context.requireClient()
        let file = try context.currentNode()
        let resolved = try context.resolve(args.stateID)
        let result = try self.withState { state throws(NFS4Status) in
            try state.openDowngrade(
                resolved, file: file.fileID, access: args.shareAccess & ShareBits.accessMask, deny: args.shareDeny, clientID: client
            )
        }
        context.currentStateID = result
        result.encode(into: &body)
    }
}
