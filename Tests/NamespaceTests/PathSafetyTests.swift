import Foundation
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A directory exported as "share" next to a directory that is not exported
/// and holds a secret. Whatever is done to names and to the tree, the
/// scanner and the reader never reach the secret.
final class EscapeFixture {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    let base: URL
    let share: URL
    let outside: URL
    let secret: String
    let root: ExportRoot
    let reader: LocalExportReader

    init() throws {
        self.base = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-pathsafety-\(getpid())-\(UUID().uuidString.prefix(8))")
        self.share = self.base.appendingPathComponent("share")
        self.outside = self.base.appendingPathComponent("outside")
        // Recognisable, and never part of any path or name.
        self.secret = "SECRET-\(UUID().uuidString)-DO-NOT-SERVE"
        let fm = FileManager.default
        try fm.createDirectory(at: self.share.appendingPathComponent("dir"), withIntermediateDirectories: true)
        try fm.createDirectory(at: self.outside, withIntermediateDirectories: true)
        try Data(self.secret.utf8).write(to: self.outside.appendingPathComponent("secret"))
        try Data(self.secret.utf8).write(to: self.outside.appendingPathComponent("file.txt"))
        try Data("inside\n".utf8).write(to: self.share.appendingPathComponent("file.txt"))
        try Data("inside dir\n".utf8).write(to: self.share.appendingPathComponent("dir/file.txt"))
        self.root = try ExportRoot(LocalExport(name: "share", path: self.share.path))
        self.reader = LocalExportReader(roots: [self.root], threadPool: Self.pool)
    }

    deinit {
        try? FileManager.default.removeItem(at: self.base)
    }

    func path(_ relative: String) -> String { self.share.appendingPathComponent(relative).path }

    /// Reads `path` as a peer or the NFS server would, bounded in time.
    func read(_ path: String, count: Int = 4096, limit: TimeAmount = .seconds(30)) async -> Result<String, any Error> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: FileReadResult.self)
        let done = NIOLockedValueBox(false)
        self.reader.read(path: path, expected: FileVersion(size: 0, mtime: .zero), offset: 0, count: count, eventLoop: loop)
            .whenComplete { result in
                if done.withLockedValue({ let was = $0; $0 = true; return !was }) { promise.completeWith(result) }
            }
        loop.scheduleTask(in: limit) {
            if done.withLockedValue({ let was = $0; $0 = true; return !was }) { promise.fail(StillWaiting()) }
        }
        do {
            let result = try await promise.futureResult.get()
            return .success(String(decoding: result.data.readableBytesView, as: UTF8.self))
        } catch {
            return .failure(error)
        }
    }

    struct StillWaiting: Error {}

    /// The read fails with a `FileSystemError` and the secret is nowhere.
    func expectRefused(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        switch await self.read(path) {
        case .success(let text):
            #expect(!text.contains(self.secret), "\(path) served the secret", sourceLocation: sourceLocation)
            Issue.record("\(path) was read (\(text.utf8.count) bytes)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error is FileSystemError, "\(path): \(error)", sourceLocation: sourceLocation)
        }
    }

    func scan() -> [CatalogEntry] {
        Array(LocalExportScanner().scan([self.root]).entries)
    }
}

@Suite(.serialized) struct PathSafetyTests {
    @Test func dotDotAndAbsolutePathsAreRefused() async throws {
        let fixture = try EscapeFixture()
        let outside = fixture.outside.path
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
        for path in [
            "../outside/secret", "/etc/passwd", outside + "/secret", "/share/file.txt", "share/../outside/secret",
            "share/../../outside/secret", "share/dir/../../outside/secret", "share/dir/../../../etc/passwd", "share/a/../../x",
            "share//" + outside.dropFirst() + "/secret", "share/" + outside + "/secret", "..", "share/..", "share/.", "", "/",
            "outside/secret", "share/dir/..", "share/\u{0}/../outside/secret",
        ] {
            await fixture.expectRefused(path)
        }
    }

    @Test func theExportRootIsResolvedOnce() async throws {
        let fixture = try EscapeFixture()
        let fm = FileManager.default
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
        // The directory moves away; an impostor takes its path: first a
        // directory holding the secret, then a symlink to the outside.
        let moved = fixture.base.appendingPathComponent("share.moved")
        try fm.moveItem(at: fixture.share, to: moved)
        try fm.createDirectory(at: fixture.share, withIntermediateDirectories: false)
        try Data(fixture.secret.utf8).write(to: fixture.share.appendingPathComponent("file.txt"))
        try await Task.sleep(for: .milliseconds(1100))  // past the reader's descriptor reuse
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
        #expect(fixture.scan().contains { $0.path == "share/dir/file.txt" })

        try fm.removeItem(at: fixture.share)
        try fm.createSymbolicLink(at: fixture.share, withDestinationURL: fixture.outside)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
        await fixture.expectRefused("share/secret")
        let entries = fixture.scan()
        #expect(Set(entries.map(\.path)) == ["share", "share/file.txt", "share/dir", "share/dir/file.txt"])
    }

    @Test func symlinksPointingOutsideAreListedNotFollowed() async throws {
        let fixture = try EscapeFixture()
        let outside = fixture.outside.path
        #expect(symlink(outside + "/secret", fixture.path("absolute")) == 0)
        #expect(symlink("../outside/secret", fixture.path("relative")) == 0)
        #expect(symlink("../../outside/secret", fixture.path("dir/relative")) == 0)
        #expect(symlink(outside, fixture.path("to-outside")) == 0)
        #expect(symlink("../outside", fixture.path("to-outside-relative")) == 0)
        #expect(symlink("file.txt", fixture.path("to-inside")) == 0)

        let entries = Dictionary(uniqueKeysWithValues: fixture.scan().map { ($0.path, $0) })
        #expect(entries["share/absolute"]?.kind == .symlink)
        #expect(entries["share/absolute"]?.symlinkTarget == outside + "/secret")
        #expect(entries["share/relative"]?.symlinkTarget == "../outside/secret")
        #expect(entries["share/dir/relative"]?.symlinkTarget == "../../outside/secret")
        #expect(entries["share/to-outside"]?.kind == .symlink)
        #expect(entries["share/to-inside"]?.kind == .symlink)
        // Not descended into: nothing of the outside is listed.
        #expect(!entries.keys.contains { $0.hasPrefix("share/to-outside/") || $0.hasPrefix("share/to-outside-relative/") })
        #expect(entries.values.allSatisfy { $0.kind != .regular || $0.size != UInt64(fixture.secret.utf8.count) })

        // Reading through any of them is refused, even one that stays inside.
        for path in [
            "share/absolute", "share/relative", "share/dir/relative", "share/to-outside/secret", "share/to-outside-relative/secret",
            "share/to-outside/file.txt", "share/to-inside",
        ] {
            await fixture.expectRefused(path)
        }
    }

    @Test func aDirectoryReplacedBySymlinkBetweenScanAndRead() async throws {
        let fixture = try EscapeFixture()
        #expect(fixture.scan().contains { $0.path == "share/dir/file.txt" && $0.kind == .regular })
        // The catalog says share/dir/file.txt; now share/dir leads outside,
        // where a file.txt holds the secret.
        #expect(rename(fixture.path("dir"), fixture.path("dir.old")) == 0)
        #expect(symlink(fixture.outside.path, fixture.path("dir")) == 0)
        await fixture.expectRefused("share/dir/file.txt")
        // Relative, too.
        #expect(unlink(fixture.path("dir")) == 0)
        #expect(symlink("../outside", fixture.path("dir")) == 0)
        await fixture.expectRefused("share/dir/file.txt")
        // The rescan shows what is there now: a symlink, not a directory.
        let entries = fixture.scan()
        #expect(entries.first { $0.path == "share/dir" }?.kind == .symlink)
        #expect(!entries.contains { $0.path == "share/dir/file.txt" })
    }

    @Test func aFileSwappedForSymlinkBetweenLookupAndRead() async throws {
        let fixture = try EscapeFixture()
        #expect(fixture.scan().contains { $0.path == "share/file.txt" && $0.kind == .regular })
        // Read once: the reader keeps the descriptor for a moment.
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
        // An atomic swap: a symlink to the secret renamed over the file.
        #expect(symlink(fixture.outside.path + "/secret", fixture.path(".swap")) == 0)
        #expect(rename(fixture.path(".swap"), fixture.path("file.txt")) == 0)
        // At once: the descriptor opened before the swap may still serve the
        // old inode (its own content), never the target's.
        switch await fixture.read("share/file.txt") {
        case .success(let text): #expect(text == "inside\n")
        case .failure(let error): #expect(error is FileSystemError)
        }
        // Once the descriptor is no longer reused, the path is opened afresh
        // and the symlink is refused.
        try await Task.sleep(for: .milliseconds(1100))
        await fixture.expectRefused("share/file.txt")
        // A file never read before, swapped the same way: refused at once.
        try Data("second\n".utf8).write(to: URL(fileURLWithPath: fixture.path("dir/second.txt")))
        #expect(symlink("../../outside/secret", fixture.path(".swap2")) == 0)
        #expect(rename(fixture.path(".swap2"), fixture.path("dir/second.txt")) == 0)
        await fixture.expectRefused("share/dir/second.txt")
    }

    /// A FIFO (or a device) put where a file was: opening it must neither
    /// block the reader's thread (a FIFO's open waits for a writer) nor
    /// serve it.
    @Test func aFileSwappedForAFIFOFailsAtOnce() async throws {
        let fixture = try EscapeFixture()
        #expect(mkfifo(fixture.path(".fifo"), 0o644) == 0)
        #expect(rename(fixture.path(".fifo"), fixture.path("dir/file.txt")) == 0)
        // A reader blocked in open() never returns: 30 s without an answer
        // is that, however busy the machine.
        let result = await fixture.read("share/dir/file.txt", limit: .seconds(30))
        if case .failure(let error) = result, error is EscapeFixture.StillWaiting {
            // Release the blocked thread before failing: open for writing.
            let writer = open(fixture.path("dir/file.txt"), O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            Issue.record("reading a FIFO blocked the reader")
        } else {
            if case .failure(let error) = result {
                #expect(error is FileSystemError)
            } else {
                Issue.record("a FIFO was read: \(result)")
            }
        }
        // The scanner does not offer it.
        #expect(!fixture.scan().contains { $0.path == "share/dir/file.txt" })
        // And the reader still serves files.
        #expect(try await fixture.read("share/file.txt").get() == "inside\n")
    }

    /// A hard link is the file itself, wherever else it is also linked:
    /// it is listed and served like any other file inside the export (one
    /// who can make a hard link in the export could as well copy the file
    /// there). Documented in Docs/security.md.
    @Test func hardLinksAreServedAsTheFileTheyAre() async throws {
        let fixture = try EscapeFixture()
        let linkedOutside = fixture.outside.appendingPathComponent("linked.txt")
        try Data("hard-linked\n".utf8).write(to: linkedOutside)
        #expect(link(linkedOutside.path, fixture.path("hard")) == 0)
        let entry = fixture.scan().first { $0.path == "share/hard" }
        #expect(entry?.kind == .regular)
        #expect(try await fixture.read("share/hard").get() == "hard-linked\n")
    }
}
