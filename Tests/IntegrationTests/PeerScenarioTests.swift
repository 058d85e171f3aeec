import Foundation
import TestPrerequisites
import Testing

/// Several nodes, each in its own network namespace with its own address,
/// sharing files through the peer protocol; the client's NFS server is read
/// with the libnfs tools from inside the client's namespace.
@Suite(.serialized, .requires(.networkNamespaces, .libnfsUtils, .nfsload, .python3))
final class PeerScenarioTests {
    let directory: URL
    let network: TestNetwork
    var daemons: [DaemonProcess] = []

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("peers")
        self.network = try TestNetwork()
    }

    deinit {
        for daemon in self.daemons { daemon.stop() }
        self.network.tearDown()
        try? FileManager.default.removeItem(at: self.directory)
    }

    // MARK: Fixture

    /// Starts `p2pfs daemon` inside `host`: offering `exports`, crawling from
    /// `peers`, and presenting the namespace on 127.0.0.1:2049 when `client`.
    @discardableResult
    func start(
        _ host: TestNetwork.Host, exports: [String: URL] = [:], peers: [TestNetwork.Host] = [], client: Bool = false
    ) throws -> DaemonProcess {
        var arguments = [
            "--name", host.name, "--state-dir", self.directory.appendingPathComponent("state-\(host.name)").path,
            "--crawl-interval", "1", "--peer-timeout", "4", "--log-level", "debug",
        ]
        for (name, path) in exports.sorted(by: { $0.key < $1.key }) {
            arguments += ["--export", "\(name)=\(path.path)"]
        }
        if !exports.isEmpty {
            arguments += ["--listen", "\(host.address):7475"]
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

    func makeExport(_ name: String, files: [String: Data]) throws -> URL {
        let root = self.directory.appendingPathComponent("export-\(name)")
        for (path, data) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        return root
    }

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: path)
    }

    /// Names listed in a directory of the client's namespace; throws when
    /// nfs-ls cannot list it (an empty directory is not a failed listing).
    func names(in path: String, on client: TestNetwork.Host) throws -> Set<String> {
        let listing = try self.network.run(client, ["nfs-ls", self.url(path)], timeout: 30)
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

    /// Waits until `p2pfs ls` of `directory` lists `name` as held by
    /// `holders` (comma-separated node names, as the listing prints them).
    func waitForHolders(_ holders: String, of name: String, in directory: String, on client: TestNetwork.Host, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "nothing yet"
        while Date() < deadline {
            let ls = try self.network.run(client, [TestEnvironment.p2pfs, "ls", directory, "--nfs", "127.0.0.1:2049"])
            let line = ls.text.split(separator: "\n").first { $0.split(separator: " ").contains(Substring(name)) }
            if let line, line.hasSuffix(" " + holders) { return }
            last = line.map(String.init) ?? ls.text + ls.stderr
            usleep(200_000)
        }
        throw TestFailure("\(directory)/\(name) on \(client.name): \(last), expected holders \(holders) within \(timeout)s")
    }

    /// One client session on `client`'s NFS server, mounted, holding the
    /// handle of `path` (looked up now, before whatever the test does next).
    func session(on client: TestNetwork.Host, holding path: String) throws -> NFSSession {
        let session = try NFSSession(namespace: client.namespace, host: "127.0.0.1", port: 2049)
        #expect(try session.status("mount") == 0)
        #expect(try session.status("lookup \(path)") == 0, "LOOKUP \(path)")
        return session
    }

    func read(_ path: String, on client: TestNetwork.Host, timeout: Double = 60) throws -> ChildProcess.Output {
        try self.network.run(client, ["nfs-cat", self.url(path)], timeout: timeout)
    }

    /// "served to peers: N reads, M bytes" from a server's control program.
    func served(by server: TestNetwork.Host, askingFrom client: TestNetwork.Host) throws -> (reads: Int, bytes: Int) {
        let output = try self.network.run(client, [TestEnvironment.p2pfs, "peers", "--node", "\(server.address):7475"])
        guard output.succeeded, let line = output.text.split(separator: "\n").first(where: { $0.hasPrefix("served to peers:") }) else {
            throw TestFailure("no statistics from \(server.name): \(output.stderr)")
        }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return (numbers[0], numbers[1])
    }

    static func randomData(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    // MARK: Scenarios

    @Test func clientSeededWithOneNodeSeesTheWholeNetwork() throws {
        let killBill = Self.randomData(6 << 20, seed: 1)
        let matrix = Self.randomData(3 << 20, seed: 2)
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        try self.start(a, exports: ["movies": self.makeExport("a", files: ["KillBill": killBill])])
        try self.start(b, exports: ["movies": self.makeExport("b", files: ["TheMatrix": matrix])], peers: [a])
        try self.start(c, peers: [a], client: true)

        try self.waitForNames(["KillBill", "TheMatrix"], in: "/movies", on: c)

        // One 1 MiB READ at 3 MiB: A serves exactly that range, B nothing.
        let before = try self.served(by: a, askingFrom: c)
        let beforeB = try self.served(by: b, askingFrom: c)
        let source = self.directory.appendingPathComponent("export-a/KillBill").path
        let partial = try self.network.run(c, [
            TestEnvironment.nfsload, "seqread", "--url", TestEnvironment.nfsURL(host: "127.0.0.1", port: 2049, path: "/movies"),
            "--file", "KillBill", "--offset", "\(3 << 20)", "--bytes", "\(1 << 20)", "--inflight", "1", "--verify", source,
        ])
        #expect(partial.succeeded, "\(partial.stderr)")
        #expect(partial.text.contains("\"verified\":true"))
        let afterPartial = try self.served(by: a, askingFrom: c)
        #expect(afterPartial.reads - before.reads == 1)
        #expect(afterPartial.bytes - before.bytes == 1 << 20)

        // The whole file: the rest of it, once; the cached MiB is not fetched again.
        let read = try self.read("/movies/KillBill", on: c)
        #expect(read.succeeded, "\(read.stderr)")
        #expect(read.stdout == killBill)
        let after = try self.served(by: a, askingFrom: c)
        #expect(after.bytes - before.bytes == killBill.count)
        #expect(try self.served(by: b, askingFrom: c).bytes == beforeB.bytes)
        #expect(try self.read("/movies/TheMatrix", on: c).stdout == matrix)
        // Through the control program too: who holds what.
        let ls = try self.network.run(c, [TestEnvironment.p2pfs, "ls", "/movies", "--nfs", "127.0.0.1:2049"])
        #expect(ls.text.contains("KillBill") && ls.text.contains("TheMatrix"))
        #expect(ls.text.split(separator: "\n").contains { $0.contains("KillBill") && $0.hasSuffix(" a") })
    }

    /// One client session, mounted once before B exists, keeps the handle
    /// of /movies: READDIR of that same handle comes to list B's file, and
    /// the file reads, without a new MNT or connection.
    @Test func nodeJoiningLaterAppearsWithoutRemount() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        try self.start(a, exports: ["movies": self.makeExport("a", files: ["KillBill": Data("kill bill".utf8)])])
        try self.start(c, peers: [a], client: true)
        try self.waitForNames(["KillBill"], in: "/movies", on: c)
        let session = try self.session(on: c, holding: "/movies")
        let before = try session.send("list /movies")
        #expect(before["status"] as? Int == 0 && before["names"] as? [String] == ["KillBill"], "\(before)")

        try self.start(b, exports: ["movies": self.makeExport("b", files: ["Late": Data("late".utf8)])], peers: [a])
        var listed: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            listed = try session.send("list /movies")
            if Set(listed["names"] as? [String] ?? []) == ["KillBill", "Late"] { break }
            usleep(200_000)
        }
        #expect(listed["status"] as? Int == 0 && Set(listed["names"] as? [String] ?? []) == ["KillBill", "Late"], "\(listed)")
        #expect(try session.status("lookup /movies/Late") == 0)
        let read = try session.send("read /movies/Late 0 4096")
        #expect(read["status"] as? Int == 0 && read["data"] as? String == Data("late".utf8).hex, "\(read)")
    }

    /// The file's handle is looked up while B lives; B is killed (its port
    /// refuses at once); the READ is answered NFS3ERR_IO (not a hang, not
    /// another error), and then the file leaves the namespace.
    @Test func killedNodeFilesFailWithEIOThenDisappear() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let matrix = Self.randomData(1 << 20, seed: 3)
        try self.start(a, exports: ["movies": self.makeExport("a", files: ["KillBill": Data("kill bill".utf8)])])
        let nodeB = try self.start(b, exports: ["movies": self.makeExport("b", files: ["TheMatrix": matrix])], peers: [a])
        let nodeC = try self.start(c, peers: [a], client: true)
        try self.waitForNames(["KillBill", "TheMatrix"], in: "/movies", on: c)
        let session = try self.session(on: c, holding: "/movies/TheMatrix")

        nodeB.kill9()
        // The session waits 30 s for a reply: no reply is a hang.
        let read = try session.send("read /movies/TheMatrix 0 65536")
        #expect(read["status"] as? Int == 5, "READ of a killed node's file: \(read) (5 is NFS3ERR_IO, -1 no reply)\n\(nodeC.log)")
        try self.waitForNames(["KillBill"], in: "/movies", on: c, timeout: 30)
    }

    /// B vanishes without a FIN or RST: the READ waits out the peer
    /// timeout (--peer-timeout 4) and is answered NFS3ERR_IO, well before
    /// the session's 30 s that would mean a hang.
    @Test func unpluggedNodeReadsFailWithEIOInsteadOfHanging() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        try self.start(a, exports: ["movies": self.makeExport("a", files: ["KillBill": Data("kill bill".utf8)])])
        try self.start(b, exports: ["movies": self.makeExport("b", files: ["TheMatrix": Self.randomData(1 << 20, seed: 4)])], peers: [a])
        let nodeC = try self.start(c, peers: [a], client: true)
        try self.waitForNames(["KillBill", "TheMatrix"], in: "/movies", on: c)
        let session = try self.session(on: c, holding: "/movies/TheMatrix")

        // No RST, no FIN: the host just vanishes from the network.
        try self.network.unplug(b)
        let read = try session.send("read /movies/TheMatrix 0 65536")
        #expect(read["status"] as? Int == 5, "READ of an unreachable node's file: \(read) (5 is NFS3ERR_IO, -1 no reply)\n\(nodeC.log)")
    }

    /// A reader with 16 megabyte reads in flight from a node behind a slow
    /// link (16 Mbit/s, as on poor Wi-Fi): the peer READs queue for seconds,
    /// longer than a peer call's timeout, yet every read succeeds with the
    /// file's bytes, because the replies keep coming (a timeout measures
    /// the peer's silence, not queueing).
    @Test func readsQueuedOnASlowLinkAllSucceed() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let size = 16 << 20
        let export = try self.makeExport("slow", files: ["Big": Self.randomData(size, seed: 16)])
        try self.start(a, exports: ["movies": export])
        let nodeB = try self.start(b, peers: [a], client: true)
        try self.waitForNames(["Big"], in: "/movies", on: b)
        try self.network.limitRate(of: a, bitsPerSecond: 16_000_000)
        let started = Date()
        let run = try self.network.run(b, [
            TestEnvironment.nfsload, "seqread", "--url", "nfs://127.0.0.1/movies?nfsport=2049&mountport=2049", "--file", "Big",
            "--block", "1048576", "--inflight", "16", "--verify", export.appendingPathComponent("Big").path,
            "--timeout", "120", "--deadline", "150",
        ], timeout: 180)
        let seconds = Date().timeIntervalSince(started)
        let result = run.text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(run.succeeded, "nfsload: \(run.status) \(run.stderr)\n\(nodeB.log)")
        #expect(result.contains("\"errors\":0,") && result.contains("\"verified\":true") && result.contains("\"mismatches\":0"), "\(result)")
        // 16 MiB at 2 MB/s: the link, not a timeout, set the pace.
        #expect(seconds > 6, "read in \(seconds)s: was the link limited?")
        print("slow link: 16 MiB x16 in flight read in \(seconds)s")
    }

    @Test func identicalFileOnTwoNodesIsOneFileThatSurvivesLosingEither() throws {
        let shared = Self.randomData(2 << 20, seed: 5)
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let exportA = try self.makeExport("a", files: ["Shared": shared])
        let exportB = try self.makeExport("b", files: ["Shared": shared])
        // Same size and same mtime: the same file.
        let mtime = Date(timeIntervalSince1970: 1_700_000_000)
        for export in [exportA, exportB] {
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: export.appendingPathComponent("Shared").path)
        }
        let nodeA = try self.start(a, exports: ["movies": exportA])
        try self.start(b, exports: ["movies": exportB], peers: [a])
        try self.start(c, peers: [a, b], client: true)
        try self.waitForNames(["Shared"], in: "/movies", on: c)
        // Both sources once their content hashes agree.
        try self.waitForHolders("a,b", of: "Shared", in: "/movies", on: c)
        #expect(try self.names(in: "/movies", on: c) == ["Shared"])
        // A Bool: a failed comparison of megabytes would be diffed for ever.
        let whole = try self.read("/movies/Shared", on: c).stdout == shared
        #expect(whole, "Shared is not the shared file")

        nodeA.kill9()
        let read = try self.read("/movies/Shared", on: c)
        #expect(read.succeeded, "\(read.stderr)")
        #expect(read.stdout == shared)
    }

    @Test func differentFilesAtOnePathAreBothVisible() throws {
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let exportA = try self.makeExport("a", files: ["Notes": Data("version from a\n".utf8)])
        let exportB = try self.makeExport("b", files: ["Notes": Data("newer version from b\n".utf8)])
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_600_000_000)], ofItemAtPath: exportA.appendingPathComponent("Notes").path
        )
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: exportB.appendingPathComponent("Notes").path
        )
        try self.start(a, exports: ["docs": exportA])
        try self.start(b, exports: ["docs": exportB], peers: [a])
        try self.start(c, peers: [a], client: true)
        // The newest version keeps the name; the other shows as NAME@node.
        try self.waitForNames(["Notes", "Notes@a"], in: "/docs", on: c)
        #expect(try self.read("/docs/Notes", on: c).stdout == Data("newer version from b\n".utf8))
        #expect(try self.read("/docs/Notes@a", on: c).stdout == Data("version from a\n".utf8))
    }

    @Test func differentFilesWithTheSameSizeAndMtimeAreTwoNames() throws {
        // Several blocks each, so a read mixing the two would show.
        let fromA = Self.randomData(300_000, seed: 11)
        let fromB = Self.randomData(300_000, seed: 12)
        let a = try self.network.addHost("a")
        let b = try self.network.addHost("b")
        let c = try self.network.addHost("c")
        let exportA = try self.makeExport("a", files: ["Report": fromA])
        let exportB = try self.makeExport("b", files: ["Report": fromB])
        let mtime = Date(timeIntervalSince1970: 1_700_000_000)
        for export in [exportA, exportB] {
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: export.appendingPathComponent("Report").path)
        }
        try self.start(a, exports: ["docs": exportA])
        try self.start(b, exports: ["docs": exportB], peers: [a])
        try self.start(c, peers: [a, b], client: true)
        // Equal size and mtime, different hashes: variants, the tie going
        // to the first node name.
        try self.waitForNames(["Report", "Report@b"], in: "/docs", on: c, timeout: 30)
        try self.waitForHolders("a", of: "Report", in: "/docs", on: c)
        try self.waitForHolders("b", of: "Report@b", in: "/docs", on: c)
        for _ in 0..<2 {
            // Bools: a failed comparison of 300 KB would be diffed for ever.
            let readA = try self.read("/docs/Report", on: c)
            let isA = readA.stdout == fromA
            #expect(readA.succeeded, "\(readA.stderr)")
            #expect(isA, "Report is not a's file (\(readA.stdout.count) bytes)")
            let readB = try self.read("/docs/Report@b", on: c)
            let isB = readB.stdout == fromB
            #expect(readB.succeeded, "\(readB.stderr)")
            #expect(isB, "Report@b is not b's file (\(readB.stdout.count) bytes)")
        }
    }

    @Test func tenThousandFileCatalogArrivesWhole() throws {
        let a = try self.network.addHost("a")
        let c = try self.network.addHost("c")
        // Long names make the catalog span several 1 MiB pages.
        var files: [String: Data] = [:]
        for index in 0..<10_000 {
            let directory = String(format: "a-directory-with-a-rather-long-name-%03d", index / 100)
            files["\(directory)/a-file-with-an-even-longer-name-to-fill-catalog-pages-\(index).dat"] = Data("\(index)".utf8)
        }
        try self.start(a, exports: ["many": self.makeExport("a", files: files)])
        try self.start(c, peers: [a], client: true)
        let listing = try self.network.run(c, ["nfs-ls", "-R", self.url("/many")], timeout: 120)
        #expect(listing.succeeded, "\(listing.stderr)")
        let entries = ExportTree.parseListing(listing.text)
        #expect(entries.filter { $0.kind == "-" }.count == 10_000)
        #expect(entries.filter { $0.kind == "d" }.count == 100)
        #expect(try self.read("/many/a-directory-with-a-rather-long-name-099/a-file-with-an-even-longer-name-to-fill-catalog-pages-9999.dat", on: c).stdout == Data("9999".utf8))
    }
}

extension Data {
    /// Lower-case hex, as Python's bytes.hex() writes it.
    var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}
