import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Asks the owners of same-size-same-mtime replicas for their content
/// hashes, a few at a time, and hands each answer to `record`.
///
/// Runs beside the merge, never in it: the merge only looks hashes up, and
/// reports the ones it lacked (`NamespaceMerger.Outcome.unconfirmed`). A
/// source that cannot hash (not a `ContentHasher`), fails or times out gives
/// `.unavailable`, which keeps its file apart from the others. A failure
/// that may pass is asked again on `retry`'s schedule (`.unavailable` stays
/// recorded meanwhile); a success then is recorded as `.known`, and the
/// store's next merge joins the replicas.
final class ReplicaVerifier: Sendable {
    static let maximumConcurrent = 8
    /// Keys queued, being asked or waiting for a retry, at most.
    static let maximumQueued = 1 << 16

    /// A source that is no `ContentHasher`: asking again cannot help.
    enum VerifyError: TransientError, CustomStringConvertible {
        case cannotHash
        var isTransient: Bool { false }
        var description: String { "this source cannot tell content hashes" }
    }

    private struct Job {
        var candidate: ReplicaCandidate
        /// Tells this job from one for the same key queued after the key
        /// was forgotten.
        var token: UInt64
        /// Failed asks so far.
        var failures = 0
    }

    private struct Pending {
        var token: UInt64
        var retry: Scheduled<Void>?
    }

    private struct State {
        var queue: [Job] = []
        var head = 0
        /// Queued, being asked or waiting for a retry: each key once.
        var pending: [ReplicaKey: Pending] = [:]
        var nextToken: UInt64 = 0
        var running = 0
        var isStopped = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        mutating func takeIdleWaiters() -> [CheckedContinuation<Void, Never>] {
            guard self.pending.isEmpty, self.running == 0 else { return [] }
            defer { self.idleWaiters = [] }
            return self.idleWaiters
        }
    }

    private let state = NIOLockedValueBox(State())
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let retry: ReplicaRetryPolicy
    private let record: @Sendable (ReplicaKey, ReplicaHash) -> Void

    init(
        eventLoopGroup: any EventLoopGroup, logger: Logger, retry: ReplicaRetryPolicy = .standard,
        record: @escaping @Sendable (ReplicaKey, ReplicaHash) -> Void
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.retry = retry
        self.record = record
    }

    /// Queues the candidates not already queued, being asked or waiting
    /// for a retry.
    func verify(_ candidates: [ReplicaCandidate]) {
        guard !candidates.isEmpty else { return }
        self.state.withLockedValue { state in
            guard !state.isStopped else { return }
            for candidate in candidates where state.pending.count < Self.maximumQueued && state.pending[candidate.key] == nil {
                state.nextToken += 1
                state.pending[candidate.key] = Pending(token: state.nextToken)
                state.queue.append(Job(candidate: candidate, token: state.nextToken))
            }
        }
        self.startMore()
    }

    /// Forgets every key not in `candidates` (the replicas the last merge
    /// looked up): a pair that is gone is not asked again. An ask under way
    /// still records its answer; the store drops it at the next merge.
    func forget(keepingOnly candidates: Set<ReplicaKey>) {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            for (key, pending) in state.pending where !candidates.contains(key) {
                pending.retry?.cancel()
                state.pending.removeValue(forKey: key)
            }
            return state.takeIdleWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Cancels every retry and asks nothing more (the daemon stops): no
    /// timer fires after this.
    func stop() {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.isStopped = true
            for pending in state.pending.values { pending.retry?.cancel() }
            state.pending = [:]
            state.queue = []
            state.head = 0
            return state.takeIdleWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once nothing is queued, asked or waiting for a retry.
    func idle() async {
        await withCheckedContinuation { continuation in
            let now = self.state.withLockedValue { state -> Bool in
                if state.pending.isEmpty && state.running == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func startMore() {
        while let job = self.state.withLockedValue({ state -> Job? in
            while state.running < Self.maximumConcurrent, state.head < state.queue.count {
                let job = state.queue[state.head]
                state.head += 1
                if state.head == state.queue.count {
                    state.queue.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                // Forgotten while it waited in the queue.
                guard state.pending[job.candidate.key]?.token == job.token else { continue }
                state.running += 1
                return job
            }
            return nil
        }) {
            self.ask(job.candidate).whenComplete { result in
                let key = job.candidate.key
                var retryAfter: TimeAmount?
                switch result {
                case .success(let contentHash):
                    if job.failures > 0 {
                        self.logger.debug("content hash told on retry", metadata: ["replica": "\(key)", "attempt": "\(job.failures + 1)"])
                    }
                    // Recorded before the key is forgotten here, so a merge
                    // in between finds it and does not ask again.
                    self.record(key, .known(contentHash))
                case .failure(let error):
                    retryAfter = self.retry.delay(afterFailure: job.failures + 1, error: error)
                    let next = retryAfter.map { "in \($0)" } ?? "no"
                    self.logger.debug(
                        "content hash unavailable",
                        metadata: ["replica": "\(key)", "error": "\(error)", "attempt": "\(job.failures + 1)", "retry": "\(next)"]
                    )
                    if retryAfter == nil && job.failures > 0 && ReplicaRetryPolicy.isTransient(error) {
                        self.logger.info(
                            "content hash still unavailable after \(job.failures + 1) attempts; the replica stays a separate variant until a catalog changes",
                            metadata: ["replica": "\(key)", "error": "\(error)"]
                        )
                    }
                    self.record(key, .unavailable)
                }
                self.finish(job, retryAfter: retryAfter)
                self.startMore()
            }
        }
    }

    /// Forgets `job`'s key, or schedules its next ask.
    private func finish(_ job: Job, retryAfter: TimeAmount?) {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            let key = job.candidate.key
            // Forgotten meanwhile, or queued again after that.
            guard state.pending[key]?.token == job.token else { return state.takeIdleWaiters() }
            guard let retryAfter, !state.isStopped else {
                state.pending.removeValue(forKey: key)
                return state.takeIdleWaiters()
            }
            let next = Job(candidate: job.candidate, token: job.token, failures: job.failures + 1)
            // Scheduled under the lock, so `forget` and `stop` always find
            // the timer to cancel.
            state.pending[key]?.retry = self.eventLoopGroup.any().scheduleTask(in: retryAfter) {
                self.requeue(next)
            }
            return []
        }
        for waiter in waiters { waiter.resume() }
    }

    private func requeue(_ job: Job) {
        let queued = self.state.withLockedValue { state -> Bool in
            guard !state.isStopped, state.pending[job.candidate.key]?.token == job.token else { return false }
            state.pending[job.candidate.key]?.retry = nil
            state.queue.append(job)
            return true
        }
        if queued { self.startMore() }
    }

    private func ask(_ candidate: ReplicaCandidate) -> EventLoopFuture<ContentHash> {
        let eventLoop = self.eventLoopGroup.any()
        guard let hasher = candidate.reader as? any ContentHasher else {
            return eventLoop.makeFailedFuture(VerifyError.cannotHash)
        }
        return hasher.contentHash(path: candidate.key.path, expected: candidate.key.version, eventLoop: eventLoop)
    }
}
