import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The `--metrics` listener: HTTP/1.1 serving `GET /metrics` from a
/// render function, so this file knows nothing of the metrics backend.
public final class MetricsHTTPServer: Sendable {
    /// Connections silent this long are closed.
    public static let idleTimeout = TimeAmount.seconds(30)

    public let localAddress: SocketAddress
    private let channel: any Channel
    private let connections: Connections

    private init(channel: any Channel, connections: Connections) {
        self.channel = channel
        self.localAddress = channel.localAddress!
        self.connections = connections
    }

    /// Binds `host:port` (port 0: any free port) and serves until `close()`.
    public static func start(
        host: String, port: Int, group: any EventLoopGroup, render: @escaping @Sendable () -> [UInt8]
    ) async throws -> MetricsHTTPServer {
        let connections = Connections()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port)
            .get()
        return MetricsHTTPServer(channel: channel, connections: connections)
    }

    /// Stops listening and closes open connections.
    public func close() async {
        try? await self.channel.close()
        await self.connections.closeAll()
    }

    /// The accepted connections, so that closing the server closes them too.
    private final class Connections: Sendable {
        private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

        func add(_ channel: any Channel) {
            let key = ObjectIdentifier(channel)
            self.channels.withLockedValue { $0[key] = channel }
            channel.closeFuture.whenComplete { _ in
                self.channels.withLockedValue { _ = $0.removeValue(forKey: key) }
            }
        }

        func closeAll() async {
            for channel in self.channels.withLockedValue({ Array($0.values) }) {
                try? await channel.close()
            }
        }
    }
}
