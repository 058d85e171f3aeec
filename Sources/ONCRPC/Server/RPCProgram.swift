import Logging
import NIOCore
import XDR

/// One RPC program (or a range of its versions) served by an `RPCServer`.
///
/// Implementations decode `call.arguments`, do the work and describe the
/// outcome; framing, authentication flavors, version negotiation and
/// unknown-program replies are the dispatcher's job.
public protocol RPCProgram: Sendable {
    var program: UInt32 { get }
    var versions: ClosedRange<UInt32> { get }
    /// Called on the connection's event loop. Must not block.
    func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse
    /// Called on the connection's event loop when a TCP connection of the
    /// server closes (`RPCCallContext.connectionID`), so a program that keeps
    /// state per connection can forget it. The default does nothing.
    func connectionClosed(_ connectionID: UInt64)
}

extension RPCProgram {
    public func connectionClosed(_ connectionID: UInt64) {}
}

/// A program's answer: now, or when the future completes.
public enum RPCResponse: Sendable {
    case done(RPCOutcome)
    case pending(EventLoopFuture<RPCOutcome>)
}

extension RPCResponse {
    /// Decodes the arguments, runs a procedure that answers at once and
    /// encodes its result; undecodable arguments are GARBAGE_ARGS. Bytes
    /// after the arguments are ignored, as most servers do.
    public static func answer<Arguments: XDRDecodable, Result: XDREncodable>(
        _ arguments: ByteBuffer,
        _ context: RPCCallContext,
        _ procedure: (Arguments) -> Result
    ) -> RPCResponse {
        self.answerWriting(arguments, context) { (decoded: Arguments, buffer: inout ByteBuffer) in
            procedure(decoded).encode(into: &buffer)
        }
    }

    /// The same for a procedure that writes its results itself (large
    /// results are cheaper encoded as they are produced).
    public static func answerWriting<Arguments: XDRDecodable>(
        _ arguments: ByteBuffer,
        _ context: RPCCallContext,
        _ procedure: (Arguments, inout ByteBuffer) -> Void
    ) -> RPCResponse {
        var arguments = arguments
        guard let decoded = try? Arguments(xdr: &arguments) else {
            return .done(.garbageArguments)
        }
        var buffer = context.makeResultBuffer()
        procedure(decoded, &buffer)
        return .done(.success(RPCResultBody(head: buffer)))
    }
}

/// What the program made of one call, mapped to an RPC reply by the server.
public enum RPCOutcome: Sendable {
    case success(RPCResultBody)
    case procedureUnavailable
    case garbageArguments
    case systemError
    case authError(RPCAuthStatus)
}

/// Encoded results of a successful call. See `RPCRecord` for `bulk`.
public struct RPCResultBody: @unchecked Sendable {
    public var head: ByteBuffer
    public var bulk: IOData?
    /// Kept alive until `bulk` is written (the descriptor of a file region).
    public var bulkOwner: (any AnyObject & Sendable)?

    public init(head: ByteBuffer, bulk: IOData? = nil, bulkOwner: (any AnyObject & Sendable)? = nil) {
        self.head = head
        self.bulk = bulk
        self.bulkOwner = bulkOwner
    }
}

/// The caller's credentials as far as RPC authentication is concerned.
public enum RPCCredentials: Sendable, Equatable {
    case none
    case sys(AuthSysParameters)
}

/// Which transport a call arrived on.
public enum RPCTransport: Sendable, Equatable {
    case tcp
    case udp
}

/// Everything about a call that is not in its arguments.
public struct RPCCallContext: Sendable {
    /// Room reserved in front of result buffers for the record mark and a
    /// successful reply header, so replies are framed without copying.
    public static let headroom = 4 + RPCReplyHeader.successHeaderLength

    public let eventLoop: any EventLoop
    public let allocator: ByteBufferAllocator
    public let transport: RPCTransport
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?
    public let credentials: RPCCredentials
    /// Identifies the connection (TCP) for per-connection state; 0 for UDP.
    public let connectionID: UInt64
    /// What the transport proved about the caller (TLS), nil on plaintext.
    public var peerIdentity: RPCPeerIdentity?
    public var logger: Logger

    public init(
        eventLoop: any EventLoop,
        allocator: ByteBufferAllocator,
        transport: RPCTransport,
        remoteAddress: SocketAddress?,
        localAddress: SocketAddress?,
        credentials: RPCCredentials,
        connectionID: UInt64,
        logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.allocator = allocator
        self.transport = transport
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.credentials = credentials
        self.connectionID = connectionID
        self.logger = logger
    }

    /// A buffer for results, with headroom for the reply header.
    public func makeResultBuffer(capacity: Int = 256) -> ByteBuffer {
        var buffer = self.allocator.buffer(capacity: capacity + Self.headroom)
        buffer.moveWriterIndex(forwardBy: Self.headroom)
        buffer.moveReaderIndex(forwardBy: Self.headroom)
        return buffer
    }
}
