import Logging
import NFS3
import NIOCore
import NIOEmbedded
import Namespace
import ONCRPC
import Synchronization
import XDR

/// File content served from memory, so reads need no disk or peer.
struct MemoryReader: FileReader {
    var files: [String: [UInt8]]
    /// When set, every read fails with it.
    var failure: FileSystemError?
    /// When set, reads report this version instead of the expected one (the
    /// file changed at its source).
    var reportedVersion: FileVersion?

    func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        if let failure {
            return eventLoop.makeFailedFuture(failure)
        }
        guard let bytes = self.files[path] else {
            return eventLoop.makeFailedFuture(FileSystemError.noEntry)
        }
        let start = Int(min(offset, UInt64(bytes.count)))
        let end = min(start + count, bytes.count)
        return eventLoop.makeSucceededFuture(
            FileReadResult(data: ByteBuffer(bytes: bytes[start..<end]), isEndOfFile: end == bytes.count, version: self.reportedVersion ?? expected)
        )
    }
}

/// Builds namespaces for tests (the same tree as the NFSv3 tests use).
enum TestNamespace {
    static let now = Timestamp(seconds: 1_700_000_000, nanoseconds: 5)
    static let movieBytes: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    static let configuration = NFS3Configuration(uid: 1000, gid: 100, fsid: 0xABCD_0000_1234)

    /// A small tree:
    ///
    ///     movies/              (dir)
    ///     movies/KillBill.mkv  10,000 bytes
    ///     movies/trailer.sh    executable
    ///     docs/readme.txt
    ///     empty.txt            0 bytes
    ///     latest -> movies/KillBill.mkv
    static var standardEntries: [(CatalogEntry, [UInt8]?)] {
        [
            (CatalogEntry(path: "movies", kind: .directory, mtime: Timestamp(seconds: 1000), mode: 0o755), nil),
            (
                CatalogEntry(path: "movies/KillBill.mkv", kind: .regular, size: UInt64(movieBytes.count), mtime: Timestamp(seconds: 2000, nanoseconds: 123), mode: 0o644),
                movieBytes
            ),
            (CatalogEntry(path: "movies/trailer.sh", kind: .regular, size: 5, mtime: Timestamp(seconds: 2100), mode: 0o750), Array("echo\n".utf8)),
            (CatalogEntry(path: "docs", kind: .directory, mtime: Timestamp(seconds: 900), mode: 0o755), nil),
            (CatalogEntry(path: "docs/readme.txt", kind: .regular, size: 13, mtime: Timestamp(seconds: 3000), mode: 0o644), Array("hello, world\n".utf8)),
            (CatalogEntry(path: "empty.txt", kind: .regular, size: 0, mtime: Timestamp(seconds: 3100), mode: 0o600), []),
            (CatalogEntry(path: "latest", kind: .symlink, size: 0, mtime: Timestamp(seconds: 3200), mode: 0o777, symlinkTarget: "movies/KillBill.mkv"), nil),
        ]
    }

    static func makeStore(
        entries: [(CatalogEntry, [UInt8]?)] = standardEntries,
        ready: Bool = true,
        failure: FileSystemError? = nil,
        reportedVersion: FileVersion? = nil
    ) async -> NamespaceStore {
        let store = NamespaceStore(logger: Logger(label: "test"), clock: { now })
        var files: [String: [UInt8]] = [:]
        for (entry, content) in entries {
            if let content { files[entry.path] = content }
        }
        store.setCatalog(
            SourceCatalog(
                origin: NodeIdentity(id: NodeID(high: 1, low: 2), name: "alpha"),
                generation: 1,
                entries: entries.map(\.0),
                reader: MemoryReader(files: files, failure: failure, reportedVersion: reportedVersion),
                isLocal: true
            )
        )
        await store.settled()
        if ready { store.markReady() }
        return store
    }

    /// A directory "big" holding `count` files named f00000, f00001, ...
    static func bigDirectoryEntries(count: Int) -> [(CatalogEntry, [UInt8]?)] {
        var entries: [(CatalogEntry, [UInt8]?)] = [(CatalogEntry(path: "big", kind: .directory, mtime: Timestamp(seconds: 1), mode: 0o755), nil)]
        for index in 0..<count {
            let name = "f" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
            entries.append((CatalogEntry(path: "big/\(name)", kind: .regular, size: UInt64(index), mtime: Timestamp(seconds: 5), mode: 0o644), nil))
        }
        return entries
    }
}

/// The reply to one call as the program produced it.
struct CallReply {
    /// The results with any bulk data appended (and padded), as a client reads them.
    var body: ByteBuffer
    /// Bulk data handed over separately (READ), if any.
    var bulk: ByteBuffer?
    /// Whether the head buffer kept the headroom for the RPC reply header.
    var hasHeadroom: Bool
}

enum CallFailure: Error {
    case garbageArguments
    case procedureUnavailable
    case other(String)
    case notCompleted
}

final class ResultBox: Sendable {
    let value = Mutex<Result<RPCOutcome, any Error>?>(nil)
}

/// Calls programs directly, the way `RPCServerHandler` does.
struct ProgramCaller {
    var credentials: RPCCredentials = .sys(AuthSysParameters(machineName: "client1", uid: 1000, gid: 100))
    var remoteAddress: SocketAddress? = try? SocketAddress(ipAddress: "127.0.0.1", port: 811)

    func outcome(_ program: any RPCProgram, version: UInt32, procedure: UInt32, arguments: ByteBuffer) throws -> RPCOutcome {
        let loop = EmbeddedEventLoop()
        let context = RPCCallContext(
            eventLoop: loop, allocator: ByteBufferAllocator(), transport: .tcp,
            remoteAddress: self.remoteAddress, localAddress: nil, credentials: self.credentials,
            connectionID: 1, logger: Logger(label: "test")
        )
        let call = RPCCall(xid: 42, program: program.program, version: version, procedure: procedure, arguments: arguments)
        switch program.handle(call, context: context) {
        case .done(let outcome):
            return outcome
        case .pending(let future):
            let box = ResultBox()
            future.whenComplete { result in box.value.withLock { $0 = result } }
            loop.run()
            guard let result = box.value.withLock({ $0 }) else { throw CallFailure.notCompleted }
            return try result.get()
        }
    }

    func call(_ program: any RPCProgram, version: UInt32, procedure: UInt32, arguments: ByteBuffer) throws -> CallReply {
        switch try self.outcome(program, version: version, procedure: procedure, arguments: arguments) {
        case .success(let body):
            var flat = body.head
            var bulkBuffer: ByteBuffer?
            if let bulk = body.bulk {
                guard case .byteBuffer(let bytes) = bulk else { throw CallFailure.other("file region bulk") }
                bulkBuffer = bytes
                flat.writeImmutableBuffer(bytes)
                flat.writeRepeatingByte(0, count: (4 - bytes.readableBytes % 4) % 4)
            }
            return CallReply(body: flat, bulk: bulkBuffer, hasHeadroom: body.head.readerIndex >= RPCReplyHeader.successHeaderLength)
        case .garbageArguments: throw CallFailure.garbageArguments
        case .procedureUnavailable: throw CallFailure.procedureUnavailable
        case let other: throw CallFailure.other("\(other)")
        }
    }
}
