import Discovery
import Logging
import Namespace
import NFS3
import NFS4
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import RPCBind
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A running p2pfs node: the layers composed according to its configuration.
///
/// `start()` brings everything up (exports scanned, listeners bound, crawl
/// started, NFS registered with the portmapper) and returns; `run()` then
/// keeps the periodic work going until cancelled; `stop()` undoes it all,
/// unregistering from the portmapper first so clients stop finding a dead
/// server.
public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let identity: NodeIdentity
    /// The node's TLS identity, on every peer connection both ways. Nil
    /// only in a build made with `-D P2PFS_PLAINTEXT_PEERS`
    /// (`make bench-plaintext`): the same code with its peers in plaintext,
    /// the reference that `make bench` measures TLS against. Never a release.
    let tls: PeerTLS?
    public let logger: Logger

    let group: MultiThreadedEventLoopGroup
    /// The loop that serves the presented namespace's NFS clients, kept
    /// apart from the peer connections' loops when there are two or more
    /// (`PeerConnectionPool.init`); nil: NFS clients go to any loop.
    let nfsLoop: (any EventLoop)?
    let threadPool: NIOThreadPool
    let store: NamespaceStore?
    let localSource: LocalExportSource?
    let directory: PeerDirectory
    let pool: PeerConnectionPool
    let cache: BlockCache
    let statistics = PeerServerStatistics()
    let crawler: PeerCrawler
    let wake = CrawlWakeSignal()
    /// Who may use the peer listener (open, or the network key's holders).
    let access: PeerAccessControl
    private let servers: NIOLockedValueBox<Servers>
    /// Renders the metrics for `--metrics`, from the backend the caller
    /// bootstrapped (the daemon's libraries only use swift-metrics).
    let metricsExposition: (@Sendable () -> [UInt8])?

    struct Servers: Sendable {
        var peer: RPCServer?
        var metrics: MetricsHTTPServer?
        var nfs: [RPCServer] = []
        var publication: PortmapPublication?
        var advertised: [PeerAddress] = []
        /// The peer listener's address as configured, with the port it
        /// bound: what `advertised` is computed from again.
        var listening: PeerAddress?
        var discovery: LinkDiscovery?
    }

    /// What the mDNS browsers found, per instance (see `DiscoveredNodes`).
    private let discovered = NIOLockedValueBox(DiscoveredNodes())
    /// Directories left unwatched at the last warning (to warn on change only).
    private let watchShortfall = NIOLockedValueBox((limit: 0, failed: 0))

    /// Validates the configuration and opens what must exist up front (the
    /// state directory, the export roots). Binds nothing yet.
    ///
    /// - Parameter metricsExposition: the text `GET /metrics` answers with
    ///   when `configuration.metrics` is set (nil: an empty exposition);
    ///   its backend must be bootstrapped before this init, which makes
    ///   the counters of the daemon's parts.
    public init(
        configuration: DaemonConfiguration, logger: Logger, metricsExposition: (@Sendable () -> [UInt8])? = nil
    ) throws(DaemonConfigurationError) {
        self.configuration = configuration
        self.logger = logger
        self.metricsExposition = metricsExposition
        let credentials = try NodeStateDirectory(path: configuration.stateDirectory).loadCredentials()
        do {
            #if P2PFS_PLAINTEXT_PEERS
            logger.warning("this build talks to its peers in plaintext (P2PFS_PLAINTEXT_PEERS): a benchmark reference, not for use")
            self.tls = nil
            #else
            self.tls = try PeerTLS(credentials: credentials, trusted: configuration.trustedNodes)
            #endif
        } catch {
            throw .stateDirectory(path: configuration.stateDirectory, reason: "cannot use the node's key and certificate for TLS: \(error)")
        }
        let id = credentials.nodeID
        let name = configuration.name ?? Self.defaultName()
        guard NodeIdentity.isValidName(name) else { throw .invalidName(name) }
        self.identity = NodeIdentity(id: id, name: name)

        let roots: [ExportRoot]
        do {
            roots = try ExportRoot.openAll(configuration.exports)
        } catch {
            throw .export(error.description)
        }

        self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        self.threadPool = NIOThreadPool(numberOfThreads: max(4, System.coreCount * 2))
        self.threadPool.start()
        self.store = configuration.presentsNamespace ? NamespaceStore(logger: logger, eventLoopGroup: self.group) : nil
        if roots.isEmpty {
            self.localSource = nil
        } else {
            let watcher = ExportWatcher()
            if watcher == nil {
                logger.warning(
                    "cannot watch the exports with inotify (\(String(cString: strerror(errno)))): changes show at the next rescan, every \(configuration.rescanInterval)"
                )
            }
            self.localSource = LocalExportSource(
                identity: self.identity, roots: roots, threadPool: self.threadPool, scanner: LocalExportScanner(logger: logger),
                watcher: watcher
            )
        }
        let wake = self.wake
        self.directory = PeerDirectory(wake: { wake.signal() })
        self.cache = BlockCache(capacity: configuration.cacheBytes)
        self.servers = NIOLockedValueBox(Servers())
        self.access = PeerAccessControl(key: configuration.networkKey)

        let servers = self.servers
        let identity = self.identity
        var roles: PeerRoles = []
        if configuration.offersFiles { roles.insert(.server) }
        if configuration.presentsNamespace { roles.insert(.client) }
        let announcedRoles = roles
        let localNode: @Sendable () -> NodeInfo = {
            NodeInfo(identity: identity, roles: announcedRoles, addresses: servers.withLockedValue { $0.advertised })
        }
        let loops = Array(self.group.makeIterator())
        self.nfsLoop = configuration.presentsNamespace && loops.count > 1 ? loops[0] : nil
        self.pool = PeerConnectionPool(
            group: self.group, connectTimeout: .seconds(2), logger: logger, tls: self.tls,
            authentication: configuration.networkKey.map { PeerClientAuthentication(key: $0, localNode: localNode) },
            connectionLoops: self.nfsLoop == nil ? loops : Array(loops.dropFirst())
        )
        self.crawler = PeerCrawler(
            localNode: localNode,
            seeds: configuration.peers,
            store: self.store,
            pool: self.pool,
            directory: self.directory,
            cache: self.cache,
            readerConfiguration: .init(),
            configuration: .init(interval: configuration.crawlInterval, expiry: configuration.peerTimeout),
            wake: self.wake,
            logger: logger
        )
        self.localNode = localNode
    }

    let localNode: @Sendable () -> NodeInfo

    /// Where the peer protocol actually listens (after binding port 0, say).
    public var peerAddress: SocketAddress? { self.servers.withLockedValue { $0.peer?.localAddress } }
    /// Where NFS actually listens.
    public var nfsAddress: SocketAddress? { self.servers.withLockedValue { $0.nfs.first?.localAddress } }
    /// Where metrics are served.
    public var metricsAddress: SocketAddress? { self.servers.withLockedValue { $0.metrics?.localAddress } }
    /// Every address NFS listens on ("localhost": 127.0.0.1 and ::1).
    public var nfsAddresses: [SocketAddress] { self.servers.withLockedValue { $0.nfs.map(\.localAddress) } }

    public func start() async throws {
        if let address = self.configuration.metrics {
            let render = self.metricsExposition ?? { [] }
            do {
                let server = try await MetricsHTTPServer.start(host: address.host, port: address.port, group: self.group, render: render)
                self.servers.withLockedValue { $0.metrics = server }
                self.logger.info("serving metrics", metadata: ["address": "http://\(address)/metrics"])
            } catch {
                throw DaemonConfigurationError.metrics(address: address.description, reason: Self.describe(error))
            }
        }
        if let localSource = self.localSource {
            let (catalog, _) = try await localSource.rescan()
            self.logger.info(
                "exports scanned",
                metadata: ["exports": "\(localSource.roots.map { "\($0.name)=\($0.path)" })", "entries": "\(catalog.entries.count)"]
            )
            if catalog.entries.count > PeerLimits.maximumCatalogEntries {
                self.logger.warning(
                    "exports hold \(catalog.entries.count) entries, more than the \(PeerLimits.maximumCatalogEntries) a node may offer: other nodes will not take this catalog; export less"
                )
            }
            self.store?.setCatalog(catalog)
        }

        if let key = self.configuration.networkKey {
            self.logger.info(
                "closed network: only nodes holding the network key may join", metadata: ["key fingerprint": "\(key.fingerprint)"]
            )
        }
        // On loopback (the NFS listener) the control program answers anyone
        // on this machine; on the peer listener, on a closed network, only
        // connections that proved the key.
        let control = ControlProgram(
            localNode: self.localNode, store: self.store, directory: self.directory, statistics: self.statistics, cache: self.cache
        )
        var peerControl = control
        peerControl.access = self.access

        if let listen = self.configuration.listen ?? (self.configuration.offersFiles ? DaemonConfiguration.defaultListenAddress : nil) {
            let localSource = self.localSource
            let peer = PeerProgram(
                localNode: self.localNode, catalog: { localSource?.catalog }, directory: self.directory, statistics: self.statistics,
                access: self.access
            )
            let server: RPCServer
            do {
                server = try await RPCServer.start(
                    configuration: self.tls?.serverConfiguration(
                        host: listen.host, port: listen.port, maximumRecordSize: 64 * 1024, logger: self.logger
                    ) ?? .init(host: listen.host, port: listen.port, maximumRecordSize: 64 * 1024),
                    dispatcher: RPCDispatcher(programs: [peer, peerControl]),
                    group: self.group,
                    logger: self.logger
                )
            } catch {
                throw DaemonConfigurationError.listen(address: listen.description, reason: Self.describe(error))
            }
            let advertised = AdvertisedAddresses.addresses(for: listen, boundPort: server.localAddress.port ?? listen.port)
            self.servers.withLockedValue {
                $0.peer = server
                $0.advertised = advertised
                $0.listening = PeerAddress(host: listen.host, port: server.localAddress.port ?? listen.port)
            }
            self.logger.info("offering files to peers", metadata: ["listen": "\(server.localAddress)", "advertised": "\(advertised)"])
        }

        if let nfs = self.configuration.nfs, let store = self.store {
            let nfsConfiguration = NFS3Configuration(uid: geteuid(), gid: getegid(), fsid: self.identity.id.low ^ self.identity.id.high)
            var programs: [any RPCProgram] = [control]
            let measured = self.configuration.metrics != nil
            if self.configuration.nfsVersions.v3 {
                let v3: [any RPCProgram] = [
                    NFSv3Program(
                        store: store, configuration: nfsConfiguration,
                        beforeFSInfo: { [servers = self.servers, group = self.group] in
                            await servers.withLockedValue { $0.publication }?.restoreReplacedRegistrations(group: group)
                        }
                    ),
                    MountProgram(store: store, configuration: nfsConfiguration),
                    NLMProgram(store: store),
                ]
                programs += measured ? v3.map(ProgramMetrics.measure) : v3
            }
            if self.configuration.nfsVersions.v41 {
                // The boot verifier tells this instance's client IDs and
                // stateids from a previous one's; the server owner stays the
                // node's id, so clients know it is the same server.
                let id = self.identity.id
                let owner = withUnsafeBytes(of: (id.high.bigEndian, id.low.bigEndian)) { Array($0) }
                let v4 = NFSv4Program(
                    store: store, configuration: NFS4Configuration(presentation: nfsConfiguration, serverOwner: owner),
                    boot: UInt32(truncatingIfNeeded: time(nil))
                )
                programs.append(measured ? ProgramMetrics.measure(v4) : v4)
            }
            let dispatcher = RPCDispatcher(programs: programs)
            // "localhost" means both loopback addresses: the first must bind,
            // the second may be missing (IPv6 disabled).
            let hosts = nfs.host == "localhost" ? ["127.0.0.1", "::1"] : [nfs.host]
            var servers: [RPCServer] = []
            for host in hosts {
                do {
                    let port = servers.first?.localAddress.port ?? nfs.port
                    servers.append(
                        try await RPCServer.start(
                            configuration: .init(host: host, port: port), dispatcher: dispatcher, group: self.group, childLoop: self.nfsLoop,
                            logger: self.logger
                        )
                    )
                } catch where !servers.isEmpty {
                    self.logger.debug("not serving NFS on \(host): \(Self.describe(error))")
                } catch {
                    throw DaemonConfigurationError.nfs(address: nfs.description, reason: Self.describe(error))
                }
            }
            self.servers.withLockedValue { $0.nfs = servers }
            self.logger.info(
                "serving NFS", metadata: ["versions": "\(self.configuration.nfsVersions)", "addresses": "\(servers.map { "\($0.localAddress)" })", "node": "\(self.identity)"]
            )
            let publication = try await PortmapPublication.publish(
                mode: self.configuration.portmap, dispatcher: dispatcher,
                endpoints: servers.map { server in
                    let host = server.localAddress.ipAddress ?? "127.0.0.1"
                    return (host: host == "0.0.0.0" ? "127.0.0.1" : (host == "::" ? "::1" : host), port: server.localAddress.port ?? nfs.port)
                },
                group: self.group, threadPool: self.threadPool, logger: self.logger
            )
            self.servers.withLockedValue { $0.publication = publication }
        }
        await self.startDiscovery()
    }

    /// Announces (when offering files) and browses on every multicast
    /// interface, after the peer listener is bound so the announcement
    /// carries its real port; with `--discovery off`, says so and does nothing.
    private func startDiscovery() async {
        guard self.configuration.discovery else {
            self.logger.info("mDNS discovery off")
            return
        }
        let announcement = self.announcement(of: self.servers.withLockedValue { $0.advertised })
        let discovery = await LinkDiscovery.start(announcement: announcement, group: self.group, logger: self.logger)
        self.servers.withLockedValue { $0.discovery = discovery }
        if discovery.interfaces.isEmpty {
            self.logger.warning("mDNS discovery on, but no multicast interface to use yet: until one is up, only --peer nodes are found")
        } else {
            self.logger.info(
                "mDNS discovery on", metadata: ["interfaces": "\(discovery.interfaces)", "announcing": "\(announcement != nil)"])
        }
    }

    /// What mDNS announces for these peer addresses; nil (browse only) for none.
    private func announcement(of advertised: [PeerAddress]) -> LinkDiscovery.Announcement? {
        var roles = ["server"]
        if self.configuration.presentsNamespace { roles.append("client") }
        return advertised.isEmpty
            ? nil
            : LinkDiscovery.Announcement(
                nodeName: self.identity.name, nodeID: self.identity.id.description, port: advertised[0].port, roles: roles,
                addresses: advertised)
    }

    /// Looks at the interfaces every `LinkDiscovery.refreshInterval` until
    /// cancelled: a wildcard listener's advertised addresses follow them
    /// (HELLO and PEERS tell the new ones), and so do the mDNS sockets.
    private func followLinks() async {
        while true {
            do { try await Task.sleep(for: LinkDiscovery.refreshInterval) } catch { return }
            let devices = RunningDevices.current()
            let (advertised, changed, discovery) = self.servers.withLockedValue { servers in
                let before = servers.advertised
                if let listening = servers.listening {
                    servers.advertised = AdvertisedAddresses.addresses(for: listening, boundPort: listening.port, devices: devices)
                }
                return (servers.advertised, servers.advertised != before, servers.discovery)
            }
            if changed { self.logger.info("advertised peer addresses changed", metadata: ["advertised": "\(advertised)"]) }
            await discovery?.refresh(devices: devices, announcement: self.announcement(of: advertised))
        }
    }

    /// Hands what the browsers find to the crawler, in order, until cancelled.
    private func followDiscovery(_ discovery: LinkDiscovery) async {
        for await event in discovery.events {
            let changes: [DiscoveredNodes.Change]
            switch event {
            case .found(let browser, let event):
                if case .renamed(let instance, let host) = event {
                    self.logger.notice("mDNS name taken on the link; announcing as '\(instance)' on host \(host)")
                }
                changes = self.discovered.withLockedValue { $0.apply(event, browser: browser) }
            case .closed(let browser):
                changes = self.discovered.withLockedValue { $0.close(browser: browser) }
            }
            for change in changes {
                switch change {
                case .appeared(let info): await self.crawler.discovered(info)
                case .withdrawn(let node): await self.crawler.withdrawn(node)
                }
            }
        }
    }

    /// Runs the crawl and the rescans until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.crawler.run(
                    afterFirstRound: { [store = self.store, logger = self.logger] in
                        if let store {
                            let snapshot = await store.settled()
                            store.markReady()
                            logger.info("namespace ready", metadata: ["entries": "\(snapshot.count)"])
                        }
                    },
                    afterEachRound: { [discovered = self.discovered, servers = self.servers, crawler = self.crawler] verified in
                        guard let discovery = servers.withLockedValue({ $0.discovery }) else { return }
                        // Verified nodes' instances survive a flood of fake ones.
                        let (names, announced) = discovered.withLockedValue { ($0.names(of: verified), $0.announced) }
                        discovery.pin(names)
                        for info in announced { await crawler.discovered(info) }
                    })
            }
            if let discovery = self.servers.withLockedValue({ $0.discovery }) {
                group.addTask { await self.followDiscovery(discovery) }
            }
            group.addTask { await self.followLinks() }
            if let localSource = self.localSource {
                group.addTask { await self.rescanOnChanges(localSource) }
            }
            group.addTask {
                // Start-up grace: never leave the NFS server answering
                // JUKEBOX for long, even if the first crawl round hangs.
                try? await Task.sleep(for: self.configuration.peerTimeout)
                self.store?.markReady()
            }
        }
    }

    /// Rescans the exports when the export watcher reports a batch of
    /// changes: only the directories the batch names (and new subtrees in
    /// them), in full after a queue overflow. Periodic full rescans, every
    /// `--rescan-interval` or less often when a scan is slow (a periodic
    /// scan never takes more than about 2% of the time), run only while
    /// some export is not fully watched: one on a file system without
    /// inotify events, directories over the watch limit, or no inotify at
    /// all. A fully watched export idles without a single stat.
    /// One loop runs every rescan, so two never race to publish a catalog.
    private func rescanOnChanges(_ localSource: LocalExportSource) async {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // What the next rescan must cover: the batches' directories, or
        // everything (an overflow, or the periodic safety net).
        let pending = NIOLockedValueBox((batch: ChangeBatch(), full: false))
        for (name, type) in localSource.unwatchable.sorted(by: { $0.key < $1.key }) {
            self.logger.warning(
                "export '\(name)' is on \(type), which reports no inotify events for changes made elsewhere: its changes show at the next rescan, every \(self.configuration.rescanInterval) (--rescan-interval)"
            )
        }
        self.warnAboutWatchCoverage(localSource)
        localSource.watcher?.start { [logger = self.logger] batch in
            if batch.overflowed {
                logger.warning(
                    "inotify event queue overflowed (raise /proc/sys/fs/inotify/max_queued_events): rescanning every export in full"
                )
            }
            pending.withLockedValue { $0.batch.merge(batch) }
            trigger.yield()
        }
        let pause = NIOLockedValueBox(self.configuration.rescanInterval)
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pause.withLockedValue { $0 })
                    guard Self.needsPeriodicRescans(localSource) else { continue }
                    pending.withLockedValue { $0.full = true }
                    trigger.yield()
                }
                trigger.finish()
            }
            var lastReads = self.statistics.readCount
            for await _ in triggers {
                let work = pending.withLockedValue { pending in
                    defer { pending = (ChangeBatch(), false) }
                    return pending
                }
                let full = work.full || work.batch.overflowed
                guard full || !work.batch.directories.isEmpty else { continue }
                let started = ContinuousClock.now
                self.logger.debug("rescanning", metadata: ["rescan": full ? "full" : "\(work.batch.directories.count) directories"])
                do {
                    let (catalog, changed) =
                        full ? try await localSource.rescan() : try await localSource.rescan(directories: work.batch.directories)
                    if changed {
                        self.logger.info(
                            "exports changed",
                            metadata: [
                                "entries": "\(catalog.entries.count)", "generation": "\(catalog.generation)",
                                "rescan": full ? "full" : "\(work.batch.directories.count) directories",
                                "took": "\(ContinuousClock.now - started)",
                            ])
                        self.store?.setCatalog(catalog)
                    }
                } catch {
                    self.logger.warning("rescan failed: \(error)")
                }
                self.warnAboutWatchCoverage(localSource)
                let took = ContinuousClock.now - started
                if full { pause.withLockedValue { $0 = max(self.configuration.rescanInterval, took * 50) } }
                let reads = self.statistics.readCount
                if reads != lastReads {
                    self.logger.info(
                        "served peers", metadata: ["reads": "\(reads)", "bytes": "\(self.statistics.bytesServed)"]
                    )
                    lastReads = reads
                }
                if Task.isCancelled { break }
                // A file written without pause (a log in an export) must
                // not keep the scanner busy: rest four times as long as the
                // rescan took (at most 10 s) before the next; batches
                // arriving meanwhile coalesce.
                try? await Task.sleep(for: min(took * 4, .seconds(10)))
            }
            group.cancelAll()
        }
        await localSource.watcher?.stop()
    }

    /// Whether some export's changes can only be seen by rescanning it.
    private static func needsPeriodicRescans(_ localSource: LocalExportSource) -> Bool {
        guard let coverage = localSource.watcher?.coverage else { return true }
        return !localSource.unwatchable.isEmpty || coverage.refusedForLimit > 0 || coverage.failed > 0
    }

    /// Says once per shortfall when directories went unwatched, naming the
    /// limit to raise; their changes then wait for the periodic rescan.
    private func warnAboutWatchCoverage(_ localSource: LocalExportSource) {
        guard let coverage = localSource.watcher?.coverage else { return }
        let shortfall = coverage.refusedForLimit
        let isNew = self.watchShortfall.withLockedValue { last in
            defer { last = (shortfall, coverage.failed) }
            return (shortfall > 0 && shortfall != last.limit) || (coverage.failed > 0 && coverage.failed != last.failed)
        }
        guard isNew else { return }
        if coverage.failed > 0 {
            self.logger.warning(
                "inotify refused to watch \(coverage.failed) export directories (is /proc mounted?): changes in them show at the next rescan, every \(self.configuration.rescanInterval) (--rescan-interval)"
            )
        }
        guard shortfall > 0 else { return }
        let limit = ExportWatcher.maximumUserWatches().map { "now \($0)" } ?? "unreadable"
        self.logger.warning(
            "inotify watch limit reached: \(shortfall) of \(coverage.watched + shortfall) export directories are not watched; this daemon needs \(coverage.watched + shortfall) watches on top of what this user's other processes hold: raise /proc/sys/fs/inotify/max_user_watches (\(limit)); until then changes in them show at the next rescan, every \(self.configuration.rescanInterval) (--rescan-interval)"
        )
    }

    /// Unregisters from the portmapper, closes the listeners and stops.
    public func stop() async {
        let servers = self.servers.withLockedValue { servers -> Servers in
            defer { servers = Servers() }
            return servers
        }
        await servers.publication?.withdraw()
        for server in servers.nfs { await server.close() }
        await servers.peer?.close()
        // After the listener closed: a node that checks us on the goodbye
        // finds nobody and drops our files at once.
        await servers.discovery?.stop()
        await servers.metrics?.close()
        await self.store?.shutdown()
        try? await self.threadPool.shutdownGracefully()
        try? await self.group.shutdownGracefully()
    }

    /// A socket error as a person reads it ("Address already in use").
    static func describe(_ error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        let reason = String(cString: strerror(error.errnoCode))
        switch error.errnoCode {
        case EADDRINUSE: return "\(reason) (another process listens there)"
        case EADDRNOTAVAIL: return "\(reason) (not an address of this machine)"
        case EACCES: return "\(reason) (ports below 1024 need root)"
        default: return reason
        }
    }

    private static func defaultName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "node" }
        let host = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: ".").first.map(String.init) ?? "node"
        let cleaned = String(host.map { NodeIdentity.isValidName(String($0)) ? $0 : "-" }.prefix(64))
        return NodeIdentity.isValidName(cleaned) ? cleaned : "node"
    }
}
