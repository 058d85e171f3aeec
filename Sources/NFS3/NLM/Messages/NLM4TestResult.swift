import NIOCore
import XDR

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
