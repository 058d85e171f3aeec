import Foundation
import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import TestPrerequisites
import Testing

/// File names that are not UTF-8 are served with their exact bytes: listed
/// and read through libnfs on the exporting node and on a node that gets them
/// through the peer protocol; names a peer offers that cannot be served are
/// refused, counted and shown by `p2pfs peers`.
@Suite(.serialized, .requires(.libnfsUtils))
final class NameBytesScenarioTests {
    /// Latin-1 "café", as older Windows/Samba disks hold it.
    static let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]
    /// Every byte 0x80...0xFF, in order: none of it is UTF-8.
    static let highBytes: [UInt8] = Array(0x80...0xFF)
    static let directoryName: [UInt8] = [0x64, 0xFF]  // "d\xFF"
    static let nestedName: [UInt8] = [0x78, 0xFE, 0x2E, 0x74, 0x78, 0x74]  // "x\xFE.txt"

    let directory: URL
    let root: URL
    var daemons: [DaemonProcess] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("names")
        self.root = self.directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
        try self.write(Array("latin-1 name\n".utf8), at: [Self.latin1])
        try self.write(Array("every high byte\n".utf8), at: [Self.highBytes])
        try self.makeDirectory([Self.directoryName])
        try self.write(Array("nested\n".utf8), at: [Self.directoryName, Self.nestedName])
        try self.write(Array("plain\n".utf8), at: [Array("plain.txt".utf8)])
        // Not offered (a FIFO), and said so in the log.
        guard mkfifo(self.rawPath([Array("pipe".utf8)]), 0o644) == 0 else { throw TestFailure("mkfifo: errno \(errno)") }
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        try? FileManager.default.removeItem(at: self.directory)
    }

    // MARK: Raw names on disk

    /// `root` + components as a NUL-terminated byte path.
    private func rawPath(_ components: [[UInt8]]) -> [CChar] {
        var bytes = Array(self.root.path.utf8)
        for component in components { bytes += [UInt8(ascii: "/")] + component }
        return (bytes + [0]).map { CChar(bitPattern: $0) }
    }

    private func write(_ content: [UInt8], at components: [[UInt8]]) throws {
        let descriptor = open(self.rawPath(components), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TestFailure("cannot create \(components): errno \(errno)") }
        defer { close(descriptor) }
        guard Foundation.write(descriptor, content, content.count) == content.count else { throw TestFailure("short write") }
    }

    private func makeDirectory(_ components: [[UInt8]]) throws {
        guard mkdir(self.rawPath(components), 0o755) == 0 else { throw TestFailure("cannot mkdir \(components): errno \(errno)") }
    }

    // MARK: libnfs with byte names

    /// `nfs-COMMAND` on an `nfs://` URL whose path holds raw bytes: the URL
    /// goes through printf, as no `String` argument can carry them.
    static func libnfs(_ command: String, host: String, port: Int, path: [UInt8]) throws -> ChildProcess.Output {
        let url = Array(TestEnvironment.nfsURL(host: host, port: port, path: "/@PATH@").utf8)
        var format = ""
        for byte in url.split(separator: Array("@PATH@".utf8), omittingEmptySubsequences: false).enumerated().flatMap({ index, part in
            index == 0 ? Array(part) : path + Array(part)
        }) {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "'") {
                format.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                format += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return try ChildProcess.run(["sh", "-c", "exec nfs-\(command) \"$(printf '\(format)')\""], timeout: 30)
    }

    /// Names in an `nfs-ls` listing, as bytes ("mode nlink uid gid size NAME").
    static func listedNames(_ output: Data) -> Set<[UInt8]> {
        var names: Set<[UInt8]> = []
        for line in Array(output).split(separator: UInt8(ascii: "\n")) {
            var fields = 0
            var index = line.startIndex
            // Skip five space-separated fields and the spaces after each.
            while index < line.endIndex && fields < 5 {
                while index < line.endIndex && line[index] != UInt8(ascii: " ") { index += 1 }
                while index < line.endIndex && line[index] == UInt8(ascii: " ") { index += 1 }
                fields += 1
            }
            if fields == 5 && index < line.endIndex { names.insert(Array(line[index...])) }
        }
        return names
    }

    static let expectedTopLevel: Set<[UInt8]> = [latin1, highBytes, directoryName, Array("plain.txt".utf8)]

    /// Lists and reads every byte name through the NFS server at host:port.
    func checkServed(host: String, port: Int, prefix: [UInt8], within timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var listed: Set<[UInt8]> = []
        repeat {
            let listing = try Self.libnfs("ls", host: host, port: port, path: prefix)
            if listing.succeeded { listed = Self.listedNames(listing.stdout) }
            if listed == Self.expectedTopLevel { break }
            usleep(200_000)
        } while Date() < deadline
        #expect(listed == Self.expectedTopLevel, "listed: \(listed.map { NameBytes.display(NameBytes.string($0)) })")

        let nested = try Self.libnfs("ls", host: host, port: port, path: prefix + [UInt8(ascii: "/")] + Self.directoryName)
        #expect(Self.listedNames(nested.stdout) == [Self.nestedName], "\(nested.stderr)")

        for (path, content) in [
            ([Self.latin1], "latin-1 name\n"), ([Self.highBytes], "every high byte\n"), ([Self.directoryName, Self.nestedName], "nested\n"),
        ] {
            let full = path.reduce(prefix) { $0 + [UInt8(ascii: "/")] + $1 }
            let read = try Self.libnfs("cat", host: host, port: port, path: full)
            #expect(read.succeeded, "nfs-cat \(NameBytes.display(NameBytes.string(full))): \(read.stderr)")
            #expect(read.stdout == Data(content.utf8), "content of \(NameBytes.display(NameBytes.string(full)))")
        }
    }

    func start(_ name: String, _ arguments: [String], waitFor: String = "namespace ready") throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            name: name,
            arguments: ["--name", name, "--state-dir", self.directory.appendingPathComponent("state-\(name)").path, "--portmap", "off"]
                + arguments,
            logDirectory: self.directory
        )
        self.daemons.append(daemon)
        try daemon.waitForLog(waitFor)
        return daemon
    }

    // MARK: Tests

    @Test func byteNamesAreServedExactlyOnTheExportingNode() throws {
        let daemon = try self.start("bytes", ["--export", "share=\(self.root.path)", "--nfs", "127.0.61.1:20611"])
        try self.checkServed(host: "127.0.61.1", port: 20611, prefix: Array("share".utf8), within: 10)
        // What the scanner skipped is logged, by reason, with an example.
        #expect(daemon.log.contains("export entries not offered"), "\(daemon.log)")
        #expect(daemon.log.contains("1 device, socket or FIFO (e.g. share/pipe)"), "\(daemon.log)")

        // p2pfs ls shows bytes that are not UTF-8 as \xHH, and takes them so.
        let top = try ChildProcess.check([TestEnvironment.p2pfs, "ls", "--nfs", "127.0.61.1:20611", "/share"])
        let high = Self.highBytes.map { "\\x" + String($0, radix: 16, uppercase: true) }.joined()
        let shown = Set(top.text.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.map(String.init) })
        #expect(shown == ["caf\\xE9", high, "d\\xFF/", "plain.txt"], "\(top.text)")
        let nested = try ChildProcess.check([TestEnvironment.p2pfs, "ls", "--nfs", "127.0.61.1:20611", "/share/d\\xFF"])
        #expect(nested.text.contains(" x\\xFE.txt "), "\(nested.text)")
    }

    @Test func byteNamesReachAnotherNodeThroughThePeerProtocol() throws {
        try self.start(
            "offering", ["--export", "share=\(self.root.path)", "--listen", "127.0.61.2:20612"], waitFor: "offering files to peers"
        )
        let viewer = try self.start("viewer", ["--nfs", "127.0.61.3:20613", "--peer", "127.0.61.2:20612", "--crawl-interval", "1"])
        try self.checkServed(host: "127.0.61.3", port: 20613, prefix: Array("share".utf8), within: 30)
        // Nothing was refused on the way.
        #expect(!viewer.log.contains("refused"), "\(viewer.log)")
    }

    @Test func namesAHostilePeerOffersThatCannotBeServedAreRefusedAndCounted() async throws {
        let long = String(repeating: "n", count: 256)
        let hostile = try await HostileCatalogPeer(paths: [
            "ok", "ok/fine.txt",
            "/etc/passwd", "ok//double", "ok/trailing/",  // a '/' inside a name: empty components
            "ok/nul\u{0}name", "ok/nul\u{0}",  // NUL
            "../escape", "ok/./here", "ok/..",  // "." and ".."
            "ok/" + long,  // 256 bytes
        ])
        do {
            try self.checkRefusals(offeredOn: hostile.port)
        } catch {
            await hostile.stop()
            throw error
        }
        await hostile.stop()
    }

    func checkRefusals(offeredOn port: Int) throws {
        let judge = try self.start("judge", ["--nfs", "127.0.61.4:20614", "--peer", "127.0.0.1:\(port)", "--crawl-interval", "1"])
        try judge.waitForLog("peer catalog entries refused")

        // The one valid file is served; nothing else appears.
        let listing = try Self.libnfs("ls", host: "127.0.61.4", port: 20614, path: Array("ok".utf8))
        #expect(Self.listedNames(listing.stdout) == [Array("fine.txt".utf8)], "\(listing.stderr)")

        let peers = try ChildProcess.check([TestEnvironment.p2pfs, "peers", "--nfs", "127.0.61.4:20614"])
        let line = try #require(peers.text.split(separator: "\n").first { $0.hasPrefix("refused from hostile:") }, "\(peers.text)")
        #expect(
            line == "refused from hostile: 9 entries (3 contains '/', 2 contains NUL, 3 is '.' or '..', 1 longer than 255 bytes)"
        )
        #expect(judge.log.contains("e.g. ok/nul\\x00name"), "the log names an example, escaped")
    }
}

/// A peer-protocol server offering a catalog of arbitrary paths: what a
/// hostile or broken node could send.
final class HostileCatalogPeer: Sendable {
    let server: RPCServer
    var port: Int { self.server.localAddress.port! }

    init(paths: [String]) async throws {
        // A real TLS identity: peers talk TLS only, and the id must be the
        // one its key gives.
        let credentials = try NodeCredentials.generate()
        let identity = NodeIdentity(id: credentials.nodeID, name: "hostile")
        let entries = paths.map { path in
            path.hasSuffix("fine.txt")
                ? CatalogEntry(path: path, kind: .regular, size: 3, mtime: Timestamp(seconds: 1000), mode: 0o644)
                : CatalogEntry(path: path, kind: path == "ok" ? .directory : .regular, size: 0, mtime: Timestamp(seconds: 1000), mode: 0o755)
        }
        let catalog = SourceCatalog(origin: identity, generation: 1, entries: entries, reader: NoFiles(), isLocal: true)
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: []) },
            catalog: { catalog },
            directory: PeerDirectory(),
            statistics: PeerServerStatistics()
        )
        self.server = try await RPCServer.start(
            configuration: try PeerTLS(credentials: credentials).serverConfiguration(
                host: "127.0.0.1", port: 0, maximumRecordSize: 64 * 1024, logger: Logger(label: "hostile-peer")
            ),
            dispatcher: RPCDispatcher(programs: [program]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "hostile-peer")
        )
    }

    func stop() async {
        await self.server.close()
    }

    struct NoFiles: FileReader {
        func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
            eventLoop.makeFailedFuture(FileSystemError.stale)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
