/// Why an outgoing call produced no results.
public enum RPCClientError: Error, Equatable, Sendable {
    /// No reply arrived within the call's timeout.
    case timedOut
    /// The connection closed (or was never open) before the reply arrived.
    case connectionClosed
    /// The server refused the call (RPC version or authentication).
    case denied(RPCRejection)
    /// The server accepted the call but did not run it.
    case notAccepted(RPCAcceptStatus)
    /// The reply or its results could not be decoded.
    case malformedReply(String)
}
