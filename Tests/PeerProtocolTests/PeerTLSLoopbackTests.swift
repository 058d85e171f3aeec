import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// The peer protocol over TLS on 127.0.0.1: who a node is follows from its
/// certificate, both in the connection (expected id) and in HELLO (claimed
/// id); the network-key handshake runs inside the session; plaintext
/// (protocol version 1) is refused both ways with a reason.
@Suite struct PeerTLSLoopbackTests {
    static let group = MultiThreadedEventLoopGroup.singleton
    static let server = try! NodeCredentials.generate()
    static let client = try! NodeCredentials.generate()
    static let key = try! NetworkKey(bytes: Array("the network key of the TLS tests 42".utf8))

    /// A TLS peer server with `credentials`, introducing itself as `claims`.
    static func serve(
        _ credentials: NodeCredentials = Self.server, claims: NodeID? = nil, key: NetworkKey? = nil
    ) async throws -> (RPCServer, PeerAddress) {
        let identity = NodeIdentity(id: claims ?? credentials.nodeID, name: "served")
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: []) },
            catalog: { SourceCatalog(origin: identity, generation: 3, entries: [], reader: MemoryFiles(), isLocal: true) },
            directory: PeerDirectory(),
            statistics: PeerServerStatistics(),
            access: key.map { PeerAccessControl(key: $0) } ?? .open
        )
        let server = try await RPCServer.start(
            // A generous handshake bound: with the test runner's threads
            // busy (2 cores), a caller's first bytes can come late, and no
            // test here is about the bound.
            configuration: try PeerTLS(credentials: credentials).serverConfiguration(
                host: "127.0.0.1", port: 0, maximumRecordSize: 64 * 1024, handshakeTimeout: .seconds(120), logger: Logger(label: "test")
            ),
            dispatcher: RPCDispatcher(programs: [program]), group: Self.group, logger: Logger(label: "test")
        )
        return (server, PeerAddress(host: "127.0.0.1", port: server.localAddress.port!))
    }

    static func connect(
        _ address: PeerAddress, as credentials: NodeCredentials? = Self.client, expecting: NodeID? = nil
    ) async throws -> PeerConnection {
        try await PeerConnection.connect(
            to: address, group: Self.group, connectTimeout: .seconds(60), tls: try credentials.map { try PeerTLS(credentials: $0) }, expecting: expecting,
            logger: Logger(label: "t")
        )
    }

    static func node(_ id: NodeID) -> NodeInfo {
        NodeInfo(identity: NodeIdentity(id: id, name: "caller"), roles: .client, addresses: [])
    }

    @Test func bothEndsLearnTheOthersCertifiedID() async throws {
        let (server, address) = try await Self.serve()
        defer { Task { await server.close() } }
        let connection = try await Self.connect(address, expecting: Self.server.nodeID)
        defer { connection.close() }
        #expect(connection.peerID == Self.server.nodeID)
        #expect(connection.peerIdentity?.localKeyDigest == Self.client.publicKeyDigest)
        let hello = try await connection.hello(HelloArguments(sender: Self.node(Self.client.nodeID)), timeout: .seconds(5))
        #expect(hello.responder.identity.id == Self.server.nodeID)
        #expect(try await connection.changes(since: 0, timeout: .seconds(5)).catalogGeneration == 3)
    }

    @Test func anAddressPresentingAnotherNodesCertificateIsRefused() async throws {
        let (server, address) = try await Self.serve()
        defer { Task { await server.close() } }
        let announced = NodeID(high: 0xA, low: 0xB)
        await #expect(throws: PeerClientError.impersonation(address, expected: "\(announced)", found: "\(Self.server.nodeID)")) {
            _ = try await Self.connect(address, expecting: announced)
        }
    }

    @Test func aServerClaimingAnIDNotItsCertificatesIsRefused() async throws {
        let impersonated = try NodeCredentials.generate().nodeID
        let (server, address) = try await Self.serve(claims: impersonated)
        defer { Task { await server.close() } }
        let connection = try await Self.connect(address)
        defer { connection.close() }
        await #expect(throws: PeerClientError.impersonation(address, expected: "\(Self.server.nodeID)", found: "\(impersonated)")) {
            _ = try await connection.hello(HelloArguments(sender: Self.node(Self.client.nodeID)), timeout: .seconds(5))
        }
    }

    @Test func aCallerClaimingAnIDNotItsCertificatesIsDenied() async throws {
        let (server, address) = try await Self.serve()
        defer { Task { await server.close() } }
        let connection = try await Self.connect(address)
        defer { connection.close() }
        let impersonated = try NodeCredentials.generate().nodeID
        // PEER_DENIED, as for a caller without a key: nothing is told.
        await #expect(throws: PeerClientError.keyRequired(address)) {
            _ = try await connection.hello(HelloArguments(sender: Self.node(impersonated)), timeout: .seconds(5))
        }
        // Its own id is answered on the same connection.
        let hello = try await connection.hello(HelloArguments(sender: Self.node(Self.client.nodeID)), timeout: .seconds(5))
        #expect(hello.responder.identity.id == Self.server.nodeID)
    }

    @Test func aPlaintextVersion1CallerIsToldTheVersionAndRefused() async throws {
        let (server, address) = try await Self.serve()
        defer { Task { await server.close() } }
        let connection = try await Self.connect(address, as: nil)
        defer { connection.close() }
        await #expect(throws: PeerClientError.rpc(.notAccepted(.programMismatch(low: 2, high: 2)))) {
            _ = try await connection.hello(HelloArguments(protocolVersion: 1, sender: Self.node(Self.client.nodeID)), timeout: .seconds(5))
        }
    }

    @Test func aTLSCallerOfAPlaintextServerFailsWithAReason() async throws {
        let plaintext = try await LoopbackPeer()
        defer { Task { await plaintext.server.close() } }
        let error = await #expect(throws: PeerClientError.self) {
            _ = try await Self.connect(plaintext.address)
        }
        guard case .tls(let address, let reason) = error else {
            Issue.record("not a TLS failure: \(String(describing: error))")
            return
        }
        #expect(address == plaintext.address)
        #expect(reason.contains("protocol version 1"))
    }

    @Test func theNetworkKeyHandshakeRunsInsideTheSession() async throws {
        let (server, address) = try await Self.serve(key: Self.key)
        defer { Task { await server.close() } }
        let me = Self.node(Self.client.nodeID)
        let member = try await Self.connect(address)
        defer { member.close() }
        await #expect(throws: PeerClientError.status(.denied)) { _ = try await member.changes(since: 0, timeout: .seconds(5)) }
        let proven = try await member.authenticate(as: me, key: Self.key, expecting: Self.server.nodeID, timeout: .seconds(5))
        #expect(proven == Self.server.nodeID)
        #expect(try await member.changes(since: 0, timeout: .seconds(5)).catalogGeneration == 3)

        let stranger = try await Self.connect(address)
        defer { stranger.close() }
        let wrong = try NetworkKey(bytes: Array("not the key of this network, 9876".utf8))
        await #expect(throws: PeerClientError.self) {
            _ = try await stranger.authenticate(as: me, key: wrong, expecting: nil, timeout: .seconds(5))
        }
        await #expect(throws: PeerClientError.status(.denied)) { _ = try await stranger.changes(since: 0, timeout: .seconds(5)) }
    }
}
