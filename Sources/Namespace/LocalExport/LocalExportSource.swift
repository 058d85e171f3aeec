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
    /// Watches the exports' directories as rescans meet them (nil: periodic
    /// rescans only).
    public let watcher: ExportWatcher?
    /// Exports on file systems that report no inotify events for changes
    /// made elsewhere (NFS, CIFS, FUSE…), by export name, with the type:
    /// only periodic rescans see their changes.
    public let unwatchable: [String: String]

    public init(
        identity: NodeIdentity, roots: [ExportRoot], threadPool: NIOThreadPool, scanner: LocalExportScanner = .init(),
        watcher: ExportWatcher? = nil
    ) {
        self.identity = identity
        self.roots = roots
        self.threadPool = threadPool
        self.scanner = scanner
        self.reader = LocalExportReader(roots: roots, threadPool: threadPool)
        self.latest = NIOLockedValueBox(nil)
        self.watcher = watcher
        var unwatchable: [String: String] = [:]
        for root in roots {
            if let type = ExportWatcher.fileSystemWithoutEvents(root.descriptor) { unwatchable[root.name] = type }
        }
        self.unwatchable = unwatchable
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
        let watcher = self.watcher
        let unwatchable = self.unwatchable
        let entries = try await self.threadPool.runIfActive {
            watcher?.beginScan()
            defer { watcher?.endScan() }
            let result = scanner.scan(roots) { root, descriptor, path in
                if unwatchable[root.name] == nil { watcher?.watch(directory: descriptor, path: path) }
            }
            return CatalogEntries(result.entries)
        }
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
