import Logging
import Namespace
import NIOCore
import NIOSSL
import NIOTLS
import ONCRPC
import XDR

/// TLS 1.3 on every peer connection, both ways authenticated by the nodes'
/// self-signed certificates (`NodeCredentials`).
///
/// No certificate authority is involved: any certificate is accepted in the
/// handshake, and what it proves is that the other end holds the private key
/// of the public key in it. The node id is derived from that key, and the
/// callers check it against the id they expected (`PeerConnection`) and the
/// id the peer claims in HELLO (`PeerProgram`).
public final class PeerTLS: Sendable {
    public let credentials: NodeCredentials
    /// The only nodes admitted (`--trust`); nil: any.
    public let trusted: Set<NodeID>?
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext
    /// Warnings about refused connections, shared by all of them.
    private let refusals: RefusalLog

    /// - Parameter trusted: when set, a certificate whose key is not one of
    ///   these nodes' fails the handshake, both ways: such a node gets
    ///   nothing, and is not talked to.
    public init(credentials: NodeCredentials, trusted: Set<NodeID>? = nil, refusals: RefusalLog = RefusalLog()) throws {
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(credentials.certificate)], privateKey: .privateKey(credentials.privateKey)
        )
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = [.certificate(credentials.certificate)]
        client.privateKey = .privateKey(credentials.privateKey)
        server.minimumTLSVersion = .tlsv13
        server.maximumTLSVersion = .tlsv13
        client.minimumTLSVersion = .tlsv13
        client.maximumTLSVersion = .tlsv13
        // Required both ways; the custom callback below replaces the
        // chain-to-a-CA check (there is no CA) but runs only when this is
        // not `.none`. The server then asks for, and requires, a client
        // certificate.
        server.certificateVerification = .noHostnameVerification
        client.certificateVerification = .noHostnameVerification
        // No CA store: peers are known by their keys, never by a chain to a
        // CA. The platform default would load the system's CA bundle, and
        // fail on a host without one (a minimal container, an initramfs).
        server.trustRoots = .certificates([])
        client.trustRoots = .certificates([])
        self.credentials = credentials
        // A node always admits its own key (its own readiness check; nobody
        // else holds it).
        self.trusted = trusted.map { $0.union([credentials.nodeID]) }
        self.refusals = refusals
        self.serverContext = try NIOSSLContext(configuration: server)
        self.clientContext = try NIOSSLContext(configuration: client)
    }

    /// The node id a peer's certificate proves.
    public static func nodeID(of identity: RPCPeerIdentity) -> NodeID {
        NodeID(publicKeyDigest: identity.peerKeyDigest)
    }

    /// A self-signed certificate is all a node has; the key in it is what
    /// counts, and TLS proves the peer holds its private key. Any is
    /// accepted, unless an allowlist is set and its key is not on it. The
    /// refused id goes to the connection's `PeerTLSRefusal`, and the
    /// session handler reports it, once, with the failed handshake it causes.
    private func verification(
        _ refusal: PeerTLSRefusal
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void {
        { [trusted = self.trusted] certificates, promise in
            guard let leaf = certificates.first, let digest = try? NodeCredentials.publicKeyDigest(of: leaf) else {
                promise.succeed(.failed)
                return
            }
            let id = NodeID(publicKeyDigest: digest)
            if let trusted, !trusted.contains(id) {
                refusal.record(.untrusted(id))
                promise.succeed(.failed)
                return
            }
            promise.succeed(.certificateVerified)
        }
    }

    /// A peer listener's configuration: every accepted connection is TLS.
    public func serverConfiguration(
        host: String, port: Int, maximumRecordSize: Int, handshakeTimeout: TimeAmount = .seconds(10), logger: Logger
    ) -> RPCServer.Configuration {
        var configuration = RPCServer.Configuration(host: host, port: port, maximumRecordSize: maximumRecordSize)
        configuration.transportHandlers = { channel in
            try self.addServerHandlers(to: channel, handshakeTimeout: handshakeTimeout, logger: logger)
        }
        return configuration
    }

    /// The handlers in front of the record marking of an accepted peer
    /// connection: refusal of plaintext (protocol version 1) callers, TLS,
    /// and the session handler that tells the RPC layer who the peer is.
    public func addServerHandlers(to channel: any Channel, handshakeTimeout: TimeAmount, logger: Logger) throws {
        let refusal = PeerTLSRefusal()
        let tls = NIOSSLServerHandler(context: self.serverContext, customVerificationCallback: self.verification(refusal))
        try channel.pipeline.syncOperations.addHandlers([
            PlaintextPeerDetector(refusals: self.refusals, logger: logger),
            tls,
            PeerTLSSessionHandler(
                localKeyDigest: self.credentials.publicKeyDigest, promise: nil, handshakeTimeout: handshakeTimeout,
                refusals: self.refusals, refusal: refusal, logger: logger
            ),
        ])
    }

    /// The handlers in front of the record marking of an outgoing peer
    /// connection; `promise` learns the peer's identity once the handshake
    /// completed, or why it did not; `refusal` learns whether the node
    /// then refused this node's certificate (see `PeerTLSRefusal`).
    public func addClientHandlers(
        to channel: any Channel, promise: EventLoopPromise<RPCPeerIdentity>, refusal: PeerTLSRefusal = PeerTLSRefusal(),
        handshakeTimeout: TimeAmount, logger: Logger
    ) throws {
        let tls = try NIOSSLClientHandler(
            context: self.clientContext, serverHostname: nil, customVerificationCallback: self.verification(refusal)
        )
        try channel.pipeline.syncOperations.addHandlers([
            tls,
            PeerTLSSessionHandler(
                localKeyDigest: self.credentials.publicKeyDigest, promise: promise, handshakeTimeout: handshakeTimeout,
                refusals: self.refusals, refusal: refusal, logger: logger
            ),
        ])
    }
}

/// Why a TLS session with a peer did not come about.
public enum PeerTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed the connection during the handshake.
    case closedDuringHandshake
    /// The handshake did not complete in time.
    case handshakeTimedOut
    /// The handshake failed (the description of the TLS error).
    case handshakeFailed(String)
    /// The peer presented no usable certificate.
    case noCertificate
    /// The peer's certificate is that of a node not in this node's
    /// `--trust` list.
    case untrusted(NodeID)

    public var description: String {
        switch self {
        case .closedDuringHandshake:
            "it closed the connection during the TLS handshake (a node of peer protocol version 1, which speaks plaintext, does that; it is refused)"
        case .handshakeTimedOut: "the TLS handshake did not complete in time (not a p2pfs node of protocol version 2?)"
        case .handshakeFailed(let reason): "the TLS handshake failed: \(reason)"
        case .noCertificate: "it presented no usable certificate"
        case .untrusted(let id): "it is node \(id), not in the --trust list"
        }
    }
}

/// Behind the TLS handler: once the handshake completed, derives the
/// peer's key digest from its certificate and passes it up as an
/// `RPCPeerIdentity` user event (the RPC server handler keeps it for the
/// connection's calls) and to the connecting side's promise.
final class PeerTLSSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let localKeyDigest: [UInt8]
    private var promise: EventLoopPromise<RPCPeerIdentity>?
    private let handshakeTimeout: TimeAmount
    private var timeout: Scheduled<Void>?
    private var established = false
    /// The connecting side (it has a promise to fulfil).
    private let isClient: Bool
    /// Whether any application data came after the handshake.
    private var receivedData = false
    private let logger: Logger
    /// Where the accepting side says why it refused a connection.
    private let refusals: RefusalLog
    /// The connection was refused before TLS began (and said why).
    private var alreadyRefused = false
    /// Why this connection's certificate check failed, either way.
    private let refusal: PeerTLSRefusal

    init(
        localKeyDigest: [UInt8], promise: EventLoopPromise<RPCPeerIdentity>?, handshakeTimeout: TimeAmount, refusals: RefusalLog,
        refusal: PeerTLSRefusal, logger: Logger
    ) {
        self.localKeyDigest = localKeyDigest
        self.promise = promise
        self.isClient = promise != nil
        self.handshakeTimeout = handshakeTimeout
        self.refusals = refusals
        self.refusal = refusal
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        self.timeout = context.eventLoop.scheduleTask(in: self.handshakeTimeout) {
            channel.pipeline.fireErrorCaught(PeerTLSError.handshakeTimedOut)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timeout?.cancel()
        self.fail(PeerTLSError.closedDuringHandshake)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is PlaintextPeerDetector.Refused {
            // Refused and logged in front of TLS: the unclean close that
            // TLS reports next is not a second refusal.
            self.alreadyRefused = true
            return
        }
        guard let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, !self.established else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.timeout?.cancel()
        let identity: RPCPeerIdentity
        do {
            guard let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
                throw PeerTLSError.noCertificate
            }
            identity = RPCPeerIdentity(
                peerKeyDigest: try NodeCredentials.publicKeyDigest(of: certificate), localKeyDigest: self.localKeyDigest
            )
        } catch {
            context.fireErrorCaught(error as? PeerTLSError ?? .noCertificate)
            return
        }
        self.established = true
        context.fireUserInboundEventTriggered(identity)
        context.fireUserInboundEventTriggered(event)
        if let promise = self.promise {
            self.promise = nil
            promise.succeed(identity)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.established {
            let failure: PeerTLSError
            switch error {
            case let error as PeerTLSError: failure = error
            case _ where self.refusal.untrustedPeer != nil:
                // This node's --trust list refused the peer's key: that is
                // the reason, not the failed handshake it causes.
                failure = .untrusted(self.refusal.untrustedPeer!)
            case NIOSSLError.uncleanShutdown: failure = .closedDuringHandshake
            case NIOSSLError.handshakeFailed(.sslError(let errors)) where errors == [.eofDuringHandshake]:
                failure = .closedDuringHandshake
            default: failure = .handshakeFailed("\(error)")
            }
            if self.promise == nil, !self.alreadyRefused {
                // The accepting side: say who failed and why, once.
                let message: String
                if case .untrusted(let id) = failure {
                    message = "refused node \(id): not in the --trust list"
                } else {
                    message = "refused a peer connection: \(failure)"
                }
                self.refusals.warning(message, peer: context.channel.remoteAddress.map { "\($0)" } ?? "?", logger: self.logger)
            }
            self.fail(failure)
            context.close(promise: nil)
            return
        }
        if self.isClient, !self.receivedData, error is NIOSSLError || error is BoringSSLError {
            // In TLS 1.3 the client's handshake completes before the server
            // has checked the client's certificate: a refusal (a --trust
            // list without this node) arrives as the first thing after it.
            // The connection's owner says so (`PeerConnection`), once.
            self.logger.debug("the node refused this node's TLS certificate: \(error)")
            self.refusal.record(.refusedThisNode)
        }
        context.fireErrorCaught(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.receivedData = true
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timeout?.cancel()
        self.fail(PeerTLSError.closedDuringHandshake)
        context.fireChannelInactive()
    }

    private func fail(_ error: PeerTLSError) {
        if let promise = self.promise {
            self.promise = nil
            promise.fail(error)
        }
    }
}

/// First on an accepted peer connection: a TLS connection starts with a
/// handshake record (content type 22); a node of protocol version 1 starts
/// with an ONC RPC record mark instead. Such a caller is answered
/// PROG_MISMATCH (versions 2 to 2), so its own log says why, logged here, and
/// the connection closed: there is no plaintext fallback.
final class PlaintextPeerDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Told down the pipeline when a connection is refused here, so the
    /// handlers behind do not log the close that follows as a refusal too.
    struct Refused {}

    static let tlsHandshakeRecord: UInt8 = 22
    /// How long a refused caller has to read the reply and close.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)
    private let logger: Logger
    private let refusals: RefusalLog
    private var refused = false
    /// The first bytes, until there are enough to tell (a record mark and
    /// an xid: 8 bytes).
    private var start: ByteBuffer?

    init(refusals: RefusalLog, logger: Logger) {
        self.refusals = refusals
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        guard !self.refused else { return }
        if var start = self.start {
            start.writeBuffer(&bytes)
            bytes = start
        }
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        if first == Self.tlsHandshakeRecord {
            self.start = nil
            context.fireChannelRead(self.wrapInboundOut(bytes))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        guard bytes.readableBytes >= 8 else {
            self.start = bytes
            return
        }
        self.refused = true
        self.start = nil
        context.fireUserInboundEventTriggered(Refused())
        let remote = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        if first & 0x80 != 0, let xid = bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self) {
            self.refusals.warning(
                "refused a peer connection: the peer speaks plaintext protocol v1 (this node speaks version \(PeerProcedure.version), over TLS); upgrade it",
                peer: remote, logger: self.logger
            )
            var reply = context.channel.allocator.buffer(capacity: 40)
            reply.writeInteger(UInt32(0))
            let header = RPCReplyHeader(
                xid: xid,
                status: .accepted(
                    verifier: .none, status: .programMismatch(low: PeerProcedure.version, high: PeerProcedure.version)
                )
            )
            let length = header.encode(into: &reply)
            reply.setInteger(UInt32(0x8000_0000) | UInt32(length), at: reply.readerIndex)
            // Half-close after the reply rather than close: a close with
            // the caller's later bytes unread would send a reset, which can
            // destroy the reply before the caller reads it. The caller's
            // own close (or the bound below) ends the connection.
            let channel = context.channel
            context.writeAndFlush(NIOAny(reply)).whenComplete { _ in
                channel.close(mode: .output, promise: nil)
                channel.eventLoop.scheduleTask(in: Self.lingerAfterRefusal) { channel.close(promise: nil) }
            }
        } else {
            self.refusals.warning("refused a peer connection: it does not start a TLS handshake", peer: remote, logger: self.logger)
            context.close(promise: nil)
        }
    }
}
