import NIOCore
import XDR

/// One RPC record, decoded far enough to route it.
public enum RPCMessage: Sendable {
    case call(RPCCall)
    /// A reply header and the results that follow it (a slice of the record).
    case reply(RPCReplyHeader, results: ByteBuffer)
}

/// Why a record could not be decoded as an RPC message.
///
/// Carries the xid whenever it was readable, because a server must answer a
/// malformed call it can identify (RFC 5531 §9) rather than drop it.
public enum RPCMessageDecodingError: Error, Equatable, Sendable {
    /// Not even an xid and message type: nothing to answer.
    case unreadable(XDRError)
    /// The message type was neither CALL nor REPLY.
    case invalidMessageType(xid: UInt32, value: UInt32)
    /// A call for an RPC protocol version other than 2.
    case rpcVersionMismatch(xid: UInt32, version: UInt32)
    /// A call whose header (program, credential, verifier) was malformed.
    case malformedCallHeader(xid: UInt32, XDRError)
    /// A reply whose header was malformed.
    case malformedReplyHeader(xid: UInt32, XDRError)
}

extension RPCMessage {
    /// Decodes one record. `record` is consumed; arguments/results are slices.
    public init(record: inout ByteBuffer) throws(RPCMessageDecodingError) {
        let xid: UInt32
        let type: UInt32
        do {
            xid = try record.readXDRUInt32()
            type = try record.readXDRUInt32()
        } catch {
            throw .unreadable(error)
        }
        switch type {
        case RPCMessageType.call.rawValue:
            let rpcVersion: UInt32
            do {
                rpcVersion = try record.readXDRUInt32()
            } catch {
                throw .malformedCallHeader(xid: xid, error)
            }
            guard rpcVersion == RPCCall.rpcVersion else {
                throw .rpcVersionMismatch(xid: xid, version: rpcVersion)
            }
            do {
                let program = try record.readXDRUInt32()
                let version = try record.readXDRUInt32()
                let procedure = try record.readXDRUInt32()
                let credential = try RPCOpaqueAuth(xdr: &record)
                let verifier = try RPCOpaqueAuth(xdr: &record)
                self = .call(
                    RPCCall(
                        xid: xid, program: program, version: version, procedure: procedure,
                        credential: credential, verifier: verifier,
                        arguments: record.readSlice(length: record.readableBytes)!
                    )
                )
            } catch {
                throw .malformedCallHeader(xid: xid, error)
            }
        case RPCMessageType.reply.rawValue:
            do {
                let header = try RPCReplyHeader(xid: xid, afterMessageType: &record)
                self = .reply(header, results: record.readSlice(length: record.readableBytes)!)
            } catch {
                throw .malformedReplyHeader(xid: xid, error)
            }
        default:
            throw .invalidMessageType(xid: xid, value: type)
        }
    }
}
