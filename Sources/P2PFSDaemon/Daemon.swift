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
    public let logger: Logger

    let group: MultiThreadedEventLoopGroup
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

    struct Servers: Sendable {
        var peer: RPCServer?
        var nfs: [RPCServer] = []
        var publication: PortmapPublication?
        var advertised: [PeerAddress] = []
    }

    /// Validates the configuration and opens what must exist up front (the
    /// state directory, the export roots). Binds nothing yet.
    public init(configuration: DaemonConfiguration, logger: Logger) throws(DaemonConfigurationError) {
        self.configuration = configuration
        self.logger = logger
        let id = try NodeStateDirectory(path: configuration.stateDirectory).loadNodeID()
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
        self.store = configuration.presentsNamespace ? NamespaceStore(logger: logger) : nil
        self.localSource = roots.isEmpty ? nil : LocalExportSource(identity: self.identity, roots: roots, threadPool: self.threadPool)
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
        self.pool = PeerConnectionPool(
            group: self.group, connectTimeout: .seconds(2), logger: logger,
            authentication: configuration.networkKey.map { PeerClientAuthentication(key: $0, localNode: localNode) }
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
            group: self.group,
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
    /// Every address NFS listens on ("localhost": 127.0.0.1 and ::1).
    public var nfsAddresses: [SocketAddress] { self.servers.withLockedValue { $0.nfs.map(\.localAddress) } }

    public func start() async throws {
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
                    configuration: .init(host: listen.host, port: listen.port, maximumRecordSize: 64 * 1024),
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
            }
            self.logger.info("offering files to peers", metadata: ["listen": "\(server.localAddress)", "advertised": "\(advertised)"])
        }

        if let nfs = self.configuration.nfs, let store = self.store {
            let nfsConfiguration = NFS3Configuration(uid: geteuid(), gid: getegid(), fsid: self.identity.id.low ^ self.identity.id.high)
            var programs: [any RPCProgram] = [control]
            if self.configuration.nfsVersions.v3 {
                programs += [
                    NFSv3Program(store: store, configuration: nfsConfiguration),
                    MountProgram(store: store, configuration: nfsConfiguration),
                    NLMProgram(store: store),
                ]
            }
            if self.configuration.nfsVersions.v41 {
                // The boot verifier tells this instance's client IDs and
                // stateids from a previous one's; the server owner stays the
                // node's id, so clients know it is the same server.
                let id = self.identity.id
                let owner = withUnsafeBytes(of: (id.high.bigEndian, id.low.bigEndian)) { Array($0) }
                programs.append(
                    NFSv4Program(
                        store: store, configuration: NFS4Configuration(presentation: nfsConfiguration, serverOwner: owner),
                        boot: UInt32(truncatingIfNeeded: time(nil))
                    )
                )
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
                            configuration: .init(host: host, port: port), dispatcher: dispatcher, group: self.group, logger: self.logger
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
    }

    /// Runs the crawl and the rescans until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.crawler.run(afterFirstRound: { [store = self.store, logger = self.logger] in
                    if let store {
                        let snapshot = await store.settled()
                        store.markReady()
                        logger.info("namespace ready", metadata: ["entries": "\(snapshot.count)"])
                    }
                })
            }
            if let localSource = self.localSource {
                group.addTask { await self.rescanPeriodically(localSource) }
            }
            group.addTask {
                // Start-up grace: never leave the NFS server answering
                // JUKEBOX for long, even if the first crawl round hangs.
                try? await Task.sleep(for: self.configuration.peerTimeout)
                self.store?.markReady()
            }
        }
    }

    /// Rescans the exports every `--rescan-interval`, or less often when a
    /// scan is slow: a scan never takes more than about 2% of the time, so a
    /// NAS with millions of files is not kept busy walking them.
    private func rescanPeriodically(_ localSource: LocalExportSource) async {
        var lastReads = self.statistics.readCount
        var pause = self.configuration.rescanInterval
        while !Task.isCancelled {
            try? await Task.sleep(for: pause)
            if Task.isCancelled { break }
            let started = ContinuousClock.now
            do {
                let (catalog, changed) = try await localSource.rescan()
                if changed {
                    self.logger.info("exports changed", metadata: ["entries": "\(catalog.entries.count)", "generation": "\(catalog.generation)"])
                    self.store?.setCatalog(catalog)
                }
            } catch {
                self.logger.warning("rescan failed: \(error)")
            }
            pause = max(self.configuration.rescanInterval, (ContinuousClock.now - started) * 50)
            let reads = self.statistics.readCount
            if reads != lastReads {
                self.logger.info(
                    "served peers", metadata: ["reads": "\(reads)", "bytes": "\(self.statistics.bytesServed)"]
                )
                lastReads = reads
            }
        }
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
