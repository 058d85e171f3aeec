import Logging
import NIOCore
import NIOPosix

/// A listening RPC endpoint: TCP with record marking, and optionally UDP on
/// the same address, both serving one `RPCDispatcher`.
public final class RPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Records larger than this close the connection (see `RecordMarkingDecoder`).
        public var maximumRecordSize: Int
        public var maximumCallsInProgressPerConnection: Int
        public var servesUDP: Bool

        public init(
            host: String,
            port: Int,
            maximumRecordSize: Int = 1 << 20 + 64 * 1024,
            maximumCallsInProgressPerConnection: Int = 64,
            servesUDP: Bool = false
        ) {
            self.host = host
            self.port = port
            self.maximumRecordSize = maximumRecordSize
            self.maximumCallsInProgressPerConnection = maximumCallsInProgressPerConnection
            self.servesUDP = servesUDP
        }
    }

    public let localAddress: SocketAddress
    private let tcpChannel: any Channel
    private let udpChannel: (any Channel)?

    private init(localAddress: SocketAddress, tcpChannel: any Channel, udpChannel: (any Channel)?) {
        self.localAddress = localAddress
        self.tcpChannel = tcpChannel
        self.udpChannel = udpChannel
    }

    public static func start(
        configuration: Configuration,
        dispatcher: RPCDispatcher,
        group: any EventLoopGroup,
        logger: Logger
    ) async throws -> RPCServer {
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 4 * 1024 * 1024))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
            .bind(host: configuration.host, port: configuration.port)
            .get()

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
        return RPCServer(localAddress: localAddress, tcpChannel: tcp, udpChannel: udp)
    }

    public func close() async {
        try? await self.tcpChannel.close()
        try? await self.udpChannel?.close()
    }
}
