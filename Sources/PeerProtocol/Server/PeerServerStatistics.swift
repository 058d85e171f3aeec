import CoreMetrics
import Synchronization

/// Counters of what this node served to peers: how many READs and bytes.
/// Shown by `p2pfs peers` and logged, so an operator (or a test) can see that
/// a client fetched only the blocks it needed.
public final class PeerServerStatistics: Sendable {
    private let reads = Atomic<UInt64>(0)
    private let bytes = Atomic<UInt64>(0)
    /// The same, for the daemon's metrics.
    private let readsCounter = Counter(label: "p2pfs_peer_reads_served_total")
    private let bytesCounter = Counter(label: "p2pfs_peer_served_bytes_total")

    public init() {}

    func recordRead(bytesRequested: Int) {
        self.reads.wrappingAdd(1, ordering: .relaxed)
        self.readsCounter.increment()
    }

    func recordServed(bytes: Int) {
        self.bytes.wrappingAdd(UInt64(bytes), ordering: .relaxed)
        self.bytesCounter.increment(by: bytes)
    }

    public var readCount: UInt64 { self.reads.load(ordering: .relaxed) }
    public var bytesServed: UInt64 { self.bytes.load(ordering: .relaxed) }
}
