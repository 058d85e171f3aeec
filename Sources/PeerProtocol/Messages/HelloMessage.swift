import NIOCore
import XDR

/// HELLO arguments: the caller introduces itself.
public struct HelloArguments: Sendable, Equatable {
    public var protocolVersion: UInt32
    public var sender: NodeInfo
    public var challenge: [UInt8]

    public init(protocolVersion: UInt32 = PeerProcedure.version, sender: NodeInfo, challenge: [UInt8] = []) {
        self.protocolVersion = protocolVersion
        self.sender = sender
        self.challenge = challenge
    }
}

/// HELLO reply body: who answered and its current generations.
public struct HelloReply: Sendable, Equatable {
    public var protocolVersion: UInt32
    public var responder: NodeInfo
    public var catalogGeneration: UInt64
    public var peersGeneration: UInt64
    public var proof: [UInt8]
    public var challenge: [UInt8]

    public init(
        protocolVersion: UInt32 = PeerProcedure.version, responder: NodeInfo, catalogGeneration: UInt64,
        peersGeneration: UInt64, proof: [UInt8] = [], challenge: [UInt8] = []
    ) {
        self.protocolVersion = protocolVersion
        self.responder = responder
        self.catalogGeneration = catalogGeneration
        self.peersGeneration = peersGeneration
        self.proof = proof
        self.challenge = challenge
    }
}

extension HelloArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.protocolVersion = try buffer.readXDRUInt32()
        self.sender = try NodeInfo(xdr: &buffer)
        self.challenge = Array(buffer: try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumNonceLength))
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.protocolVersion) + self.sender.encode(into: &buffer)
            + buffer.writeXDRVariableOpaque(self.challenge)
    }
}

extension HelloReply: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.protocolVersion = try buffer.readXDRUInt32()
        self.responder = try NodeInfo(xdr: &buffer)
        self.catalogGeneration = try buffer.readXDRUInt64()
        self.peersGeneration = try buffer.readXDRUInt64()
        self.proof = Array(buffer: try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumNonceLength))
        self.challenge = Array(buffer: try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumNonceLength))
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.protocolVersion) + self.responder.encode(into: &buffer)
            + buffer.writeXDRUInt64(self.catalogGeneration) + buffer.writeXDRUInt64(self.peersGeneration)
            + buffer.writeXDRVariableOpaque(self.proof) + buffer.writeXDRVariableOpaque(self.challenge)
    }
}
