import NIOCore
import XDR

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
