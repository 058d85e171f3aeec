import NIOCore
import XDR

/// `nlm4_lock`: who wants which bytes of which file.
public struct NLM4Lock: XDRCodable, Sendable, Equatable {
    /// The client's host name (the Linux client sends its node name).
    public var callerName: String
    /// The NFSv3 file handle, as the client got it from LOOKUP.
    public var fileHandle: [UInt8]
    /// The owner handle: opaque, the same for every call of one lock owner.
    public var ownerHandle: [UInt8]
    /// The owner's number on the client (a process id, or the kernel's lock-owner id).
    public var svid: Int32
    public var offset: UInt64
    /// 0: to the end of the file, however far it grows.
    public var length: UInt64

    public init(callerName: String, fileHandle: [UInt8], ownerHandle: [UInt8], svid: Int32, offset: UInt64, length: UInt64) {
        self.callerName = callerName
        self.fileHandle = fileHandle
        self.ownerHandle = ownerHandle
        self.svid = svid
        self.offset = offset
        self.length = length
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.callerName = try buffer.readXDRString(limit: NLM4.maximumStringLength)
        self.fileHandle = try buffer.readNetobj()
        self.ownerHandle = try buffer.readNetobj()
        self.svid = try buffer.readXDRInt32()
        self.offset = try buffer.readXDRUInt64()
        self.length = try buffer.readXDRUInt64()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.callerName)
            + buffer.writeXDRVariableOpaque(self.fileHandle)
            + buffer.writeXDRVariableOpaque(self.ownerHandle)
            + buffer.writeXDRInt32(self.svid)
            + buffer.writeXDRUInt64(self.offset)
            + buffer.writeXDRUInt64(self.length)
    }

    /// The lock owner this lock belongs to.
    public var owner: NLMLockOwner {
        NLMLockOwner(callerName: self.callerName, svid: self.svid, ownerHandle: self.ownerHandle)
    }

    public var range: NLMRange {
        NLMRange(offset: self.offset, length: self.length)
    }
}
