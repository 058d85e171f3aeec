import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// A bounded, least-recently-used cache of file blocks read from peers.
///
/// Blocks are keyed by path *and version* (size, mtime): bytes of two
/// versions of a file never mix, and a changed file simply misses.
public final class BlockCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var path: String
        public var version: FileVersion
        public var index: UInt64

        public init(path: String, version: FileVersion, index: UInt64) {
            self.path = path
            self.version = version
            self.index = index
        }
    }

    private struct Node {
        var key: Key
        var value: ByteBuffer
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
    }

    public let capacity: Int
    private let state = NIOLockedValueBox(State())

    /// - Parameter capacity: bytes of block data kept at most.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    public func get(_ key: Key) -> ByteBuffer? {
        self.state.withLockedValue { state in
            guard let position = state.positions[key] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            state.unlink(position)
            state.pushFront(position)
            return state.nodes[position].value
        }
    }

    public func contains(_ key: Key) -> Bool {
        self.state.withLockedValue { $0.positions[key] != nil }
    }

    public func put(_ key: Key, _ value: ByteBuffer) {
        guard value.readableBytes <= self.capacity else { return }
        self.state.withLockedValue { state in
            if let position = state.positions[key] {
                state.bytes += value.readableBytes - state.nodes[position].value.readableBytes
                state.nodes[position].value = value
                state.unlink(position)
                state.pushFront(position)
            } else {
                let node = Node(key: key, value: value, previous: -1, next: -1)
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
                state.bytes += value.readableBytes
            }
            while state.bytes > self.capacity, state.tail >= 0 {
                let victim = state.tail
                state.unlink(victim)
                state.positions.removeValue(forKey: state.nodes[victim].key)
                state.bytes -= state.nodes[victim].value.readableBytes
                state.nodes[victim].value = ByteBuffer()
                state.free.append(victim)
            }
        }
    }

    /// Current use, for `p2pfs peers` and the benchmark.
    public var statistics: (bytes: Int, blocks: Int, hits: UInt64, misses: UInt64) {
        self.state.withLockedValue { ($0.bytes, $0.positions.count, $0.hits, $0.misses) }
    }
}
