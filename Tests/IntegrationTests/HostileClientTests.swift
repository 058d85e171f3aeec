import Foundation
import TestPrerequisites
import Testing

/// The daemon and tree shared by every test of `HostileClientTests`.
final class HostileClientFixture: SuiteFixture {
    static let host = "127.0.31.2"
    static let port = 20491
    static let current = TaskLocal<HostileClientFixture?>(wrappedValue: nil)

    let directory: URL
    let daemon: DaemonProcess

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("hostile")
        let share = self.directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share.appendingPathComponent("dir"), withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: share.appendingPathComponent("hello.txt"))
        try ExportTree.writeRandomFile(at: share.appendingPathComponent("big.bin"), bytes: 8 << 20)
        self.daemon = try DaemonProcess(
            name: "hostile",
            arguments: [
                "--name", "hostile", "--export", "share=\(share.path)", "--nfs", "\(Self.host):\(Self.port)",
                "--listen", "\(Self.host):17476", "--portmap", "off", "--state-dir", self.directory.appendingPathComponent("state").path,
            ],
            logDirectory: self.directory
        )
        try self.daemon.waitForLog("namespace ready")
    }

    func tearDown() {
        self.daemon.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }
}

/// Strangers sending the NFS port whatever they like: each gets the right
/// RPC/NFS error or a closed connection, and the daemon keeps serving a
/// well-behaved client with bounded memory.
@Suite(.serialized, .requires(.libnfsUtils), .hostileClientFixture)
struct HostileClientTests {

    let fixture: HostileClientFixture
    init() throws {
        self.fixture = try HostileClientFixture.shared()
    }

    static let nfs: UInt32 = 100_003
    static let mount: UInt32 = 100_005

    func connect(timeout: Double = 5) throws -> RawRPCSocket {
        try RawRPCSocket(host: HostileClientFixture.host, port: HostileClientFixture.port, timeout: timeout)
    }

    /// A well-behaved client still gets the right bytes.
    func expectStillServing() throws {
        #expect(self.fixture.daemon.isRunning)
        let read = try ChildProcess.run(["nfs-cat", TestEnvironment.nfsURL(host: HostileClientFixture.host, port: HostileClientFixture.port, path: "/share/hello.txt")])
        #expect(read.succeeded, "after the attack: \(read.stderr)")
        #expect(read.stdout == Data("hello\n".utf8))
    }

    func rssKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(self.fixture.daemon.pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// The root handle, through MOUNT MNT "/".
    func rootHandle(_ socket: RawRPCSocket) throws -> [UInt8] {
        socket.sendRecord(RawRPCSocket.call(xid: 1, program: Self.mount, version: 3, procedure: 1, arguments: RawRPCSocket.opaque(Array("/".utf8))))
        guard let record = socket.readRecord(), let reply = RawRPCSocket.Reply(record), reply.status == 0, reply.word(0) == 0 else {
            throw TestFailure("MNT / failed")
        }
        let length = Int(reply.word(1))
        return Array(reply.rest[8..<(8 + length)])
    }

    func call(_ socket: RawRPCSocket, xid: UInt32 = 7, program: UInt32 = nfs, version: UInt32 = 3, procedure: UInt32, arguments: [UInt8]) throws -> RawRPCSocket.Reply {
        socket.sendRecord(RawRPCSocket.call(xid: xid, program: program, version: version, procedure: procedure, arguments: arguments))
        guard let record = socket.readRecord(), let reply = RawRPCSocket.Reply(record) else {
            throw TestFailure("no reply to procedure \(procedure)")
        }
        #expect(reply.xid == xid)
        return reply
    }

    // MARK: Framing

    @Test func garbageBytesCloseOnlyThatConnection() throws {
        let socket = try self.connect()
        var generator = SystemRandomNumberGenerator()
        var garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        garbage[0] = 0x7F  // a fragment header claiming ~2 GB, like much random data
        socket.send(garbage)
        #expect(socket.isClosedByServer())
        try self.expectStillServing()
    }

    /// A whole NULL call inside a record whose mark promises 100 bytes
    /// more, then end of file: the server neither runs the call (no reply)
    /// nor waits for the rest (it closes), and serves others.
    @Test func truncatedRecordIsDropped() throws {
        let socket = try self.connect(timeout: 30)
        let call = RawRPCSocket.call(xid: 77, program: Self.nfs, version: 3, procedure: 0)
        socket.send(RawRPCSocket.u32(0x8000_0000 | UInt32(call.count + 100)) + call)
        socket.shutdownWrite()
        let received = socket.readUntilClosed()
        #expect(received == [], "after a truncated record the server sent \(received.map { "\($0.count) bytes" } ?? "nothing and did not close within 30 s")")
        try self.expectStillServing()
    }

    @Test func twoGigabyteFragmentHeaderIsRefusedWithoutAllocating() throws {
        let before = try self.rssKiB()
        for header: UInt32 in [0xFFFF_FFFF, 0x7FFF_FFFF, 0x8020_0000] {
            let socket = try self.connect()
            socket.send(RawRPCSocket.u32(header))
            #expect(socket.isClosedByServer(), "header \(String(header, radix: 16))")
        }
        #expect(try self.rssKiB() - before < 64 * 1024)
        try self.expectStillServing()
    }

    @Test func manyTinyFragmentsStillMakeOneCall() throws {
        let socket = try self.connect()
        let call = RawRPCSocket.call(xid: 42, program: Self.nfs, version: 3, procedure: 0)
        var bytes: [UInt8] = []
        for _ in 0..<5000 { bytes += RawRPCSocket.u32(0) }  // empty fragments
        for byte in call.dropLast() { bytes += RawRPCSocket.u32(1) + [byte] }
        bytes += RawRPCSocket.u32(0x8000_0001) + [call.last!]
        socket.send(bytes)
        let reply = try #require(socket.readRecord().flatMap(RawRPCSocket.Reply.init))
        #expect(reply.xid == 42 && reply.isAccepted && reply.status == 0)
    }

    @Test func endlessFragmentsCloseTheConnection() throws {
        let socket = try self.connect(timeout: 10)
        socket.send((0..<70_000).flatMap { _ in RawRPCSocket.u32(0) })
        #expect(socket.isClosedByServer())
        try self.expectStillServing()
    }

    // MARK: RPC header

    @Test func wrongRPCVersionIsRPCMismatch() throws {
        let socket = try self.connect()
        socket.sendRecord(RawRPCSocket.call(xid: 5, program: Self.nfs, version: 3, procedure: 0, rpcVersion: 3))
        let reply = try #require(socket.readRecord().flatMap(RawRPCSocket.Reply.init))
        #expect(!reply.isAccepted && reply.status == 0)  // MSG_DENIED, RPC_MISMATCH
        #expect(reply.word(0) == 2 && reply.word(1) == 2)
    }

    @Test func unknownProgramsVersionsAndProcedures() throws {
        let socket = try self.connect()
        #expect(try self.call(socket, program: 123_456, procedure: 0, arguments: []).status == 1)  // PROG_UNAVAIL
        // NFS serves versions 3 and 4 (minor version 1): v4's NULL answers,
        // any other version is PROG_MISMATCH naming 3..4.
        #expect(try self.call(socket, version: 4, procedure: 0, arguments: []).status == 0)
        for version: UInt32 in [2, 5] {
            let other = try self.call(socket, version: version, procedure: 0, arguments: [])
            #expect(other.status == 2 && other.word(0) == 3 && other.word(1) == 4, "version \(version)")  // PROG_MISMATCH 3..4
        }
        #expect(try self.call(socket, procedure: 99, arguments: []).status == 3)  // PROC_UNAVAIL
        #expect(try self.call(socket, procedure: 1, arguments: [1, 2]).status == 4)  // GARBAGE_ARGS
    }

    @Test func badCredentialsAreAuthErrors() throws {
        let socket = try self.connect()
        func authStatus(_ flavor: UInt32, _ body: [UInt8]) throws -> UInt32? {
            socket.sendRecord(RawRPCSocket.call(xid: 9, program: Self.nfs, version: 3, procedure: 0, credentialFlavor: flavor, credential: body))
            let reply = try #require(socket.readRecord().flatMap(RawRPCSocket.Reply.init))
            guard !reply.isAccepted, reply.status == 1 else { return nil }  // AUTH_ERROR
            return reply.word(0)
        }
        #expect(try authStatus(42, []) == 2)  // unknown flavor: AUTH_REJECTEDCRED
        #expect(try authStatus(1, [0, 0, 0, 0]) == 1)  // truncated AUTH_SYS: AUTH_BADCRED
        #expect(try authStatus(1, RawRPCSocket.authSys + [0, 0, 0, 0]) == 1)  // trailing bytes
        // A 401-byte credential is over the RFC's limit.
        #expect(try authStatus(1, [UInt8](repeating: 0, count: 404)) == 1)
        try self.expectStillServing()
    }

    // MARK: NFS arguments

    @Test func forgedAndMisshapenHandles() throws {
        let socket = try self.connect()
        func getattr(_ handle: [UInt8]) throws -> RawRPCSocket.Reply {
            try self.call(socket, procedure: 1, arguments: RawRPCSocket.opaque(handle))
        }
        #expect(try getattr([]).word(0) == 10001)  // NFS3ERR_BADHANDLE
        #expect(try getattr(Array(repeating: 7, count: 11)).word(0) == 10001)
        #expect(try getattr(Array(repeating: 7, count: 64)).word(0) == 10001)
        #expect(try getattr(Array("P2F".utf8) + [2] + Array(repeating: 0, count: 8)).word(0) == 10001)  // unknown format
        #expect(try getattr(Array("P2F".utf8) + [1] + RawRPCSocket.u64(0xDEAD_BEEF_0BAD_F00D)).word(0) == 70)  // NFS3ERR_STALE
        #expect(try getattr(Array(repeating: 7, count: 65)).status == 4)  // over NFS3_FHSIZE: GARBAGE_ARGS
        #expect(try getattr(try self.rootHandle(socket)).word(0) == 0)
    }

    @Test func absurdReadAndReaddirCounts() throws {
        let socket = try self.connect()
        let root = try self.rootHandle(socket)
        // LOOKUP share, then big.bin.
        func lookup(_ directory: [UInt8], _ name: String) throws -> [UInt8] {
            let reply = try self.call(socket, procedure: 3, arguments: RawRPCSocket.opaque(directory) + RawRPCSocket.opaque(Array(name.utf8)))
            #expect(reply.word(0) == 0)
            let length = Int(reply.word(1))
            return Array(reply.rest[8..<(8 + length)])
        }
        let share = try lookup(root, "share")
        let big = try lookup(share, "big.bin")
        // READ count 2^32-1: capped, not refused, not allocated.
        let read = try self.call(socket, procedure: 6, arguments: RawRPCSocket.opaque(big) + RawRPCSocket.u64(0) + RawRPCSocket.u32(0xFFFF_FFFF))
        #expect(read.word(0) == 0)
        let count = read.word(1 + 1 + 21)  // status, attributes_follow, fattr3 (21 words)
        #expect(count > 0 && count <= 1 << 20)
        // READ far past the end: nothing, eof.
        let past = try self.call(socket, procedure: 6, arguments: RawRPCSocket.opaque(big) + RawRPCSocket.u64(1 << 62) + RawRPCSocket.u32(4096))
        #expect(past.word(0) == 0 && past.word(23) == 0 && past.word(24) == 1)
        // READDIR with count 0: TOOSMALL; with 2^32-1: fine.
        let readdir = { (count: UInt32, cookie: UInt64, verifier: UInt64) in
            try self.call(socket, procedure: 16, arguments: RawRPCSocket.opaque(share) + RawRPCSocket.u64(cookie) + RawRPCSocket.u64(verifier) + RawRPCSocket.u32(count))
        }
        #expect(try readdir(0, 0, 0).word(0) == 10005)  // NFS3ERR_TOOSMALL
        #expect(try readdir(0xFFFF_FFFF, 0, 0).word(0) == 0)
        // A cookie with a verifier this server never handed out: BAD_COOKIE.
        #expect(try readdir(4096, 12345, 0x0102_0304_0506_0708).word(0) == 10003)
        try self.expectStillServing()
    }

    // MARK: Clients that misbehave over time

    /// 50 connections the daemon has accepted (it holds a socket for each)
    /// and that say nothing: a well-behaved client is served while they
    /// stay open, and every one of them is still served afterwards.
    @Test func silentClientsDoNotStopOthers() throws {
        let silent = try (0..<50).map { _ in try self.connect(timeout: 30) }
        let ports = Set(silent.map(\.localPort))
        let deadline = Date().addingTimeInterval(60)
        var accepted = try self.connectionsAccepted(from: ports)
        while accepted < ports.count && Date() < deadline && self.fixture.daemon.isRunning {
            usleep(50_000)
            accepted = try self.connectionsAccepted(from: ports)
        }
        try #require(accepted == ports.count, "the daemon accepted \(accepted) of the 50 silent connections within 60 s")
        try self.expectStillServing()
        for (index, socket) in silent.enumerated() {
            socket.sendRecord(RawRPCSocket.call(xid: UInt32(1000 + index), program: Self.nfs, version: 3, procedure: 0))
            let reply = socket.readRecord().flatMap(RawRPCSocket.Reply.init)
            #expect(reply?.xid == UInt32(1000 + index) && reply?.isAccepted == true && reply?.status == 0, "silent client \(index) after the wait")
        }
    }

    /// The whole of a /proc file (their size reads as 0, so read to EOF).
    static func readProcFile(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            data += chunk[..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// How many of the connections from `ports` (ours) the daemon holds an
    /// accepted socket for: the server ends in /proc/net/tcp whose peer is
    /// one of `ports`, matched by inode against the daemon's descriptors.
    /// A connection still waiting in the listen backlog has no descriptor.
    func connectionsAccepted(from ports: Set<UInt16>) throws -> Int {
        let pid = self.fixture.daemon.pid
        var inodes = Set<String>()
        for line in try Self.readProcFile("/proc/\(pid)/net/tcp").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, let local = fields[1].split(separator: ":").last, let remote = fields[2].split(separator: ":").last,
                UInt16(local, radix: 16) == UInt16(HostileClientFixture.port), let peer = UInt16(remote, radix: 16), ports.contains(peer)
            else { continue }
            inodes.insert(String(fields[9]))
        }
        let directory = "/proc/\(pid)/fd"
        return try FileManager.default.contentsOfDirectory(atPath: directory).count { name in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(name)")) ?? ""
            return target.hasPrefix("socket:[") && inodes.contains(String(target.dropFirst(8).dropLast()))
        }
    }

    @Test func clientThatNeverReadsRepliesCannotGrowMemoryWithoutBound() throws {
        let socket = try self.connect(timeout: 10)
        let root = try self.rootHandle(socket)
        let share = try self.call(socket, procedure: 3, arguments: RawRPCSocket.opaque(root) + RawRPCSocket.opaque(Array("share".utf8)))
        let shareHandle = Array(share.rest[8..<(8 + Int(share.word(1)))])
        let big = try self.call(socket, procedure: 3, arguments: RawRPCSocket.opaque(shareHandle) + RawRPCSocket.opaque(Array("big.bin".utf8)))
        let bigHandle = Array(big.rest[8..<(8 + Int(big.word(1)))])
        let before = try self.rssKiB()
        // Up to 200,000 reads of 1 MiB, never reading a reply: the daemon
        // must stop reading this connection (so our sends block and time
        // out) rather than buffer 200 GB of answers.
        let total = 200_000
        var sent = 0
        var blocked = false
        let deadline = Date().addingTimeInterval(120)
        batches: while sent < total && Date() < deadline {
            var batch: [UInt8] = []
            for xid in sent..<(sent + 1000) {
                batch += RawRPCSocket.u32(0x8000_0000 | 0)  // placeholder, replaced below
                let call = RawRPCSocket.call(
                    xid: UInt32(100 + xid), program: Self.nfs, version: 3, procedure: 6,
                    arguments: RawRPCSocket.opaque(bigHandle) + RawRPCSocket.u64(UInt64(xid % 8) << 20) + RawRPCSocket.u32(1 << 20)
                )
                batch.replaceSubrange((batch.count - 4)..., with: RawRPCSocket.u32(0x8000_0000 | UInt32(call.count)))
                batch += call
            }
            guard socket.send(batch) else {  // blocked past the timeout: the server stopped reading
                blocked = true
                break batches
            }
            sent += 1000
        }
        // The loop ended because a send blocked for the socket's 10 s
        // (EAGAIN), not because the count or the deadline ran out, nor
        // because the server closed the connection.
        #expect(blocked, "sent \(sent) of \(total) requests without blocking: the daemon kept reading requests whose replies were never collected")
        #expect(socket.sendError == EAGAIN, "the send failed with \(String(cString: strerror(socket.sendError))), not by blocking")
        let grown = try self.rssKiB() - before
        #expect(grown < 200 * 1024, "RSS grew by \(grown) KiB")
        try self.expectStillServing()
    }
}
