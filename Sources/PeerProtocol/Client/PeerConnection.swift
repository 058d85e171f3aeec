import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import XDR

/// One TCP connection to a peer, carrying typed peer-protocol calls; many
/// calls (block reads above all) may be in flight at once.
public final class PeerConnection: Sendable {
    public let address: PeerAddress
    public let client: RPCClient

    /// A call's timeout measures the peer's silence. A peer that answers
    /// nothing for that long is gone or has moved: the connection closes,
    /// and the pool connects again (to another address, if the node moved).
    /// Calls queued behind others on a slow link (megabyte reads over Wi-Fi
    /// take a second each) wait while replies keep coming, up to 20
    /// timeouts in all (a minute for a block read).
    public static let timeouts = RPCClientTimeoutPolicy.silence(patience: 20)
    /// What TLS proved about the node at the other end (nil on a plaintext
    /// connection: the loopback control client, in-process tests).
    public let peerIdentity: RPCPeerIdentity?
    /// Whether the node refused this node's certificate after the TLS
    /// handshake (nil on a plaintext connection).
    public let tlsRefusal: PeerTLSRefusal?

    /// Wraps a connected client (for callers that made the connection
    /// themselves, such as the control client).
    public init(address: PeerAddress, client: RPCClient, peerIdentity: RPCPeerIdentity? = nil, tlsRefusal: PeerTLSRefusal? = nil) {
        self.address = address
        self.client = client
        self.peerIdentity = peerIdentity
        self.tlsRefusal = tlsRefusal
    }

    /// The id of the node at the other end, as its certificate proves it.
    public var peerID: NodeID? { self.peerIdentity.map(PeerTLS.nodeID(of:)) }

    /// Connects, over TLS when `tls` is given (always, in a node), and
    /// checks that the certificate presented is that of `expecting`, when
    /// the caller knows which node it meant to reach.
    public static func connect(
        to address: PeerAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        maximumRecordSize: Int = PeerLimits.maximumReadSize + 64 * 1024,
        tls: PeerTLS?,
        expecting: NodeID? = nil,
        logger: Logger
    ) -> EventLoopFuture<PeerConnection> {
        let socketAddress: SocketAddress
        do {
            socketAddress = try address.socketAddress()
        } catch {
            return group.next().makeFailedFuture(PeerClientError.unreachable("\(address): \(error)"))
        }
        guard let tls else {
            return RPCClient.connect(
                to: socketAddress, group: group, connectTimeout: connectTimeout,
                maximumRecordSize: maximumRecordSize, timeouts: Self.timeouts, logger: logger
            ).map { PeerConnection(address: address, client: $0) }
                .flatMapErrorThrowing { error in throw PeerClientError.unreachable("\(address): \(error)") }
        }
        let session = group.next().makePromise(of: RPCPeerIdentity.self)
        let refusal = PeerTLSRefusal()
        return RPCClient.connect(
            to: socketAddress, group: group, connectTimeout: connectTimeout,
            maximumRecordSize: maximumRecordSize,
            transportHandlers: { channel in
                try tls.addClientHandlers(
                    to: channel, promise: session, refusal: refusal, handshakeTimeout: connectTimeout, logger: logger
                )
            },
            timeouts: Self.timeouts,
            logger: logger
        ).flatMapError { error in
            session.fail(error)
            return session.futureResult.eventLoop.makeFailedFuture(PeerClientError.unreachable("\(address): \(error)"))
        }.flatMap { client in
            session.futureResult.flatMapErrorThrowing { error in
                client.close()
                throw PeerClientError.tls(address, reason: "\(error)")
            }.flatMapThrowing { identity in
                let found = PeerTLS.nodeID(of: identity)
                if let expecting, expecting != found {
                    client.close()
                    throw PeerClientError.impersonation(address, expected: "\(expecting)", found: "\(found)")
                }
                return PeerConnection(address: address, client: client, peerIdentity: identity, tlsRefusal: refusal)
            }
        }
    }

    public static func connect(
        to address: PeerAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        maximumRecordSize: Int = PeerLimits.maximumReadSize + 64 * 1024,
        tls: PeerTLS?,
        expecting: NodeID? = nil,
        logger: Logger
    ) async throws -> PeerConnection {
        try await Self.connect(
            to: address, group: group, connectTimeout: connectTimeout, maximumRecordSize: maximumRecordSize, tls: tls,
            expecting: expecting, logger: logger
        ).get()
    }

    public var isActive: Bool { self.client.isActive }

    /// `error` from a call on this connection, told as what it was: a
    /// connection closed because the node refused this node's certificate
    /// (TLS 1.3 says so only after this side's handshake completed) is
    /// `PeerClientError.notTrusted`; anything else is returned as it is.
    public func explained(_ error: any Error) -> any Error {
        guard self.tlsRefusal?.cause == .refusedThisNode, let identity = self.peerIdentity else { return error }
        switch error {
        case RPCClientError.connectionClosed, PeerClientError.rpc(.connectionClosed):
            return PeerClientError.notTrusted(self.address, presented: NodeID(publicKeyDigest: identity.localKeyDigest))
        default:
            return error
        }
    }

    public func close() {
        self.client.close()
    }

    /// HELLO. A node of a closed network answers a plain HELLO (no
    /// challenge) only on an authenticated connection; otherwise this throws
    /// `PeerClientError.keyRequired`.
    public func hello(_ arguments: HelloArguments, timeout: TimeAmount) async throws -> HelloReply {
        try await self.helloFuture(arguments, timeout: timeout).get()
    }

    private func helloFuture(_ arguments: HelloArguments, timeout: TimeAmount) -> EventLoopFuture<HelloReply> {
        let address = self.address
        let opensHandshake = !arguments.challenge.isEmpty
        let certified = self.peerID
        return self.call(.hello, arguments, timeout: timeout) { buffer -> HelloReply in
            let status = try buffer.readXDREnum(PeerStatus.self)
            switch status {
            case .ok:
                let reply = try HelloReply(xdr: &buffer)
                // A node is who its certificate says, whatever HELLO claims.
                if let certified, reply.responder.identity.id != certified {
                    throw PeerClientError.impersonation(address, expected: "\(certified)", found: "\(reply.responder.identity.id)")
                }
                return reply
            case .denied where opensHandshake:
                throw PeerClientError.untrusted(address, reason: "it refused the handshake")
            case .denied:
                throw PeerClientError.keyRequired(address)
            default:
                throw PeerClientError.status(status)
            }
        }
    }

    /// The network-key handshake (`PeerHandshake`): HELLO with a fresh
    /// challenge, the responder's proof checked, then AUTHENTICATE with this
    /// node's proof. Afterwards the connection is authorized for every
    /// procedure. Returns the responder's node id; throws
    /// `PeerClientError.untrusted` when the responder cannot prove the key or
    /// refuses this node's proof, `.unexpectedNode` when it is not
    /// `expecting`.
    public func authenticate(as me: NodeInfo, key: NetworkKey, expecting: NodeID?, timeout: TimeAmount) -> EventLoopFuture<NodeID> {
        let handshake = PeerHandshake.Caller(key: key, me: me.identity.id, channelBinding: self.peerIdentity.map(PeerHandshake.callerBinding) ?? [])
        let address = self.address
        return self.helloFuture(handshake.helloArguments(sender: me), timeout: timeout).flatMapThrowing { reply -> (NodeID, [UInt8]) in
            switch Result(catching: { () throws(PeerHandshake.Failure) in try handshake.answer(reply, expecting: expecting) }) {
            case .success(let proof):
                return (reply.responder.identity.id, proof)
            case .failure(.unexpectedNode(let expected, let found)):
                throw PeerClientError.unexpectedNode(expected: "\(expected)", found: "\(found)")
            case .failure(let failure):
                throw PeerClientError.untrusted(address, reason: failure.description)
            }
        }.flatMap { responder, proof in
            self.call(.authenticate, AuthenticateArguments(proof: proof), timeout: timeout) { buffer -> NodeID in
                let status = try buffer.readXDREnum(PeerStatus.self)
                guard status == .ok else {
                    throw PeerClientError.untrusted(address, reason: "it refused this node's proof (it holds another key)")
                }
                return responder
            }
        }
    }

    public func authenticate(as me: NodeInfo, key: NetworkKey, expecting: NodeID?, timeout: TimeAmount) async throws -> NodeID {
        try await self.authenticate(as: me, key: key, expecting: expecting, timeout: timeout).get()
    }

    public func changes(since generation: UInt64, timeout: TimeAmount) async throws -> ChangesReply {
        try await self.call(.changes, ChangesArguments(catalogGeneration: generation), timeout: timeout) { buffer in
            let status = try buffer.readXDREnum(PeerStatus.self)
            guard status == .ok else { throw PeerClientError.status(status) }
            return try ChangesReply(xdr: &buffer)
        }.get()
    }

    public func peers(timeout: TimeAmount) async throws -> PeersReply {
        try await self.call(.peers, nil as ChangesArguments?, timeout: timeout) { buffer in
            let status = try buffer.readXDREnum(PeerStatus.self)
            guard status == .ok else { throw PeerClientError.status(status) }
            return try PeersReply(xdr: &buffer)
        }.get()
    }

    public func catalogPage(_ arguments: CatalogArguments, timeout: TimeAmount) async throws -> CatalogResult {
        try await self.call(.catalog, arguments, timeout: timeout) { buffer in
            try CatalogResult(xdr: &buffer)
        }.get()
    }

    /// Fetches a whole catalog page by page, starting over (a bounded number
    /// of times) if it changes underneath. Each page goes into the compact
    /// form as it arrives: a crawl fetching many large catalogs at once holds
    /// no more than a page of each as `CatalogEntry` values. Entries whose
    /// path cannot be served (a name with '/' or NUL, "." or "..", longer
    /// than 255 bytes) are left out and counted in `refused`, by reason.
    public func catalog(
        pageSize: UInt32 = UInt32(PeerLimits.maximumCatalogReply), maximumEntries: Int = PeerLimits.maximumCatalogEntries,
        timeout: TimeAmount
    ) async throws -> (generation: UInt64, entries: CatalogEntries, refused: NameRefusals) {
        for _ in 0..<5 {
            var entries = CatalogEntries.Builder()
            var refused = NameRefusals()
            var generation: UInt64 = 0
            var cookie: UInt64 = 0
            var restart = false
            paging: while true {
                switch try await self.catalogPage(
                    CatalogArguments(generation: generation, cookie: cookie, maximumCount: pageSize), timeout: timeout
                ) {
                case .page(let page):
                    // The total is only the peer's word: what it delivers counts too.
                    guard page.totalEntries <= UInt64(maximumEntries), entries.count + page.entries.count <= maximumEntries else {
                        throw PeerClientError.catalogTooLarge(self.address, limit: maximumEntries)
                    }
                    if cookie == 0 {
                        generation = page.generation
                        // Sized by the claim only up to a point.
                        entries.reserveCapacity(entries: Int(min(page.totalEntries, 1 << 18)))
                    }
                    for entry in page.entries {
                        if let refusal = NamespacePath.refusal(ofPath: entry.path) {
                            refused.add(refusal, example: entry.path)
                        } else {
                            entries.append(entry)
                        }
                    }
                    if page.isLast { return (generation, entries.build(), refused) }
                    guard page.nextCookie > cookie, !page.entries.isEmpty else {
                        throw PeerClientError.status(.invalid)
                    }
                    cookie = page.nextCookie
                case .changed:
                    restart = true
                    break paging
                case .failed(let status):
                    throw PeerClientError.status(status)
                }
            }
            if !restart { break }
        }
        throw PeerClientError.status(.changed)
    }

    /// Reads a range of a file; the data is a slice of the reply.
    public func read(_ arguments: ReadArguments, timeout: TimeAmount) -> EventLoopFuture<ReadReply> {
        self.call(.read, arguments, timeout: timeout) { buffer -> ReadReply in
            switch try ReadResult(xdr: &buffer) {
            case .ok(let reply): return reply
            case .failed(let status): throw PeerClientError.status(status)
            }
        }
    }

    /// Asks for a file's content hash (HASH).
    public func hash(_ arguments: HashArguments, timeout: TimeAmount) -> EventLoopFuture<ContentHash> {
        self.call(.hash, arguments, timeout: timeout) { buffer -> ContentHash in
            switch try HashResult(xdr: &buffer) {
            case .ok(let hash): return hash
            case .failed(let status): throw PeerClientError.status(status)
            }
        }
    }

    private func call<Arguments: XDREncodable, Result: Sendable>(
        _ procedure: PeerProcedure,
        _ arguments: Arguments?,
        timeout: TimeAmount,
        decode: @escaping @Sendable (inout ByteBuffer) throws -> Result
    ) -> EventLoopFuture<Result> {
        var buffer = self.client.channel.allocator.buffer(capacity: 128)
        arguments?.encode(into: &buffer)
        return self.client.call(
            program: PeerProcedure.program, version: PeerProcedure.version, procedure: procedure.rawValue,
            arguments: buffer, timeout: timeout
        ).flatMapErrorThrowing { error in
            throw self.explained((error as? RPCClientError).map(PeerClientError.rpc) ?? error)
        }.flatMapThrowing { results in
            var results = results
            do {
                return try decode(&results)
            } catch let error as XDRError {
                throw PeerClientError.malformedReply(error)
            }
        }
    }
}

