import NIOCore
import XDR

/// A decoded RPC call: the RFC 5531 `call_body` and the procedure's arguments.
///
/// `arguments` is a slice of the received record; procedures decode it lazily.
public struct RPCCall: Sendable {
    public static let rpcVersion: UInt32 = 2

    public var xid: UInt32
    public var program: UInt32
    public var version: UInt32
    public var procedure: UInt32
    public var credential: RPCOpaqueAuth
    public var verifier: RPCOpaqueAuth
    public var arguments: ByteBuffer

    public init(
        xid: UInt32,
        program: UInt32,
        version: UInt32,
        procedure: UInt32,
        credential: RPCOpaqueAuth = .none,
        verifier: RPCOpaqueAuth = .none,
        arguments: ByteBuffer = ByteBuffer()
    ) {
        self.xid = xid
        self.program = program
        self.version = version
        self.procedure = procedure
        self.credential = credential
        self.verifier = verifier
        self.arguments = arguments
    }
}

extension RPCCall {
    /// Writes the call header (everything before the arguments).
    @discardableResult
    public func encodeHeader(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.xid)
            + buffer.writeXDREnum(RPCMessageType.call)
            + buffer.writeXDRUInt32(Self.rpcVersion)
            + buffer.writeXDRUInt32(self.program)
            + buffer.writeXDRUInt32(self.version)
            + buffer.writeXDRUInt32(self.procedure)
            + self.credential.encode(into: &buffer)
            + self.verifier.encode(into: &buffer)
    }

    /// Writes the whole call: header then `arguments`.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.encodeHeader(into: &buffer) + buffer.writeImmutableBuffer(self.arguments)
    }
}

/// `msg_type`.
public enum RPCMessageType: UInt32, Sendable {
    case call = 0
    case reply = 1
}
