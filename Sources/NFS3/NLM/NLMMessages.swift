import NIOCore
import XDR

/// The XDR of the Network Lock Manager, version 4 (the Open Group's XNFS
/// specification, chapter 10, with the 64-bit offsets of RFC 1813 appendix II).
///
/// `netobj` values (cookies, owner handles, file handles) are kept as byte
/// arrays: they are small, and a lock outlives the request buffer it came in.
public enum NLM4 {
    /// `LM_MAXSTRLEN`: the longest `caller_name`.
    public static let maximumStringLength = 1024
    /// `LM_MAXNAMELEN`: the longest name in `nlm4_notify`.
    public static let maximumNameLength = 1025
    /// `MAXNETOBJ_SZ`: the longest `netobj`.
    public static let maximumNetobjLength = 1024
    /// `SM_PRIV_SIZE`: the private bytes of the Linux-specific SM_NOTIFY call.
    public static let privateSize = 16
}

/// `nlm4_stats`.
public enum NLM4Status: UInt32, Error, Sendable, Equatable, CaseIterable {
    case granted = 0
    case denied = 1
    case deniedNoLocks = 2
    case blocked = 3
    case deniedGracePeriod = 4
    case deadlock = 5
    case readOnlyFileSystem = 6
    case staleFileHandle = 7
    case fileTooBig = 8
    case failed = 9
}

extension ByteBuffer {
    mutating func readNetobj() throws(XDRError) -> [UInt8] {
        let bytes = try self.readXDRVariableOpaque(limit: NLM4.maximumNetobjLength)
        return Array(bytes.readableBytesView)
    }
}

/// `nlm4_lock`: who wants which bytes of which file.
public struct NLM4Lock: XDRCodable, Sendable, Equatable {
    /// The client's host name (the Linux client sends its node name).
    public var callerName: String
    /// The NFSv3 file handle, as the client got it from LOOKUP.
    public var fileHandle: [UInt8]
    /// The owner handle: opaque, the same for every call of one lock owner.
    public var ownerHandle: [UInt8]
    /// The owner's number on the client (a process id, or the kernel's lock-owner id).
    public var svid: Int32
    public var offset: UInt64
    /// 0: to the end of the file, however far it grows.
    public var length: UInt64

    public init(callerName: String, fileHandle: [UInt8], ownerHandle: [UInt8], svid: Int32, offset: UInt64, length: UInt64) {
        self.callerName = callerName
        self.fileHandle = fileHandle
        self.ownerHandle = ownerHandle
        self.svid = svid
        self.offset = offset
        self.length = length
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.callerName = try buffer.readXDRString(limit: NLM4.maximumStringLength)
        self.fileHandle = try buffer.readNetobj()
        self.ownerHandle = try buffer.readNetobj()
        self.svid = try buffer.readXDRInt32()
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.callerName)
            + buffer.writeXDRVariableOpaque(self.fileHandle)
            + buffer.writeXDRVariableOpaque(self.ownerHandle)
            + buffer.writeXDRInt32(self.svid)
            + buffer.writeXDRUInt64(self.offset)
            + buffer.writeXDRUInt64(self.length)
    }

    /// The lock owner this lock belongs to.
    public var owner: NLMLockOwner {
        NLMLockOwner(callerName: self.callerName, svid: self.svid, ownerHandle: self.ownerHandle)
    }

    public var range: NLMRange {
        NLMRange(offset: self.offset, length: self.length)
    }
}

/// `nlm4_lockargs`: LOCK, LOCK_MSG and NM_LOCK.
public struct NLM4LockArgs: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    /// Whether the client waits (BLOCKED, then GRANTED) rather than being denied.
    public var block: Bool
    public var exclusive: Bool
    public var lock: NLM4Lock
    /// Whether this re-establishes a lock held before a server restart.
    public var reclaim: Bool
    /// The client's NSM state number.
    public var state: Int32

    public init(cookie: [UInt8], block: Bool, exclusive: Bool, lock: NLM4Lock, reclaim: Bool = false, state: Int32 = 0) {
        self.cookie = cookie
        self.block = block
        self.exclusive = exclusive
        self.lock = lock
        self.reclaim = reclaim
        self.state = state
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.block = try buffer.readXDRBool()
        self.exclusive = try buffer.readXDRBool()
        self.lock = try NLM4Lock(xdr: &buffer)
        self.reclaim = try buffer.readXDRBool()
        self.state = try buffer.readXDRInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie)
            + buffer.writeXDRBool(self.block)
            + buffer.writeXDRBool(self.exclusive)
            + self.lock.encode(into: &buffer)
            + buffer.writeXDRBool(self.reclaim)
            + buffer.writeXDRInt32(self.state)
    }
}

/// `nlm4_cancargs`: CANCEL and CANCEL_MSG.
public struct NLM4CancelArgs: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var block: Bool
    public var exclusive: Bool
    public var lock: NLM4Lock

    public init(cookie: [UInt8], block: Bool, exclusive: Bool, lock: NLM4Lock) {
        self.cookie = cookie
        self.block = block
        self.exclusive = exclusive
        self.lock = lock
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.block = try buffer.readXDRBool()
        self.exclusive = try buffer.readXDRBool()
        self.lock = try NLM4Lock(xdr: &buffer)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie)
            + buffer.writeXDRBool(self.block)
            + buffer.writeXDRBool(self.exclusive)
            + self.lock.encode(into: &buffer)
    }
}

/// `nlm4_testargs`: TEST, TEST_MSG, and the GRANTED callback.
public struct NLM4TestArgs: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var exclusive: Bool
    public var lock: NLM4Lock

    public init(cookie: [UInt8], exclusive: Bool, lock: NLM4Lock) {
        self.cookie = cookie
        self.exclusive = exclusive
        self.lock = lock
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.exclusive = try buffer.readXDRBool()
        self.lock = try NLM4Lock(xdr: &buffer)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie) + buffer.writeXDRBool(self.exclusive) + self.lock.encode(into: &buffer)
    }
}

/// `nlm4_unlockargs`: UNLOCK and UNLOCK_MSG.
public struct NLM4UnlockArgs: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var lock: NLM4Lock

    public init(cookie: [UInt8], lock: NLM4Lock) {
        self.cookie = cookie
        self.lock = lock
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.lock = try NLM4Lock(xdr: &buffer)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie) + self.lock.encode(into: &buffer)
    }
}

/// `nlm4_res`: the answer to LOCK, CANCEL, UNLOCK, GRANTED and NM_LOCK.
public struct NLM4Result: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var status: NLM4Status

    public init(cookie: [UInt8], status: NLM4Status) {
        self.cookie = cookie
        self.status = status
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.status = try buffer.readXDREnum(NLM4Status.self)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie) + buffer.writeXDREnum(self.status)
    }
}

/// `nlm4_holder`: the lock that stands in the way, in a TEST answer.
public struct NLM4Holder: XDRCodable, Sendable, Equatable {
    public var exclusive: Bool
    public var svid: Int32
    public var ownerHandle: [UInt8]
    public var offset: UInt64
    public var length: UInt64

    public init(exclusive: Bool, svid: Int32, ownerHandle: [UInt8], offset: UInt64, length: UInt64) {
        self.exclusive = exclusive
        self.svid = svid
        self.ownerHandle = ownerHandle
        self.offset = offset
        self.length = length
    }

    public init(_ lock: NLMHeldLock) {
        self.init(
            exclusive: lock.exclusive, svid: lock.owner.svid, ownerHandle: lock.owner.ownerHandle,
            offset: lock.range.offset, length: lock.range.length
        )
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.exclusive = try buffer.readXDRBool()
        self.svid = try buffer.readXDRInt32()
        self.ownerHandle = try buffer.readNetobj()
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRBool(self.exclusive)
            + buffer.writeXDRInt32(self.svid)
            + buffer.writeXDRVariableOpaque(self.ownerHandle)
            + buffer.writeXDRUInt64(self.offset)
            + buffer.writeXDRUInt64(self.length)
    }
}

/// `nlm4_testres`: a cookie and `nlm4_testrply`, which carries the holder
/// only when the status is NLM4_DENIED.
public struct NLM4TestResult: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var status: NLM4Status
    public var holder: NLM4Holder?

    public init(cookie: [UInt8], status: NLM4Status, holder: NLM4Holder? = nil) {
        precondition((status == .denied) == (holder != nil), "a holder goes with NLM4_DENIED, and only with it")
        self.cookie = cookie
        self.status = status
        self.holder = holder
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.status = try buffer.readXDREnum(NLM4Status.self)
        self.holder = self.status == .denied ? try NLM4Holder(xdr: &buffer) : nil
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeXDRVariableOpaque(self.cookie) + buffer.writeXDREnum(self.status)
        if let holder = self.holder {
            written += holder.encode(into: &buffer)
        }
        return written
    }
}

/// `fsh4_mode`: what a share reservation denies to others.
public enum NLM4ShareMode: UInt32, Sendable, Equatable {
    case denyNone = 0
    case denyRead = 1
    case denyWrite = 2
    case denyReadWrite = 3
}

/// `fsh4_access`: what a share reservation's holder does with the file.
public enum NLM4ShareAccess: UInt32, Sendable, Equatable {
    case none = 0
    case read = 1
    case write = 2
    case readWrite = 3
}

/// `nlm4_share`: a DOS-style share reservation.
public struct NLM4Share: XDRCodable, Sendable, Equatable {
    public var callerName: String
    public var fileHandle: [UInt8]
    public var ownerHandle: [UInt8]
    public var mode: NLM4ShareMode
    public var access: NLM4ShareAccess

    public init(callerName: String, fileHandle: [UInt8], ownerHandle: [UInt8], mode: NLM4ShareMode, access: NLM4ShareAccess) {
        self.callerName = callerName
        self.fileHandle = fileHandle
        self.ownerHandle = ownerHandle
        self.mode = mode
        self.access = access
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.callerName = try buffer.readXDRString(limit: NLM4.maximumStringLength)
        self.fileHandle = try buffer.readNetobj()
        self.ownerHandle = try buffer.readNetobj()
        self.mode = try buffer.readXDREnum(NLM4ShareMode.self)
        self.access = try buffer.readXDREnum(NLM4ShareAccess.self)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.callerName)
            + buffer.writeXDRVariableOpaque(self.fileHandle)
            + buffer.writeXDRVariableOpaque(self.ownerHandle)
            + buffer.writeXDREnum(self.mode)
            + buffer.writeXDREnum(self.access)
    }
}

/// `nlm4_shareargs`: SHARE and UNSHARE.
public struct NLM4ShareArgs: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var share: NLM4Share
    public var reclaim: Bool

    public init(cookie: [UInt8], share: NLM4Share, reclaim: Bool = false) {
        self.cookie = cookie
        self.share = share
        self.reclaim = reclaim
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.share = try NLM4Share(xdr: &buffer)
        self.reclaim = try buffer.readXDRBool()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie) + self.share.encode(into: &buffer) + buffer.writeXDRBool(self.reclaim)
    }
}

/// `nlm4_shareres`.
public struct NLM4ShareResult: XDRCodable, Sendable, Equatable {
    public var cookie: [UInt8]
    public var status: NLM4Status
    /// Unused by every known client; servers send 0.
    public var sequence: Int32

    public init(cookie: [UInt8], status: NLM4Status, sequence: Int32 = 0) {
        self.cookie = cookie
        self.status = status
        self.sequence = sequence
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.cookie = try buffer.readNetobj()
        self.status = try buffer.readXDREnum(NLM4Status.self)
        self.sequence = try buffer.readXDRInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.cookie) + buffer.writeXDREnum(self.status) + buffer.writeXDRInt32(self.sequence)
    }
}

/// `nlm4_notify`: FREE_ALL's argument, a host that restarted.
public struct NLM4Notify: XDRCodable, Sendable, Equatable {
    public var name: String
    public var state: Int32

    public init(name: String, state: Int32) {
        self.name = name
        self.state = state
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.name = try buffer.readXDRString(limit: NLM4.maximumNameLength)
        self.state = try buffer.readXDRInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.name) + buffer.writeXDRInt32(self.state)
    }
}

/// The argument of procedure 16, the Linux-private SM_NOTIFY that rpc.statd
/// sends its lock manager when a monitored host restarted: `nlm4_notify`
/// followed by the 16 private bytes given to SM_MON.
public struct NLM4StatusMonitorNotify: XDRCodable, Sendable, Equatable {
    public var notify: NLM4Notify
    public var privateData: [UInt8]

    public init(notify: NLM4Notify, privateData: [UInt8] = Array(repeating: 0, count: NLM4.privateSize)) {
        precondition(privateData.count == NLM4.privateSize)
        self.notify = notify
        self.privateData = privateData
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.notify = try NLM4Notify(xdr: &buffer)
        self.privateData = Array(try buffer.readXDRFixedOpaque(length: NLM4.privateSize).readableBytesView)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.notify.encode(into: &buffer) + buffer.writeXDRFixedOpaque(self.privateData)
    }
}

/// Arguments of procedures that take none (NULL) and results that are void.
struct NLMVoid: XDRCodable, Sendable {
    init() {}
    init(xdr buffer: inout ByteBuffer) throws(XDRError) {}

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int { 0 }
}
