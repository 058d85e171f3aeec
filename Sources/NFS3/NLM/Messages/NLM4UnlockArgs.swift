import NIOCore
import XDR

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
