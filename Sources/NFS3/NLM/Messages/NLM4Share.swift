import NIOCore
import XDR

/// `fsh4_mode`: what a share reservation denies to others.
public enum NLM4ShareMode: UInt32, Sendable, Equatable {
    case denyNone = 0
    case denyRead = 1
    case denyWrite = 2
    case denyReadWrite = 3
}

/// `fsh4_access`: what a share reservation's holder does with the file.
public enum NLM4ShareAccess: UInt32, Sendable, Equatable {
    case none = 0
    case read = 1
    case write = 2
    case readWrite = 3
}

/// `nlm4_share`: a DOS-style share reservation.
public struct NLM4Share: XDRCodable, Sendable, Equatable {
    public var callerName: String
    public var fileHandle: [UInt8]
    public var ownerHandle: [UInt8]
    public var mode: NLM4ShareMode
    public var access: NLM4ShareAccess

    public init(callerName: String, fileHandle: [UInt8], ownerHandle: [UInt8], mode: NLM4ShareMode, access: NLM4ShareAccess) {
        self.callerName = callerName
        self.fileHandle = fileHandle
        self.ownerHandle = ownerHandle
        self.mode = mode
        self.access = access
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.callerName = try buffer.readXDRString(limit: NLM4.maximumStringLength)
        self.fileHandle = try buffer.readNetobj()
        self.ownerHandle = try buffer.readNetobj()
        self.mode = try buffer.readXDREnum(NLM4ShareMode.self)
        self.access = try buffer.readXDREnum(NLM4ShareAccess.self)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.callerName)
            + buffer.writeXDRVariableOpaque(self.fileHandle)
            + buffer.writeXDRVariableOpaque(self.ownerHandle)
            + buffer.writeXDREnum(self.mode)
            + buffer.writeXDREnum(self.access)
    }
}
