/// What the transport proved about the other end of a connection: with TLS,
/// the public key of the certificate the peer presented (and whose private
/// key it used in the handshake), and this end's own.
///
/// A handler below the record marking (the TLS glue of the peer protocol)
/// fires it as an inbound user event once the handshake completed; the RPC
/// server handler keeps it and hands it to every call on the connection in
/// `RPCCallContext.peerIdentity`. Plaintext connections have none.
public struct RPCPeerIdentity: Sendable, Hashable {
    /// SHA-256 of the peer's DER SubjectPublicKeyInfo.
    public var peerKeyDigest: [UInt8]
    /// SHA-256 of this end's DER SubjectPublicKeyInfo.
    public var localKeyDigest: [UInt8]

    public init(peerKeyDigest: [UInt8], localKeyDigest: [UInt8]) {
        self.peerKeyDigest = peerKeyDigest
        self.localKeyDigest = localKeyDigest
    }
}
