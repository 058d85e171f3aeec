import NIOCore
import XDR

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
