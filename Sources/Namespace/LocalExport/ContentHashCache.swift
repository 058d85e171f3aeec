import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Content hashes of local files, computed on a thread pool and remembered
/// by what identifies one content on disk: device, inode, size and mtime.
///
/// A file rewritten in place changes its mtime (and usually its size); one
/// replaced by rename changes its inode: either way the key changes and the
/// next request hashes again. Concurrent requests for one key share one
/// computation. The cache is bounded; the oldest entries go first (a
/// forgotten hash costs a recomputation, never a wrong answer).
public final class ContentHashCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var version: FileVersion

        public init(device: UInt64, inode: UInt64, version: FileVersion) {
            self.device = device
            self.inode = inode
            self.version = version
        }
    }

    private struct State {
        var hashes: [Key: ContentHash] = [:]
        /// Insertion order, for eviction; `head` is the oldest live slot.
        var order: [Key] = []
        var head = 0
        var inFlight: [Key: EventLoopFuture<ContentHash>] = [:]
        var computations = 0
    }

    public let capacity: Int
    private let threadPool: NIOThreadPool
    private let state = NIOLockedValueBox(State())
    /// `p2pfs_content_hashes_computed_total`: files hashed (cache misses).
    private let computedCounter = Counter(label: "p2pfs_content_hashes_computed_total")

    public init(capacity: Int = 4096, threadPool: NIOThreadPool) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.threadPool = threadPool
    }

    /// How many hashes were computed (not answered from the cache or shared).
    public var computations: Int {
        self.state.withLockedValue { $0.computations }
    }

    /// Hashes remembered now (at most `capacity`).
    public var count: Int {
        self.state.withLockedValue { $0.hashes.count }
    }

    /// The hash for `key`: remembered, being computed, or computed now by
    /// `compute` (blocking, so it runs on the thread pool).
    public func hash(
        _ key: Key, eventLoop: any EventLoop, compute: @escaping @Sendable () throws -> ContentHash
    ) -> EventLoopFuture<ContentHash> {
        enum Plan {
            case known(ContentHash)
            case shared(EventLoopFuture<ContentHash>)
            case compute(EventLoopPromise<ContentHash>)
        }
        let plan = self.state.withLockedValue { state -> Plan in
            if let hash = state.hashes[key] { return .known(hash) }
            if let future = state.inFlight[key] { return .shared(future) }
            let promise = eventLoop.makePromise(of: ContentHash.self)
            state.inFlight[key] = promise.futureResult
            state.computations += 1
            return .compute(promise)
        }
        switch plan {
        case .known(let hash):
            return eventLoop.makeSucceededFuture(hash)
        case .shared(let future):
            return future.hop(to: eventLoop)
        case .compute(let promise):
            self.computedCounter.increment()
            promise.futureResult.whenComplete { result in
                self.state.withLockedValue { state in
                    state.inFlight.removeValue(forKey: key)
                    if case .success(let hash) = result {
                        Self.insert(hash, for: key, into: &state, capacity: self.capacity)
                    }
                }
            }
            self.threadPool.runIfActive(eventLoop: eventLoop, compute).cascade(to: promise)
            return promise.futureResult
        }
    }

    private static func insert(_ hash: ContentHash, for key: Key, into state: inout State, capacity: Int) {
        guard state.hashes.updateValue(hash, forKey: key) == nil else { return }
        state.order.append(key)
        while state.hashes.count > capacity, state.head < state.order.count {
            state.hashes.removeValue(forKey: state.order[state.head])
            state.head += 1
        }
        // Compact the order list once its dead prefix dominates.
        if state.head > capacity {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
