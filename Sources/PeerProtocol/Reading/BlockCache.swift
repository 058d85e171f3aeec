import CoreMetrics
import Dispatch
import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// A bounded, least-recently-used cache of file blocks read from peers.
///
/// Blocks are keyed by node, path *and version* (size, mtime): bytes of two
/// versions of a file never mix, a changed file simply misses, and two
/// nodes' files that only look alike (same path, size and mtime, different
/// content) never share a block. A block
/// is a range of the buffer a peer's READ reply arrived in, so a run of
/// blocks fetched together can later be served as one slice, uncopied.
///
/// The bound is on memory, not on blocks: a reply's buffer stays alive as
/// long as any of its blocks is cached, so the cache counts each reply whole
/// from its first block in until its last block out. Evicting one block of
/// a megabyte reply frees nothing; the least recently used blocks go until
/// enough whole replies have. And what the cache frees is handed back to the
/// operating system every so often (`HeapMemory`): megabyte replies and
/// small blocks freed in turn leave the heap too fragmented to reuse it all,
/// and the process would grow to twice the cache's size and more.
public final class BlockCache: Sendable {
    /// A file version, hashed once per read rather than once per block.
    public struct File: Hashable, Sendable {
        public let node: NodeID
        public let path: String
        public let version: FileVersion
        let fingerprint: UInt64

        public init(node: NodeID, path: String, version: FileVersion) {
            self.node = node
            self.path = path
            self.version = version
            var hash = FileID(path: path).rawValue
            hash = (hash ^ node.high) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ node.low) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ version.size) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(bitPattern: version.mtime.seconds)) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(version.mtime.nanoseconds)) &* 0x9E37_79B9_7F4A_7C15
            self.fingerprint = hash
        }

        public static func == (lhs: File, rhs: File) -> Bool {
            lhs.fingerprint == rhs.fingerprint && lhs.version == rhs.version && lhs.node == rhs.node
                && ExactPath(lhs.path) == ExactPath(rhs.path)  // bytes: `String ==` equates NFC and NFD
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(self.fingerprint)
        }
    }

    /// Bytes of one block: `length` bytes at `offset` of `run`.
    public struct Block: Sendable {
        public let run: Run
        public let offset: Int
        public let length: Int

        public var bytes: ByteBuffer {
            self.run.data.getSlice(at: self.run.data.readerIndex + self.offset, length: self.length)!
        }
    }

    /// One READ reply's data, shared by the blocks cut from it.
    ///
    /// `@unchecked`: `cachedBlocks` is read and written only under the
    /// lock of the one cache the run is put in; everything else is constant.
    public final class Run: @unchecked Sendable {
        public let data: ByteBuffer
        public let version: FileVersion
        public let isEndOfFile: Bool
        /// Blocks of this run in the cache (guarded by the cache's lock).
        fileprivate var cachedBlocks = 0

        public init(data: ByteBuffer, version: FileVersion, isEndOfFile: Bool) {
            self.data = data
            self.version = version
            self.isEndOfFile = isEndOfFile
        }
    }

    private struct Key: Hashable {
        var fingerprint: UInt64
        var index: UInt64
    }

    private struct Node {
        var key: Key
        var file: File
        var block: Block?
        var previous: Int
        var next: Int
    }

    private struct State {
        var positions: [Key: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var head = -1  // most recently used
        var tail = -1  // least recently used
        /// Bytes of the replies that cached blocks keep alive.
        var bytes = 0
        /// Bytes of replies freed since memory was last handed back.
        var freedSinceRelease = 0
        var lastRelease = ContinuousClock.now
        var hits: UInt64 = 0
        var misses: UInt64 = 0

        mutating func unlink(_ position: Int) {
            let node = self.nodes[position]
            if node.previous >= 0 { self.nodes[node.previous].next = node.next } else { self.head = node.next }
            if node.next >= 0 { self.nodes[node.next].previous = node.previous } else { self.tail = node.previous }
        }

        mutating func pushFront(_ position: Int) {
            self.nodes[position].previous = -1
            self.nodes[position].next = self.head
            if self.head >= 0 { self.nodes[self.head].previous = position }
            self.head = position
            if self.tail < 0 { self.tail = position }
        }

        mutating func retain(_ run: Run) {
            if run.cachedBlocks == 0 { self.bytes += run.data.readableBytes }
            run.cachedBlocks += 1
        }

        mutating func release(_ run: Run) {
            run.cachedBlocks -= 1
            if run.cachedBlocks == 0 {
                self.bytes -= run.data.readableBytes
                self.freedSinceRelease += run.data.readableBytes
            }
        }

        func position(of file: File, _ index: UInt64) -> Int? {
            guard let position = self.positions[Key(fingerprint: file.fingerprint, index: index)],
                self.nodes[position].file == file
            else { return nil }
            return position
        }
    }

    public let capacity: Int
    private let state = NIOLockedValueBox(State())
    /// Freed bytes that make handing memory back worth its cost (at most
    /// five times a second, off the event loops).
    private let releaseThreshold: Int
    private static let releaseQueue = DispatchQueue(label: "p2pfs.block-cache.release", qos: .utility)
    private let hitsCounter = Counter(label: "p2pfs_block_cache_hits_total")
    private let missesCounter = Counter(label: "p2pfs_block_cache_misses_total")
    private let bytesGauge = Gauge(label: "p2pfs_block_cache_bytes")
    private let blocksGauge = Gauge(label: "p2pfs_block_cache_blocks")

    /// - Parameter capacity: bytes of reply data kept alive at most.
    public init(capacity: Int) {
        self.capacity = capacity
        self.releaseThreshold = max(capacity / 4, 16 << 20)
    }

    /// The cached blocks of `indices` (nil where missing), in one lock.
    public func get(_ file: File, _ indices: ClosedRange<UInt64>) -> [Block?] {
        let blocks = self.state.withLockedValue { state -> [Block?] in
            indices.map { index -> Block? in
                guard let position = state.position(of: file, index) else {
                    state.misses += 1
                    return nil
                }
                state.hits += 1
                state.unlink(position)
                state.pushFront(position)
                return state.nodes[position].block
            }
        }
        var hits = 0
        for case .some in blocks { hits += 1 }
        if hits > 0 { self.hitsCounter.increment(by: hits) }
        if hits < blocks.count { self.missesCounter.increment(by: blocks.count - hits) }
        return blocks
    }

    public func contains(_ file: File, _ index: UInt64) -> Bool {
        self.state.withLockedValue { $0.position(of: file, index) != nil }
    }

    /// Caches blocks `first...` cut from `run`, `blockSize` bytes each.
    public func put(_ file: File, first: UInt64, blockSize: Int, run: Run) {
        let length = run.data.readableBytes
        guard length > 0, length <= self.capacity else { return }
        let (release, bytes, blocks) = self.state.withLockedValue { state -> (Bool, Int, Int) in
            var offset = 0
            var index = first
            while offset < length {
                let blockLength = min(blockSize, length - offset)
                // Keep only whole blocks, or the file's last one.
                if blockLength == blockSize || run.isEndOfFile {
                    self.insert(Block(run: run, offset: offset, length: blockLength), file: file, index: index, into: &state)
                }
                offset += blockLength
                index += 1
            }
            while state.bytes > self.capacity, state.tail >= 0 {
                let victim = state.tail
                state.unlink(victim)
                state.positions.removeValue(forKey: state.nodes[victim].key)
                if let block = state.nodes[victim].block {
                    state.release(block.run)
                }
                state.nodes[victim].block = nil
                state.free.append(victim)
            }
            guard state.freedSinceRelease >= self.releaseThreshold, state.lastRelease.duration(to: .now) >= .milliseconds(200) else {
                return (false, state.bytes, state.positions.count)
            }
            state.freedSinceRelease = 0
            state.lastRelease = .now
            return (true, state.bytes, state.positions.count)
        }
        self.bytesGauge.record(bytes)
        self.blocksGauge.record(blocks)
        if release {
            Self.releaseQueue.async { HeapMemory.releaseFree() }
        }
    }

    private func insert(_ block: Block, file: File, index: UInt64, into state: inout State) {
        let key = Key(fingerprint: file.fingerprint, index: index)
        if let position = state.positions[key] {
            state.retain(block.run)
            if let replaced = state.nodes[position].block {
                state.release(replaced.run)
            }
            state.nodes[position].file = file
            state.nodes[position].block = block
            state.unlink(position)
            state.pushFront(position)
            return
        }
        let node = Node(key: key, file: file, block: block, previous: -1, next: -1)
        let position: Int
        if let reused = state.free.popLast() {
            state.nodes[reused] = node
            position = reused
        } else {
            state.nodes.append(node)
            position = state.nodes.count - 1
        }
        state.positions[key] = position
        state.pushFront(position)
        state.retain(block.run)
    }

    /// Current use, for `p2pfs peers` and the benchmark.
    public var statistics: (bytes: Int, blocks: Int, hits: UInt64, misses: UInt64) {
        self.state.withLockedValue { ($0.bytes, $0.positions.count, $0.hits, $0.misses) }
    }
}
