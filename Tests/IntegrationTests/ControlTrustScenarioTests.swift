import Foundation
import P2PFSDaemon
import Testing

/// `p2pfs peers --node` / `ls --node` against a node with a `--trust` list,
/// on loopback (127.0.71.x, used by no other suite): presenting a trusted
/// node's state directory it is answered, and the answer shows the trusted
/// node as the asked node knows it (a tool with that node's id changes
/// nothing); with a throwaway identity it fails in one line saying why, and
/// the asked node logs one warning for it.
@Suite(.serialized)
final class ControlTrustScenarioTests {
    static let hostA = "127.0.71.1"
    static let hostB = "127.0.71.2"
    static let peerPortA = 17571
    static let peerPortB = 17572
    static let nfsB = "\(hostB):20712"
    static var nodeB: String { "\(hostB):\(peerPortB)" }

    let directory: URL
    var daemons: [DaemonProcess] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("control-trust")
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        try? FileManager.default.removeItem(at: self.directory)
    }

    func stateDirectory(_ name: String) -> String {
        self.directory.appendingPathComponent("state-\(name)").path
    }

    func nodeID(_ name: String) throws -> String {
        try String(contentsOfFile: self.stateDirectory(name) + "/node-id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A node offering `files` under the export "share".
    func start(_ name: String, listen: String, files: [String: String], extra: [String] = []) throws -> DaemonProcess {
        let root = self.directory.appendingPathComponent("export-\(name)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (path, text) in files {
            try Data(text.utf8).write(to: root.appendingPathComponent(path))
        }
        let daemon = try DaemonProcess(
            name: name,
            arguments: [
                "--name", name, "--state-dir", self.stateDirectory(name), "--export", "share=\(root.path)", "--listen", listen,
                "--crawl-interval", "1", "--peer-timeout", "30",
            ] + extra,
            logDirectory: self.directory
        )
        self.daemons.append(daemon)
        try daemon.waitForLog("offering files to peers")
        return daemon
    }

    /// A key file as the docs say to make one.
    func makeKey() throws -> String {
        let url = self.directory.appendingPathComponent("network.key")
        let random = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try Data((Data(random).base64EncodedString() + "\n").utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        return url.path
    }

    /// The CLI, with the daemon's default state directory set to
    /// `defaultStateDirectory` (a path without a node: the throwaway case).
    func p2pfs(_ arguments: [String], defaultStateDirectory: String) throws -> ChildProcess.Output {
        // STATE_DIRECTORY is where a daemon under systemd, and so the CLI's
        // default, finds the node; set here so the machine's own does not count.
        try ChildProcess.run(["STATE_DIRECTORY=\(defaultStateDirectory)", TestEnvironment.p2pfs] + arguments, timeout: 30)
    }

    /// The row of `p2pfs peers` for the node named `name`.
    static func row(_ name: String, in output: ChildProcess.Output) -> String? {
        output.text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map(String.init)
    }

    /// Waits (bounded) until B lists A as alive, so its view is settled.
    func waitUntilBListsAAlive(_ arguments: [String], b: DaemonProcess) throws {
        try b.waitUntil("B lists A alive", timeout: 30) {
            guard let output = try? self.p2pfs(arguments, defaultStateDirectory: self.stateDirectory("a")) else { return false }
            return Self.row("a", in: output)?.contains("alive") == true
        }
    }

    @Test func aTrustedNodesIdentityIsAnsweredAndAThrowawayIsRefusedInOneLine() throws {
        let a = try self.start("a", listen: "\(Self.hostA):\(Self.peerPortA)", files: ["from-a": "a's file"])
        let idA = try self.nodeID("a")
        let b = try self.start(
            "b", listen: Self.nodeB, files: ["from-b": "b's file"],
            extra: ["--trust", idA, "--peer", "\(Self.hostA):\(Self.peerPortA)", "--nfs", Self.nfsB, "--portmap", "off"]
        )
        let nowhere = self.directory.appendingPathComponent("no-node-here").path

        // With A's state directory: B answers, and shows A as it knows it
        // (roles, address), not as the tool that presented A's id.
        try self.waitUntilBListsAAlive(["peers", "--node", Self.nodeB, "--state-dir", self.stateDirectory("a")], b: b)
        for _ in 0..<3 {
            let peers = try self.p2pfs(["peers", "--node", Self.nodeB, "--state-dir", self.stateDirectory("a")], defaultStateDirectory: nowhere)
            #expect(peers.succeeded, "\(peers.stderr)")
            #expect(peers.text.hasPrefix("node b \(try self.nodeID("b")) "), "\(peers.text)")
            let rowA = Self.row("a", in: peers)
            #expect(rowA?.contains("server") == true && rowA?.contains("alive") == true, "\(peers.text)")
            #expect(rowA?.contains("\(Self.hostA):\(Self.peerPortA)") == true, "\(peers.text)")
            // One row for A: the tool is not a node of B's.
            #expect(peers.text.components(separatedBy: String(idA.prefix(12))).count == 2, "\(peers.text)")
            #expect(peers.stderr.isEmpty, "\(peers.stderr)")
        }
        // The default state directory, when readable, is the same.
        let byDefault = try self.p2pfs(["peers", "--node", Self.nodeB], defaultStateDirectory: self.stateDirectory("a"))
        #expect(byDefault.succeeded, "\(byDefault.stderr)")
        let listing = try self.p2pfs(["ls", "--node", Self.nodeB, "--state-dir", self.stateDirectory("a"), "/share"], defaultStateDirectory: nowhere)
        #expect(listing.succeeded, "\(listing.stderr)")
        #expect(listing.text.contains("from-a") && listing.text.contains("from-b"), "\(listing.text)")
        // A path B does not have, and any path of A, which only offers files
        // and so has no namespace to list: each failure says which it is.
        let absent = try self.p2pfs(["ls", "--node", Self.nodeB, "--state-dir", self.stateDirectory("a"), "/nothing"], defaultStateDirectory: nowhere)
        #expect(absent.status == 1 && absent.stderr == "Error: /nothing: no such file or directory\n", "\(absent.stderr)")
        for path in ["/", "/share"] {
            let offerOnly = try self.p2pfs(["ls", "--node", "\(Self.hostA):\(Self.peerPortA)", path], defaultStateDirectory: self.stateDirectory("a"))
            #expect(offerOnly.status == 1, "\(offerOnly.text)")
            #expect(
                offerOnly.stderr.hasPrefix("Error: the node at \(Self.hostA):\(Self.peerPortA) presents no namespace (a node that only offers files has none"),
                "\(path): \(offerOnly.stderr)")
        }

        // A throwaway identity: one line, naming B, the id and the cause.
        let refused = try self.p2pfs(["peers", "--node", Self.nodeB], defaultStateDirectory: nowhere)
        #expect(refused.status == 1)
        let lines = refused.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(refused.stderr)")
        let prefix = "Error: \(Self.nodeB) admits only the nodes on its --trust list, and this tool presented node "
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix(prefix), "\(refused.stderr)")
        let presented = String(line.dropFirst(prefix.count).prefix(32))
        #expect(presented.count == 32 && presented != idA)
        #expect(
            line == prefix + presented
                + " (a throwaway identity). Run it where a trusted node's state directory is readable, or pass --state-dir.",
            "\(refused.stderr)"
        )
        // B: one warning for that connection, naming the id.
        try b.waitForLog("refused node \(presented)")
        let warnings = b.log.split(separator: "\n").filter { $0.contains(" warning ") }
        #expect(warnings.count == 1, "\(b.log)")
        #expect(warnings.first?.contains("refused node \(presented): not in the --trust list") == true, "\(b.log)")
        #expect(a.isRunning && b.isRunning)

        // An explicit state directory that cannot be read: a CLI error
        // naming it; nothing is created there.
        let missing = self.directory.appendingPathComponent("typo").path
        let unreadable = try self.p2pfs(["peers", "--node", Self.nodeB, "--state-dir", missing], defaultStateDirectory: nowhere)
        #expect(unreadable.status == 1)
        #expect(
            unreadable.stderr == "Error: --state-dir: state directory '\(missing)': cannot read \(missing)/node-key.pem: No such file or directory\n",
            "\(unreadable.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func onAClosedNetworkTheTrustedIdentityAndTheKeyAreBothNeeded() throws {
        let key = try self.makeKey()
        // A's identity, as its daemon would keep it; A need not run.
        let a = NodeStateDirectory(path: self.stateDirectory("a"))
        let idA = "\(try a.loadCredentials().nodeID)"
        let b = try self.start(
            "b", listen: Self.nodeB, files: ["from-b": "b's file"], extra: ["--trust", idA, "--network-key-file", key]
        )
        let nowhere = self.directory.appendingPathComponent("no-node-here").path
        let asked = try self.p2pfs(
            ["peers", "--node", Self.nodeB, "--state-dir", a.path, "--network-key-file", key], defaultStateDirectory: nowhere
        )
        #expect(asked.succeeded, "\(asked.stderr)")
        #expect(asked.text.hasPrefix("node b \(try self.nodeID("b")) "), "\(asked.text)")
        // The key without the identity, and the identity without the key.
        let throwaway = try self.p2pfs(["peers", "--node", Self.nodeB, "--network-key-file", key], defaultStateDirectory: nowhere)
        #expect(throwaway.status == 1)
        #expect(throwaway.stderr.contains("admits only the nodes on its --trust list"), "\(throwaway.stderr)")
        let keyless = try self.p2pfs(["peers", "--node", Self.nodeB, "--state-dir", a.path], defaultStateDirectory: nowhere)
        #expect(keyless.status == 1)
        #expect(
            keyless.stderr == "Error: the daemon at \(Self.nodeB) answers only holders of its network key: give --network-key-file\n",
            "\(keyless.stderr)"
        )
        #expect(b.isRunning)
    }
}
