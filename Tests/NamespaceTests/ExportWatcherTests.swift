import Foundation
import Namespace
import NIOCore
import NIOPosix
import Testing

/// `ExportWatcher` with a real inotify instance: changes made to an export
/// reach the catalog through events alone (nothing rescans unless a batch
/// arrives, and then only the directories the batch names), and each batch
/// moves the generation at most once. After each change the patched
/// catalog is checked against a full scan of the same tree.
@Suite(.serialized) struct ExportWatcherTests {
    /// A source whose rescans run only when the watcher reports a batch.
    final class Watched: Sendable {
        let url: URL
        let source: LocalExportSource
        let pool: NIOThreadPool
        let batches: AsyncStream<ChangeBatch>
        let rescans: AsyncStream<(batch: ChangeBatch, changed: Bool, catalog: SourceCatalog)>
        private let consumer: Task<Void, Never>

        init(settle: Duration = .milliseconds(300), startWatching: Bool = true) async throws {
            self.url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-watch-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: self.url.appendingPathComponent("a"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: self.url.appendingPathComponent("b"), withIntermediateDirectories: true)
            try Data("one".utf8).write(to: self.url.appendingPathComponent("a/one.txt"))
            self.pool = NIOThreadPool(numberOfThreads: 1)
            self.pool.start()
            let watcher = try #require(ExportWatcher())
            let root = try ExportRoot(LocalExport(name: "share", path: self.url.path))
            let source = LocalExportSource(
                identity: NodeIdentity(id: NodeID(high: 1, low: 2), name: "me"), roots: [root], threadPool: self.pool, watcher: watcher
            )
            self.source = source
            _ = try await source.rescan()
            let (batches, batchInput) = AsyncStream.makeStream(of: ChangeBatch.self)
            self.batches = batches
            let (rescans, rescanInput) = AsyncStream.makeStream(of: (batch: ChangeBatch, changed: Bool, catalog: SourceCatalog).self)
            self.rescans = rescans
            self.settle = settle
            self.batchInput = batchInput
            // As the daemon does: only the batch's directories, in full
            // after an overflow.
            self.consumer = Task {
                for await batch in batches {
                    let rescan = batch.overflowed ? try? await source.rescan() : try? await source.rescan(directories: batch.directories)
                    guard let (catalog, changed) = rescan else { continue }
                    rescanInput.yield((batch, changed, catalog))
                }
                rescanInput.finish()
            }
            if startWatching { self.startWatching() }
        }

        private let settle: Duration
        private let batchInput: AsyncStream<ChangeBatch>.Continuation

        func startWatching() {
            let input = self.batchInput
            self.source.watcher?.start(batcher: ChangeBatcher(settle: self.settle, maximumLatency: .seconds(2))) { input.yield($0) }
        }

        /// The paths of a full scan of the export as it is now, in order:
        /// what the patched catalog must hold.
        func fullScanPaths() throws -> [String] {
            let root = try ExportRoot(LocalExport(name: "share", path: self.url.path))
            return Array(LocalExportIndex(LocalExportScanner().scan([root])).entries).map(\.path)
        }

        /// Waits (at most 20 s) for rescans until `condition` holds for the
        /// catalog; returns the rescans seen.
        func waitFor(
            _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: @escaping @Sendable (SourceCatalog) -> Bool
        ) async throws -> [(batch: ChangeBatch, changed: Bool, catalog: SourceCatalog)] {
            let rescans = self.rescans
            let seen = try await withThrowingTaskGroup(of: [(batch: ChangeBatch, changed: Bool, catalog: SourceCatalog)]?.self) { group in
                group.addTask {
                    var seen: [(batch: ChangeBatch, changed: Bool, catalog: SourceCatalog)] = []
                    for await rescan in rescans {
                        seen.append(rescan)
                        if condition(rescan.catalog) { return seen }
                    }
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            return try #require(seen, "timed out waiting for \(what)", sourceLocation: sourceLocation)
        }

        func entry(_ catalog: SourceCatalog, _ path: String) -> CatalogEntry? {
            Array(catalog.entries).first { $0.path == path }
        }

        func stop() async {
            await self.source.watcher?.stop()
            self.consumer.cancel()
            try? await self.pool.shutdownGracefully()
            try? FileManager.default.removeItem(at: self.url)
        }
    }

    @Test func createDeleteAndRenameAcrossDirectoriesShowThroughEvents() async throws {
        let watched = try await Watched()
        let generation = try #require(watched.source.catalog?.generation)
        let url = watched.url

        try Data("two!".utf8).write(to: url.appendingPathComponent("b/two.txt"))
        var seen = try await watched.waitFor("b/two.txt") { watched.entry($0, "share/b/two.txt")?.size == 4 }
        #expect(seen.last?.batch.directories.contains("share/b") == true)

        try FileManager.default.moveItem(at: url.appendingPathComponent("a/one.txt"), to: url.appendingPathComponent("b/moved.txt"))
        seen = try await watched.waitFor("the rename") { watched.entry($0, "share/b/moved.txt") != nil && watched.entry($0, "share/a/one.txt") == nil }
        #expect(seen.last?.batch.directories.isSuperset(of: ["share/a", "share/b"]) == true)

        try FileManager.default.removeItem(at: url.appendingPathComponent("b/two.txt"))
        seen = try await watched.waitFor("the deletion") { watched.entry($0, "share/b/two.txt") == nil }
        let catalog = try #require(seen.last?.catalog)
        #expect(Array(catalog.entries).map(\.path).sorted() == ["share", "share/a", "share/b", "share/b/moved.txt"])
        #expect(Array(catalog.entries).map(\.path) == (try watched.fullScanPaths()))
        #expect(seen.allSatisfy { !$0.batch.overflowed })
        // Three changes, each its own batch at most: the generation moved
        // once per changed rescan, never per event.
        #expect(catalog.generation > generation)
        #expect(catalog.generation - generation <= 3)
        await watched.stop()
    }

    @Test func aNewSubdirectoryTreeIsWatchedAsItAppears() async throws {
        let watched = try await Watched()
        let url = watched.url
        try FileManager.default.createDirectory(at: url.appendingPathComponent("new/deeper/deepest"), withIntermediateDirectories: true)
        _ = try await watched.waitFor("the new tree") { watched.entry($0, "share/new/deeper/deepest") != nil }
        // Written after the tree was scanned: only the new directory's own
        // watch can report it.
        try Data("deep".utf8).write(to: url.appendingPathComponent("new/deeper/deepest/file.txt"))
        let seen = try await watched.waitFor("a file in the new tree") { watched.entry($0, "share/new/deeper/deepest/file.txt")?.size == 4 }
        #expect(seen.last?.batch.directories == ["share/new/deeper/deepest"])
        await watched.stop()
    }

    /// A directory tree moved from one directory into another: the old
    /// subtree leaves the catalog, the new one arrives whole, and files
    /// created in it afterwards are reported by the watches it kept.
    @Test func aDirectoryTreeMovedAcrossDirectoriesIsRescannedAtItsNewPlace() async throws {
        let watched = try await Watched()
        let url = watched.url
        try FileManager.default.createDirectory(at: url.appendingPathComponent("a/tree/inner"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url.appendingPathComponent("a/tree/inner/leaf.txt"))
        _ = try await watched.waitFor("the tree under a") { watched.entry($0, "share/a/tree/inner/leaf.txt") != nil }

        try FileManager.default.moveItem(at: url.appendingPathComponent("a/tree"), to: url.appendingPathComponent("b/tree"))
        var seen = try await watched.waitFor("the tree under b") {
            watched.entry($0, "share/b/tree/inner/leaf.txt") != nil && watched.entry($0, "share/a/tree") == nil
        }
        var catalog = try #require(seen.last?.catalog)
        #expect(!Array(catalog.entries).contains { $0.path.hasPrefix("share/a/tree") })
        #expect(Array(catalog.entries).map(\.path) == (try watched.fullScanPaths()))

        try Data("later".utf8).write(to: url.appendingPathComponent("b/tree/inner/later.txt"))
        seen = try await watched.waitFor("a file in the moved tree") { watched.entry($0, "share/b/tree/inner/later.txt")?.size == 5 }
        #expect(seen.last?.batch.directories == ["share/b/tree/inner"])
        catalog = try #require(seen.last?.catalog)
        #expect(Array(catalog.entries).map(\.path) == (try watched.fullScanPaths()))
        await watched.stop()
    }

    /// Events the kernel could not queue (more than `max_queued_events`
    /// while nobody read): the batch says so and the full rescan it calls
    /// for finds every file.
    @Test(.enabled(if: (ExportWatcherTests.maximumQueuedEvents() ?? .max) <= 100_000))
    func aQueueOverflowCallsForAFullRescanThatFindsEverything() async throws {
        let watched = try await Watched(startWatching: false)
        let limit = try #require(Self.maximumQueuedEvents())
        // Each new file queues IN_CREATE and IN_CLOSE_WRITE: twice the
        // limit's worth of events, and nobody reading them yet.
        let count = limit / 2 + 100
        for index in 0..<count {
            let descriptor = open(watched.url.appendingPathComponent("b/f\(index)").path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(descriptor >= 0)
            close(descriptor)
        }
        watched.startWatching()
        let seen = try await watched.waitFor("all \(count) files") { catalog in
            catalog.entries.count == count + 4
        }
        #expect(seen.contains { $0.batch.overflowed })
        let catalog = try #require(seen.last?.catalog)
        #expect(Array(catalog.entries).map(\.path) == (try watched.fullScanPaths()))
        await watched.stop()
    }

    static func maximumQueuedEvents() -> Int? {
        (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func aRewrittenFileShowsItsNewSizeAndTime() async throws {
        let watched = try await Watched()
        let before = try #require(watched.source.catalog.flatMap { watched.entry($0, "share/a/one.txt") })
        let handle = try FileHandle(forWritingTo: watched.url.appendingPathComponent("a/one.txt"))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("rewritten, longer".utf8))
        try handle.close()
        let modified = try FileManager.default.attributesOfItem(atPath: watched.url.appendingPathComponent("a/one.txt").path)[.modificationDate] as? Date
        let seen = try await watched.waitFor("the new size") { watched.entry($0, "share/a/one.txt")?.size == 17 }
        let after = try #require(seen.last.flatMap { watched.entry($0.catalog, "share/a/one.txt") })
        #expect(before.size == 3)
        let seconds = try #require(modified?.timeIntervalSince1970)
        #expect(after.mtime.seconds == Int64(seconds.rounded(.down)))
        await watched.stop()
    }

    @Test func aBurstOfWritesIsOneBatchAndOneGeneration() async throws {
        // A long settle delay, so the 50 writes below surely fall in one.
        let watched = try await Watched(settle: .seconds(1))
        let generation = try #require(watched.source.catalog?.generation)
        for index in 0..<50 {
            try Data("\(index)".utf8).write(to: watched.url.appendingPathComponent("b/burst-\(index)"))
        }
        let seen = try await watched.waitFor("all 50 files") { catalog in
            (0..<50).allSatisfy { watched.entry(catalog, "share/b/burst-\($0)") != nil }
        }
        let last = try #require(seen.last)
        #expect(last.catalog.generation - generation == UInt64(seen.filter(\.changed).count))
        #expect(seen.count <= 2, "\(seen.count) batches for one burst")
        #expect(seen.reduce(0) { $0 + $1.batch.eventCount } >= 50)
        await watched.stop()
    }

    /// NFC and NFD "café" in one directory: two directories on Linux, one
    /// Swift `String`. A file created in one shows there alone, through
    /// its directory's own events, and the other keeps exactly its files.
    @Test func aFileInOneOfTwoCanonicallyEquivalentDirectoriesShowsOnlyThere() async throws {
        let watched = try await Watched(startWatching: false)
        let nfc: [UInt8] = [0x63, 0x61, 0x66, 0xC3, 0xA9]
        let nfd: [UInt8] = [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81]
        let base = Array(watched.url.path.utf8) + Array("/a/".utf8)
        func raw(_ relative: [UInt8]) -> [CChar] { (base + relative + [0]).map { CChar(bitPattern: $0) } }
        func write(_ relative: [UInt8], _ content: String) throws {
            let descriptor = open(raw(relative), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw POSIXError(.EIO) }
            defer { close(descriptor) }
            _ = Foundation.write(descriptor, content, content.utf8.count)
        }
        guard mkdir(raw(nfc), 0o755) == 0, mkdir(raw(nfd), 0o755) == 0 else { throw POSIXError(.EIO) }
        try write(nfc + Array("/composed.txt".utf8), "c")
        try write(nfd + Array("/decomposed.txt".utf8), "dd")
        _ = try await watched.source.rescan()
        watched.startWatching()

        try write(nfc + Array("/new.txt".utf8), "new")
        let share = Array("share/a/".utf8)
        let newFile = share + nfc + Array("/new.txt".utf8)
        let seen = try await watched.waitFor("the new file in the NFC directory") { catalog in
            Array(catalog.entries).contains { NameBytes.bytes($0.path) == newFile && $0.size == 3 }
        }
        // Its own directory's events, not the other's ("a" may show too:
        // its events from making both were queued before watching began).
        let batch = try #require(seen.last?.batch.directories)
        #expect(batch.contains(ExactPath(NameBytes.string(share + nfc))))
        #expect(!batch.contains(ExactPath(NameBytes.string(share + nfd))))
        let catalog = try #require(seen.last?.catalog)
        // (path bytes, size) under a/, sorted by bytes.
        func under(_ catalog: SourceCatalog) -> [[UInt8]] {
            Array(catalog.entries).map { NameBytes.bytes($0.path) }.filter { $0.starts(with: share) }
                .map { Array($0.dropFirst(share.count)) }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        let expected: [[UInt8]] = [
            Array("one.txt".utf8), nfd, nfd + Array("/decomposed.txt".utf8), nfc, nfc + Array("/composed.txt".utf8), nfc + Array("/new.txt".utf8),
        ].sorted { $0.lexicographicallyPrecedes($1) }
        #expect(under(catalog) == expected)
        let sizes = Dictionary(uniqueKeysWithValues: Array(catalog.entries).map { (NameBytes.bytes($0.path), $0.size) })
        #expect(sizes[share + nfd + Array("/decomposed.txt".utf8)] == 2)
        #expect(sizes[share + nfc + Array("/composed.txt".utf8)] == 1)
        // The patched catalog is the one a full scan gives, entry for entry.
        let root = try ExportRoot(LocalExport(name: "share", path: watched.url.path))
        let full = LocalExportIndex(LocalExportScanner().scan([root])).entries
        #expect(Array(catalog.entries).map { NameBytes.bytes($0.path) } == Array(full).map { NameBytes.bytes($0.path) })
        #expect(catalog.entries == full)
        await watched.stop()
    }
}
