import CoreMetrics
import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// Reads a remote node's files block by block over the peer protocol.
///
/// A READ from the kernel becomes requests for the blocks it covers that are
/// not cached; consecutive missing blocks go out as one peer READ, many in
/// flight on the node's single connection. Blocks keep pointing into the
/// reply they arrived in, so a read covered by one reply is answered with a
/// slice of it, uncopied. Sequential access triggers read-ahead. Nothing
/// holds a whole file: only the bounded block cache.
public final class ForwardedFileReader: FileReader {
    public struct Configuration: Sendable {
        /// The cache's unit; also the alignment of peer reads. Small enough
        /// that a random 4 KiB read fetches little more than it needs.
        public var blockSize: Int
        /// How far ahead of a sequential reader blocks are fetched.
        public var readAhead: Int
        /// How long one peer READ may take before the read fails (or fails
        /// over to another source).
        public var timeout: TimeAmount
        /// How long the owner may take to hash a file (HASH reads it whole).
        public var hashTimeout: TimeAmount

        public init(
            blockSize: Int = 16 * 1024, readAhead: Int = 2 << 20, timeout: TimeAmount = .seconds(3), hashTimeout: TimeAmount = .seconds(120)
        ) {
            self.blockSize = blockSize
            self.readAhead = readAhead
            self.timeout = timeout
            self.hashTimeout = hashTimeout
        }
    }

    /// One peer READ in progress or done: the blocks `first...` it covers.
    private struct Fetch: Sendable {
        var first: UInt64
        var future: EventLoopFuture<BlockCache.Run>
    }

    private struct InFlightKey: Hashable {
        var file: BlockCache.File
        var index: UInt64
    }

    /// Where one block of a read comes from.
    private enum Piece {
        case cached(BlockCache.Block)
        case fetching(Fetch)
    }

    public let node: NodeID
    private let pool: PeerConnectionPool
    private let cache: BlockCache
    private let configuration: Configuration
    private let onChange: @Sendable (_ path: String, _ version: FileVersion) -> Void
    private let inFlight = NIOLockedValueBox<[InFlightKey: Fetch]>([:])
    /// Where the last read of each file ended, by the path's bytes (NFC and
    /// NFD "café" are two files, each read on its own).
    private let nextSequentialOffset = NIOLockedValueBox<[ExactPath: UInt64]>([:])
    /// Peer READs sent (read-ahead included), failed, their bytes and time.
    private let readsCounter = Counter(label: "p2pfs_forwarded_reads_total")
    private let errorsCounter = Counter(label: "p2pfs_forwarded_read_errors_total")
    private let bytesCounter = Counter(label: "p2pfs_forwarded_read_bytes_total")
    private let latency = Timer(label: "p2pfs_forwarded_read_duration_seconds")

    /// - Parameter onChange: called when the peer reports a version other
    ///   than the catalog's, so the catalog can be refreshed.
    public init(
        node: NodeID,
        pool: PeerConnectionPool,
        cache: BlockCache,
        configuration: Configuration = .init(),
        onChange: @escaping @Sendable (_ path: String, _ version: FileVersion) -> Void = { _, _ in }
    ) {
        self.node = node
        self.pool = pool
        self.cache = cache
        self.configuration = configuration
        self.onChange = onChange
    }

    public func read(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        let blockSize = UInt64(self.configuration.blockSize)
        guard count > 0, offset < expected.size else {
            return eventLoop.makeSucceededFuture(FileReadResult(data: ByteBuffer(), isEndOfFile: true, version: expected))
        }
        let file = BlockCache.File(node: self.node, path: path, version: expected)
        let end = min(offset + UInt64(count), expected.size)
        let first = offset / blockSize
        let last = (end - 1) / blockSize
        let pieces = self.pieces(file: file, range: first...last, eventLoop: eventLoop)
        self.readAheadIfSequential(file: file, offset: offset, end: end)

        // Fetches to wait for (each once), then every piece is at hand.
        var fetchFirsts: [UInt64] = []
        var fetches: [EventLoopFuture<BlockCache.Run>] = []
        for case .fetching(let fetch) in pieces where !fetchFirsts.contains(fetch.first) {
            fetchFirsts.append(fetch.first)
            fetches.append(fetch.future)
        }
        // Cached blocks are served only while their node is reachable: once
        // a node is gone its files fail (or fail over) rather than serve
        // whatever happens to be cached. For a live node this costs nothing
        // (the pooled connection is already open).
        let ready: EventLoopFuture<[BlockCache.Run]>
        if fetches.count == 1 {
            // The usual case (a random read, or a run in one reply): no
            // generic gathering of one future.
            ready = fetches[0].map { [$0] }
        } else if !fetches.isEmpty {
            ready = EventLoopFuture.whenAllSucceed(fetches, on: eventLoop)
        } else if self.pool.isConnected(self.node) {
            ready = eventLoop.makeSucceededFuture([])
        } else {
            ready = self.pool.connection(for: self.node).map { _ in [] }
        }
        let firsts = fetchFirsts
        return ready.flatMapThrowing { runs -> FileReadResult in
            let fetched = Dictionary(uniqueKeysWithValues: zip(firsts, runs))
            let blocks = pieces.enumerated().map { position, piece -> BlockCache.Block in
                switch piece {
                case .cached(let block):
                    return block
                case .fetching(let fetch):
                    return Self.block(first + UInt64(position), of: fetched[fetch.first]!, fetchedFrom: fetch.first, blockSize: Int(blockSize))
                }
            }
            return try self.assemble(blocks, path: path, expected: expected, offset: offset, end: end, first: first)
        }.hop(to: eventLoop).flatMapErrorThrowing { error in
            throw Self.fileSystemError(error)
        }
    }

    /// Joins the blocks of a read; a single slice when they are consecutive
    /// ranges of one reply (the usual case), a copy otherwise.
    private func assemble(
        _ blocks: [BlockCache.Block], path: String, expected: FileVersion, offset: UInt64, end: UInt64, first: UInt64
    ) throws -> FileReadResult {
        let version = blocks[0].run.version
        guard blocks.allSatisfy({ $0.run.version == version }) else {
            // Report the new version even though this read fails, so the
            // catalog is refreshed and a retry reads one version.
            if let changed = blocks.first(where: { $0.run.version != expected }) {
                self.onChange(path, changed.run.version)
            }
            throw FileSystemError.ioError("\(NameBytes.display(path)) changed while being read")
        }
        if version != expected {
            self.onChange(path, version)
        }
        // The blocks may hold less than the catalog's size promised (the file
        // shrank): never skip or slice past what they hold.
        let held = blocks.reduce(0) { $0 + $1.length }
        let skip = min(Int(offset - first * UInt64(self.configuration.blockSize)), held)
        let wanted = max(0, min(Int(end - offset), held - skip))
        let data: ByteBuffer
        if Self.areContiguous(blocks) {
            let start = blocks[0].run.data.readerIndex + blocks[0].offset + skip
            data = blocks[0].run.data.getSlice(at: start, length: wanted)!
        } else {
            var joined = ByteBufferAllocator().buffer(capacity: wanted)
            var remainingSkip = skip
            for block in blocks where joined.readableBytes < wanted {
                var bytes = block.bytes
                let dropped = min(remainingSkip, bytes.readableBytes)
                bytes.moveReaderIndex(forwardBy: dropped)
                remainingSkip -= dropped
                joined.writeImmutableBuffer(bytes.readSlice(length: min(bytes.readableBytes, wanted - joined.readableBytes))!)
            }
            data = joined
        }
        let isEndOfFile = offset + UInt64(data.readableBytes) >= version.size
        return FileReadResult(data: data, isEndOfFile: isEndOfFile, version: version)
    }

    /// `data`, copied into a buffer of its own when it is a slice of a much
    /// larger one: a small reply that arrived with others in one receive
    /// buffer would otherwise keep all of it alive for as long as the cache
    /// keeps the block, and the cache's size limit would not bound memory.
    static func compacted(_ data: ByteBuffer) -> ByteBuffer {
        guard data.storageCapacity > 2 * data.readableBytes + 4096 else { return data }
        var copy = ByteBufferAllocator().buffer(capacity: data.readableBytes)
        copy.writeImmutableBuffer(data)
        return copy
    }

    private static func areContiguous(_ blocks: [BlockCache.Block]) -> Bool {
        for (previous, next) in zip(blocks, blocks.dropFirst()) {
            guard previous.run === next.run, previous.offset + previous.length == next.offset else { return false }
        }
        return true
    }

    private static func block(_ index: UInt64, of run: BlockCache.Run, fetchedFrom first: UInt64, blockSize: Int) -> BlockCache.Block {
        let offset = Int(index - first) * blockSize
        let length = max(0, min(blockSize, run.data.readableBytes - offset))
        return BlockCache.Block(run: run, offset: min(offset, run.data.readableBytes), length: length)
    }

    /// Where each block of `range` comes from: the cache, a fetch already
    /// in flight, or new fetches of the runs of missing blocks.
    private func pieces(file: BlockCache.File, range: ClosedRange<UInt64>, eventLoop: any EventLoop) -> [Piece] {
        let cached = self.cache.get(file, range)
        var pieces: [Piece?] = cached.map { $0.map(Piece.cached) }
        var missing: [UInt64] = []
        self.inFlight.withLockedValue { inFlight in
            for (position, index) in range.enumerated() where pieces[position] == nil {
                if let fetch = inFlight[InFlightKey(file: file, index: index)] {
                    pieces[position] = .fetching(fetch)
                } else {
                    missing.append(index)
                }
            }
        }
        for fetch in self.fetch(file: file, indices: missing, eventLoop: eventLoop) {
            for index in fetch.indices {
                pieces[Int(index - range.lowerBound)] = .fetching(fetch.fetch)
            }
        }
        return pieces.map { $0! }
    }

    /// Starts fetching `indices` (ascending), one peer READ per run of
    /// consecutive blocks, at most the protocol's READ size each.
    private func fetch(file: BlockCache.File, indices: [UInt64], eventLoop: any EventLoop) -> [(fetch: Fetch, indices: ClosedRange<UInt64>)] {
        guard !indices.isEmpty else { return [] }
        let blockSize = self.configuration.blockSize
        // Runs of a megabyte stay aligned with the kernel's 1 MiB READs, so
        // each is answered with one slice of one reply, never a copy.
        let blocksPerRead = max(1, PeerLimits.maximumReadSize / blockSize)
        var runs: [ClosedRange<UInt64>] = []
        for index in indices {
            if let run = runs.last, run.upperBound + 1 == index, run.count < blocksPerRead {
                runs[runs.count - 1] = run.lowerBound...index
            } else {
                runs.append(index...index)
            }
        }
        let timeout = self.configuration.timeout
        return runs.map { run in
            let arguments = ReadArguments(path: file.path, offset: run.lowerBound * UInt64(blockSize), count: UInt32(run.count * blockSize))
            let started = NIODeadline.now()
            let future = self.pool.connection(for: self.node).flatMap { connection in
                connection.read(arguments, timeout: timeout)
            }.flatMapThrowing { reply in
                // A reply must be what a READ of this range is: exactly the
                // bytes the size it reports leaves at that offset, EOF set
                // accordingly. Anything else (a broken or hostile peer) fails
                // here and never reaches the cache.
                let length = UInt64(reply.data.readableBytes)
                let size = reply.version.size
                guard length == min(UInt64(arguments.count), size - min(arguments.offset, size)),
                    reply.isEndOfFile == (arguments.offset + length >= size)
                else {
                    throw FileSystemError.ioError(
                        "\(NameBytes.display(file.path)): inconsistent READ reply (\(length) bytes at \(arguments.offset) of \(size), eof \(reply.isEndOfFile))"
                    )
                }
                return BlockCache.Run(data: Self.compacted(reply.data), version: reply.version, isEndOfFile: reply.isEndOfFile)
            }
            let fetch = Fetch(first: run.lowerBound, future: future)
            self.inFlight.withLockedValue { inFlight in
                for index in run { inFlight[InFlightKey(file: file, index: index)] = fetch }
            }
            future.whenComplete { result in
                self.readsCounter.increment()
                self.latency.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
                switch result {
                case .success(let data):
                    self.bytesCounter.increment(by: data.data.readableBytes)
                    self.cache.put(BlockCache.File(node: self.node, path: file.path, version: data.version), first: run.lowerBound, blockSize: blockSize, run: data)
                case .failure:
                    self.errorsCounter.increment()
                }
                self.inFlight.withLockedValue { inFlight in
                    for index in run { inFlight.removeValue(forKey: InFlightKey(file: file, index: index)) }
                }
            }
            return (fetch, run)
        }
    }

    private func readAheadIfSequential(file: BlockCache.File, offset: UInt64, end: UInt64) {
        guard self.configuration.readAhead > 0 else { return }
        let isSequential = self.nextSequentialOffset.withLockedValue { offsets -> Bool in
            let path = ExactPath(file.path)
            let sequential = offset == 0 || offsets[path] == offset
            if offsets.count > 1024 { offsets.removeAll() }
            offsets[path] = end
            return sequential
        }
        guard isSequential, end < file.version.size else { return }
        let blockSize = UInt64(self.configuration.blockSize)
        let first = (end + blockSize - 1) / blockSize
        let last = (min(end + UInt64(self.configuration.readAhead), file.version.size) - 1) / blockSize
        guard first <= last else { return }
        let cached = self.cache.get(file, first...last)
        let wanted = self.inFlight.withLockedValue { inFlight in
            (first...last).filter { index in
                cached[Int(index - first)] == nil && inFlight[InFlightKey(file: file, index: index)] == nil
            }
        }
        // Read-ahead failures are not errors: the real read will retry.
        _ = self.fetch(file: file, indices: wanted, eventLoop: self.pool.eventLoop)
    }

    static func fileSystemError(_ error: any Error) -> FileSystemError {
        switch error {
        case let error as FileSystemError: error
        case PeerClientError.status(let status): status.fileSystemError
        case let error as PeerClientError: .ioError(error.description)
        default: .ioError("\(error)")
        }
    }
}

/// HASH on the asker's side: the owner hashes, this only asks.
extension ForwardedFileReader: ContentHasher {
    public func contentHash(path: String, expected: FileVersion, eventLoop: any EventLoop) -> EventLoopFuture<ContentHash> {
        let timeout = self.configuration.hashTimeout
        return self.pool.connection(for: self.node).flatMap { connection in
            connection.hash(HashArguments(path: path, version: expected), timeout: timeout)
        }.hop(to: eventLoop)
    }
}
