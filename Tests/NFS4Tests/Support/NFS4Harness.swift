import CoreMetrics
import NFS3
import NFS4
import NIOCore
import Namespace
import Synchronization
import ProgramTestSupport

/// A clock tests move by hand, so lease expiry needs no sleeping.
final class TestClock: Sendable {
    private let value = Mutex<NIODeadline>(.uptimeNanoseconds(1_000_000_000_000))

    var now: NIODeadline { self.value.withLock { $0 } }

    func advance(by amount: TimeAmount) {
        self.value.withLock { $0 = $0 + amount }
    }
}

/// An NFSv4.1 server over the test namespace, called COMPOUND by COMPOUND.
struct NFS4Harness {
    let store: NamespaceStore
    let program: NFSv4Program
    let clock = TestClock()
    var caller = ProgramCaller()

    init(store: NamespaceStore, limits: NFS4State.Limits = NFS4State.Limits(), metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.store = store
        let clock = self.clock
        self.program = NFSv4Program(
            store: store, configuration: NFS4Configuration(presentation: TestNamespace.configuration, limits: limits), boot: 7,
            clock: { clock.now }, metricsFactory: metricsFactory
        )
    }

    static func standard(limits: NFS4State.Limits = NFS4State.Limits()) async -> NFS4Harness {
        NFS4Harness(store: await TestNamespace.makeStore(), limits: limits)
    }

    func call(_ compound: ClientCompound) throws -> ClientCompoundReply {
        try ClientCompoundReply(self.callRaw(compound).body)
    }

    func callRaw(_ compound: ClientCompound) throws -> CallReply {
        try self.caller.call(self.program, version: 4, procedure: 1, arguments: compound.bytes)
    }

    /// EXCHANGE_ID then CREATE_SESSION for `owner`: the client ID and the
    /// 16 session ID bytes.
    func createSession(owner: String = "client-a", verifier: UInt64 = 1, slots: UInt32 = 8) throws -> (clientID: UInt64, session: [UInt8]) {
        var exchange = ClientCompound()
        exchange.add(ClientCompound.exchangeID) { buffer in
            buffer.putU64(verifier)
            buffer.putString(owner)
            buffer.putU32(0x1_0000)  // EXCHGID4_FLAG_USE_NON_PNFS
            buffer.putU32(0)  // SP4_NONE
            buffer.putU32(0)  // no implementation id
        }
        var reply = try self.call(exchange)
        guard reply.status == Status4.ok, try reply.next() == (ClientCompound.exchangeID, Status4.ok) else {
            throw ClientDecodingError.truncated
        }
        let clientID = try reply.rest.u64()
        let sequence = try reply.rest.u32()
        var create = ClientCompound()
        create.add(ClientCompound.createSession) { buffer in
            buffer.putU64(clientID)
            buffer.putU32(sequence)
            buffer.putU32(0)  // flags
            for requests in [slots, 1] {  // fore, back channel_attrs4
                buffer.putU32(0)
                buffer.putU32(1 << 20)
                buffer.putU32(1 << 20)
                buffer.putU32(4096)
                buffer.putU32(16)
                buffer.putU32(requests)
                buffer.putU32(0)
            }
            buffer.putU32(0x4000_0000)  // cb_program
            buffer.putU32(1)  // one callback_sec_parms4: AUTH_NONE
            buffer.putU32(0)
        }
        var created = try self.call(create)
        guard created.status == Status4.ok, try created.next() == (ClientCompound.createSession, Status4.ok) else {
            throw ClientDecodingError.truncated
        }
        guard let session = created.rest.readBytes(length: 16) else { throw ClientDecodingError.truncated }
        return (clientID, session)
    }

    /// A COMPOUND starting with SEQUENCE in `slot` with `sequenceID`.
    static func sequenced(
        _ session: [UInt8], sequenceID: UInt32, slot: UInt32 = 0, cacheThis: Bool = false, tag: String = ""
    ) -> ClientCompound {
        var compound = ClientCompound(tag: tag)
        compound.add(ClientCompound.sequence) { buffer in
            buffer.writeBytes(session)
            buffer.putU32(sequenceID)
            buffer.putU32(slot)
            buffer.putU32(slot)
            buffer.putU32(cacheThis ? 1 : 0)
        }
        return compound
    }

    /// The handle bytes of a path, built independently of the server's types.
    static func handle(_ path: String) -> [UInt8] {
        let id = path.isEmpty ? FileID.root : FileID(path: path)
        var bytes: [UInt8] = [0x50, 0x32, 0x46, 0x01]
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: id.rawValue >> UInt64(shift)))
        }
        return bytes
    }
}

extension ClientCompound {
    mutating func putfh(_ path: String) {
        self.add(Self.putfh) { $0.putOpaque(NFS4Harness.handle(path)) }
    }

    mutating func getattr(_ words: [UInt32]) {
        self.add(Self.getattr) { buffer in
            buffer.putU32(UInt32(words.count))
            for word in words { buffer.putU32(word) }
        }
    }

    /// OPEN for reading by name (CLAIM_NULL) in the current directory.
    mutating func openForRead(_ name: String, clientID: UInt64, owner: String, access: UInt32 = 1, deny: UInt32 = 0) {
        self.add(Self.open) { buffer in
            buffer.putU32(0)  // seqid
            buffer.putU32(access)
            buffer.putU32(deny)
            buffer.putU64(clientID)
            buffer.putString(owner)
            buffer.putU32(0)  // OPEN4_NOCREATE
            buffer.putU32(0)  // CLAIM_NULL
            buffer.putString(name)
        }
    }
}
