import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// This node's own offering: its exports as one catalog, rescanned on demand.
///
/// The generation only moves when a rescan finds a difference, so peers that
/// ask "changed since G?" get "no" for an idle export.
///
/// The roots can change while the node runs (a reloaded configuration): the
/// next rescan offers the new set, read through a new reader, while reads
/// already under way finish on the old one.
public final class LocalExportSource: Sendable {
    public let identity: NodeIdentity
    private let threadPool: NIOThreadPool
    private let scanner: LocalExportScanner
    private let latest: NIOLockedValueBox<SourceCatalog?>
    /// The last scan by directory, which incremental rescans patch.
    private let index = NIOLockedValueBox<LocalExportIndex?>(nil)
    private let scanDuration = Timer(label: "p2pfs_export_scan_duration_seconds")
    /// Watches the exports' directories as rescans meet them (nil: periodic
    /// rescans only). Watches of a root that is no longer offered go at the
    /// next full scan, which does not meet them.
    public let watcher: ExportWatcher?
    private let exports: NIOLockedValueBox<Exports>

    private struct Exports: Sendable {
        var roots: [ExportRoot]
        var reader: LocalExportReader
        /// Exports on file systems that report no inotify events for changes
        /// made elsewhere (NFS, CIFS, FUSE…), by export name, with the type:
        /// only periodic rescans see their changes.
        var unwatchable: [ExactPath: String]

        init(roots: [ExportRoot], threadPool: NIOThreadPool) {
            self.roots = roots
            self.reader = LocalExportReader(roots: roots, threadPool: threadPool)
            var unwatchable: [ExactPath: String] = [:]
            for root in roots {
                if let type = ExportWatcher.fileSystemWithoutEvents(root.descriptor) { unwatchable[ExactPath(root.name)] = type }
            }
            self.unwatchable = unwatchable
        }
    }

    public init(
        identity: NodeIdentity, roots: [ExportRoot], threadPool: NIOThreadPool, scanner: LocalExportScanner = .init(),
        watcher: ExportWatcher? = nil
    ) {
        self.identity = identity
        self.threadPool = threadPool
        self.scanner = scanner
        self.exports = NIOLockedValueBox(Exports(roots: roots, threadPool: threadPool))
        self.latest = NIOLockedValueBox(nil)
        self.watcher = watcher
    }

    public var roots: [ExportRoot] { self.exports.withLockedValue { $0.roots } }
    public var reader: LocalExportReader { self.exports.withLockedValue { $0.reader } }
    /// See `Exports.unwatchable`.
    public var unwatchable: [ExactPath: String] { self.exports.withLockedValue { $0.unwatchable } }

    /// Offers `roots` from the next rescan on.
    public func setRoots(_ roots: [ExportRoot]) {
        let exports = Exports(roots: roots, threadPool: self.threadPool)
        self.exports.withLockedValue { $0 = exports }
    }

    /// The catalog of the last scan (nil before the first).
    public var catalog: SourceCatalog? {
        self.latest.withLockedValue { $0 }
    }

    /// Scans the exports in full; returns the catalog and whether it
    /// changed. After a queue overflow, at start-up, and for exports no
    /// watcher covers.
    public func rescan() async throws -> (catalog: SourceCatalog, changed: Bool) {
        let scanner = self.scanner
        let exports = self.exports.withLockedValue { $0 }
        let (roots, reader, unwatchable) = (exports.roots, exports.reader, exports.unwatchable)
        let started = ContinuousClock.now
        let watcher = self.watcher
        let index = try await self.threadPool.runIfActive {
            watcher?.beginScan()
            defer { watcher?.endScan() }
            let result = scanner.scan(roots) { root, descriptor, path in
                if unwatchable[ExactPath(root.name)] == nil { watcher?.watch(directory: descriptor, path: path) }
            }
            return LocalExportIndex(result)
        }
        self.recordDuration(since: started)
        return self.publish(index, reader: reader)
    }

    /// Lists again only the directories a batch of changes named (and
    /// their parents, and any new subtree in them), patches the catalog and
    /// moves the generation once if anything differs. Falls back to a full
    /// rescan before the first scan or after the roots changed.
    public func rescan(directories: some Collection<ExactPath>) async throws -> (catalog: SourceCatalog, changed: Bool) {
        let scanner = self.scanner
        let exports = self.exports.withLockedValue { $0 }
        let (roots, reader, unwatchable) = (exports.roots, exports.reader, exports.unwatchable)
        guard let previous = self.index.withLockedValue({ $0 }), let catalog = self.catalog,
            (catalog.reader as AnyObject) === reader
        else {
            return try await self.rescan()
        }
        guard !directories.isEmpty else { return (catalog, false) }
        let started = ContinuousClock.now
        let watcher = self.watcher
        let wanted = previous.directoriesToList(for: directories)
        let index = try await self.threadPool.runIfActive { () -> LocalExportIndex in
            let result = scanner.scan(roots, directories: wanted.sorted(), isKnown: previous.isKnown) { root, descriptor, path in
                if unwatchable[ExactPath(root.name)] == nil { watcher?.watch(directory: descriptor, path: path) }
            }
            let (index, removed) = previous.patched(with: result)
            // Watches of directories deleted or moved out; one moved
            // within the exports was watched again under its new path.
            watcher?.unwatch(under: removed)
            return index
        }
        if index.entries.count > scanner.maximumEntries { return try await self.rescan() }
        self.recordDuration(since: started)
        return self.publish(index, reader: reader)
    }

    private func recordDuration(since started: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        self.scanDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Makes `index` the catalog, under a new generation if it differs.
    private func publish(_ index: LocalExportIndex, reader: LocalExportReader) -> (catalog: SourceCatalog, changed: Bool) {
        self.index.withLockedValue { $0 = index }
        let entries = index.entries
        return self.latest.withLockedValue { latest in
            if let previous = latest, previous.entries == entries, (previous.reader as AnyObject) === reader {
                return (previous, false)
            }
            let generation = (latest?.generation ?? Self.initialGeneration()) + 1
            let catalog = SourceCatalog(
                origin: self.identity, generation: generation, entries: entries, reader: reader, isLocal: true
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
