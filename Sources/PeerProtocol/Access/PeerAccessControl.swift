import Namespace
import NIOConcurrencyHelpers
import ONCRPC

/// Who may use this node's peer listener.
///
/// Open (no key): everyone, as on a LAN that trusts itself. Closed (a
/// network key): only TCP connections that completed the handshake
/// (`PeerHandshake`); the state is kept per connection
/// (`RPCCallContext.connectionID`) and forgotten when the connection closes,
/// so authorization never outlives its connection. Shared by the peer
/// program and the control program on the same listener.
public final class PeerAccessControl: Sendable {
    public let key: NetworkKey?
    private let connections = NIOLockedValueBox<[UInt64: PeerHandshake.Responder]>([:])

    public init(key: NetworkKey?) {
        self.key = key
    }

    /// An open network: no handshake, everything answered.
    public static let open = PeerAccessControl(key: nil)

    public var isOpen: Bool { self.key == nil }

    /// True when calls on this connection may be answered in full.
    public func isAuthorized(_ context: RPCCallContext) -> Bool {
        guard self.key != nil else { return true }
        guard context.transport == .tcp else { return false }
        return self.connections.withLockedValue { $0[context.connectionID]?.isAuthorized ?? false }
    }

    /// HELLO with a challenge on a closed network.
    func hello(from caller: NodeInfo, challenge: [UInt8], me: NodeID, context: RPCCallContext) -> PeerHandshake.Responder.HelloAnswer {
        guard let key = self.key, context.transport == .tcp else { return .denied }
        return self.connections.withLockedValue { connections in
            var responder =
                connections[context.connectionID]
                ?? PeerHandshake.Responder(
                    key: key, me: me, channelBinding: context.peerIdentity.map(PeerHandshake.responderBinding) ?? []
                )
            let answer = responder.hello(from: caller, challenge: challenge)
            connections[context.connectionID] = responder
            return answer
        }
    }

    /// AUTHENTICATE on a closed network; the caller when it succeeded.
    func authenticate(proof: [UInt8], context: RPCCallContext) -> NodeInfo? {
        guard self.key != nil, context.transport == .tcp else { return nil }
        return self.connections.withLockedValue { connections in
            guard var responder = connections[context.connectionID] else { return nil }
            let caller = responder.authenticate(proof: proof)
            connections[context.connectionID] = responder
            return caller
        }
    }

    /// Forgets a closed connection's state.
    public func connectionClosed(_ connectionID: UInt64) {
        guard self.key != nil else { return }
        self.connections.withLockedValue { _ = $0.removeValue(forKey: connectionID) }
    }

    /// Connections with handshake state (for tests).
    public var trackedConnections: Int {
        self.connections.withLockedValue { $0.count }
    }
}
