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
    }
}
