import NIOCore
import XDR

/// AUTHENTICATE arguments: the caller's answer to the responder's challenge.
public struct AuthenticateArguments: Sendable, Equatable {
    public var proof: [UInt8]

    public init(proof: [UInt8]) {
        self.proof = proof
    }
}

extension AuthenticateArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.proof = Array(buffer: try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumNonceLength))
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.proof)
    }
}
