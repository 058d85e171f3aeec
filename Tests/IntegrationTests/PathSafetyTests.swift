import Foundation
import TestPrerequisites
import Testing

/// A daemon exporting a tree that sits next to a directory holding a secret,
/// and a second export whose directory is moved away and replaced.
///
/// The tree is never rescanned periodically while the tests run
/// (`--rescan-interval` 3600), and inotify-triggered rescans wait for 200 ms
/// of quiet, so the namespace keeps believing what it saw before each swap
/// below for at least that long: the READ right after a swap falls in the
/// window the reader's own `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)` has
/// to close.
final class PathSafetyFixture: SuiteFixture {
    static let host = "127.0.47.1"
    static let nfsPort = 20547
    static let peerPort = 17547
    static let current = TaskLocal<PathSafetyFixture?>(wrappedValue: nil)

    let directory: URL
    let share: URL
    let other: URL
    let outside: URL
    /// File content that must never appear in any reply.
    let secret: String
    let daemon: DaemonProcess
    /// The peer listener speaks TLS: raw peer calls go through this.
    let peerTunnel: PeerTLSTunnel

    init() throws {
        let fm = FileManager.default
        self.directory = try TestEnvironment.makeTemporaryDirectory("pathsafety")
        self.share = self.directory.appendingPathComponent("share")
        self.other = self.directory.appendingPathComponent("other")
        self.outside = self.directory.appendingPathComponent("outside")
        self.secret = "SECRET-\(UUID().uuidString)-NEVER-SERVED"
        for directory in ["share/links", "share/swapdir", "other", "outside"] {
            try fm.createDirectory(at: self.directory.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        let files: [String: String] = [
            "outside/secret.txt": self.secret, "outside/file.txt": self.secret, "outside/victim.txt": self.secret,
            "outside/linked.txt": "hard-linked\n",
            "share/hello.txt": "hello\n", "share/swapdir/file.txt": "inside swapdir\n", "share/victim.txt": "victim\n",
            "share/victim2.txt": "victim two\n", "share/fifo-victim.txt": "fifo victim\n", "other/hello.txt": "other hello\n",
        ]
        for (path, content) in files {
            try Data(content.utf8).write(to: self.directory.appendingPathComponent(path))
        }
        let links: [String: String] = [
            "share/links/absolute": self.outside.appendingPathComponent("secret.txt").path,
            "share/links/relative": "../../outside/secret.txt",
            "share/links/dir": self.outside.path,
            "share/links/dir-relative": "../../outside",
        ]
        for (path, target) in links {
            try fm.createSymbolicLink(atPath: self.directory.appendingPathComponent(path).path, withDestinationPath: target)
        }
        try fm.linkItem(at: self.outside.appendingPathComponent("linked.txt"), to: self.share.appendingPathComponent("hard"))
        self.daemon = try DaemonProcess(
            name: "pathsafety",
            arguments: [
                "--name", "pathsafety", "--export", "share=\(self.share.path)", "--export", "other=\(self.other.path)",
                "--nfs", "\(Self.host):\(Self.nfsPort)", "--listen", "\(Self.host):\(Self.peerPort)", "--portmap", "off",
                "--rescan-interval", "3600", "--state-dir", self.directory.appendingPathComponent("state").path,
            ],
            logDirectory: self.directory
        )
        try self.daemon.waitForLog("namespace ready")
        self.peerTunnel = try PeerTLSTunnel(
            to: Self.host, port: Self.peerPort, credentials: try TestNodeCredentials(directory: self.directory, name: "raw-client")
        )
    }

    func tearDown() {
        self.peerTunnel.stop()
        self.daemon.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }
}

extension Trait where Self == SharedFixture<PathSafetyFixture> {
    static var pathSafetyFixture: Self { SharedFixture() }
}

/// Names and paths that try to leave the export, symlinks pointing out of
/// it, and files and directories swapped for symlinks (or a FIFO) while the
/// daemon runs, through NFS (libnfs tools and raw RPC) and the peer
/// protocol's READ. Every reply is collected and searched for the secret.
@Suite(.serialized, .requires(.libnfsUtils, .python3), .pathSafetyFixture)
final class PathSafetyTests {
    static let nfs: UInt32 = 100_003
    static let mount: UInt32 = 100_005
    static let peer: UInt32 = 0x2050_3246

    let fixture: PathSafetyFixture
    /// Every byte any reply or tool output carried in this test.
    private var seen: [UInt8] = []
    private var xid: UInt32 = 1

    init() throws {
        self.fixture = try PathSafetyFixture.shared()
    }

    /// Run at the end of every test (deferred): nothing seen held the
    /// secret, and the daemon is still there.
    func expectNothingLeaked(sourceLocation: SourceLocation = #_sourceLocation) {
        let secret = Array(self.fixture.secret.utf8)
        let leaked = self.seen.count >= secret.count
            && (0...(self.seen.count - secret.count)).contains { self.seen[$0..<($0 + secret.count)].elementsEqual(secret) }
        #expect(!leaked, "the secret appeared in a reply", sourceLocation: sourceLocation)
        #expect(self.fixture.daemon.isRunning, "the daemon died", sourceLocation: sourceLocation)
    }

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: PathSafetyFixture.host, port: PathSafetyFixture.nfsPort, path: path)
    }

    func tool(_ arguments: [String]) throws -> ChildProcess.Output {
        let output = try ChildProcess.run(arguments, timeout: 30)
        self.seen += Array(output.stdout) + Array(output.stderr.utf8)
        return output
    }

    func nfsSocket(timeout: Double = 5) throws -> RawRPCSocket {
        try RawRPCSocket(host: PathSafetyFixture.host, port: PathSafetyFixture.nfsPort, timeout: timeout)
    }

    /// One call; the reply (nil on timeout or close) joins what was seen.
    func call(_ socket: RawRPCSocket, program: UInt32 = nfs, version: UInt32 = 3, procedure: UInt32, arguments: [UInt8]) -> RawRPCSocket.Reply? {
        self.xid += 1
        socket.sendRecord(RawRPCSocket.call(xid: self.xid, program: program, version: version, procedure: procedure, arguments: arguments))
        guard let record = socket.readRecord() else { return nil }
        self.seen += record
        return RawRPCSocket.Reply(record)
    }

    func mount(_ socket: RawRPCSocket, _ path: String) -> (status: UInt32, handle: [UInt8]?) {
        guard let reply = self.call(socket, program: Self.mount, procedure: 1, arguments: RawRPCSocket.opaque(Array(path.utf8))),
            reply.status == 0
        else { return (.max, nil) }
        guard reply.word(0) == 0 else { return (reply.word(0), nil) }
        return (0, Array(reply.rest[8..<(8 + Int(reply.word(1)))]))
    }

    /// LOOKUP: the status, and the handle when it is NFS3_OK.
    func lookup(_ socket: RawRPCSocket, _ directory: [UInt8], _ name: [UInt8]) -> (status: UInt32, handle: [UInt8]?) {
        guard let reply = self.call(socket, procedure: 3, arguments: RawRPCSocket.opaque(directory) + RawRPCSocket.opaque(name)) else {
            return (.max, nil)
        }
        guard reply.word(0) == 0 else { return (reply.word(0), nil) }
        return (0, Array(reply.rest[8..<(8 + Int(reply.word(1)))]))
    }

    func lookup(_ socket: RawRPCSocket, _ directory: [UInt8], _ name: String) -> (status: UInt32, handle: [UInt8]?) {
        self.lookup(socket, directory, Array(name.utf8))
    }

    func lookupPath(_ socket: RawRPCSocket, _ path: String) throws -> [UInt8] {
        var handle = try #require(self.mount(socket, "/").handle)
        for name in path.split(separator: "/") {
            handle = try #require(self.lookup(socket, handle, String(name)).handle, "LOOKUP \(name) in \(path)")
        }
        return handle
    }

    /// READ: the status and, when NFS3_OK, the data.
    func read(_ socket: RawRPCSocket, _ handle: [UInt8], count: UInt32 = 65536) -> (status: UInt32, data: [UInt8]) {
        guard let reply = self.call(socket, procedure: 6, arguments: RawRPCSocket.opaque(handle) + RawRPCSocket.u64(0) + RawRPCSocket.u32(count))
        else { return (.max, []) }
        let status = reply.word(0)
        guard status == 0 else { return (status, []) }
        let attributesFollow = reply.word(1) == 1
        let lengthWord = attributesFollow ? 25 : 4
        let length = Int(reply.word(lengthWord))
        return (0, Array(reply.rest[(4 * lengthWord + 4)..<(4 * lengthWord + 4 + length)]))
    }

    // MARK: Names

    @Test func lookupNamesThatTryToLeaveStayInside() throws {
        defer { self.expectNothingLeaked() }
        let socket = try self.nfsSocket()
        let root = try #require(self.mount(socket, "/").handle)
        let share = try #require(self.lookup(socket, root, "share").handle)
        // ".." goes up inside the namespace, and the root is its own parent.
        #expect(self.lookup(socket, share, "..").handle == root)
        #expect(self.lookup(socket, root, "..").handle == root)
        let outside = self.fixture.outside.path
        // A LOOKUP name is one component (RFC 1813 §3.3.3): one holding a
        // '/', a NUL or nothing at all names no entry, whatever it spells.
        let names: [[UInt8]] = [
            "../outside", "../outside/secret.txt", "../../etc/passwd", "..//..", "links/absolute", "links/dir/secret.txt",
            "/etc/passwd", outside + "/secret.txt", "hello.txt/..", "hello.txt/../../outside/secret.txt", "", "./hello.txt",
            "swapdir/file.txt",
        ].map { Array($0.utf8) } + [Array("hello.txt".utf8) + [0] + Array("/../x".utf8), [0xFF, 0xFE, 0x2F, 0x2E, 0x2E]]
        for name in names {
            let result = self.lookup(socket, share, name)
            // NFS3ERR_NOENT exactly: no reply (.max) or any other status fails.
            #expect(result.status == 2, "LOOKUP \(String(decoding: name, as: UTF8.self)): status \(result.status)")
        }
        // The same connection still answers a good name.
        #expect(self.lookup(socket, share, "hello.txt").status == 0, "LOOKUP hello.txt after the hostile names")
        // MOUNT paths that climb: ".." stops at the namespace's root, so a
        // path climbing out gives the root, and one climbing out and then
        // down names something the namespace does not have (MNT3ERR_NOENT),
        // never a directory of the server's own file system.
        let climbs: [(path: String, status: UInt32, handle: [UInt8]?)] = [
            ("/..", 0, root), ("/../..", 0, root), ("/share/../..", 0, root), ("/share/../../outside", 2, nil), (outside, 2, nil),
            ("/etc", 2, nil), ("share/../../etc", 2, nil),
        ]
        for climb in climbs {
            let result = self.mount(socket, climb.path)
            #expect(result.status == climb.status, "MNT \(climb.path): status \(result.status)")
            #expect(result.handle == climb.handle, "MNT \(climb.path) gave another handle")
        }
        // Reading what those handles name (the root, a directory): NFS3ERR_ISDIR.
        #expect(self.read(socket, root).status == 21)
        #expect(self.read(socket, share).status == 21)
        #expect(self.read(socket, try #require(self.lookup(socket, share, "hello.txt").handle)).data == Array("hello\n".utf8))
    }

    // MARK: Symlinks

    @Test func symlinksToOutsideAreShownAsSymlinksAndNeverFollowed() throws {
        defer { self.expectNothingLeaked() }
        let listing = try self.tool(["nfs-ls", self.url("/share/links")])
        #expect(listing.succeeded, "\(listing.stderr)")
        let entries = ExportTree.parseListing(listing.text)
        #expect(Set(entries.map(\.path)) == ["absolute", "relative", "dir", "dir-relative"])
        #expect(entries.allSatisfy { $0.kind == "l" })

        let socket = try self.nfsSocket()
        let links = try self.lookupPath(socket, "share/links")
        let targets = [
            "absolute": self.fixture.outside.appendingPathComponent("secret.txt").path, "relative": "../../outside/secret.txt",
            "dir": self.fixture.outside.path, "dir-relative": "../../outside",
        ]
        for (name, target) in targets {
            let handle = try #require(self.lookup(socket, links, name).handle)
            // READ of a symlink: refused (the server never follows it).
            #expect(self.read(socket, handle).status == 22, "READ through \(name)")  // NFS3ERR_INVAL
            // READLINK: the target text, as stored.
            let reply = try #require(self.call(socket, procedure: 5, arguments: RawRPCSocket.opaque(handle)))
            #expect(reply.word(0) == 0)
            let at = reply.word(1) == 1 ? 23 : 2
            let length = Int(reply.word(at))
            #expect(String(decoding: reply.rest[(4 * at + 4)..<(4 * at + 4 + length)], as: UTF8.self) == target)
            // A symlinked directory is not a directory here.
            #expect(self.lookup(socket, handle, "secret.txt").status == 20, "LOOKUP through \(name)")  // NFS3ERR_NOTDIR
        }
        for path in ["/share/links/absolute", "/share/links/relative", "/share/links/dir/secret.txt", "/share/links/dir-relative/secret.txt"] {
            let read = try self.tool(["nfs-cat", self.url(path)])
            #expect(!read.succeeded, "nfs-cat \(path)")
        }
    }

    // MARK: Swaps between scan, LOOKUP and READ

    @Test func aDirectoryReplacedBySymlinkToOutsideBeforeTheRead() throws {
        defer { self.expectNothingLeaked() }
        let socket = try self.nfsSocket()
        let file = try self.lookupPath(socket, "share/swapdir/file.txt")
        #expect(self.read(socket, file).data == Array("inside swapdir\n".utf8))
        let share = self.fixture.share
        try FileManager.default.moveItem(at: share.appendingPathComponent("swapdir"), to: share.appendingPathComponent("swapdir.old"))
        // outside/ holds a file.txt with the secret.
        try FileManager.default.createSymbolicLink(
            atPath: self.fixture.share.appendingPathComponent("swapdir").path, withDestinationPath: self.fixture.outside.path
        )
        usleep(1_100_000)  // past the reader's reuse of an open descriptor
        let read = self.read(socket, file)
        #expect(read.status == 5 || read.status == 70, "READ after the swap: status \(read.status)")  // NFS3ERR_IO / STALE
        #expect(try !self.tool(["nfs-cat", self.url("/share/swapdir/file.txt")]).succeeded)
    }

    @Test func aFileSwappedForSymlinkBetweenLookupAndRead() throws {
        defer { self.expectNothingLeaked() }
        let socket = try self.nfsSocket()
        let share = self.fixture.share
        // Looked up, never read: then a symlink to the secret is renamed over it.
        let victim = try self.lookupPath(socket, "share/victim.txt")
        #expect(symlink(self.fixture.outside.appendingPathComponent("victim.txt").path, share.appendingPathComponent(".swap").path) == 0)
        #expect(rename(share.appendingPathComponent(".swap").path, share.appendingPathComponent("victim.txt").path) == 0)
        let read = self.read(socket, victim)
        #expect(read.status == 5 || read.status == 70, "READ after the swap: status \(read.status)")
        #expect(try !self.tool(["nfs-cat", self.url("/share/victim.txt")]).succeeded)

        // Read first, then swapped (relative target): the descriptor opened
        // before the swap may serve the old file for a moment; after that,
        // the read fails.
        let second = try self.lookupPath(socket, "share/victim2.txt")
        #expect(self.read(socket, second).data == Array("victim two\n".utf8))
        #expect(symlink("../outside/victim.txt", share.appendingPathComponent(".swap2").path) == 0)
        #expect(rename(share.appendingPathComponent(".swap2").path, share.appendingPathComponent("victim2.txt").path) == 0)
        let soon = self.read(socket, second)
        #expect(soon.status != 0 || soon.data == Array("victim two\n".utf8))
        usleep(1_100_000)
        // By now the rescan the swap triggered may have seen the symlink:
        // a READ of a symlink is NFS3ERR_INVAL, refused just the same.
        let later = self.read(socket, second)
        #expect(later.status == 5 || later.status == 70 || later.status == 22, "READ after the swap: status \(later.status)")
    }

    @Test func aFileSwappedForAFIFOFailsWithoutHanging() throws {
        defer { self.expectNothingLeaked() }
        // A reader stuck in open() waits for a FIFO writer forever: 30 s
        // without an answer is a hang however loaded the machine is.
        let socket = try self.nfsSocket(timeout: 30)
        let share = self.fixture.share
        let handle = try self.lookupPath(socket, "share/fifo-victim.txt")
        #expect(mkfifo(share.appendingPathComponent(".fifo").path, 0o644) == 0)
        #expect(rename(share.appendingPathComponent(".fifo").path, share.appendingPathComponent("fifo-victim.txt").path) == 0)
        let read = self.read(socket, handle)
        if read.status == .max {
            // No answer: the daemon's reader is stuck in open(). Release it.
            let writer = open(share.appendingPathComponent("fifo-victim.txt").path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            Issue.record("READ of a file swapped for a FIFO got no answer within 30 s")
        } else {
            // Not a regular file any more: NFS3ERR_IO.
            #expect(read.status == 5, "READ of a file swapped for a FIFO: status \(read.status)")
        }
        let hello = try self.tool(["nfs-cat", self.url("/share/hello.txt")])
        #expect(hello.stdout == Data("hello\n".utf8))
    }

    @Test func theExportRootIsResolvedOnce() throws {
        defer { self.expectNothingLeaked() }
        let fm = FileManager.default
        let other = self.fixture.other
        #expect(try self.tool(["nfs-cat", self.url("/other/hello.txt")]).stdout == Data("other hello\n".utf8))
        // The exported directory moves away and an impostor takes its path.
        try fm.moveItem(at: other, to: self.fixture.directory.appendingPathComponent("other.moved"))
        try fm.createDirectory(at: other, withIntermediateDirectories: false)
        try Data(self.fixture.secret.utf8).write(to: other.appendingPathComponent("hello.txt"))
        usleep(1_100_000)
        #expect(try self.tool(["nfs-cat", self.url("/other/hello.txt")]).stdout == Data("other hello\n".utf8))
        // Then a symlink to the outside.
        try fm.removeItem(at: other)
        try fm.createSymbolicLink(atPath: other.path, withDestinationPath: self.fixture.outside.path)
        usleep(1_100_000)
        #expect(try self.tool(["nfs-cat", self.url("/other/hello.txt")]).stdout == Data("other hello\n".utf8))
        let peer = try RawRPCSocket(host: "127.0.0.1", port: self.fixture.peerTunnel.port)
        #expect(self.peerRead(peer, "other/hello.txt").data == Array("other hello\n".utf8))
        // The impostor's name is not under the export's (moved) root:
        // PEER_STALE, and the connection still serves.
        #expect(self.peerRead(peer, "other/secret.txt").status == 70)
        #expect(self.peerRead(peer, "other/hello.txt").data == Array("other hello\n".utf8))
    }

    /// A hard link is the file itself: served like any file of the export
    /// (see Docs/security.md).
    @Test func aHardLinkIsServedAsTheFileItIs() throws {
        defer { self.expectNothingLeaked() }
        #expect(try self.tool(["nfs-cat", self.url("/share/hard")]).stdout == Data("hard-linked\n".utf8))
    }

    // MARK: The peer protocol

    /// Peer READ: the status and, when PEER_OK, the data.
    func peerRead(_ socket: RawRPCSocket, _ path: [UInt8]) -> (status: UInt32, data: [UInt8]) {
        let arguments = RawRPCSocket.opaque(path) + RawRPCSocket.u64(0) + RawRPCSocket.u32(65536)
        guard let reply = self.call(socket, program: Self.peer, version: 2, procedure: 6, arguments: arguments) else { return (.max, []) }
        guard reply.status == 0 else { return (1000 + reply.status, []) }  // not accepted (GARBAGE_ARGS...)
        guard reply.word(0) == 0 else { return (reply.word(0), []) }
        let length = Int(reply.word(7))
        return (0, Array(reply.rest[32..<(32 + length)]))
    }

    func peerRead(_ socket: RawRPCSocket, _ path: String) -> (status: UInt32, data: [UInt8]) {
        self.peerRead(socket, Array(path.utf8))
    }

    @Test func peerReadsOfPathsThatTryToLeaveAreRefused() throws {
        defer { self.expectNothingLeaked() }
        let socket = try RawRPCSocket(host: "127.0.0.1", port: self.fixture.peerTunnel.port)
        #expect(self.peerRead(socket, "share/hello.txt").data == Array("hello\n".utf8))
        let outside = self.fixture.outside.path
        let invalid: UInt32 = 22, io: UInt32 = 5, stale: UInt32 = 70, isDirectory: UInt32 = 21
        // Not a normalised relative path (a ".", "..", empty or NUL-holding
        // component, a leading or trailing '/'): PEER_INVAL before any file
        // is touched.
        let malformed: [[UInt8]] = [
            "../etc/passwd", "/etc/passwd", "a/../../x", "share/a/../../x", "share/../../outside/secret.txt", "share/../share/hello.txt",
            "share/./hello.txt", "share//hello.txt", "share/hello.txt/", outside + "/secret.txt", "share/" + outside + "/secret.txt",
            "..", ".", "",
        ].map { Array($0.utf8) } + [Array("share/hello.txt".utf8) + [0] + Array("/../../outside/secret.txt".utf8)]
        // Well formed: a symlink on the way is refused by the open
        // (PEER_IO), a first component that is no export names nothing
        // (PEER_STALE), an export itself is a directory.
        let wellFormed: [(String, UInt32)] = [
            ("share/links/absolute", io), ("share/links/relative", io), ("share/links/dir/secret.txt", io),
            ("share/links/dir-relative/file.txt", io), (String(outside.dropFirst()) + "/secret.txt", stale), ("share", isDirectory),
        ]
        let expected = malformed.map { ($0, invalid) } + wellFormed.map { (Array($0.0.utf8), $0.1) }
        for (path, status) in expected {
            let result = self.peerRead(socket, path)
            // The exact status: no reply (.max) or another refusal fails.
            #expect(result.status == status, "peer READ \(String(decoding: path, as: UTF8.self)): status \(result.status), expected \(status)")
        }
        // The connection still serves.
        #expect(self.peerRead(socket, "share/hello.txt").data == Array("hello\n".utf8))
    }
}
