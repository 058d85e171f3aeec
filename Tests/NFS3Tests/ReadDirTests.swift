import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

struct ClientPage {
    var status: UInt32
    var directoryAttributes: ClientAttributes?
    var list: ClientDirectoryList?
    /// Bytes of READDIR3resok / READDIRPLUS3resok (the reply minus its status).
    var resultSize: Int
}

extension NFSHarness {
    func readdir(_ path: String, cookie: UInt64 = 0, verifier: UInt64 = 0, count: UInt32) throws -> ClientPage {
        var reply = try self.call(.readdir) {
            $0.putOpaque(NFSHarness.handle(path))
            $0.putU64(cookie)
            $0.putU64(verifier)
            $0.putU32(count)
        }
        return try Self.page(&reply.body, plus: false)
    }

    func readdirplus(_ path: String, cookie: UInt64 = 0, verifier: UInt64 = 0, dircount: UInt32, maxcount: UInt32) throws -> ClientPage {
        var reply = try self.call(.readdirplus) {
            $0.putOpaque(NFSHarness.handle(path))
            $0.putU64(cookie)
            $0.putU64(verifier)
            $0.putU32(dircount)
            $0.putU32(maxcount)
        }
        return try Self.page(&reply.body, plus: true)
    }

    private static func page(_ body: inout ByteBuffer, plus: Bool) throws -> ClientPage {
        let resultSize = body.readableBytes - 4
        let status = try body.u32()
        if status != 0 {
            let attributes = try body.postOpAttr()
            #expect(body.readableBytes == 0)
            return ClientPage(status: status, directoryAttributes: attributes, list: nil, resultSize: resultSize)
        }
        let list = try body.directoryList(plus: plus)
        #expect(body.readableBytes == 0)
        return ClientPage(status: status, directoryAttributes: list.directoryAttributes, list: list, resultSize: resultSize)
    }

    /// Lists a whole directory the way a client does, page by page.
    func listAll(_ path: String, plus: Bool, count: UInt32, dircount: UInt32 = 0, maximumPages: Int) throws -> [ClientEntry] {
        var cookie: UInt64 = 0
        var verifier: UInt64 = 0
        var entries: [ClientEntry] = []
        for _ in 0..<maximumPages {
            let page = plus
                ? try self.readdirplus(path, cookie: cookie, verifier: verifier, dircount: dircount, maxcount: count)
                : try self.readdir(path, cookie: cookie, verifier: verifier, count: count)
            try #require(page.status == 0)
            let list = try #require(page.list)
            #expect(page.resultSize <= Int(count), "a page must fit in the client's count")
            #expect(!list.entries.isEmpty || list.eof, "a page that is not the last must make progress")
            entries += list.entries
            if list.eof { return entries }
            cookie = list.entries.last!.cookie
            verifier = list.verifier
        }
        Issue.record("listing \(path) did not end within \(maximumPages) pages")
        return entries
    }
}

func bigName(_ index: Int) -> String {
    "f" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
}

@Suite("READDIR and READDIRPLUS")
struct ReadDirTests {
    @Test("the root: '.', '..', then children in cookie (fileid) order")
    func rootListing() async throws {
        let harness = await NFSHarness.standard()
        let page = try harness.readdir("", count: 8192)
        #expect(page.status == 0)
        let list = try #require(page.list)
        #expect(list.eof)
        #expect(list.verifier == CookieVerifier3.current)
        #expect(list.directoryAttributes?.fileid == FileID.root.rawValue)
        let children = ["movies", "docs", "empty.txt", "latest"].map { ($0, FileID(path: $0).rawValue) }.sorted { $0.1 < $1.1 }
        let expected =
            [ClientEntry(fileid: FileID.root.rawValue, name: ".", cookie: 1), ClientEntry(fileid: FileID.root.rawValue, name: "..", cookie: 2)]
            + children.map { ClientEntry(fileid: $0.1, name: $0.0, cookie: $0.1) }
        #expect(list.entries == expected)

        let movies = try #require(try harness.readdir("movies", count: 8192).list)
        #expect(movies.entries.map(\.name).prefix(2) == [".", ".."])
        #expect(movies.entries[0].fileid == FileID(path: "movies").rawValue)
        #expect(movies.entries[1].fileid == FileID.root.rawValue)
        #expect(Set(movies.entries.dropFirst(2).map(\.name)) == ["KillBill.mkv", "trailer.sh"])
        await harness.shutdown()
    }

    @Test("count is the exact READDIR3resok budget, XDR overhead included")
    func exactCount() async throws {
        let harness = await NFSHarness.standard()
        let full = try harness.readdir("", count: 8192)
        let all = try #require(full.list).entries
        // 88 (post_op_attr) + 8 (verifier) + entries + 4 (end of list) + 4 (eof)
        let expectedSize = 88 + 8 + all.map { 24 + ($0.name.utf8.count + 3) / 4 * 4 }.reduce(0, +) + 8
        #expect(full.resultSize == expectedSize)

        let exact = try harness.readdir("", count: UInt32(expectedSize))
        #expect(exact.list?.entries == all)
        #expect(exact.list?.eof == true)

        let short = try harness.readdir("", count: UInt32(expectedSize - 1))
        #expect(short.list?.entries == Array(all.dropLast()))
        #expect(short.list?.eof == false)
        await harness.shutdown()
    }

    @Test("resuming after '.' and '..' cookies")
    func resumeAfterDots() async throws {
        let harness = await NFSHarness.standard()
        let all = try #require(try harness.readdir("", count: 8192).list).entries
        #expect(try harness.readdir("", cookie: 1, verifier: CookieVerifier3.current, count: 8192).list?.entries == Array(all.dropFirst()))
        #expect(try harness.readdir("", cookie: 2, verifier: CookieVerifier3.current, count: 8192).list?.entries == Array(all.dropFirst(2)))
        let last = try harness.readdir("", cookie: all.last!.cookie, verifier: CookieVerifier3.current, count: 8192)
        #expect(last.list?.entries == [])
        #expect(last.list?.eof == true)
        // A zero verifier (a client without one) is accepted.
        #expect(try harness.readdir("", cookie: 2, verifier: 0, count: 8192).list?.entries == Array(all.dropFirst(2)))
        await harness.shutdown()
    }

    @Test("a foreign cookie verifier is BAD_COOKIE; with cookie 0 it is ignored")
    func badCookie() async throws {
        let harness = await NFSHarness.standard()
        let cookie = FileID(path: "docs").rawValue
        let bad = try harness.readdir("", cookie: cookie, verifier: 0x1234, count: 8192)
        #expect(bad.status == 10003)
        #expect(bad.directoryAttributes?.fileid == FileID.root.rawValue)
        let badPlus = try harness.readdirplus("", cookie: cookie, verifier: 0x1234, dircount: 8192, maxcount: 8192)
        #expect(badPlus.status == 10003)
        #expect(try harness.readdir("", cookie: 0, verifier: 0x1234, count: 8192).status == 0)
        await harness.shutdown()
    }

    @Test("TOOSMALL when not even one entry fits")
    func tooSmall() async throws {
        let harness = await NFSHarness.standard()
        let small = try harness.readdir("", count: 120)
        #expect(small.status == 10005)
        #expect(small.directoryAttributes != nil)
        // 104 of overhead + 28 for "." fits in 132; 131 does not.
        #expect(try harness.readdir("", count: 132).list?.entries.map(\.name) == ["."])
        #expect(try harness.readdir("", count: 131).status == 10005)
        #expect(try harness.readdirplus("", dircount: 8192, maxcount: 200).status == 10005)
        await harness.shutdown()
    }

    @Test("READDIR of a file is NOTDIR")
    func notDirectory() async throws {
        let harness = await NFSHarness.standard()
        let page = try harness.readdir("docs/readme.txt", count: 8192)
        #expect(page.status == 20)
        #expect(page.directoryAttributes?.type == 1)
        #expect(try harness.readdirplus("latest", dircount: 1024, maxcount: 8192).status == 20)
        await harness.shutdown()
    }

    @Test("READDIRPLUS entries carry attributes and handles")
    func readdirplusEntries() async throws {
        let harness = await NFSHarness.standard()
        let page = try harness.readdirplus("movies", dircount: 8192, maxcount: 32768)
        let list = try #require(page.list)
        #expect(list.eof)
        #expect(list.verifier == CookieVerifier3.current)
        #expect(list.entries.count == 4)
        for entry in list.entries {
            let path = switch entry.name {
            case ".": "movies"
            case "..": ""
            default: "movies/" + entry.name
            }
            #expect(entry.handle == NFSHarness.handle(path))
            #expect(entry.attributes == (try harness.attributes(of: path)))
            #expect(entry.fileid == FileID(path: path).rawValue)
        }
        // The same entries as READDIR.
        let plain = try #require(try harness.readdir("movies", count: 8192).list)
        #expect(plain.entries.map { ClientEntry(fileid: $0.fileid, name: $0.name, cookie: $0.cookie) } == list.entries.map { ClientEntry(fileid: $0.fileid, name: $0.name, cookie: $0.cookie) })
        await harness.shutdown()
    }

    @Test("READDIRPLUS respects maxcount exactly and dircount after the first entry")
    func readdirplusLimits() async throws {
        let harness = await NFSHarness.standard()
        let full = try harness.readdirplus("", dircount: 8192, maxcount: 32768)
        let all = try #require(full.list).entries
        #expect(all.count == 6)
        let exact = try harness.readdirplus("", dircount: 8192, maxcount: UInt32(full.resultSize))
        #expect(exact.list?.entries == all)
        #expect(exact.list?.eof == true)
        let short = try harness.readdirplus("", dircount: 8192, maxcount: UInt32(full.resultSize - 1))
        #expect(short.list?.entries == Array(all.dropLast()))
        #expect(short.list?.eof == false)

        // dircount counts fileid, name and cookie: "." and ".." take 28 each.
        #expect(try harness.readdirplus("", dircount: 56, maxcount: 32768).list?.entries.count == 2)
        #expect(try harness.readdirplus("", dircount: 55, maxcount: 32768).list?.entries.count == 1)
        // A dircount too small for anything still yields one entry.
        #expect(try harness.readdirplus("", dircount: 0, maxcount: 32768).list?.entries.count == 1)
        await harness.shutdown()
    }

    @Test("paging 2,000 entries with small counts lists each exactly once", arguments: [UInt32(512), 1024, 4096])
    func paging2000(count: UInt32) async throws {
        let harness = NFSHarness(store: await TestNamespace.makeStore(entries: TestNamespace.bigDirectoryEntries(count: 2000)))
        try self.checkPaging(harness, size: 2000, count: count)
        await harness.shutdown()
    }

    @Test("paging 10,000 entries with small counts lists each exactly once")
    func paging10000() async throws {
        let harness = NFSHarness(store: await TestNamespace.makeStore(entries: TestNamespace.bigDirectoryEntries(count: 10_000)))
        try self.checkPaging(harness, size: 10_000, count: 512)
        try self.checkPaging(harness, size: 10_000, count: 8192)
        await harness.shutdown()
    }

    func checkPaging(_ harness: NFSHarness, size: Int, count: UInt32) throws {
        let expectedNames = Set((0..<size).map(bigName))
        let maximumPages = size + 10

        let entries = try harness.listAll("big", plus: false, count: count, maximumPages: maximumPages)
        #expect(entries.count == size + 2)
        #expect(entries.prefix(2).map(\.name) == [".", ".."])
        let names = entries.dropFirst(2).map(\.name)
        #expect(Set(names).count == names.count, "no entry twice")
        #expect(Set(names) == expectedNames)
        #expect(entries.dropFirst(2).allSatisfy { $0.fileid == FileID(path: "big/" + $0.name).rawValue && $0.cookie == $0.fileid })

        let plus = try harness.listAll("big", plus: true, count: count * 4, dircount: count, maximumPages: maximumPages)
        #expect(plus.count == size + 2)
        let plusNames = plus.dropFirst(2).map(\.name)
        #expect(Set(plusNames).count == plusNames.count)
        #expect(Set(plusNames) == expectedNames)
        #expect(plus.dropFirst(2).allSatisfy { entry in
            entry.handle == NFSHarness.handle("big/" + entry.name) && entry.attributes?.size == UInt64(entry.name.dropFirst())!
        })
    }

    @Test("cookies stay valid while the namespace changes between pages")
    func stableCookies() async throws {
        let original = TestNamespace.bigDirectoryEntries(count: 2000)
        let store = await TestNamespace.makeStore(entries: original)
        let harness = NFSHarness(store: store)

        // Read three pages.
        var cookie: UInt64 = 0
        var verifier: UInt64 = 0
        var seen: [String] = []
        for _ in 0..<3 {
            let list = try #require(try harness.readdir("big", cookie: cookie, verifier: verifier, count: 1024).list)
            seen += list.entries.map(\.name)
            cookie = list.entries.last!.cookie
            verifier = list.verifier
        }
        let seenChildren = Set(seen.dropFirst(2))

        // Remove the entry the cookie points at, another seen one and some
        // unseen ones; add new ones.
        let cookieName = seen.last!
        let removedSeen: Set<String> = [cookieName, seen[5]]
        let unseen = (0..<2000).map(bigName).filter { !seenChildren.contains($0) }
        let removedUnseen = Set(unseen.prefix(10))
        let removed = removedSeen.union(removedUnseen)
        var changed = original.filter { !removed.contains(String($0.0.path.dropFirst(4))) }
        for index in 0..<50 {
            changed.append((CatalogEntry(path: "big/new\(index)", kind: .regular, size: 1, mtime: Timestamp(seconds: 5), mode: 0o644), nil))
        }
        store.setCatalog(
            SourceCatalog(
                origin: NodeIdentity(id: NodeID(high: 1, low: 2), name: "alpha"), generation: 2,
                entries: changed.map(\.0), reader: MemoryReader(files: [:]), isLocal: true
            )
        )
        await store.settled()

        // Continue: every unseen survivor exactly once, nothing seen again.
        var rest: [String] = []
        for _ in 0..<3000 {
            let list = try #require(try harness.readdir("big", cookie: cookie, verifier: verifier, count: 1024).list)
            rest += list.entries.map(\.name)
            if list.eof { break }
            cookie = list.entries.last!.cookie
        }
        #expect(Set(rest).count == rest.count)
        #expect(Set(rest).isDisjoint(with: seenChildren))
        #expect(Set(rest).isDisjoint(with: removedUnseen))
        #expect(Set(unseen).subtracting(removedUnseen).isSubset(of: Set(rest)))
        await harness.shutdown()
    }
}
