import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// A bounded, least-recently-used cache of file blocks read from peers.
///
/// Blocks are keyed by path *and version* (size, mtime): bytes of two
/// versions of a file never mix, and a changed file simply misses. A block
/// is a range of the buffer a peer's READ reply arrived in, so a run of
/// blocks fetched together can later be served as one slice, uncopied.
public final class BlockCache: Sendable {
    /// A file version, hashed once per read rather than once per block.
    public struct File: Hashable, Sendable {
        public let path: String
        public let version: FileVersion
        let fingerprint: UInt64

        public init(path: String, version: FileVersion) {
            self.path = path
            self.version = version
            var hash = FileID(path: path).rawValue
            hash = (hash ^ version.size) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(bitPattern: version.mtime.seconds)) &* 0x9E37_79B9_7F4A_7C15
            hash = (hash ^ UInt64(version.mtime.nanoseconds)) &* 0x9E37_79B9_7F4A_7C15
            self.fingerprint = hash
        }

        public static func == (lhs: File, rhs: File) -> Bool {
            lhs.fingerprint == rhs.fingerprint && lhs.version == rhs.version && lhs.path == rhs.path
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
    public final class Run: Sendable {
        public let data: ByteBuffer
        public let version: FileVersion
        public let isEndOfFile: Bool

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
        var bytes = 0
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

        func position(of file: File, _ index: UInt64) -> Int? {
            guard let position = self.positions[Key(fingerprint: file.fingerprint, index: index)],
                self.nodes[position].file == file
            else { return nil }
            return position
        }
    }

    public let capacity: Int
    private let state = NIOLockedValueBox(State())

    /// - Parameter capacity: bytes of block data kept at most.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached blocks of `indices` (nil where missing), in one lock.
    public func get(_ file: File, _ indices: ClosedRange<UInt64>) -> [Block?] {
        self.state.withLockedValue { state in
            indices.map { index in
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
    }

    public func contains(_ file: File, _ index: UInt64) -> Bool {
        self.state.withLockedValue { $0.position(of: file, index) != nil }
    }

    /// Caches blocks `first...` cut from `run`, `blockSize` bytes each.
    public func put(_ file: File, first: UInt64, blockSize: Int, run: Run) {
        let length = run.data.readableBytes
        guard length > 0, length <= self.capacity else { return }
        self.state.withLockedValue { state in
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
                state.bytes -= state.nodes[victim].block?.length ?? 0
                state.nodes[victim].block = nil
                state.free.append(victim)
            }
        }
    }

    private func insert(_ block: Block, file: File, index: UInt64, into state: inout State) {
        let key = Key(fingerprint: file.fingerprint, index: index)
        if let position = state.positions[key] {
            state.bytes += block.length - (state.nodes[position].block?.length ?? 0)
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
        state.bytes += block.length
    }

    /// Current use, for `p2pfs peers` and the benchmark.
    public var statistics: (bytes: Int, blocks: Int, hits: UInt64, misses: UInt64) {
        self.state.withLockedValue { ($0.bytes, $0.positions.count, $0.hits, $0.misses) }
    }
}
