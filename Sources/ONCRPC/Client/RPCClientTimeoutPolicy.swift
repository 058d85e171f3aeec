/// What a call's timeout measures on a client connection.
public enum RPCClientTimeoutPolicy: Equatable, Sendable {
    /// Each call fails when its timeout has passed since it was sent; the
    /// connection stays open (a late reply is ignored).
    case perCall
    /// A call's timeout measures silence: it fails once the connection has
    /// read nothing at all (not a byte of any reply) for that long, and then
    /// the connection is closed, because the peer is gone or has moved, and TCP
    /// would retransmit to it for many minutes. While replies to other calls
    /// keep arriving (a slow link with many calls queued), the call waits on,
    /// up to `patience` timeouts in all, so that every wait stays bounded.
    case silence(patience: Int)
}
