import NFS3
import NFS4
import NIOCore
import Namespace
import ONCRPC
import Synchronization
import XDR

/// Fuzz target `nfs4`: NULL and COMPOUND calls to `NFSv4Program.handle`
/// over the namespace the `nfs` target serves, all calls of one input on
/// one program, so client IDs, sessions, slots, opens, locks and stateids
/// carry from call to call.
///
/// Input: one flags byte, then steps until the input ends (at most 32):
///
///     flags    bit 0: the namespace is still being gathered (NFS4ERR_DELAY)
///              bit 1: AUTH_NONE instead of AUTH_SYS
///     step     kind byte (`Step`), then what that kind reads:
///       null         nothing
///       raw          procedure byte, arguments: 16-bit length and bytes
///       setup        owner, verifier, flags, ca_maxoperations, ca_maxrequests,
///                    sizes (6 bytes): EXCHANGE_ID, then CREATE_SESSION with
///                    the client ID and sequence it returned
///       sequenced    session, slot, mode (bits 0-1 sequence ID: next, same,
///                    next + 1, 0; bit 2 cachethis; bit 3 a 900-byte tag;
///                    bits 4-5 minor version 1, 1, 0, 2), operation count,
///                    then the operations: SEQUENCE and `Operation`s
///       sessionless  mode (bits 4-5 minor version), operation count, operations
///       resend       nothing: the previous COMPOUND again, byte for byte
///       clock        16-bit seconds the clock moves on (the lease is 30 s)
///
/// An operation is a kind byte (`Operation`) and the parameter bytes that
/// kind takes (`Operation.parameterCount`); `raw` takes a 16-bit length and
/// that many bytes: an opcode and its arguments as they come. Parameters
/// pick from what the harness knows (paths, names, the stateids, session
/// and client IDs the server returned), so sequences reach OPEN, LOCK,
/// READ, LOCKU, CLOSE and TEST_STATEID on real state.
///
/// Checked on every reply: it decodes as COMPOUND4res to the last byte,
/// with the request's tag; results name the operations in order, stop at
/// the first failure and carry its status as the COMPOUND's; no more than
/// 64 operations, nor more than the session's ca_maxoperations; a reply
/// within the session's ca_maxresponsesize (and the cached size when
/// cachethis); READ never more than asked nor than the maximum read size;
/// READDIR within maxcount, cookies increasing past the one given;
/// GETATTR only attributes asked for; CREATE_SESSION within the server's
/// limits; and after every call the server's state within its limits.
public enum NFS4Fuzz {
    public static let limits = NFS4State.Limits(
        clients: 4, sessionsPerClient: 2, slots: 4, operations: 16, cachedReplyBytes: 2048, stateIDsPerClient: 8, rangesPerLock: 8,
        stateIDs: 12, cachedReplyTotal: 6144
    )
    public static let configuration = NFS4Configuration(
        presentation: NFS3Configuration(uid: 1000, gid: 1000, maximumReadSize: 4096, preferredReadSize: 4096), lease: .seconds(30),
        limits: limits
    )
    public static let boot: UInt32 = 0x0B00_7ED0
    static let maximumCalls = 32
    /// Operations a structured COMPOUND carries at most (beyond the 64 the
    /// server accepts, to see it refuse).
    static let maximumStructuredOperations = 70

    public enum Step: UInt8, CaseIterable {
        case null = 0
        case raw = 1
        case setup = 2
        case sequenced = 3
        case sessionless = 4
        case resend = 5
        case clock = 6
    }

    /// Operations a structured COMPOUND is built from.
    public enum Operation: UInt8, CaseIterable {
        case putrootfh, putfh, lookup, lookupp, getfh, getattr, access, readlink, savefh, restorefh
        case open, close, openDowngrade, lock, lockt, locku, read, readdir, secinfo, secinfoNoName
        case testStateID, freeStateID, reclaimComplete, destroySession, bindConnection, destroyClientID
        case exchangeID, createSession, sequence, modifying, verify, delegReturn, raw

        /// Parameter bytes after the kind byte (`raw`: a chunk instead).
        public var parameterCount: Int {
            switch self {
            case .putrootfh, .lookupp, .getfh, .readlink, .savefh, .restorefh, .raw: 0
            case .putfh, .lookup, .access, .close, .secinfo, .secinfoNoName, .freeStateID, .reclaimComplete, .destroySession,
                .bindConnection, .destroyClientID, .sequence, .modifying, .verify, .delegReturn:
                1
            case .getattr, .openDowngrade, .testStateID, .exchangeID: 3
            case .open, .lockt, .locku: 4
            case .lock, .read: 5
            case .createSession: 6
            case .readdir: 7
            }
        }
    }

    /// Files the harness names by index (PUTFH): the namespace's, one it
    /// does not hold (NFS4ERR_STALE) and two handles that are not handles.
    public static let paths = [
        "", "movies", "movies/KillBill.mkv", "movies/trailer.sh", "docs", "docs/readme.txt", "empty.txt", "shared.txt", "latest",
        "big", "big/f150", "beta-only.bin", "deep/a/b/c/d/file", "name with spaces/ünïcödé.txt", "no/such/file",
    ]
    public static let names = [
        "movies", "KillBill.mkv", "trailer.sh", "docs", "readme.txt", "empty.txt", "shared.txt", "latest", "big", "f150",
        "beta-only.bin", "deep", "name with spaces", "ünïcödé.txt", "nothing", "", ".", "..", "a/b", String(repeating: "n", count: 300),
    ]
    static let owners: [[UInt8]] = [Array("owner-a".utf8), Array("owner-b".utf8), [0], Array(repeating: 0xEE, count: 64)]
    static let cookieVerifier: UInt64 = 0x7032_7066_7364_6972

    /// A clock the input moves (the lease is 30 s).
    final class Clock: Sendable {
        let value = Mutex<NIODeadline>(.uptimeNanoseconds(1_000_000_000_000))
        var now: NIODeadline { self.value.withLock { $0 } }
        func advance(seconds: Int64) { self.value.withLock { $0 = $0 + .seconds(seconds) } }
    }

    /// What the harness learnt from the server's replies.
    struct Session {
        var id: SessionID4
        var clientID: UInt64
        var maximumOperations: UInt32
        var maximumResponseSize: UInt32
        var maximumResponseSizeCached: UInt32
        var sequenceIDs: [UInt32]
    }

    struct Known {
        var clients: [UInt64: UInt32] = [:]
        var clientOrder: [UInt64] = []
        var sessions: [Session] = []
        var stateIDs: [StateID4] = []
        var lastCookie: UInt64 = 0

        mutating func remember(_ stateID: StateID4) {
            guard stateID.other != .zero else { return }
            self.stateIDs.removeAll { $0.other == stateID.other }
            self.stateIDs.append(stateID)
            if self.stateIDs.count > 16 { self.stateIDs.removeFirst() }
        }

        mutating func remember(client: UInt64, sequence: UInt32) {
            if self.clients.updateValue(sequence, forKey: client) == nil {
                self.clientOrder.append(client)
                if self.clientOrder.count > 8 { self.clients.removeValue(forKey: self.clientOrder.removeFirst()) }
            }
        }
    }

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let store = flags & 1 == 0 ? FuzzNamespace.readyStore : FuzzNamespace.gatheringStore
        var caller = FuzzCaller()
        if flags & 2 != 0 { caller.credentials = .none }
        let clock = Clock()
        let program = NFSv4Program(store: store, configuration: Self.configuration, boot: Self.boot, clock: { clock.now })
        var calls = Run(program: program, caller: caller, snapshot: store.current)

        var steps = 0
        while !input.isEmpty && steps < Self.maximumCalls {
            steps += 1
            let kind = Step(rawValue: input.byte() % UInt8(Step.allCases.count))!
            switch kind {
            case .null:
                let reply = try calls.caller.call(program, version: 4, procedure: 0, arguments: ByteBuffer())
                try fuzzCheck(reply.isSuccess && reply.results.readableBytes == 0, "NULL answered \(reply.outcome)")
            case .raw:
                let procedure = UInt32(input.byte())
                let arguments = input.chunk()
                try calls.call(procedure: procedure, arguments)
            case .setup:
                try calls.setup(&input)
            case .sequenced:
                let arguments = calls.sequenced(&input)
                try calls.call(procedure: 1, arguments)
            case .sessionless:
                let mode = input.byte()
                var operations = ByteBuffer()
                let count = calls.operations(&input, into: &operations, session: nil)
                try calls.call(procedure: 1, Self.compound(tag: [], minor: Self.minor(mode), count: count, operations: operations))
            case .resend:
                if let last = calls.lastCompound { try calls.call(procedure: 1, last) }
            case .clock:
                clock.advance(seconds: Int64(input.uint16()))
            }
            try calls.checkState()
        }
    }

    static func minor(_ mode: UInt8) -> UInt32 { [1, 1, 0, 2][Int(mode >> 4) & 3] }

    static func compound(tag: [UInt8], minor: UInt32, count: Int, operations: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeXDRVariableOpaque(tag)
        buffer.writeXDRUInt32(minor)
        buffer.writeXDRUInt32(UInt32(count))
        buffer.writeImmutableBuffer(operations)
        return buffer
    }

    /// One input's calls on one program.
    struct Run {
        let program: NFSv4Program
        var caller: FuzzCaller
        let snapshot: NamespaceSnapshot
        var known = Known()
        var lastCompound: ByteBuffer?

        // MARK: Building calls

        /// EXCHANGE_ID, then CREATE_SESSION with what it returned.
        mutating func setup(_ input: inout FuzzInput) throws(FuzzPropertyViolation) {
            let owner = input.byte()
            let verifier = input.byte()
            let flags = input.byte()
            let maximumOperations = input.byte()
            let maximumRequests = input.byte()
            let sizes = input.byte()
            var exchange = ByteBuffer()
            Self.exchangeID(&exchange, owner: owner, verifier: verifier, flags: flags & 3)
            let exchangeReply = try self.call(procedure: 1, NFS4Fuzz.compound(tag: [], minor: 1, count: 1, operations: exchange))
            guard let clientID = exchangeReply.clientID, let sequence = self.known.clients[clientID] else { return }
            var create = ByteBuffer()
            let channel = (
                operations: UInt32(maximumOperations % 40), requests: UInt32(maximumRequests % 8),
                request: [UInt32(1 << 20), 320, 319, 4096][Int(sizes & 3)],
                response: [UInt32(1 << 20), 304, 303, 1024, 600, 2048, 8192, 65536][Int(sizes >> 2) & 7],
                cached: [UInt32(4096), 0, 304, 1 << 20][Int(sizes >> 5) & 3]
            )
            create.writeXDRUInt32(NFS4OperationCode.createSession.rawValue)
            create.writeXDRUInt64(clientID)
            create.writeXDRUInt32(flags & 4 != 0 ? sequence &+ 1 : sequence)
            create.writeXDRUInt32(UInt32(flags >> 3) & 7)
            for requests in [channel.requests, 1] {
                create.writeXDRUInt32(0)
                create.writeXDRUInt32(channel.request)
                create.writeXDRUInt32(channel.response)
                create.writeXDRUInt32(channel.cached)
                create.writeXDRUInt32(channel.operations)
                create.writeXDRUInt32(requests)
                create.writeXDRUInt32(0)
            }
            create.writeXDRUInt32(0x4000_0000)
            create.writeXDRUInt32(1)
            create.writeXDRUInt32(0)  // AUTH_NONE
            try self.call(procedure: 1, NFS4Fuzz.compound(tag: [], minor: 1, count: 1, operations: create))
        }

        static func exchangeID(_ buffer: inout ByteBuffer, owner: UInt8, verifier: UInt8, flags: UInt8) {
            buffer.writeXDRUInt32(NFS4OperationCode.exchangeID.rawValue)
            buffer.writeXDRUInt64(UInt64(verifier % 4))
            buffer.writeXDRVariableOpaque(NFS4Fuzz.owners[Int(owner) % NFS4Fuzz.owners.count])
            let flagChoices: [UInt32] = [ExchangeIDFlags.useNonPNFS, ExchangeIDFlags.updateConfirmedRecord, 0x8000_0000, 0]
            buffer.writeXDRUInt32(flagChoices[Int(flags) & 3])
            buffer.writeXDRUInt32(0)  // SP4_NONE
            buffer.writeXDRUInt32(owner & 0x80 != 0 ? 1 : 0)
            if owner & 0x80 != 0 {
                buffer.writeXDRString("fuzz.example")
                buffer.writeXDRString("fuzz client")
                buffer.writeXDRInt64(0)
                buffer.writeXDRUInt32(0)
            }
        }

        /// A COMPOUND starting with SEQUENCE.
        mutating func sequenced(_ input: inout FuzzInput) -> ByteBuffer {
            let sessionChoice = Int(input.byte())
            let slot = UInt32(input.byte() % 6)
            let mode = input.byte()
            var session: Session?
            var sessionID = SessionID4(clientID: 0xDEAD, boot: NFS4Fuzz.boot, counter: UInt32(sessionChoice))
            if !self.known.sessions.isEmpty && sessionChoice < 0xF0 {
                session = self.known.sessions[sessionChoice % self.known.sessions.count]
                sessionID = session!.id
            }
            // Typed: with TOMLKit visible (the fuzz package), the untyped
            // literal array does not type-check.
            let last: UInt32 = session.flatMap { Int(slot) < $0.sequenceIDs.count ? $0.sequenceIDs[Int(slot)] : nil } ?? 0
            let candidates: [UInt32] = [last &+ 1, last, last &+ 2, 0]
            let sequenceID = candidates[Int(mode & 3)]
            var operations = ByteBuffer()
            operations.writeXDRUInt32(NFS4OperationCode.sequence.rawValue)
            sessionID.encode(into: &operations)
            operations.writeXDRUInt32(sequenceID)
            operations.writeXDRUInt32(slot)
            operations.writeXDRUInt32(slot)
            operations.writeXDRBool(mode & 4 != 0)
            let count = 1 + self.operations(&input, into: &operations, session: session)
            let tag = mode & 8 != 0 ? [UInt8](repeating: 0x74, count: 900) : Array("fuzz".utf8)
            return NFS4Fuzz.compound(tag: tag, minor: NFS4Fuzz.minor(mode), count: count, operations: operations)
        }

        /// Reads an operation count and that many operations; returns the count.
        mutating func operations(_ input: inout FuzzInput, into buffer: inout ByteBuffer, session: Session?) -> Int {
            let count = min(Int(input.byte()), NFS4Fuzz.maximumStructuredOperations)
            for _ in 0..<count {
                let kind = Operation(rawValue: input.byte() % UInt8(Operation.allCases.count))!
                if kind == .raw {
                    buffer.writeImmutableBuffer(input.chunk())
                    continue
                }
                var parameters: [UInt8] = []
                for _ in 0..<kind.parameterCount { parameters.append(input.byte()) }
                self.encode(kind, parameters, session: session, into: &buffer)
            }
            return count
        }

        func stateID(_ choice: UInt8) -> StateID4 {
            switch choice & 7 {
            case 4: return .anonymous
            case 5: return .bypass
            case 6: return .current
            case 7: return StateID4(seqid: 1, other: StateID4.Other(boot: UInt32(choice), counter: UInt64(choice)))
            default:
                guard !self.known.stateIDs.isEmpty else { return .anonymous }
                var stateID = self.known.stateIDs[Int(choice >> 3) % self.known.stateIDs.count]
                switch choice & 3 {
                case 1: stateID.seqid = 0
                case 2: stateID.seqid &-= 1
                case 3: stateID.seqid &+= 1
                default: break
                }
                return stateID
            }
        }

        func clientID(_ choice: UInt8, session: Session?) -> UInt64 {
            if choice & 0x80 == 0, let session { return session.clientID }
            let clients = self.known.clientOrder
            if choice & 0x40 == 0, !clients.isEmpty { return clients[Int(choice) % clients.count] }
            return UInt64(NFS4Fuzz.boot) << 32 | UInt64(choice)
        }

        func sessionID(_ choice: UInt8) -> SessionID4 {
            if !self.known.sessions.isEmpty, choice < 0xF0 { return self.known.sessions[Int(choice) % self.known.sessions.count].id }
            return SessionID4(clientID: UInt64(choice), boot: NFS4Fuzz.boot, counter: 1)
        }

        static func offset(_ choice: UInt8) -> UInt64 {
            switch choice {
            case 0: 0
            case 1: 4000
            case 2: 9999
            case 3: 10_000
            case 4: 1 << 40
            case 5: .max - 10
            case 6: .max
            default: UInt64(choice) * 97
            }
        }

        static func length(_ choice: UInt8) -> UInt64 {
            switch choice {
            case 0: 0
            case 1: 1
            case 2: 100
            case 3: .max
            case 4: .max - 1
            case 5: 1 << 63
            default: UInt64(choice) * 13
            }
        }

        static func bitmap(_ preset: UInt8, _ a: UInt8, _ b: UInt8) -> [UInt32] {
            switch preset % 6 {
            case 0: []
            case 1: [1 << 1 | 1 << 3 | 1 << 4 | 1 << 20]  // type, change, size, fileid
            case 2: [0xFFFF_FFFF, 0xFFFF_FFFF]
            case 3: [0x0010_011A, 0x00B0_A23A]  // what the Linux client asks for
            case 4: [0, 0, UInt32(a) << 8 | UInt32(b)]
            default: [UInt32(a) << 24 | UInt32(b) << 16 | UInt32(a ^ b), UInt32(b) << 8 | UInt32(a)]
            }
        }

        static func writeBitmap(_ words: [UInt32], into buffer: inout ByteBuffer) {
            buffer.writeXDRArray(words) { $0.writeXDRUInt32($1) }
        }

        func encode(_ kind: Operation, _ p: [UInt8], session: Session?, into buffer: inout ByteBuffer) {
            func op(_ code: NFS4OperationCode) { buffer.writeXDRUInt32(code.rawValue) }
            func name(_ choice: UInt8) { buffer.writeXDRString(NFS4Fuzz.names[Int(choice) % NFS4Fuzz.names.count]) }
            switch kind {
            case .putrootfh: op(.putrootfh)
            case .putfh:
                op(.putfh)
                switch Int(p[0]) % (NFS4Fuzz.paths.count + 2) {
                case NFS4Fuzz.paths.count: buffer.writeXDRVariableOpaque([UInt8](repeating: 0xAB, count: 12))
                case NFS4Fuzz.paths.count + 1: buffer.writeXDRVariableOpaque([UInt8](repeating: 0x50, count: 129))
                case let index: buffer.writeXDRVariableOpaque(FuzzNamespace.handle(NFS4Fuzz.paths[index]))
                }
            case .lookup:
                op(.lookup)
                name(p[0])
            case .lookupp: op(.lookupp)
            case .getfh: op(.getfh)
            case .getattr:
                op(.getattr)
                Self.writeBitmap(Self.bitmap(p[0], p[1], p[2]), into: &buffer)
            case .access:
                op(.access)
                buffer.writeXDRUInt32(UInt32(p[0]))
            case .readlink: op(.readlink)
            case .savefh: op(.savefh)
            case .restorefh: op(.restorefh)
            case .open:
                // p0 access, p1 deny (bits 0-2) and create (bits 6-7: none,
                // UNCHECKED4, UNCHECKED4 with size 0, EXCLUSIVE4), p2 owner,
                // p3 claim (bits 0-1: CLAIM_NULL, CLAIM_FH, CLAIM_PREVIOUS,
                // CLAIM_DELEGATE_CUR) and name (bits 2-7).
                op(.open)
                buffer.writeXDRUInt32(0)  // seqid
                buffer.writeXDRUInt32([1, 2, 3, 0, 0x103, 4][Int(p[0]) % 6])
                buffer.writeXDRUInt32(UInt32(p[1] & 7) % 5)
                buffer.writeXDRUInt64(self.clientID(p[2], session: session))
                buffer.writeXDRVariableOpaque(NFS4Fuzz.owners[Int(p[2]) % NFS4Fuzz.owners.count])
                switch p[1] >> 6 {
                case 0: buffer.writeXDRUInt32(0)  // OPEN4_NOCREATE
                case 3:
                    buffer.writeXDRUInt32(1)
                    buffer.writeXDRUInt32(2)  // EXCLUSIVE4
                    buffer.writeXDRUInt64(0x1234)
                case let unchecked:
                    buffer.writeXDRUInt32(1)
                    buffer.writeXDRUInt32(0)  // UNCHECKED4
                    if unchecked == 2 {
                        Self.writeBitmap([1 << 4], into: &buffer)  // size 0
                        buffer.writeXDRUInt32(8)
                        buffer.writeXDRUInt64(0)
                    } else {
                        Self.writeBitmap([], into: &buffer)
                        buffer.writeXDRUInt32(0)
                    }
                }
                switch p[3] & 3 {
                case 0:
                    buffer.writeXDRUInt32(0)  // CLAIM_NULL
                    name(p[3] >> 2)
                case 1: buffer.writeXDRUInt32(4)  // CLAIM_FH
                case 2:
                    buffer.writeXDRUInt32(1)  // CLAIM_PREVIOUS
                    buffer.writeXDRUInt32(0)
                default:
                    buffer.writeXDRUInt32(2)  // CLAIM_DELEGATE_CUR, not decoded further
                }
            case .close:
                op(.close)
                buffer.writeXDRUInt32(0)
                self.stateID(p[0]).encode(into: &buffer)
            case .openDowngrade:
                op(.openDowngrade)
                self.stateID(p[0]).encode(into: &buffer)
                buffer.writeXDRUInt32(0)
                buffer.writeXDRUInt32(UInt32(p[1] % 5))
                buffer.writeXDRUInt32(UInt32(p[2] % 5))
            case .lock:
                op(.lock)
                buffer.writeXDRUInt32(UInt32(p[0] % 5))  // 0 does not decode
                buffer.writeXDRBool(p[0] & 0x80 != 0)  // reclaim
                buffer.writeXDRUInt64(Self.offset(p[3]))
                buffer.writeXDRUInt64(Self.length(p[4]))
                if p[1] & 1 == 0 {
                    buffer.writeXDRBool(true)
                    buffer.writeXDRUInt32(0)
                    self.stateID(p[2]).encode(into: &buffer)
                    buffer.writeXDRUInt32(0)
                    buffer.writeXDRUInt64(self.clientID(p[1], session: session))
                    buffer.writeXDRVariableOpaque(NFS4Fuzz.owners[Int(p[1] >> 1) % NFS4Fuzz.owners.count])
                } else {
                    buffer.writeXDRBool(false)
                    self.stateID(p[2]).encode(into: &buffer)
                    buffer.writeXDRUInt32(0)
                }
            case .lockt:
                op(.lockt)
                buffer.writeXDRUInt32(UInt32(p[0] % 4) + 1)
                buffer.writeXDRUInt64(Self.offset(p[2]))
                buffer.writeXDRUInt64(Self.length(p[3]))
                buffer.writeXDRUInt64(self.clientID(p[1], session: session))
                buffer.writeXDRVariableOpaque(NFS4Fuzz.owners[Int(p[1] >> 1) % NFS4Fuzz.owners.count])
            case .locku:
                op(.locku)
                buffer.writeXDRUInt32(UInt32(p[0] % 4) + 1)
                buffer.writeXDRUInt32(0)
                self.stateID(p[1]).encode(into: &buffer)
                buffer.writeXDRUInt64(Self.offset(p[2]))
                buffer.writeXDRUInt64(Self.length(p[3]))
            case .read:
                op(.read)
                self.stateID(p[0]).encode(into: &buffer)
                buffer.writeXDRUInt64(UInt64(p[1]) << 8 | UInt64(p[2]))
                buffer.writeXDRUInt32(p[3] == 0xFF ? .max : UInt32(p[3]) << 8 | UInt32(p[4]))
            case .readdir:
                op(.readdir)
                let cookie: UInt64 =
                    switch p[0] % 6 {
                    case 0: 0
                    case 1: 1
                    case 2: 2
                    case 3: self.known.lastCookie
                    case 4: FileID(path: "big/f150").rawValue
                    default: UInt64(p[0]) << 40 | UInt64(p[1])
                    }
                buffer.writeXDRUInt64(cookie)
                buffer.writeXDRUInt64([NFS4Fuzz.cookieVerifier, 0, NFS4Fuzz.cookieVerifier, 0xBAD][Int(p[0] >> 6)])
                buffer.writeXDRUInt32(UInt32(p[1]) << 4)
                buffer.writeXDRUInt32(UInt32(p[2]) << 8 | UInt32(p[3]))
                Self.writeBitmap(Self.bitmap(p[4], p[5], p[6]), into: &buffer)
            case .secinfo:
                op(.secinfo)
                name(p[0])
            case .secinfoNoName:
                op(.secinfoNoName)
                buffer.writeXDRUInt32(UInt32(p[0] % 3))
            case .testStateID:
                op(.testStateID)
                let count = Int(p[0] % 4)
                buffer.writeXDRUInt32(UInt32(count))
                for index in 0..<count { self.stateID(index.isMultiple(of: 2) ? p[1] : p[2] &+ UInt8(index)).encode(into: &buffer) }
            case .freeStateID:
                op(.freeStateID)
                self.stateID(p[0]).encode(into: &buffer)
            case .reclaimComplete:
                op(.reclaimComplete)
                buffer.writeXDRBool(p[0] & 1 != 0)
            case .destroySession:
                op(.destroySession)
                self.sessionID(p[0]).encode(into: &buffer)
            case .bindConnection:
                op(.bindConnectionToSession)
                self.sessionID(p[0]).encode(into: &buffer)
                buffer.writeXDRUInt32(1)
                buffer.writeXDRBool(false)
            case .destroyClientID:
                op(.destroyClientID)
                buffer.writeXDRUInt64(self.clientID(p[0], session: session))
            case .exchangeID:
                Self.exchangeID(&buffer, owner: p[0], verifier: p[1], flags: p[2])
            case .createSession:
                op(.createSession)
                let clientID = self.clientID(p[0], session: nil)
                buffer.writeXDRUInt64(clientID)
                let sequence = self.known.clients[clientID] ?? 1
                buffer.writeXDRUInt32([sequence, sequence &- 1, sequence &+ 1, 0][Int(p[1] & 3)])
                buffer.writeXDRUInt32(UInt32(p[1] >> 2) & 7)
                for requests in [UInt32(p[3] % 8), 1] {
                    buffer.writeXDRUInt32(0)
                    buffer.writeXDRUInt32(UInt32(p[4]) << 8 | 0x40)
                    buffer.writeXDRUInt32(UInt32(p[5]) << 6)
                    buffer.writeXDRUInt32(UInt32(p[5]) << 4)
                    buffer.writeXDRUInt32(UInt32(p[2] % 40))
                    buffer.writeXDRUInt32(requests)
                    buffer.writeXDRUInt32(0)
                }
                buffer.writeXDRUInt32(0x4000_0000)
                buffer.writeXDRUInt32(0)
            case .sequence:
                op(.sequence)
                self.sessionID(p[0]).encode(into: &buffer)
                buffer.writeXDRUInt32(1)
                buffer.writeXDRUInt32(0)
                buffer.writeXDRUInt32(0)
                buffer.writeXDRBool(false)
            case .modifying:
                let codes: [NFS4OperationCode] = [.write, .remove, .setattr, .create, .rename, .link, .commit, .layoutGet, .openConfirm]
                op(codes[Int(p[0]) % codes.count])
                buffer.writeXDRUInt64(UInt64(p[0]))
            case .verify:
                op(p[0] & 1 == 0 ? .verify : .nverify)
                Self.writeBitmap([1 << 1], into: &buffer)  // type
                buffer.writeXDRUInt32(4)
                buffer.writeXDRUInt32(UInt32(p[0] >> 1) % 6)
            case .delegReturn:
                op(.delegReturn)
                self.stateID(p[0]).encode(into: &buffer)
            case .raw:
                break
            }
        }

        // MARK: Calls and their checks

        /// What a COMPOUND's reply told the harness.
        struct Outcome {
            var clientID: UInt64?
        }

        @discardableResult
        mutating func call(procedure: UInt32, _ arguments: ByteBuffer) throws(FuzzPropertyViolation) -> Outcome {
            if procedure == 1 { self.lastCompound = arguments }
            let reply = try self.caller.call(self.program, version: 4, procedure: procedure, arguments: arguments)
            guard procedure == 1 else {
                if procedure == 0 { try fuzzCheck(reply.isSuccess && reply.results.readableBytes == 0, "NULL answered \(reply.outcome)") }
                return Outcome()
            }
            var decoding = arguments
            guard let request = try? COMPOUND4Args(xdr: &decoding) else {
                try fuzzCheck(!reply.isSuccess, "a COMPOUND whose header does not decode was answered \(reply.outcome)")
                return Outcome()
            }
            try fuzzCheck(reply.isSuccess, "COMPOUND answered \(reply.outcome)")
            return try self.check(reply.results, request: request)
        }

        mutating func check(_ results: ByteBuffer, request: COMPOUND4Args) throws(FuzzPropertyViolation) -> Outcome {
            let replyLength = RPCReplyHeader.successHeaderLength + results.readableBytes
            var reader = FuzzResultsReader(results, "COMPOUND4res")
            let statusWord = try reader.uint32()
            guard let status = NFS4Status(rawValue: statusWord) else {
                throw FuzzPropertyViolation("COMPOUND status \(statusWord) is no nfsstat4")
            }
            let tag = try reader.opaque(limit: 1024)
            try fuzzCheck(tag == request.tag, "the reply's tag is not the request's")
            let count = Int(try reader.uint32())
            if request.minorVersion != 1 {
                try fuzzCheck(status == .minorVersionMismatch && count == 0, "minor version \(request.minorVersion) answered \(status) with \(count) results")
                try reader.end()
                return Outcome()
            }
            if request.declaredCount > COMPOUND4Args.maximumOperations {
                try fuzzCheck(status == .tooManyOperations && count == 0, "\(request.declaredCount) operations answered \(status) with \(count) results")
                try reader.end()
                return Outcome()
            }
            try fuzzCheck(count <= request.operations.count, "\(count) results for \(request.operations.count) operations")
            var outcome = Outcome()
            var statuses: [NFS4Status] = []
            var sequenced: SEQUENCE4Args?
            for index in 0..<count {
                let operation = request.operations[index]
                let code = try reader.uint32()
                try fuzzCheck(code == operation.code.rawValue, "result \(index) is of operation \(code), not \(operation.code)")
                let word = try reader.uint32()
                guard let resultStatus = NFS4Status(rawValue: word) else {
                    throw FuzzPropertyViolation("\(operation.code): status \(word) is no nfsstat4")
                }
                try fuzzCheck(statuses.last.map { $0 == .ok } ?? true, "a result follows the failed \(request.operations[index - 1].code)")
                statuses.append(resultStatus)
                if index == 0, case .sequence(let args) = operation, resultStatus == .ok { sequenced = args }
                try self.checkResult(operation, resultStatus, &reader, &outcome)
            }
            try reader.end()
            if let last = statuses.last {
                try fuzzCheck(status == last, "COMPOUND status \(status), its last result's \(last)")
            } else {
                try fuzzCheck(status == .ok && request.operations.isEmpty, "no results, status \(status), for \(request.operations.count) operations")
            }
            if status == .ok {
                try fuzzCheck(count == Int(request.declaredCount), "status OK after \(count) of \(request.declaredCount) operations")
            }
            try fuzzCheck(count <= COMPOUND4Args.maximumOperations, "\(count) results")
            if let sequenced, let tracked = self.known.sessions.firstIndex(where: { $0.id == sequenced.sessionID }) {
                let negotiated = self.known.sessions[tracked]
                try fuzzCheck(
                    request.declaredCount <= negotiated.maximumOperations,
                    "SEQUENCE accepted \(request.declaredCount) operations on a session of ca_maxoperations \(negotiated.maximumOperations)"
                )
                // Beyond the session's reply size only when SEQUENCE's own
                // result (a long tag) already is, and the next operation
                // then fails for it.
                var limit = Int(negotiated.maximumResponseSize)
                if sequenced.cacheThis { limit = min(limit, Int(negotiated.maximumResponseSizeCached)) }
                if count >= 2 && replyLength > limit {
                    try fuzzCheck(
                        count == 2 && (status == .replyTooBig || status == .replyTooBigToCache),
                        "a reply of \(replyLength) bytes (\(count) results, \(status)) on a session whose replies may have \(limit)"
                    )
                }
                if Int(sequenced.slotID) < negotiated.sequenceIDs.count {
                    self.known.sessions[tracked].sequenceIDs[Int(sequenced.slotID)] = sequenced.sequenceID
                }
            }
            return outcome
        }

        /// Reads one result's body as a client would, checking what the
        /// operation's arguments bound.
        mutating func checkResult(
            _ operation: NFS4Operation, _ status: NFS4Status, _ reader: inout FuzzResultsReader, _ outcome: inout Outcome
        ) throws(FuzzPropertyViolation) {
            if status == .denied {
                switch operation {
                case .lock, .lockt:
                    _ = try reader.uint64()
                    _ = try reader.uint64()
                    let type = try reader.uint32()
                    try fuzzCheck((1...4).contains(type), "LOCK4denied of lock type \(type)")
                    _ = try reader.uint64()
                    _ = try reader.opaque(limit: 1024)
                    return
                default:
                    throw FuzzPropertyViolation("\(operation.code) answered NFS4ERR_DENIED")
                }
            }
            guard status == .ok else { return }
            switch operation {
            case .access:
                let supported = try reader.uint32()
                let granted = try reader.uint32()
                try fuzzCheck(granted & ~supported == 0, "ACCESS granted \(granted) beyond what it supports (\(supported))")
            case .close, .locku, .openDowngrade:
                let stateID = try reader.decode { try StateID4(xdr: &$0) }
                if operation.code != .close { self.known.remember(stateID) }
            case .lock:
                self.known.remember(try reader.decode { try StateID4(xdr: &$0) })
            case .getattr(let mask):
                try Self.attributes(&reader, asked: mask, "GETATTR")
            case .getfh:
                let handle = try reader.opaque(limit: 128)
                guard let id = try? NFS4FileHandle.fileID(handle) else {
                    throw FuzzPropertyViolation("GETFH returned a handle the server refuses")
                }
                try fuzzCheck(self.snapshot.node(id) != nil, "GETFH returned a handle naming nothing")
            case .open:
                self.known.remember(try reader.decode { try StateID4(xdr: &$0) })
                _ = try reader.bool()
                _ = try reader.uint64()
                _ = try reader.uint64()
                _ = try reader.uint32()
                _ = try reader.decode { try $0.readXDRArray(limit: 8) { b throws(XDRError) in try b.readXDRUInt32() } }
                try fuzzCheck(try reader.uint32() == 0, "OPEN granted a delegation")
            case .read(_, _, let asked):
                _ = try reader.bool()
                let data = try reader.opaque()
                let limit = min(Int(asked), Int(NFS4Fuzz.configuration.presentation.maximumReadSize))
                try fuzzCheck(data.readableBytes <= limit, "READ of \(asked) bytes returned \(data.readableBytes)")
            case .readdir(let args):
                let start = reader.buffer.readableBytes
                let verifier = try reader.uint64()
                try fuzzCheck(verifier == NFS4Fuzz.cookieVerifier, "READDIR verifier \(verifier)")
                var previous = args.cookie
                var entries = 0
                while try reader.bool() {
                    let cookie = try reader.uint64()
                    let name = try reader.string()
                    try fuzzCheck(!name.isEmpty && name != "." && name != "..", "READDIR listed \"\(name)\"")
                    try fuzzCheck(cookie > previous && cookie > 2, "READDIR cookie \(cookie) after \(previous)")
                    previous = cookie
                    try Self.attributes(&reader, asked: args.attributes, "READDIR entry")
                    entries += 1
                    try fuzzCheck(entries <= 100_000, "READDIR without end")
                }
                _ = try reader.bool()
                let length = start - reader.buffer.readableBytes
                try fuzzCheck(length <= Int(args.maximumCount), "READDIR4resok of \(length) bytes for maxcount \(args.maximumCount)")
                if entries > 0 { self.known.lastCookie = previous }
            case .readlink:
                _ = try reader.opaque(limit: 4096)
            case .secinfo, .secinfoNoName:
                let flavors = try reader.decode { try $0.readXDRArray(limit: 8) { b throws(XDRError) in try b.readXDRUInt32() } }
                try fuzzCheck(!flavors.isEmpty && !flavors.contains(6), "SECINFO flavors \(flavors)")
            case .testStateID(let stateIDs):
                let statuses = try reader.decode { try $0.readXDRArray(limit: 1024) { b throws(XDRError) in try b.readXDRUInt32() } }
                try fuzzCheck(statuses.count == stateIDs.count, "TEST_STATEID answered \(statuses.count) of \(stateIDs.count)")
            case .bindConnectionToSession:
                _ = try reader.decode { try SessionID4(xdr: &$0) }
                _ = try reader.uint32()
                _ = try reader.bool()
            case .exchangeID:
                let clientID = try reader.uint64()
                let sequence = try reader.uint32()
                _ = try reader.uint32()
                try fuzzCheck(try reader.uint32() == 0, "EXCHANGE_ID with state protection")
                _ = try reader.uint64()
                _ = try reader.opaque(limit: 1024)
                _ = try reader.opaque(limit: 1024)
                let implementations = try reader.uint32()
                try fuzzCheck(implementations <= 1, "\(implementations) nfs_impl_id4")
                if implementations == 1 {
                    _ = try reader.string()
                    _ = try reader.string()
                    _ = try reader.uint64()
                    _ = try reader.uint32()
                }
                self.known.remember(client: clientID, sequence: sequence)
                outcome.clientID = clientID
            case .createSession(let args):
                let id = try reader.decode { try SessionID4(xdr: &$0) }
                _ = try reader.uint32()
                _ = try reader.uint32()
                var channels: [[UInt32]] = []
                for _ in 0..<2 {
                    var words: [UInt32] = []
                    for _ in 0..<6 { words.append(try reader.uint32()) }
                    try fuzzCheck(try reader.uint32() <= 1, "ca_rdma_ird of more than one")
                    channels.append(words)
                }
                let fore = channels[0]
                let limits = NFS4Fuzz.limits
                try fuzzCheck(fore[4] >= 1 && fore[4] <= UInt32(limits.operations), "ca_maxoperations \(fore[4]) granted")
                try fuzzCheck(fore[5] >= 1 && fore[5] <= UInt32(limits.slots), "ca_maxrequests \(fore[5]) granted")
                try fuzzCheck(fore[3] <= UInt32(limits.cachedReplyBytes), "ca_maxresponsesize_cached \(fore[3]) granted")
                try fuzzCheck(id.clientID == args.clientID, "CREATE_SESSION for \(args.clientID) made \(id)")
                self.known.sessions.removeAll { $0.id == id }
                self.known.sessions.append(
                    Session(
                        id: id, clientID: args.clientID, maximumOperations: fore[4], maximumResponseSize: fore[2],
                        maximumResponseSizeCached: fore[3], sequenceIDs: Array(repeating: 0, count: Int(fore[5]))
                    )
                )
                if self.known.sessions.count > 8 { self.known.sessions.removeFirst() }
                self.known.clients[args.clientID] = args.sequence &+ 1
            case .sequence(let args):
                let id = try reader.decode { try SessionID4(xdr: &$0) }
                let sequenceID = try reader.uint32()
                let slot = try reader.uint32()
                let highest = try reader.uint32()
                let target = try reader.uint32()
                _ = try reader.uint32()
                try fuzzCheck(id == args.sessionID && sequenceID == args.sequenceID && slot == args.slotID, "SEQUENCE answered another slot")
                try fuzzCheck(slot <= highest && target <= highest && highest < UInt32(NFS4Fuzz.limits.slots), "SEQUENCE slots \(slot) \(highest) \(target)")
            case .destroySession(let id):
                self.known.sessions.removeAll { $0.id == id }
            default:
                break
            }
        }

        /// fattr4: only attributes asked for, values in an opaque.
        static func attributes(_ reader: inout FuzzResultsReader, asked: Bitmap4, _ what: String) throws(FuzzPropertyViolation) {
            let words = try reader.decode { try $0.readXDRArray(limit: Bitmap4.maximumWords) { b throws(XDRError) in try b.readXDRUInt32() } }
            let returned = Bitmap4(words: words)
            try fuzzCheck(returned.bits.allSatisfy { asked.contains($0) }, "\(what) returned attributes \(returned) for \(asked)")
            _ = try reader.opaque()
        }

        /// The server's tables within the limits it was given.
        func checkState() throws(FuzzPropertyViolation) {
            let state = self.program.currentState
            let limits = NFS4Fuzz.limits
            try fuzzCheck(state.clientCount <= limits.clients, "\(state.clientCount) clients")
            try fuzzCheck(state.sessionCount <= state.clientCount * limits.sessionsPerClient, "\(state.sessionCount) sessions")
            try fuzzCheck(state.stateIDCount <= limits.stateIDs, "\(state.stateIDCount) stateids")
            try fuzzCheck(
                state.cachedReplyBytes >= 0 && state.cachedReplyBytes <= limits.cachedReplyTotal, "\(state.cachedReplyBytes) bytes of cached replies"
            )
        }
    }
}
