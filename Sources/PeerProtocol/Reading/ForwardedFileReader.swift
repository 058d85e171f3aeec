import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// Reads a remote node's files block by block over the peer protocol.
///
/// A READ from the kernel becomes requests for the blocks it covers that are
/// not cached; consecutive missing blocks go out as one peer READ, many in
/// flight on the node's single connection. Sequential access triggers
/// read-ahead. Nothing holds a whole file: only the bounded block cache.
public final class ForwardedFileReader: FileReader {
    public struct Configuration: Sendable {
        /// The cache's unit; also the alignment of peer reads.
        public var blockSize: Int
        /// How far ahead of a sequential reader blocks are fetched.
        public var readAhead: Int
        /// How long one peer READ may take before the read fails (or fails
        /// over to another source).
        public var timeout: TimeAmount

        public init(blockSize: Int = 64 * 1024, readAhead: Int = 2 << 20, timeout: TimeAmount = .seconds(3)) {
            self.blockSize = blockSize
            self.readAhead = readAhead
            self.timeout = timeout
        }
    }

    private struct Block: Sendable {
        var data: ByteBuffer
        var version: FileVersion
        var isEndOfFile: Bool
    }

    private struct InFlightKey: Hashable {
        var path: String
        var index: UInt64
    }

    public let node: NodeID
    private let pool: PeerConnectionPool
    private let cache: BlockCache
    private let configuration: Configuration
    private let onChange: @Sendable (_ path: String, _ version: FileVersion) -> Void
    private let inFlight = NIOLockedValueBox<[InFlightKey: EventLoopFuture<Block>]>([:])
    private let nextSequentialOffset = NIOLockedValueBox<[String: UInt64]>([:])

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
        let end = min(offset + UInt64(count), expected.size)
        let first = offset / blockSize
        let last = (end - 1) / blockSize
        let blocks = self.blocks(path: path, version: expected, range: first...last, eventLoop: eventLoop)
        self.readAheadIfSequential(path: path, version: expected, offset: offset, end: end)

        // Cached blocks are served only while their node is reachable: once
        // a node is gone, its files fail (or fail over) rather than serve
        // whatever happens to be cached. For a live node this costs nothing
        // (the pooled connection is already open).
        let reachable = self.pool.connection(for: self.node).map { _ in () }
        return reachable.flatMap { EventLoopFuture<Block>.whenAllSucceed(blocks, on: eventLoop) }.flatMapThrowing { blocks -> FileReadResult in
            let version = blocks[0].version
            guard blocks.allSatisfy({ $0.version == version }) else {
                throw FileSystemError.ioError("\(path) changed while being read")
            }
            if version != expected {
                self.onChange(path, version)
            }
            let skip = Int(offset - first * blockSize)
            let wanted = Int(end - offset)
            let data: ByteBuffer
            if blocks.count == 1 {
                let block = blocks[0].data
                let available = max(0, block.readableBytes - skip)
                data = block.getSlice(at: block.readerIndex + min(skip, block.readableBytes), length: min(wanted, available))!
            } else {
                var joined = ByteBufferAllocator().buffer(capacity: wanted)
                var remainingSkip = skip
                for block in blocks.map(\.data) {
                    guard joined.readableBytes < wanted else { break }
                    let start = min(remainingSkip, block.readableBytes)
                    remainingSkip -= start
                    let length = min(block.readableBytes - start, wanted - joined.readableBytes)
                    if length > 0 {
                        joined.writeImmutableBuffer(block.getSlice(at: block.readerIndex + start, length: length)!)
                    }
                }
                data = joined
            }
            let isEndOfFile = offset + UInt64(data.readableBytes) >= version.size
            return FileReadResult(data: data, isEndOfFile: isEndOfFile, version: version)
        }.flatMapErrorThrowing { error in
            throw Self.fileSystemError(error)
        }
    }

    /// Futures for each block in `range`, from the cache, from a fetch in
    /// flight, or from new fetches grouped into runs of consecutive blocks.
    private func blocks(path: String, version: FileVersion, range: ClosedRange<UInt64>, eventLoop: any EventLoop) -> [EventLoopFuture<Block>] {
        var result: [EventLoopFuture<Block>] = []
        result.reserveCapacity(range.count)
        var missing: [UInt64] = []
        for index in range {
            if let data = self.cache.get(BlockCache.Key(path: path, version: version, index: index)) {
                result.append(eventLoop.makeSucceededFuture(Block(data: data, version: version, isEndOfFile: false)))
            } else if let pending = self.inFlight.withLockedValue({ $0[InFlightKey(path: path, index: index)] }) {
                result.append(pending)
            } else {
                missing.append(index)
                result.append(eventLoop.makeSucceededFuture(Block(data: ByteBuffer(), version: version, isEndOfFile: false)))
            }
        }
        guard !missing.isEmpty else { return result }
        let fetched = self.fetch(path: path, version: version, indices: missing, eventLoop: eventLoop)
        for (index, future) in zip(missing, fetched) {
            result[Int(index - range.lowerBound)] = future
        }
        return result
    }

    /// Starts fetching `indices` (ascending), one peer READ per run of
    /// consecutive blocks, at most the protocol's READ size each.
    private func fetch(path: String, version: FileVersion, indices: [UInt64], eventLoop: any EventLoop) -> [EventLoopFuture<Block>] {
        let blockSize = self.configuration.blockSize
        let blocksPerRead = max(1, PeerLimits.maximumReadSize / blockSize)
        var runs: [[UInt64]] = []
        for index in indices {
            if var run = runs.last, let previous = run.last, previous + 1 == index, run.count < blocksPerRead {
                run.append(index)
                runs[runs.count - 1] = run
            } else {
                runs.append([index])
            }
        }
        var futures: [EventLoopFuture<Block>] = []
        for run in runs {
            let promises = run.map { _ in eventLoop.makePromise(of: Block.self) }
            self.inFlight.withLockedValue { inFlight in
                for (index, promise) in zip(run, promises) {
                    inFlight[InFlightKey(path: path, index: index)] = promise.futureResult
                }
            }
            futures.append(contentsOf: promises.map(\.futureResult))
            let arguments = ReadArguments(path: path, offset: run[0] * UInt64(blockSize), count: UInt32(run.count * blockSize))
            let timeout = self.configuration.timeout
            self.pool.connection(for: self.node).flatMap { connection in
                connection.read(arguments, timeout: timeout)
            }.whenComplete { result in
                self.inFlight.withLockedValue { inFlight in
                    for index in run { inFlight.removeValue(forKey: InFlightKey(path: path, index: index)) }
                }
                switch result {
                case .success(let reply):
                    var data = reply.data
                    for (index, promise) in zip(run, promises) {
                        let block = data.readSlice(length: min(blockSize, data.readableBytes)) ?? ByteBuffer()
                        if block.readableBytes == blockSize || reply.isEndOfFile {
                            self.cache.put(BlockCache.Key(path: path, version: reply.version, index: index), block)
                        }
                        promise.succeed(Block(data: block, version: reply.version, isEndOfFile: reply.isEndOfFile && data.readableBytes == 0))
                    }
                case .failure(let error):
                    for promise in promises { promise.fail(error) }
                }
            }
        }
        return futures
    }

    private func readAheadIfSequential(path: String, version: FileVersion, offset: UInt64, end: UInt64) {
        guard self.configuration.readAhead > 0 else { return }
        let isSequential = self.nextSequentialOffset.withLockedValue { offsets -> Bool in
            let sequential = offset == 0 || offsets[path] == offset
            if offsets.count > 1024 { offsets.removeAll() }
            offsets[path] = end
            return sequential
        }
        guard isSequential, end < version.size else { return }
        let blockSize = UInt64(self.configuration.blockSize)
        let first = (end + blockSize - 1) / blockSize
        let last = (min(end + UInt64(self.configuration.readAhead), version.size) - 1) / blockSize
        guard first <= last else { return }
        let wanted = (first...last).filter { index in
            !self.cache.contains(BlockCache.Key(path: path, version: version, index: index))
                && self.inFlight.withLockedValue({ $0[InFlightKey(path: path, index: index)] == nil })
        }
        guard !wanted.isEmpty else { return }
        // Read-ahead failures are not errors: the real read will retry.
        _ = self.fetch(path: path, version: version, indices: wanted, eventLoop: self.poolEventLoop())
    }

    private func poolEventLoop() -> any EventLoop {
        self.pool.eventLoop
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
