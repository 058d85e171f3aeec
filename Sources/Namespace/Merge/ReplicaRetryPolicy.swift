import NIOCore

/// When a replica whose HASH failed is asked again.
///
/// Until a replica's hash is known it is a variant of its own (`.unavailable`
/// is recorded at the first failure and stays while the retries wait), so a
/// retry only delays the join of two identical replicas, never mixes two
/// contents. A transient failure (`TransientError.isTransient`; errors that
/// do not say are taken as transient, since the retries are few) is asked
/// again after each delay in turn; a permanent one is not asked again.
public struct ReplicaRetryPolicy: Sendable, Equatable {
    /// 2 s covers a connection that dropped and reconnects, 10 s an owner
    /// busy hashing other files, 60 s a peer restarting. After that the
    /// replicas stay variants until a catalog changes (a peer that comes back
    /// or a changed file is a new candidate and is asked afresh): asking
    /// forever would keep a dead peer's replicas costing connections.
    public static let standard = ReplicaRetryPolicy(delays: [.seconds(2), .seconds(10), .seconds(60)])

    /// The wait before each retry: `delays.count` retries at most.
    public var delays: [TimeAmount]

    public init(delays: [TimeAmount]) {
        self.delays = delays
    }

    /// The wait before asking again after the `failures`-th failure in a
    /// row (1 for the first ask), or nil when not to ask again: the error
    /// will not pass, or the retries are spent.
    public func delay(afterFailure failures: Int, error: any Error) -> TimeAmount? {
        guard Self.isTransient(error), failures >= 1, failures <= self.delays.count else { return nil }
        return self.delays[failures - 1]
    }

    /// Whether asking again may give another answer.
    public static func isTransient(_ error: any Error) -> Bool {
        (error as? any TransientError)?.isTransient ?? true
    }
}
