import NIOCore
import XDR

/// SEQUENCE4args (RFC 8881 §18.46).
public struct SEQUENCE4Args: Sendable, Equatable {
    public var sessionID: SessionID4
    public var sequenceID: UInt32
    public var slotID: UInt32
    public var highestSlotID: UInt32
    public var cacheThis: Bool

    public init(sessionID: SessionID4, sequenceID: UInt32, slotID: UInt32, highestSlotID: UInt32, cacheThis: Bool) {
        self.sessionID = sessionID
        self.sequenceID = sequenceID
        self.slotID = slotID
        self.highestSlotID = highestSlotID
        self.cacheThis = cacheThis
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.sessionID = try SessionID4(xdr: &buffer)
        self.sequenceID = try buffer.readXDRUInt32()
        self.slotID = try buffer.readXDRUInt32()
        self.highestSlotID = try buffer.readXDRUInt32()
        self.cacheThis = try buffer.readXDRBool()
    }
}

/// SEQUENCE4resok.
public struct SEQUENCE4ResultOK: Sendable, Equatable {
    public var sessionID: SessionID4
    public var sequenceID: UInt32
    public var slotID: UInt32
    public var highestSlotID: UInt32
    public var targetHighestSlotID: UInt32
    public var statusFlags: UInt32

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        self.sessionID.encode(into: &buffer) + buffer.writeXDRUInt32(self.sequenceID) + buffer.writeXDRUInt32(self.slotID)
            + buffer.writeXDRUInt32(self.highestSlotID) + buffer.writeXDRUInt32(self.targetHighestSlotID)
            + buffer.writeXDRUInt32(self.statusFlags)
    }
}
