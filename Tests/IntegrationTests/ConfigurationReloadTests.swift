import Foundation
import TestPrerequisites
import Testing

/// `p2pfs daemon --config FILE` and SIGHUP (`systemctl reload p2pfs`), on
/// real daemons read by clients independent of the project: libnfs's
/// `nfs-ls`/`nfs-cat`, and a raw NFSv3 session (`NFSSession`) that keeps one
/// connection and its file handles across the reloads.
@Suite(.serialized, .requires(.libnfsUtils))
struct ConfigurationReloadTests {
    static let host = "127.0.52.1"
    static let peerHost = "127.0.52.2"
    static let nfsPort = 20492
    static let listenPort = 17478

    /// A directory holding `files` (name → content).
    static func makeExport(_ root: URL, _ files: [String: String]) throws -> URL {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, content) in files {
            try Data(content.utf8).write(to: root.appendingPathComponent(name))
        }
        return root
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: Self.host, port: Self.nfsPort, path: path)
    }

    /// The names `nfs-ls` lists at `path`.
    func names(_ path: String) throws -> Set<String> {
        let listing = try ChildProcess.check(["nfs-ls", self.url(path)])
        return Set(listing.text.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
    }

    /// Waits (bounded) until `nfs-ls` of `path` gives `expected`.
    func waitForListing(_ path: String, _ expected: Set<String>, daemon: DaemonProcess) throws {
        try daemon.waitUntil("nfs-ls \(path) to list \(expected.sorted())", timeout: 30) {
            (try? self.names(path)) == expected
        }
    }

    /// Exports and peers added and removed on SIGHUP while a client keeps
    /// reading over one connection; a restart-only key and a bad file are
    /// logged and change nothing.
    @Test func reloadAppliesExportsAndPeersWithoutDroppingClients() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(at: directory) }
        let movie = String(repeating: "kill bill ", count: 10_000)
        let movies = try Self.makeExport(directory.appendingPathComponent("movies"), ["KillBill": movie])
        let books = try Self.makeExport(directory.appendingPathComponent("books"), ["Dune": "spice\n"])
        let music = try Self.makeExport(directory.appendingPathComponent("music"), ["Song": "la la\n"])
        let config = directory.appendingPathComponent("p2pfs.toml")
        let base = """
            name = "reloaded"
            nfs = "\(Self.host):\(Self.nfsPort)"
            listen = "\(Self.host):\(Self.listenPort)"
            portmap = "off"
            state-dir = "\(directory.appendingPathComponent("state").path)"
            crawl-interval = 0.5
            rescan-interval = 60

            """
        try Self.write(base + "export = [\"movies=\(movies.path)\"]\n", to: config)

        // The peer the reload adds: a second node exporting music.
        let peer = try DaemonProcess(
            name: "peer",
            arguments: [
                "--name", "peer", "--export", "music=\(music.path)", "--listen", "\(Self.peerHost):\(Self.listenPort)",
                "--portmap", "off", "--state-dir", directory.appendingPathComponent("peer-state").path,
            ],
            logDirectory: directory
        )
        defer { peer.stop() }
        try peer.waitForLog("offering files to peers")

        let daemon = try DaemonProcess(name: "reloaded", arguments: ["--config", config.path], logDirectory: directory)
        defer { daemon.stop() }
        try daemon.waitForLog("namespace ready")
        #expect(try self.names("/") == ["movies"])

        // A client that stays: one connection, one mount, a handle on the file.
        let session = try NFSSession(namespace: nil, host: Self.host, port: Self.nfsPort)
        #expect(try session.status("mount") == 0)
        #expect(try session.status("lookup movies/KillBill") == 0)
        let firstRead = try session.send("read movies/KillBill 0 10")
        #expect(firstRead["status"] as? Int == 0)
        #expect(firstRead["data"] as? String == Data("kill bill ".utf8).map { String(format: "%02x", $0) }.joined())

        // Reload 1: an export and a peer added, the listen address changed.
        try Self.write(
            base.replacingOccurrences(of: ":\(Self.listenPort)\"", with: ":\(Self.listenPort + 1)\"")
                + "export = [\"movies=\(movies.path)\", \"books=\(books.path)\"]\npeer = [\"\(Self.peerHost):\(Self.listenPort)\"]\n",
            to: config
        )
        kill(daemon.pid, SIGHUP)
        try daemon.waitForLog("reload: export added")
        try daemon.waitForLog("reload: peer added")
        #expect(daemon.log.contains("reload: listen changed: needs restart"))
        try self.waitForListing("/", ["movies", "books", "music"], daemon: daemon)
        #expect(try ChildProcess.check(["nfs-cat", self.url("/books/Dune")]).text == "spice\n")
        #expect(try ChildProcess.check(["nfs-cat", self.url("/music/Song")]).text == "la la\n")
        // The same connection and handle read on.
        let laterRead = try session.send("read movies/KillBill 99990 10")
        #expect(laterRead["status"] as? Int == 0)
        #expect(laterRead["eof"] as? Bool == true)
        // The peer listener stayed where it was (the change waits for a restart).
        #expect(try ChildProcess.run(["bash", "-c", "exec 3<>/dev/tcp/\(Self.host)/\(Self.listenPort + 1)"]).succeeded == false)
        #expect(try ChildProcess.run(["bash", "-c", "exec 3<>/dev/tcp/\(Self.host)/\(Self.listenPort)"]).succeeded)

        // Reload 2: a file with a mistake keeps everything running as it is.
        try Self.write(base + "export = [\"movies=\(movies.path)\"]\ncache-size = \"big\"\n", to: config)
        kill(daemon.pid, SIGHUP)
        try daemon.waitForLog("reload: keeping the running configuration: \(config.path):9: key 'cache-size' must be an integer, not a string")
        #expect(try self.names("/") == ["movies", "books", "music"])
        #expect(try session.send("read movies/KillBill 10 10")["status"] as? Int == 0)

        // Reload 3: books and the peer removed; the session reads on.
        try Self.write(base + "export = [\"movies=\(movies.path)\"]\n", to: config)
        kill(daemon.pid, SIGHUP)
        try daemon.waitForLog("reload: export removed")
        try daemon.waitForLog("reload: peer removed")
        try daemon.waitUntil("books to leave the namespace") { (try? self.names("/"))?.contains("books") == false }
        #expect(try session.send("read movies/KillBill 20 10")["status"] as? Int == 0)
        #expect(try ChildProcess.check(["nfs-cat", self.url("/movies/KillBill")]).text == movie)
        #expect(daemon.isRunning)
    }

    /// A bad file at start: the daemon refuses to start, naming file, line and key.
    @Test func aBadFileStopsTheStartNamingFileLineAndKey() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("badconfig")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("p2pfs.toml")
        for (text, message) in [
            ("portmap = \"off\"\npeers = [\"10.0.0.1\"]\n", "\(config.path):2: unknown key 'peers' (did you mean 'peer'?)"),
            ("\n\nnfs-versions = \"5\"\n", "\(config.path):3: key 'nfs-versions': "),
            ("crawl-interval = \"fast\"\n", "\(config.path):1: key 'crawl-interval' must be a number, not a string"),
            ("nfs = \n", "\(config.path):1:"),
        ] {
            try Self.write(text, to: config)
            let run = try ChildProcess.run(
                [TestEnvironment.p2pfs, "daemon", "--config", config.path, "--state-dir", directory.appendingPathComponent("state").path],
                timeout: 30
            )
            #expect(!run.succeeded, "started with \(text)")
            #expect(run.stderr.contains(message), "for \(text): \(run.stderr)")
        }
    }
}
