import ONCRPC
import XDR

/// Why a call to a peer failed.
public enum PeerClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer answered with a failure status.
    case status(PeerStatus)
    /// The peer's reply did not decode.
    case malformedReply(XDRError)
    /// The RPC itself failed: no connection, timeout, refusal.
    case rpc(RPCClientError)
    /// None of the node's addresses accepted a connection.
    case unreachable(String)
    /// The node at an address is not the node that was expected there.
    case unexpectedNode(expected: String, found: String)

    public var description: String {
        switch self {
        case .status(let status): "peer answered \(status)"
        case .malformedReply(let error): "malformed peer reply: \(error)"
        case .rpc(let error): "peer call failed: \(error)"
        case .unreachable(let why): "peer unreachable: \(why)"
        case .unexpectedNode(let expected, let found): "expected node \(expected) but \(found) answered"
        }
    }
}
