import NIOCore
import XDR

/// PEERS reply body (`peers_resok`, after PEER_OK): the nodes the responder
/// knows to be alive.
public struct PeersReply: Sendable, Equatable {
    public var peersGeneration: UInt64
    public var nodes: [NodeInfo]

    public init(peersGeneration: UInt64, nodes: [NodeInfo]) {
        self.peersGeneration = peersGeneration
        self.nodes = nodes
    }
}

extension PeersReply: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.peersGeneration = try buffer.readXDRUInt64()
        self.nodes = try buffer.readXDRArray(limit: PeerLimits.maximumNodes) { (b: inout ByteBuffer) throws(XDRError) in
            try NodeInfo(xdr: &b)
        }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.peersGeneration) + buffer.writeXDRArray(self.nodes) { $1.encode(into: &$0) }
    }
}
