import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol
import Testing

/// Refused peer connections are logged, but a flood of them is not: at most
/// a burst per window, and what was held back is said with the next line.
@Suite struct RefusalLogTests {
    /// Collects the messages logged through it.
    struct CapturingLogHandler: LogHandler {
        let lines: NIOLockedValueBox<[String]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.lines.withLockedValue { $0.append("\(event.level): \(event.message)") }
        }
    }

    static func capturingLogger() -> (Logger, NIOLockedValueBox<[String]>) {
        let lines = NIOLockedValueBox<[String]>([])
        return (Logger(label: "refusals", factory: { _ in CapturingLogHandler(lines: lines) }), lines)
    }

    @Test func aBurstIsLoggedThenHeldBackUntilTheWindowEnds() {
        var limiter = RefusalLog.Limiter(burst: 3, window: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let early = (0..<5).map { limiter.admit(at: start + .seconds(Int64($0))) }
        #expect(early == [.log(heldBack: 0), .log(heldBack: 0), .log(heldBack: 0), .holdBack, .holdBack])
        // A new window: the first line says how many were held back.
        #expect(limiter.admit(at: start + .seconds(61)) == .log(heldBack: 2))
        #expect(limiter.admit(at: start + .seconds(62)) == .log(heldBack: 0))
    }

    @Test func aQuietPeriodLogsEveryRefusal() {
        var limiter = RefusalLog.Limiter(burst: 2, window: .seconds(10))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        // One refusal a minute (a node outside --trust retrying) is never
        // held back.
        let decisions = (0..<6).map { limiter.admit(at: start + .minutes(Int64($0))) }
        #expect(decisions == Array(repeating: .log(heldBack: 0), count: 6))
    }

    @Test func heldBackWarningsAreCountedInTheNextLine() {
        let (logger, lines) = Self.capturingLogger()
        let clock = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(5_000_000_000))
        let refusals = RefusalLog(burst: 10, window: .seconds(60), now: { clock.withLockedValue { $0 } })
        for index in 0..<25 {
            refusals.warning("refused a peer connection: number \(index)", peer: "127.0.0.1:\(40000 + index)", logger: logger)
        }
        #expect(lines.withLockedValue { $0.count } == 10)
        clock.withLockedValue { $0 = $0 + .seconds(61) }
        refusals.warning("refused a peer connection: late", peer: nil, logger: logger)
        let all = lines.withLockedValue { $0 }
        #expect(all.count == 11)
        #expect(all.last == "warning: refused a peer connection: late (and 15 more refused since the last warning, not logged one by one)")
    }

    /// A port scan's worth of connections that do not speak TLS: each is
    /// refused, but the node logs only its burst.
    @Test func aFloodOfNonTLSConnectionsLogsOnlyABurst() async throws {
        let (logger, lines) = Self.capturingLogger()
        let credentials = try NodeCredentials.generate()
        let tls = try PeerTLS(credentials: credentials, refusals: RefusalLog(burst: 3, window: .seconds(3600)))
        let group = MultiThreadedEventLoopGroup.singleton
        // No program is needed: no connection gets past TLS.
        let server = try await RPCServer.start(
            configuration: tls.serverConfiguration(
                host: "127.0.0.1", port: 0, maximumRecordSize: 64 * 1024, handshakeTimeout: .seconds(120), logger: logger
            ),
            dispatcher: RPCDispatcher(programs: []), group: group, logger: logger
        )
        defer { Task { await server.close() } }
        let port = server.localAddress.port!
        for _ in 0..<8 {
            let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
            try await channel.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n")).get()
            // Refused: the node closes the connection.
            try await channel.closeFuture.get()
        }
        let refused = lines.withLockedValue { $0.filter { $0.contains("it does not start a TLS handshake") } }
        #expect(refused.count == 3, "\(lines.withLockedValue { $0 })")
    }
}
