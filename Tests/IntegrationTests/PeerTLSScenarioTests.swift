import Foundation
import TestPrerequisites
import Testing

/// TLS between real daemons in network namespaces: what crosses the wire
/// is encrypted, a tampered byte fails the read (and another source serves
/// it), an address announced with another node's id is refused, and a
/// `--trust` list admits only the nodes on it.
@Suite(.serialized, .requires(.networkNamespaces, .libnfsUtils, .python3))
final class PeerTLSScenarioTests {
    let directory: URL
    let network: TestNetwork
    var daemons: [DaemonProcess] = []
    var scripts: [NamespaceScript] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("peertls")
        self.network = try TestNetwork()
    }

    deinit {
        for script in self.scripts { script.stop() }
        for daemon in self.daemons { daemon.stop() }
        self.network.tearDown()
        try? FileManager.default.removeItem(at: self.directory)
    }

    func stateDirectory(_ name: String) -> String {
        self.directory.appendingPathComponent("state-\(name)").path
    }

    @discardableResult
    func start(
        _ host: TestNetwork.Host, exports: [String: URL] = [:], listen: String? = nil, peers: [String] = [], client: Bool = false,
        discovery: Bool = false, stateDirectory: String? = nil, extra: [String] = []
    ) throws -> DaemonProcess {
        var arguments = [
            "--name", host.name, "--state-dir", stateDirectory ?? self.stateDirectory(host.name),
            "--crawl-interval", "1", "--peer-timeout", "4", "--log-level", "debug", "--discovery", discovery ? "on" : "off",
        ]
        for (name, path) in exports.sorted(by: { $0.key < $1.key }) {
            arguments += ["--export", "\(name)=\(path.path)"]
        }
        if !exports.isEmpty {
            arguments += ["--listen", listen ?? "\(host.address):7475"]
        }
        for peer in peers {
            arguments += ["--peer", peer]
        }
        if client {
            arguments += ["--nfs", "127.0.0.1:2049", "--portmap", "off"]
        }
        let daemon = try DaemonProcess(
            name: host.name, arguments: arguments + extra, namespace: host.namespace, logDirectory: self.directory
        )
        self.daemons.append(daemon)
        try daemon.waitForLog(client ? "namespace ready" : "offering files to peers")
        return daemon
    }

    func makeExport(_ name: String, files: [String: Data]) throws -> URL {
        let root = self.directory.appendingPathComponent("export-\(name)")
        for (path, data) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            // One mtime for every copy: the same file, offered twice.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: url.path)
        }
        return root
    }

    static func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: path)
    }

    func names(in path: String, on client: TestNetwork.Host) throws -> Set<String> {
        let listing = try self.network.run(client, ["nfs-ls", self.url(path)], timeout: 30)
        guard listing.succeeded else { return [] }
        return Set(ExportTree.parseListing(listing.text).map(\.path))
    }

    func waitForNames(_ expected: Set<String>, in path: String, on client: TestNetwork.Host, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Set<String> = []
        while Date() < deadline {
            last = try self.names(in: path, on: client)
            if last == expected { return }
            usleep(200_000)
        }
        throw TestFailure("\(path) on \(client.name) shows \(last.sorted()), expected \(expected.sorted()) within \(timeout)s")
    }

    // MARK: Confidentiality

    /// Every TCP payload byte to or from a port, as seen on an interface
    /// (AF_PACKET: no capture tool needed), written to a file once the file
    /// PATH.stop appears (a signal may reach it blocked).
    static let sniffer = #"""
        import os, signal, socket, struct, sys
        interface, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: drop nothing
        s.bind((interface, 0))
        s.settimeout(0.2)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        payload, packets = bytearray(), 0
        print('ready', flush=True)
        while not stop and not os.path.exists(path + '.stop'):
            try:
                frame = s.recv(1 << 18)
            except (socket.timeout, InterruptedError):
                continue
            try:
                if len(frame) < 34 or frame[12:14] != b'\x08\x00': continue
                ip = frame[14:]
                if ip[9] != 6: continue
                header, total = (ip[0] & 15) * 4, struct.unpack('>H', ip[2:4])[0]
                tcp = ip[header:total if total else len(ip)]
                if len(tcp) < 20 or port not in struct.unpack('>HH', tcp[0:4]): continue
                data = tcp[(tcp[12] >> 4) * 4:]
            except (IndexError, struct.error):
                continue
            if data:
                payload += data
                packets += 1
        open(path, 'wb').write(bytes(payload))
        print('captured %d packets, %d bytes' % (packets, len(payload)), flush=True)
        """#

    @Test func aForwardedReadCrossesTheWireEncrypted() throws {
        let a = try self.network.addHost("a")
        let c = try self.network.addHost("c")
        let film = Self.randomData(2 << 20)
        try self.start(a, exports: ["movies": try self.makeExport("a", files: ["Film": film])])
        let capture = self.directory.appendingPathComponent("capture-a.bin")
        let sniffer = try NamespaceScript("sniffer", in: a, script: Self.sniffer, arguments: ["eth0", "7475", capture.path], logDirectory: self.directory)
        self.scripts.append(sniffer)
        try self.start(c, peers: ["\(a.address):7475"], client: true)
        try self.waitForNames(["Film"], in: "/movies", on: c)
        let read = try self.network.run(c, ["nfs-cat", self.url("/movies/Film")], timeout: 60)
        #expect(read.succeeded, "\(read.stderr)")
        #expect(read.stdout == film)
        _ = FileManager.default.createFile(atPath: capture.path + ".stop", contents: nil)
        let deadline = Date().addingTimeInterval(30)
        while !sniffer.text.contains("captured") && Date() < deadline { usleep(50_000) }
        sniffer.stop()
        guard let captured = try? Data(contentsOf: capture) else {
            throw TestFailure("the sniffer wrote no capture: \(sniffer.text)")
        }
        // The capture saw the transfer (the whole file went through it)...
        #expect(captured.count > film.count, "captured only \(captured.count) bytes: \(sniffer.text)")
        // ...and none of it in the clear: no 24-byte piece of the file, at
        // 256 places spread over it, is anywhere in the capture.
        let pieces = stride(from: 0, to: film.count - 24, by: film.count / 256).map { film[$0..<($0 + 24)] }
        let found = pieces.filter { captured.range(of: $0) != nil }
        #expect(found.isEmpty, "\(found.count) of \(pieces.count) pieces of the file are in the capture")
    }

    // MARK: Integrity

    /// A TCP proxy that flips one bit of the server-to-client stream of
    /// every connection, at byte `flip_at` (after the TLS handshake, inside
    /// the first forwarded block), and relays everything else unchanged.
    static let bitFlipper = #"""
        import select, signal, socket, sys, threading
        listen_host, listen_port, target_host, target_port, flip_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((listen_host, listen_port))
        listener.listen(16)
        print('ready', flush=True)
        def relay(client):
            server = socket.create_connection((target_host, target_port))
            seen = 0
            try:
                while True:
                    for source in select.select([client, server], [], [])[0]:
                        data = source.recv(1 << 16)
                        if not data: raise EOFError
                        if source is server:
                            if seen <= flip_at < seen + len(data):
                                at = flip_at - seen
                                data = data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:]
                                print('flipped a bit at byte %d' % flip_at, flush=True)
                            seen += len(data)
                            client.sendall(data)
                        else:
                            server.sendall(data)
            except (OSError, EOFError):
                pass
            client.close()
            server.close()
        while True:
            connection, _ = listener.accept()
            print('accepted a connection', flush=True)
            threading.Thread(target=relay, args=(connection,), daemon=True).start()
        """#

    @Test(.requires(.nfsload)) func aBitFlippedOnTheWireFailsTheReadAndAnotherSourceServesIt() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let only = Self.randomData(2 << 20)
        let shared = Self.randomData(2 << 20)
        // A listens on its loopback only: C reaches it through the proxy,
        // which runs in A's namespace on A's address.
        try self.start(a, exports: ["movies": try self.makeExport("a", files: ["Only": only, "Shared": shared])], listen: "127.0.0.1:7475")
        let proxy = try NamespaceScript(
            "bitflipper", in: a, script: Self.bitFlipper, arguments: [a.address, "7476", "127.0.0.1", "7475", String(256 * 1024)],
            logDirectory: self.directory
        )
        self.scripts.append(proxy)
        try self.start(b, exports: ["movies": try self.makeExport("b", files: ["Shared": shared])])
        let client = try self.start(c, peers: ["\(a.address):7476", "\(b.address):7475"], client: true)
        try self.waitForNames(["Only", "Shared"], in: "/movies", on: c)

        // Only A has it: the read fails with NFS3ERR_IO (EIO to a kernel
        // client), and every READ that succeeded returned the file's own
        // bytes, never altered ones (nfsload compares each with the source).
        let onlyPath = self.directory.appendingPathComponent("only-source")
        try only.write(to: onlyPath)
        let failed = try self.network.run(
            c,
            [
                TestEnvironment.nfsload, "seqread", "--url", self.url("/"), "--file", "movies/Only", "--block", "\(64 << 10)",
                "--inflight", "1", "--verify", onlyPath.path, "--timeout", "20", "--deadline", "50",
            ],
            timeout: 60
        )
        #expect(failed.status == 1, "a tampered read did not fail as a read error: \(failed.text) \(failed.stderr)")
        #expect(failed.stderr.contains("NFS3ERR_IO"), "the failed READ was not NFS3ERR_IO: \(failed.stderr)")
        #expect(failed.text.contains("\"mismatches\":0"), "a READ returned bytes that are not the file's: \(failed.text)")
        #expect(proxy.text.contains("flipped a bit"), "\(proxy.text)")
        #expect(client.log.contains("BAD_DECRYPT") || client.log.contains("DECRYPTION_FAILED") || client.log.contains("bad record mac") || client.log.contains("BAD_RECORD_MAC"), "no TLS error in the client's log")

        // A and B have it: A (first by name) fails the same way, B serves it.
        // First the crawler connects to A again (a failed node is skipped
        // for a second), so that the read goes to A first.
        let accepted = proxy.text.components(separatedBy: "accepted a connection").count
        let deadline = Date().addingTimeInterval(30)
        while proxy.text.components(separatedBy: "accepted a connection").count == accepted && Date() < deadline { usleep(100_000) }
        try self.waitForNames(["Only", "Shared"], in: "/movies", on: c)
        let flipsBefore = proxy.text.components(separatedBy: "flipped a bit").count
        let served = try self.network.run(c, ["nfs-cat", self.url("/movies/Shared")], timeout: 60)
        #expect(served.succeeded, "\(served.stderr)")
        #expect(served.stdout == shared)
        #expect(proxy.text.components(separatedBy: "flipped a bit").count > flipsBefore, "the read did not go through A first")
    }

    // MARK: Identity

    /// Announces, from its host, a `_p2pfs._tcp` instance with a node id it
    /// does not hold the key of, at its own address and port 7475.
    static let impostor = #"""
        import signal, socket, sys, time
        from zeroconf import Zeroconf, ServiceInfo, IPVersion
        address, stolen_id = sys.argv[1], sys.argv[2]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
        info = ServiceInfo("_p2pfs._tcp.local.", "impostor._p2pfs._tcp.local.", addresses=[socket.inet_aton(address)], port=7475,
                           properties={"id": stolen_id, "v": "2", "roles": "server"}, server="impostor.local.")
        zc.register_service(info)
        print('ready', flush=True)
        try:
            while True: time.sleep(1)
        finally:
            zc.unregister_service(info)
            zc.close()
        """#

    @Test(.requires(.pythonZeroconf))
    func anAddressAnnouncedWithAnotherNodesIDIsRefused() throws {
        let m = try self.network.addHost("m")
        let c = try self.network.addHost("c")
        // The victim: a node whose id the impostor announces, not running.
        let victim = try TestNodeCredentials(directory: self.directory, name: "victim")
        let impostor = try self.start(m, exports: ["movies": try self.makeExport("m", files: ["Fake": Data("fake".utf8)])], discovery: true)
        let announcer = try NamespaceScript(
            "impostor", in: m, script: Self.impostor, arguments: [m.address, victim.nodeID], logDirectory: self.directory
        )
        self.scripts.append(announcer)
        let client = try self.start(c, client: true, discovery: true)
        let impostorID = try String(contentsOfFile: self.stateDirectory("m") + "/node-id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try client.waitForLog(
            "node at \(m.address):7475 refused: expected node \(victim.nodeID), but its certificate is that of node \(impostorID)",
            timeout: 60
        )
        // C still takes M for what it is (its own announcement, its own id).
        try self.waitForNames(["Fake"], in: "/movies", on: c, timeout: 60)
        let peers = try self.network.run(c, [TestEnvironment.p2pfs, "peers", "--nfs", "127.0.0.1:2049"])
        #expect(peers.succeeded, "\(peers.stderr)")
        // The announced candidate is never verified: not alive, no files.
        let stolen = peers.text.split(separator: "\n").filter { $0.contains(String(victim.nodeID.prefix(12))) }
        #expect(stolen.allSatisfy { $0.contains("unverified") && !$0.contains("alive") }, "the stolen id got in: \(peers.text)")
        #expect(impostor.isRunning)
    }

    @Test func onlyNodesOnTheTrustListGetAnything() throws {
        let a = try self.network.addHost("a")
        let c = try self.network.addHost("c")
        let d = try self.network.addHost("d")
        // C's identity is made before it starts, so A can name it.
        let trusted = try TestNodeCredentials(directory: self.directory, name: "c")
        let untrusted = try TestNodeCredentials(directory: self.directory, name: "d")
        let nodeA = try self.start(
            a, exports: ["movies": try self.makeExport("a", files: ["Film": Data("for c only".utf8)])],
            extra: ["--trust", trusted.nodeID]
        )
        try self.start(c, peers: ["\(a.address):7475"], client: true, stateDirectory: self.directory.appendingPathComponent("credentials-c").path)
        let nodeD = try self.start(d, peers: ["\(a.address):7475"], client: true, stateDirectory: self.directory.appendingPathComponent("credentials-d").path)
        try self.waitForNames(["Film"], in: "/movies", on: c)
        let read = try self.network.run(c, ["nfs-cat", self.url("/movies/Film")], timeout: 60)
        #expect(read.succeeded && read.stdout == Data("for c only".utf8), "\(read.stderr)")
        try nodeA.waitForLog("refused node \(untrusted.nodeID): not in the --trust list")
        try nodeD.waitForLog("node at \(a.address):7475 refused this node's certificate: node \(untrusted.nodeID) is not in its --trust list")
        #expect(try self.names(in: "/", on: d).isEmpty)
        #expect(!nodeA.log.contains("refused node \(trusted.nodeID)"))
        #expect(nodeD.isRunning)
    }
}
