import Foundation
import Namespace
import NIOCore
import NIOPosix
import Testing

/// `LocalExportSource`: a scan becomes a catalog under the export's name;
/// the generation moves only when a rescan finds a difference (so "changed
/// since G?" is "no" for an idle export), and a restarted source never
/// reuses a generation a peer may have cached.
@Suite struct LocalExportSourceTests {
    final class Tree {
        let url: URL

        init() throws {
            self.url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-source-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: self.url.appendingPathComponent("sub"), withIntermediateDirectories: true)
            try Data("alpha".utf8).write(to: self.url.appendingPathComponent("a.txt"))
        }

        func write(_ text: String, to name: String) throws {
            try Data(text.utf8).write(to: self.url.appendingPathComponent(name))
        }

        deinit {
            try? FileManager.default.removeItem(at: self.url)
        }
    }

    static func source(_ tree: Tree, pool: NIOThreadPool) throws -> LocalExportSource {
        let root = try ExportRoot(LocalExport(name: "share", path: tree.url.path))
        return LocalExportSource(identity: NodeIdentity(id: NodeID(high: 1, low: 2), name: "me"), roots: [root], threadPool: pool)
    }

    @Test func rescansMoveTheGenerationOnlyOnChange() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { Task { try? await pool.shutdownGracefully() } }
        let tree = try Tree()
        let source = try Self.source(tree, pool: pool)
        #expect(source.catalog == nil)

        let secondsBefore = UInt64(Date().timeIntervalSince1970)
        let (first, changed) = try await source.rescan()
        #expect(changed)
        #expect(first.isLocal)
        #expect(first.origin.name == "me")
        #expect(Array(first.entries).map(\.path).sorted() == ["share", "share/a.txt", "share/sub"])
        // Started from the clock (microseconds), not from 1.
        #expect(first.generation >= secondsBefore * 1_000_000)
        #expect(source.catalog?.generation == first.generation)

        let (idle, idleChanged) = try await source.rescan()
        #expect(!idleChanged)
        #expect(idle.generation == first.generation)

        try tree.write("beta!", to: "sub/b.txt")
        let (second, secondChanged) = try await source.rescan()
        #expect(secondChanged)
        #expect(second.generation == first.generation + 1)
        #expect(Array(second.entries).map(\.path).sorted() == ["share", "share/a.txt", "share/sub", "share/sub/b.txt"])
        let entry = try #require(Array(second.entries).first { $0.path == "share/sub/b.txt" })
        #expect(entry.size == 5)

        // The reader serves the scanned file's bytes.
        let version = FileVersion(size: entry.size, mtime: entry.mtime)
        let read = try await source.reader.read(
            path: "share/sub/b.txt", expected: version, offset: 0, count: 100, eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        #expect(String(buffer: read.data) == "beta!")

        // A restarted node's source starts above every generation before.
        let restarted = try Self.source(tree, pool: pool)
        let (again, _) = try await restarted.rescan()
        #expect(again.generation > second.generation)
    }

    /// Roots replaced while running (a reload): the next rescan offers the
    /// new set under a new generation, and reads go to the new roots.
    @Test func replacedRootsAreOfferedFromTheNextRescan() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { Task { try? await pool.shutdownGracefully() } }
        let tree = try Tree()
        let other = try Tree()
        try other.write("gamma", to: "c.txt")
        let source = try Self.source(tree, pool: pool)
        let (first, _) = try await source.rescan()

        source.setRoots([
            try ExportRoot(LocalExport(name: "share", path: tree.url.path)),
            try ExportRoot(LocalExport(name: "more", path: other.url.path)),
        ])
        #expect(source.roots.map(\.name) == ["share", "more"])
        let (second, changed) = try await source.rescan()
        #expect(changed)
        #expect(second.generation == first.generation + 1)
        #expect(Array(second.entries).map(\.path).contains("more/c.txt"))
        let entry = try #require(Array(second.entries).first { $0.path == "more/c.txt" })
        let read = try await second.reader.read(
            path: "more/c.txt", expected: FileVersion(size: entry.size, mtime: entry.mtime), offset: 0, count: 100,
            eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        #expect(String(buffer: read.data) == "gamma")

        source.setRoots([try ExportRoot(LocalExport(name: "more", path: other.url.path))])
        let (third, _) = try await source.rescan()
        #expect(Array(third.entries).map(\.path).sorted() == ["more", "more/a.txt", "more/c.txt", "more/sub"])
    }

    /// A rescan of named directories lists those alone (a change elsewhere
    /// waits for its own batch), takes in a subtree that appeared in them
    /// whole, drops one that vanished with everything under it, and ends
    /// with the catalog a full scan of the same tree gives.
    @Test func anIncrementalRescanListsOnlyTheNamedDirectories() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { Task { try? await pool.shutdownGracefully() } }
        let tree = try Tree()
        try FileManager.default.createDirectory(at: tree.url.appendingPathComponent("other/gone/deeper"), withIntermediateDirectories: true)
        try tree.write("old", to: "other/gone/deeper/old.txt")
        let source = try Self.source(tree, pool: pool)
        let (first, _) = try await source.rescan()

        try tree.write("beta!", to: "sub/b.txt")
        try tree.write("elsewhere", to: "other/c.txt")
        let (second, changed) = try await source.rescan(directories: ["share/sub"])
        #expect(changed)
        #expect(second.generation == first.generation + 1)
        var paths = Array(second.entries).map(\.path)
        #expect(paths.contains("share/sub/b.txt"))
        #expect(!paths.contains("share/other/c.txt"))

        // A new tree in "sub", and "other/gone" removed: one batch naming
        // "sub" and "other".
        try FileManager.default.createDirectory(at: tree.url.appendingPathComponent("sub/new/deeper"), withIntermediateDirectories: true)
        try tree.write("deep", to: "sub/new/deeper/deep.txt")
        try FileManager.default.removeItem(at: tree.url.appendingPathComponent("other/gone"))
        let (third, _) = try await source.rescan(directories: ["share/sub", "share/other"])
        #expect(third.generation == second.generation + 1)
        paths = Array(third.entries).map(\.path)
        #expect(paths.contains("share/sub/new/deeper/deep.txt"))
        #expect(paths.contains("share/other/c.txt"))
        #expect(!paths.contains { $0.hasPrefix("share/other/gone") })

        // Nothing changed: the same generation; and a full rescan of the
        // tree agrees with the patched catalog, entry for entry.
        let (idle, idleChanged) = try await source.rescan(directories: ["share/sub"])
        #expect(!idleChanged)
        #expect(idle.generation == third.generation)
        let (full, fullChanged) = try await source.rescan()
        #expect(!fullChanged)
        #expect(Array(full.entries) == Array(third.entries))
    }
}
