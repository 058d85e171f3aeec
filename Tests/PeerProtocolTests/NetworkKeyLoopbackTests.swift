import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing
import XDR

/// A peer server on 127.0.0.1 that belongs to a closed network: a catalog,
/// a file, and a directory that knows one other node, all of which must stay
/// hidden from anyone without the key.
final class KeyedLoopbackPeer: Sendable {
    static let group = MultiThreadedEventLoopGroup.singleton
    static let secret = Array("file content only keyholders may read".utf8)
    let files = MemoryFiles()
    let identity = NodeIdentity(id: NodeID(high: 8, low: 8), name: "keyed")
    let hidden = NodeInfo(
        identity: NodeIdentity(id: NodeID(high: 9, low: 9), name: "hidden-node"), roles: .server,
        addresses: [PeerAddress(host: "192.0.2.9", port: 7475)]
    )
    let directory = PeerDirectory()
    let access: PeerAccessControl
    let server: RPCServer
    let address: PeerAddress

    init(key: NetworkKey?) async throws {
        let files = self.files
        let identity = self.identity
        files.state.withLockedValue { $0.files["docs/secret"] = Self.secret }
        let entries = [
            CatalogEntry(path: "docs", kind: .directory, mtime: .zero, mode: 0o755),
            CatalogEntry(path: "docs/secret", kind: .regular, size: UInt64(Self.secret.count), mtime: Timestamp(seconds: 1), mode: 0o644),
        ]
        self.directory.publish([PeerDirectory.Entry(info: self.hidden, state: .alive)])
        self.access = PeerAccessControl(key: key)
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: [PeerAddress(host: "127.0.0.1", port: 1)]) },
            catalog: { SourceCatalog(origin: identity, generation: 41, entries: entries, reader: files, isLocal: true) },
            directory: self.directory,
            statistics: PeerServerStatistics(),
            access: self.access
        )
        self.server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [program]), group: Self.group,
            logger: Logger(label: "test")
        )
        self.address = PeerAddress(host: "127.0.0.1", port: self.server.localAddress.port!)
    }

    func connect() async throws -> PeerConnection {
        try await PeerConnection.connect(to: self.address, group: Self.group, connectTimeout: .seconds(1), tls: nil, logger: Logger(label: "t"))
    }
}

@Suite struct NetworkKeyLoopbackTests {
    static let key = try! NetworkKey(bytes: Array("the network key of these tests, 0123".utf8))
    static let wrongKey = try! NetworkKey(bytes: Array("a different key, held by a stranger".utf8))
    static let me = NodeInfo(
        identity: NodeIdentity(id: NodeID(high: 1, low: 1), name: "member"), roles: .server,
        addresses: [PeerAddress(host: "127.0.0.1", port: 9)]
    )
    static let timeout = TimeAmount.seconds(2)

    /// Raw results of a peer call: what the wire carries, before decoding.
    static func raw(_ connection: PeerConnection, _ procedure: PeerProcedure, _ arguments: (inout ByteBuffer) -> Void = { _ in }) async throws -> [UInt8] {
        var buffer = ByteBuffer()
        arguments(&buffer)
        let results = try await connection.client.call(
            program: PeerProcedure.program, version: PeerProcedure.version, procedure: procedure.rawValue, arguments: buffer,
            timeout: Self.timeout
        )
        return Array(results.readableBytesView)
    }

    static let deniedWord: [UInt8] = [0, 0, 0, 13]

    /// Every procedure but the handshake answers exactly PEER_DENIED: four
    /// bytes, no generation, no node, no data.
    static func expectOnlyRefusals(_ connection: PeerConnection, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await Self.raw(connection, .hello) { HelloArguments(sender: Self.me).encode(into: &$0) } == Self.deniedWord, sourceLocation: sourceLocation)
        #expect(try await Self.raw(connection, .changes) { ChangesArguments(catalogGeneration: 0).encode(into: &$0) } == Self.deniedWord, sourceLocation: sourceLocation)
        #expect(try await Self.raw(connection, .catalog) { CatalogArguments(generation: 0, cookie: 0, maximumCount: 65536).encode(into: &$0) } == Self.deniedWord, sourceLocation: sourceLocation)
        #expect(try await Self.raw(connection, .peers) == Self.deniedWord, sourceLocation: sourceLocation)
        #expect(try await Self.raw(connection, .read) { ReadArguments(path: "docs/secret", offset: 0, count: 4096).encode(into: &$0) } == Self.deniedWord, sourceLocation: sourceLocation)
        // Garbage arguments are not even decoded before the refusal.
        #expect(try await Self.raw(connection, .read) { $0.writeBytes([0xFF, 0xFF]) } == Self.deniedWord, sourceLocation: sourceLocation)
        // The typed client sees the same.
        await #expect(throws: PeerClientError.keyRequired(connection.address), sourceLocation: sourceLocation) {
            try await connection.hello(HelloArguments(sender: Self.me), timeout: Self.timeout)
        }
        await #expect(throws: PeerClientError.status(.denied), sourceLocation: sourceLocation) {
            try await connection.changes(since: 0, timeout: Self.timeout)
        }
        await #expect(throws: PeerClientError.status(.denied), sourceLocation: sourceLocation) {
            try await connection.peers(timeout: Self.timeout)
        }
        await #expect(throws: PeerClientError.status(.denied), sourceLocation: sourceLocation) {
            try await connection.catalog(timeout: Self.timeout)
        }
        await #expect(throws: PeerClientError.status(.denied), sourceLocation: sourceLocation) {
            try await connection.read(ReadArguments(path: "docs/secret", offset: 0, count: 100), timeout: Self.timeout).get()
        }
    }

    @Test func theRightKeyOpensEverythingIncludingReads() async throws {
        let peer = try await KeyedLoopbackPeer(key: Self.key)
        defer { Task { await peer.server.close() } }
        let connection = try await peer.connect()
        defer { connection.close() }

        let responder = try await connection.authenticate(as: Self.me, key: Self.key, expecting: peer.identity.id, timeout: Self.timeout)
        #expect(responder == peer.identity.id)
        let hello = try await connection.hello(HelloArguments(sender: Self.me), timeout: Self.timeout)
        #expect(hello.responder.identity == peer.identity)
        #expect(hello.catalogGeneration == 41)
        #expect(try await connection.changes(since: 41, timeout: Self.timeout).catalogChanged == false)
        #expect(try await connection.peers(timeout: Self.timeout).nodes == [peer.hidden])
        #expect(try await connection.catalog(timeout: Self.timeout).entries.map(\.path) == ["docs", "docs/secret"])
        let read = try await connection.read(ReadArguments(path: "docs/secret", offset: 0, count: 4096), timeout: Self.timeout).get()
        #expect(Array(read.data.readableBytesView) == KeyedLoopbackPeer.secret)
        // The member is known to the server now (and only after proving the key).
        #expect(peer.directory.takeHeard().map(\.info) == [Self.me])

        // Forwarded reads through a pool that authenticates its connections.
        let pool = PeerConnectionPool(
            group: KeyedLoopbackPeer.group, connectTimeout: .seconds(1), logger: Logger(label: "t"),
            tls: nil, authentication: PeerClientAuthentication(key: Self.key, localNode: { Self.me })
        )
        pool.setAddresses([peer.address], for: peer.identity.id)
        let reader = ForwardedFileReader(node: peer.identity.id, pool: pool, cache: BlockCache(capacity: 1 << 20))
        let version = FileVersion(size: UInt64(KeyedLoopbackPeer.secret.count), mtime: Timestamp(seconds: 1))
        let result = try await reader.read(path: "docs/secret", expected: version, offset: 5, count: 7, eventLoop: KeyedLoopbackPeer.group.next()).get()
        #expect(Array(result.data.readableBytesView) == Array(KeyedLoopbackPeer.secret[5..<12]))
        pool.forget(peer.identity.id)
    }

    /// `p2pfs peers --node` presents this machine's node identity so a
    /// `--trust` list admits it, and authenticates as a tool: that id with
    /// no roles. The node it asks must not take it for that node (its roles,
    /// addresses and state would be overwritten by a tool's).
    @Test func aToolWithANodesIDChangesNothingTheServerKnowsOfThatNode() async throws {
        let peer = try await KeyedLoopbackPeer(key: Self.key)
        defer { Task { await peer.server.close() } }
        let before = peer.directory.entries
        let connection = try await peer.connect()
        defer { connection.close() }
        let tool = NodeInfo(identity: NodeIdentity(id: peer.hidden.identity.id, name: "p2pfs-cli"), roles: [], addresses: [])
        #expect(try await connection.authenticate(as: tool, key: Self.key, expecting: nil, timeout: Self.timeout) == peer.identity.id)
        // Let in (it may ask), but not heard of as a node.
        #expect(try await connection.peers(timeout: Self.timeout).nodes == [peer.hidden])
        #expect(peer.directory.takeHeard().isEmpty)
        #expect(peer.directory.entries == before)
    }

    @Test func withoutTheKeyEveryProcedureIsDenied() async throws {
        let peer = try await KeyedLoopbackPeer(key: Self.key)
        defer { Task { await peer.server.close() } }
        let connection = try await peer.connect()
        defer { connection.close() }
        try await Self.expectOnlyRefusals(connection)
        // AUTHENTICATE without a handshake, or with a made-up proof, proves nothing.
        #expect(try await Self.raw(connection, .authenticate) { AuthenticateArguments(proof: Array(repeating: 7, count: 32)).encode(into: &$0) } == Self.deniedWord)
        try await Self.expectOnlyRefusals(connection)
        // NULL stays a ping.
        #expect(try await Self.raw(connection, .null) == [])
        #expect(peer.directory.takeHeard().isEmpty)
    }

    @Test func withTheWrongKeyEveryProcedureIsDenied() async throws {
        let peer = try await KeyedLoopbackPeer(key: Self.key)
        defer { Task { await peer.server.close() } }
        let connection = try await peer.connect()
        defer { connection.close() }
        await #expect(throws: PeerClientError.untrusted(connection.address, reason: PeerHandshake.Failure.wrongProof.description)) {
            try await connection.authenticate(as: Self.me, key: Self.wrongKey, expecting: nil, timeout: Self.timeout)
        }
        try await Self.expectOnlyRefusals(connection)

        // The handshake's HELLO tells a stranger the responder's id (what
        // the proof is bound to) and nothing else.
        let stranger = PeerHandshake.Caller(key: Self.wrongKey, me: Self.me.identity.id, channelBinding: [])
        let bytes = try await Self.raw(connection, .hello) { stranger.helloArguments(sender: Self.me).encode(into: &$0) }
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try buffer.readXDREnum(PeerStatus.self) == .ok)
        let reply = try HelloReply(xdr: &buffer)
        #expect(reply.responder == NodeInfo(identity: NodeIdentity(id: peer.identity.id, name: ""), roles: [], addresses: []))
        #expect(reply.catalogGeneration == 0 && reply.peersGeneration == 0)
        #expect(reply.proof.count == 32 && reply.challenge.count == 32)
        // A stranger that answers the challenge with its own key is refused.
        let guess = Self.wrongKey.proof(
            .caller, callerChallenge: stranger.challenge, responderChallenge: reply.challenge, responder: peer.identity.id,
            caller: Self.me.identity.id, channelBinding: []
        )
        #expect(try await Self.raw(connection, .authenticate) { AuthenticateArguments(proof: guess).encode(into: &$0) } == Self.deniedWord)
        try await Self.expectOnlyRefusals(connection)
        #expect(peer.directory.takeHeard().isEmpty)
    }

    @Test func authorizationIsPerConnectionAndForgottenOnClose() async throws {
        let peer = try await KeyedLoopbackPeer(key: Self.key)
        defer { Task { await peer.server.close() } }
        let first = try await peer.connect()
        _ = try await first.authenticate(as: Self.me, key: Self.key, expecting: peer.identity.id, timeout: Self.timeout)
        #expect(try await first.changes(since: 0, timeout: Self.timeout).catalogGeneration == 41)

        // A second connection from the same process, same caller: nothing.
        let second = try await peer.connect()
        defer { second.close() }
        try await Self.expectOnlyRefusals(second)
        // Still authorized where the handshake happened.
        #expect(try await first.peers(timeout: Self.timeout).nodes.count == 1)

        // Closing the connection forgets its state (bounded wait).
        #expect(peer.access.trackedConnections == 1)
        first.close()
        for _ in 0..<100 where peer.access.trackedConnections > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(peer.access.trackedConnections == 0)
    }

    @Test func anOpenNodeCannotProveTheKeyAndAnOpenCallerIsTold() async throws {
        // A keyed caller meeting an open node refuses it.
        let open = try await KeyedLoopbackPeer(key: nil)
        defer { Task { await open.server.close() } }
        let connection = try await open.connect()
        defer { connection.close() }
        await #expect(throws: PeerClientError.untrusted(connection.address, reason: PeerHandshake.Failure.noProof.description)) {
            try await connection.authenticate(as: Self.me, key: Self.key, expecting: nil, timeout: Self.timeout)
        }
        // Its pool never hands out a connection to it, so nothing is read from it.
        let pool = PeerConnectionPool(
            group: KeyedLoopbackPeer.group, connectTimeout: .seconds(1), logger: Logger(label: "t"),
            tls: nil, authentication: PeerClientAuthentication(key: Self.key, localNode: { Self.me })
        )
        pool.setAddresses([open.address], for: open.identity.id)
        await #expect(throws: PeerClientError.untrusted(open.address, reason: PeerHandshake.Failure.noProof.description)) {
            try await pool.connection(for: open.identity.id).get()
        }
        #expect(open.files.reads.isEmpty)

        // An open node, unchanged: HELLO without a key works as ever.
        let plain = try await open.connect()
        defer { plain.close() }
        #expect(try await plain.hello(HelloArguments(sender: Self.me), timeout: Self.timeout).catalogGeneration == 41)
        #expect(try await Self.raw(plain, .authenticate) { AuthenticateArguments(proof: []).encode(into: &$0) } == [0, 0, 0, 0])
    }
}
