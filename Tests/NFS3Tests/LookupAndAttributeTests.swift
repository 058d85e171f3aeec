import NFS3
import NIOCore
import Namespace
import Testing
import ProgramTestSupport

func clientTime(_ timestamp: Timestamp) -> ClientTime {
    ClientTime(seconds: UInt32(timestamp.seconds), nanoseconds: timestamp.nanoseconds)
}

extension NFSHarness {
    /// GETATTR, expecting success.
    func attributes(of path: String) throws -> ClientAttributes {
        var reply = try self.call(.getattr) { $0.putOpaque(NFSHarness.handle(path)) }
        try #require(try reply.body.u32() == 0)
        return try reply.body.fattr3()
    }
}

@Suite("NULL, GETATTR, LOOKUP, ACCESS, READLINK, FSSTAT, FSINFO, PATHCONF")
struct LookupAndAttributeTests {
    @Test("NULL answers with nothing")
    func null() async throws {
        let harness = await NFSHarness.standard()
        let reply = try harness.call(.null)
        #expect(reply.body.readableBytes == 0)
        #expect(reply.hasHeadroom)
        await harness.shutdown()
    }

    @Test("unknown procedures and undecodable arguments are RPC-level errors")
    func dispatchErrors() async throws {
        let harness = await NFSHarness.standard()
        #expect(throws: CallFailure.self) { try harness.call(22) }
        do {
            _ = try harness.call(22)
        } catch CallFailure.procedureUnavailable {
        } catch {
            Issue.record("expected PROC_UNAVAIL, got \(error)")
        }
        // Every procedure number 1...21 with a truncated argument is GARBAGE_ARGS.
        for procedure in NFS3Procedure.allCases where procedure != .null {
            do {
                _ = try harness.call(procedure) { $0.putU32(12) }
                Issue.record("\(procedure) accepted truncated arguments")
            } catch CallFailure.garbageArguments {
            } catch {
                Issue.record("\(procedure): expected GARBAGE_ARGS, got \(error)")
            }
        }
        await harness.shutdown()
    }

    @Test("GETATTR of the root: a read-only directory owned as configured")
    func getattrRoot() async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(.getattr) { $0.putOpaque(NFSHarness.handle("")) }
        #expect(reply.hasHeadroom)
        #expect(try reply.body.u32() == 0)
        let attributes = try reply.body.fattr3()
        #expect(reply.body.readableBytes == 0)
        let root = harness.snapshot.root
        #expect(attributes.type == 2)
        #expect(attributes.mode == 0o555)
        #expect(attributes.nlink == 4)  // 2 + movies + docs
        #expect(attributes.uid == 1000)
        #expect(attributes.gid == 100)
        #expect(attributes.fsid == 0xABCD_0000_1234)
        #expect(attributes.fileid == FileID.root.rawValue)
        #expect(attributes.rdev == (0, 0))
        #expect(attributes.mtime == clientTime(root.changeTime))
        #expect(attributes.ctime == clientTime(root.changeTime))
        #expect(attributes.atime == attributes.mtime)
        await harness.shutdown()
    }

    @Test("GETATTR of files and symlinks")
    func getattrFiles() async throws {
        let harness = await NFSHarness.standard()
        let movie = try harness.attributes(of: "movies/KillBill.mkv")
        #expect(movie.type == 1)
        #expect(movie.mode == 0o444)
        #expect(movie.nlink == 1)
        #expect(movie.size == 10_000)
        #expect(movie.used == 12_288)
        #expect(movie.fileid == FileID(path: "movies/KillBill.mkv").rawValue)
        #expect(movie.mtime == ClientTime(seconds: 2000, nanoseconds: 123))
        #expect(movie.atime == movie.mtime)
        #expect(movie.ctime == movie.mtime)

        #expect(try harness.attributes(of: "movies/trailer.sh").mode == 0o555)
        let empty = try harness.attributes(of: "empty.txt")
        #expect(empty.mode == 0o444)
        #expect(empty.size == 0)
        #expect(empty.used == 0)

        let link = try harness.attributes(of: "latest")
        #expect(link.type == 5)
        #expect(link.mode == 0o777)
        #expect(link.size == UInt64("movies/KillBill.mkv".utf8.count))

        let movies = try harness.attributes(of: "movies")
        #expect(movies.nlink == 2)
        #expect(movies.mtime == clientTime(try harness.node("movies").changeTime))
        await harness.shutdown()
    }

    @Test("LOOKUP finds names, '.' and '..'")
    func lookup() async throws {
        let harness = await NFSHarness.standard()
        func lookup(_ directory: String, _ name: String) throws -> (handle: [UInt8], object: ClientAttributes?, directory: ClientAttributes?) {
            var reply = try harness.call(.lookup) {
                $0.putOpaque(NFSHarness.handle(directory))
                $0.putString(name)
            }
            try #require(try reply.body.u32() == 0)
            let result = (try reply.body.opaque(), try reply.body.postOpAttr(), try reply.body.postOpAttr())
            #expect(reply.body.readableBytes == 0)
            return result
        }
        let movies = try lookup("", "movies")
        #expect(movies.handle == NFSHarness.handle("movies"))
        #expect(movies.object == (try harness.attributes(of: "movies")))
        #expect(movies.directory == (try harness.attributes(of: "")))

        let movie = try lookup("movies", "KillBill.mkv")
        #expect(movie.handle == NFSHarness.handle("movies/KillBill.mkv"))
        #expect(movie.object?.size == 10_000)

        #expect(try lookup("movies", ".").handle == NFSHarness.handle("movies"))
        #expect(try lookup("movies", "..").handle == NFSHarness.handle(""))
        #expect(try lookup("", "..").handle == NFSHarness.handle(""))
        await harness.shutdown()
    }

    @Test("LOOKUP failures: NOENT, NOTDIR, NAMETOOLONG, with directory attributes")
    func lookupFailures() async throws {
        let harness = await NFSHarness.standard()
        func status(_ directory: String, _ name: [UInt8]) throws -> (UInt32, ClientAttributes?) {
            var reply = try harness.call(.lookup) {
                $0.putOpaque(NFSHarness.handle(directory))
                $0.putOpaque(name)
            }
            let result = (try reply.body.u32(), try reply.body.postOpAttr())
            #expect(reply.body.readableBytes == 0)
            return result
        }
        let missing = try status("movies", Array("Pulp Fiction.mkv".utf8))
        #expect(missing.0 == 2)
        #expect(missing.1?.fileid == FileID(path: "movies").rawValue)
        #expect(try status("docs/readme.txt", Array("x".utf8)).0 == 20)
        #expect(try status("", [UInt8](repeating: UInt8(ascii: "a"), count: 256)).0 == 63)
        #expect(try status("", [UInt8](repeating: UInt8(ascii: "a"), count: 255)).0 == 2)
        #expect(try status("", [0xFF, 0xFE]).0 == 2)
        #expect(try status("", Array("movies/KillBill.mkv".utf8)).0 == 2)
        #expect(try status("", []).0 == 2)
        await harness.shutdown()
    }

    @Test("ACCESS grants reading, lookup and execution as the mode allows; files may be opened for writing (for locks), directories never change")
    func access() async throws {
        let harness = await NFSHarness.standard()
        func access(_ path: String, _ requested: UInt32 = 0x3F) throws -> UInt32 {
            var reply = try harness.call(.access) {
                $0.putOpaque(NFSHarness.handle(path))
                $0.putU32(requested)
            }
            try #require(try reply.body.u32() == 0)
            #expect(try reply.body.postOpAttr()?.fileid == FileID(path: path).rawValue)
            let granted = try reply.body.u32()
            #expect(reply.body.readableBytes == 0)
            return granted
        }
        #expect(try access("") == 0x01 | 0x02 | 0x20)
        #expect(try access("movies/KillBill.mkv") == 0x01 | 0x04 | 0x08)
        #expect(try access("movies/trailer.sh") == 0x01 | 0x04 | 0x08 | 0x20)
        #expect(try access("latest") == 0x01 | 0x20)
        #expect(try access("", 0x04 | 0x08 | 0x10) == 0)
        #expect(try access("movies", 0x04 | 0x08 | 0x10) == 0)
        #expect(try access("movies/KillBill.mkv", 0x02 | 0x04 | 0x10) == 0x04)
        await harness.shutdown()
    }

    @Test("READLINK returns the target; of a file it is INVAL")
    func readlink() async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(.readlink) { $0.putOpaque(NFSHarness.handle("latest")) }
        #expect(try reply.body.u32() == 0)
        #expect(try reply.body.postOpAttr()?.type == 5)
        #expect(try reply.body.string() == "movies/KillBill.mkv")
        #expect(reply.body.readableBytes == 0)

        var file = try harness.call(.readlink) { $0.putOpaque(NFSHarness.handle("docs/readme.txt")) }
        #expect(try file.body.u32() == 22)
        #expect(try file.body.postOpAttr()?.type == 1)
        #expect(file.body.readableBytes == 0)
        await harness.shutdown()
    }

    @Test("FSSTAT: total file bytes, entry count, nothing free")
    func fsstat() async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(.fsstat) { $0.putOpaque(NFSHarness.handle("")) }
        #expect(try reply.body.u32() == 0)
        #expect(try reply.body.postOpAttr()?.type == 2)
        #expect(try reply.body.u64() == 10_000 + 5 + 13)  // tbytes
        #expect(try reply.body.u64() == 0)  // fbytes
        #expect(try reply.body.u64() == 0)  // abytes
        #expect(try reply.body.u64() == UInt64(harness.snapshot.count))  // tfiles
        #expect(harness.snapshot.count == 8)
        #expect(try reply.body.u64() == 0)  // ffiles
        #expect(try reply.body.u64() == 0)  // afiles
        #expect(try reply.body.u32() == 0)  // invarsec
        #expect(reply.body.readableBytes == 0)
        await harness.shutdown()
    }

    @Test("FSINFO announces sizes, limits and properties")
    func fsinfo() async throws {
        let store = await TestNamespace.makeStore()
        var configuration = TestNamespace.configuration
        configuration.maximumWriteSize = 65536
        configuration.preferredWriteSize = 32768
        let harness = NFSHarness(store: store, configuration: configuration)
        var reply = try harness.call(.fsinfo) { $0.putOpaque(NFSHarness.handle("")) }
        #expect(try reply.body.u32() == 0)
        #expect(try reply.body.postOpAttr()?.fileid == FileID.root.rawValue)
        #expect(try reply.body.u32() == 1 << 20)  // rtmax
        #expect(try reply.body.u32() == 1 << 20)  // rtpref
        #expect(try reply.body.u32() == 4096)  // rtmult
        #expect(try reply.body.u32() == 65536)  // wtmax
        #expect(try reply.body.u32() == 32768)  // wtpref
        #expect(try reply.body.u32() == 4096)  // wtmult
        #expect(try reply.body.u32() == 65536)  // dtpref
        #expect(try reply.body.u64() == UInt64(Int64.max))  // maxfilesize
        #expect(try reply.body.time() == ClientTime(seconds: 0, nanoseconds: 1))
        #expect(try reply.body.u32() == 0x0002 | 0x0008)  // FSF3_SYMLINK | FSF3_HOMOGENEOUS
        #expect(reply.body.readableBytes == 0)
        await harness.shutdown()
    }

    @Test("PATHCONF: no hard links, 255-byte names, case-sensitive")
    func pathconf() async throws {
        let harness = await NFSHarness.standard()
        var reply = try harness.call(.pathconf) { $0.putOpaque(NFSHarness.handle("movies/KillBill.mkv")) }
        #expect(try reply.body.u32() == 0)
        #expect(try reply.body.postOpAttr()?.size == 10_000)
        #expect(try reply.body.u32() == 1)  // linkmax
        #expect(try reply.body.u32() == 255)  // name_max
        #expect(try reply.body.bool() == true)  // no_trunc
        #expect(try reply.body.bool() == true)  // chown_restricted
        #expect(try reply.body.bool() == false)  // case_insensitive
        #expect(try reply.body.bool() == true)  // case_preserving
        #expect(reply.body.readableBytes == 0)
        await harness.shutdown()
    }
}
