import CoreMetrics
import Logging
import Namespace
import NIOCore

/// Drives `PeerCrawlState`: contacts nodes, fetches what changed, feeds the
/// namespace, and publishes the directory, round after round.
public actor PeerCrawler {
    public struct Configuration: Sendable {
        /// Pause between rounds.
        public var interval: Duration
        /// How long a silent node keeps its files in the namespace.
        public var expiry: Duration
        /// Per-call timeout for crawl calls (HELLO, CHANGES, PEERS, one
        /// CATALOG page).
        public var callTimeout: TimeAmount
        /// Nodes contacted at once.
        public var concurrency: Int

        public init(interval: Duration = .seconds(3), expiry: Duration = .seconds(10), callTimeout: TimeAmount = .seconds(5), concurrency: Int = 16) {
            self.interval = interval
            self.expiry = expiry
            self.callTimeout = callTimeout
            self.concurrency = concurrency
        }
    }

    private var state: PeerCrawlState
    private let localNode: @Sendable () -> NodeInfo
    private let presentsNamespace: Bool
    private let store: NamespaceStore?
    private let pool: PeerConnectionPool
    private let directory: PeerDirectory
    private let cache: BlockCache
    private let readerConfiguration: ForwardedFileReader.Configuration
    private let configuration: Configuration
    private let logger: Logger
    public nonisolated let wake: CrawlWakeSignal
    private var readers: [NodeID: ForwardedFileReader] = [:]
    private var roundsCompleted = 0
    private let roundDuration = Timer(label: "p2pfs_crawl_round_duration_seconds")
    /// Addresses already warned about for a refusal (`refusedNodeAddress`):
    /// warned once, not every round.
    private var refusalWarnings: Set<PeerAddress> = []

    /// - Parameters:
    ///   - store: where remote catalogs go; nil for a node that only offers
    ///     files (it still crawls, to know the network for PEERS).
    public init(
        localNode: @escaping @Sendable () -> NodeInfo,
        seeds: [PeerAddress],
        store: NamespaceStore?,
        pool: PeerConnectionPool,
        directory: PeerDirectory,
        cache: BlockCache,
        readerConfiguration: ForwardedFileReader.Configuration,
        configuration: Configuration,
        wake: CrawlWakeSignal,
        logger: Logger
    ) {
        self.state = PeerCrawlState(me: localNode().identity.id, seeds: seeds, expiry: configuration.expiry)
        self.localNode = localNode
        self.presentsNamespace = store != nil
        self.store = store
        self.pool = pool
        self.directory = directory
        self.cache = cache
        self.readerConfiguration = readerConfiguration
        self.configuration = configuration
        self.wake = wake
        self.logger = logger
    }

    /// Crawls until the task is cancelled. `afterFirstRound` runs once, when
    /// the first round has gathered everything reachable; `afterEachRound`
    /// after every round, with the nodes verified so far.
    public func run(
        afterFirstRound: @Sendable () async -> Void = {}, afterEachRound: @Sendable (Set<NodeID>) async -> Void = { _ in }
    ) async {
        while !Task.isCancelled {
            await self.crawlRound()
            if self.roundsCompleted == 1 {
                await afterFirstRound()
            }
            await afterEachRound(Set(self.state.known.filter { $0.value.isVerified }.keys))
            await self.wake.wait(timeout: self.configuration.interval)
        }
    }

    /// One breadth-first round over the whole network.
    public func crawlRound() async {
        let now = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - now).components
            self.roundDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        var frontier = self.state.beginRound(heard: self.directory.takeHeard(), now: now)
        var wave = 0
        while !frontier.isEmpty && wave < 64 {
            wave += 1
            for case .node(let id) in frontier {
                self.pool.setAddresses(self.state.addresses(of: id), for: id)
            }
            let outcomes = await self.contact(frontier)
            var next: [PeerCrawlState.Target] = []
            var catalogs: [SourceCatalog] = []
            for outcome in outcomes {
                next += self.apply(outcome, catalogs: &catalogs)
            }
            self.store?.setCatalogs(catalogs)
            frontier = self.state.take(next)
        }
        for removed in self.state.expire(now: ContinuousClock.now) {
            self.logger.info("peer left the network", metadata: ["node": "\(removed)"])
            self.forget(removed)
        }
        self.directory.publish(self.state.directoryEntries(now: ContinuousClock.now))
        self.roundsCompleted += 1
    }

    /// Asks for a node's catalog again at the next round (a read showed the
    /// file changed), and makes that round come soon.
    public func refresh(_ node: NodeID) {
        self.state.invalidateCatalog(of: node)
        self.wake.signal()
    }

    public var knownNodes: [NodeID: PeerCrawlState.Known] { self.state.known }

    /// A node announced on the link: crawled soon, trusted only once it
    /// answers (see `PeerCrawlState.discovered`).
    public func discovered(_ info: NodeInfo) {
        if self.state.discovered(info, now: ContinuousClock.now) {
            self.logger.debug("node announced on the link", metadata: ["node": "\(info.identity)", "addresses": "\(info.addresses)"])
            self.wake.signal()
        }
    }

    /// A node's announcement went (goodbye or expiry): checked at once, and
    /// dropped if it does not answer (see `PeerCrawlState.withdrawn`).
    public func withdrawn(_ node: NodeID) {
        guard self.state.known[node] != nil else { return }
        if let dropped = self.state.withdrawn(node) {
            self.forget(dropped)
            self.directory.publish(self.state.directoryEntries(now: ContinuousClock.now))
        } else {
            self.logger.debug("node said goodbye on the link; checking it", metadata: ["node": "\(node)"])
        }
        self.wake.signal()
    }

    private func forget(_ node: NodeID) {
        self.store?.removeCatalog(of: node)
        self.pool.forget(node)
        self.readers.removeValue(forKey: node)
    }

    public var seeds: [PeerAddress] { self.state.seeds }

    /// Crawls from `seeds` from now on, starting a round soon so new seeds
    /// are contacted at once.
    public func setSeeds(_ seeds: [PeerAddress]) {
        self.state.setSeeds(seeds)
        self.wake.signal()
    }

    // MARK: Contacting nodes

    private struct Outcome: Sendable {
        var target: PeerCrawlState.Target
        var result: Result<Contact, any Error>
    }

    private struct Contact: Sendable {
        var info: NodeInfo
        var address: PeerAddress?
        var catalogGeneration: UInt64
        var peersGeneration: UInt64
        var catalog: (generation: UInt64, entries: CatalogEntries, refused: NameRefusals)?
        var peers: PeersReply?
    }

    private func contact(_ targets: [PeerCrawlState.Target]) async -> [Outcome] {
        let me = self.localNode()
        let jobs = targets.map { target -> (PeerCrawlState.Target, Job) in
            switch target {
            case .seed(let address):
                return (target, Job(kind: .seed(address), known: nil))
            case .node(let id):
                return (target, Job(kind: .node(id), known: self.state.known[id]))
            }
        }
        let concurrency = max(1, self.configuration.concurrency)
        return await withTaskGroup(of: Outcome.self) { group in
            var outcomes: [Outcome] = []
            var iterator = jobs.makeIterator()
            for _ in 0..<concurrency {
                guard let (target, job) = iterator.next() else { break }
                group.addTask { await self.run(job, target: target, me: me) }
            }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if let (target, job) = iterator.next() {
                    group.addTask { await self.run(job, target: target, me: me) }
                }
            }
            return outcomes
        }
    }

    private struct Job: Sendable {
        enum Kind: Sendable {
            case seed(PeerAddress)
            case node(NodeID)
        }
        var kind: Kind
        var known: PeerCrawlState.Known?
    }

    private nonisolated func run(_ job: Job, target: PeerCrawlState.Target, me: NodeInfo) async -> Outcome {
        do {
            return Outcome(target: target, result: .success(try await self.perform(job, me: me)))
        } catch {
            return Outcome(target: target, result: .failure(error))
        }
    }

    private nonisolated func perform(_ job: Job, me: NodeInfo) async throws -> Contact {
        let timeout = self.configuration.callTimeout
        let connection: PeerConnection
        var contact: Contact
        switch job.kind {
        case .seed(let address):
            // A seed address comes with no id: the certificate tells who is
            // there, and HELLO must say the same (`PeerConnection.hello`).
            connection = try await PeerConnection.connect(
                to: address, group: self.pool.loopForNewConnection(), connectTimeout: timeout, tls: self.pool.tls, logger: self.logger
            )
            let hello: HelloReply
            do {
                var proven: NodeID?
                if let authentication = self.pool.authentication {
                    // Closed network: nothing but the handshake until both
                    // sides proved the key.
                    proven = try await connection.authenticate(as: me, key: authentication.key, expecting: nil, timeout: timeout)
                }
                hello = try await connection.hello(HelloArguments(sender: me), timeout: timeout)
                if let proven, proven != hello.responder.identity.id {
                    throw PeerClientError.unexpectedNode(expected: "\(proven)", found: "\(hello.responder.identity)")
                }
            } catch {
                connection.close()
                throw error
            }
            if hello.responder.identity.id == me.identity.id {
                connection.close()
            } else {
                self.pool.adopt(connection, for: hello.responder.identity.id)
            }
            contact = Contact(
                info: hello.responder, address: address, catalogGeneration: hello.catalogGeneration,
                peersGeneration: hello.peersGeneration
            )
        case .node(let id):
            connection = try await self.pool.connection(for: id).get()
            contact = try await self.refusalsExplained(connection) {
                try await self.poll(id, job: job, connection: connection, me: me, timeout: timeout)
            }
        }
        guard contact.info.identity.id != me.identity.id else { return contact }
        let known = job.known
        return try await self.refusalsExplained(connection) {
            if known?.peersGeneration != contact.peersGeneration {
                contact.peers = try await connection.peers(timeout: timeout)
            }
            if self.presentsNamespace, known?.catalogGeneration != contact.catalogGeneration || known?.catalogGeneration == nil {
                if contact.info.roles.contains(.server) {
                    contact.catalog = try await connection.catalog(timeout: timeout)
                }
            }
            return contact
        }
    }

    /// CHANGES on an established relationship, HELLO otherwise.
    private nonisolated func poll(_ id: NodeID, job: Job, connection: PeerConnection, me: NodeInfo, timeout: TimeAmount) async throws -> Contact {
        if let known = job.known, known.isVerified, known.unreachableSince == nil, known.catalogGeneration != nil || !self.presentsNamespace {
            // The cheap poll on an established relationship.
            let changes = try await connection.changes(since: known.catalogGeneration ?? 0, timeout: timeout)
            return Contact(
                info: known.info, address: connection.address, catalogGeneration: changes.catalogGeneration,
                peersGeneration: changes.peersGeneration
            )
        }
        let hello = try await connection.hello(HelloArguments(sender: me), timeout: timeout)
        guard hello.responder.identity.id == id else {
            throw PeerClientError.unexpectedNode(expected: "\(id)", found: "\(hello.responder.identity)")
        }
        return Contact(
            info: hello.responder, address: connection.address, catalogGeneration: hello.catalogGeneration,
            peersGeneration: hello.peersGeneration
        )
    }

    /// PEER_DENIED on a connection that worked before: the node turned
    /// closed (restarted with a key), or stopped accepting this node's key.
    private nonisolated func refusalsExplained<T>(_ connection: PeerConnection, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch PeerClientError.status(.denied) {
            throw self.pool.authentication == nil
                ? PeerClientError.keyRequired(connection.address)
                : PeerClientError.untrusted(connection.address, reason: "it refused this node")
        }
    }

    /// Folds one contact's result into the state; returns targets it revealed.
    private func apply(_ outcome: Outcome, catalogs: inout [SourceCatalog]) -> [PeerCrawlState.Target] {
        let now = ContinuousClock.now
        switch outcome.result {
        case .failure(let error):
            if let error = error as? PeerClientError, let address = error.refusedNodeAddress {
                // Not a dead node: one that is not of this network, or
                // offers too much. Said once per address, not every round.
                if self.refusalWarnings.insert(address).inserted {
                    self.logger.warning("\(error); not crawled, not read from")
                }
            } else if self.state.known[outcomeNode(outcome.target) ?? NodeID(high: 0, low: 0)]?.unreachableSince == nil {
                self.logger.debug("peer contact failed", metadata: ["target": "\(outcome.target)", "error": "\(error)"])
            }
            self.state.failed(outcome.target, now: now)
            return []
        case .success(let contact):
            if let address = contact.address {
                self.refusalWarnings.remove(address)
            }
            let reached = self.state.reached(
                outcome.target, as: contact.info, at: contact.address, catalogGeneration: contact.catalogGeneration,
                peersGeneration: contact.peersGeneration, now: now
            )
            guard case .reached(let id, _, _) = reached else { return [] }
            if let catalog = contact.catalog {
                if self.state.known[id]?.catalogGeneration == nil {
                    self.logger.info(
                        "peer catalog", metadata: ["node": "\(contact.info.identity)", "entries": "\(catalog.entries.count)"]
                    )
                }
                if !catalog.refused.isEmpty, self.state.known[id]?.refusedNames != catalog.refused {
                    self.logger.warning(
                        "peer catalog entries refused: their names cannot be served",
                        metadata: [
                            "node": "\(contact.info.identity)", "refused": "\(catalog.refused.total)",
                            "why": "\(catalog.refused.detailedDescription)",
                        ]
                    )
                }
                self.state.fetchedCatalog(
                    of: id, generation: catalog.generation, entries: catalog.entries.count, refused: catalog.refused
                )
                catalogs.append(
                    SourceCatalog(
                        origin: contact.info.identity, generation: catalog.generation, entries: catalog.entries,
                        reader: self.reader(for: id), isLocal: false
                    )
                )
            }
            if let peers = contact.peers {
                return self.state.learned(peers.nodes, from: id, peersGeneration: peers.peersGeneration, now: now)
            }
            return []
        }
    }

    private func outcomeNode(_ target: PeerCrawlState.Target) -> NodeID? {
        if case .node(let id) = target { return id }
        return nil
    }

    private func reader(for node: NodeID) -> ForwardedFileReader {
        if let reader = self.readers[node] { return reader }
        let reader = ForwardedFileReader(
            node: node, pool: self.pool, cache: self.cache, configuration: self.readerConfiguration
        ) { [weak self] _, _ in
            guard let self else { return }
            Task { await self.refresh(node) }
        }
        self.readers[node] = reader
        return reader
    }
}
