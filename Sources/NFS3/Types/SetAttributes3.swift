import NIOCore
import XDR

/// `time_how`: how SETATTR-style calls set a time.
public enum TimeHow3: UInt32, Sendable {
    case dontChange = 0
    case setToServerTime = 1
    case setToClientTime = 2
}

/// How a `sattr3` sets one of the times.
public enum SetTime3: Hashable, Sendable {
    case dontChange
    case serverTime
    case clientTime(NFSTime3)
}

extension SetTime3: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        switch try buffer.readXDREnum(TimeHow3.self) {
        case .dontChange: self = .dontChange
        case .setToServerTime: self = .serverTime
        case .setToClientTime: self = .clientTime(try NFSTime3(xdr: &buffer))
        }
    }
}

/// `sattr3`: attributes a client wants set.
///
/// Decoded only so that the calls carrying it can be answered properly
/// (with NFS3ERR_ROFS): nothing is ever set.
public struct SetAttributes3: Hashable, Sendable {
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: UInt64?
    public var atime: SetTime3
    public var mtime: SetTime3

    public init(
        mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
        atime: SetTime3 = .dontChange, mtime: SetTime3 = .dontChange
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
    }
}

extension SetAttributes3: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.mode = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        self.uid = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        self.gid = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
        self.size = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt64() }
        self.atime = try SetTime3(xdr: &buffer)
        self.mtime = try SetTime3(xdr: &buffer)
    }
}
