import NFS3
import NIOCore
import Namespace
import ONCRPC
import Testing
import ProgramTestSupport

struct MountHarness {
    let store: NamespaceStore
    let program: MountProgram
    var caller = ProgramCaller()

    static func standard() async -> MountHarness {
        let store = await TestNamespace.makeStore()
        return MountHarness(store: store, program: MountProgram(store: store, configuration: TestNamespace.configuration))
    }

    func call(_ procedure: UInt32, version: UInt32 = 3, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws -> CallReply {
        var arguments = ByteBuffer()
        encode(&arguments)
        return try self.caller.call(self.program, version: version, procedure: procedure, arguments: arguments)
    }

    /// MNT (v3): the status, and on success the handle and auth flavors.
    func mount(_ path: [UInt8]) throws -> (status: UInt32, handle: [UInt8]?, flavors: [UInt32]) {
        var reply = try self.call(1) { $0.putOpaque(path) }
        let status = try reply.body.u32()
        guard status == 0 else {
            #expect(reply.body.readableBytes == 0)
            return (status, nil, [])
        }
        let handle = try reply.body.opaque()
        var flavors: [UInt32] = []
        for _ in 0..<(try reply.body.u32()) { flavors.append(try reply.body.u32()) }
        #expect(reply.body.readableBytes == 0)
        return (status, handle, flavors)
    }

    func mount(_ path: String) throws -> (status: UInt32, handle: [UInt8]?, flavors: [UInt32]) {
        try self.mount(Array(path.utf8))
    }

    func dump(version: UInt32 = 3) throws -> [(String, String)] {
        var reply = try self.call(2, version: version)
        var mounts: [(String, String)] = []
        while try reply.body.bool() {
            mounts.append((try reply.body.string(), try reply.body.string()))
        }
        #expect(reply.body.readableBytes == 0)
        return mounts
    }
}

@Suite("MOUNT")
struct MountTests {
    @Test("NULL in every version")
    func null() async throws {
        let harness = await MountHarness.standard()
        for version: UInt32 in 1...3 {
            #expect(try harness.call(0, version: version).body.readableBytes == 0)
        }
        #expect(harness.program.versions == 1...3)
        #expect(harness.program.program == 100_005)
        await harness.store.shutdown()
    }

    @Test("MNT of the root, with AUTH_SYS and AUTH_NONE")
    func mountRoot() async throws {
        let harness = await MountHarness.standard()
        for path in ["/", "", "//"] {
            let result = try harness.mount(path)
            #expect(result.status == 0)
            #expect(result.handle == NFSHarness.handle(""))
            #expect(result.flavors == [1, 0])
        }
        await harness.store.shutdown()
    }

    @Test("MNT of a subdirectory gives its handle")
    func mountSubdirectory() async throws {
        let harness = await MountHarness.standard()
        #expect(try harness.mount("/movies").handle == NFSHarness.handle("movies"))
        #expect(try harness.mount("movies/").handle == NFSHarness.handle("movies"))
        await harness.store.shutdown()
    }

    @Test("MNT failures: NOENT, NOTDIR, NAMETOOLONG")
    func mountFailures() async throws {
        let harness = await MountHarness.standard()
        #expect(try harness.mount("/missing").status == 2)
        #expect(try harness.mount("/movies/missing").status == 2)
        #expect(try harness.mount("/docs/readme.txt").status == 20)
        #expect(try harness.mount("/docs/readme.txt/x").status == 20)
        #expect(try harness.mount("/latest").status == 20)
        #expect(try harness.mount([UInt8](repeating: UInt8(ascii: "a"), count: 1025)).status == 63)
        #expect(try harness.mount("/" + String(repeating: "a", count: 1023)).status == 63)  // a 1023-byte name
        #expect(try harness.mount([0x2F, 0xFF]).status == 2)
        #expect(try harness.dump().isEmpty, "failed mounts are not listed")
        await harness.store.shutdown()
    }

    @Test("DUMP lists mounts by machine name; UMNT and UMNTALL remove them")
    func mountList() async throws {
        var harness = await MountHarness.standard()
        _ = try harness.mount("/")
        _ = try harness.mount("/movies")
        _ = try harness.mount("/")  // again: listed once
        var other = harness
        other.caller.credentials = .none
        other.caller.remoteAddress = try SocketAddress(ipAddress: "127.0.0.2", port: 900)
        _ = try other.mount("/docs")

        let mounts = try harness.dump()
        #expect(mounts.count == 3)
        #expect(Set(mounts.map { "\($0.0) \($0.1)" }) == ["client1 /", "client1 /movies", "127.0.0.2 /docs"])
        #expect(try harness.dump(version: 1).count == 3)

        let umount = try harness.call(3) { $0.putString("/movies/") }
        #expect(umount.body.readableBytes == 0)
        #expect(Set(try harness.dump().map { "\($0.0) \($0.1)" }) == ["client1 /", "127.0.0.2 /docs"])

        let all = try harness.call(4)
        #expect(all.body.readableBytes == 0)
        #expect(try harness.dump().map { "\($0.0) \($0.1)" } == ["127.0.0.2 /docs"])

        harness.caller = other.caller
        _ = try harness.call(4, version: 1)
        #expect(try harness.dump().isEmpty)
        await harness.store.shutdown()
    }

    @Test("EXPORT lists '/' with no groups, in every version")
    func export() async throws {
        let harness = await MountHarness.standard()
        for (version, procedure) in [(UInt32(3), UInt32(5)), (1, 5), (2, 5), (1, 6)] {
            var reply = try harness.call(procedure, version: version)
            #expect(try reply.body.bool() == true)
            #expect(try reply.body.string() == "/")
            #expect(try reply.body.bool() == false)  // no groups
            #expect(try reply.body.bool() == false)  // no more exports
            #expect(reply.body.readableBytes == 0)
        }
        // EXPORTALL (6) is MOUNT v1/v2 only; 7 is no procedure at all.
        #expect(throws: CallFailure.procedureUnavailable) { try harness.call(6, version: 3) }
        #expect(throws: CallFailure.procedureUnavailable) { try harness.call(7, version: 3) }
        await harness.store.shutdown()
    }

    @Test("MNT in versions 1 and 2 is EACCES: no NFSv2 handles")
    func mountVersion1() async throws {
        let harness = await MountHarness.standard()
        for version: UInt32 in [1, 2] {
            var reply = try harness.call(1, version: version) { $0.putString("/") }
            #expect(try reply.body.u32() == 13)
            #expect(reply.body.readableBytes == 0)
        }
        #expect(try harness.dump().isEmpty)
        await harness.store.shutdown()
    }

    @Test("undecodable MNT arguments are GARBAGE_ARGS")
    func garbage() async throws {
        let harness = await MountHarness.standard()
        #expect(throws: CallFailure.garbageArguments) { try harness.call(1) { $0.putU32(100) } }
        await harness.store.shutdown()
    }
}
