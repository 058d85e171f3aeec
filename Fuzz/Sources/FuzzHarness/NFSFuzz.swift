import Logging
import NFS3
import NIOCore
import NIOEmbedded
import Namespace
import ONCRPC
import XDR

/// Fuzz target `nfs`: NFSv3, MOUNT (versions 1 to 3) and NLM v4 calls on
/// the loopback server's programs over a real namespace.
///
/// Input: one flags byte, then calls until the input ends (at most 32):
///
///     flags    bit 0: the namespace is still being gathered (JUKEBOX, NLM grace)
///              bits 1-2: how the client answers NLM callbacks (fails, GRANTED, DENIED, garbage)
///              bit 3: AUTH_NONE instead of AUTH_SYS
///              bit 4: the caller is not on loopback
///     call     program byte (bits 0-1: 0 and 3 NFSv3, 1 MOUNT, 2 NLM; bits 2-3: MOUNT version 3, 1, 2, 3)
///              procedure byte
///              arguments: 16-bit length, then that many bytes
///
/// Calls on one input share the MOUNT list and the NLM lock table, so
/// sequences (LOCK, then TEST, UNLOCK, FREE_ALL) are explored.
public enum NFSFuzz {
    public static let configuration = NFS3Configuration(uid: 1000, gid: 1000, maximumReadSize: 4096, preferredReadSize: 4096)
    static let maximumCalls = 32

    public enum Program: UInt8 {
        case nfs = 0
        case mount = 1
        case nlm = 2
    }

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let store = flags & 1 == 0 ? FuzzNamespace.readyStore : FuzzNamespace.gatheringStore
        var caller = FuzzCaller()
        if flags & 8 != 0 { caller.credentials = .none }
        if flags & 16 != 0 { caller.remoteAddress = try! SocketAddress(ipAddress: "192.0.2.10", port: 811) }

        let nfs = NFSv3Program(store: store, configuration: Self.configuration)
        let mount = MountProgram(store: store, configuration: Self.configuration)
        let nlm = NLMProgram(
            store: store, callbacks: FuzzNLMCallbacks(answer: (flags >> 1) & 3),
            limits: NLMLockTable.Limits(locks: 16, waiters: 8, shares: 8)
        )

        var calls = 0
        while !input.isEmpty && calls < Self.maximumCalls {
            calls += 1
            let selector = input.byte()
            let procedure = UInt32(input.byte())
            let arguments = input.chunk()
            switch selector & 3 {
            case 1:
                let version: UInt32 = [3, 1, 2, 3][Int(selector >> 2) & 3]
                let reply = try caller.call(mount, version: version, procedure: procedure, arguments: arguments)
                try Self.checkMount(reply, version: version, procedure: procedure)
            case 2:
                try Self.checkNLMArguments(arguments)
                let reply = try caller.call(nlm, version: 4, procedure: procedure, arguments: arguments)
                try Self.checkNLM(reply, procedure: procedure, arguments: arguments)
            default:
                let reply = try caller.call(nfs, version: 3, procedure: procedure, arguments: arguments)
                try Self.checkNFS(reply, procedure: procedure, arguments: arguments, snapshot: store.current)
            }
        }
    }

    // MARK: NFSv3

    static func checkNFS(_ reply: FuzzCaller.Reply, procedure: UInt32, arguments: ByteBuffer, snapshot: NamespaceSnapshot) throws(FuzzPropertyViolation) {
        guard reply.isSuccess, let known = NFS3Procedure(rawValue: procedure) else { return }
        var results = FuzzResultsReader(reply.results, "NFS \(known)")
        if known == .null {
            try results.end()
            return
        }
        let statusWord = try results.uint32()
        guard let status = NFS3Status(rawValue: statusWord) else {
            throw FuzzPropertyViolation("NFS \(known): status \(statusWord) is no nfsstat3")
        }
        var arguments = arguments
        switch known {
        case .getattr:
            guard status == .ok else { return try results.end() }
            let attributes = try Self.attributes(&results)
            let args = try? GETATTR3Args(xdr: &arguments)
            if let handle = args?.object.handle {
                try fuzzCheck(attributes.fileID == handle.fileID.rawValue, "GETATTR of \(handle) answered fileid \(attributes.fileID)")
            }
            try results.end()
        case .lookup:
            guard status == .ok else {
                _ = try Self.postOpAttributes(&results)
                return try results.end()
            }
            let handle = try Self.handle(&results)
            let object = try Self.postOpAttributes(&results)
            _ = try Self.postOpAttributes(&results)
            try results.end()
            try fuzzCheck(snapshot.node(handle.fileID) != nil, "LOOKUP returned \(handle), which names nothing")
            if let object {
                try fuzzCheck(object.fileID == handle.fileID.rawValue, "LOOKUP returned \(handle) with attributes of \(object.fileID)")
            }
        case .read:
            _ = try Self.postOpAttributes(&results)
            guard status == .ok else { return try results.end() }
            let count = try results.uint32()
            _ = try results.bool()
            let data = try results.opaque()
            try results.end()
            try fuzzCheck(Int(count) == data.readableBytes, "READ count \(count) with \(data.readableBytes) bytes of data")
            if let args = try? READ3Args(xdr: &arguments) {
                let limit = min(args.count, Self.configuration.maximumReadSize)
                try fuzzCheck(count <= limit, "READ of \(args.count) bytes returned \(count) (limit \(limit))")
            }
        case .readdir, .readdirplus:
            let plus = known == .readdirplus
            let start = results.buffer.readableBytes
            _ = try Self.postOpAttributes(&results)
            guard status == .ok else { return try results.end() }
            _ = try results.uint64()  // cookie verifier
            var entries: [(fileID: UInt64, cookie: UInt64, informationLength: Int)] = []
            while try results.bool() {
                let fileID = try results.uint64()
                let name = try results.string()
                let cookie = try results.uint64()
                if plus {
                    let attributes = try Self.postOpAttributes(&results)
                    if try results.bool() {
                        let handle = try Self.handle(&results)
                        try fuzzCheck(handle.fileID.rawValue == fileID, "READDIRPLUS entry \(name) has the handle of \(handle)")
                    }
                    if let attributes {
                        try fuzzCheck(attributes.fileID == fileID, "READDIRPLUS entry \(name) has the attributes of \(attributes.fileID)")
                    }
                }
                try fuzzCheck(entries.count < 100_000, "READDIR without end")
                entries.append((fileID, cookie, DirectoryEntry3.encodedLength(nameLength: name.utf8.count)))
            }
            _ = try results.bool()  // eof
            try results.end()
            // RFC 1813: count (READDIR) and maxcount (READDIRPLUS) bound
            // READDIR3resok / READDIRPLUS3resok, every byte included.
            let resultLength = start
            let children = entries.filter { $0.cookie > 2 }
            try fuzzCheck(zip(children, children.dropFirst()).allSatisfy { $0.cookie < $1.cookie }, "READDIR cookies out of order")
            try fuzzCheck(children.allSatisfy { $0.cookie == $0.fileID }, "READDIR cookie is not the entry's fileid")
            if plus, let args = try? READDIRPLUS3Args(xdr: &arguments) {
                if !entries.isEmpty {
                    try fuzzCheck(resultLength <= Int(args.maximumCount), "READDIRPLUS result of \(resultLength) bytes for maxcount \(args.maximumCount)")
                }
                if entries.count > 1 {
                    let information = entries.reduce(0) { $0 + $1.informationLength }
                    try fuzzCheck(information <= Int(args.directoryCount), "READDIRPLUS sent \(information) bytes of names for dircount \(args.directoryCount)")
                }
                if args.cookie > 2, let first = children.first {
                    try fuzzCheck(first.cookie > args.cookie, "READDIRPLUS after \(args.cookie) returned \(first.cookie)")
                }
            } else if !plus, let args = try? READDIR3Args(xdr: &arguments) {
                if !entries.isEmpty {
                    try fuzzCheck(resultLength <= Int(args.count), "READDIR result of \(resultLength) bytes for count \(args.count)")
                }
                if args.cookie > 2, let first = children.first {
                    try fuzzCheck(first.cookie > args.cookie, "READDIR after \(args.cookie) returned \(first.cookie)")
                }
            }
        default:
            break
        }
    }

    struct Attributes {
        var type: UInt32
        var fileID: UInt64
    }

    static func attributes(_ results: inout FuzzResultsReader) throws(FuzzPropertyViolation) -> Attributes {
        let type = try results.uint32()
        try fuzzCheck((1...7).contains(type), "fattr3 type \(type)")
        try results.skip(4 * 4 + 8 * 2 + 4 * 2 + 8)  // mode nlink uid gid, size used, rdev, fsid
        let fileID = try results.uint64()
        for _ in 0..<3 {
            _ = try results.uint32()
            let nanoseconds = try results.uint32()
            try fuzzCheck(nanoseconds < 1_000_000_000, "nfstime3 with \(nanoseconds) ns")
        }
        return Attributes(type: type, fileID: fileID)
    }

    static func postOpAttributes(_ results: inout FuzzResultsReader) throws(FuzzPropertyViolation) -> Attributes? {
        try results.bool() ? try Self.attributes(&results) : nil
    }

    static func handle(_ results: inout FuzzResultsReader) throws(FuzzPropertyViolation) -> NFS3FileHandle {
        let bytes = try results.opaque(limit: 64)
        guard let handle = NFS3FileHandle(bytes: bytes) else {
            throw FuzzPropertyViolation("the server sent a handle it would not accept: \(Array(bytes.readableBytesView))")
        }
        return handle
    }

    // MARK: MOUNT

    static func checkMount(_ reply: FuzzCaller.Reply, version: UInt32, procedure: UInt32) throws(FuzzPropertyViolation) {
        guard reply.isSuccess, let known = MountProcedure(rawValue: procedure) else { return }
        var results = FuzzResultsReader(reply.results, "MOUNT v\(version) \(known)")
        switch known {
        case .mnt where version == 3:
            if try results.uint32() == 0 {
                _ = try Self.handle(&results)
                let flavors = try results.decode { buffer in
                    try buffer.readXDRArray(limit: 16) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
                }
                try fuzzCheck(!flavors.isEmpty, "MNT without auth flavors")
            }
            try results.end()
        case .mnt:
            try fuzzCheck(try results.uint32() != 0, "MNT v\(version) issued an NFSv2 handle")
            try results.end()
        case .null, .umnt, .umntall:
            try results.end()
        case .dump:
            while try results.bool() {
                _ = try results.string()
                _ = try results.string()
            }
            try results.end()
        case .export, .exportAll:
            while try results.bool() {
                _ = try results.string()
                while try results.bool() { _ = try results.string() }
            }
            try results.end()
        }
    }

    // MARK: NLM

    /// Round trips every NLM argument and result type the bytes decode as.
    static func checkNLMArguments(_ arguments: ByteBuffer) throws(FuzzPropertyViolation) {
        try Self.roundTrip(NLM4LockArgs.self, arguments)
        try Self.roundTrip(NLM4CancelArgs.self, arguments)
        try Self.roundTrip(NLM4TestArgs.self, arguments)
        try Self.roundTrip(NLM4UnlockArgs.self, arguments)
        try Self.roundTrip(NLM4ShareArgs.self, arguments)
        try Self.roundTrip(NLM4Notify.self, arguments)
        try Self.roundTrip(NLM4StatusMonitorNotify.self, arguments)
        try Self.roundTrip(NLM4Result.self, arguments)
        try Self.roundTrip(NLM4TestResult.self, arguments)
        try Self.roundTrip(NLM4ShareResult.self, arguments)
    }

    static func roundTrip<T: XDRCodable & Equatable>(_: T.Type, _ bytes: ByteBuffer) throws(FuzzPropertyViolation) {
        var bytes = bytes
        guard let value = try? T(xdr: &bytes) else { return }
        try fuzzRoundTrip(value, "\(T.self)", encode: { value, buffer in value.encode(into: &buffer) }, decode: { buffer in try T(xdr: &buffer) })
    }

    static func checkNLM(_ reply: FuzzCaller.Reply, procedure: UInt32, arguments: ByteBuffer) throws(FuzzPropertyViolation) {
        guard reply.isSuccess, let known = NLMProcedure(rawValue: procedure) else { return }
        var results = FuzzResultsReader(reply.results, "NLM \(known)")
        var arguments = arguments
        let cookie = try? arguments.readXDRVariableOpaque(limit: 1024)
        let answered: [UInt8]
        switch known {
        case .test:
            answered = try results.decode { try NLM4TestResult(xdr: &$0) }.cookie
        case .lock, .cancel, .unlock, .granted, .nmLock:
            answered = try results.decode { try NLM4Result(xdr: &$0) }.cookie
        case .share, .unshare:
            answered = try results.decode { try NLM4ShareResult(xdr: &$0) }.cookie
        default:
            return try results.end()
        }
        try results.end()
        if let cookie {
            try fuzzCheck(answered == Array(cookie.readableBytesView), "NLM \(known) did not echo the cookie")
        }
    }
}

/// A client's lock manager as the NLM program reaches it for GRANTED and
/// the `_RES` messages: answers on the next loop turn, as a socket would.
struct FuzzNLMCallbacks: NLMCallbackSending {
    /// 0: unreachable, 1: NLM4_GRANTED, 2: NLM4_DENIED, 3: garbage.
    var answer: UInt8

    func call(procedure: NLMProcedure, arguments: ByteBuffer, to client: NLMCallbackAddress, eventLoop: any EventLoop, logger: Logger) -> EventLoopFuture<ByteBuffer> {
        let answer = self.answer
        return eventLoop.submit {
            var reply = ByteBuffer()
            switch answer {
            case 0:
                throw NLMCallbackError.notRegistered(host: client.host)
            case 1:
                NLM4Result(cookie: [], status: .granted).encode(into: &reply)
            case 2:
                NLM4Result(cookie: [], status: .denied).encode(into: &reply)
            default:
                reply.writeBytes([0xFF, 0xFF, 0xFF])
            }
            return reply
        }
    }
}
