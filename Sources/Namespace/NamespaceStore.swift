import CoreMetrics
import Logging
import NIOConcurrencyHelpers
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
public final class NamespaceStore: Sendable {
    private struct State {
        var catalogs: [NodeID: SourceCatalog] = [:]
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

    public init(logger: Logger, clock: @escaping @Sendable () -> Timestamp = Timestamp.now) {
        self.state = NIOLockedValueBox(State(snapshot: .empty(now: clock())))
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
        self.logger = logger
        self.clock = clock
    }

    public func shutdown() async {
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
            let (catalogs, previous) = self.state.withLockedValue { state in
                state.isDirty = false
                return (Array(state.catalogs.values), state.snapshot)
            }
            let started = ContinuousClock.now
            let snapshot = NamespaceMerger().merge(catalogs, generation: previous.generation + 1, previous: previous, now: self.clock())
            self.logger.debug(
                "namespace rebuilt",
                metadata: [
                    "generation": "\(snapshot.generation)", "entries": "\(snapshot.count)",
                    "sources": "\(catalogs.count)", "duration": "\(ContinuousClock.now - started)",
                ]
            )
            self.entriesGauge.record(snapshot.count)
            let waiters = self.state.withLockedValue { state -> [CheckedContinuation<NamespaceSnapshot, Never>]? in
                state.snapshot = snapshot
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
