import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// A file source for the served side of these tests: bytes in memory, a
/// version that can be changed, and a log of every range read.
final class MemoryFiles: FileReader, Sendable {
    struct State {
        var files: [String: [UInt8]] = [:]
        var version = FileVersion(size: 0, mtime: Timestamp(seconds: 1))
        var reads: [(path: String, offset: UInt64, count: Int)] = []
        var delay: TimeAmount?
        /// What HASH answers for a path (at `version`).
        var hashes: [String: ContentHash] = [:]
    }

    let state = NIOLockedValueBox(State())

    func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        let (bytes, version, delay) = self.state.withLockedValue { state in
            state.reads.append((path, offset, count))
            return (state.files[path], state.version, state.delay)
        }
        guard let bytes else { return eventLoop.makeFailedFuture(FileSystemError.stale) }
        let start = min(Int(offset), bytes.count)
        let end = min(start + count, bytes.count)
        let result = FileReadResult(
            data: ByteBuffer(bytes: bytes[start..<end]), isEndOfFile: end == bytes.count,
            version: FileVersion(size: UInt64(bytes.count), mtime: version.mtime)
        )
        if let delay {
            return eventLoop.scheduleTask(in: delay) { result }.futureResult
        }
        return eventLoop.makeSucceededFuture(result)
    }

    var reads: [(path: String, offset: UInt64, count: Int)] { self.state.withLockedValue { $0.reads } }
}

extension MemoryFiles: ContentHasher {
    func contentHash(path: String, expected: FileVersion, eventLoop: any EventLoop) -> EventLoopFuture<ContentHash> {
        let (bytes, version, hash) = self.state.withLockedValue { ($0.files[path], $0.version, $0.hashes[path]) }
        guard let bytes, let hash else { return eventLoop.makeFailedFuture(ContentHashError.file(.stale)) }
        let found = FileVersion(size: UInt64(bytes.count), mtime: version.mtime)
        guard found == expected else { return eventLoop.makeFailedFuture(ContentHashError.changed(found)) }
        return eventLoop.makeSucceededFuture(hash)
    }
}

/// A peer-protocol server on 127.0.0.1 serving `MemoryFiles`.
final class LoopbackPeer: Sendable {
    /// Its own loops: timers here (read timeouts) must not wait behind
    /// other suites' work on the shared singleton group.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let files = MemoryFiles()
    let identity = NodeIdentity(id: NodeID(high: 7, low: 7), name: "served")
    let entries: NIOLockedValueBox<(generation: UInt64, entries: [CatalogEntry])>
    let server: RPCServer
    let address: PeerAddress

    init(entries: [CatalogEntry] = []) async throws {
        let box = NIOLockedValueBox((generation: UInt64(1), entries: entries))
        self.entries = box
        let files = self.files
        let identity = self.identity
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: []) },
            catalog: {
                let (generation, entries) = box.withLockedValue { $0 }
                return SourceCatalog(origin: identity, generation: generation, entries: entries, reader: files, isLocal: true)
            },
            directory: PeerDirectory(),
            statistics: PeerServerStatistics()
        )
        self.server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [program]), group: Self.group,
            logger: Logger(label: "test")
        )
        self.address = PeerAddress(host: "127.0.0.1", port: self.server.localAddress.port!)
    }

    func setCatalog(_ entries: [CatalogEntry], generation: UInt64) {
        self.entries.withLockedValue { $0 = (generation, entries) }
    }

    func makeReader(cache: BlockCache = BlockCache(capacity: 64 << 20), blockSize: Int = 64 * 1024, readAhead: Int = 0, timeout: TimeAmount = .seconds(2),
                    onChange: @escaping @Sendable (String, FileVersion) -> Void = { _, _ in }) -> ForwardedFileReader {
        let pool = PeerConnectionPool(group: Self.group, connectTimeout: .seconds(1), logger: Logger(label: "test"), tls: nil)
        pool.setAddresses([self.address], for: self.identity.id)
        return ForwardedFileReader(
            node: self.identity.id, pool: pool, cache: cache,
            configuration: .init(blockSize: blockSize, readAhead: readAhead, timeout: timeout), onChange: onChange
        )
    }
}

@Suite struct PeerLoopbackTests {
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    @Test func helloChangesAndPeersAnswer() async throws {
        let peer = try await LoopbackPeer(entries: [CatalogEntry(path: "a", kind: .directory, mtime: .zero, mode: 0o755)])
        defer { Task { await peer.server.close() } }
        let connection = try await PeerConnection.connect(to: peer.address, group: LoopbackPeer.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t"))
        defer { connection.close() }
        let me = NodeInfo(identity: NodeIdentity(id: NodeID(high: 1, low: 1), name: "asker"), roles: .client, addresses: [])
        let hello = try await connection.hello(HelloArguments(sender: me), timeout: .seconds(2))
        #expect(hello.responder.identity == peer.identity)
        #expect(hello.catalogGeneration == 1)
        #expect(try await connection.changes(since: 1, timeout: .seconds(2)).catalogChanged == false)
        #expect(try await connection.changes(since: 0, timeout: .seconds(2)).catalogChanged == true)
        #expect(try await connection.peers(timeout: .seconds(2)).nodes.isEmpty)
        await #expect(throws: PeerClientError.status(.badVersion)) {
            try await connection.hello(HelloArguments(protocolVersion: 9, sender: me), timeout: .seconds(2))
        }
    }

    @Test func catalogPagesAddUpToTheWholeCatalog() async throws {
        let entries = (0..<3000).map {
            CatalogEntry(path: "dir/file-\($0)", kind: .regular, size: UInt64($0), mtime: Timestamp(seconds: Int64($0)), mode: 0o644)
        } + [CatalogEntry(path: "dir/link", kind: .symlink, mtime: .zero, mode: 0o777, symlinkTarget: "file-1")]
        let peer = try await LoopbackPeer(entries: entries)
        defer { Task { await peer.server.close() } }
        let connection = try await PeerConnection.connect(to: peer.address, group: LoopbackPeer.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t"))
        defer { connection.close() }
        // 4 KiB pages: dozens of them.
        let first = try await connection.catalogPage(CatalogArguments(generation: 0, cookie: 0, maximumCount: 4096), timeout: .seconds(2))
        guard case .page(let page) = first else {
            Issue.record("expected a page, got \(first)")
            return
        }
        #expect(page.entries.count > 10 && page.entries.count < 200)
        #expect(!page.isLast)
        let whole = try await connection.catalog(pageSize: 4096, timeout: .seconds(2))
        #expect(Array(whole.entries) == entries)
        #expect(whole.generation == 1)
        // Paging a generation that moved on is refused, not silently mixed.
        peer.setCatalog(Array(entries.prefix(10)), generation: 2)
        let stale = try await connection.catalogPage(CatalogArguments(generation: 1, cookie: UInt64(page.nextCookie), maximumCount: 4096), timeout: .seconds(2))
        #expect(stale == .changed(currentGeneration: 2))
        #expect(try await connection.catalog(pageSize: 4096, timeout: .seconds(2)).entries.count == 10)
    }

    @Test func forwardedReadsFetchOnlyTheBlocksAskedFor() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let content = Self.pattern(1 << 20)
        peer.files.state.withLockedValue { $0.files["movies/KillBill"] = content }
        let version = FileVersion(size: UInt64(content.count), mtime: Timestamp(seconds: 1))
        let reader = peer.makeReader()
        let loop = LoopbackPeer.group.next()

        let result = try await reader.read(path: "movies/KillBill", expected: version, offset: 200_000, count: 10_000, eventLoop: loop).get()
        #expect(Array(result.data.readableBytesView) == Array(content[200_000..<210_000]))
        #expect(!result.isEndOfFile)
        // 200,000..210,000 lies within the 64 KiB blocks 3 (196,608...) and 3 only.
        #expect(peer.files.reads.map(\.offset) == [3 * 65536])
        #expect(peer.files.reads.map(\.count) == [65536])

        // Cached now: no new peer read.
        _ = try await reader.read(path: "movies/KillBill", expected: version, offset: 200_100, count: 100, eventLoop: loop).get()
        #expect(peer.files.reads.count == 1)

        // A range over several blocks goes out as one peer READ for the missing run.
        let spanning = try await reader.read(path: "movies/KillBill", expected: version, offset: 100_000, count: 300_000, eventLoop: loop).get()
        #expect(Array(spanning.data.readableBytesView) == Array(content[100_000..<400_000]))
        #expect(peer.files.reads.count == 3)  // blocks 1-2, then 4-6
        #expect(peer.files.reads[1].offset == 65536 && peer.files.reads[1].count == 2 * 65536)

        // The end of the file.
        let tail = try await reader.read(path: "movies/KillBill", expected: version, offset: UInt64(content.count - 10), count: 100, eventLoop: loop).get()
        #expect(tail.isEndOfFile)
        #expect(Array(tail.data.readableBytesView) == Array(content.suffix(10)))
    }

    /// Small replies arrive many to a receive buffer; the blocks the cache
    /// keeps must not hold on to the whole buffer, or the cache's size would
    /// not bound the memory it takes.
    @Test func cachedBlocksDoNotPinTheirReceiveBuffers() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let content = Self.pattern(1 << 20)
        peer.files.state.withLockedValue { $0.files["f"] = content }
        let version = FileVersion(size: UInt64(content.count), mtime: Timestamp(seconds: 1))
        let cache = BlockCache(capacity: 64 << 20)
        let reader = peer.makeReader(cache: cache, blockSize: 4096)
        let loop = LoopbackPeer.group.next()
        // Every other 4 KiB block, all at once: 64 separate peer READs.
        let reads = (0..<64).map { index in
            reader.read(path: "f", expected: version, offset: UInt64(index * 2 * 4096), count: 4096, eventLoop: loop)
        }
        for (index, read) in reads.enumerated() {
            let result = try await read.get()
            #expect(Array(result.data.readableBytesView) == Array(content[index * 8192..<index * 8192 + 4096]))
        }
        let file = BlockCache.File(node: reader.node, path: "f", version: version)
        let blocks = cache.get(file, 0...127).compactMap { $0 }
        #expect(blocks.count == 64)
        for block in blocks {
            #expect(block.run.data.storageCapacity <= 2 * 4096 + 4096, "a 4 KiB block keeps \(block.run.data.storageCapacity) bytes alive")
        }
    }

    @Test func hashIsAskedOfTheOwner() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let digest = ContentHash(bytes: (0..<32).map { UInt8($0 * 3) })!
        peer.files.state.withLockedValue {
            $0.files["f"] = Array(repeating: 1, count: 100)
            $0.hashes["f"] = digest
        }
        let reader = peer.makeReader()
        let loop = LoopbackPeer.group.next()
        let version = FileVersion(size: 100, mtime: Timestamp(seconds: 1))
        #expect(try await reader.contentHash(path: "f", expected: version, eventLoop: loop).get() == digest)
        // The owner's file is not at the version asked about.
        await #expect(throws: PeerClientError.status(.changed)) {
            try await reader.contentHash(path: "f", expected: FileVersion(size: 100, mtime: Timestamp(seconds: 2)), eventLoop: loop).get()
        }
        await #expect(throws: PeerClientError.status(.stale)) {
            try await reader.contentHash(path: "gone", expected: version, eventLoop: loop).get()
        }
        await #expect(throws: PeerClientError.status(.invalid)) {
            try await reader.contentHash(path: "../f", expected: version, eventLoop: loop).get()
        }
    }

    @Test func sequentialReadersGetReadAhead() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let content = Self.pattern(4 << 20)
        peer.files.state.withLockedValue { $0.files["f"] = content }
        let version = FileVersion(size: UInt64(content.count), mtime: Timestamp(seconds: 1))
        let reader = peer.makeReader(readAhead: 1 << 20)
        let loop = LoopbackPeer.group.next()
        _ = try await reader.read(path: "f", expected: version, offset: 0, count: 65536, eventLoop: loop).get()
        // Wait (bounded) for the read-ahead to land.
        for _ in 0..<100 where peer.files.reads.count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        // The block asked for, and the next MiB fetched ahead in one READ.
        let ranges = peer.files.reads.map { [$0.offset, UInt64($0.count)] }.sorted { $0[0] < $1[0] }
        #expect(ranges == [[0, 65536], [65536, 1 << 20]])
        let before = peer.files.reads.count
        let next = try await reader.read(path: "f", expected: version, offset: 65536, count: 65536, eventLoop: loop).get()
        #expect(Array(next.data.readableBytesView) == Array(content[65536..<131072]))
        // The next block came from what was fetched ahead: no READ for it.
        // The only new READ moves the window on by the one block (17) that
        // now lies within a MiB of the reader (bounded wait for it to land).
        for _ in 0..<100 where peer.files.reads.count < before + 1 { try await Task.sleep(for: .milliseconds(20)) }
        let later = peer.files.reads.dropFirst(before).map { [$0.offset, UInt64($0.count)] }
        #expect(later == [[17 * 65536, 65536]])
    }

    @Test func aChangedFileIsReportedAndNeverMixed() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        peer.files.state.withLockedValue {
            $0.files["f"] = Self.pattern(100_000)
            $0.version = FileVersion(size: 100_000, mtime: Timestamp(seconds: 2))
        }
        let changed = NIOLockedValueBox<[String]>([])
        let reader = peer.makeReader { path, _ in changed.withLockedValue { $0.append(path) } }
        let believed = FileVersion(size: 100_000, mtime: Timestamp(seconds: 1))
        let result = try await reader.read(path: "f", expected: believed, offset: 0, count: 1000, eventLoop: LoopbackPeer.group.next()).get()
        #expect(result.version.mtime == Timestamp(seconds: 2))
        #expect(changed.withLockedValue { $0 } == ["f"])
    }

    /// A refused connection fails the read as unreachable, not by waiting
    /// out a timeout: the read timeout is a minute, the bound far below it
    /// (a hang, not a slow machine, is what it catches).
    @Test func aDeadPeerFailsReadsAsUnreachable() async throws {
        let peer = try await LoopbackPeer()
        peer.files.state.withLockedValue { $0.files["f"] = Self.pattern(1000) }
        let reader = peer.makeReader(timeout: .seconds(60))
        let version = FileVersion(size: 1000, mtime: Timestamp(seconds: 1))
        await peer.server.close()
        let started = ContinuousClock.now
        let error = await #expect(throws: FileSystemError.self) {
            try await reader.read(path: "f", expected: version, offset: 0, count: 10, eventLoop: LoopbackPeer.group.next()).get()
        }
        guard case .ioError(let why) = error else {
            Issue.record("expected an I/O error, got \(String(describing: error))")
            return
        }
        #expect(why.contains("unreachable"), "\(why)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func cachedBlocksOfADeadPeerAreNotServed() async throws {
        let peer = try await LoopbackPeer()
        peer.files.state.withLockedValue { $0.files["f"] = Self.pattern(1000) }
        let reader = peer.makeReader()
        let version = FileVersion(size: 1000, mtime: Timestamp(seconds: 1))
        let loop = LoopbackPeer.group.next()
        _ = try await reader.read(path: "f", expected: version, offset: 0, count: 1000, eventLoop: loop).get()
        _ = try await reader.read(path: "f", expected: version, offset: 0, count: 1000, eventLoop: loop).get()
        #expect(peer.files.reads.count == 1)  // the second came from the cache
        await peer.server.close()
        // Once the client has seen the connection go (bounded wait), even
        // the cached blocks are refused.
        var refused = false
        for _ in 0..<100 where !refused {
            do {
                _ = try await reader.read(path: "f", expected: version, offset: 0, count: 1000, eventLoop: loop).get()
                try await Task.sleep(for: .milliseconds(20))
            } catch is FileSystemError {
                refused = true
            }
        }
        #expect(refused)
    }

    @Test func aHangingPeerTimesOut() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        peer.files.state.withLockedValue {
            $0.files["f"] = Self.pattern(1000)
            $0.delay = .seconds(120)
        }
        let reader = peer.makeReader(timeout: .milliseconds(300))
        let started = ContinuousClock.now
        await #expect(throws: FileSystemError.self) {
            try await reader.read(path: "f", expected: FileVersion(size: 1000, mtime: Timestamp(seconds: 1)), offset: 0, count: 10, eventLoop: LoopbackPeer.group.next()).get()
        }
        // Far below the peer's 120 s delay: the read gave up, it did not
        // wait for the reply. (Seconds over the 300 ms timeout are a busy
        // machine running every suite at once, not a hang.)
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func readsOfMissingFilesAndBadPathsAreRefused() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let connection = try await PeerConnection.connect(to: peer.address, group: LoopbackPeer.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t"))
        defer { connection.close() }
        await #expect(throws: PeerClientError.status(.stale)) {
            try await connection.read(ReadArguments(path: "missing", offset: 0, count: 10), timeout: .seconds(2)).get()
        }
        await #expect(throws: PeerClientError.status(.invalid)) {
            try await connection.read(ReadArguments(path: "../etc/passwd", offset: 0, count: 10), timeout: .seconds(2)).get()
        }
        await #expect(throws: PeerClientError.status(.invalid)) {
            try await connection.read(ReadArguments(path: "/etc/passwd", offset: 0, count: 10), timeout: .seconds(2)).get()
        }
    }
}
