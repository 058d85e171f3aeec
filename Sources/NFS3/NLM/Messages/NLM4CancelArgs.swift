import NIOCore
import XDR

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
