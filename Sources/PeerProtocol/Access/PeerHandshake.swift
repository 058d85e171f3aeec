import Crypto
import Namespace
import NIOCore
import ONCRPC
import XDR

/// The network-key handshake (`Docs/security.md`), as plain values: what
/// each side computes and checks, with no sockets.
///
///     caller                                   responder
///     HELLO(sender = caller, challenge = Nc)  →
///                                          ←  proof = HMAC(K, T("responder")), challenge = Nr
///     checks the proof
///     AUTHENTICATE(proof = HMAC(K, T("caller"))) →
///                                          ←  PEER_OK: this connection is authorized
///
/// where `T(direction)` is the XDR encoding of
///
///     struct handshake_transcript {
///         string context<>;                 /* "p2pfs-hello-v2" */
///         string direction<>;               /* "responder" or "caller" */
///         opaque caller_challenge<32>;      /* Nc */
///         opaque responder_challenge<32>;   /* Nr */
///         node_id responder;
///         node_id caller;
///         opaque channel_binding<64>;       /* B */
///     };
///
/// `B` binds the proofs to the TLS session they travel in: the SHA-256 of
/// the caller's certificate key followed by that of the responder's, as
/// each side's TLS layer saw them (not as anyone claims them). TLS proved
/// that each end holds the private key of its certificate, so a proof
/// relayed through a node in the middle, which has its own certificate,
/// names keys the responder does not see and fails. (The TLS exporter of
/// RFC 8446 section 7.5 would serve too; swift-nio-ssl does not expose
/// it, and these end-point keys bind the session's two ends just as well.)
///
/// Both proofs cover both fresh nonces and both node ids, so a proof is good
/// for one connection only (replay), names who proves to whom (a relayed
/// proof names the wrong ids), and says which way it goes: a responder's
/// proof can never serve as a caller's (reflection). The caller shows its
/// proof only after the responder proved the key, so a stranger cannot get
/// a caller proof out of a node; responder proofs it can get are over a
/// nonce the responder chose and labelled "responder".
public enum PeerHandshake {
    public static let context = "p2pfs-hello-v2"
    /// The length of the nonces this implementation sends.
    public static let challengeLength = 32
    /// The shortest nonce accepted from the other side.
    public static let minimumChallengeLength = 16

    public enum Direction: String, Sendable {
        /// The responder's proof, in HELLO's reply.
        case responder
        /// The caller's proof, in AUTHENTICATE.
        case caller
    }

    /// A fresh nonce from the system's cryptographically secure generator.
    public static func makeChallenge() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<Self.challengeLength).map { _ in generator.next() }
    }

    /// The bytes a proof authenticates (see the type's documentation).
    public static func transcript(
        _ direction: Direction, callerChallenge: [UInt8], responderChallenge: [UInt8], responder: NodeID, caller: NodeID,
        channelBinding: [UInt8]
    ) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 240)
        buffer.writeXDRString(Self.context)
        buffer.writeXDRString(direction.rawValue)
        buffer.writeXDRVariableOpaque(callerChallenge)
        buffer.writeXDRVariableOpaque(responderChallenge)
        responder.encode(into: &buffer)
        caller.encode(into: &buffer)
        buffer.writeXDRVariableOpaque(channelBinding)
        return Array(buffer.readableBytesView)
    }

    /// `B` on the caller's side of a TLS session (the caller is local).
    public static func callerBinding(_ session: RPCPeerIdentity) -> [UInt8] {
        session.localKeyDigest + session.peerKeyDigest
    }

    /// `B` on the responder's side of a TLS session (the caller is the peer).
    public static func responderBinding(_ session: RPCPeerIdentity) -> [UInt8] {
        session.peerKeyDigest + session.localKeyDigest
    }

    static func isAcceptableChallenge(_ challenge: [UInt8]) -> Bool {
        (Self.minimumChallengeLength...PeerLimits.maximumNonceLength).contains(challenge.count)
    }

    /// Why a handshake failed, from the caller's side.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The responder answered without a proof: it has no network key
        /// (an open node), or does not speak this handshake.
        case noProof
        /// The proof does not match: the responder holds another key.
        case wrongProof
        /// The responder's challenge is missing, too short or our own.
        case badChallenge
        /// The responder proved the key but is not the node expected there.
        case unexpectedNode(expected: NodeID, found: NodeID)

        public var description: String {
            switch self {
            case .noProof: "it proved no network key (an open node, or not p2pfs)"
            case .wrongProof: "its proof does not match this network's key (it holds another key)"
            case .badChallenge: "it sent no usable challenge"
            case .unexpectedNode(let expected, let found): "expected node \(expected) but \(found) answered"
            }
        }
    }

    /// The caller's side of one handshake on one connection.
    public struct Caller: Sendable {
        public let key: NetworkKey
        public let me: NodeID
        /// Nc, sent in HELLO.
        public let challenge: [UInt8]
        /// `B`, from this connection's TLS session.
        public let channelBinding: [UInt8]

        public init(key: NetworkKey, me: NodeID, channelBinding: [UInt8], challenge: [UInt8] = PeerHandshake.makeChallenge()) {
            self.key = key
            self.me = me
            self.channelBinding = channelBinding
            self.challenge = challenge
        }

        /// The HELLO that opens the handshake.
        public func helloArguments(sender: NodeInfo) -> HelloArguments {
            precondition(sender.identity.id == self.me, "the HELLO's sender must be the caller")
            return HelloArguments(sender: sender, challenge: self.challenge)
        }

        /// Checks the responder's HELLO reply; returns the proof to send in
        /// AUTHENTICATE. `expecting` is the node the caller meant to reach,
        /// if it knows.
        public func answer(_ reply: HelloReply, expecting: NodeID? = nil) throws(Failure) -> [UInt8] {
            guard !reply.proof.isEmpty else { throw .noProof }
            guard PeerHandshake.isAcceptableChallenge(reply.challenge), reply.challenge != self.challenge else {
                throw .badChallenge
            }
            let responder = reply.responder.identity.id
            let valid = self.key.isValid(
                proof: reply.proof, .responder, callerChallenge: self.challenge, responderChallenge: reply.challenge,
                responder: responder, caller: self.me, channelBinding: self.channelBinding
            )
            guard valid else { throw .wrongProof }
            if let expecting, expecting != responder {
                throw .unexpectedNode(expected: expecting, found: responder)
            }
            return self.key.proof(
                .caller, callerChallenge: self.challenge, responderChallenge: reply.challenge, responder: responder, caller: self.me,
                channelBinding: self.channelBinding
            )
        }
    }

    /// The responder's side, one per connection: idle, challenged after a
    /// HELLO with a challenge, authorized after a good AUTHENTICATE.
    public struct Responder: Sendable {
        public enum State: Sendable, Equatable {
            case idle
            case challenged(callerChallenge: [UInt8], responderChallenge: [UInt8], caller: NodeInfo)
            case authorized(caller: NodeInfo)
        }

        public let key: NetworkKey
        public let me: NodeID
        /// `B`, from this connection's TLS session.
        public let channelBinding: [UInt8]
        public private(set) var state: State = .idle

        public init(key: NetworkKey, me: NodeID, channelBinding: [UInt8]) {
            self.key = key
            self.me = me
            self.channelBinding = channelBinding
        }

        public var isAuthorized: Bool {
            if case .authorized = self.state { return true }
            return false
        }

        /// What HELLO answers on a connection that is not authorized.
        public enum HelloAnswer: Sendable, Equatable {
            /// The proof of the key and the responder's challenge, nothing else.
            case challenge(proof: [UInt8], challenge: [UInt8])
            /// PEER_DENIED: no (usable) challenge, so no handshake.
            case denied
        }

        /// A HELLO with a challenge (re)starts the handshake: whatever the
        /// connection was authorized for before is dropped until the caller
        /// answers the new challenge.
        public mutating func hello(
            from caller: NodeInfo, challenge: [UInt8], responderChallenge: [UInt8] = PeerHandshake.makeChallenge()
        ) -> HelloAnswer {
            guard PeerHandshake.isAcceptableChallenge(challenge), PeerHandshake.isAcceptableChallenge(responderChallenge) else {
                self.state = .idle
                return .denied
            }
            self.state = .challenged(callerChallenge: challenge, responderChallenge: responderChallenge, caller: caller)
            let proof = self.key.proof(
                .responder, callerChallenge: challenge, responderChallenge: responderChallenge, responder: self.me,
                caller: caller.identity.id, channelBinding: self.channelBinding
            )
            return .challenge(proof: proof, challenge: responderChallenge)
        }

        /// AUTHENTICATE: the caller's proof over the last challenge. One try
        /// per challenge; returns the caller when the connection is now
        /// authorized.
        public mutating func authenticate(proof: [UInt8]) -> NodeInfo? {
            guard case .challenged(let callerChallenge, let responderChallenge, let caller) = self.state else {
                // Nothing to answer (or already authorized): a proof out of
                // turn proves nothing and drops any authorization.
                self.state = .idle
                return nil
            }
            let valid = self.key.isValid(
                proof: proof, .caller, callerChallenge: callerChallenge, responderChallenge: responderChallenge,
                responder: self.me, caller: caller.identity.id, channelBinding: self.channelBinding
            )
            guard valid else {
                self.state = .idle
                return nil
            }
            self.state = .authorized(caller: caller)
            return caller
        }
    }
}

extension NetworkKey {
    /// HMAC-SHA256 of the handshake transcript (32 bytes).
    public func proof(
        _ direction: PeerHandshake.Direction, callerChallenge: [UInt8], responderChallenge: [UInt8], responder: NodeID, caller: NodeID,
        channelBinding: [UInt8]
    ) -> [UInt8] {
        let transcript = PeerHandshake.transcript(
            direction, callerChallenge: callerChallenge, responderChallenge: responderChallenge, responder: responder, caller: caller,
            channelBinding: channelBinding
        )
        return Array(HMAC<SHA256>.authenticationCode(for: transcript, using: self.symmetricKey))
    }

    /// Checks a proof in constant time.
    public func isValid(
        proof: [UInt8], _ direction: PeerHandshake.Direction, callerChallenge: [UInt8], responderChallenge: [UInt8],
        responder: NodeID, caller: NodeID, channelBinding: [UInt8]
    ) -> Bool {
        let transcript = PeerHandshake.transcript(
            direction, callerChallenge: callerChallenge, responderChallenge: responderChallenge, responder: responder, caller: caller,
            channelBinding: channelBinding
        )
        return HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: transcript, using: self.symmetricKey)
    }
}
