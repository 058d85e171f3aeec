import NIOCore
import XDR

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
