import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// A node on 127.0.0.1 that answers the peer protocol from a catalog and a
/// directory the test sets: what the crawler sees of another node.
final class CrawlPeer: Sendable {
    let identity: NodeIdentity
    let files: MemoryFiles
    let directory: PeerDirectory
    let catalog: NIOLockedValueBox<(generation: UInt64, entries: [CatalogEntry])>
    let server: RPCServer
    let address: PeerAddress

    static func entries(_ files: [String: [UInt8]]) -> [CatalogEntry] {
        files.keys.sorted().map { path in
            CatalogEntry(path: path, kind: .regular, size: UInt64(files[path]!.count), mtime: Timestamp(seconds: 100), mode: 0o644)
        }
    }

    /// What HASH answers: a stand-in for SHA-256 good enough for files of
    /// a few bytes (the bytes themselves, zero-padded), equal exactly when
    /// the contents are.
    static func hashes(_ files: [String: [UInt8]]) -> [String: ContentHash] {
        files.mapValues { ContentHash(bytes: $0 + [UInt8](repeating: 0, count: 32 - $0.count))! }
    }

    init(_ name: String, id: UInt64, files: [String: [UInt8]]) async throws {
        let identity = NodeIdentity(id: NodeID(high: 0xC0, low: id), name: name)
        let reader = MemoryFiles()
        reader.state.withLockedValue {
            $0.files = files
            $0.hashes = Self.hashes(files)
            $0.version = FileVersion(size: 0, mtime: Timestamp(seconds: 100))
        }
        let catalog = NIOLockedValueBox((generation: UInt64(1), entries: Self.entries(files)))
        let directory = PeerDirectory()
        let addresses = NIOLockedValueBox<[PeerAddress]>([])
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: addresses.withLockedValue { $0 }) },
            catalog: {
                let (generation, entries) = catalog.withLockedValue { $0 }
                return SourceCatalog(origin: identity, generation: generation, entries: entries, reader: reader, isLocal: true)
            },
            directory: directory,
            statistics: PeerServerStatistics()
        )
        let server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [program]), group: LoopbackPeer.group,
            logger: Logger(label: "crawl-peer")
        )
        let address = PeerAddress(host: "127.0.0.1", port: server.localAddress.port!)
        addresses.withLockedValue { $0 = [address] }
        self.identity = identity
        self.files = reader
        self.directory = directory
        self.catalog = catalog
        self.server = server
        self.address = address
    }

    var info: NodeInfo { NodeInfo(identity: self.identity, roles: .server, addresses: [self.address]) }

    /// What this node answers to PEERS: `others`, alive.
    func knows(_ others: [CrawlPeer]) {
        self.directory.publish(others.map { PeerDirectory.Entry(info: $0.info, state: .alive) })
    }

    func setFiles(_ files: [String: [UInt8]], generation: UInt64) {
        self.files.state.withLockedValue {
            $0.files = files
            $0.hashes = Self.hashes(files)
        }
        self.catalog.withLockedValue { $0 = (generation, Self.entries(files)) }
    }
}

/// `PeerCrawler` against real peer servers on loopback: a round follows
/// every node it hears of until none is new, the namespace merges what they
/// offer, changed catalogs are fetched again, and dead nodes are dropped
/// once the peer timeout passes (kept until then).
@Suite(.serialized, .timeLimit(.minutes(2))) struct PeerCrawlerTests {
    static let me = NodeIdentity(id: NodeID(high: 0xA, low: 0xA), name: "crawler")

    struct Crawl {
        let crawler: PeerCrawler
        let store: NamespaceStore
        let directory: PeerDirectory
    }

    static func crawler(seeds: [PeerAddress], expiry: Duration) -> Crawl {
        let store = NamespaceStore(logger: Logger(label: "crawl-test"))
        let directory = PeerDirectory()
        let logger = Logger(label: "crawl-test")
        let crawler = PeerCrawler(
            localNode: { NodeInfo(identity: Self.me, roles: .client, addresses: []) },
            seeds: seeds,
            store: store,
            pool: PeerConnectionPool(group: LoopbackPeer.group, connectTimeout: .seconds(5), logger: logger, tls: nil),
            directory: directory,
            cache: BlockCache(capacity: 1 << 20),
            readerConfiguration: .init(timeout: .seconds(10)),
            configuration: .init(interval: .seconds(3600), expiry: expiry, callTimeout: .seconds(10)),
            wake: CrawlWakeSignal(),
            logger: logger
        )
        return Crawl(crawler: crawler, store: store, directory: directory)
    }

    /// The namespace once `done` holds for it: replicas' hashes are asked
    /// for after a merge, and the merge that uses them follows.
    static func waitFor(
        _ store: NamespaceStore, timeout: Duration = .seconds(30), _ done: (NamespaceSnapshot) throws -> Bool
    ) async throws -> NamespaceSnapshot {
        let deadline = ContinuousClock.now + timeout
        while true {
            let snapshot = await store.settled()
            if try done(snapshot) || ContinuousClock.now > deadline { return snapshot }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func paths(_ snapshot: NamespaceSnapshot) throws -> [String] {
        try snapshot.children(of: snapshot.lookup(path: "share")).map { "share/\($0.name)" }.sorted()
    }

    static func read(_ snapshot: NamespaceSnapshot, _ path: String) async throws -> [UInt8] {
        let node = try snapshot.lookup(path: path)
        let result = try await snapshot.read(node, offset: 0, count: 1 << 20, eventLoop: LoopbackPeer.group.next()).get()
        return Array(result.data.readableBytesView)
    }

    /// b (the only seed) knows c, c knows d, d knows b: one round reaches
    /// all three and merges their files; a file two of them hold is one
    /// file with both as sources.
    @Test func oneRoundFollowsEveryNodeItHearsOfAndMergesTheirFiles() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/b-only": [2, 2], "share/common": [7, 7, 7]])
        let c = try await CrawlPeer("c", id: 3, files: ["share/c-only": [3, 3, 3, 3], "share/common": [7, 7, 7]])
        let d = try await CrawlPeer("d", id: 4, files: ["share/d-only": [4]])
        defer { Task { for peer in [b, c, d] { await peer.server.close() } } }
        b.knows([c])
        c.knows([d])
        d.knows([b])
        let crawl = Self.crawler(seeds: [b.address], expiry: .seconds(3600))
        defer { Task { await crawl.store.shutdown() } }

        await crawl.crawler.crawlRound()
        let snapshot = try await Self.waitFor(crawl.store) { $0.sources(of: try $0.lookup(path: "share/common")).count == 2 }

        let known = await crawl.crawler.knownNodes
        #expect(Set(known.keys) == [b.identity.id, c.identity.id, d.identity.id])
        #expect(known.values.allSatisfy { $0.isVerified && $0.unreachableSince == nil })
        #expect(try Self.paths(snapshot) == ["share/b-only", "share/c-only", "share/common", "share/d-only"])
        let common = try snapshot.lookup(path: "share/common")
        #expect(snapshot.sources(of: common).map(\.origin.name) == ["b", "c"])
        // The files read back from the nodes that hold them.
        #expect(try await Self.read(snapshot, "share/d-only") == [4])
        #expect(try await Self.read(snapshot, "share/c-only") == [3, 3, 3, 3])
        // What `p2pfs peers` shows: the three, alive.
        #expect(crawl.directory.entries.map(\.info.identity.name) == ["b", "c", "d"])
        #expect(crawl.directory.entries.allSatisfy { $0.state == .alive })
    }

    /// Two nodes' files at one path with the same size and mtime but other
    /// bytes: their hashes differ, so they are two names, each read from
    /// its own node.
    @Test func lookAlikeFilesOfTwoNodesAreVariants() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/common": [7, 7, 7]])
        let c = try await CrawlPeer("c", id: 3, files: ["share/common": [8, 8, 8]])
        defer { Task { for peer in [b, c] { await peer.server.close() } } }
        b.knows([c])
        let crawl = Self.crawler(seeds: [b.address], expiry: .seconds(3600))
        defer { Task { await crawl.store.shutdown() } }
        await crawl.crawler.crawlRound()
        let snapshot = try await Self.waitFor(crawl.store) { try Self.paths($0).count == 2 }
        #expect(try Self.paths(snapshot) == ["share/common", "share/common@c"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "share/common")).map(\.origin.name) == ["b"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "share/common@c")).map(\.origin.name) == ["c"])
        #expect(try await Self.read(snapshot, "share/common") == [7, 7, 7])
        #expect(try await Self.read(snapshot, "share/common@c") == [8, 8, 8])
    }

    /// A node whose catalog changed is fetched again on the next round; one
    /// that did not is left alone.
    @Test func aChangedCatalogIsFetchedAgain() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/old": [1]])
        defer { Task { await b.server.close() } }
        let crawl = Self.crawler(seeds: [b.address], expiry: .seconds(3600))
        defer { Task { await crawl.store.shutdown() } }
        await crawl.crawler.crawlRound()
        let first = await crawl.store.settled()
        #expect(try Self.paths(first) == ["share/old"])

        // Unchanged: no rebuild of the namespace.
        await crawl.crawler.crawlRound()
        #expect(await crawl.store.settled().generation == first.generation)

        b.setFiles(["share/old": [1], "share/new": [9, 9]], generation: 2)
        await crawl.crawler.crawlRound()
        let second = await crawl.store.settled()
        #expect(try Self.paths(second) == ["share/new", "share/old"])
        #expect(try await Self.read(second, "share/new") == [9, 9])
        #expect(await crawl.crawler.knownNodes[b.identity.id]?.catalogGeneration == 2)
    }

    /// A node that stops answering keeps its files until the peer timeout
    /// passes (a restart or a blip must not empty the namespace), and is
    /// shown as unreachable meanwhile.
    @Test func aSilentNodeIsKeptUntilTheTimeout() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/b-only": [2]])
        let c = try await CrawlPeer("c", id: 3, files: ["share/c-only": [3]])
        defer { Task { await b.server.close() } }
        b.knows([c])
        let crawl = Self.crawler(seeds: [b.address], expiry: .seconds(3600))
        defer { Task { await crawl.store.shutdown() } }
        await crawl.crawler.crawlRound()
        #expect(try Self.paths(await crawl.store.settled()) == ["share/b-only", "share/c-only"])

        await c.server.close()
        await crawl.crawler.crawlRound()
        #expect(try Self.paths(await crawl.store.settled()) == ["share/b-only", "share/c-only"])
        #expect(await crawl.crawler.knownNodes[c.identity.id]?.unreachableSince != nil)
        #expect(crawl.directory.entries.first { $0.info.identity.name == "c" }?.state == .unreachable)
    }

    /// Once the timeout has passed, a dead node is dropped: its files leave
    /// the namespace and it is no longer listed; the live ones stay.
    @Test func aDeadNodeIsDroppedAfterTheTimeout() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/b-only": [2]])
        let c = try await CrawlPeer("c", id: 3, files: ["share/c-only": [3]])
        defer { Task { await b.server.close() } }
        b.knows([c])
        let crawl = Self.crawler(seeds: [b.address], expiry: .zero)
        defer { Task { await crawl.store.shutdown() } }
        await crawl.crawler.crawlRound()
        #expect(try Self.paths(await crawl.store.settled()) == ["share/b-only", "share/c-only"])

        await c.server.close()
        await crawl.crawler.crawlRound()
        #expect(try Self.paths(await crawl.store.settled()) == ["share/b-only"])
        #expect(await Set(crawl.crawler.knownNodes.keys) == [b.identity.id])
        #expect(crawl.directory.entries.map(\.info.identity.name) == ["b"])
    }

    /// A seed that is down is no reason to stop: the others are crawled,
    /// and the seed is tried again (and taken) once it answers.
    @Test func aDeadSeedDoesNotStopTheCrawl() async throws {
        let b = try await CrawlPeer("b", id: 2, files: ["share/b-only": [2]])
        defer { Task { await b.server.close() } }
        // A port that was just open and is now closed: refused at once.
        let gone = try await CrawlPeer("gone", id: 9, files: [:])
        await gone.server.close()
        let crawl = Self.crawler(seeds: [gone.address, b.address], expiry: .seconds(3600))
        defer { Task { await crawl.store.shutdown() } }
        await crawl.crawler.crawlRound()
        #expect(try Self.paths(await crawl.store.settled()) == ["share/b-only"])
        #expect(await Set(crawl.crawler.knownNodes.keys) == [b.identity.id])
    }
}
