import Foundation
import TestPrerequisites
import Testing

/// One daemon under load from every side at once: 64 NFS clients (nfsload
/// processes reading sequentially and verifying, raw-RPC threads reading at
/// random offsets and doing metadata calls) and 8 peer-protocol readers, on
/// files of its own export and on files a second node offers (read through
/// forwarding). Every workload is a fixed count of requests, every reply is
/// checked against the source bytes, and the daemon's peak memory stays
/// bounded. (nfsload's randread and meta run for a duration; the random and
/// metadata clients here are raw-RPC threads so that they, too, make a fixed
/// number of requests.)
@Suite(.serialized, .requires(.libnfsUtils, .nfsload, .python3))
final class LoadTests {
    static let host = "127.0.48.1"
    static let remoteHost = "127.0.48.2"
    static let nfsPort = 20548
    static let peerPort = 17548
    static let remotePeerPort = 17549
    static let nfs: UInt32 = 100_003
    static let mount: UInt32 = 100_005
    static let peer: UInt32 = 0x2050_3246

    static let localFiles = (0..<4).map { "f\($0)" }
    static let remoteFiles = (0..<2).map { "r\($0)" }
    static let fileBytes = 4 << 20
    static let metaFiles = 200

    // The load, in requests (not a duration).
    static let sequentialClients = 16  // nfsload seqread --verify, 8 local + 8 forwarded
    static let sequentialBytes = 2 << 20  // per client, 256 KiB READs: 8 each
    static let randomClients = 24  // raw RPC READs at random offsets
    static let randomReads = 100  // per client
    static let metaClients = 24  // raw RPC LOOKUP/GETATTR/READDIR
    static let metaCalls = 200  // per client
    static let peerReaders = 8  // peer-protocol READs of exported files
    static let peerReads = 80  // per reader

    let directory: URL
    var daemons: [DaemonProcess] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("load")
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Counts of one kind of client's requests: done, and failed (with the
    /// first few reasons).
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var done = 0
        private(set) var failures: [String] = []
        private(set) var failed = 0

        func ok(_ count: Int = 1) {
            self.lock.withLock { self.done += count }
        }

        func fail(_ why: String) {
            self.lock.withLock {
                self.failed += 1
                if self.failures.count < 10 { self.failures.append(why) }
            }
        }
    }

    static func vmHWMKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// Runs `body(index)` on `count` threads of their own, all released at
    /// once, and waits (bounded) for every one, without holding one of the
    /// test runner's few cooperative threads while they run.
    static func concurrently(_ count: Int, timeout: Double, _ body: @escaping @Sendable (Int) -> Void) async -> Bool {
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                start.wait()
                body(index)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<count { start.signal() }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: group.wait(timeout: .now() + timeout) == .success)
            }
        }
    }

    @Test func sixtyFourNFSClientsAndEightPeerReadersAtOnce() async throws {
        let fm = FileManager.default
        let localRoot = self.directory.appendingPathComponent("local")
        let remoteRoot = self.directory.appendingPathComponent("remote")
        try fm.createDirectory(at: localRoot.appendingPathComponent("meta"), withIntermediateDirectories: true)
        try fm.createDirectory(at: remoteRoot, withIntermediateDirectories: true)
        for name in Self.localFiles { try ExportTree.writeRandomFile(at: localRoot.appendingPathComponent(name), bytes: Self.fileBytes) }
        for name in Self.remoteFiles { try ExportTree.writeRandomFile(at: remoteRoot.appendingPathComponent(name), bytes: Self.fileBytes) }
        for index in 0..<Self.metaFiles {
            try Data("meta \(index)\n".utf8).write(to: localRoot.appendingPathComponent(String(format: "meta/m%03d", index)))
        }
        // What every reply is checked against.
        var sources: [String: [UInt8]] = [:]
        for name in Self.localFiles { sources["local/" + name] = Array(try Data(contentsOf: localRoot.appendingPathComponent(name))) }
        for name in Self.remoteFiles { sources["remote/" + name] = Array(try Data(contentsOf: remoteRoot.appendingPathComponent(name))) }
        let content = sources

        let remote = try DaemonProcess(
            name: "offering",
            arguments: [
                "--name", "offering", "--export", "remote=\(remoteRoot.path)", "--listen", "\(Self.remoteHost):\(Self.remotePeerPort)",
                "--portmap", "off", "--crawl-interval", "1", "--state-dir", self.directory.appendingPathComponent("state-offering").path,
            ],
            logDirectory: self.directory
        )
        self.daemons.append(remote)
        try remote.waitForLog("offering files to peers")
        let daemon = try DaemonProcess(
            name: "loaded",
            arguments: [
                "--name", "loaded", "--export", "local=\(localRoot.path)", "--nfs", "\(Self.host):\(Self.nfsPort)",
                "--listen", "\(Self.host):\(Self.peerPort)", "--peer", "\(Self.remoteHost):\(Self.remotePeerPort)",
                "--portmap", "off", "--crawl-interval", "1", "--cache-size", "64",
                "--state-dir", self.directory.appendingPathComponent("state-loaded").path,
            ],
            logDirectory: self.directory
        )
        self.daemons.append(daemon)
        try daemon.waitForLog("namespace ready")
        let url = Self.url
        // The offering node's files appear in the namespace (bounded wait).
        let deadline = Date().addingTimeInterval(20)
        var listed = ""
        while Date() < deadline {
            listed = (try? ChildProcess.run(["nfs-ls", url("/remote")], timeout: 10).text) ?? ""
            if Self.remoteFiles.allSatisfy({ listed.contains(" " + $0) }) { break }
            usleep(200_000)
        }
        #expect(Self.remoteFiles.allSatisfy { listed.contains(" " + $0) }, "remote files never appeared: \(listed)")
        let idleHWM = try Self.vmHWMKiB(daemon.pid)
        // The peer listener speaks TLS; the raw peer readers go through this.
        let tunnel = try PeerTLSTunnel(
            to: Self.host, port: Self.peerPort, credentials: try TestNodeCredentials(directory: self.directory, name: "raw-reader")
        )
        defer { tunnel.stop() }
        let tunnelPort = tunnel.port

        let sequential = Tally()
        let random = Tally()
        let meta = Tally()
        let peer = Tally()
        let started = Date()
        let clients = Self.sequentialClients + Self.randomClients + Self.metaClients + Self.peerReaders
        let finished = await Self.concurrently(clients, timeout: 300) { index in
            switch index {
            case ..<Self.sequentialClients:
                Self.sequentialClient(index, root: index % 2 == 0 ? localRoot : remoteRoot, tally: sequential)
            case ..<(Self.sequentialClients + Self.randomClients):
                Self.randomReader(seed: UInt64(index), content: content, tally: random)
            case ..<(Self.sequentialClients + Self.randomClients + Self.metaClients):
                Self.metaClient(seed: UInt64(index), tally: meta)
            default:
                Self.peerReader(seed: UInt64(index), content: content, tally: peer, port: tunnelPort)
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        let peakHWM = try Self.vmHWMKiB(daemon.pid)
        print("load: \(clients) clients in \(String(format: "%.1f", elapsed)) s; VmHWM idle \(idleHWM) KiB, peak \(peakHWM) KiB")

        // Every client is bounded (20 s per call, nfsload --deadline 100): one
        // still running after 300 s is a hang, not a slow machine. How long
        // the load took is printed above, not asserted (machines are shared).
        #expect(finished, "clients still running after 300 s")
        #expect(daemon.isRunning && remote.isRunning)
        for (name, tally, expected) in [
            ("sequential", sequential, Self.sequentialClients * (Self.sequentialBytes / (256 << 10))),
            ("random", random, Self.randomClients * Self.randomReads), ("meta", meta, Self.metaClients * Self.metaCalls),
            ("peer", peer, Self.peerReaders * Self.peerReads),
        ] {
            #expect(tally.failed == 0, "\(name): \(tally.failed) failed: \(tally.failures)")
            #expect(tally.done == expected, "\(name): \(tally.done) of \(expected) requests checked")
        }
        // Peak memory. Measured on the 2-core development machine, debug
        // build: VmHWM about 31 MiB right after start-up and 51-58 MiB at the
        // end of this load (over five runs). What may legitimately be held:
        // the block cache (--cache-size 64, but only 8 MiB of remote files
        // exist), up to 72 replies of at most 1 MiB in flight, NIO buffers per
        // connection. 128 MiB is more than twice the observed peak, and fails
        // if a reply or a file were kept per client (64 clients x 4 MiB alone
        // is 256 MiB) or if the cache grew past its data.
        #expect(peakHWM < 128 * 1024, "peak VmHWM \(peakHWM) KiB (idle \(idleHWM) KiB)")
    }

    // MARK: Clients

    /// nfsload seqread: 256 KiB READs, 4 in flight, every byte compared with
    /// the source file.
    static func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: Self.host, port: Self.nfsPort, path: path)
    }

    static func sequentialClient(_ index: Int, root: URL, tally: Tally) {
        let isLocal = index % 2 == 0
        let name = isLocal ? localFiles[(index / 2) % localFiles.count] : remoteFiles[(index / 2) % remoteFiles.count]
        let export = isLocal ? "/local" : "/remote"
        let offset = ((index / 2) % 2) * sequentialBytes
        do {
            let output = try ChildProcess.run(
                [
                    TestEnvironment.nfsload, "seqread", "--url", url(export), "--file", name, "--block", "\(256 << 10)", "--inflight", "4",
                    "--offset", "\(offset)", "--bytes", "\(sequentialBytes)", "--verify", root.appendingPathComponent(name).path,
                    "--timeout", "20", "--deadline", "100",
                ],
                timeout: 110
            )
            guard output.succeeded, output.text.contains("\"verified\":true"), output.text.contains("\"mismatches\":0"),
                output.text.contains("\"errors\":0"), output.text.contains("\"bytes\":\(sequentialBytes)")
            else {
                tally.fail("nfsload \(export)/\(name): \(output.text) \(output.stderr)")
                return
            }
            tally.ok(sequentialBytes / (256 << 10))
        } catch {
            tally.fail("nfsload: \(error)")
        }
    }

    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            self.state = self.state &* 6364136223846793005 &+ 1442695040888963407
            return Int((self.state >> 33) % UInt64(bound))
        }
    }

    /// An NFS client of its own: MOUNT, LOOKUPs, then `randomReads` READs of
    /// 4-32 KiB at random offsets of local and forwarded files.
    static func randomReader(seed: UInt64, content: [String: [UInt8]], tally: Tally) {
        do {
            let socket = try RawRPCSocket(host: host, port: nfsPort, timeout: 20)
            let nfs = NFSClient(socket: socket)
            let paths = content.keys.sorted()
            var handles: [String: [UInt8]] = [:]
            for path in paths { handles[path] = try nfs.lookup(path: path) }
            var generator = Generator(state: seed)
            for _ in 0..<randomReads {
                let path = paths[generator.next(paths.count)]
                let bytes = content[path]!
                let count = 4096 * (1 + generator.next(8))
                let offset = generator.next(bytes.count - count)
                guard let (data, _) = nfs.read(handles[path]!, offset: offset, count: count) else {
                    tally.fail("READ \(path) \(offset)+\(count): no valid reply")
                    continue
                }
                if data.elementsEqual(bytes[offset..<(offset + count)]) {
                    tally.ok()
                } else {
                    tally.fail("READ \(path) \(offset)+\(count): \(data.count) bytes that differ from the source")
                }
            }
        } catch {
            tally.fail("random reader: \(error)")
        }
    }

    /// LOOKUP, GETATTR (size checked) and, every tenth call, READDIR of the
    /// 200-entry directory.
    static func metaClient(seed: UInt64, tally: Tally) {
        do {
            let socket = try RawRPCSocket(host: host, port: nfsPort, timeout: 20)
            let nfs = NFSClient(socket: socket)
            let directory = try nfs.lookup(path: "local/meta")
            var generator = Generator(state: seed)
            for call in 0..<metaCalls {
                if call % 10 == 9 {
                    let names = nfs.readdirNames(directory)
                    if names?.count == metaFiles { tally.ok() } else { tally.fail("READDIR: \(names?.count ?? -1) names") }
                    continue
                }
                let index = generator.next(metaFiles)
                let name = String(format: "m%03d", index)
                let expectedSize = UInt64("meta \(index)\n".utf8.count)
                if call % 2 == 0 {
                    if let handle = nfs.lookup(directory, name), nfs.getattrSize(handle) == expectedSize { tally.ok() } else {
                        tally.fail("LOOKUP+GETATTR \(name)")
                    }
                } else {
                    if nfs.getattrSize(directory) != nil { tally.ok() } else { tally.fail("GETATTR of the directory") }
                }
            }
        } catch {
            tally.fail("meta client: \(error)")
        }
    }

    /// The peer protocol, as another node reads: READs of 64 KiB-1 MiB at
    /// random offsets of the exported files.
    static func peerReader(seed: UInt64, content: [String: [UInt8]], tally: Tally, port: Int) {
        do {
            let socket = try RawRPCSocket(host: "127.0.0.1", port: port, timeout: 20)
            var generator = Generator(state: seed)
            let paths = localFiles.map { "local/" + $0 }
            for xid in 0..<peerReads {
                let path = paths[generator.next(paths.count)]
                let bytes = content[path]!
                let count = 65536 << generator.next(5)
                let offset = generator.next(bytes.count - count)
                let arguments = RawRPCSocket.opaque(Array(path.utf8)) + RawRPCSocket.u64(UInt64(offset)) + RawRPCSocket.u32(UInt32(count))
                socket.sendRecord(RawRPCSocket.call(xid: UInt32(xid + 1), program: Self.peer, version: 2, procedure: 6, arguments: arguments))
                guard let record = socket.readRecord(), let reply = RawRPCSocket.Reply(record), reply.xid == UInt32(xid + 1),
                    reply.isAccepted, reply.status == 0, reply.word(0) == 0
                else {
                    tally.fail("peer READ \(path) \(offset)+\(count): no valid reply")
                    continue
                }
                let length = Int(reply.word(7))
                let size = UInt64(reply.word(1)) << 32 | UInt64(reply.word(2))
                if length == count, size == UInt64(bytes.count), reply.rest[32..<(32 + length)].elementsEqual(bytes[offset..<(offset + count)]) {
                    tally.ok()
                } else {
                    tally.fail("peer READ \(path) \(offset)+\(count): \(length) bytes, size \(size), differ from the source")
                }
            }
        } catch {
            tally.fail("peer reader: \(error)")
        }
    }
}

/// Just enough NFSv3 over a `RawRPCSocket` for the load: calls by hand,
/// every reply's xid and status checked.
final class NFSClient {
    let socket: RawRPCSocket
    private var xid: UInt32 = 0
    private var root: [UInt8]?

    init(socket: RawRPCSocket) {
        self.socket = socket
    }

    func call(program: UInt32 = LoadTests.nfs, procedure: UInt32, arguments: [UInt8]) -> RawRPCSocket.Reply? {
        self.xid += 1
        self.socket.sendRecord(RawRPCSocket.call(xid: self.xid, program: program, version: 3, procedure: procedure, arguments: arguments))
        guard let record = self.socket.readRecord(), let reply = RawRPCSocket.Reply(record), reply.xid == self.xid, reply.isAccepted,
            reply.status == 0
        else { return nil }
        return reply
    }

    func lookup(_ directory: [UInt8], _ name: String) -> [UInt8]? {
        guard let reply = self.call(procedure: 3, arguments: RawRPCSocket.opaque(directory) + RawRPCSocket.opaque(Array(name.utf8))),
            reply.word(0) == 0
        else { return nil }
        return Array(reply.rest[8..<(8 + Int(reply.word(1)))])
    }

    func lookup(path: String) throws -> [UInt8] {
        if self.root == nil {
            guard let reply = self.call(program: LoadTests.mount, procedure: 1, arguments: RawRPCSocket.opaque(Array("/".utf8))),
                reply.word(0) == 0
            else { throw TestFailure("MNT / failed") }
            self.root = Array(reply.rest[8..<(8 + Int(reply.word(1)))])
        }
        var handle = self.root!
        for name in path.split(separator: "/") {
            guard let next = self.lookup(handle, String(name)) else { throw TestFailure("LOOKUP \(name) of \(path) failed") }
            handle = next
        }
        return handle
    }

    /// READ: the data and eof, when NFS3_OK and the count matches the data.
    func read(_ handle: [UInt8], offset: Int, count: Int) -> ([UInt8], Bool)? {
        let arguments = RawRPCSocket.opaque(handle) + RawRPCSocket.u64(UInt64(offset)) + RawRPCSocket.u32(UInt32(count))
        guard let reply = self.call(procedure: 6, arguments: arguments),
            reply.word(0) == 0, reply.word(1) == 1
        else { return nil }
        let length = Int(reply.word(25))
        guard reply.word(23) == UInt32(length), reply.rest.count >= 104 + length else { return nil }
        return (Array(reply.rest[104..<(104 + length)]), reply.word(24) == 1)
    }

    func getattrSize(_ handle: [UInt8]) -> UInt64? {
        guard let reply = self.call(procedure: 1, arguments: RawRPCSocket.opaque(handle)), reply.word(0) == 0 else { return nil }
        return UInt64(reply.word(6)) << 32 | UInt64(reply.word(7))
    }

    /// Every name of a directory, over as many READDIR calls as it takes
    /// (bounded).
    func readdirNames(_ directory: [UInt8]) -> [String]? {
        var names: [String] = []
        var cookie: UInt64 = 0
        var verifier: [UInt8] = Array(repeating: 0, count: 8)
        for _ in 0..<100 {
            let arguments = RawRPCSocket.opaque(directory) + RawRPCSocket.u64(cookie) + verifier + RawRPCSocket.u32(8192)
            guard let reply = self.call(procedure: 16, arguments: arguments),
                reply.word(0) == 0
            else { return nil }
            // status, post_op_attr (1 + 21 words when present), cookieverf (2 words), entries.
            var at = reply.word(1) == 1 ? 23 : 2
            verifier = Array(reply.rest[(at * 4)..<(at * 4 + 8)])
            at += 2
            while reply.word(at) == 1 {
                // entry3: fileid (2 words), name (length + padded bytes), cookie (2 words)
                let length = Int(reply.word(at + 3))
                let start = (at + 4) * 4
                let name = String(decoding: reply.rest[start..<(start + length)], as: UTF8.self)
                if name != "." && name != ".." { names.append(name) }
                at += 4 + (length + 3) / 4
                cookie = UInt64(reply.word(at)) << 32 | UInt64(reply.word(at + 1))
                at += 2
            }
            if reply.word(at + 1) == 1 { return names }  // eof
        }
        return nil
    }
}
