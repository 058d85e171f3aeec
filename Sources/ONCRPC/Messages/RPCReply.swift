import NIOCore
import XDR

/// `accept_stat` together with the data the non-success arms carry.
public enum RPCAcceptStatus: Sendable, Equatable {
    case success
    case programUnavailable
    case programMismatch(low: UInt32, high: UInt32)
    case procedureUnavailable
    case garbageArguments
    case systemError

    var rawValue: UInt32 {
        switch self {
        case .success: 0
        case .programUnavailable: 1
        case .programMismatch: 2
        case .procedureUnavailable: 3
        case .garbageArguments: 4
        case .systemError: 5
        }
    }
}

/// `rejected_reply`: the call was not even attempted.
public enum RPCRejection: Sendable, Equatable, Error {
    case rpcMismatch(low: UInt32, high: UInt32)
    case authError(RPCAuthStatus)
}

/// A decoded or to-be-encoded RPC reply header; results follow it on the wire.
public struct RPCReplyHeader: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case accepted(verifier: RPCOpaqueAuth, status: RPCAcceptStatus)
        case denied(RPCRejection)
    }

    public var xid: UInt32
    public var status: Status

    public init(xid: UInt32, status: Status) {
        self.xid = xid
        self.status = status
    }

    public static func success(xid: UInt32) -> RPCReplyHeader {
        RPCReplyHeader(xid: xid, status: .accepted(verifier: .none, status: .success))
    }

    /// The encoded size of a successful reply header with an AUTH_NONE verifier.
    public static let successHeaderLength = 24
}

extension RPCReplyHeader: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeXDRUInt32(self.xid) + buffer.writeXDREnum(RPCMessageType.reply)
        switch self.status {
        case .accepted(let verifier, let status):
            written += buffer.writeXDRUInt32(0)  // MSG_ACCEPTED
            written += verifier.encode(into: &buffer)
            written += buffer.writeXDRUInt32(status.rawValue)
            if case .programMismatch(let low, let high) = status {
                written += buffer.writeXDRUInt32(low) + buffer.writeXDRUInt32(high)
            }
        case .denied(let rejection):
            written += buffer.writeXDRUInt32(1)  // MSG_DENIED
            switch rejection {
            case .rpcMismatch(let low, let high):
                written += buffer.writeXDRUInt32(0) + buffer.writeXDRUInt32(low) + buffer.writeXDRUInt32(high)
            case .authError(let status):
                written += buffer.writeXDRUInt32(1) + buffer.writeXDREnum(status)
            }
        }
        return written
    }
}

extension RPCReplyHeader {
    /// Decodes a reply header whose `xid` and message type were already read.
    public init(xid: UInt32, afterMessageType buffer: inout ByteBuffer) throws(XDRError) {
        self.xid = xid
        switch try buffer.readXDRUInt32() {
        case 0:
            let verifier = try RPCOpaqueAuth(xdr: &buffer)
            let status: RPCAcceptStatus
            switch try buffer.readXDRUInt32() {
            case 0: status = .success
            case 1: status = .programUnavailable
            case 2: status = .programMismatch(low: try buffer.readXDRUInt32(), high: try buffer.readXDRUInt32())
            case 3: status = .procedureUnavailable
            case 4: status = .garbageArguments
            case 5: status = .systemError
            case let other: throw XDRError.invalidDiscriminant(type: "accept_stat", value: other)
            }
            self.status = .accepted(verifier: verifier, status: status)
        case 1:
            switch try buffer.readXDRUInt32() {
            case 0:
                self.status = .denied(.rpcMismatch(low: try buffer.readXDRUInt32(), high: try buffer.readXDRUInt32()))
            case 1:
                self.status = .denied(.authError(try buffer.readXDREnum(RPCAuthStatus.self)))
            case let other:
                throw XDRError.invalidDiscriminant(type: "reject_stat", value: other)
            }
        case let other:
            throw XDRError.invalidDiscriminant(type: "reply_stat", value: other)
        }
    }
}
