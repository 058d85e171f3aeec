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
    private let exports: NIOLockedValueBox<(roots: [ExportRoot], reader: LocalExportReader)>

    public init(identity: NodeIdentity, roots: [ExportRoot], threadPool: NIOThreadPool, scanner: LocalExportScanner = .init()) {
        self.identity = identity
        self.threadPool = threadPool
        self.scanner = scanner
        self.exports = NIOLockedValueBox((roots, LocalExportReader(roots: roots, threadPool: threadPool)))
        self.latest = NIOLockedValueBox(nil)
    }

    public var roots: [ExportRoot] { self.exports.withLockedValue { $0.roots } }
    public var reader: LocalExportReader { self.exports.withLockedValue { $0.reader } }

    /// Offers `roots` from the next rescan on.
    public func setRoots(_ roots: [ExportRoot]) {
        let reader = LocalExportReader(roots: roots, threadPool: self.threadPool)
        self.exports.withLockedValue { $0 = (roots, reader) }
    }

    /// The catalog of the last scan (nil before the first).
    public var catalog: SourceCatalog? {
        self.latest.withLockedValue { $0 }
    }

    /// Scans the exports; returns the catalog and whether it changed.
    public func rescan() async throws -> (catalog: SourceCatalog, changed: Bool) {
        let scanner = self.scanner
        let (roots, reader) = self.exports.withLockedValue { $0 }
        let entries = try await self.threadPool.runIfActive { CatalogEntries(scanner.scan(roots).entries) }
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
