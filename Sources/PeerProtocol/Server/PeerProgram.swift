import Logging
import Namespace
import NIOCore
import ONCRPC
import XDR

/// Serves the peer protocol: this node's identity, its catalog, the nodes it
/// knows, and blocks of the files it offers.
///
/// On a closed network (`access` holds a network key) a connection gets
/// nothing but the handshake until it has proved the key: HELLO answers only
/// the proof and a challenge (PEER_DENIED without a challenge), and CHANGES,
/// CATALOG, PEERS, READ and HASH answer PEER_DENIED.
public struct PeerProgram: RPCProgram {
    public let program = PeerProcedure.program
    public let versions = PeerProcedure.version...PeerProcedure.version

    private let localNode: @Sendable () -> NodeInfo
    private let catalog: @Sendable () -> SourceCatalog?
    private let directory: PeerDirectory
    private let statistics: PeerServerStatistics
    public let access: PeerAccessControl

    /// - Parameters:
    ///   - localNode: this node as it introduces itself.
    ///   - catalog: what this node offers now (nil when it offers nothing).
    ///   - access: who may call (`.open` when no network key is used).
    public init(
        localNode: @escaping @Sendable () -> NodeInfo,
        catalog: @escaping @Sendable () -> SourceCatalog?,
        directory: PeerDirectory,
        statistics: PeerServerStatistics,
        access: PeerAccessControl = .open
    ) {
        self.localNode = localNode
        self.catalog = catalog
        self.directory = directory
        self.statistics = statistics
        self.access = access
    }

    public func connectionClosed(_ connectionID: UInt64) {
        self.access.connectionClosed(connectionID)
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        guard let procedure = PeerProcedure(rawValue: call.procedure) else {
            return .done(.procedureUnavailable)
        }
        switch procedure {
        case .changes, .catalog, .peers, .read, .hash:
            guard self.access.isAuthorized(context) else {
                // Before the handshake: decode nothing, reveal nothing.
                return .done(Self.statusOnly(.denied, context: context))
            }
        case .null, .hello, .authenticate:
            break
        }
        var arguments = call.arguments
        do {
            switch procedure {
            case .null:
                return .done(.success(RPCResultBody(head: context.makeResultBuffer(capacity: 0))))
            case .hello:
                return .done(self.hello(try HelloArguments(xdr: &arguments), context: context))
            case .authenticate:
                return .done(self.authenticate(try AuthenticateArguments(xdr: &arguments), context: context))
            case .changes:
                return .done(self.changes(try ChangesArguments(xdr: &arguments), context: context))
            case .catalog:
                return .done(self.catalogPage(try CatalogArguments(xdr: &arguments), context: context))
            case .peers:
                return .done(self.peers(context: context))
            case .read:
                return self.read(try ReadArguments(xdr: &arguments), context: context)
            case .hash:
                return self.hash(try HashArguments(xdr: &arguments), context: context)
            }
        } catch {
            context.logger.debug("malformed peer call", metadata: ["procedure": "\(procedure)", "error": "\(error)"])
            return .done(.garbageArguments)
        }
    }

    private func hello(_ arguments: HelloArguments, context: RPCCallContext) -> RPCOutcome {
        var head = context.makeResultBuffer(capacity: 256)
        guard arguments.protocolVersion == PeerProcedure.version else {
            head.writeXDREnum(PeerStatus.badVersion)
            return .success(RPCResultBody(head: head))
        }
        if let session = context.peerIdentity, arguments.sender.identity.id != PeerTLS.nodeID(of: session) {
            // Over TLS a caller is the node its certificate's key makes it.
            context.logger.warning(
                "refused HELLO: the caller claims node id \(arguments.sender.identity.id), but its certificate is that of node \(PeerTLS.nodeID(of: session))"
            )
            return Self.statusOnly(.denied, context: context)
        }
        let me = self.localNode()
        if !self.access.isOpen {
            if !arguments.challenge.isEmpty {
                // The handshake: prove the key, challenge the caller, and
                // tell nothing else (the id is what the proof is bound to).
                switch self.access.hello(from: arguments.sender, challenge: arguments.challenge, me: me.identity.id, context: context) {
                case .denied:
                    return Self.statusOnly(.denied, context: context)
                case .challenge(let proof, let challenge):
                    let reply = HelloReply(
                        responder: NodeInfo(identity: NodeIdentity(id: me.identity.id, name: ""), roles: [], addresses: []),
                        catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: challenge
                    )
                    head.writeXDREnum(PeerStatus.ok)
                    reply.encode(into: &head)
                    return .success(RPCResultBody(head: head))
                }
            }
            guard self.access.isAuthorized(context) else {
                return Self.statusOnly(.denied, context: context)
            }
        }
        self.record(arguments.sender, me: me, context: context)
        let reply = HelloReply(
            responder: me,
            catalogGeneration: self.catalog()?.generation ?? 0,
            peersGeneration: self.directory.peersGeneration
        )
        head.writeXDREnum(PeerStatus.ok)
        reply.encode(into: &head)
        return .success(RPCResultBody(head: head))
    }

    /// Remembers a caller that introduced itself (and, on a closed network,
    /// proved the key), so the crawler verifies and lists it. Tools
    /// (`p2pfs peers`, no roles) are not nodes and are not remembered.
    private func record(_ sender: NodeInfo, me: NodeInfo, context: RPCCallContext) {
        if sender.identity.id != me.identity.id, !sender.roles.isEmpty, NodeIdentity.isValidName(sender.identity.name) {
            self.directory.heard(sender, observedHost: context.remoteAddress?.ipAddress)
        }
    }

    private func authenticate(_ arguments: AuthenticateArguments, context: RPCCallContext) -> RPCOutcome {
        if self.access.isOpen {
            // Open network: nothing to prove.
            return Self.statusOnly(.ok, context: context)
        }
        guard let caller = self.access.authenticate(proof: arguments.proof, context: context) else {
            context.logger.debug("network key handshake failed")
            return Self.statusOnly(.denied, context: context)
        }
        self.record(caller, me: self.localNode(), context: context)
        return Self.statusOnly(.ok, context: context)
    }

    private func changes(_ arguments: ChangesArguments, context: RPCCallContext) -> RPCOutcome {
        let generation = self.catalog()?.generation ?? 0
        let reply = ChangesReply(
            catalogChanged: generation != arguments.catalogGeneration,
            catalogGeneration: generation,
            peersGeneration: self.directory.peersGeneration
        )
        var head = context.makeResultBuffer(capacity: 28)
        head.writeXDREnum(PeerStatus.ok)
        reply.encode(into: &head)
        return .success(RPCResultBody(head: head))
    }

    private func catalogPage(_ arguments: CatalogArguments, context: RPCCallContext) -> RPCOutcome {
        let catalog = self.catalog()
        let generation = catalog?.generation ?? 0
        let entries = catalog?.entries ?? []
        let result: CatalogResult
        if arguments.generation != 0 && arguments.generation != generation {
            result = .changed(currentGeneration: generation)
        } else if arguments.cookie > UInt64(entries.count) {
            result = .failed(.invalid)
        } else {
            let budget = min(max(Int(arguments.maximumCount), 1024), PeerLimits.maximumCatalogReply)
            var used = 4 + 8 + 8 + 4 + 8 + 4
            var position = Int(arguments.cookie)
            let start = position
            while position < entries.count {
                let entry = entries[position]
                let length = CatalogEntry.peerEncodedLength(path: entry.path, target: entry.symlinkTarget)
                if used + length > budget && position > start { break }
                used += length
                position += 1
            }
            result = .page(
                CatalogPage(
                    generation: generation, totalEntries: UInt64(entries.count), entries: Array(entries[start..<position]),
                    nextCookie: UInt64(position), isLast: position == entries.count
                )
            )
        }
        var head = context.makeResultBuffer(capacity: 4096)
        result.encode(into: &head)
        return .success(RPCResultBody(head: head))
    }

    private func peers(context: RPCCallContext) -> RPCOutcome {
        let alive = self.directory.alive
        let reply = PeersReply(peersGeneration: alive.generation, nodes: Array(alive.nodes.prefix(PeerLimits.maximumNodes)))
        var head = context.makeResultBuffer(capacity: 64 + 128 * reply.nodes.count)
        head.writeXDREnum(PeerStatus.ok)
        reply.encode(into: &head)
        return .success(RPCResultBody(head: head))
    }

    private func read(_ arguments: ReadArguments, context: RPCCallContext) -> RPCResponse {
        guard NamespacePath.isValidPath(arguments.path) else {
            return .done(Self.statusOnly(.invalid, context: context))
        }
        guard let catalog = self.catalog() else {
            return .done(Self.statusOnly(.noEntry, context: context))
        }
        let count = min(Int(arguments.count), PeerLimits.maximumReadSize)
        self.statistics.recordRead(bytesRequested: count)
        let future = catalog.reader.read(
            path: arguments.path, expected: FileVersion(size: 0, mtime: .zero), offset: arguments.offset, count: count,
            eventLoop: context.eventLoop
        )
        return .pending(
            future.map { result -> RPCOutcome in
                self.statistics.recordServed(bytes: result.data.readableBytes)
                let reply = ReadReply(version: result.version, isEndOfFile: result.isEndOfFile, data: result.data)
                var head = context.makeResultBuffer(capacity: 32)
                reply.encodeHead(into: &head)
                return .success(RPCResultBody(head: head, bulk: .byteBuffer(result.data)))
            }.recover { error in
                let status = (error as? FileSystemError).map(PeerStatus.init) ?? .io
                return Self.statusOnly(status, context: context)
            }
        )
    }

    /// The SHA-256 of a file this node offers, if it is still at the
    /// version the caller's catalog holds. Hashing runs on the reader's
    /// thread pool (and is cached there); this only waits for it.
    private func hash(_ arguments: HashArguments, context: RPCCallContext) -> RPCResponse {
        guard NamespacePath.isValidPath(arguments.path) else {
            return .done(Self.statusOnly(.invalid, context: context))
        }
        guard let hasher = self.catalog()?.reader as? any ContentHasher else {
            return .done(Self.statusOnly(.noEntry, context: context))
        }
        return .pending(
            hasher.contentHash(path: arguments.path, expected: arguments.version, eventLoop: context.eventLoop).map { hash in
                var head = context.makeResultBuffer(capacity: 40)
                HashResult.ok(hash).encode(into: &head)
                return RPCOutcome.success(RPCResultBody(head: head))
            }.recover { error in
                let status = (error as? ContentHashError).map(PeerStatus.init) ?? .io
                return Self.statusOnly(status, context: context)
            }
        )
    }

    /// A reply that is only a status (every `*_res` union's non-OK arms,
    /// and AUTHENTICATE's `peer_status`).
    private static func statusOnly(_ status: PeerStatus, context: RPCCallContext) -> RPCOutcome {
        var head = context.makeResultBuffer(capacity: 4)
        head.writeXDREnum(status)
        return .success(RPCResultBody(head: head))
    }
}
