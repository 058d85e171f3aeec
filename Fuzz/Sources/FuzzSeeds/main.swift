// Writes the seed corpus: well-formed messages of every kind, encoded with
// the project's own types (or, for NFS arguments, which the server only
// decodes, with XDR primitives as RFC 1813 lays them out).
//
//     Fuzz/.build-fuzz/debug/FuzzSeeds Fuzz
//
// writes Fuzz/Corpus/<target>/ and, for bugs found with inputs crafted
// here rather than by a fuzzer, their reproducers in Fuzz/Regressions/<target>/.
//
// Each fuzz target's input format is documented on its harness
// (`RecordStreamFuzz`, `NFSFuzz`, `NFS4Fuzz`, `PeerFuzz`, `ControlFuzz`,
// `PortmapFuzz`, `MDNSFuzz`).

import Discovery
import FuzzHarness
import NFS3
import NFS4
import NIOCore
import Namespace
import ONCRPC
@testable import P2PFSDaemon
import PeerProtocol
import RPCBind
import XDR

#if canImport(Glibc)
import Glibc
#endif

// libFuzzer, linked into everything this package builds, wants the symbol.
@_cdecl("LLVMFuzzerTestOneInput") public func unused(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { 0 }

let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Fuzz"
var written = 0

@MainActor func save(_ target: String, _ name: String, _ bytes: [UInt8], kind: String = "Corpus") {
    let directory = "\(root)/\(kind)/\(target)"
    mkdir("\(root)/\(kind)", 0o755)
    mkdir(directory, 0o755)
    let path = "\(directory)/\(name)"
    guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
    written += 1
}

func bytes(_ encode: (inout ByteBuffer) -> Void) -> ByteBuffer {
    var buffer = ByteBuffer()
    encode(&buffer)
    return buffer
}

// MARK: XDR for NFS, MOUNT and NLM arguments

extension ByteBuffer {
    mutating func handle(_ path: String) {
        self.writeXDRVariableOpaque(FuzzNamespace.handle(path))
    }

    mutating func emptySattr3() {
        for _ in 0..<6 { self.writeXDRUInt32(0) }
    }

    mutating func nlmLock(_ path: String, caller: String = "fuzzclient", owner: [UInt8] = [1, 2, 3, 4], svid: Int32 = 42, offset: UInt64 = 0, length: UInt64 = 0) {
        NLM4Lock(callerName: caller, fileHandle: FuzzNamespace.handle(path), ownerHandle: owner, svid: svid, offset: offset, length: length)
            .encode(into: &self)
    }
}

let cookie: [UInt8] = [0xC0, 0x0C, 0x1E, 0x01]

enum NFSArguments {
    static let null = ByteBuffer()
    static let getattrRoot = bytes { $0.handle("") }
    static let getattrFile = bytes { $0.handle("movies/KillBill.mkv") }
    static let setattr = bytes { $0.handle("docs/readme.txt"); $0.emptySattr3(); $0.writeXDRBool(false) }
    static let lookup = bytes { $0.handle("movies"); $0.writeXDRString("KillBill.mkv") }
    static let lookupDotDot = bytes { $0.handle("movies"); $0.writeXDRString("..") }
    static let lookupUnicode = bytes { $0.handle("name with spaces"); $0.writeXDRString("ünïcödé.txt") }
    static let access = bytes { $0.handle("movies/trailer.sh"); $0.writeXDRUInt32(0x3F) }
    static let readlink = bytes { $0.handle("latest") }
    static let read = bytes { $0.handle("movies/KillBill.mkv"); $0.writeXDRUInt64(4000); $0.writeXDRUInt32(8192) }
    static let readConflict = bytes { $0.handle("shared.txt"); $0.writeXDRUInt64(0); $0.writeXDRUInt32(100) }
    static let readFailing = bytes { $0.handle("beta-only.bin"); $0.writeXDRUInt64(0); $0.writeXDRUInt32(4096) }
    static let write = bytes {
        $0.handle("docs/readme.txt"); $0.writeXDRUInt64(0); $0.writeXDRUInt32(5); $0.writeXDRUInt32(2); $0.writeXDRVariableOpaque(Array("hello".utf8))
    }
    static let create = bytes { $0.handle("docs"); $0.writeXDRString("new.txt"); $0.writeXDRUInt32(1); $0.emptySattr3() }
    static let createExclusive = bytes { $0.handle("docs"); $0.writeXDRString("new.txt"); $0.writeXDRUInt32(2); $0.writeXDRUInt64(0x1234) }
    static let mkdir = bytes { $0.handle(""); $0.writeXDRString("newdir"); $0.emptySattr3() }
    static let symlink = bytes { $0.handle(""); $0.writeXDRString("link"); $0.emptySattr3(); $0.writeXDRString("movies") }
    static let mknod = bytes { $0.handle(""); $0.writeXDRString("fifo"); $0.writeXDRUInt32(7); $0.emptySattr3() }
    static let mknodDevice = bytes { $0.handle(""); $0.writeXDRString("dev"); $0.writeXDRUInt32(4); $0.emptySattr3(); $0.writeXDRUInt32(1); $0.writeXDRUInt32(3) }
    static let remove = bytes { $0.handle("docs"); $0.writeXDRString("readme.txt") }
    static let rmdir = bytes { $0.handle(""); $0.writeXDRString("docs") }
    static let rename = bytes { $0.handle("docs"); $0.writeXDRString("readme.txt"); $0.handle(""); $0.writeXDRString("readme.txt") }
    static let link = bytes { $0.handle("docs/readme.txt"); $0.handle(""); $0.writeXDRString("hardlink") }
    static let readdirRoot = bytes { $0.handle(""); $0.writeXDRUInt64(0); $0.writeXDRUInt64(0); $0.writeXDRUInt32(4096) }
    static let readdirBigSmall = bytes { $0.handle("big"); $0.writeXDRUInt64(0); $0.writeXDRUInt64(0); $0.writeXDRUInt32(300) }
    static let readdirResume = bytes {
        $0.handle("big"); $0.writeXDRUInt64(FileID(path: "big/f150").rawValue); $0.writeXDRUInt64(CookieVerifier3.current); $0.writeXDRUInt32(1024)
    }
    static let readdirplusRoot = bytes { $0.handle(""); $0.writeXDRUInt64(0); $0.writeXDRUInt64(0); $0.writeXDRUInt32(1024); $0.writeXDRUInt32(8192) }
    static let readdirplusBig = bytes { $0.handle("big"); $0.writeXDRUInt64(2); $0.writeXDRUInt64(CookieVerifier3.current); $0.writeXDRUInt32(512); $0.writeXDRUInt32(2048) }
    static let fsstat = bytes { $0.handle("") }
    static let fsinfo = bytes { $0.handle("") }
    static let pathconf = bytes { $0.handle("movies") }
    static let commit = bytes { $0.handle("docs/readme.txt"); $0.writeXDRUInt64(0); $0.writeXDRUInt32(0) }
    static let badHandle = bytes { $0.writeXDRVariableOpaque([UInt8](repeating: 0xAB, count: 32)) }
    static let staleHandle = bytes { $0.handle("no/such/file") }

    /// Every procedure, by number.
    static let byProcedure: [(NFS3Procedure, ByteBuffer)] = [
        (.null, null), (.getattr, getattrRoot), (.setattr, setattr), (.lookup, lookup), (.access, access), (.readlink, readlink),
        (.read, read), (.write, write), (.create, create), (.mkdir, mkdir), (.symlink, symlink), (.mknod, mknod),
        (.remove, remove), (.rmdir, rmdir), (.rename, rename), (.link, link), (.readdir, readdirRoot),
        (.readdirplus, readdirplusRoot), (.fsstat, fsstat), (.fsinfo, fsinfo), (.pathconf, pathconf), (.commit, commit),
    ]
}

enum MountArguments {
    static let root = bytes { $0.writeXDRString("/") }
    static let movies = bytes { $0.writeXDRString("movies/") }
    static let file = bytes { $0.writeXDRString("/movies/KillBill.mkv") }
    static let missing = bytes { $0.writeXDRString("/nothing/here") }
}

enum NLMArguments {
    static func lock(_ path: String = "movies/KillBill.mkv", block: Bool = false, exclusive: Bool = true, owner: [UInt8] = [1, 2, 3, 4], svid: Int32 = 42, offset: UInt64 = 0, length: UInt64 = 0, reclaim: Bool = false) -> ByteBuffer {
        bytes {
            NLM4LockArgs(
                cookie: cookie, block: block, exclusive: exclusive,
                lock: NLM4Lock(callerName: "fuzzclient", fileHandle: FuzzNamespace.handle(path), ownerHandle: owner, svid: svid, offset: offset, length: length),
                reclaim: reclaim, state: 3
            ).encode(into: &$0)
        }
    }

    static func test(_ path: String = "movies/KillBill.mkv", svid: Int32 = 7) -> ByteBuffer {
        bytes {
            NLM4TestArgs(
                cookie: cookie, exclusive: true,
                lock: NLM4Lock(callerName: "other", fileHandle: FuzzNamespace.handle(path), ownerHandle: [9], svid: svid, offset: 10, length: 100)
            ).encode(into: &$0)
        }
    }

    static func unlock(_ path: String = "movies/KillBill.mkv", offset: UInt64 = 0, length: UInt64 = 0) -> ByteBuffer {
        bytes {
            NLM4UnlockArgs(
                cookie: cookie,
                lock: NLM4Lock(callerName: "fuzzclient", fileHandle: FuzzNamespace.handle(path), ownerHandle: [1, 2, 3, 4], svid: 42, offset: offset, length: length)
            ).encode(into: &$0)
        }
    }

    static let cancel = bytes {
        NLM4CancelArgs(
            cookie: cookie, block: true, exclusive: true,
            lock: NLM4Lock(callerName: "other", fileHandle: FuzzNamespace.handle("movies/KillBill.mkv"), ownerHandle: [9], svid: 7, offset: 0, length: 0)
        ).encode(into: &$0)
    }

    static let share = bytes {
        NLM4ShareArgs(
            cookie: cookie,
            share: NLM4Share(callerName: "pc", fileHandle: FuzzNamespace.handle("docs/readme.txt"), ownerHandle: [5], mode: .denyWrite, access: .read)
        ).encode(into: &$0)
    }

    static let freeAll = bytes { NLM4Notify(name: "fuzzclient", state: 5).encode(into: &$0) }
    static let statusMonitorNotify = bytes { NLM4StatusMonitorNotify(notify: NLM4Notify(name: "other", state: 7)).encode(into: &$0) }
    static let result = bytes { NLM4Result(cookie: cookie, status: .granted).encode(into: &$0) }
    static let testResult = bytes {
        NLM4TestResult(cookie: cookie, status: .denied, holder: NLM4Holder(exclusive: true, svid: 1, ownerHandle: [1], offset: 0, length: 10))
            .encode(into: &$0)
    }
}

// MARK: nfs

func nfsInput(flags: UInt8 = 0, _ calls: [(NFSFuzz.Program, UInt8, UInt32, ByteBuffer)]) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(flags)
    for (program, version, procedure, arguments) in calls {
        let mountVersion: UInt8 = [3: 0, 1: 1, 2: 2][version] ?? 0
        input.byte(program.rawValue | (program == .mount ? mountVersion << 2 : 0))
        input.byte(UInt8(procedure))
        input.chunk(arguments)
    }
    return input.bytes
}

for (procedure, arguments) in NFSArguments.byProcedure {
    save("nfs", "nfs-\(procedure)", nfsInput([(.nfs, 3, procedure.rawValue, arguments)]))
}
save("nfs", "nfs-lookup-variants", nfsInput([
    (.nfs, 3, 3, NFSArguments.lookupDotDot), (.nfs, 3, 3, NFSArguments.lookupUnicode), (.nfs, 3, 1, NFSArguments.getattrFile),
    (.nfs, 3, 1, NFSArguments.badHandle), (.nfs, 3, 1, NFSArguments.staleHandle),
]))
save("nfs", "nfs-read-variants", nfsInput([
    (.nfs, 3, 6, NFSArguments.readConflict), (.nfs, 3, 6, NFSArguments.readFailing), (.nfs, 3, 8, NFSArguments.createExclusive),
    (.nfs, 3, 11, NFSArguments.mknodDevice),
]))
save("nfs", "nfs-readdir-paging", nfsInput([
    (.nfs, 3, 16, NFSArguments.readdirBigSmall), (.nfs, 3, 16, NFSArguments.readdirResume), (.nfs, 3, 17, NFSArguments.readdirplusBig),
]))
save("nfs", "nfs-gathering", nfsInput(flags: 1, [(.nfs, 3, 1, NFSArguments.getattrFile), (.nfs, 3, 6, NFSArguments.read)]))
save("nfs", "mount-v3", nfsInput([
    (.mount, 3, 0, ByteBuffer()), (.mount, 3, 1, MountArguments.root), (.mount, 3, 1, MountArguments.movies),
    (.mount, 3, 1, MountArguments.file), (.mount, 3, 1, MountArguments.missing), (.mount, 3, 2, ByteBuffer()),
    (.mount, 3, 5, ByteBuffer()), (.mount, 3, 3, MountArguments.movies), (.mount, 3, 4, ByteBuffer()),
]))
save("nfs", "mount-v1", nfsInput(flags: 8, [(.mount, 1, 1, MountArguments.root), (.mount, 1, 6, ByteBuffer()), (.mount, 2, 5, ByteBuffer())]))
save("nfs", "nlm-lock-test-unlock", nfsInput([
    (.nlm, 4, 0, ByteBuffer()), (.nlm, 4, 2, NLMArguments.lock()), (.nlm, 4, 1, NLMArguments.test()),
    (.nlm, 4, 4, NLMArguments.unlock(offset: 5, length: 10)), (.nlm, 4, 1, NLMArguments.test()), (.nlm, 4, 4, NLMArguments.unlock()),
]))
save("nfs", "nlm-blocked-granted", nfsInput(flags: 2 << 1, [
    (.nlm, 4, 2, NLMArguments.lock(owner: [7], svid: 1, length: 100)),
    (.nlm, 4, 2, NLMArguments.lock(block: true, owner: [8], svid: 2, offset: 50, length: 100)),
    (.nlm, 4, 4, bytes {
        NLM4UnlockArgs(cookie: cookie, lock: NLM4Lock(callerName: "fuzzclient", fileHandle: FuzzNamespace.handle("movies/KillBill.mkv"), ownerHandle: [7], svid: 1, offset: 0, length: 100))
            .encode(into: &$0)
    }),
    (.nlm, 4, 3, NLMArguments.cancel),
]))
save("nfs", "nlm-messages", nfsInput(flags: 1 << 1, [
    (.nlm, 4, 6, NLMArguments.test()), (.nlm, 4, 7, NLMArguments.lock(block: true)), (.nlm, 4, 8, NLMArguments.cancel),
    (.nlm, 4, 9, NLMArguments.unlock()), (.nlm, 4, 10, NLMArguments.test()), (.nlm, 4, 11, NLMArguments.testResult),
    (.nlm, 4, 12, NLMArguments.result), (.nlm, 4, 5, NLMArguments.test()),
]))
save("nfs", "nlm-share-freeall", nfsInput([
    (.nlm, 4, 20, NLMArguments.share), (.nlm, 4, 22, NLMArguments.lock(exclusive: false)), (.nlm, 4, 21, NLMArguments.share),
    (.nlm, 4, 16, NLMArguments.statusMonitorNotify), (.nlm, 4, 23, NLMArguments.freeAll),
]))
save("nfs", "nlm-grace-reclaim", nfsInput(flags: 1, [
    (.nlm, 4, 2, NLMArguments.lock()), (.nlm, 4, 2, NLMArguments.lock(reclaim: true)), (.nlm, 4, 1, NLMArguments.test("no/such/file")),
]))

// MARK: nfs4

/// Steps of an `nfs4` input (`NFS4Fuzz` documents the format).
struct NFS4Input {
    typealias Operation = (NFS4Fuzz.Operation, [UInt8])
    var input = FuzzInputWriter()

    init(flags: UInt8 = 0) { self.input.byte(flags) }

    var bytes: [UInt8] { self.input.bytes }

    mutating func step(_ step: NFS4Fuzz.Step, _ parameters: [UInt8] = []) {
        self.input.byte(step.rawValue)
        for byte in parameters { self.input.byte(byte) }
    }

    /// EXCHANGE_ID and CREATE_SESSION: 16 operations, 4 slots, 1 MiB sizes.
    mutating func setup(owner: UInt8 = 0, verifier: UInt8 = 1, flags: UInt8 = 0, operations: UInt8 = 16, slots: UInt8 = 4, sizes: UInt8 = 0) {
        self.step(.setup, [owner, verifier, flags, operations, slots, sizes])
    }

    mutating func operations(_ operations: [Operation]) {
        self.input.byte(UInt8(operations.count))
        for (kind, parameters) in operations {
            self.input.byte(kind.rawValue)
            precondition(parameters.count == kind.parameterCount, "\(kind) takes \(kind.parameterCount) parameters")
            for byte in parameters { self.input.byte(byte) }
        }
    }

    /// SEQUENCE (next sequence ID in `slot` unless `mode` says otherwise), then `operations`.
    mutating func sequenced(session: UInt8 = 0, slot: UInt8 = 0, mode: UInt8 = 0, _ operations: [Operation]) {
        self.step(.sequenced, [session, slot, mode])
        self.operations(operations)
    }

    mutating func sessionless(mode: UInt8 = 0, _ operations: [Operation]) {
        self.step(.sessionless, [mode])
        self.operations(operations)
    }

    mutating func raw(procedure: UInt8, _ arguments: ByteBuffer) {
        self.step(.raw, [procedure])
        self.input.chunk(arguments)
    }
}

/// Parameter bytes of the operations the seeds use (see `NFS4Fuzz.Run.encode`).
enum NFS4Operations {
    static func putfh(_ path: String) -> NFS4Input.Operation {
        (.putfh, [UInt8(NFS4Fuzz.paths.firstIndex(of: path)!)])
    }
    /// OPEN by name for reading, owner 0 of the session's client.
    static func open(_ nameIndex: UInt8, access: UInt8 = 0, deny: UInt8 = 0, owner: UInt8 = 0) -> NFS4Input.Operation {
        (.open, [access, deny, owner, nameIndex << 2])
    }
    static let current: UInt8 = 6
    static let anonymous: UInt8 = 4
    /// The n-th stateid the server returned, as it was returned.
    static func known(_ index: UInt8) -> UInt8 { index << 3 }
}

do {
    // A client's whole life: session, OPEN of KillBill.mkv (name 1 in
    // movies), LOCK of 100 bytes, READ through the lock stateid, LOCKU;
    // then TEST_STATEID, FREE_STATEID, CLOSE and a READDIR.
    var input = NFS4Input()
    input.setup()
    input.sequenced([
        NFS4Operations.putfh("movies"), NFS4Operations.open(1), (.getfh, []),
        (.lock, [2, 2, NFS4Operations.current, 0, 2]),
        (.read, [NFS4Operations.current, 0, 0, 0x10, 0x00]),
        (.locku, [1, NFS4Operations.current, 0, 2]),
    ])
    input.sequenced([
        (.testStateID, [3, NFS4Operations.known(0), NFS4Operations.known(1)]),
        NFS4Operations.putfh("movies/KillBill.mkv"), (.freeStateID, [NFS4Operations.known(1)]), (.close, [NFS4Operations.known(0)]),
        (.putrootfh, []), (.readdir, [0, 0x10, 0x10, 0x00, 3, 0, 0]),
    ])
    save("nfs4", "session-open-lock-read", input.bytes)
}
do {
    // Two owners on one file: a write lock, a conflicting one (DENIED),
    // LOCKT, OPEN with deny (SHARE_DENIED), OPEN_DOWNGRADE, CLOSE with locks held.
    var input = NFS4Input()
    input.setup()
    input.sequenced([
        NFS4Operations.putfh("docs"), NFS4Operations.open(4, access: 2, owner: 0),
        (.lock, [2, 0, NFS4Operations.current, 0, 3]),
    ])
    input.sequenced(slot: 1, [
        NFS4Operations.putfh("docs"), NFS4Operations.open(4, access: 0, owner: 1),
        (.lock, [1, 2, NFS4Operations.current, 1, 2]),
    ])
    input.sequenced(slot: 2, [NFS4Operations.putfh("docs/readme.txt"), (.lockt, [0, 2, 0, 1])])
    input.sequenced(slot: 3, [NFS4Operations.putfh("docs"), NFS4Operations.open(4, access: 0, deny: 2, owner: 3)])
    input.sequenced(slot: 2, [NFS4Operations.putfh("docs/readme.txt"), (.openDowngrade, [NFS4Operations.known(0), 0, 0])])
    input.sequenced(slot: 2, [NFS4Operations.putfh("docs/readme.txt"), (.close, [NFS4Operations.known(0)])])
    save("nfs4", "lock-conflicts", input.bytes)
}
do {
    // The reply cache: a cached COMPOUND sent again (replayed), the same
    // sequence ID with other operations (SEQ_FALSE_RETRY), an uncached one
    // again (RETRY_UNCACHED_REP), a misordered one.
    var input = NFS4Input()
    input.setup(sizes: 0)
    input.sequenced(mode: 4, [(.putrootfh, []), (.getattr, [3, 0, 0])])
    input.step(.resend)
    input.sequenced(mode: 1, [(.putrootfh, [])])
    input.sequenced(slot: 1, [(.putrootfh, []), (.getfh, [])])
    input.step(.resend)
    input.sequenced(slot: 2, mode: 2, [(.putrootfh, [])])
    input.sequenced(slot: 5, [(.putrootfh, [])])
    input.sequenced(session: 0xFF, [(.putrootfh, [])])
    save("nfs4", "slots-and-replays", input.bytes)
}
do {
    // READDIR of the 300-entry directory a page at a time, after cookies
    // 0, the last one listed and big/f150; reserved cookies; a tiny maxcount.
    var input = NFS4Input()
    input.setup()
    input.sequenced([NFS4Operations.putfh("big"), (.readdir, [0, 0x08, 0x02, 0x00, 1, 0, 0])])
    input.sequenced([NFS4Operations.putfh("big"), (.readdir, [3, 0x08, 0x04, 0x00, 3, 0, 0])])
    input.sequenced([NFS4Operations.putfh("big"), (.readdir, [4, 0, 0x01, 0x00, 0, 0, 0])])
    input.sequenced([NFS4Operations.putfh("big"), (.readdir, [1, 0, 0x01, 0x00, 0, 0, 0])])
    input.sequenced([NFS4Operations.putfh("big"), (.readdir, [0, 0, 0x00, 0x08, 0, 0, 0])])
    save("nfs4", "readdir-paging", input.bytes)
}
do {
    // The namespace by name and handle: LOOKUP, LOOKUPP, SAVEFH/RESTOREFH,
    // ACCESS, READLINK, SECINFO, VERIFY, a stale and a bad handle, and
    // operations a read-only server refuses.
    var input = NFS4Input()
    input.setup()
    input.sequenced([
        (.putrootfh, []), (.lookup, [0]), (.savefh, []), (.lookup, [1]), (.getattr, [2, 0, 0]), (.access, [0x3F]),
        (.lookupp, []), (.restorefh, []), (.secinfo, [2]), (.putrootfh, []), (.secinfoNoName, [0]),
    ])
    input.sequenced([NFS4Operations.putfh("latest"), (.readlink, []), (.verify, [4]), (.verify, [5])])
    input.sequenced([NFS4Operations.putfh("no/such/file")])
    input.sequenced([(.putfh, [UInt8(NFS4Fuzz.paths.count)])])
    input.sequenced([NFS4Operations.putfh("docs/readme.txt"), (.modifying, [0])])
    input.sequenced([NFS4Operations.putfh("beta-only.bin"), (.read, [NFS4Operations.anonymous, 0, 0, 0xFF, 0])])
    input.sequenced([NFS4Operations.putfh("movies/KillBill.mkv"), (.read, [5, 0x27, 0x0F, 0x10, 0]), (.getattr, [1, 0, 0])])
    save("nfs4", "namespace", input.bytes)
}
do {
    // Outside a session, other minor versions, NULL, an unknown procedure,
    // too many operations, SEQUENCE out of place, and a lease running out.
    var input = NFS4Input(flags: 2)
    input.step(.null)
    input.sessionless([(.putrootfh, [])])
    input.sessionless(mode: 0x20, [(.putrootfh, [])])
    input.sessionless(mode: 0x30, [])
    input.sessionless([])
    input.raw(procedure: 2, ByteBuffer())
    input.setup(owner: 0x81, operations: 3, slots: 1)
    input.sequenced([(.putrootfh, []), (.getfh, []), (.getattr, [1, 0, 0])])
    input.sequenced([(.sequence, [0])])
    input.sequenced(Array(repeating: (.putrootfh, []), count: 65))
    input.sequenced([NFS4Operations.putfh("movies"), NFS4Operations.open(1)])
    input.step(.clock, [0, 40])
    input.sequenced([(.putrootfh, [])])
    input.setup(owner: 0x81, operations: 3, slots: 1)
    input.sequenced(session: 1, [(.reclaimComplete, [0]), (.destroySession, [1])])
    input.sessionless([(.destroyClientID, [1])])
    save("nfs4", "sessionless-and-limits", input.bytes)
}
do {
    // Raw bytes: an EXCHANGE_ID COMPOUND written out, a header that does
    // not decode, an undecodable operation after PUTROOTFH.
    var exchange = ByteBuffer()
    exchange.writeXDRString("raw")
    exchange.writeXDRUInt32(1)
    exchange.writeXDRUInt32(1)
    exchange.writeXDRUInt32(NFS4OperationCode.exchangeID.rawValue)
    exchange.writeXDRUInt64(7)
    exchange.writeXDRVariableOpaque(Array("raw client".utf8))
    exchange.writeXDRUInt32(ExchangeIDFlags.useNonPNFS)
    exchange.writeXDRUInt32(0)
    exchange.writeXDRUInt32(0)
    var input = NFS4Input()
    input.raw(procedure: 1, exchange)
    input.raw(procedure: 1, bytes { $0.writeXDRUInt32(2000) })
    input.raw(procedure: 0, ByteBuffer())
    input.setup()
    input.step(.sequenced, [0, 0, 0])
    input.input.byte(2)
    input.input.byte(NFS4Fuzz.Operation.putrootfh.rawValue)
    input.input.byte(NFS4Fuzz.Operation.raw.rawValue)
    input.input.chunk(bytes { $0.writeXDRUInt32(NFS4OperationCode.lookup.rawValue); $0.writeXDRUInt32(4000) })
    save("nfs4", "raw", input.bytes)
}
do {
    // READDIR of docs, then after its last (only) entry with a maxcount of
    // 8: the empty page's 16 bytes were sent anyway (now NFS4ERR_TOOSMALL).
    var input = NFS4Input()
    input.setup()
    input.sequenced([NFS4Operations.putfh("docs"), (.readdir, [0, 0x10, 0x10, 0x00, 0, 0, 0])])
    input.sequenced([NFS4Operations.putfh("docs"), (.readdir, [3, 0x00, 0x00, 0x08, 0, 0, 0])])
    save("nfs4", "readdir-empty-page-beyond-maxcount", input.bytes, kind: "Regressions")
}
do {
    var input = NFS4Input(flags: 1)
    input.setup()
    input.sequenced([NFS4Operations.putfh("movies/KillBill.mkv"), (.getattr, [1, 0, 0]), (.read, [NFS4Operations.anonymous, 0, 0, 0, 100])])
    save("nfs4", "gathering", input.bytes)
}

// MARK: mdns

/// Steps of an `mdns` input (`MDNSFuzz` documents the format).
struct MDNSInput {
    var input = FuzzInputWriter()

    init(flags: UInt8 = 0) { self.input.byte(flags) }

    var bytes: [UInt8] { self.input.bytes }

    mutating func packet(_ bytes: [UInt8], legacy: Bool = false) {
        self.input.byte(MDNSFuzz.Step.packet.rawValue | (legacy ? 8 : 0))
        self.input.chunk(ByteBuffer(bytes: bytes))
    }

    mutating func packet(_ message: DNSMessage, legacy: Bool = false) {
        self.packet(try! message.encoded(limit: Int.max), legacy: legacy)
    }

    mutating func step(_ step: MDNSFuzz.Step, _ parameters: [UInt8] = []) {
        self.input.byte(step.rawValue)
        for byte in parameters { self.input.byte(byte) }
    }

    /// Moves the clock on by `milliseconds` (in 8 ms steps).
    mutating func clock(milliseconds: Int) {
        let steps = UInt16(milliseconds / 8)
        self.step(.clock, [UInt8(steps >> 8), UInt8(steps & 0xFF)])
    }
}

let beta = ServiceAdvertisement(
    nodeName: "beta", nodeID: "be7a0000000000000000000000000002", port: 7071, protocolVersion: 1, roles: ["server"],
    addresses: [[198, 18, 0, 2], [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [2]]
)
let browseQuery = DNSMessage.query([DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr)])
do {
    // Another node announcing itself, asked about, and saying goodbye,
    // while ours probes, announces and answers.
    var input = MDNSInput()
    input.clock(milliseconds: 1000)
    input.packet(DNSMessage.response(answers: beta.records()))
    input.packet(browseQuery)
    input.clock(milliseconds: 2000)
    input.packet(browseQuery, legacy: true)
    input.packet(DNSMessage.query([DNSQuestion(name: MDNSFuzz.advertisement.instanceName, type: .any, unicastResponse: true)]))
    input.packet(DNSMessage.query([DNSQuestion(name: ServiceAdvertisement.serviceTypeEnumeration, type: .ptr)]))
    input.clock(milliseconds: 5000)
    input.packet(DNSMessage.response(answers: beta.records(ttl: 0)))
    input.clock(milliseconds: 1500)
    input.step(.stop)
    save("mdns", "announce-query-goodbye", input.bytes)
}
do {
    // Someone else probing for and then claiming our names (a conflict
    // while probing, then while running), and the simultaneous-probe tie-break.
    var input = MDNSInput()
    var probe = DNSMessage(questions: [DNSQuestion(name: MDNSFuzz.advertisement.instanceName, type: .any)])
    probe.authorities = [DNSResourceRecord(name: MDNSFuzz.advertisement.instanceName, data: .srv(priority: 0, weight: 0, port: 9999, target: beta.hostName), ttl: 120)]
    input.packet(probe)
    input.packet(DNSMessage.response(answers: [DNSResourceRecord(name: MDNSFuzz.advertisement.hostName, data: .a([198, 18, 7, 7]), ttl: 120, cacheFlush: true)]))
    input.clock(milliseconds: 3000)
    input.step(.announce, [0, 0, 0, 0x80])
    input.clock(milliseconds: 3000)
    save("mdns", "name-conflicts", input.bytes)
}
do {
    // A flood of complete instances against the small cache and the
    // default one, pinning one, then their records expiring.
    for flags: UInt8 in [0, 1] {
        var input = MDNSInput(flags: flags)
        input.clock(milliseconds: 100)
        input.step(.announce, [63, 0, 0, 0x0F])
        input.step(.pin, [3])
        input.step(.announce, [63, 64, 0, 0x0F])
        input.step(.announce, [63, 128, 0, 0x4F])
        input.clock(milliseconds: 1000)
        input.step(.announce, [10, 0, 1, 0x0F])
        input.clock(milliseconds: 130_000)
        input.clock(milliseconds: 500_000)
        save("mdns", flags == 0 ? "flood-small-cache" : "flood-default-cache", input.bytes)
    }
}
do {
    // 256 complete instances with long labels in the default cache, then
    // the browser's next query: its known answers made an 18 KB message the
    // channel could not send, so the browser stopped asking altogether.
    var input = MDNSInput(flags: 1)
    for seed: UInt8 in [0, 64, 128, 192] { input.step(.announce, [63, seed, 4, 0x0F]) }
    input.clock(milliseconds: 1100)
    save("mdns", "browser-query-known-answers-beyond-datagram", input.bytes, kind: "Regressions")
}
do {
    // Queries of every kind the responder answers: known answers, probes, legacy.
    var input = MDNSInput()
    input.clock(milliseconds: 3000)
    input.step(.query, [0xFF, 0])
    input.step(.query, [0x01, 0x02])
    input.step(.query, [0x1E, 0x3B])
    input.input.byte(MDNSFuzz.Step.query.rawValue | 8)
    input.input.byte(0x7F)
    input.input.byte(0x01)
    input.clock(milliseconds: 1200)
    input.step(.query, [0x80, 0x04])
    save("mdns", "queries", input.bytes)
}
do {
    // Packets the decoder must refuse: a compression pointer to itself, a
    // loop of two pointers, a forward pointer, a truncated record, counts
    // far beyond the packet, a reserved label type.
    var input = MDNSInput()
    let header: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    input.packet(header + [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0])
    input.packet(header + [0xC0, 14, 0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0])
    input.packet(header + [0xC0, 20, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0])
    var truncated = try! DNSMessage.response(answers: beta.records()).encoded()
    truncated.removeLast(3)
    input.packet(truncated)
    input.packet([0, 0, 0x84, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 1, 0, 1])
    input.packet(header + [0x40, 0x41, 0, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0])
    // A well-formed answer whose PTR target points back into the question section.
    input.packet([0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0] + [6] + Array("_p2pfs".utf8) + [4] + Array("_tcp".utf8) + [5] + Array("local".utf8) + [0, 0, 12, 0, 1]
        + [0xC0, 12, 0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, 7, 4] + Array("anna".utf8) + [0xC0, 12])
    save("mdns", "malformed-packets", input.bytes)
}

// MARK: record

func call(xid: UInt32, program: UInt32, version: UInt32, procedure: UInt32, arguments: ByteBuffer, sys: Bool = true) -> ByteBuffer {
    var credential = RPCOpaqueAuth.none
    if sys {
        credential = RPCOpaqueAuth(flavor: .sys, body: bytes { AuthSysParameters(stamp: 77, machineName: "client", uid: 1000, gid: 100, auxiliaryGIDs: [4, 24, 27]).encode(into: &$0) })
    }
    return bytes { RPCCall(xid: xid, program: program, version: version, procedure: procedure, credential: credential, arguments: arguments).encode(into: &$0) }
}

func recordMarked(_ records: [ByteBuffer], fragmentSize: Int = Int.max) -> ByteBuffer {
    bytes { out in
        for record in records {
            var rest = record
            repeat {
                let fragment = rest.readSlice(length: min(fragmentSize, rest.readableBytes))!
                out.writeInteger((rest.readableBytes == 0 ? 0x8000_0000 : 0) | UInt32(fragment.readableBytes), endianness: .big)
                out.writeImmutableBuffer(fragment)
            } while rest.readableBytes > 0
        }
    }
}

func recordInput(configuration: UInt8 = 3, _ stream: ByteBuffer) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(configuration)
    input.rest(stream)
    return input.bytes
}

let nfsProgram = NFSv3Program.programNumber
save("record", "null", recordInput(recordMarked([call(xid: 1, program: nfsProgram, version: 3, procedure: 0, arguments: ByteBuffer(), sys: false)])))
save("record", "mount-session", recordInput(recordMarked([
    call(xid: 1, program: MountProgram.programNumber, version: 3, procedure: 1, arguments: MountArguments.root),
    call(xid: 2, program: nfsProgram, version: 3, procedure: 19, arguments: NFSArguments.fsinfo),
    call(xid: 3, program: nfsProgram, version: 3, procedure: 1, arguments: NFSArguments.getattrRoot),
    call(xid: 4, program: nfsProgram, version: 3, procedure: 17, arguments: NFSArguments.readdirplusRoot),
    call(xid: 5, program: nfsProgram, version: 3, procedure: 3, arguments: NFSArguments.lookup),
    call(xid: 6, program: nfsProgram, version: 3, procedure: 6, arguments: NFSArguments.read),
])))
save("record", "byte-at-a-time", recordInput(configuration: 1 << 2 | 1, recordMarked([
    call(xid: 9, program: nfsProgram, version: 3, procedure: 1, arguments: NFSArguments.getattrFile),
    call(xid: 10, program: NLMProgram.programNumber, version: 4, procedure: 2, arguments: NLMArguments.lock()),
])))
save("record", "fragments", recordInput(configuration: 5 << 2 | 2, recordMarked([
    call(xid: 11, program: nfsProgram, version: 3, procedure: 16, arguments: NFSArguments.readdirRoot),
], fragmentSize: 12)))
save("record", "refusals", recordInput(recordMarked([
    call(xid: 20, program: 123_456, version: 1, procedure: 0, arguments: ByteBuffer()),
    call(xid: 21, program: nfsProgram, version: 2, procedure: 0, arguments: ByteBuffer()),
    call(xid: 22, program: nfsProgram, version: 3, procedure: 99, arguments: ByteBuffer()),
    call(xid: 23, program: nfsProgram, version: 3, procedure: 1, arguments: bytes { $0.writeXDRUInt32(1000) }),
    bytes { RPCCall(xid: 24, program: nfsProgram, version: 3, procedure: 0, credential: RPCOpaqueAuth(flavor: .dh)).encode(into: &$0) },
    bytes { $0.writeXDRUInt32(25); $0.writeXDRUInt32(0); $0.writeXDRUInt32(3) },  // RPC version 3
    bytes { RPCReplyHeader.success(xid: 26).encode(into: &$0) },
])))
save("record", "too-large", recordInput(configuration: 0, recordMarked([
    call(xid: 30, program: nfsProgram, version: 3, procedure: 6, arguments: NFSArguments.read),
    call(xid: 31, program: nfsProgram, version: 3, procedure: 0, arguments: ByteBuffer()),
])))
save("record", "one-call-at-a-time", recordInput(configuration: 0x20 | 3, recordMarked([
    call(xid: 40, program: nfsProgram, version: 3, procedure: 6, arguments: NFSArguments.read),
    call(xid: 41, program: nfsProgram, version: 3, procedure: 6, arguments: NFSArguments.readConflict),
    call(xid: 42, program: nfsProgram, version: 3, procedure: 0, arguments: ByteBuffer()),
])))
do {
    var input = FuzzInputWriter()
    input.byte(0x40)
    input.chunk(call(xid: 50, program: nfsProgram, version: 3, procedure: 0, arguments: ByteBuffer(), sys: false))
    input.chunk(call(xid: 51, program: MountProgram.programNumber, version: 3, procedure: 5, arguments: ByteBuffer()))
    input.chunk(call(xid: 52, program: nfsProgram, version: 3, procedure: 6, arguments: NFSArguments.read))
    save("record", "datagrams", input.bytes)
}

// MARK: peer

func peerMessage(_ message: PeerFuzz.Message, _ value: some XDREncodable) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(message.rawValue)
    input.rest(bytes { value.encode(into: &$0) })
    return input.bytes
}

let gamma = PeerFuzz.caller
save("peer", "hello-arguments", peerMessage(.helloArguments, HelloArguments(sender: gamma, challenge: [UInt8](repeating: 0x5A, count: 32))))
save("peer", "hello-reply", peerMessage(.helloReply, HelloReply(responder: PeerFuzz.localNode, catalogGeneration: 7, peersGeneration: 2, proof: [UInt8](repeating: 1, count: 32), challenge: [UInt8](repeating: 2, count: 32))))
save("peer", "authenticate-arguments", peerMessage(.authenticateArguments, AuthenticateArguments(proof: [UInt8](repeating: 3, count: 32))))
save("peer", "changes-arguments", peerMessage(.changesArguments, ChangesArguments(catalogGeneration: 6)))
save("peer", "changes-reply", peerMessage(.changesReply, ChangesReply(catalogChanged: true, catalogGeneration: 7, peersGeneration: 2)))
save("peer", "catalog-arguments", peerMessage(.catalogArguments, CatalogArguments(generation: 7, cookie: 2, maximumCount: 4096)))
save("peer", "catalog-page", peerMessage(.catalogResult, CatalogResult.page(CatalogPage(
    generation: 7, totalEntries: 13, entries: Array(FuzzNamespace.alphaFiles.prefix(9).map(\.0)) + FuzzNamespace.betaEntries, nextCookie: 13, isLast: true
))))
save("peer", "catalog-page-conflicts", peerMessage(.catalogResult, CatalogResult.page(CatalogPage(
    generation: 1, totalEntries: 4, entries: [
        CatalogEntry(path: "movies", kind: .regular, size: 1, mtime: Timestamp(seconds: 5000), mode: 0o644),
        CatalogEntry(path: "shared.txt", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755),
        CatalogEntry(path: "docs/readme.txt", kind: .regular, size: 99, mtime: Timestamp(seconds: 9000), mode: 0o644),
        CatalogEntry(path: "docs/readme.txt", kind: .symlink, mtime: Timestamp(seconds: 9001), mode: 0o777, symlinkTarget: "../latest"),
    ], nextCookie: 4, isLast: true
))))
// Two versions of a file whose name has the longest length allowed: the
// variant `NAME@gamma` was 261 bytes, listed by READDIR but refused by
// LOOKUP (NAMETOOLONG), and the Linux client fails to list a directory
// holding a name longer than 255 bytes.
save("peer", "variant-name-too-long", peerMessage(.catalogResult, CatalogResult.page(CatalogPage(
    generation: 1, totalEntries: 4, entries: [
        CatalogEntry(path: "docs/" + String(repeating: "n", count: 255), kind: .regular, size: 1, mtime: Timestamp(seconds: 1), mode: 0o644),
        CatalogEntry(path: "docs/" + String(repeating: "n", count: 255), kind: .regular, size: 2, mtime: Timestamp(seconds: 1), mode: 0o644),
        CatalogEntry(path: "docs/" + String(repeating: "é", count: 127), kind: .regular, size: 3, mtime: Timestamp(seconds: 1), mode: 0o644),
        CatalogEntry(path: "docs/" + String(repeating: "é", count: 127), kind: .regular, size: 4, mtime: Timestamp(seconds: 1), mode: 0o644),
    ], nextCookie: 4, isLast: true
))), kind: "Regressions")
save("peer", "catalog-changed", peerMessage(.catalogResult, CatalogResult.changed(currentGeneration: 8)))
save("peer", "peers-reply", peerMessage(.peersReply, PeersReply(peersGeneration: 3, nodes: [PeerFuzz.localNode, gamma])))
save("peer", "read-arguments", peerMessage(.readArguments, ReadArguments(path: "movies/KillBill.mkv", offset: 65536, count: 65536)))
do {
    var input = FuzzInputWriter()
    input.byte(PeerFuzz.Message.readResult.rawValue)
    let reply = ReadReply(version: FileVersion(size: 10_000, mtime: Timestamp(seconds: 2000, nanoseconds: 123)), isEndOfFile: false, data: ByteBuffer(bytes: [1, 2, 3, 4, 5]))
    input.rest(bytes { reply.encodeHead(into: &$0); $0.writeXDRFixedOpaque(reply.data) })
    save("peer", "read-result", input.bytes)
}
save("peer", "hash-arguments", peerMessage(.hashArguments, HashArguments(path: "shared.txt", version: FileVersion(size: 99, mtime: Timestamp(seconds: 9000, nanoseconds: 5)))))
save("peer", "hash-result", peerMessage(.hashResult, HashResult.ok(ContentHash(bytes: (0..<32).map { UInt8($0) })!)))
save("peer", "node-info", peerMessage(.nodeInfo, NodeInfo(identity: gamma.identity, roles: [.server, .client], addresses: [PeerAddress(host: "fe80::1", port: 17476), PeerAddress(host: "192.0.2.3", port: 1)])))

func peerCalls(flags: UInt8, _ calls: [(kind: UInt8, procedure: PeerProcedure?, arguments: ByteBuffer)]) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(0x80 | flags)
    for call in calls {
        input.byte(call.kind)
        if let procedure = call.procedure {
            input.byte(UInt8(procedure.rawValue))
            input.chunk(call.arguments)
        }
    }
    return input.bytes
}

let hello = bytes { HelloArguments(sender: gamma).encode(into: &$0) }
let helloWithChallenge = bytes { HelloArguments(sender: gamma, challenge: [UInt8](repeating: 0x11, count: 32)).encode(into: &$0) }
let peerSession: [(kind: UInt8, procedure: PeerProcedure?, arguments: ByteBuffer)] = [
    (0, .null, ByteBuffer()),
    (0, .hello, hello),
    (0, .changes, bytes { ChangesArguments(catalogGeneration: 0).encode(into: &$0) }),
    (0, .catalog, bytes { CatalogArguments(generation: 0, cookie: 0, maximumCount: 1024).encode(into: &$0) }),
    (0, .catalog, bytes { CatalogArguments(generation: 7, cookie: 100, maximumCount: 2000).encode(into: &$0) }),
    (0, .peers, ByteBuffer()),
    (0, .read, bytes { ReadArguments(path: "movies/KillBill.mkv", offset: 1000, count: 4096).encode(into: &$0) }),
    (0, .read, bytes { ReadArguments(path: "../etc/passwd", offset: 0, count: 10).encode(into: &$0) }),
]
// HASH, before and after the handshake on a closed network.
let hashCall: (kind: UInt8, procedure: PeerProcedure?, arguments: ByteBuffer) = (
    0, .hash, bytes { HashArguments(path: "shared.txt", version: FileVersion(size: 99, mtime: Timestamp(seconds: 9000))).encode(into: &$0) }
)
save("peer", "session-hash", peerCalls(flags: 1, [hashCall, (2, nil, ByteBuffer()), hashCall]))
save("peer", "session-open", peerCalls(flags: 4, peerSession))
save("peer", "session-no-catalog", peerCalls(flags: 2, peerSession))
save("peer", "session-closed-denied", peerCalls(flags: 1, peerSession + [(0, .hello, helloWithChallenge), (0, .authenticate, bytes { AuthenticateArguments(proof: [UInt8](repeating: 0, count: 32)).encode(into: &$0) })]))
save("peer", "session-closed-handshake", peerCalls(flags: 5, [(2, nil, ByteBuffer())] + peerSession + [(4, .catalog, bytes { CatalogArguments(generation: 0, cookie: 0, maximumCount: 1024).encode(into: &$0) }), (3, nil, ByteBuffer()), (0, .peers, ByteBuffer())]))
// Over TLS (flag 8): a HELLO claiming another id than the certificate's is
// denied; the caller's own id, and the handshake bound to the session, work.
let helloAsAnother = bytes {
    HelloArguments(sender: NodeInfo(identity: NodeIdentity(id: NodeID(high: 0xBAD, low: 1), name: gamma.identity.name), roles: gamma.roles, addresses: gamma.addresses))
        .encode(into: &$0)
}
let helloAsAnotherWithChallenge = bytes {
    HelloArguments(
        sender: NodeInfo(identity: NodeIdentity(id: NodeID(high: 0xBAD, low: 1), name: gamma.identity.name), roles: gamma.roles, addresses: gamma.addresses),
        challenge: [UInt8](repeating: 0x11, count: 32)
    ).encode(into: &$0)
}
let changesFromZero = bytes { ChangesArguments(catalogGeneration: 0).encode(into: &$0) }
save("peer", "session-tls-claimed-id", peerCalls(flags: 8, [(0, .hello, helloAsAnother), (0, .hello, hello), (0, .changes, changesFromZero)]))
save("peer", "session-tls-closed-handshake", peerCalls(flags: 9, [(0, .hello, helloAsAnotherWithChallenge), (2, nil, ByteBuffer()), (0, .changes, changesFromZero), (0, .hello, hello)]))

// MARK: control

func controlMessage(_ message: ControlFuzz.Message, _ value: some XDREncodable) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(message.rawValue)
    input.rest(bytes { value.encode(into: &$0) })
    return input.bytes
}

let controlNode = ControlNode(info: gamma, state: "alive", catalogEntries: 12, lastSeenMilliseconds: 1500, foundBy: "mDNS")
save("control", "status", controlMessage(.status, ControlStatus(
    node: PeerFuzz.localNode, namespaceEntries: 320, namespaceGeneration: 4, readsServed: 10, bytesServed: 65536, cacheBytes: 4096,
    cacheHits: 3, cacheMisses: 1, nodes: [controlNode]
)))
save("control", "list-result", controlMessage(.listResult, ControlListResult.entries([
    ControlEntry(name: "KillBill.mkv", kind: .regular, size: 10_000, mtime: Timestamp(seconds: 2000, nanoseconds: 123), holders: ["alpha", "beta"]),
    ControlEntry(name: "latest", kind: .symlink, size: 19, mtime: Timestamp(seconds: 3200), holders: ["alpha"]),
])))
save("control", "list-failed", controlMessage(.listResult, ControlListResult.failed(.noEntry)))
save("control", "node", controlMessage(.node, controlNode))
save("control", "entry", controlMessage(.entry, ControlEntry(name: "docs", kind: .directory, size: 0, mtime: Timestamp(seconds: 900), holders: [])))

func controlCalls(flags: UInt8, _ calls: [(UInt32, ByteBuffer)]) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(0x80 | flags)
    for (procedure, arguments) in calls {
        input.byte(UInt8(procedure))
        input.chunk(arguments)
    }
    return input.bytes
}

let controlSession: [(UInt32, ByteBuffer)] = [
    (0, ByteBuffer()), (1, ByteBuffer()), (2, bytes { $0.writeXDRString("") }), (2, bytes { $0.writeXDRString("movies") }),
    (2, bytes { $0.writeXDRString("/movies/KillBill.mkv") }), (2, bytes { $0.writeXDRString("nothing") }), (3, ByteBuffer()),
]
save("control", "session", controlCalls(flags: 0, controlSession))
save("control", "session-closed", controlCalls(flags: 1, controlSession))
save("control", "session-no-namespace", controlCalls(flags: 2, controlSession))

// MARK: portmap

func portmapCalls(flags: UInt8, _ calls: [(UInt32, UInt32, ByteBuffer)]) -> [UInt8] {
    var input = FuzzInputWriter()
    input.byte(flags)
    for (version, procedure, arguments) in calls {
        input.byte(UInt8(version - 2))
        input.byte(UInt8(procedure))
        input.chunk(arguments)
    }
    return input.bytes
}

func mapping(_ program: UInt32, _ version: UInt32, _ proto: UInt32, _ port: UInt32) -> ByteBuffer {
    bytes { PortmapMapping(program: program, version: version, protocolNumber: proto, port: port).encode(into: &$0) }
}

func rpcb(_ program: UInt32, _ version: UInt32, _ netid: String, _ address: String = "", _ owner: String = "") -> ByteBuffer {
    bytes { RPCBMapping(program: program, version: version, netid: netid, address: address, owner: owner).encode(into: &$0) }
}

save("portmap", "v2", portmapCalls(flags: 0, [
    (2, 0, ByteBuffer()), (2, 3, mapping(100_003, 3, 6, 0)), (2, 3, mapping(100_005, 2, 17, 0)), (2, 4, ByteBuffer()),
    (2, 1, mapping(300_000, 1, 6, 20048)), (2, 1, mapping(300_000, 1, 6, 20049)), (2, 2, mapping(300_000, 1, 0, 0)), (2, 5, ByteBuffer()),
]))
save("portmap", "v3-v4", portmapCalls(flags: 0, [
    (3, 3, rpcb(100_003, 3, "tcp")), (4, 9, rpcb(100_005, 2, "tcp")), (4, 11, rpcb(100_003, 3, "")), (3, 4, ByteBuffer()),
    (4, 6, ByteBuffer()), (3, 1, rpcb(300_000, 1, "tcp6", "::.78.80", "me")), (4, 1, rpcb(300_001, 1, "local", "/run/x.sock")),
    (4, 2, rpcb(300_000, 1, "")), (4, 12, ByteBuffer()), (3, 11, rpcb(100_003, 3, "tcp")),
]))
save("portmap", "v4-ipv6-udp", portmapCalls(flags: 6, [(4, 3, rpcb(100_021, 4, "udp6")), (4, 11, rpcb(100_003, 3, "tcp6")), (2, 3, mapping(100_021, 4, 17, 0))]))
save("portmap", "remote-set", portmapCalls(flags: 1, [(2, 1, mapping(100_003, 3, 6, 2049)), (4, 2, rpcb(100_003, 3, "")), (3, 3, rpcb(100_003, 3, "tcp"))]))
save("portmap", "universal-address", portmapCalls(flags: 0, [(3, 0, bytes { $0.writeXDRString("fe80::1:2.4.1") }), (3, 0, bytes { $0.writeXDRString("127.0.0.1.8.1") })]))

print("wrote \(written) inputs under \(root)")
