import Foundation
import TestPrerequisites
import Testing

/// The daemon and tree shared by every test of `LocalExportTests`.
final class LocalExportFixture: SuiteFixture {
    static let host = "127.0.31.1"
    static let port = 20490
    static let largeFileBytes = 100 << 20
    static let current = TaskLocal<LocalExportFixture?>(wrappedValue: nil)

    let directory: URL
    let tree: ExportTree
    let daemon: DaemonProcess

    init() throws {
        self.directory = try TestEnvironment.makeTemporaryDirectory("export")
        self.tree = try ExportTree.make(
            at: self.directory.appendingPathComponent("share"), largeFileBytes: Self.largeFileBytes, wideDirectoryEntries: 2000
        )
        self.daemon = try DaemonProcess(
            name: "solo",
            arguments: [
                "--name", "solo", "--export", "share=\(self.tree.root.path)", "--nfs", "\(Self.host):\(Self.port)",
                "--listen", "\(Self.host):17475", "--portmap", "off",
                "--state-dir", self.directory.appendingPathComponent("state").path,
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

/// A single node exporting a directory, read through the libnfs client
/// (an NFSv3 implementation independent of this project).
@Suite(.serialized, .requires(.libnfsUtils), .localExportFixture)
struct LocalExportTests {
    /// One tree and one daemon for every test here: building a 100 MB file
    /// and 2,000 entries once is enough. Stopped when the test process exits.

    let fixture: LocalExportFixture
    var directory: URL { self.fixture.directory }
    var tree: ExportTree { self.fixture.tree }
    static var largeFileBytes: Int { LocalExportFixture.largeFileBytes }

    init() throws {
        self.fixture = try LocalExportFixture.shared()
    }

    func url(_ path: String) -> String {
        TestEnvironment.nfsURL(host: LocalExportFixture.host, port: LocalExportFixture.port, path: path)
    }

    @Test func recursiveListingMatchesTheSource() throws {
        let listing = try ChildProcess.check(["nfs-ls", "-R", self.url("/")], timeout: 120)
        let seen = ExportTree.parseListing(listing.text)
        var expected = try self.tree.entries(prefix: "share/")
        expected.insert(ExportTree.Entry(path: "share", kind: "d", size: 0))
        #expect(seen.count == expected.count)
        #expect(seen.subtracting(expected).isEmpty, "listed but not in the source: \(seen.subtracting(expected).prefix(5))")
        #expect(expected.subtracting(seen).isEmpty, "in the source but not listed: \(expected.subtracting(seen).prefix(5))")
    }

    @Test func wideDirectoryListsEveryEntryOnce() throws {
        let listing = try ChildProcess.check(["nfs-ls", self.url("/share/wide")], timeout: 60)
        let names = listing.text.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(names.count == 2000)
        #expect(Set(names).count == 2000)
        #expect(Set(names) == Set((0..<2000).map { String(format: "f%05d", $0) }))
    }

    @Test func smallFilesReadBackByteForByte() throws {
        for path in ["docs/readme.txt", "docs/nested/deeper/file.txt", "wide/f00000", "wide/f01999", "empty"] {
            let output = try ChildProcess.check(["nfs-cat", self.url("/share/\(path)")])
            let source = try Data(contentsOf: self.tree.root.appendingPathComponent(path))
            #expect(output.stdout == source, "content of \(path)")
        }
    }

    @Test func largeFileCopiesIdentically() throws {
        let copy = self.directory.appendingPathComponent("large.copy")
        try ChildProcess.check(["nfs-cp", self.url("/share/large.bin"), copy.path], timeout: 300)
        try ChildProcess.check(["cmp", copy.path, self.tree.root.appendingPathComponent("large.bin").path])
        let size = try FileManager.default.attributesOfItem(atPath: copy.path)[.size] as? NSNumber
        #expect(size?.intValue == Self.largeFileBytes)
    }

    @Test func symlinksAreShownAsSymlinksNotFollowed() throws {
        let listing = try ChildProcess.check(["nfs-ls", self.url("/share/links")])
        let entries = ExportTree.parseListing(listing.text)
        #expect(entries.contains(ExportTree.Entry(path: "to-readme", kind: "l", size: UInt64("../docs/readme.txt".utf8.count))))
        #expect(entries.contains(ExportTree.Entry(path: "absolute", kind: "l", size: UInt64("/etc/passwd".utf8.count))))
        // Reading through a symlink is the client's business; the server
        // never follows one, so /etc/passwd stays out of reach.
        let read = try ChildProcess.run(["nfs-cat", self.url("/share/links/absolute")])
        #expect(!read.succeeded)
        #expect(!read.text.contains("root:"))
    }

    @Test func writesFailAsReadOnlyAndChangeNothing() throws {
        let local = self.directory.appendingPathComponent("upload.txt")
        try Data("should not arrive\n".utf8).write(to: local)
        let before = try self.tree.entries(prefix: "")
        let copy = try ChildProcess.run(["nfs-cp", local.path, self.url("/share/docs/upload.txt")])
        #expect(!copy.succeeded)
        #expect(copy.stderr.contains("ROFS") || copy.stderr.lowercased().contains("read-only"), "error names read-only: \(copy.stderr)")
        let overwrite = try ChildProcess.run(["nfs-cp", local.path, self.url("/share/docs/readme.txt")])
        #expect(!overwrite.succeeded)
        #expect(try self.tree.entries(prefix: "") == before)
        #expect(try Data(contentsOf: self.tree.root.appendingPathComponent("docs/readme.txt")) == Data("read me\n".utf8))
    }

    @Test func unknownPathIsNoEntry() throws {
        let read = try ChildProcess.run(["nfs-cat", self.url("/share/docs/missing.txt")])
        #expect(!read.succeeded)
        #expect(read.stderr.contains("NOENT"), "\(read.stderr)")
    }
}
