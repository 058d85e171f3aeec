import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// This node's own offering: its exports as one catalog, rescanned on demand.
///
/// The generation only moves when a rescan finds a difference, so peers that
/// ask "changed since G?" get "no" for an idle export.
public final class LocalExportSource: Sendable {
    public let identity: NodeIdentity
    public let roots: [ExportRoot]
    public let reader: LocalExportReader
    private let threadPool: NIOThreadPool
    private let scanner: LocalExportScanner
    private let latest: NIOLockedValueBox<SourceCatalog?>
    private let scanDuration = Timer(label: "p2pfs_export_scan_duration_seconds")

    public init(identity: NodeIdentity, roots: [ExportRoot], threadPool: NIOThreadPool, scanner: LocalExportScanner = .init()) {
        self.identity = identity
        self.roots = roots
        self.threadPool = threadPool
        self.scanner = scanner
        self.reader = LocalExportReader(roots: roots, threadPool: threadPool)
        self.latest = NIOLockedValueBox(nil)
    }

    /// The catalog of the last scan (nil before the first).
    public var catalog: SourceCatalog? {
        self.latest.withLockedValue { $0 }
    }

    /// Scans the exports; returns the catalog and whether it changed.
    public func rescan() async throws -> (catalog: SourceCatalog, changed: Bool) {
        let scanner = self.scanner
        let roots = self.roots
        let started = ContinuousClock.now
        let entries = try await self.threadPool.runIfActive { CatalogEntries(scanner.scan(roots).entries) }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        self.scanDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return self.latest.withLockedValue { latest in
            if let previous = latest, previous.entries == entries {
                return (previous, false)
            }
            let generation = (latest?.generation ?? Self.initialGeneration()) + 1
            let catalog = SourceCatalog(
                origin: self.identity, generation: generation, entries: entries, reader: self.reader, isLocal: true
            )
            latest = catalog
            return (catalog, true)
        }
    }

    /// Generations start from the clock so that a restarted node never
    /// reuses a generation number a peer may have cached.
    private static func initialGeneration() -> UInt64 {
        let now = Timestamp.now()
        return UInt64(now.seconds) &* 1_000_000 &+ UInt64(now.nanoseconds / 1000)
    }
}
