import NIOCore
import XDR

/// `sessionid4` (opaque[16]): the client ID it belongs to, the server's
/// boot verifier and a counter, so sessions of a previous daemon instance
/// are answered NFS4ERR_BADSESSION.
public struct SessionID4: Hashable, Sendable, CustomStringConvertible {
    public var clientID: UInt64
    public var boot: UInt32
    public var counter: UInt32

    public init(clientID: UInt64, boot: UInt32, counter: UInt32) {
        self.clientID = clientID
        self.boot = boot
        self.counter = counter
    }

    public var description: String { "session(\(String(self.clientID, radix: 16)):\(self.boot):\(self.counter))" }
}

extension SessionID4: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.clientID = try buffer.readXDRUInt64()
        self.boot = try buffer.readXDRUInt32()
        self.counter = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.clientID) + buffer.writeXDRUInt32(self.boot) + buffer.writeXDRUInt32(self.counter)
    }
}
