import Foundation
import TestPrerequisites
import Testing

/// A closed network (`--network-key-file`) across real daemons, each in its
/// own network namespace: nodes with the same key see each other, a node
/// with another key or none sees nothing and is not seen, and a stranger
/// speaking raw RPC gets nothing but refusals.
@Suite(.serialized, .requires(.networkNamespaces, .libnfsUtils, .python3))
final class NetworkKeyScenarioTests {
    let directory: URL
    let network: TestNetwork
    var daemons: [DaemonProcess] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("netkey")
        self.network = try TestNetwork()
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        self.network.tearDown()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// A key file as the docs say to make one (base64 of 32 random bytes,
    /// with its newline), readable by its owner only.
    func makeKey(_ name: String) throws -> String {
        let url = self.directory.appendingPathComponent("\(name).key")
        let random = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try Data((Data(random).base64EncodedString() + "\n").utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        return url.path
    }

    @discardableResult
    func start(
        _ host: TestNetwork.Host, key: String?, exports: [String: [String: Data]] = [:], peers: [TestNetwork.Host] = [], client: Bool = false
    ) throws -> DaemonProcess {
        var arguments = [
            "--name", host.name, "--state-dir", self.directory.appendingPathComponent("state-\(host.name)").path,
            "--crawl-interval", "1", "--peer-timeout", "4", "--log-level", "debug",
        ]
        if let key {
            arguments += ["--network-key-file", key]
        }
        for (name, files) in exports.sorted(by: { $0.key < $1.key }) {
            let root = self.directory.appendingPathComponent("export-\(host.name)-\(name)")
            for (path, data) in files {
                let url = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
            }
            arguments += ["--export", "\(name)=\(root.path)", "--listen", "\(host.address):7475"]
        }
        for peer in peers {
            arguments += ["--peer", "\(peer.address):7475"]
        }
        if client {
            arguments += ["--nfs", "127.0.0.1:2049", "--portmap", "off"]
        }
        let daemon = try DaemonProcess(name: host.name, arguments: arguments, namespace: host.namespace, logDirectory: self.directory)
        self.daemons.append(daemon)
        try daemon.waitForLog(client ? "namespace ready" : "offering files to peers")
        return daemon
    }

    /// Names listed in a directory of the client's namespace; throws when
    /// nfs-ls cannot list it, so "listed, empty" and "could not list" differ.
    func names(in path: String, on client: TestNetwork.Host) throws -> Set<String> {
        let listing = try self.network.run(client, ["nfs-ls", TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: path)], timeout: 30)
        guard listing.succeeded else {
            throw TestFailure("nfs-ls \(path) on \(client.name) failed (status \(listing.status)): \(listing.stderr)")
        }
        return Set(ExportTree.parseListing(listing.text).map(\.path))
    }

    func waitForNames(_ expected: Set<String>, in path: String, on client: TestNetwork.Host, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "nothing yet"
        while Date() < deadline {
            do {
                let names = try self.names(in: path, on: client)
                if names == expected { return }
                last = "\(names.sorted())"
            } catch {
                last = "\(error)"
            }
            usleep(200_000)
        }
        throw TestFailure("\(path) on \(client.name) shows \(last), expected \(expected.sorted()) within \(timeout)s")
    }

    func peers(of node: TestNetwork.Host, from host: TestNetwork.Host, key: String?) throws -> ChildProcess.Output {
        var arguments = [TestEnvironment.p2pfs, "peers", "--node", "\(node.address):7475"]
        if let key { arguments += ["--network-key-file", key] }
        return try self.network.run(host, arguments, timeout: 30)
    }

    /// Names in the NAME column of `p2pfs peers`; nil when the command
    /// failed or printed no table.
    static func listedNames(_ output: ChildProcess.Output) -> Set<String>? {
        let lines = output.text.split(separator: "\n")
        guard output.succeeded, let header = lines.firstIndex(where: { $0.hasPrefix("NAME") }) else { return nil }
        return Set(lines[(header + 1)...].compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    @Test func onlyHoldersOfTheKeyJoin() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let d = try self.network.addHost("d")
        let ours = try self.makeKey("ours")
        let theirs = try self.makeKey("theirs")
        let killBill = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })

        let nodeA = try self.start(a, key: ours, exports: ["movies": ["KillBill": killBill]])
        let nodeB = try self.start(b, key: theirs, exports: ["movies": ["TheMatrix": Data("b's film".utf8)]], peers: [a])
        let nodeC = try self.start(c, key: ours, peers: [a, b], client: true)
        // D has no key, and a file of its own: what it lists shows it serves.
        let nodeD = try self.start(d, key: nil, exports: ["own": ["Mine": Data("d's own".utf8)]], peers: [a], client: true)

        // C sees A's files, reads them, and never B's.
        try self.waitForNames(["KillBill"], in: "/movies", on: c)
        let read = try self.network.run(c, ["nfs-cat", TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: "/movies/KillBill")])
        #expect(read.succeeded, "\(read.stderr)")
        #expect(read.stdout == killBill)
        for _ in 0..<3 {
            usleep(1_000_000)  // a few crawl rounds
            #expect(try self.names(in: "/movies", on: c) == ["KillBill"])
        }

        // Each refusal is logged once, at warning, with the address.
        try nodeC.waitForLog("node at \(b.address):7475 is not part of this closed network")
        try nodeB.waitForLog("node at \(a.address):7475 is not part of this closed network")
        try nodeD.waitForLog("node at \(a.address):7475 requires a network key")
        #expect(nodeC.log.components(separatedBy: "node at \(b.address):7475 is not part of").count == 2, "warned more than once")
        #expect(nodeC.log.contains("warning"))

        // D (no key) sees nothing of the closed network: it lists its own
        // export and nothing else, and still serves its own file.
        #expect(try self.names(in: "/", on: d) == ["own"])
        let mine = try self.network.run(d, ["nfs-cat", TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: "/own/Mine")])
        #expect(mine.succeeded && mine.stdout == Data("d's own".utf8), "\(mine.stderr)")
        #expect(nodeD.isRunning)

        // The control program on a peer listener: members get in, others
        // fail cleanly with a one-line reason.
        let members = try self.peers(of: a, from: c, key: ours)
        #expect(members.succeeded, "\(members.stderr)")
        #expect(members.text.contains("served to peers: "))
        let listedByA = try #require(Self.listedNames(members), "\(members.text)")
        #expect(!listedByA.contains("b") && !listedByA.contains("d"), "A lists \(listedByA)")
        let withOurKey = try self.peers(of: b, from: c, key: ours)
        #expect(!withOurKey.succeeded && !withOurKey.timedOut)
        #expect(withOurKey.stderr.contains("is not part of this closed network"), "\(withOurKey.stderr)")
        #expect(withOurKey.stderr.split(separator: "\n").count == 1, "\(withOurKey.stderr)")
        let withoutKey = try self.peers(of: b, from: c, key: nil)
        #expect(!withoutKey.succeeded && !withoutKey.timedOut)
        #expect(withoutKey.stderr.contains("answers only holders of its network key"), "\(withoutKey.stderr)")
        // C's own view, over loopback (open): A alive, no B, no D.
        let view = try self.network.run(c, [TestEnvironment.p2pfs, "peers", "--nfs", "127.0.0.1:2049"])
        #expect(view.succeeded, "\(view.stderr)")
        #expect(Self.listedNames(view) == ["a"], "\(view.text)")

        // A stranger speaking raw RPC to A gets only refusals: in
        // plaintext, without a certificate, and with one of its own.
        let strangerCredentials = try TestNodeCredentials(directory: self.directory, name: "stranger")
        let stranger = try self.network.run(
            d,
            [
                "python3", "-c", Self.strangerScript, a.address, "7475", strangerCredentials.certificateFile, strangerCredentials.keyFile,
                strangerCredentials.nodeID,
            ],
            timeout: 30
        )
        #expect(stranger.succeeded, "\(stranger.stderr)")
        let answers = try JSONSerialization.jsonObject(with: stranger.stdout) as? [String: Any] ?? [:]
        let denied = "0000000d"
        for procedure in ["hello", "changes", "catalog", "peers", "read", "authenticate", "authenticate_after_challenge", "changes_after_challenge", "read_after_challenge"] {
            #expect(answers[procedure] as? String == denied, "\(procedure): \(answers[procedure] ?? "nothing")")
        }
        #expect(answers["null"] as? String == "")
        // Plaintext (protocol version 1): told the version, then closed.
        #expect(answers["plaintext"] as? String == "accept_stat:2:2:2", "\(answers["plaintext"] ?? "nothing")")
        #expect(answers["plaintext_closed"] as? Bool == true)
        // TLS without a client certificate: nothing at all.
        #expect(answers["no_certificate"] as? String == "refused", "\(answers["no_certificate"] ?? "nothing")")
        // An id that is not its certificate's: denied, not even challenged.
        #expect(answers["hello_challenge_other_id"] as? String == denied)
        // The handshake's HELLO: the id the proof is bound to, nothing else.
        let handshake = answers["hello_challenge"] as? [String: Any] ?? [:]
        #expect(handshake["status"] as? Int == 0)
        #expect(handshake["name"] as? String == "")
        #expect(handshake["roles"] as? Int == 0)
        #expect(handshake["addresses"] as? Int == 0)
        #expect(handshake["catalog_generation"] as? Int == 0)
        #expect(handshake["peers_generation"] as? Int == 0)
        #expect(handshake["proof_length"] as? Int == 32)
        // The control program: AUTH_ERROR / AUTH_TOOWEAK.
        #expect(answers["control_status"] as? String == "denied:1:5", "\(answers["control_status"] ?? "nothing")")
        #expect(nodeA.isRunning)
        // A learned nothing about the strangers: it still lists its peers
        // (so the listing is real), and neither the stranger nor D.
        let after = try self.peers(of: a, from: c, key: ours)
        let listedAfter = try #require(Self.listedNames(after), "p2pfs peers after the stranger: \(after.text) \(after.stderr)")
        #expect(!listedAfter.contains("stranger") && !listedAfter.contains("d"), "\(after.text)")
        #expect(listedAfter == listedByA, "A's peers changed: \(listedByA.sorted()) before, \(listedAfter.sorted()) after")
    }

    /// A client sharing no code with the daemon: Python, raw sockets, the
    /// calls built by hand. Prints what each call got, as JSON.
    static let strangerScript = #"""
        import json, os, socket, ssl, struct, sys
        host, port, cert, key, my_id = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], bytes.fromhex(sys.argv[5])
        def tls_context(with_certificate):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            if with_certificate: context.load_cert_chain(cert, key)
            return context
        PEER, CONTROL = 0x20503246, 0x20503247
        def u32(v): return struct.pack('>I', v)
        def u64(v): return struct.pack('>Q', v)
        def opaque(b): return u32(len(b)) + b + b'\0' * ((4 - len(b) % 4) % 4)
        def recvn(s, n):
            data = b''
            while len(data) < n:
                chunk = s.recv(n - len(data))
                if not chunk: raise EOFError('closed')
                data += chunk
            return data
        xid = [0]
        def call(s, program, procedure, args=b'', version=2):
            xid[0] += 1
            body = u32(xid[0]) + u32(0) + u32(2) + u32(program) + u32(version) + u32(procedure) + u32(0) + u32(0) + u32(0) + u32(0) + args
            s.sendall(u32(0x80000000 | len(body)) + body)
            record = b''
            while True:
                mark = struct.unpack('>I', recvn(s, 4))[0]
                record += recvn(s, mark & 0x7fffffff)
                if mark & 0x80000000: break
            words = lambda at: struct.unpack('>I', record[at:at + 4])[0]
            if words(8) != 0:
                return ('denied', words(12), words(16))
            verifier = words(16)
            at = 20 + verifier + (4 - verifier % 4) % 4
            return ('accepted', words(at), record[at + 4:])
        def results(reply):
            kind, status, rest = reply
            if kind != 'accepted': return 'denied:%d:%d' % (status, rest)
            if status == 2: return 'accept_stat:2:%d:%d' % struct.unpack('>II', rest[0:8])
            if status != 0: return 'accept_stat:%d' % status
            return rest.hex()
        out = {}
        # Protocol version 1: plaintext RPC.
        plain = socket.create_connection((host, port), timeout=5)
        out['plaintext'] = results(call(plain, PEER, 1, u32(1) + os.urandom(16) + opaque(b'old') + u32(2) + u32(0) + opaque(b''), version=1))
        try: out['plaintext_closed'] = plain.recv(1) == b''
        except OSError: out['plaintext_closed'] = True
        # TLS without a certificate: the server requires one.
        try:
            bare = tls_context(False).wrap_socket(socket.create_connection((host, port), timeout=5))
            call(bare, PEER, 0)
            out['no_certificate'] = 'answered'
        except (OSError, EOFError, ssl.SSLError):
            out['no_certificate'] = 'refused'
        me = my_id + opaque(b'stranger') + u32(2) + u32(0)
        s = tls_context(True).wrap_socket(socket.create_connection((host, port), timeout=5))
        out['null'] = results(call(s, PEER, 0))
        out['hello_challenge_other_id'] = results(call(s, PEER, 1, u32(2) + os.urandom(16) + opaque(b'stranger') + u32(2) + u32(0) + opaque(os.urandom(32))))
        out['hello'] = results(call(s, PEER, 1, u32(2) + me + opaque(b'')))
        out['changes'] = results(call(s, PEER, 3, u64(0)))
        out['catalog'] = results(call(s, PEER, 4, u64(0) + u64(0) + u32(65536)))
        out['peers'] = results(call(s, PEER, 5))
        out['read'] = results(call(s, PEER, 6, opaque(b'movies/KillBill') + u64(0) + u32(4096)))
        out['authenticate'] = results(call(s, PEER, 2, opaque(os.urandom(32))))
        kind, status, rest = call(s, PEER, 1, u32(2) + me + opaque(os.urandom(32)))
        hello = {'status': struct.unpack('>I', rest[0:4])[0]}
        at = 4 + 4 + 16
        name_length = struct.unpack('>I', rest[at:at + 4])[0]
        hello['name'] = rest[at + 4:at + 4 + name_length].decode()
        at += 4 + name_length + (4 - name_length % 4) % 4
        hello['roles'], hello['addresses'] = struct.unpack('>II', rest[at:at + 8])
        at += 8
        hello['catalog_generation'], hello['peers_generation'] = struct.unpack('>QQ', rest[at:at + 16])
        hello['proof_length'] = struct.unpack('>I', rest[at + 16:at + 20])[0]
        out['hello_challenge'] = hello
        out['authenticate_after_challenge'] = results(call(s, PEER, 2, opaque(os.urandom(32))))
        out['changes_after_challenge'] = results(call(s, PEER, 3, u64(0)))
        out['read_after_challenge'] = results(call(s, PEER, 6, opaque(b'movies/KillBill') + u64(0) + u32(4096)))
        out['control_status'] = results(call(s, CONTROL, 1, version=1))
        print(json.dumps(out))
        """#
}
