import Namespace
import NIOConcurrencyHelpers

/// Why one peer connection's certificate check failed, kept for the
/// handlers and the connection's owner that report it.
///
/// A refusal by a `--trust` list surfaces first where no channel is known
/// (the verification callback) and then again as a failed handshake or a
/// closed connection; it is recorded here and said once, with its reason,
/// where the failure is reported.
public final class PeerTLSRefusal: Sendable {
    public enum Cause: Sendable, Equatable {
        /// This node refused the peer's certificate: its node is not in
        /// this node's `--trust` list.
        case untrusted(NodeID)
        /// The peer refused this node's certificate after this side's TLS
        /// 1.3 handshake had completed (its `--trust` list lacks this node).
        case refusedThisNode
    }

    private let box = NIOLockedValueBox<Cause?>(nil)

    public init() {}

    /// The first cause recorded, if any.
    public var cause: Cause? { self.box.withLockedValue { $0 } }

    /// The peer this node refused, if that is what happened.
    public var untrustedPeer: NodeID? {
        if case .untrusted(let id) = self.cause { return id }
        return nil
    }

    func record(_ cause: Cause) {
        self.box.withLockedValue { if $0 == nil { $0 = cause } }
    }
}
