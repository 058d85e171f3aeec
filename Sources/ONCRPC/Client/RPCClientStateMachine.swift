/// Bookkeeping of one client connection's outstanding calls, matched by xid.
///
/// Generic over what the caller keeps per call (a promise, in the channel
/// handler), so the rules are tested without a channel: every call ends
/// exactly once, by its reply, its timeout or the connection closing, and a
/// late or unknown reply is ignored.
public struct RPCClientStateMachine<Pending> {
    public enum StartAction {
        case send(xid: UInt32)
        case fail(RPCClientError)
    }

    private var pending: [UInt32: Pending] = [:]
    private var nextXID: UInt32
    private var isClosed = false

    public init(firstXID: UInt32 = UInt32.random(in: 1...UInt32.max / 2)) {
        self.nextXID = firstXID
    }

    public var callsInProgress: Int { self.pending.count }

    public mutating func startCall(_ value: Pending) -> StartAction {
        guard !self.isClosed else { return .fail(.connectionClosed) }
        var xid = self.nextXID
        while self.pending[xid] != nil {
            xid &+= 1
        }
        self.nextXID = xid &+ 1
        self.pending[xid] = value
        return .send(xid: xid)
    }

    /// The call a reply belongs to, or nil for a reply nobody waits for.
    public mutating func replyReceived(xid: UInt32) -> Pending? {
        self.pending.removeValue(forKey: xid)
    }

    /// Changes what is kept for a call still in progress.
    public mutating func modify(xid: UInt32, _ body: (inout Pending) -> Void) {
        if var value = self.pending[xid] {
            body(&value)
            self.pending[xid] = value
        }
    }

    public mutating func timedOut(xid: UInt32) -> Pending? {
        self.pending.removeValue(forKey: xid)
    }

    /// Every call still waiting; later `startCall`s fail.
    public mutating func connectionClosed() -> [Pending] {
        self.isClosed = true
        let all = Array(self.pending.values)
        self.pending.removeAll()
        return all
    }
}
