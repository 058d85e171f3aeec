import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PeerProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of an async throwing body, as a value.
func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

/// How a fake peer answers READ (every other procedure gets PROC_UNAVAIL,
/// NULL an empty success).
enum ReadFault: Sendable, CustomStringConvertible {
    case none
    /// Reads the call and never answers.
    case silent
    /// Answers correctly, after a delay.
    case delayed(TimeAmount)
    /// The data's length word claims `n` bytes more than the record holds.
    case lengthWordOver(Int)
    /// `n` stray bytes follow the data inside the record.
    case trailingBytes(Int)
    /// A well-formed reply with the bytes asked for followed by as many
    /// bytes of garbage: more data than the READ asked for.
    case moreThanAsked
    /// Only the first `n` bytes of the range, EOF not set.
    case shortWithoutEOF(Int)
    /// Only the first `n` bytes of the range, EOF set though the file's
    /// size says there is more.
    case shortClaimingEOF(Int)
    /// Half of the reply, then a TCP reset.
    case resetMidReply
    /// The record mark of a full reply, then a normal close.
    case closeAfterRecordMark

    var description: String {
        switch self {
        case .none: "correct"
        case .silent: "silent"
        case .delayed(let delay): "delayed \(delay.nanoseconds / 1_000_000) ms"
        case .lengthWordOver(let n): "length word \(n) over the data"
        case .trailingBytes(let n): "\(n) bytes after the data"
        case .moreThanAsked: "more bytes than asked for"
        case .shortWithoutEOF(let n): "\(n) bytes, no EOF"
        case .shortClaimingEOF(let n): "\(n) bytes, EOF claimed"
        case .resetMidReply: "reset mid-reply"
        case .closeAfterRecordMark: "close after the record mark"
        }
    }
}

/// A peer that speaks just enough of the peer protocol's wire format to
/// answer READ, written from `Docs/p2pfs_peer.x` and RFC 5531 alone (no
/// project server code), misbehaving on demand. It can be stopped and
/// started again on the same port with other files: a peer restart.
final class FakePeer: Sendable {
    struct File: Sendable {
        var bytes: [UInt8]
        var mtime: Timestamp

        var version: FileVersion { FileVersion(size: UInt64(self.bytes.count), mtime: self.mtime) }
    }

    struct State {
        var files: [String: File] = [:]
        var fault: ReadFault = .none
        var readsReceived = 0
        /// Connections accepted so far.
        var accepted = 0
        var server: (any Channel)?
        var children: [ObjectIdentifier: any Channel] = [:]
    }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let state = NIOLockedValueBox(State())
    let port: Int
    let id: NodeID

    init(id: NodeID, files: [String: File]) async throws {
        self.id = id
        self.state.withLockedValue { $0.files = files }
        let server = try await Self.bind(port: 0, state: self.state)
        self.port = server.localAddress!.port!
        self.state.withLockedValue { $0.server = server }
    }

    var address: PeerAddress { PeerAddress(host: "127.0.0.1", port: self.port) }

    var fault: ReadFault {
        get { self.state.withLockedValue { $0.fault } }
        set { self.state.withLockedValue { $0.fault = newValue } }
    }

    var readsReceived: Int { self.state.withLockedValue { $0.readsReceived } }

    private static func bind(port: Int, state: NIOLockedValueBox<State>) async throws -> any Channel {
        try await ServerBootstrap(group: Self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.withLockedValue {
                    $0.children[ObjectIdentifier(channel)] = channel
                    $0.accepted += 1
                }
                channel.closeFuture.whenComplete { _ in
                    state.withLockedValue { _ = $0.children.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakePeerHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }

    /// The process "dies": the listener and every connection close.
    func stop() async {
        let (server, children) = self.state.withLockedValue { state in
            defer { state.server = nil }
            return (state.server, Array(state.children.values))
        }
        try? await server?.close()
        for child in children { try? await child.close() }
    }

    /// The process comes back on the same port, perhaps with other files.
    func start(files: [String: File]? = nil) async throws {
        if let files { self.state.withLockedValue { $0.files = files } }
        let server = try await Self.bind(port: self.port, state: self.state)
        self.state.withLockedValue { $0.server = server }
    }
}

private final class FakePeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let state: NIOLockedValueBox<FakePeer.State>
    var pending = ByteBuffer()
    /// Set once this connection is being reset or closed: later calls get
    /// nothing, as from a process that died mid-write (the stream is never
    /// spliced with the start of another reply).
    var doomed = false

    init(state: NIOLockedValueBox<FakePeer.State>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        self.pending.writeBuffer(&bytes)
        // One fragment per record: what RPC clients send.
        while self.pending.readableBytes >= 4, let mark = self.pending.getInteger(at: self.pending.readerIndex, as: UInt32.self) {
            let length = Int(mark & 0x7FFF_FFFF)
            guard self.pending.readableBytes >= 4 + length else { break }
            self.pending.moveReaderIndex(forwardBy: 4)
            var record = self.pending.readSlice(length: length)!
            self.handle(&record, context: context)
        }
        self.pending.discardReadBytes()
    }

    private func handle(_ record: inout ByteBuffer, context: ChannelHandlerContext) {
        guard !self.doomed else { return }
        guard let xid = record.readInteger(as: UInt32.self),
            record.readInteger(as: UInt32.self) == 0,  // CALL
            record.readInteger(as: UInt32.self) == 2,  // RPC version
            record.readInteger(as: UInt32.self) != nil,  // program
            record.readInteger(as: UInt32.self) != nil,  // version
            let procedure = record.readInteger(as: UInt32.self),
            Self.skipAuth(&record), Self.skipAuth(&record)
        else {
            context.close(promise: nil)
            return
        }
        switch procedure {
        case 0:
            context.writeAndFlush(self.wrapOutboundOut(Self.record(Self.acceptedHeader(xid: xid, status: 0))), promise: nil)
        case 6:
            guard let pathLength = record.readInteger(as: UInt32.self), pathLength <= 4096,
                let path = record.readString(length: Int(pathLength)),
                record.readSlice(length: (4 - Int(pathLength) % 4) % 4) != nil,
                let offset = record.readInteger(as: UInt64.self), let count = record.readInteger(as: UInt32.self)
            else {
                context.close(promise: nil)
                return
            }
            self.read(xid: xid, path: path, offset: offset, count: Int(count), context: context)
        default:
            context.writeAndFlush(self.wrapOutboundOut(Self.record(Self.acceptedHeader(xid: xid, status: 3))), promise: nil)
        }
    }

    private func read(xid: UInt32, path: String, offset: UInt64, count: Int, context: ChannelHandlerContext) {
        let (file, fault) = self.state.withLockedValue { state in
            state.readsReceived += 1
            return (state.files[path], state.fault)
        }
        var reply = Self.acceptedHeader(xid: xid, status: 0)
        guard let file else {
            reply.writeInteger(UInt32(70))  // PEER_STALE
            context.writeAndFlush(self.wrapOutboundOut(Self.record(reply)), promise: nil)
            return
        }
        let size = file.bytes.count
        let start = Int(min(offset, UInt64(size)))
        var end = min(start + count, size)
        var eof = end == size
        var extra: [UInt8] = []
        var lengthWordExcess = 0
        var trailing = 0
        switch fault {
        case .lengthWordOver(let n): lengthWordExcess = n
        case .trailingBytes(let n): trailing = n
        case .moreThanAsked:
            extra = [UInt8](repeating: 0xEE, count: count)
            eof = false
        case .shortWithoutEOF(let n):
            end = min(start + n, end)
            eof = false
        case .shortClaimingEOF(let n):
            end = min(start + n, end)
            eof = true
        default: break
        }
        let data = Array(file.bytes[start..<end]) + extra
        reply.writeInteger(UInt32(0))  // PEER_OK
        reply.writeInteger(UInt64(size))
        reply.writeInteger(file.mtime.seconds)
        reply.writeInteger(file.mtime.nanoseconds)
        reply.writeInteger(UInt32(eof ? 1 : 0))
        reply.writeInteger(UInt32(data.count + lengthWordExcess))
        reply.writeBytes(data)
        reply.writeRepeatingByte(0, count: (4 - data.count % 4) % 4)
        reply.writeRepeatingByte(0xEE, count: trailing)
        let whole = Self.record(reply)

        switch fault {
        case .silent:
            return
        case .delayed(let delay):
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                guard context.channel.isActive else { return }
                context.writeAndFlush(self.wrapOutboundOut(whole), promise: nil)
            }
        case .resetMidReply:
            self.doomed = true
            let half = whole.getSlice(at: whole.readerIndex, length: whole.readableBytes / 2)!
            context.writeAndFlush(self.wrapOutboundOut(half), promise: nil)
            // Let the half reach the client, then reset (SO_LINGER 0).
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(50)) {
                guard let provider = context.channel as? any SocketOptionProvider else {
                    context.close(promise: nil)
                    return
                }
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        case .closeAfterRecordMark:
            self.doomed = true
            let mark = whole.getSlice(at: whole.readerIndex, length: 4)!
            context.writeAndFlush(self.wrapOutboundOut(mark)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        default:
            context.writeAndFlush(self.wrapOutboundOut(whole), promise: nil)
        }
    }

    private static func skipAuth(_ buffer: inout ByteBuffer) -> Bool {
        guard buffer.readInteger(as: UInt32.self) != nil, let length = buffer.readInteger(as: UInt32.self), length <= 400 else { return false }
        return buffer.readSlice(length: Int(length) + (4 - Int(length) % 4) % 4) != nil
    }

    /// xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, accept_stat.
    private static func acceptedHeader(xid: UInt32, status: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        for word in [xid, 1, 0, 0, 0, status] { buffer.writeInteger(UInt32(word)) }
        return buffer
    }

    private static func record(_ payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0x8000_0000) | UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
        return buffer
    }
}

/// Faulty peers behind `ForwardedFileReader` and `NamespaceSnapshot.read`:
/// every read ends within a bound, with a clean `FileSystemError` or with the
/// right bytes (another source's, on failover); a changed file is reported
/// and never mixed; and the reader works again once the peer behaves.
@Suite(.serialized) struct PeerFaultTests {
    static let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    /// The READ timeout of every reader here. Reads must end well before
    /// the slowest fault (`slowReply`) would have answered, so a reader that
    /// waited for it instead of timing out fails the bound; the bound leaves
    /// a busy machine (every suite runs at once on two cores; a 300 ms
    /// timeout was seen to end 10 s late) 25 times the timeout.
    static let timeout = TimeAmount.milliseconds(800)
    static let bound = Duration.seconds(20)
    static let slowReply = TimeAmount.seconds(40)
    static let fileSize = 200_000

    static func content(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) ^ seed }
    }

    static let v1 = FakePeer.File(bytes: content(fileSize, seed: 0), mtime: Timestamp(seconds: 1_000))

    struct Client {
        let reader: ForwardedFileReader
        let changes: NIOLockedValueBox<[FileVersion]>
    }

    static func client(for peer: FakePeer, timeout: TimeAmount = Self.timeout) -> Client {
        let pool = PeerConnectionPool(
            group: Self.clientGroup, connectTimeout: .seconds(1), failureBackoff: .milliseconds(200), logger: Logger(label: "fault-test"),
            tls: nil
        )
        pool.setAddresses([peer.address], for: peer.id)
        let changes = NIOLockedValueBox<[FileVersion]>([])
        let reader = ForwardedFileReader(
            node: peer.id, pool: pool, cache: BlockCache(capacity: 16 << 20),
            configuration: .init(blockSize: 64 * 1024, readAhead: 0, timeout: timeout),
            onChange: { _, version in changes.withLockedValue { $0.append(version) } }
        )
        return Client(reader: reader, changes: changes)
    }

    /// A read that must end within `limit` whatever the reader does: a hang
    /// becomes a test failure, not a stuck test run. The time is taken when
    /// the reader's future completes (on its event loop), not when this
    /// task resumes, which a machine busy with other suites may delay.
    static func read(
        _ reader: any FileReader, path: String = "f", expected: FileVersion = v1.version, offset: UInt64, count: Int,
        limit: Duration = .seconds(30)
    ) async -> (result: Result<FileReadResult, any Error>, elapsed: Duration) {
        let loop = Self.clientGroup.next()
        let started = ContinuousClock.now
        let promise = loop.makePromise(of: FileReadResult.self)
        let done = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        reader.read(path: path, expected: expected, offset: offset, count: count, eventLoop: loop).whenComplete { result in
            if done.withLockedValue({ let first = $0 == nil; if first { $0 = .now }; return first }) { promise.completeWith(result) }
        }
        let seconds = limit.components.seconds
        loop.scheduleTask(in: .seconds(seconds)) {
            if done.withLockedValue({ let first = $0 == nil; if first { $0 = .now }; return first }) { promise.fail(HungRead()) }
        }
        let result = await outcome { try await promise.futureResult.get() }
        return (result, done.withLockedValue { $0! } - started)
    }

    /// `NamespaceSnapshot.read`, timed the same way.
    static func read(
        _ snapshot: NamespaceSnapshot, _ node: NamespaceNode, offset: Int, count: Int
    ) async -> (result: Result<FileReadResult, any Error>, elapsed: Duration) {
        let loop = Self.clientGroup.next()
        let started = ContinuousClock.now
        let done = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let future = snapshot.read(node, offset: UInt64(offset), count: count, eventLoop: loop)
        future.whenComplete { _ in done.withLockedValue { $0 = .now } }
        let result = await outcome { try await future.get() }
        return (result, done.withLockedValue { $0! } - started)
    }

    struct HungRead: Error {}

    /// Byte equality without printing megabytes when it fails.
    static func same(_ data: ByteBuffer, _ truth: [UInt8]) -> Bool {
        data.readableBytesView.elementsEqual(truth)
    }

    /// The outcome is a FileSystemError, or bytes that are exactly the file's.
    static func expectCleanFailureOrTruth(
        _ outcome: (result: Result<FileReadResult, any Error>, elapsed: Duration), file: FakePeer.File, offset: Int, count: Int,
        _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(outcome.elapsed < Self.bound, "\(what): took \(outcome.elapsed)", sourceLocation: sourceLocation)
        switch outcome.result {
        case .success(let result):
            let truth = Array(file.bytes[min(offset, file.bytes.count)..<min(offset + count, file.bytes.count)])
            let got = Array(result.data.readableBytesView)
            let isTruth = truth.starts(with: got) && (got.count > 0 || truth.isEmpty)
            #expect(isTruth, "\(what): \(got.count) bytes that are not the file's", sourceLocation: sourceLocation)
            #expect(result.version == file.version, "\(what)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error is FileSystemError, "\(what): \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Reads until the peer (now well-behaved) answers, bounded; every range
    /// then comes back byte for byte, none of it from a poisoned cache.
    static func expectWorksAgain(
        _ reader: any FileReader, file: FakePeer.File, path: String = "f", sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        var last: Result<FileReadResult, any Error>?
        for _ in 0..<30 {
            last = await Self.read(reader, path: path, expected: file.version, offset: 0, count: 100).result
            if case .success = last { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        guard case .success = last else {
            Issue.record("the reader did not recover: \(String(describing: last))", sourceLocation: sourceLocation)
            return
        }
        for (offset, count) in [(0, 100), (1000, 100), (60_000, 10_000), (65_536, 65_536), (130_000, 70_000), (0, file.bytes.count)] {
            let outcome = await Self.read(reader, path: path, expected: file.version, offset: UInt64(offset), count: count)
            let truth = Array(file.bytes[offset..<min(offset + count, file.bytes.count)])
            switch outcome.result {
            case .success(let result):
                let same = Self.same(result.data, truth)
                #expect(same, "range \(offset)+\(count) after recovery", sourceLocation: sourceLocation)
            case .failure(let error):
                Issue.record("range \(offset)+\(count) after recovery: \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: One faulty peer, through ForwardedFileReader

    static let faults: [ReadFault] = [
        .silent, .delayed(Self.slowReply), .lengthWordOver(1000), .trailingBytes(100), .moreThanAsked,
        .shortWithoutEOF(500), .shortClaimingEOF(500), .resetMidReply, .closeAfterRecordMark,
    ]

    @Test(arguments: faults)
    func faultyPeerGivesACleanErrorOrTheTruthInTime(_ fault: ReadFault) async throws {
        let peer = try await FakePeer(id: NodeID(high: 1, low: 1), files: ["f": Self.v1])
        defer { Task { await peer.stop() } }
        let client = Self.client(for: peer)
        // Block 1 is cached from a good answer; then the peer misbehaves.
        _ = try await Self.read(client.reader, offset: 70_000, count: 10).result.get()
        peer.fault = fault
        // Inside block 0; over blocks 0-2 (one uncached run next to a cached
        // block); inside block 2.
        for (offset, count) in [(1000, 100), (0, 150_000), (140_000, 5000)] {
            let outcome = await Self.read(client.reader, offset: UInt64(offset), count: count)
            Self.expectCleanFailureOrTruth(outcome, file: Self.v1, offset: offset, count: count, "\(fault), \(offset)+\(count)")
        }
        #expect(client.changes.withLockedValue { $0 }.isEmpty, "nothing changed, yet a change was reported")
        peer.fault = .none
        await Self.expectWorksAgain(client.reader, file: Self.v1)
        switch fault {
        case .silent, .delayed:
            // A peer that answered nothing while calls timed out is dropped at
            // the first timeout (`RPCClientTimeoutPolicy.silence`) and reached again on a new
            // connection, not left to time out call after call on the old one.
            // (Late answers on a live connection: `RPCClientServerTests`.)
            #expect(peer.state.withLockedValue { $0.accepted } >= 2, "the silent connection was kept")
        default:
            break
        }
    }

    /// A reply that takes over a second, well within a generous timeout, is
    /// waited for and served: no shorter limit hides in the reader.
    @Test func slowPeerWithinTheTimeoutIsServed() async throws {
        let peer = try await FakePeer(id: NodeID(high: 1, low: 2), files: ["f": Self.v1])
        defer { Task { await peer.stop() } }
        let client = Self.client(for: peer, timeout: .seconds(8))
        peer.fault = .delayed(.milliseconds(1500))
        let outcome = await Self.read(client.reader, offset: 5000, count: 70_000, limit: .seconds(30))
        let result = try outcome.result.get()
        let same = Self.same(result.data, Array(Self.v1.bytes[5000..<75_000]))
        #expect(same)
        // The delay was real: the answer was waited for, not taken early.
        #expect(outcome.elapsed >= .milliseconds(1500))
    }

    /// A peer that would answer in a minute fails the read with a timeout,
    /// in a bound many times the reader's timeout yet far below the
    /// peer's delay: it fails, it does not hang.
    @Test func slowPeerWellOverTheTimeoutFailsInTime() async throws {
        let peer = try await FakePeer(id: NodeID(high: 1, low: 3), files: ["f": Self.v1])
        defer { Task { await peer.stop() } }
        let client = Self.client(for: peer)
        peer.fault = .delayed(.seconds(60))
        let outcome = await Self.read(client.reader, offset: 0, count: 10, limit: .seconds(30))
        guard case .failure(let error) = outcome.result else {
            Issue.record("a 60 s answer was waited for")
            return
        }
        #expect(error as? FileSystemError == .ioError("peer call failed: timedOut"), "\(error)")
        #expect(outcome.elapsed >= .milliseconds(800) && outcome.elapsed < .seconds(20))
    }

    // MARK: A peer that restarts with a changed file

    enum Change: Sendable, CustomStringConvertible, CaseIterable {
        case shrunk, grown, sameSizeNewMtime

        var file: FakePeer.File {
            switch self {
            case .shrunk: FakePeer.File(bytes: PeerFaultTests.content(150_000, seed: 0x5A), mtime: Timestamp(seconds: 2_000))
            case .grown: FakePeer.File(bytes: PeerFaultTests.content(260_000, seed: 0x5A), mtime: Timestamp(seconds: 2_000))
            case .sameSizeNewMtime:
                FakePeer.File(bytes: PeerFaultTests.content(PeerFaultTests.fileSize, seed: 0x5A), mtime: Timestamp(seconds: 1_000, nanoseconds: 1))
            }
        }

        var description: String {
            switch self {
            case .shrunk: "shrunk"
            case .grown: "grown"
            case .sameSizeNewMtime: "same size, new mtime"
            }
        }
    }

    @Test(arguments: Change.allCases)
    func restartedPeerWithAChangedFileIsReportedAndNeverMixed(_ change: Change) async throws {
        let v2 = change.file
        let peer = try await FakePeer(id: NodeID(high: 1, low: 4), files: ["f": Self.v1])
        let client = Self.client(for: peer)
        defer { Task { await peer.stop() } }
        // Block 0 of version 1 is cached.
        let first = try await Self.read(client.reader, offset: 0, count: 1000).result.get()
        let same = Self.same(first.data, Array(Self.v1.bytes[0..<1000]))
        #expect(same)

        await peer.stop()
        // Once the client has seen the connection close (a moment), the
        // cached block is no longer served: the peer is gone.
        var servedWhileDown = true
        for _ in 0..<40 where servedWhileDown {
            let down = await Self.read(client.reader, offset: 0, count: 1000)
            #expect(down.elapsed < Self.bound)
            if case .failure(let error) = down.result {
                #expect(error is FileSystemError)
                servedWhileDown = false
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        #expect(!servedWhileDown, "a stopped peer's cached block was still served")
        try await peer.start(files: ["f": v2])

        // The catalog still says version 1. Every read ends cleanly or with
        // bytes of exactly one version, labelled with that version.
        var outcomes: [(Int, Int, Result<FileReadResult, any Error>)] = []
        for _ in 0..<30 {
            let outcome = await Self.read(client.reader, offset: 0, count: 150_000)
            #expect(outcome.elapsed < Self.bound)
            if case .failure(let error) = outcome.result, "\(error)".contains("unreachable") {
                try await Task.sleep(for: .milliseconds(100))  // the pool's back-off after the refused connect
                continue
            }
            outcomes.append((0, 150_000, outcome.result))
            break
        }
        // That read mixed block 0 of version 1 (cached) with blocks of
        // version 2: it fails, yet reports the new version so the catalog is
        // refreshed and a retry can succeed.
        if case .failure = outcomes.first?.2 {
            #expect(
                client.changes.withLockedValue { $0 } == [v2.version], "\(change): a read that failed on mixed versions did not report the change"
            )
        }
        for (offset, count) in [(140_000, 5000), (160_000, 20_000), (190_000, 20_000), (100, 100)] {
            outcomes.append((offset, count, await Self.read(client.reader, offset: UInt64(offset), count: count).result))
        }
        #expect(outcomes.count == 5, "the restarted peer was never reached")
        for (offset, count, result) in outcomes {
            switch result {
            case .success(let read):
                let file = read.version == v2.version ? v2 : Self.v1
                #expect(read.version == v2.version || read.version == Self.v1.version)
                let truth = Array(file.bytes[min(offset, file.bytes.count)..<min(offset + count, Int(Self.v1.version.size), file.bytes.count)])
                let same = Self.same(read.data, truth)
                #expect(same, "\(change): \(offset)+\(count) as \(read.version)")
                #expect(read.isEndOfFile == (offset + read.data.readableBytes >= file.bytes.count))
            case .failure(let error):
                #expect(error is FileSystemError, "\(change): \(offset)+\(count): \(error)")
            }
        }
        // The peer reported another version than the catalog's: said so,
        // whether or not the read could be served.
        #expect(client.changes.withLockedValue { $0 }.contains(v2.version), "\(change): the change was not reported")
        #expect(client.changes.withLockedValue { $0 }.allSatisfy { $0 == v2.version })

        // Once the catalog has the new version, every range reads back whole.
        await Self.expectWorksAgain(client.reader, file: v2)
    }

    // MARK: Two sources: failover through NamespaceSnapshot.read

    static let failoverFaults: [ReadFault] = [
        .silent, .delayed(Self.slowReply), .lengthWordOver(1000), .moreThanAsked, .shortWithoutEOF(500), .shortClaimingEOF(500),
        .resetMidReply, .closeAfterRecordMark,
    ]

    @Test(arguments: failoverFaults)
    func aFaultySourceFailsOverToTheOther(_ fault: ReadFault) async throws {
        // Both hold the catalog's version of the file, but the faulty one's
        // bytes differ: whatever the read returns shows which source it
        // came from (a real peer would never lie so; here it tells sources
        // apart).
        let badBytes = FakePeer.File(bytes: Self.content(Self.fileSize, seed: 0xA5), mtime: Self.v1.mtime)
        let bad = try await FakePeer(id: NodeID(high: 2, low: 1), files: ["share/f": badBytes])
        let good = try await FakePeer(id: NodeID(high: 2, low: 2), files: ["share/f": Self.v1])
        defer { Task { await bad.stop(); await good.stop() } }
        let badClient = Self.client(for: bad)
        let goodClient = Self.client(for: good)
        let entry = CatalogEntry(path: "share/f", kind: .regular, size: Self.v1.version.size, mtime: Self.v1.mtime, mode: 0o644)
        // "a" sorts before "b": the faulty source is tried first.
        let catalogs = [
            SourceCatalog(origin: NodeIdentity(id: bad.id, name: "a"), generation: 1, entries: [entry], reader: badClient.reader, isLocal: false),
            SourceCatalog(origin: NodeIdentity(id: good.id, name: "b"), generation: 1, entries: [entry], reader: goodClient.reader, isLocal: false),
        ]
        // Replicas only once their owners' hashes agree: say they did.
        let digest = ContentHash(bytes: [UInt8](repeating: 0x5A, count: 32))!
        let confirmed = Dictionary(
            uniqueKeysWithValues: [bad.id, good.id].map { (ReplicaKey(origin: $0, path: "share/f", version: Self.v1.version), ReplicaHash.known(digest)) }
        )
        let snapshot = NamespaceMerger().merge(catalogs, generation: 1, previous: nil, now: Timestamp(seconds: 5_000), replicaHashes: confirmed)
        let node = try snapshot.lookup(path: "share/f")
        #expect(snapshot.sources(of: node).map(\.origin.name) == ["a", "b"])
        bad.fault = fault

        // Each range needs at least one block the good source has not sent
        // yet (0; 1-2; 3), so each must reach it.
        for (index, (offset, count)) in [(1000, 100), (0, 150_000), (140_000, 60_000)].enumerated() {
            let (badBefore, goodBefore) = (bad.readsReceived, good.readsReceived)
            let (result, elapsed) = await Self.read(snapshot, node, offset: offset, count: count)
            #expect(elapsed < .seconds(20), "\(fault): failover took \(elapsed)")
            let read = try result.get()
            let same = Self.same(read.data, Array(Self.v1.bytes[offset..<min(offset + count, Self.fileSize)]))
            #expect(same, "\(fault), \(offset)+\(count): not the good source's bytes")
            #expect(read.version == Self.v1.version)
            #expect(good.readsReceived > goodBefore, "\(fault), \(offset)+\(count): the good source was not read")
            if index == 0 {
                // The first read found the faulty source connectable: it was
                // asked first and failed (later ones may be refused by the
                // pool's back-off before a READ goes out).
                #expect(bad.readsReceived > badBefore, "\(fault): the faulty source was never tried")
            }
        }

        // Both failing: a clean error, still in time. Fresh readers, so that
        // no block the good source sent before is served from a cache.
        good.fault = fault
        let fresh = [(bad, "a"), (good, "b")].map { peer, name in
            SourceCatalog(
                origin: NodeIdentity(id: peer.id, name: name), generation: 1, entries: [entry], reader: Self.client(for: peer).reader, isLocal: false
            )
        }
        let bothFaulty = NamespaceMerger().merge(fresh, generation: 1, previous: nil, now: Timestamp(seconds: 5_000), replicaHashes: confirmed)
        let (both, elapsed) = await Self.read(bothFaulty, try bothFaulty.lookup(path: "share/f"), offset: 50_000, count: 20_000)
        switch both {
        case .success(let read):
            Issue.record("\(fault): both sources faulty, yet \(read.data.readableBytes) bytes were served")
        case .failure(let error):
            #expect(error is FileSystemError, "\(fault): \(error)")
        }
        // Each source may take up to the timeout; far more is a hang.
        #expect(elapsed < .seconds(30), "\(fault): two failing sources took \(elapsed)")

        bad.fault = .none
        good.fault = .none
        await Self.expectWorksAgain(badClient.reader, file: badBytes, path: "share/f")
    }
}
