import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

struct ClientRead {
    var status: UInt32
    var attributes: ClientAttributes?
    var count: UInt32 = 0
    var eof = false
    var data: [UInt8] = []
    var bulk: ByteBuffer?
}

extension NFSHarness {
    func read(_ path: String, offset: UInt64, count: UInt32) throws -> ClientRead {
        var reply = try self.call(.read) {
            $0.putOpaque(NFSHarness.handle(path))
            $0.putU64(offset)
            $0.putU32(count)
        }
        #expect(reply.hasHeadroom)
        var result = ClientRead(status: try reply.body.u32(), attributes: try reply.body.postOpAttr())
        if result.status == 0 {
            result.count = try reply.body.u32()
            result.eof = try reply.body.bool()
            result.data = try reply.body.opaque()
            #expect(Int(result.count) == result.data.count)
        }
        #expect(reply.body.readableBytes == 0)
        result.bulk = reply.bulk
        return result
    }
}

@Suite("READ")
struct ReadTests {
    @Test("a whole file in one READ, the data as a separate bulk buffer")
    func wholeFile() async throws {
        let harness = await NFSHarness.standard()
        let read = try harness.read("movies/KillBill.mkv", offset: 0, count: 65536)
        #expect(read.status == 0)
        #expect(read.count == 10_000)
        #expect(read.eof)
        #expect(read.data == TestNamespace.movieBytes)
        #expect(read.bulk.map { Array($0.readableBytesView) } == TestNamespace.movieBytes)
        #expect(read.attributes == (try harness.attributes(of: "movies/KillBill.mkv")))
        await harness.shutdown()
    }

    @Test("partial reads and eof")
    func partialReads() async throws {
        let harness = await NFSHarness.standard()
        let first = try harness.read("movies/KillBill.mkv", offset: 0, count: 4096)
        #expect(first.count == 4096)
        #expect(!first.eof)
        #expect(first.data == Array(TestNamespace.movieBytes[0..<4096]))

        let tail = try harness.read("movies/KillBill.mkv", offset: 9990, count: 100)
        #expect(tail.count == 10)
        #expect(tail.eof)
        #expect(tail.data == Array(TestNamespace.movieBytes[9990...]))

        let exact = try harness.read("movies/KillBill.mkv", offset: 5000, count: 5000)
        #expect(exact.count == 5000)
        #expect(exact.eof)

        // 13 bytes: the reply pads the data to 16.
        let readme = try harness.read("docs/readme.txt", offset: 0, count: 100)
        #expect(readme.data == Array("hello, world\n".utf8))
        #expect(readme.eof)
        await harness.shutdown()
    }

    @Test("past the end: no bytes, eof; zero-byte files and zero counts too")
    func pastEnd() async throws {
        let harness = await NFSHarness.standard()
        for (path, offset, count) in [("movies/KillBill.mkv", UInt64(10_000), UInt32(10)), ("movies/KillBill.mkv", 1 << 40, 10), ("movies/KillBill.mkv", .max, .max), ("empty.txt", 0, 4096)] {
            let read = try harness.read(path, offset: offset, count: count)
            #expect(read.status == 0)
            #expect(read.count == 0)
            #expect(read.eof)
            #expect(read.data.isEmpty)
            #expect(read.bulk == nil)
        }
        let nothing = try harness.read("movies/KillBill.mkv", offset: 0, count: 0)
        #expect(nothing.status == 0)
        #expect(nothing.count == 0)
        #expect(!nothing.eof)
        await harness.shutdown()
    }

    @Test("a huge count is capped at the configured maximum")
    func cappedCount() async throws {
        let store = await TestNamespace.makeStore()
        var configuration = TestNamespace.configuration
        configuration.maximumReadSize = 4096
        let harness = NFSHarness(store: store, configuration: configuration)
        let read = try harness.read("movies/KillBill.mkv", offset: 100, count: .max)
        #expect(read.status == 0)
        #expect(read.count == 4096)
        #expect(!read.eof)
        #expect(read.data == Array(TestNamespace.movieBytes[100..<4196]))

        let standard = await NFSHarness.standard()
        #expect(try standard.read("movies/KillBill.mkv", offset: 0, count: .max).count == 10_000)
        await harness.shutdown()
        await standard.shutdown()
    }

    @Test("READ of a directory is ISDIR, of a symlink INVAL")
    func wrongKinds() async throws {
        let harness = await NFSHarness.standard()
        let directory = try harness.read("movies", offset: 0, count: 100)
        #expect(directory.status == 21)
        #expect(directory.attributes?.type == 2)
        let link = try harness.read("latest", offset: 0, count: 100)
        #expect(link.status == 22)
        #expect(link.attributes?.type == 5)
        #expect(try harness.read("nothing", offset: 0, count: 1).status == 70)
        await harness.shutdown()
    }

    @Test("a failing source is NFS3ERR_IO")
    func sourceFailure() async throws {
        let store = await TestNamespace.makeStore(failure: .ioError("peer gone"))
        let harness = NFSHarness(store: store)
        let read = try harness.read("movies/KillBill.mkv", offset: 0, count: 100)
        #expect(read.status == 5)
        #expect(read.attributes?.size == 10_000)
        await harness.shutdown()

        // A source that lost the file is an I/O failure too, not a missing name.
        let lost = NFSHarness(store: await TestNamespace.makeStore(failure: .noEntry))
        #expect(try lost.read("movies/KillBill.mkv", offset: 0, count: 100).status == 5)
        await lost.shutdown()
    }

    @Test("attributes follow the version the source actually read")
    func changedVersion() async throws {
        let changed = FileVersion(size: 20_000, mtime: Timestamp(seconds: 9_000, nanoseconds: 9))
        let store = await TestNamespace.makeStore(reportedVersion: changed)
        let harness = NFSHarness(store: store)
        let read = try harness.read("movies/KillBill.mkv", offset: 0, count: 100)
        #expect(read.status == 0)
        #expect(read.attributes?.size == 20_000)
        #expect(read.attributes?.used == 20_480)
        #expect(read.attributes?.mtime == ClientTime(seconds: 9_000, nanoseconds: 9))
        #expect(read.attributes?.ctime == ClientTime(seconds: 9_000, nanoseconds: 9))
        #expect(!read.eof)
        await harness.shutdown()
    }
}
