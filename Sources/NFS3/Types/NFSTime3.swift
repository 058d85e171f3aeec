import NIOCore
import Namespace
import XDR

/// `nfstime3`: unsigned 32-bit seconds and nanoseconds since the epoch.
public struct NFSTime3: Hashable, Sendable {
    public var seconds: UInt32
    public var nanoseconds: UInt32

    public init(seconds: UInt32, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Times outside what nfstime3 can hold (before 1970, after 2106) are
    /// clamped rather than wrapped, so they still sort sensibly.
    public init(_ timestamp: Timestamp) {
        if timestamp.seconds < 0 {
            self.init(seconds: 0, nanoseconds: 0)
        } else if timestamp.seconds > Int64(UInt32.max) {
            self.init(seconds: UInt32.max, nanoseconds: 999_999_999)
        } else {
            self.init(seconds: UInt32(timestamp.seconds), nanoseconds: min(timestamp.nanoseconds, 999_999_999))
        }
    }
}

extension NFSTime3: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.seconds = try buffer.readXDRUInt32()
        self.nanoseconds = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.seconds) + buffer.writeXDRUInt32(self.nanoseconds)
    }
}
