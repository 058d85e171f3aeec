import NIOCore
import XDR

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
