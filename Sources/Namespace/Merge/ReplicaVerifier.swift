import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Asks the owners of same-size-same-mtime replicas for their content
/// hashes, a few at a time, and hands each answer to `record`.
///
/// Runs beside the merge, never in it: the merge only looks hashes up, and
/// reports the ones it lacked (`NamespaceMerger.Outcome.unconfirmed`). A
/// source that cannot hash (not a `ContentHasher`), fails or times out gives
/// `.unavailable`, which keeps its file apart from the others.
final class ReplicaVerifier: Sendable {
    static let maximumConcurrent = 8
    static let maximumQueued = 1 << 16

    private struct State {
        var queue: [ReplicaCandidate] = []
        var head = 0
        /// Queued or being asked: each key once.
        var known: Set<ReplicaKey> = []
        var running = 0
    }

    private let state = NIOLockedValueBox(State())
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let record: @Sendable (ReplicaKey, ReplicaHash) -> Void

    init(eventLoopGroup: any EventLoopGroup, logger: Logger, record: @escaping @Sendable (ReplicaKey, ReplicaHash) -> Void) {
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.record = record
    }

    /// Queues the candidates not already queued or being asked.
    func verify(_ candidates: [ReplicaCandidate]) {
        guard !candidates.isEmpty else { return }
        self.state.withLockedValue { state in
            for candidate in candidates where state.queue.count - state.head < Self.maximumQueued {
                if state.known.insert(candidate.key).inserted {
                    state.queue.append(candidate)
                }
            }
        }
        self.startMore()
    }

    private func startMore() {
        while let candidate = self.state.withLockedValue({ state -> ReplicaCandidate? in
            guard state.running < Self.maximumConcurrent, state.head < state.queue.count else { return nil }
            let candidate = state.queue[state.head]
            state.head += 1
            if state.head == state.queue.count {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
            }
            state.running += 1
            return candidate
        }) {
            self.ask(candidate).whenComplete { result in
                let hash: ReplicaHash
                switch result {
                case .success(let contentHash):
                    hash = .known(contentHash)
                case .failure(let error):
                    self.logger.debug("content hash unavailable", metadata: ["replica": "\(candidate.key)", "error": "\(error)"])
                    hash = .unavailable
                }
                // Recorded before the key is forgotten here, so a merge in
                // between finds it and does not ask again.
                self.record(candidate.key, hash)
                self.state.withLockedValue { state in
                    state.running -= 1
                    state.known.remove(candidate.key)
                }
                self.startMore()
            }
        }
    }

    private func ask(_ candidate: ReplicaCandidate) -> EventLoopFuture<ContentHash> {
        let eventLoop = self.eventLoopGroup.any()
        guard let hasher = candidate.reader as? any ContentHasher else {
            return eventLoop.makeFailedFuture(ContentHashError.file(.ioError("this source cannot tell content hashes")))
        }
        return hasher.contentHash(path: candidate.key.path, expected: candidate.key.version, eventLoop: eventLoop)
    }
}
