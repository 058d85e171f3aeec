import Logging
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// A listening RPC endpoint: TCP (or a UNIX domain stream socket) with
/// record marking, and optionally UDP on the same address, all serving one
/// `RPCDispatcher`.
public final class RPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Listen on this UNIX domain socket instead of `host`/`port` (the
        /// way local tools and the kernel reach rpcbind).
        public var unixSocketPath: String?
        /// Records larger than this close the connection (see `RecordMarkingDecoder`).
        public var maximumRecordSize: Int
        public var maximumCallsInProgressPerConnection: Int
        public var servesUDP: Bool
        /// Handlers put in front of the record marking on every accepted
        /// connection (TLS, for the peer protocol); none by default.
        public var transportHandlers: (@Sendable (any Channel) throws -> Void)?

        public init(
            host: String,
            port: Int,
            maximumRecordSize: Int = 1 << 20 + 64 * 1024,
            maximumCallsInProgressPerConnection: Int = 32,
            servesUDP: Bool = false
        ) {
            self.host = host
            self.port = port
            self.unixSocketPath = nil
            self.maximumRecordSize = maximumRecordSize
            self.maximumCallsInProgressPerConnection = maximumCallsInProgressPerConnection
            self.servesUDP = servesUDP
            self.transportHandlers = nil
        }
    }

    public let localAddress: SocketAddress
    private let tcpChannel: any Channel
    private let udpChannel: (any Channel)?
    private let connections: ConnectionSet

    private init(localAddress: SocketAddress, tcpChannel: any Channel, udpChannel: (any Channel)?, connections: ConnectionSet) {
        self.localAddress = localAddress
        self.tcpChannel = tcpChannel
        self.udpChannel = udpChannel
        self.connections = connections
    }

    /// The accepted connections, so that closing the server closes them too.
    private final class ConnectionSet: Sendable {
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

    /// A configuration for a UNIX domain stream socket at `path`.
    public static func unixSocket(
        _ path: String, maximumRecordSize: Int = 64 * 1024, maximumCallsInProgressPerConnection: Int = 16
    ) -> Configuration {
        var configuration = Configuration(
            host: "", port: 0, maximumRecordSize: maximumRecordSize,
            maximumCallsInProgressPerConnection: maximumCallsInProgressPerConnection
        )
        configuration.unixSocketPath = path
        return configuration
    }

    /// Binds and serves. Accepted connections go to `childLoop` when given
    /// (a daemon keeps its NFS clients on one loop and its peer
    /// connections on the others), else to `group`'s loops in turn.
    public static func start(
        configuration: Configuration,
        dispatcher: RPCDispatcher,
        group: any EventLoopGroup,
        childLoop: (any EventLoop)? = nil,
        logger: Logger
    ) async throws -> RPCServer {
        let connections = ConnectionSet()
        var bootstrap = ServerBootstrap(group: group, childGroup: childLoop ?? group)
            .serverChannelOption(.backlog, value: 256)
        if configuration.unixSocketPath == nil {
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        }
        bootstrap = bootstrap
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 4 * 1024 * 1024))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try configuration.transportHandlers?(channel)
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: configuration.maximumRecordSize)),
                        RecordMarkingEncoder(),
                        RPCServerHandler(
                            dispatcher: dispatcher,
                            maximumCallsInProgress: configuration.maximumCallsInProgressPerConnection,
                            logger: logger
                        ),
                    ])
                }
            }
        let tcp: any Channel
        if let path = configuration.unixSocketPath {
            tcp = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        } else {
            tcp = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        }

        let localAddress = tcp.localAddress!
        var udp: (any Channel)? = nil
        if configuration.servesUDP {
            do {
                udp = try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(RPCDatagramHandler(dispatcher: dispatcher, logger: logger))
                        }
                    }
                    .bind(to: localAddress)
                    .get()
            } catch {
                try? await tcp.close()
                throw error
            }
        }
        return RPCServer(localAddress: localAddress, tcpChannel: tcp, udpChannel: udp, connections: connections)
    }

    /// Stops listening and closes every connection.
    public func close() async {
        try? await self.tcpChannel.close()
        try? await self.udpChannel?.close()
        await self.connections.closeAll()
    }
}
