import Namespace

/// The crawl's knowledge and rules, as a plain value (no sockets, no clock):
/// which addresses and nodes to contact in a round, what a reply or a
/// failure means, when a silent node is dropped.
///
/// A round is a breadth-first walk: it starts from the seeds and every known
/// node, and each node a contacted node tells about is contacted in the same
/// round, once, until no new node appears. Told-about nodes stay
/// *unverified* until they answer themselves.
///
/// Nodes announced on the link (mDNS) are candidates like those a PEERS
/// answer names, at most `maximumDiscoveredCandidates` unverified at once. A
/// node that said goodbye is *leaving*: the first contact that fails drops
/// it, without waiting for the expiry; one that answers stays.
public struct PeerCrawlState: Sendable {
    /// Unverified mDNS candidates held at once; more are ignored until some
    /// verify or go, so a flood of fake announcements costs bounded memory
    /// and never displaces a known node.
    public static let maximumDiscoveredCandidates = 256

    public enum Target: Hashable, Sendable {
        /// An address given on the command line, not yet tied to a node.
        case seed(PeerAddress)
        case node(NodeID)
    }

    public struct Known: Sendable, Equatable {
        public var info: NodeInfo
        public var isVerified: Bool
        public var lastSeen: ContinuousClock.Instant?
        public var unreachableSince: ContinuousClock.Instant?
        public var catalogGeneration: UInt64?
        public var peersGeneration: UInt64?
        public var catalogEntries: Int?
        /// Entries of its last catalog left out because their names cannot
        /// be served, by reason.
        public var refusedNames = NameRefusals()
        public var firstHeard: ContinuousClock.Instant
        /// How it became known (several ways, possibly).
        public var origins: Set<PeerOrigin> = []
        /// It said goodbye (mDNS TTL 0); a failed contact drops it at once.
        public var isLeaving = false
    }

    public let me: NodeID
    public private(set) var seeds: [PeerAddress]
    public private(set) var known: [NodeID: Known] = [:]
    private var seedOwners: [PeerAddress: NodeID] = [:]
    private var contacted: Set<Target> = []
    /// A node that stays unreachable (or never verifies) this long is dropped.
    public let expiry: Duration

    public init(me: NodeID, seeds: [PeerAddress], expiry: Duration) {
        self.me = me
        self.seeds = seeds
        self.expiry = expiry
    }

    /// Replaces the seeds (a reloaded configuration). A removed seed is no
    /// longer contacted as such; a node found through it stays known while it
    /// answers (other nodes may tell about it too), like any other node.
    public mutating func setSeeds(_ seeds: [PeerAddress]) {
        for removed in Set(self.seeds).subtracting(seeds) {
            self.seedOwners.removeValue(forKey: removed)
        }
        self.seeds = seeds
    }

    /// Starts a round: records what was heard meanwhile and returns the
    /// first wave of targets.
    public mutating func beginRound(heard: [PeerDirectory.Heard], now: ContinuousClock.Instant) -> [Target] {
        self.contacted = []
        for item in heard {
            var addresses = item.info.addresses
            if let host = item.observedHost {
                for port in Set(addresses.map(\.port)) where !addresses.contains(PeerAddress(host: host, port: port)) {
                    addresses.append(PeerAddress(host: host, port: port))
                }
            }
            var info = item.info
            info.addresses = Array(addresses.prefix(PeerLimits.maximumAddresses))
            self.consider(info, origin: .caller, now: now)
        }
        var targets: [Target] = self.seeds.compactMap { address in
            self.seedOwners[address] == nil ? .seed(address) : nil
        }
        targets += self.known.keys.sorted().map { .node($0) }
        return self.take(targets)
    }

    /// Filters out targets already contacted this round, marking the rest.
    public mutating func take(_ targets: [Target]) -> [Target] {
        var fresh: [Target] = []
        for target in targets where !self.contacted.contains(target) {
            if case .node(let id) = target, id == self.me { continue }
            self.contacted.insert(target)
            fresh.append(target)
        }
        return fresh
    }

    /// The addresses to try for a node, best first.
    public func addresses(of node: NodeID) -> [PeerAddress] {
        var addresses = self.known[node]?.info.addresses ?? []
        for (seed, owner) in self.seedOwners where owner == node && !addresses.contains(seed) {
            addresses.append(seed)
        }
        return addresses
    }

    public enum Reached: Equatable, Sendable {
        /// The node answered; fetch its catalog and/or peers if they changed.
        case reached(NodeID, catalogChanged: Bool, peersChanged: Bool)
        /// The answer came from ourselves (a seed pointing back at this node).
        case isSelf
    }

    /// A target answered HELLO (or CHANGES) as `info` at `address`.
    public mutating func reached(
        _ target: Target,
        as info: NodeInfo,
        at address: PeerAddress?,
        catalogGeneration: UInt64,
        peersGeneration: UInt64,
        now: ContinuousClock.Instant
    ) -> Reached {
        let id = info.identity.id
        if case .seed(let seed) = target {
            self.seedOwners[seed] = id
        }
        if case .node(let claimed) = target, claimed != id {
            // Someone else answers where `claimed` was said to be.
            self.failed(target, now: now)
        }
        guard id != self.me else { return .isSelf }
        self.contacted.insert(.node(id))
        var known = self.known[id] ?? Known(info: info, isVerified: false, firstHeard: now)
        if case .seed = target { known.origins.insert(.seed) }
        known.isLeaving = false
        var addresses = info.addresses
        if let address, !addresses.contains(address) {
            addresses.insert(address, at: 0)
        } else if let address, let position = addresses.firstIndex(of: address), position > 0 {
            addresses.remove(at: position)
            addresses.insert(address, at: 0)
        }
        known.info = NodeInfo(identity: info.identity, roles: info.roles, addresses: Array(addresses.prefix(PeerLimits.maximumAddresses)))
        known.isVerified = true
        known.lastSeen = now
        known.unreachableSince = nil
        let catalogChanged = known.catalogGeneration != catalogGeneration
        let peersChanged = known.peersGeneration != peersGeneration
        self.known[id] = known
        return .reached(id, catalogChanged: catalogChanged, peersChanged: peersChanged)
    }

    /// Records a catalog fetched from `node`.
    public mutating func fetchedCatalog(of node: NodeID, generation: UInt64, entries: Int, refused: NameRefusals = NameRefusals()) {
        self.known[node]?.catalogGeneration = generation
        self.known[node]?.catalogEntries = entries
        self.known[node]?.refusedNames = refused
    }

    /// Records a PEERS answer from `node`; returns the nodes it revealed
    /// (pass them through `take` to contact each once this round).
    public mutating func learned(_ nodes: [NodeInfo], from node: NodeID, peersGeneration: UInt64, now: ContinuousClock.Instant) -> [Target] {
        self.known[node]?.peersGeneration = peersGeneration
        var targets: [Target] = []
        for info in nodes where info.identity.id != self.me {
            if self.consider(info, origin: .peers, now: now) {
                targets.append(.node(info.identity.id))
            }
        }
        return targets
    }

    /// A node announced on the link (mDNS): a candidate like one a PEERS
    /// answer names, verified by its own HELLO. True when it is new (crawl
    /// it soon); false when known already or when too many unverified
    /// candidates wait.
    @discardableResult
    public mutating func discovered(_ info: NodeInfo, now: ContinuousClock.Instant) -> Bool {
        if self.known[info.identity.id] == nil {
            let waiting = self.known.values.count { !$0.isVerified && $0.origins == [.mdns] }
            guard waiting < Self.maximumDiscoveredCandidates else { return false }
        }
        return self.consider(info, origin: .mdns, now: now)
    }

    /// A node's announcement went (a goodbye, or its records expired). One
    /// known only from the announcement and never verified is dropped at
    /// once (returned); any other is marked leaving, so the next failed
    /// contact drops it, while one that still answers stays (a goodbye
    /// anyone on the link could have sent).
    public mutating func withdrawn(_ id: NodeID) -> NodeID? {
        guard var known = self.known[id] else { return nil }
        if !known.isVerified && known.origins == [.mdns] {
            self.known.removeValue(forKey: id)
            return id
        }
        known.isLeaving = true
        self.known[id] = known
        return nil
    }

    /// A target could not be reached (or answered with garbage).
    public mutating func failed(_ target: Target, now: ContinuousClock.Instant) {
        guard case .node(let id) = target, var known = self.known[id] else { return }
        if known.unreachableSince == nil {
            known.unreachableSince = now
        }
        self.known[id] = known
    }

    /// Forgets the catalog generation of `node` so the next round refetches it.
    public mutating func invalidateCatalog(of node: NodeID) {
        self.known[node]?.catalogGeneration = nil
    }

    /// Drops nodes silent (or unverified) for longer than `expiry`.
    public mutating func expire(now: ContinuousClock.Instant) -> [NodeID] {
        var removed: [NodeID] = []
        for (id, known) in self.known {
            let silentSince = known.unreachableSince ?? (known.isVerified ? nil : known.firstHeard)
            if known.isLeaving, known.unreachableSince != nil {
                removed.append(id)
            } else if let since = silentSince, now - since >= self.expiry {
                removed.append(id)
            }
        }
        for id in removed {
            self.known.removeValue(forKey: id)
            for (seed, owner) in self.seedOwners where owner == id {
                self.seedOwners.removeValue(forKey: seed)
            }
        }
        return removed.sorted()
    }

    /// The directory as `p2pfs peers` and PEERS present it.
    public func directoryEntries(now: ContinuousClock.Instant) -> [PeerDirectory.Entry] {
        self.known.values.map { known in
            let state: PeerDirectory.Entry.State =
                !known.isVerified ? .unverified : (known.unreachableSince == nil ? .alive : .unreachable)
            let ago = known.lastSeen.map { Self.seconds(now - $0) }
            return PeerDirectory.Entry(
                info: known.info, state: state, catalogEntries: known.catalogEntries, lastSeenSecondsAgo: ago, origins: known.origins,
                refusedNames: known.refusedNames)
        }
    }

    /// Adds a node heard of; true when it is new.
    @discardableResult
    private mutating func consider(_ info: NodeInfo, origin: PeerOrigin, now: ContinuousClock.Instant) -> Bool {
        let id = info.identity.id
        guard id != self.me, NodeIdentity.isValidName(info.identity.name) else { return false }
        if var known = self.known[id] {
            known.origins.insert(origin)
            // Keep verified facts; only add addresses we have not tried.
            for address in info.addresses where !known.info.addresses.contains(address) && known.info.addresses.count < PeerLimits.maximumAddresses {
                known.info.addresses.append(address)
            }
            self.known[id] = known
            return false
        }
        guard !info.addresses.isEmpty else { return false }
        self.known[id] = Known(info: info, isVerified: false, firstHeard: now, origins: [origin])
        return true
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
