import Namespace
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
    /// The node refused a caller without the network key (PEER_DENIED): it
    /// belongs to a closed network this node has no key for.
    case keyRequired(PeerAddress)
    /// The node could not prove this network's key, or refused this node's
    /// proof: not part of the closed network, neither crawled nor read from.
    case untrusted(PeerAddress, reason: String)
    /// The node's catalog holds more entries than any node may offer
    /// (`PeerLimits.maximumCatalogEntries`); it is not taken.
    case catalogTooLarge(PeerAddress, limit: Int)
    /// No TLS session with the node: it speaks plaintext (protocol version
    /// 1), or the handshake failed.
    case tls(PeerAddress, reason: String)
    /// The certificate presented at an address is not that of the node
    /// announced there, or HELLO claims another id than the certificate's.
    case impersonation(PeerAddress, expected: String, found: String)
    /// The node refused the certificate this node presented, as a node with
    /// a `--trust` list does to a node not on it.
    case notTrusted(PeerAddress, presented: NodeID)

    public var description: String {
        switch self {
        case .status(let status): "peer answered \(status)"
        case .malformedReply(let error): "malformed peer reply: \(error)"
        case .rpc(let error): "peer call failed: \(error)"
        case .unreachable(let why): "peer unreachable: \(why)"
        case .unexpectedNode(let expected, let found): "expected node \(expected) but \(found) answered"
        case .keyRequired(let address): "node at \(address) requires a network key (--network-key-file)"
        case .untrusted(let address, let reason): "node at \(address) is not part of this closed network: \(reason)"
        case .catalogTooLarge(let address, let limit): "node at \(address) offers more than \(limit) entries; its catalog is not taken"
        case .tls(let address, let reason): "no TLS session with the node at \(address): \(reason)"
        case .impersonation(let address, let expected, let found):
            "node at \(address) refused: expected node \(expected), but its certificate is that of node \(found)"
        case .notTrusted(let address, let presented):
            "node at \(address) refused this node's certificate: node \(presented) is not in its --trust list"
        }
    }
}

extension PeerClientError {
    /// The node that failed for what it is rather than for the state of the
    /// network: one of another network (the key), or one offering more than
    /// a client takes. Retrying will not help, so it is worth saying once.
    public var refusedNodeAddress: PeerAddress? {
        switch self {
        case .keyRequired(let address), .untrusted(let address, _), .catalogTooLarge(let address, _), .tls(let address, _),
            .impersonation(let address, _, _), .notTrusted(let address, _):
            address
        default: nil
        }
    }

    /// A refusal for want of the right network key (not a network failure).
    public var isAboutTheNetworkKey: Bool {
        switch self {
        case .keyRequired, .untrusted, .status(.denied): true
        default: false
        }
    }
}

extension PeerClientError: TransientError {
    /// No answer (a timeout, a dropped connection, no address reachable, a
    /// failed handshake) or the owner's I/O error may pass; an answer about
    /// the file (changed, gone, invalid) or a refusal of this node will not.
    public var isTransient: Bool {
        switch self {
        case .status(let status): status == .io
        case .rpc(.timedOut), .rpc(.connectionClosed): true
        case .rpc(.denied), .rpc(.notAccepted), .rpc(.malformedReply): false
        case .unreachable, .unexpectedNode, .tls: true
        case .malformedReply, .keyRequired, .untrusted, .catalogTooLarge, .impersonation, .notTrusted: false
        }
    }
}
