import Foundation
import TestPrerequisites
import Testing

/// `p2pfs daemon --config FILE` on real daemons.
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
