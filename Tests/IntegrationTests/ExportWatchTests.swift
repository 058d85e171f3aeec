import Foundation
import TestPrerequisites
import Testing

/// Changes to an export reach an NFS client through inotify: the daemon runs
/// with `--rescan-interval 3600`, so no periodic rescan can explain a new
/// file showing within the test's bounds.
@Suite(.serialized, .requires(.libnfsUtils))
struct ExportWatchTests {
    static let host = "127.0.52.1"
    static let nfsPort = 20552
    static let peerPort = 17552

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: Self.host, port: Self.nfsPort, path: path)
    }

    @Test func aNewFileAndARemovedFileShowThroughNFSWithoutAPeriodicRescan() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("watch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try Data("before\n".utf8).write(to: share.appendingPathComponent("before.txt"))
        let daemon = try DaemonProcess(
            name: "watch",
            arguments: [
                "--name", "watch", "--export", "share=\(share.path)", "--nfs", "\(Self.host):\(Self.nfsPort)",
                "--listen", "\(Self.host):\(Self.peerPort)", "--portmap", "off", "--rescan-interval", "3600",
                "--state-dir", directory.appendingPathComponent("state").path,
            ],
            logDirectory: directory
        )
        defer { daemon.stop() }
        try daemon.waitForLog("namespace ready")
        let first = try ChildProcess.check(["nfs-ls", self.url("/share")], timeout: 30)
        #expect(first.text.contains("before.txt"))
        #expect(!first.text.contains("late.txt"))

        // In a new subdirectory, created after start: its watch is added by
        // the rescan the directory's creation triggers.
        try FileManager.default.createDirectory(at: share.appendingPathComponent("new/deeper"), withIntermediateDirectories: true)
        try Data("late arrival\n".utf8).write(to: share.appendingPathComponent("new/deeper/late.txt"))
        try daemon.waitUntil("late.txt listed through NFS", timeout: 30) {
            let listing = try? ChildProcess.check(["nfs-ls", self.url("/share/new/deeper")], timeout: 10)
            return listing?.text.contains("late.txt") ?? false
        }
        let content = try ChildProcess.check(["nfs-cat", self.url("/share/new/deeper/late.txt")])
        #expect(content.text == "late arrival\n")

        try FileManager.default.removeItem(at: share.appendingPathComponent("before.txt"))
        try daemon.waitUntil("before.txt gone from the NFS listing", timeout: 30) {
            let listing = try? ChildProcess.check(["nfs-ls", self.url("/share")], timeout: 10)
            return listing.map { !$0.text.contains("before.txt") && $0.text.contains("new") } ?? false
        }
        #expect(daemon.log.contains("exports changed"))
    }

    /// Inside a user namespace of its own whose inotify watch limit is 3:
    /// the export's 5 directories cannot all be watched. The daemon says
    /// which limit to raise and by how much, and the watched root still
    /// reports changes at once (the catalog grows from 5 to 6 entries with
    /// no periodic rescan).
    @Test(.requires(.userNamespaceInotifyLimits)) func theWatchLimitIsNamedAndTheWatchedDirectoriesStillReport() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("watch-limit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        for name in ["d1", "d2", "d3", "d4"] {
            try FileManager.default.createDirectory(at: share.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let daemon = try DaemonProcess(
            name: "watch-limit",
            arguments: [
                "--name", "limited", "--export", "share=\(share.path)", "--nfs", "\(Self.host):\(Self.nfsPort + 1)",
                "--listen", "\(Self.host):\(Self.peerPort + 1)", "--portmap", "off", "--rescan-interval", "3600",
                "--state-dir", directory.appendingPathComponent("state").path,
            ],
            wrapper: ["unshare", "--user", "--map-root-user", "sh", "-c", "echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\""],
            logDirectory: directory
        )
        defer { daemon.stop() }
        try daemon.waitForLog("namespace ready")
        #expect(daemon.log.contains("inotify watch limit reached: 2 of 5 export directories are not watched; this daemon needs 5 watches"))
        #expect(daemon.log.contains("/proc/sys/fs/inotify/max_user_watches"))

        #expect(!daemon.log.contains("exports changed"))
        // (No NFS listing here: libnfs cannot mount from a daemon inside a
        // user namespace; the log's catalog line says what the catalog holds.)
        try Data("root\n".utf8).write(to: share.appendingPathComponent("in-root.txt"))
        try daemon.waitForLog("entries=6 generation=", timeout: 30)

        // A directory made now, past the limit, is found by its parent's
        // incremental rescan, which tries to watch it and says so.
        try FileManager.default.createDirectory(at: share.appendingPathComponent("d5"), withIntermediateDirectories: true)
        try daemon.waitForLog("entries=7 generation=", timeout: 30)
        try daemon.waitForLog("inotify watch limit reached: 3 of 6 export directories are not watched", timeout: 30)
    }

    func listing(_ path: String, port: Int) -> String? {
        (try? ChildProcess.check(["nfs-ls", TestEnvironment.nfsURL(host: Self.host, port: port, path: path)], timeout: 10))?.text
    }

    /// Every kind of change reaches an NFS client through incremental
    /// rescans (the log names the directories rescanned; no full rescan
    /// runs): a created file, a rewritten one (new size and content), one
    /// renamed into another directory, a deleted one, and files written
    /// into a directory tree made a moment before (`mkdir -p`), which only
    /// the scan after the new directories' watches were added can find.
    @Test func createRewriteRenameDeleteAndANewTreeShowThroughIncrementalRescans() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("watch-kinds")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        for name in ["from", "to"] {
            try FileManager.default.createDirectory(at: share.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try Data("short\n".utf8).write(to: share.appendingPathComponent("from/rewritten.txt"))
        try Data("moving\n".utf8).write(to: share.appendingPathComponent("from/moving.txt"))
        try Data("doomed\n".utf8).write(to: share.appendingPathComponent("to/doomed.txt"))
        let port = Self.nfsPort + 2
        let daemon = try DaemonProcess(
            name: "watch-kinds",
            arguments: [
                "--name", "kinds", "--export", "share=\(share.path)", "--nfs", "\(Self.host):\(port)",
                "--listen", "\(Self.host):\(Self.peerPort + 2)", "--portmap", "off", "--rescan-interval", "3600",
                "--state-dir", directory.appendingPathComponent("state").path,
            ],
            logDirectory: directory
        )
        defer { daemon.stop() }
        try daemon.waitForLog("namespace ready")
        #expect(self.listing("/share/from", port: port)?.contains("moving.txt") == true)

        try Data("created\n".utf8).write(to: share.appendingPathComponent("to/created.txt"))
        try daemon.waitUntil("created.txt listed", timeout: 30) { self.listing("/share/to", port: port)?.contains("created.txt") ?? false }

        try Data("rewritten, and longer than before\n".utf8).write(to: share.appendingPathComponent("from/rewritten.txt"))
        try daemon.waitUntil("the rewritten content read", timeout: 30) {
            let url = TestEnvironment.nfsURL(host: Self.host, port: port, path: "/share/from/rewritten.txt")
            return (try? ChildProcess.check(["nfs-cat", url], timeout: 10))?.text == "rewritten, and longer than before\n"
        }

        try FileManager.default.moveItem(at: share.appendingPathComponent("from/moving.txt"), to: share.appendingPathComponent("to/moved.txt"))
        try daemon.waitUntil("the rename across directories", timeout: 30) {
            (self.listing("/share/to", port: port)?.contains("moved.txt") ?? false)
                && !(self.listing("/share/from", port: port)?.contains("moving.txt") ?? true)
        }
        let moved = try ChildProcess.check(["nfs-cat", TestEnvironment.nfsURL(host: Self.host, port: port, path: "/share/to/moved.txt")])
        #expect(moved.text == "moving\n")

        try FileManager.default.removeItem(at: share.appendingPathComponent("to/doomed.txt"))
        try daemon.waitUntil("doomed.txt gone", timeout: 30) {
            self.listing("/share/to", port: port).map { !$0.contains("doomed.txt") && $0.contains("moved.txt") } ?? false
        }

        let deepest = share.appendingPathComponent("a/b/c")
        try FileManager.default.createDirectory(at: deepest, withIntermediateDirectories: true)
        for index in 0..<20 {
            try Data("file \(index)\n".utf8).write(to: deepest.appendingPathComponent("f\(index).txt"))
        }
        try Data("middle\n".utf8).write(to: share.appendingPathComponent("a/b/middle.txt"))
        try daemon.waitUntil("all 20 files of a/b/c listed", timeout: 30) {
            guard let text = self.listing("/share/a/b/c", port: port) else { return false }
            return (0..<20).allSatisfy { text.contains("f\($0).txt") }
        }
        #expect(self.listing("/share/a/b", port: port)?.contains("middle.txt") == true)
        let last = try ChildProcess.check(["nfs-cat", TestEnvironment.nfsURL(host: Self.host, port: port, path: "/share/a/b/c/f19.txt")])
        #expect(last.text == "file 19\n")

        let log = daemon.log
        #expect(log.contains(" directories"), "the log names no incremental rescan:\n\(log)")
        #expect(!log.contains("rescan=full"), "a full rescan ran:\n\(log)")
    }

    /// More events than the kernel queues (`max_queued_events`, a global
    /// sysctl: a user namespace of the test's own cannot lower it, and as
    /// root the write would reach the host's) while the daemon is stopped
    /// (SIGSTOP) and reads none: on SIGCONT it reads the overflow, says
    /// which limit to raise and rescans in full, finding every file.
    @Test(.enabled(if: (Self.maximumQueuedEvents() ?? .max) <= 100_000))
    func aQueueOverflowIsNamedAndFallsBackToAFullRescan() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("watch-overflow")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share.appendingPathComponent("burst"), withIntermediateDirectories: true)
        let port = Self.nfsPort + 3
        let daemon = try DaemonProcess(
            name: "watch-overflow",
            arguments: [
                "--name", "overflow", "--export", "share=\(share.path)", "--nfs", "\(Self.host):\(port)",
                "--listen", "\(Self.host):\(Self.peerPort + 3)", "--portmap", "off", "--rescan-interval", "3600",
                "--state-dir", directory.appendingPathComponent("state").path,
            ],
            logDirectory: directory
        )
        defer { daemon.stop() }
        try daemon.waitForLog("namespace ready")
        #expect(!daemon.log.contains("max_queued_events"))

        let limit = try #require(Self.maximumQueuedEvents())
        // IN_CREATE and IN_CLOSE_WRITE per file: more events than the limit.
        let count = limit / 2 + 100
        try #require(kill(daemon.pid, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(daemon.pid, SIGCONT) } }
        for index in 0..<count {
            let descriptor = open(share.appendingPathComponent("burst/f\(index)").path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(descriptor >= 0)
            close(descriptor)
        }
        kill(daemon.pid, SIGCONT)
        resumed = true

        try daemon.waitForLog("inotify event queue overflowed (raise /proc/sys/fs/inotify/max_queued_events)", timeout: 60)
        // share, burst and the files.
        try daemon.waitForLog("entries=\(count + 2) ", timeout: 60)
        #expect(daemon.log.contains("rescan=full"))
        try daemon.waitUntil("the first and last files listed through NFS", timeout: 30) {
            guard let text = self.listing("/share/burst", port: port) else { return false }
            let names = Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
            return names.contains("f0") && names.contains("f\(count - 1)")
        }
    }

    static func maximumQueuedEvents() -> Int? {
        (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
