import Logging
import NIOCore
import NIOPosix

/// A TCP connection to an RPC server that carries many calls at once.
public final class RPCClient: Sendable {
    public let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects, failing after `connectTimeout` rather than waiting for the
    /// kernel's own (minutes-long) SYN retries. `timeouts`: what a call's
    /// timeout measures.
    public static func connect(
        to address: SocketAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount = .seconds(3),
        maximumRecordSize: Int = 4 << 20,
        transportHandlers: (@Sendable (any Channel) throws -> Void)? = nil,
        timeouts: RPCClientTimeoutPolicy = .perCall,
        logger: Logger
    ) -> EventLoopFuture<RPCClient> {
        ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Replies can be a megabyte of file data: read them in large
            // buffers, so a record does not arrive in dozens of pieces that
            // must be glued together (and reallocated) to be decoded.
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 64 * 1024, maximum: min(maximumRecordSize, 2 << 20))
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Silence is judged by bytes off the socket, so first of all.
                    var counter: RPCClientReadCounter?
                    if case .silence = timeouts {
                        counter = RPCClientReadCounter()
                        try channel.pipeline.syncOperations.addHandler(counter!)
                    }
                    // In front of the record marking: TLS, for the peer protocol.
                    try transportHandlers?(channel)
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RecordMarkingDecoder(maximumRecordSize: maximumRecordSize)),
                        RecordMarkingEncoder(),
                        RPCClientHandler(timeouts: timeouts, readCounter: counter, logger: logger),
                    ])
                }
            }
            .connect(to: address)
            .map { RPCClient(channel: $0) }
    }

    public static func connect(
        to address: SocketAddress,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount = .seconds(3),
        maximumRecordSize: Int = 4 << 20,
        logger: Logger
    ) async throws -> RPCClient {
        try await Self.connect(
            to: address, group: group, connectTimeout: connectTimeout, maximumRecordSize: maximumRecordSize, logger: logger
        ).get()
    }

    public var isActive: Bool { self.channel.isActive }

    /// Sends one call; the future holds the results (a slice of the reply).
    public func call(
        program: UInt32,
        version: UInt32,
        procedure: UInt32,
        arguments: ByteBuffer = ByteBuffer(),
        credential: RPCOpaqueAuth = .none,
        timeout: TimeAmount
    ) -> EventLoopFuture<ByteBuffer> {
        let promise = self.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = RPCClientRequest(
            program: program, version: version, procedure: procedure,
            credential: credential, arguments: arguments, timeout: timeout, promise: promise
        )
        self.channel.writeAndFlush(request).whenFailure { error in
            promise.fail(error is ChannelError ? RPCClientError.connectionClosed : error)
        }
        return promise.futureResult
    }

    public func call(
        program: UInt32,
        version: UInt32,
        procedure: UInt32,
        arguments: ByteBuffer = ByteBuffer(),
        credential: RPCOpaqueAuth = .none,
        timeout: TimeAmount
    ) async throws -> ByteBuffer {
        try await self.call(
            program: program, version: version, procedure: procedure,
            arguments: arguments, credential: credential, timeout: timeout
        ).get()
    }

    public func close() {
        self.channel.close(promise: nil)
    }
}
