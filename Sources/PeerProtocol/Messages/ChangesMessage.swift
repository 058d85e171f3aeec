import NIOCore
import XDR

/// CHANGES arguments: the catalog generation the caller already has.
public struct ChangesArguments: Sendable, Equatable {
    public var catalogGeneration: UInt64

    public init(catalogGeneration: UInt64) {
        self.catalogGeneration = catalogGeneration
    }
}

/// CHANGES reply body (`changes_resok`, after PEER_OK): the cheap poll a
/// client makes every crawl round.
public struct ChangesReply: Sendable, Equatable {
    public var catalogChanged: Bool
    public var catalogGeneration: UInt64
    public var peersGeneration: UInt64

    public init(catalogChanged: Bool, catalogGeneration: UInt64, peersGeneration: UInt64) {
        self.catalogChanged = catalogChanged
        self.catalogGeneration = catalogGeneration
        self.peersGeneration = peersGeneration
    }
}

extension ChangesArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.catalogGeneration = try buffer.readXDRUInt64()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.catalogGeneration)
    }
}

extension ChangesReply: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.catalogChanged = try buffer.readXDRBool()
        self.catalogGeneration = try buffer.readXDRUInt64()
        self.peersGeneration = try buffer.readXDRUInt64()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRBool(self.catalogChanged) + buffer.writeXDRUInt64(self.catalogGeneration)
            + buffer.writeXDRUInt64(self.peersGeneration)
    }
}
