import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// A `--trust` list, on 127.0.0.1: a node not on it is refused in the TLS
/// handshake, the refusing node logs one line naming it, and the refused
/// one learns why (not a bare closed connection).
@Suite struct PeerTLSTrustTests {
    static let group = MultiThreadedEventLoopGroup.singleton
    static let member = try! NodeCredentials.generate()
    static let stranger = try! NodeCredentials.generate()

    /// A peer server admitting only `trusted`, logging to `logger`.
    static func serve(
        _ credentials: NodeCredentials, trusted: Set<NodeID>, logger: Logger
    ) async throws -> (RPCServer, PeerAddress) {
        let identity = NodeIdentity(id: credentials.nodeID, name: "guarded")
        let program = PeerProgram(
            localNode: { NodeInfo(identity: identity, roles: .server, addresses: []) },
            catalog: { SourceCatalog(origin: identity, generation: 7, entries: [], reader: MemoryFiles(), isLocal: true) },
            directory: PeerDirectory(),
            statistics: PeerServerStatistics()
        )
        let server = try await RPCServer.start(
            configuration: try PeerTLS(credentials: credentials, trusted: trusted).serverConfiguration(
                host: "127.0.0.1", port: 0, maximumRecordSize: 64 * 1024, handshakeTimeout: .seconds(120), logger: logger
            ),
            dispatcher: RPCDispatcher(programs: [program]), group: Self.group, logger: logger
        )
        return (server, PeerAddress(host: "127.0.0.1", port: server.localAddress.port!))
    }

    static func connect(
        _ address: PeerAddress, as credentials: NodeCredentials, trusting trusted: Set<NodeID>? = nil, logger: Logger
    ) async throws -> PeerConnection {
        try await PeerConnection.connect(
            to: address, group: Self.group, connectTimeout: .seconds(60), tls: try PeerTLS(credentials: credentials, trusted: trusted),
            logger: logger
        )
    }

    static func hello(_ connection: PeerConnection, as credentials: NodeCredentials) async throws -> HelloReply {
        let me = NodeInfo(identity: NodeIdentity(id: credentials.nodeID, name: "caller"), roles: .client, addresses: [])
        return try await connection.hello(HelloArguments(sender: me), timeout: .seconds(30))
    }

    /// Waits (bounded) until `lines` holds something matching `predicate`.
    static func waitFor(_ lines: NIOLockedValueBox<[String]>, _ predicate: (String) -> Bool) async throws {
        for _ in 0..<600 where !lines.withLockedValue({ $0.contains(where: predicate) }) {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func aCallerNotOnTheListLearnsWhyAndTheNodeLogsOneLine() async throws {
        let (serverLogger, serverLines) = RefusalLogTests.capturingLogger()
        let (clientLogger, clientLines) = RefusalLogTests.capturingLogger()
        let guarded = try NodeCredentials.generate()
        let (server, address) = try await Self.serve(guarded, trusted: [Self.member.nodeID], logger: serverLogger)
        // TLS 1.3: the caller's handshake completes before the node checked
        // its certificate; the refusal comes with the first call.
        let connection = try await Self.connect(address, as: Self.stranger, logger: clientLogger)
        defer { connection.close() }
        await #expect(throws: PeerClientError.notTrusted(address, presented: Self.stranger.nodeID)) {
            _ = try await Self.hello(connection, as: Self.stranger)
        }
        let refusal = "warning: refused node \(Self.stranger.nodeID): not in the --trust list"
        try await Self.waitFor(serverLines) { $0 == refusal }
        await server.close()
        // One line for one refused connection, and it names the node.
        let warnings = serverLines.withLockedValue { $0.filter { $0.hasPrefix("warning") } }
        #expect(warnings == [refusal])
        // The caller's owner reports it (the error above); its TLS layer
        // adds no warning of its own.
        #expect(clientLines.withLockedValue { $0.filter { $0.hasPrefix("warning") } } == [])
    }

    @Test func aCallerOnTheListIsAnswered() async throws {
        let (logger, lines) = RefusalLogTests.capturingLogger()
        let guarded = try NodeCredentials.generate()
        let (server, address) = try await Self.serve(guarded, trusted: [Self.member.nodeID], logger: logger)
        defer { Task { await server.close() } }
        let connection = try await Self.connect(address, as: Self.member, logger: logger)
        defer { connection.close() }
        #expect(try await Self.hello(connection, as: Self.member).responder.identity.id == guarded.nodeID)
        #expect(lines.withLockedValue { $0.filter { $0.hasPrefix("warning") } } == [])
    }

    @Test func aNodeDoesNotTalkToANodeNotOnItsList() async throws {
        let (logger, _) = RefusalLogTests.capturingLogger()
        // The server admits the caller; the caller's own list lacks the server.
        let open = try NodeCredentials.generate()
        let (server, address) = try await Self.serve(open, trusted: [Self.member.nodeID, Self.stranger.nodeID], logger: logger)
        defer { Task { await server.close() } }
        let error = await #expect(throws: PeerClientError.self) {
            _ = try await Self.connect(address, as: Self.member, trusting: [Self.stranger.nodeID], logger: logger)
        }
        #expect(error == .tls(address, reason: PeerTLSError.untrusted(open.nodeID).description))
        #expect(PeerTLSError.untrusted(open.nodeID).description == "it is node \(open.nodeID), not in the --trust list")
    }
}
