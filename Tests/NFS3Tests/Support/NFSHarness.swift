import NFS3
import NIOCore
import Namespace
import ProgramTestSupport

/// An NFSv3 server over a namespace, called procedure by procedure.
struct NFSHarness {
    let store: NamespaceStore
    let program: NFSv3Program
    var caller = ProgramCaller()

    init(store: NamespaceStore, configuration: NFS3Configuration = TestNamespace.configuration) {
        self.store = store
        self.program = NFSv3Program(store: store, configuration: configuration)
    }

    static func standard() async -> NFSHarness {
        NFSHarness(store: await TestNamespace.makeStore())
    }

    var snapshot: NamespaceSnapshot { self.store.current }

    func call(_ procedure: UInt32, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws -> CallReply {
        var arguments = ByteBuffer()
        encode(&arguments)
        return try self.caller.call(self.program, version: 3, procedure: procedure, arguments: arguments)
    }

    func call(_ procedure: NFS3Procedure, _ encode: (inout ByteBuffer) -> Void = { _ in }) throws -> CallReply {
        try self.call(procedure.rawValue, encode)
    }

    /// The handle bytes of a path, built independently of `NFS3FileHandle`.
    static func handle(_ path: String) -> [UInt8] {
        handle(FileID(path: path))
    }

    static func handle(_ id: FileID) -> [UInt8] {
        var bytes: [UInt8] = [0x50, 0x32, 0x46, 0x01]
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: id.rawValue >> UInt64(shift)))
        }
        return bytes
    }

    func node(_ path: String) throws -> NamespaceNode {
        try self.snapshot.lookup(path: path)
    }

    func shutdown() async {
        await self.store.shutdown()
    }
}
