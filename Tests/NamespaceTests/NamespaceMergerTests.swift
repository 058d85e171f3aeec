import Namespace
import NIOEmbedded
import Testing

@Suite struct NamespaceMergerTests {
    let merger = NamespaceMerger()

    func merge(
        _ catalogs: [SourceCatalog], previous: NamespaceSnapshot? = nil, now: Int64 = 5000, hashes: [ReplicaKey: ReplicaHash] = [:]
    ) -> NamespaceSnapshot {
        self.merger.merge(
            catalogs, generation: (previous?.generation ?? 0) + 1, previous: previous, now: Timestamp(seconds: now), replicaHashes: hashes
        )
    }

    func names(_ snapshot: NamespaceSnapshot, _ path: String) throws -> [String] {
        try snapshot.children(of: snapshot.lookup(path: path)).map(\.name).sorted()
    }

    @Test func directoriesFromTwoNodesAreOneUnion() throws {
        let snapshot = self.merge([
            catalog("a", id: 1, [directory("movies"), file("movies/KillBill")]),
            catalog("b", id: 2, [directory("movies"), file("movies/TheMatrix")]),
        ])
        #expect(try self.names(snapshot, "movies") == ["KillBill", "TheMatrix"])
        #expect(try self.names(snapshot, "") == ["movies"])
        let killBill = try snapshot.lookup(path: "movies/KillBill")
        #expect(snapshot.sources(of: killBill).map(\.origin.name) == ["a"])
    }

    @Test func identicalFilesBecomeOneFileWithSeveralSources() throws {
        let snapshot = self.merge(
            [
                catalog("b", id: 2, [file("movies/Shared", size: 7, mtime: 42)]),
                catalog("a", id: 1, [file("movies/Shared", size: 7, mtime: 42)]),
            ],
            hashes: hashes(of: "movies/Shared", size: 7, mtime: 42, [1: 0xAA, 2: 0xAA])
        )
        #expect(try self.names(snapshot, "movies") == ["Shared"])
        let shared = try snapshot.lookup(path: "movies/Shared")
        #expect(snapshot.sources(of: shared).map(\.origin.name) == ["a", "b"])
    }

    @Test func localSourcesAreTriedFirst() throws {
        let snapshot = self.merge(
            [
                catalog("a", id: 1, [file("f", size: 7, mtime: 42)]),
                catalog("z", id: 9, local: true, [file("f", size: 7, mtime: 42)]),
            ],
            hashes: hashes(of: "f", size: 7, mtime: 42, [1: 0x11, 9: 0x11])
        )
        #expect(snapshot.sources(of: try snapshot.lookup(path: "f")).map(\.origin.name) == ["z", "a"])
    }

    @Test func conflictingVersionsKeepTheNewestUnderTheName() throws {
        let snapshot = self.merge(
            [
                catalog("a", id: 1, [file("docs/Notes", size: 10, mtime: 100)]),
                catalog("b", id: 2, [file("docs/Notes", size: 20, mtime: 200)]),
                catalog("c", id: 3, [file("docs/Notes", size: 10, mtime: 100)]),
            ],
            hashes: hashes(of: "docs/Notes", size: 10, mtime: 100, [1: 0x10, 3: 0x10])
        )
        #expect(try self.names(snapshot, "docs") == ["Notes", "Notes@a"])
        #expect(try snapshot.lookup(path: "docs/Notes").size == 20)
        let variant = try snapshot.lookup(path: "docs/Notes@a")
        #expect(variant.size == 10)
        // Both holders of the older version serve it, under its original path.
        #expect(snapshot.sources(of: variant).map(\.origin.name) == ["a", "c"])
        #expect(snapshot.sources(of: variant).map(\.path) == ["docs/Notes", "docs/Notes"])
    }

    @Test func equalMtimeConflictPrefersLargerThenNodeName() throws {
        let bySize = self.merge([
            catalog("a", id: 1, [file("f", size: 10, mtime: 100)]),
            catalog("b", id: 2, [file("f", size: 5, mtime: 100)]),
        ])
        #expect(try bySize.lookup(path: "f").size == 10)
        #expect(try bySize.lookup(path: "f@b").size == 5)
    }

    @Test func directoryWinsOverAFileAtTheSamePath() throws {
        let snapshot = self.merge([
            catalog("a", id: 1, [file("thing", size: 3)]),
            catalog("b", id: 2, [directory("thing"), file("thing/inside")]),
        ])
        #expect(try snapshot.lookup(path: "thing").kind == .directory)
        #expect(try snapshot.lookup(path: "thing@a").kind == .regular)
        #expect(try self.names(snapshot, "thing") == ["inside"])
    }

    @Test func variantNameClashGetsASuffix() throws {
        let snapshot = self.merge([
            catalog("a", id: 1, [file("f", size: 1, mtime: 1), file("f@a", size: 9, mtime: 9)]),
            catalog("b", id: 2, [file("f", size: 2, mtime: 2)]),
        ])
        #expect(try self.names(snapshot, "") == ["f", "f@a", "f@a~2"])
        #expect(try snapshot.lookup(path: "f@a~2").size == 1)
    }

    @Test func variantOfALongNameStaysWithinTheNameLimit() throws {
        // 127 two-byte scalars: 254 bytes, valid; "@b" would make it 256.
        let long = String(repeating: "é", count: 127)
        let snapshot = self.merge([
            catalog("a", id: 1, [file(long, size: 1, mtime: 2)]),
            catalog("b", id: 2, [file(long, size: 2, mtime: 1)]),
        ])
        let names = try self.names(snapshot, "")
        #expect(names.count == 2)
        let variant = try #require(names.first { $0.hasSuffix("@b") })
        #expect(variant.utf8.count <= 255)
        #expect(variant == String(repeating: "é", count: 126) + "@b")
        #expect(try snapshot.lookup(path: variant).size == 2)
    }

    @Test func mergeIsIndependentOfCatalogOrder() throws {
        let catalogs = [
            catalog("a", id: 1, [file("x/1"), file("x/shared", size: 1, mtime: 1)]),
            catalog("b", id: 2, [file("x/2"), file("x/shared", size: 2, mtime: 2)]),
            catalog("c", id: 3, [file("y/3")]),
        ]
        let one = self.merge(catalogs)
        let two = self.merge(catalogs.reversed())
        func describe(_ s: NamespaceSnapshot) throws -> [String] {
            try ["", "x", "y"].flatMap { path in
                try s.children(of: s.lookup(path: path)).map { "\(path)/\($0.name) \($0.fileID) \($0.size)" }
            }
        }
        #expect(try describe(one) == describe(two))
    }

    @Test func impliedParentsExistEvenWithoutDirectoryEntries() throws {
        let snapshot = self.merge([catalog("a", id: 1, [file("a/b/c/d.txt")])])
        #expect(try snapshot.lookup(path: "a/b/c").kind == .directory)
        #expect(try snapshot.lookup(path: "a/b").subdirectoryCount == 1)
    }

    @Test func invalidPathsAreIgnored() throws {
        let snapshot = self.merge([catalog("a", id: 1, [file("../etc/passwd"), file("/abs"), file("ok/./x"), file("a//b"), file("fine")])])
        #expect(try self.names(snapshot, "") == ["fine"])
    }

    @Test func fileIDsComeFromPathsAndSurviveRebuilds() throws {
        let first = self.merge([catalog("a", id: 1, [file("movies/KillBill")])])
        let second = self.merge([
            catalog("b", id: 2, [file("movies/TheMatrix")]),
            catalog("a", id: 1, [file("movies/KillBill")]),
        ])
        // Written down once from the path hash, never recomputed here: a
        // seeded, per-process or changed hash fails, as it would strand every
        // kernel client that stayed mounted across a restart.
        let killBill = FileID(rawValue: 0x5207_242E_A65F_158A)
        let root = FileID(rawValue: 0xEFD0_1F60_BA99_2926)
        #expect(try first.lookup(path: "movies/KillBill").fileID == killBill)
        #expect(try second.lookup(path: "movies/KillBill").fileID == killBill)
        #expect(try second.lookup(path: "movies/TheMatrix").fileID == FileID(rawValue: 0x7AFA_E50B_FB2F_F7A0))
        #expect(try first.lookup(path: "movies").fileID == FileID(rawValue: 0x17E5_7496_D5C5_3D00))
        #expect(second.node(killBill)?.name == "KillBill")
        #expect(first.root.fileID == root)
        #expect(FileID.root == root)
    }

    @Test func childrenAreInFileIDOrderAndResumable() throws {
        let entries = (0..<500).map { file("d/f\($0)") }
        let snapshot = self.merge([catalog("a", id: 1, entries)])
        let dir = try snapshot.lookup(path: "d")
        let all = Array(snapshot.children(of: dir))
        #expect(all.map(\.fileID) == all.map(\.fileID).sorted())
        // Resume after the 100th entry, even after others are removed.
        let cookie = all[99].fileID
        let fewer = self.merge([catalog("a", id: 1, entries.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))], previous: snapshot)
        let resumed = fewer.children(of: try fewer.lookup(path: "d"), after: cookie)
        #expect(resumed.allSatisfy { $0.fileID > cookie })
        let expectedAfter = all[100...].filter { node in fewer.node(node.fileID) != nil }.map(\.name)
        #expect(resumed.map(\.name) == expectedAfter)
    }

    @Test func directoryChangeTimeMovesWhenChildrenChange() throws {
        let one = self.merge([catalog("a", id: 1, [directory("movies", mtime: 100), file("movies/A")])], now: 1000)
        let same = self.merge([catalog("a", id: 1, [directory("movies", mtime: 100), file("movies/A")])], previous: one, now: 2000)
        let grown = self.merge(
            [catalog("a", id: 1, [directory("movies", mtime: 100), file("movies/A")]), catalog("b", id: 2, [file("movies/B")])],
            previous: same, now: 3000
        )
        let movies = { (s: NamespaceSnapshot) in try s.lookup(path: "movies").changeTime }
        #expect(try movies(same) == movies(one))
        #expect(try movies(grown) == Timestamp(seconds: 3000))
        #expect(try movies(grown) > movies(same))
    }

    @Test func lookupHandlesDotsAndErrors() throws {
        let snapshot = self.merge([catalog("a", id: 1, [file("dir/file")])])
        let dir = try snapshot.lookup(path: "dir")
        #expect(try snapshot.lookup(".", in: dir).fileID == dir.fileID)
        #expect(try snapshot.lookup("..", in: dir).fileID == snapshot.root.fileID)
        #expect(throws: FileSystemError.noEntry) { try snapshot.lookup("missing", in: dir) }
        #expect(throws: FileSystemError.notDirectory) { try snapshot.lookup("x", in: snapshot.lookup(path: "dir/file")) }
        #expect(throws: FileSystemError.nameTooLong) { try snapshot.lookup(String(repeating: "n", count: 256), in: dir) }
        #expect(snapshot.path(of: try snapshot.lookup(path: "dir/file")) == "dir/file")
    }

    @Test func readFailsOverToTheNextSource() throws {
        let bytes: [UInt8] = Array("hello world".utf8)
        let snapshot = self.merge(
            [
                catalog("a", id: 1, reader: InMemoryReader(files: [:], failure: .ioError("a is down")), [file("f", size: 11, mtime: 5)]),
                catalog("b", id: 2, reader: InMemoryReader(files: ["f": bytes]), [file("f", size: 11, mtime: 5)]),
            ],
            hashes: hashes(of: "f", size: 11, mtime: 5, [1: 0x42, 2: 0x42])
        )
        let loop = EmbeddedEventLoop()
        let result = try snapshot.read(try snapshot.lookup(path: "f"), offset: 6, count: 100, eventLoop: loop).wait()
        #expect(Array(result.data.readableBytesView) == Array("world".utf8))
        #expect(result.isEndOfFile)
    }

    @Test func readFailsWhenEverySourceFails() throws {
        let snapshot = self.merge([
            catalog("a", id: 1, reader: InMemoryReader(files: [:], failure: .ioError("down")), [file("f")]),
        ])
        let loop = EmbeddedEventLoop()
        #expect(throws: FileSystemError.ioError("down")) {
            try snapshot.read(try snapshot.lookup(path: "f"), offset: 0, count: 1, eventLoop: loop).wait()
        }
    }

    // MARK: Replicas: same path, size and mtime; one file only by hash

    func sameLooking() -> [SourceCatalog] {
        [
            catalog("a", id: 1, [file("docs/Report", size: 7, mtime: 42)]),
            catalog("b", id: 2, [file("docs/Report", size: 7, mtime: 42)]),
        ]
    }

    func outcome(_ catalogs: [SourceCatalog], hashes: [ReplicaKey: ReplicaHash]) -> NamespaceMerger.Outcome {
        self.merger.mergeReplicas(catalogs, generation: 1, previous: nil, now: Timestamp(seconds: 5000), replicaHashes: hashes)
    }

    @Test func equalHashesMakeOneFileWithTwoSources() throws {
        let outcome = self.outcome(self.sameLooking(), hashes: hashes(of: "docs/Report", size: 7, mtime: 42, [1: 0x5A, 2: 0x5A]))
        let snapshot = outcome.snapshot
        #expect(try self.names(snapshot, "docs") == ["Report"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "docs/Report")).map(\.origin.name) == ["a", "b"])
        #expect(outcome.unconfirmed.isEmpty)
        #expect(outcome.consulted == Set(hashes(of: "docs/Report", size: 7, mtime: 42, [1: 0, 2: 0]).keys))
    }

    @Test func differentHashesMakeTwoNames() throws {
        let snapshot = self.outcome(self.sameLooking(), hashes: hashes(of: "docs/Report", size: 7, mtime: 42, [1: 0x5A, 2: 0x5B])).snapshot
        #expect(try self.names(snapshot, "docs") == ["Report", "Report@b"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "docs/Report")).map(\.origin.name) == ["a"])
        let variant = try snapshot.lookup(path: "docs/Report@b")
        #expect(snapshot.sources(of: variant).map(\.origin.name) == ["b"])
        #expect(snapshot.sources(of: variant).map(\.path) == ["docs/Report"])
    }

    @Test func anUnavailableHashMakesTwoNames() throws {
        var known = hashes(of: "docs/Report", size: 7, mtime: 42, [1: 0x5A])
        known[ReplicaKey(origin: NodeID(high: 0, low: 2), path: "docs/Report", version: FileVersion(size: 7, mtime: Timestamp(seconds: 42)))] =
            .unavailable
        let snapshot = self.outcome(self.sameLooking(), hashes: known).snapshot
        #expect(try self.names(snapshot, "docs") == ["Report", "Report@b"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "docs/Report")).map(\.origin.name) == ["a"])
        #expect(snapshot.sources(of: try snapshot.lookup(path: "docs/Report@b")).map(\.origin.name) == ["b"])
    }

    @Test func unknownHashesShowOneSourceAndAreAskedFor() throws {
        let outcome = self.outcome(self.sameLooking(), hashes: [:])
        #expect(try self.names(outcome.snapshot, "docs") == ["Report"])
        #expect(outcome.snapshot.sources(of: try outcome.snapshot.lookup(path: "docs/Report")).map(\.origin.name) == ["a"])
        #expect(Set(outcome.unconfirmed.map(\.key)) == Set(hashes(of: "docs/Report", size: 7, mtime: 42, [1: 0, 2: 0]).keys))
    }

    @Test func aFileOfOneSourceNeedsNoHash() throws {
        let outcome = self.outcome([catalog("a", id: 1, [file("docs/Report", size: 7, mtime: 42)])], hashes: [:])
        #expect(outcome.consulted.isEmpty)
        #expect(outcome.unconfirmed.isEmpty)
    }
}

/// Hashes of `path` at one version on nodes `low id: first byte`.
func hashes(of path: String, size: UInt64, mtime: Int64, _ nodes: [UInt64: UInt8]) -> [ReplicaKey: ReplicaHash] {
    var table: [ReplicaKey: ReplicaHash] = [:]
    for (id, byte) in nodes {
        let key = ReplicaKey(origin: NodeID(high: 0, low: id), path: path, version: FileVersion(size: size, mtime: Timestamp(seconds: mtime)))
        table[key] = .known(ContentHash(bytes: [byte] + [UInt8](repeating: 0, count: 31))!)
    }
    return table
}

@Suite struct NamespaceMergerNameBytesTests {
    let merger = NamespaceMerger()
    static let latin1 = NameBytes.string([0x63, 0x61, 0x66, 0xE9])  // "caf\xE9"

    func merge(_ catalogs: [SourceCatalog]) -> NamespaceSnapshot {
        self.merger.merge(catalogs, generation: 1, previous: nil, now: Timestamp(seconds: 5000))
    }

    @Test func namesThatAreNotUTF8AreFilesLikeAnyOther() throws {
        let utf8 = "café"
        let snapshot = self.merge([
            catalog("a", id: 1, [directory("music"), file("music/" + Self.latin1, size: 4), file("music/" + utf8, size: 5)])
        ])
        let names = try snapshot.children(of: snapshot.lookup(path: "music")).map { NameBytes.bytes($0.name) }
        #expect(Set(names) == [[0x63, 0x61, 0x66, 0xE9], Array("café".utf8)])
        #expect(try snapshot.lookup(NameBytes.string([0x63, 0x61, 0x66, 0xE9]), in: snapshot.lookup(path: "music")).size == 4)
        #expect(try snapshot.lookup(path: "music/café").size == 5)
    }

    @Test func conflictVariantsKeepTheBytesAndTheNameLimit() throws {
        // 254 non-UTF-8 bytes: "@b" would make 256, so one byte goes.
        let long = NameBytes.string([UInt8](repeating: 0xE9, count: 254))
        let snapshot = self.merge([
            catalog("a", id: 1, [file(long, size: 1, mtime: 2), file(Self.latin1, size: 1, mtime: 2)]),
            catalog("b", id: 2, [file(long, size: 2, mtime: 1), file(Self.latin1, size: 2, mtime: 1)]),
        ])
        let names = Set(try snapshot.children(of: snapshot.lookup(path: "")).map { NameBytes.bytes($0.name) })
        let expected: Set<[UInt8]> = [
            [UInt8](repeating: 0xE9, count: 254),
            [UInt8](repeating: 0xE9, count: 253) + Array("@b".utf8),
            [0x63, 0x61, 0x66, 0xE9],
            [0x63, 0x61, 0x66, 0xE9] + Array("@b".utf8),
        ]
        #expect(names == expected)
        #expect(try snapshot.lookup(path: Self.latin1 + "@b").size == 2)
    }
}

extension NamespaceMergerNameBytesTests {
    /// NFC and NFD "café" are two names on Linux (different bytes), though
    /// Swift's `==` calls them equal: both are served, each found by its bytes.
    @Test func canonicallyEquivalentNamesStayTwoFiles() throws {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        let snapshot = self.merge([catalog("a", id: 1, [file(nfc, size: 1), file(nfd, size: 2)])])
        let names = try snapshot.children(of: snapshot.lookup(path: "")).map { Array($0.name.utf8) }
        #expect(Set(names) == [Array(nfc.utf8), Array(nfd.utf8)])
        #expect(try snapshot.lookup(nfc, in: snapshot.root).size == 1)
        #expect(try snapshot.lookup(nfd, in: snapshot.root).size == 2)
    }

    /// NFC and NFD "café" offered by two nodes, one size and mtime: each
    /// name's replicas are merged by that name's own hashes (the NFC ones
    /// agree, the NFD ones do not), never by the other's.
    @Test func canonicallyEquivalentNamesKeepTheirOwnReplicaHashes() throws {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        var known = hashes(of: nfc, size: 7, mtime: 42, [1: 0xAA, 2: 0xAA])
        known.merge(hashes(of: nfd, size: 7, mtime: 42, [1: 0xBB, 2: 0xBC])) { old, _ in old }
        #expect(known.count == 4)
        let outcome = self.merger.mergeReplicas(
            [
                catalog("a", id: 1, [file(nfc, size: 7, mtime: 42), file(nfd, size: 7, mtime: 42)]),
                catalog("b", id: 2, [file(nfc, size: 7, mtime: 42), file(nfd, size: 7, mtime: 42)]),
            ],
            generation: 1, previous: nil, now: Timestamp(seconds: 5000), replicaHashes: known
        )
        let snapshot = outcome.snapshot
        let names = try snapshot.children(of: snapshot.lookup(path: "")).map { Array($0.name.utf8) }
        #expect(Set(names) == [Array(nfc.utf8), Array(nfd.utf8), Array(nfd.utf8) + Array("@b".utf8)])
        #expect(snapshot.sources(of: try snapshot.lookup(nfc, in: snapshot.root)).map(\.origin.name) == ["a", "b"])
        #expect(snapshot.sources(of: try snapshot.lookup(nfd, in: snapshot.root)).map(\.origin.name) == ["a"])
        #expect(snapshot.sources(of: try snapshot.lookup(nfd + "@b", in: snapshot.root)).map(\.origin.name) == ["b"])
        #expect(outcome.consulted.count == 4)
        #expect(outcome.unconfirmed.isEmpty)
    }
}

/// Random catalogs (shared and clashing paths, implied parents, file and
/// directory at one path, differing versions) checked against what every
/// merge must hold, whatever the catalogs.
@Suite struct NamespaceMergerPropertyTests {
    static func randomCatalogs(_ random: inout SplitMix64) -> [SourceCatalog] {
        let components = ["a", "b", "c", "d"]
        return (1...Int.random(in: 1...4, using: &random)).map { source in
            var paths: Set<String> = []
            var entries: [CatalogEntry] = []
            for _ in 0..<Int.random(in: 0...30, using: &random) {
                let depth = Int.random(in: 1...3, using: &random)
                let path = (0..<depth).map { _ in components.randomElement(using: &random)! }.joined(separator: "/")
                guard paths.insert(path).inserted else { continue }
                if Bool.random(using: &random) {
                    entries.append(directory(path, mtime: Int64.random(in: 1...3, using: &random)))
                } else {
                    entries.append(file(path, size: UInt64.random(in: 1...2, using: &random), mtime: Int64.random(in: 1...2, using: &random)))
                }
            }
            return catalog("n\(source)", id: UInt64(source), entries.shuffled(using: &random))
        }
    }

    /// Every path of the snapshot, walked from the root, by bytes.
    static func walk(_ snapshot: NamespaceSnapshot) -> [(path: [UInt8], node: NamespaceNode)] {
        var found: [(path: [UInt8], node: NamespaceNode)] = []
        var pending: [(String, NamespaceNode)] = [("", snapshot.root)]
        while let (path, node) = pending.popLast() {
            for child in snapshot.children(of: node) {
                let childPath = path.isEmpty ? child.name : path + "/" + child.name
                found.append((Array(childPath.utf8), child))
                if child.kind == .directory { pending.append((childPath, child)) }
            }
        }
        return found
    }

    @Test func everyCatalogPathIsReachableAndFoundByItsFileID() throws {
        var random = SplitMix64(seed: 0x6E5_ACE_F11E)
        for _ in 0..<300 {
            let catalogs = Self.randomCatalogs(&random)
            let snapshot = NamespaceMerger().merge(catalogs, generation: 1, previous: nil, now: Timestamp(seconds: 10))
            let walked = Self.walk(snapshot)
            // Catalog paths and their ancestors, each under its own name
            // (a file that lost to a directory or a newer version is a
            // `NAME@node` variant beside it).
            var expected: Set<[UInt8]> = []
            for catalog in catalogs {
                for entry in catalog.entries.indices {
                    let components = catalog.entries.path(at: entry).split(separator: "/")
                    for length in 1...components.count {
                        expected.insert(Array(components[..<length].joined(separator: "/").utf8))
                    }
                }
            }
            let plain = Set(walked.filter { !$0.node.name.contains("@") }.map(\.path))
            #expect(plain == expected)
            #expect(Set(walked.map(\.path)).count == walked.count)
            #expect(snapshot.count == walked.count + 1)
            for (path, node) in walked {
                // The file id table points at the node itself.
                let byID = try #require(snapshot.node(node.fileID))
                #expect(byID.fileID == node.fileID)
                #expect(Array(byID.name.utf8) == Array(node.name.utf8))
                let byPath = try snapshot.lookup(path: String(decoding: path, as: UTF8.self))
                #expect(byPath.fileID == node.fileID)
            }
        }
    }
}
