import NIOCore
import XDR

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
