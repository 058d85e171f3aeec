import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Holds the current `NamespaceSnapshot` and rebuilds it when catalogs change.
///
/// Rebuilds run on a thread of their own, never on an event loop: merging a
/// million entries takes a noticeable fraction of a second. Changes that
/// arrive during a rebuild are coalesced into one more rebuild.
///
/// Replicas (a regular file at one path, one size and mtime, on several
/// nodes) are merged into one file only when their content hashes agree.
/// The merge looks hashes up in `replicaHashes` and never waits for one;
/// the hashes it lacked are asked of their owners by a `ReplicaVerifier`
/// after the rebuild, and each answer triggers another rebuild (a failed
/// ask that may pass is asked again a few times, `ReplicaRetryPolicy`, and
/// a late hash is one more answer). Hashes no merge looked up any more are
/// dropped, and so are their retries, which bounds the table by the
/// replicas the namespace has and makes a node that comes back be asked
/// again.
public final class NamespaceStore: Sendable {
    private struct State {
        var catalogs: [NodeID: SourceCatalog] = [:]
        var replicaHashes: [ReplicaKey: ReplicaHash] = [:]
        var snapshot: NamespaceSnapshot
        var isDirty = false
        var isRebuilding = false
        var isReady = false
        var waiters: [CheckedContinuation<NamespaceSnapshot, Never>] = []
    }

    private let state: NIOLockedValueBox<State>
    private let thread: NIOThreadPool
    private let logger: Logger
    private let clock: @Sendable () -> Timestamp
    /// `p2pfs_namespace_entries`: nodes of the current snapshot.
    private let entriesGauge = Gauge(label: "p2pfs_namespace_entries")
    /// Set once in `init`: it records into this store.
    private let verifier = NIOLockedValueBox<ReplicaVerifier?>(nil)

    /// - Parameters:
    ///   - eventLoopGroup: where replicas' content hashes are asked for (the
    ///     daemon's group; NIO's shared one when not given).
    ///   - replicaRetry: when a failed HASH is asked again.
    public init(
        logger: Logger, clock: @escaping @Sendable () -> Timestamp = Timestamp.now,
        eventLoopGroup: (any EventLoopGroup)? = nil, replicaRetry: ReplicaRetryPolicy = .standard
    ) {
        self.state = NIOLockedValueBox(State(snapshot: .empty(now: clock())))
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
        self.logger = logger
        self.clock = clock
        let verifier = ReplicaVerifier(eventLoopGroup: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton, logger: logger, retry: replicaRetry) {
            [weak self] key, hash in
            self?.recordReplicaHash(hash, for: key)
        }
        self.verifier.withLockedValue { $0 = verifier }
    }

    /// What is known of replicas' content hashes now.
    public var replicaHashes: [ReplicaKey: ReplicaHash] {
        self.state.withLockedValue { $0.replicaHashes }
    }

    /// Records a replica's content hash; the next merge uses it.
    public func recordReplicaHash(_ hash: ReplicaHash, for key: ReplicaKey) {
        self.changeIf { state in
            state.replicaHashes.updateValue(hash, forKey: key) != hash
        }
    }

    /// Stops asking for hashes (no retry fires after this) and the
    /// rebuild thread.
    public func shutdown() async {
        self.verifier.withLockedValue { $0 }?.stop()
        try? await self.thread.shutdownGracefully()
    }

    /// The snapshot requests should use now.
    public var current: NamespaceSnapshot {
        self.state.withLockedValue { $0.snapshot }
    }

    /// False until the daemon has gathered what it can at start-up; until
    /// then an unknown file handle may just not be known *yet*.
    public var isReady: Bool {
        self.state.withLockedValue { $0.isReady }
    }

    public func markReady() {
        self.state.withLockedValue { $0.isReady = true }
    }

    /// The catalog most recently set for `origin`.
    public func catalog(of origin: NodeID) -> SourceCatalog? {
        self.state.withLockedValue { $0.catalogs[origin] }
    }

    /// Adds or replaces the catalog of `catalog.origin`.
    public func setCatalog(_ catalog: SourceCatalog) {
        self.change { $0.catalogs[catalog.origin.id] = catalog }
    }

    /// Adds or replaces several catalogs at once: one rebuild, not one each.
    public func setCatalogs(_ catalogs: [SourceCatalog]) {
        guard !catalogs.isEmpty else { return }
        self.change { state in
            for catalog in catalogs {
                state.catalogs[catalog.origin.id] = catalog
            }
        }
    }

    /// Drops a source (a peer that left): its files disappear.
    public func removeCatalog(of origin: NodeID) {
        self.changeIf { $0.catalogs.removeValue(forKey: origin) != nil }
    }

    /// Waits until every change made so far is visible in `current`.
    @discardableResult
    public func settled() async -> NamespaceSnapshot {
        await withCheckedContinuation { continuation in
            let ready: NamespaceSnapshot? = self.state.withLockedValue { state in
                if !state.isDirty && !state.isRebuilding { return state.snapshot }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func changeIf(_ body: (inout State) -> Bool) {
        let start = self.state.withLockedValue { state -> Bool in
            guard body(&state) else { return false }
            state.isDirty = true
            if state.isRebuilding { return false }
            state.isRebuilding = true
            return true
        }
        if start {
            self.thread.submit { _ in self.rebuildUntilClean() }
        }
    }

    private func change(_ body: (inout State) -> Void) {
        self.changeIf { state -> Bool in
            body(&state)
            return true
        }
    }

    private func rebuildUntilClean() {
        while true {
            let (catalogs, previous, hashes) = self.state.withLockedValue { state in
                state.isDirty = false
                return (Array(state.catalogs.values), state.snapshot, state.replicaHashes)
            }
            let started = ContinuousClock.now
            let outcome = NamespaceMerger().mergeReplicas(
                catalogs, generation: previous.generation + 1, previous: previous, now: self.clock(), replicaHashes: hashes
            )
            let snapshot = outcome.snapshot
            self.logger.debug(
                "namespace rebuilt",
                metadata: [
                    "generation": "\(snapshot.generation)", "entries": "\(snapshot.count)",
                    "sources": "\(catalogs.count)", "duration": "\(ContinuousClock.now - started)",
                ]
            )
            self.entriesGauge.record(snapshot.count)
            let verifier = self.verifier.withLockedValue { $0 }
            // Pairs that are gone are not asked again (nor retried).
            verifier?.forget(keepingOnly: outcome.consulted)
            verifier?.verify(outcome.unconfirmed)
            let waiters = self.state.withLockedValue { state -> [CheckedContinuation<NamespaceSnapshot, Never>]? in
                state.snapshot = snapshot
                // Hashes this merge had and did not look up are no longer
                // needed (ones recorded meanwhile are kept for the next).
                for key in hashes.keys where !outcome.consulted.contains(key) && state.replicaHashes[key] == hashes[key] {
                    state.replicaHashes.removeValue(forKey: key)
                }
                guard !state.isDirty else { return nil }
                state.isRebuilding = false
                defer { state.waiters = [] }
                return state.waiters
            }
            if let waiters {
                // The previous snapshot and the merge's scratch space are
                // gone now; hand the memory back instead of keeping it as
                // free heap for the daemon's lifetime.
                HeapMemory.releaseFree()
                for waiter in waiters { waiter.resume(returning: snapshot) }
                return
            }
        }
    }
}

extension Timestamp {
    /// The current wall-clock time.
    @Sendable
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: UInt32(spec.tv_nsec))
    }
}
