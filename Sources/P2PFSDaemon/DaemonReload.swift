import Namespace
import PeerProtocol

/// What applying a reloaded configuration changed in a running daemon.
public struct DaemonReload: Sendable, Equatable {
    public var exportsAdded: [LocalExport] = []
    public var exportsRemoved: [LocalExport] = []
    public var peersAdded: [PeerAddress] = []
    public var peersRemoved: [PeerAddress] = []
    /// Exports given to a node that started with none: it has no peer
    /// listener and announced no server role, so they wait for a restart.
    public var exportsNeedRestart = false

    public init() {}

    public var isEmpty: Bool { self == DaemonReload() }
}

extension Daemon {
    /// Offers `exports` and crawls from `peers` from now on, keeping every
    /// listener, connection and NFS client as they are.
    ///
    /// The export directories are opened (on the thread pool) before anything
    /// changes, so an export that cannot be opened leaves the running ones
    /// untouched.
    public func reload(exports: [LocalExport], peers: [PeerAddress]) async throws(DaemonConfigurationError) -> DaemonReload {
        var reload = DaemonReload()
        if let localSource = self.localSource {
            let running = localSource.roots.map { LocalExport(name: $0.name, path: $0.path) }
            if running != exports {
                let roots: [ExportRoot]
                do {
                    roots = try await self.threadPool.runIfActive { () throws(LocalExportError) -> [ExportRoot] in
                        try ExportRoot.openAll(exports)
                    }
                } catch {
                    throw .export("\(error)")
                }
                localSource.setRoots(roots)
                reload.exportsAdded = exports.filter { !running.contains($0) }
                reload.exportsRemoved = running.filter { !exports.contains($0) }
                do {
                    let (catalog, changed) = try await localSource.rescan()
                    if changed { self.store?.setCatalog(catalog) }
                    self.logger.info("exports scanned", metadata: ["exports": "\(exports.map { "\($0.name)=\($0.path)" })", "entries": "\(catalog.entries.count)"])
                } catch {
                    self.logger.warning("rescan failed: \(error)")
                }
            }
        } else if !exports.isEmpty {
            reload.exportsNeedRestart = true
        }

        let seeds = await self.crawler.seeds
        if seeds != peers {
            reload.peersAdded = peers.filter { !seeds.contains($0) }
            reload.peersRemoved = seeds.filter { !peers.contains($0) }
            await self.crawler.setSeeds(peers)
        }
        return reload
    }
}
