import NIOCore
import XDR

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
