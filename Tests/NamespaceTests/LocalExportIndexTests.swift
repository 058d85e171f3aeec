import Foundation
import Namespace
import Testing

/// `LocalExportIndex` keys directories by their exact bytes: NFC and NFD
/// "café" in one parent (two directories on Linux, one `String`) keep a
/// group each through a full scan and through patches.
@Suite struct LocalExportIndexTests {
    static let nfc: [UInt8] = [0x63, 0x61, 0x66, 0xC3, 0xA9]
    static let nfd: [UInt8] = [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81]

    /// `d/NFC/{one.txt, inner/x.txt}` and `d/NFD/{two.txt, inner/y.txt}`:
    /// the same subdirectory name in both, different files.
    final class Tree {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-index-\(getpid())-\(UUID().uuidString.prefix(8))")

        init() throws {
            try FileManager.default.createDirectory(at: self.url.appendingPathComponent("d"), withIntermediateDirectories: true)
            for (directory, file, inner) in [(LocalExportIndexTests.nfc, "one.txt", "x.txt"), (LocalExportIndexTests.nfd, "two.txt", "y.txt")] {
                try self.mkdir(Array("d/".utf8) + directory)
                try self.mkdir(Array("d/".utf8) + directory + Array("/inner".utf8))
                try self.write(Array("d/".utf8) + directory + Array("/\(file)".utf8), size: 1)
                try self.write(Array("d/".utf8) + directory + Array("/inner/\(inner)".utf8), size: 2)
            }
        }

        func raw(_ relative: [UInt8]) -> [CChar] {
            (Array(self.url.path.utf8) + [UInt8(ascii: "/")] + relative + [0]).map { CChar(bitPattern: $0) }
        }

        func mkdir(_ relative: [UInt8]) throws {
            guard Foundation.mkdir(self.raw(relative), 0o755) == 0 else { throw POSIXError(.EIO) }
        }

        func write(_ relative: [UInt8], size: Int) throws {
            let descriptor = open(self.raw(relative), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw POSIXError(.EIO) }
            defer { close(descriptor) }
            _ = Foundation.write(descriptor, [UInt8](repeating: 0x61, count: size), size)
        }

        func removeTree(_ relative: [UInt8]) throws {
            try FileManager.default.removeItem(atPath: String(decoding: Array(self.url.path.utf8) + [UInt8(ascii: "/")] + relative, as: UTF8.self))
        }

        deinit {
            try? FileManager.default.removeItem(at: self.url)
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static let d = bytes("share/d/")

    /// Every entry as (path bytes, size), in the index's order.
    static func listing(_ index: LocalExportIndex) -> [[UInt8]] {
        Array(index.entries).map { NameBytes.bytes($0.path) + Array(" \($0.size)".utf8) }
    }

    static func sortedListing(_ paths: [(String, [UInt8], Int)]) -> [[UInt8]] {
        paths.map { Self.bytes($0.0) + $0.1 + Array(" \($0.2)".utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static let expectedAtStart: [(String, [UInt8], Int)] = [
        ("share", [], 0), ("share/d", [], 0),
        ("share/d/", nfc, 0), ("share/d/", nfc + bytes("/one.txt"), 1), ("share/d/", nfc + bytes("/inner"), 0),
        ("share/d/", nfc + bytes("/inner/x.txt"), 2),
        ("share/d/", nfd, 0), ("share/d/", nfd + bytes("/two.txt"), 1), ("share/d/", nfd + bytes("/inner"), 0),
        ("share/d/", nfd + bytes("/inner/y.txt"), 2),
    ]

    /// The directory group each entry lies in, as bytes.
    static func parents(_ index: LocalExportIndex) -> [[UInt8]] {
        Array(index.entries).map { entry in
            let bytes = NameBytes.bytes(entry.path)
            return Array(bytes[..<(bytes.lastIndex(of: UInt8(ascii: "/")) ?? 0)])
        }
    }

    @Test func canonicallyEquivalentDirectoriesKeepTheirOwnGroupsThroughPatches() throws {
        let tree = try Tree()
        let root = try ExportRoot(LocalExport(name: "share", path: tree.url.path))
        let scanner = LocalExportScanner()
        let index = LocalExportIndex(scanner.scan([root]))
        #expect(index.entries.count == 10)
        #expect(Self.listing(index).sorted { $0.lexicographicallyPrecedes($1) } == Self.sortedListing(Self.expectedAtStart))
        #expect(index.directories.count == 7)
        // Groups in byte order: NFD ("cafe" + U+0301, 65 after "caf")
        // before NFC (C3 A9), each right before its subtree.
        let nfdPath = Self.d + Self.nfd
        let nfcPath = Self.d + Self.nfc
        #expect(
            Self.parents(index) == [
                [], Self.bytes("share"), Self.bytes("share/d"), Self.bytes("share/d"), nfdPath, nfdPath, nfdPath + Self.bytes("/inner"),
                nfcPath, nfcPath, nfcPath + Self.bytes("/inner"),
            ]
        )

        // A new file in the NFC directory: a batch naming it alone.
        try tree.write(Self.bytes("d/") + Self.nfc + Self.bytes("/new.txt"), size: 3)
        let nfc = ExactPath(NameBytes.string(nfcPath))
        let nfd = ExactPath(NameBytes.string(nfdPath))
        let wanted = index.directoriesToList(for: [nfc])
        #expect(wanted == [nfc, "share/d"])
        let (patched, removed) = index.patched(with: scanner.scan([root], directories: wanted.sorted(), isKnown: index.isKnown))
        #expect(removed.isEmpty)
        #expect(
            Self.listing(patched).sorted { $0.lexicographicallyPrecedes($1) }
                == Self.sortedListing(Self.expectedAtStart + [("share/d/", Self.nfc + Self.bytes("/new.txt"), 3)])
        )
        #expect(patched.directories.count == 7)
        // Exactly what a full scan of the tree gives, in the same order.
        let full = LocalExportIndex(scanner.scan([root]))
        #expect(Self.listing(patched) == Self.listing(full))
        #expect(patched.entries == full.entries)

        // The NFD directory loses its subdirectory: only that one goes,
        // the NFC directory's "inner" of the same name stays.
        try tree.removeTree(Self.bytes("d/") + Self.nfd + Self.bytes("/inner"))
        let (again, gone) = patched.patched(with: scanner.scan([root], directories: patched.directoriesToList(for: [nfd]).sorted(), isKnown: patched.isKnown))
        #expect(gone == [ExactPath(NameBytes.string(nfdPath + Self.bytes("/inner")))])
        #expect(
            Self.listing(again).sorted { $0.lexicographicallyPrecedes($1) }
                == Self.sortedListing(
                    Self.expectedAtStart.filter { !$0.1.starts(with: Self.nfd + Self.bytes("/inner")) }
                        + [("share/d/", Self.nfc + Self.bytes("/new.txt"), 3)]
                )
        )
        #expect(again.directories.count == 6)
        #expect(Self.listing(again) == Self.listing(LocalExportIndex(scanner.scan([root]))))
    }

    /// The scanner walks subdirectories in the index's order, so a full
    /// scan's entries are the index's as they are (a copy into another
    /// order would change the catalog's digest): names whose bytes order
    /// otherwise than Swift's `String <` (a lone byte C3 before "é", C3 A9),
    /// '-' before '/' in bytes but a directory before its subtree.
    @Test func theScannerWalksInTheIndexOrder() throws {
        let tree = try Tree()
        for name in [[0xC3], [0xC3, 0xA9], Self.bytes("a"), Self.bytes("a-b"), Self.bytes("a/x"), Self.bytes("a/x/y")] {
            try tree.mkdir(Self.bytes("d/") + name)
            try tree.write(Self.bytes("d/") + name + Self.bytes("/file"), size: 1)
        }
        let root = try ExportRoot(LocalExport(name: "share", path: tree.url.path))
        let scan = LocalExportScanner().scan([root])
        #expect(LocalExportIndex(scan).entries == scan.entries)
        // The groups of "d"'s subdirectories, in the order walked.
        var walked: [[UInt8]] = []
        for entry in scan.entries where entry.path.hasSuffix("/file") {
            let bytes = NameBytes.bytes(entry.path).dropFirst(Self.d.count).dropLast(5)
            walked.append(Array(bytes))
        }
        let expected: [[UInt8]] = [Self.bytes("a"), Self.bytes("a/x"), Self.bytes("a/x/y"), Self.bytes("a-b"), [0xC3], [0xC3, 0xA9]]
        #expect(walked == expected)
    }
}
