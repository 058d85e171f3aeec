import Foundation
import TestPrerequisites
import Testing

/// Zero configuration: daemons in network namespaces on one bridge, started
/// with no `--peer` at all, find each other by multicast DNS. Multicast
/// stays on the test's own bridge (198.18.0.0/24), removed afterwards.
///
/// The 2 s figures (appear, leave on goodbye) are speed targets for
/// `make bench`, not asserted here: the bounds below only separate "on
/// the goodbye" from "after the peer timeout", with room for a shared
/// machine. Measured times are printed.
@Suite(.serialized, .requires(.networkNamespaces, .python3), .timeLimit(.minutes(6)))
final class DiscoveryScenarioTests {
    let directory: URL
    let network: TestNetwork
    var daemons: [DaemonProcess] = []

    /// Long, so that a node leaving on its goodbye cannot be mistaken for
    /// one dropped at the timeout.
    static let peerTimeout = 30.0
    static let goodbyeBound = 15.0
    static let appearBound = 30.0

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("discovery")
        self.network = try TestNetwork()
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        self.network.tearDown()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Starts `p2pfs daemon --discovery on` in `host`, with no --peer and
    /// no --listen: offering `files` under /movies, or presenting the
    /// namespace on 127.0.0.1:2049 when `client`.
    @discardableResult
    func start(_ host: TestNetwork.Host, files: [String: String] = [:], client: Bool = false, key: String? = nil) throws -> DaemonProcess {
        var arguments = [
            "--name", host.name, "--state-dir", self.stateDirectory(host), "--discovery", "on",
            "--crawl-interval", "1", "--peer-timeout", "\(Int(Self.peerTimeout))", "--log-level", "debug",
        ]
        if !files.isEmpty {
            let root = self.directory.appendingPathComponent("export-\(host.name)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            for (name, text) in files { try Data(text.utf8).write(to: root.appendingPathComponent(name)) }
            arguments += ["--export", "movies=\(root.path)"]
        }
        if client { arguments += ["--nfs", "127.0.0.1:2049", "--portmap", "off"] }
        if let key { arguments += ["--network-key-file", key] }
        let daemon = try DaemonProcess(name: host.name, arguments: arguments, namespace: host.namespace, logDirectory: self.directory)
        self.daemons.append(daemon)
        try daemon.waitForLog("mDNS discovery on")
        return daemon
    }

    func stateDirectory(_ host: TestNetwork.Host) -> String { self.directory.appendingPathComponent("state-\(host.name)").path }

    func nodeID(_ host: TestNetwork.Host) throws -> String {
        try String(contentsOfFile: self.stateDirectory(host) + "/node-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// File names under /movies as the client's `p2pfs ls` shows them;
    /// empty when the directory is not there (yet).
    func movies(on client: TestNetwork.Host) throws -> Set<String> {
        let output = try self.network.run(client, [TestEnvironment.p2pfs, "ls", "/movies", "--nfs", "127.0.0.1:2049"], timeout: 30)
        guard output.succeeded else { return [] }
        return Set(output.text.split(separator: "\n").dropFirst().compactMap { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            return columns.count >= 3 ? String(columns[2]) : nil
        })
    }

    /// Waits until the client lists `expected`; returns the seconds it took.
    @discardableResult
    func waitForMovies(_ expected: Set<String>, on client: TestNetwork.Host, within bound: Double) throws -> Double {
        let start = Date()
        var last: Set<String> = []
        while Date().timeIntervalSince(start) < bound {
            last = try self.movies(on: client)
            if last == expected { return Date().timeIntervalSince(start) }
            usleep(100_000)
        }
        throw TestFailure("/movies on \(client.name) shows \(last.sorted()), expected \(expected.sorted()) within \(bound)s")
    }

    /// Rows of the client's `p2pfs peers`, by node name.
    func peers(on client: TestNetwork.Host) throws -> [String: String] {
        let output = try self.network.run(client, [TestEnvironment.p2pfs, "peers", "--nfs", "127.0.0.1:2049"], timeout: 30)
        let lines = output.text.split(separator: "\n")
        guard output.succeeded, let header = lines.firstIndex(where: { $0.hasPrefix("NAME") }) else { return [:] }
        var rows: [String: String] = [:]
        for line in lines[(header + 1)...] {
            if let name = line.split(separator: " ").first { rows[String(name)] = String(line) }
        }
        return rows
    }

    /// python-zeroconf, in `host`'s namespace: the `_p2pfs._tcp` instances it
    /// resolves within `seconds`, as "name port id address" lines.
    func zeroconfBrowse(from host: TestNetwork.Host, expecting count: Int, seconds: Int = 25) throws -> [String] {
        let script = """
            import time
            from zeroconf import Zeroconf, ServiceBrowser, ServiceListener, IPVersion
            zc = Zeroconf(interfaces=["\(host.address)"], ip_version=IPVersion.V4Only)
            names = set()
            class Listener(ServiceListener):
                def add_service(self, zc, type_, name): names.add(name)
                def update_service(self, zc, type_, name): pass
                def remove_service(self, zc, type_, name): pass
            browser = ServiceBrowser(zc, "_p2pfs._tcp.local.", Listener())
            deadline = time.time() + \(seconds)
            resolved = {}
            while time.time() < deadline and len(resolved) < \(count):
                for name in list(names):
                    if name not in resolved:
                        info = zc.get_service_info("_p2pfs._tcp.local.", name, timeout=3000)
                        if info: resolved[name] = info
                time.sleep(0.1)
            for name, info in sorted(resolved.items()):
                print(name, info.port, info.properties.get(b"id", b"").decode(), ",".join(info.parsed_addresses()))
            zc.close()
            """
        let output = try self.network.run(host, ["/usr/bin/env", "python3", "-c", script], timeout: Double(seconds + 30))
        guard output.succeeded else { throw TestFailure("zeroconf browse failed: \(output.text) \(output.stderr)") }
        return output.text.split(separator: "\n").map(String.init)
    }

    /// `body`'s failure, with the daemons' logs that explain it.
    func explained<T>(by daemons: [DaemonProcess], _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw TestFailure("\(error)\n" + daemons.map { "--- \($0.name) log:\n\($0.log)" }.joined(separator: "\n"))
        }
    }

    @Test(.requires(.pythonZeroconf))
    func nodesWithNoAddressSeeOneNamespaceAndLeaveOnGoodbyeOrTimeout() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let d = try self.network.addHost("d")
        let e = try self.network.addHost("e")
        try self.start(a, files: ["Alien": "a"])
        let nodeB = try self.start(b, files: ["Brazil": "b"])
        let nodeC = try self.start(c, files: ["Casablanca": "c"])
        let client = try self.start(d, client: true)

        let converged = try self.waitForMovies(["Alien", "Brazil", "Casablanca"], on: d, within: Self.appearBound)
        print("discovery: one namespace \(converged)s after the last daemon logged its start")
        // Each is alive and was found on the link (perhaps also through
        // another node's PEERS answer, which may come first).
        let deadline = Date().addingTimeInterval(Self.appearBound)
        var rows: [String: String] = [:]
        func allFoundOnTheLink() -> Bool {
            [a, b, c].allSatisfy { host in rows[host.name].map { $0.contains("alive") && $0.contains("mDNS") } ?? false }
        }
        repeat {
            rows = try self.peers(on: d)
            if allFoundOnTheLink() { break }
            usleep(200_000)
        } while Date() < deadline
        #expect(allFoundOnTheLink(), "\(rows.values.sorted())")
        // Our daemon, inside its namespace, holds the mDNS port (what the
        // host-side test checks is absent).
        #expect(UDPSockets.boundPorts(of: client.pid).contains(5353))

        // An mDNS implementation that is not ours lists every node that offers files.
        let seen = try self.zeroconfBrowse(from: d, expecting: 3)
        for host in [a, b, c] {
            let line = "\(host.name)._p2pfs._tcp.local. 7475 \(try self.nodeID(host)) \(host.address)"
            #expect(seen.contains(line), "\(seen)")
        }

        // B stops cleanly: its goodbye takes its files away long before the peer timeout.
        let stopped = Date()
        nodeB.stop(grace: 60)  // a busy machine must not turn the clean stop into a kill
        #expect(nodeB.terminationStatus == 0, "b did not exit cleanly on SIGTERM")
        let left = try self.explained(by: [nodeB, client]) {
            try self.waitForMovies(["Alien", "Casablanca"], on: d, within: Self.goodbyeBound)
        }
        print("discovery: a stopped node's files left \(Date().timeIntervalSince(stopped))s after SIGTERM (\(left)s after it exited)")
        #expect(client.log.contains("peer left the network"))

        // C vanishes (no goodbye): gone within the peer timeout.
        nodeC.kill9()
        let vanished = try self.waitForMovies(["Alien"], on: d, within: Self.peerTimeout + 30)
        print("discovery: a killed node's files left after \(vanished)s (peer timeout \(Self.peerTimeout)s)")

        // A late joiner appears.
        try self.start(e, files: ["Eraserhead": "e"])
        let joined = try self.waitForMovies(["Alien", "Eraserhead"], on: d, within: Self.appearBound)
        print("discovery: a late joiner appeared \(joined)s after it logged its start")
    }

    /// Nodes started before their network (by systemd before DHCP, on a
    /// laptop off any Wi-Fi) find each other once their links come up: the
    /// daemons look at the interfaces again every 5 s, open mDNS sockets
    /// on the new one and announce the address it brought, and follow an
    /// address that changes, and a link switched off and on again. When a
    /// link goes, what was found on it goes too, on that and not at the
    /// peer timeout.
    @Test func nodesStartedWithoutALinkFindEachOtherOnceTheyHaveOne() throws {
        let a = try self.network.addHost("a", connected: false)
        let b = try self.network.addHost("b", connected: false)
        let offering = try self.start(a, files: ["Alien": "a"])
        let client = try self.start(b, client: true)
        for daemon in [offering, client] {
            #expect(daemon.log.contains("mDNS discovery on, but no multicast interface to use"), "\(daemon.log)")
        }
        #expect(try self.movies(on: b).isEmpty)

        try self.network.connect(a)
        try self.network.connect(b)
        let connected = Date()
        try self.explained(by: [offering, client]) {
            try self.waitForMovies(["Alien"], on: b, within: Self.appearBound)
            for daemon in [offering, client] { try daemon.waitForLog("mDNS discovery: now on eth0") }
            // A told its new address, not loopback, on the link.
            try offering.waitForLog("advertised peer addresses changed")
        }
        print("discovery: files found \(Date().timeIntervalSince(connected))s after the links came up")
        let rows = try self.peers(on: b)
        #expect(rows["a"].map { $0.contains("alive") && $0.contains("mDNS") && $0.contains(a.address) } ?? false, "\(rows.values.sorted())")

        // A's address changes (a new DHCP lease): A tells the new one, in
        // its announcement (B's browser hears it) and to whoever asks it.
        // (Deleted first: deleting the primary address deletes the secondaries too.)
        let moved = "198.18.0.11"
        for command in [["ip", "addr", "del", "\(a.address)/24", "dev", "eth0"], ["ip", "addr", "add", "\(moved)/24", "dev", "eth0"]] {
            let output = try self.network.run(a, command, timeout: 10)
            #expect(output.succeeded, "\(command): \(output.stderr)")
        }
        let readdressed = Date()
        try self.explained(by: [offering, client]) {
            try offering.waitForLog("advertised=[\(moved):7475] [P2PFSDaemon] advertised peer addresses changed", timeout: Self.appearBound)
        }
        var row = ""
        repeat {
            row = try self.peers(on: b)["a"] ?? ""
            if row.contains("\(moved):7475") { break }
            usleep(200_000)
        } while Date().timeIntervalSince(readdressed) < Self.appearBound
        #expect(row.contains("\(moved):7475"), "\(row)\n\(offering.log)")
        print("discovery: b heard a's new address \(Date().timeIntervalSince(readdressed))s after it changed")
        let status = try self.network.run(b, [TestEnvironment.p2pfs, "peers", "--node", "\(moved):7475"], timeout: 30)
        #expect(status.text.contains("listening: \(moved):7475\n"), "\(status.text) \(status.stderr)")
        // And B reads A's file (never read before, so from A) at the new
        // address: the connection B held to the old one goes unanswered, is
        // closed at the first timeout, and B connects again; well before the
        // peer timeout, after which B would drop A as gone and find it anew.
        let url = TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: "/movies/Alien")
        var read: ChildProcess.Output?
        repeat {
            read = try self.network.run(b, ["nfs-cat", url], timeout: 30)
            if read?.succeeded == true { break }
            usleep(200_000)
        } while Date().timeIntervalSince(readdressed) < Self.peerTimeout - 5
        #expect(read?.succeeded == true && read?.text == "a", "\(String(describing: read))\n\(client.log)")
        print("discovery: b read a's file \(Date().timeIntervalSince(readdressed))s after a's address changed")

        // A's link goes down (switched off, or its cable out): the address
        // stays on the interface, but nothing reaches it. A leaves the link
        // and stops telling that address, and is back once the link is up.
        let down = try self.network.run(a, ["ip", "link", "set", "eth0", "down"], timeout: 10)
        #expect(down.succeeded, "\(down.stderr)")
        try self.explained(by: [offering]) {
            try offering.waitForLog("mDNS discovery: no longer on eth0", timeout: Self.appearBound)
            try offering.waitForLog("advertised=[127.0.0.1:7475] [P2PFSDaemon] advertised peer addresses changed", timeout: Self.appearBound)
        }
        let up = try self.network.run(a, ["ip", "link", "set", "eth0", "up"], timeout: 10)
        #expect(up.succeeded, "\(up.stderr)")
        try self.explained(by: [offering]) {
            try offering.waitForLog("mDNS discovery: now on eth0", times: 2, timeout: Self.appearBound)
            try offering.waitForLog("advertised=[\(moved):7475] [P2PFSDaemon] advertised peer addresses changed", times: 2, timeout: Self.appearBound)
        }
        let again = try self.network.run(b, [TestEnvironment.p2pfs, "peers", "--node", "\(moved):7475"], timeout: 30)
        #expect(again.text.contains("listening: \(moved):7475\n"), "\(again.text) \(again.stderr)")

        // B's link vanishes: its browser there is closed, and A, found only there, is dropped.
        try self.network.disconnect(b)
        let disconnected = Date()
        try self.explained(by: [offering, client]) {
            try client.waitForLog("mDNS discovery: no longer on eth0", timeout: Self.goodbyeBound)
            try self.waitForMovies([], on: b, within: Self.goodbyeBound)
        }
        print("discovery: files left \(Date().timeIntervalSince(disconnected))s after the link vanished")
    }

    /// Another program holds UDP port 5353 without sharing it when the node
    /// starts (a second mDNS responder that does not set SO_REUSEPORT): the
    /// node cannot open its mDNS socket and says so once. It tries again
    /// at each look at the links, so once the port is free it joins the
    /// link and is found, with no restart.
    @Test func aNodeWhoseMDNSPortWasTakenJoinsOnceItIsFree() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "ip", "netns", "exec", a.namespace, "python3", "-c",
            "import socket, sys, time\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5353))\n"
                + "t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                + "t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); t.bind(('::', 5353))\n"
                + "print('bound', flush=True); time.sleep(120)",
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        // SIGKILL: under the test runner, SIGTERM left it sleeping.
        defer {
            if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
            holder.waitUntilExit()
        }
        let bound = output.fileHandleForReading.availableData
        #expect(String(decoding: bound, as: UTF8.self).hasPrefix("bound"), "the port holder did not start")

        let offering = try self.start(a, files: ["Alien": "a"])
        try self.start(b, client: true)
        #expect(
            offering.log.contains("mDNS discovery: not on eth0 (IPv4) (tried again every 5.0 seconds): UDP port 5353 is held by a program"),
            "\(offering.log)")
        #expect(try self.movies(on: b).isEmpty)

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let freed = Date()
        try self.explained(by: [offering]) {
            try offering.waitForLog("mDNS discovery: now on eth0 (IPv4)", timeout: Self.appearBound)
            try self.waitForMovies(["Alien"], on: b, within: Self.appearBound)
        }
        print("discovery: a found \(Date().timeIntervalSince(freed))s after the port was freed")
    }

    /// Avahi (the mDNS responder of a Debian desktop) running in `host`'s
    /// network namespace, with its own D-Bus in a private mount namespace
    /// (its sockets live in a tmpfs over /run). Stopped with SIGTERM.
    final class Avahi {
        let process = Process()
        let log: URL

        init(in host: TestNetwork.Host, logDirectory: URL) throws {
            self.log = logDirectory.appendingPathComponent("avahi-\(host.name).log")
            FileManager.default.createFile(atPath: self.log.path, contents: nil)
            let script = """
                mount -t tmpfs tmpfs /run && mkdir -p /run/dbus /run/avahi-daemon || exit 1
                dbus-daemon --system --nofork --nopidfile & bus=$!
                i=0; while [ ! -S /run/dbus/system_bus_socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
                avahi-daemon --no-chroot --no-rlimits & avahi=$!
                trap 'kill $avahi $bus; wait; exit 0' TERM
                wait $avahi
                kill $bus
                """
            self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            self.process.arguments = ["ip", "netns", "exec", host.namespace, "unshare", "--mount", "--propagation", "private", "sh", "-c", script]
            let handle = try FileHandle(forWritingTo: self.log)
            self.process.standardOutput = handle
            self.process.standardError = handle
            try self.process.run()
        }

        var text: String { (try? String(contentsOf: self.log, encoding: .utf8)) ?? "" }

        func waitUntilRunning(within bound: Double) throws {
            let start = Date()
            while Date().timeIntervalSince(start) < bound {
                if self.text.contains("Server startup complete") { return }
                guard self.process.isRunning else { throw TestFailure("avahi-daemon exited: \(self.text)") }
                usleep(100_000)
            }
            throw TestFailure("avahi-daemon did not start within \(bound)s: \(self.text)")
        }

        /// `avahi-browse -rtp _p2pfs._tcp` through this Avahi: resolved
        /// lines ("=;iface;proto;name;type;domain;host;address;port;txt").
        func browse() throws -> [String] {
            let output = try ChildProcess.run(
                ["nsenter", "-t", "\(self.process.processIdentifier)", "-m", "-n", "avahi-browse", "-rtp", "_p2pfs._tcp"], timeout: 30
            )
            guard output.succeeded else { throw TestFailure("avahi-browse failed (\(output.status)): \(output.stderr)") }
            return output.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("=;") }
        }

        func stop() {
            guard self.process.isRunning else { return }
            self.process.terminate()
            let start = Date()
            while self.process.isRunning && Date().timeIntervalSince(start) < 10 { usleep(50_000) }
            if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
            self.process.waitUntilExit()
        }

        deinit { self.stop() }
    }

    /// On a desktop, Avahi already holds port 5353: p2pfs shares it and
    /// still hears the link, and Avahi's own browser lists p2pfs nodes.
    @Test(.requires(.avahi))
    func sharesThePortWithAvahiAndAvahiListsTheNodes() throws {
        let v = try self.network.addHost("v")
        let w = try self.network.addHost("w")
        let avahi = try Avahi(in: v, logDirectory: self.directory)
        defer { avahi.stop() }
        try avahi.waitUntilRunning(within: Self.appearBound)

        // V, beside Avahi, only presents the namespace: it announces nothing,
        // so W never learns of it and V can find W only by hearing W's
        // announcements on the port it shares with Avahi.
        try self.start(v, client: true)
        try self.start(w, files: ["Wavelength": "w"])
        try self.explained(by: self.daemons) {
            try self.waitForMovies(["Wavelength"], on: v, within: Self.appearBound)
        }
        let rows = try self.peers(on: v)
        #expect(rows["w"].map { $0.contains("alive") && $0.contains("mDNS") } ?? false, "\(rows.values.sorted())")

        // Avahi, not ours, resolves W with its id, address and port.
        let id = try self.nodeID(w)
        var lines: [String] = []
        func listed() -> Bool {
            lines.contains { line in
                let fields = line.split(separator: ";", omittingEmptySubsequences: false)
                return fields.count >= 10 && fields[2] == "IPv4" && fields[3] == "w" && fields[7] == Substring(w.address)
                    && fields[8] == "7475" && fields[9].contains("\"id=\(id)\"")
            }
        }
        let start = Date()
        repeat {
            lines = try avahi.browse()
            if listed() { break }
            usleep(500_000)
        } while Date().timeIntervalSince(start) < Self.appearBound
        #expect(listed(), "avahi-browse -rtp _p2pfs._tcp printed: \(lines)\navahi log: \(avahi.text)")
    }

    @Test func onAClosedNetworkANodeWithoutTheKeySeesNothing() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let k = try self.network.addHost("k")
        let key = self.directory.appendingPathComponent("net.key")
        try Data((Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() + "\n").utf8).write(to: key)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)

        try self.start(a, files: ["Alien": "a"], key: key.path)
        try self.start(b, client: true, key: key.path)
        let keyless = try self.start(k, client: true)
        try self.waitForMovies(["Alien"], on: b, within: Self.appearBound)

        // K heard the announcement and tried A, which let it in no further.
        try keyless.waitForLog("node at \(a.address):7475 requires a network key", timeout: Self.appearBound)
        let row = try #require(try self.peers(on: k)["a"], "k does not list a")
        #expect(row.contains("mDNS") && !row.contains("alive"), "\(row)")
        #expect(try self.movies(on: k).isEmpty)
        let listing = try self.network.run(k, [TestEnvironment.p2pfs, "ls", "/", "--nfs", "127.0.0.1:2049"], timeout: 30)
        #expect(listing.succeeded && listing.text.split(separator: "\n").count == 1, "\(listing.text)")
    }
}
