/// Bookkeeping of one client connection's outstanding calls, matched by xid.
///
/// Generic over what the caller keeps per call (a promise, in the channel
/// handler), so the rules are tested without a channel: every call ends
/// exactly once, by its reply, its timeout or the connection closing, and a
/// late or unknown reply is ignored (though it shows the peer is alive, as
/// do bytes of a reply still arriving: `progressed`).
public struct RPCClientStateMachine<Pending> {
    public enum StartAction {
        case send(xid: UInt32)
        case fail(RPCClientError)
    }

    /// What a call's timer firing comes to (see `RPCClientTimeoutPolicy`).
    public enum TimerAction {
        /// The call fails with `timedOut`; with `connectionIsSilent`, there
        /// was no sign of the peer in the last period, and the connection
        /// should go.
        case fail(Pending, connectionIsSilent: Bool)
        /// Replies are still arriving: wait one more period.
        case waitAgain
        /// The call had already ended.
        case none
    }

    private struct Entry {
        var value: Pending
        /// `progress` when the call was sent, or its timer last re-armed.
        var progressBefore: UInt64
        /// Periods waited so far.
        var periods = 1
    }

    private var pending: [UInt32: Entry] = [:]
    private var nextXID: UInt32
    private var isClosed = false
    /// Signs of the peer's life: every reply read, matched or not, and
    /// every time bytes were read since the last (`progressed`).
    private var progress: UInt64 = 0

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
        self.pending[xid] = Entry(value: value, progressBefore: self.progress)
        return .send(xid: xid)
    }

    /// The call a reply belongs to, or nil for a reply nobody waits for.
    public mutating func replyReceived(xid: UInt32) -> Pending? {
        self.progress &+= 1
        return self.pending.removeValue(forKey: xid)?.value
    }

    /// Changes what is kept for a call still in progress.
    public mutating func modify(xid: UInt32, _ body: (inout Pending) -> Void) {
        if var entry = self.pending[xid] {
            body(&entry.value)
            self.pending[xid] = entry
        }
    }

    /// Bytes arrived (part of a reply, perhaps): the peer is there.
    public mutating func progressed() {
        self.progress &+= 1
    }

    /// The call's timeout has passed: it fails (the `perCall` rule).
    public mutating func timedOut(xid: UInt32) -> Pending? {
        self.pending.removeValue(forKey: xid)?.value
    }

    /// A timeout period of call `xid` has passed, under the `silence` rule:
    /// the call fails if the period saw no reply and no `progressed` (the
    /// connection is silent), or after `patience` periods; otherwise it
    /// waits again.
    public mutating func timerFired(xid: UInt32, patience: Int) -> TimerAction {
        guard var entry = self.pending[xid] else { return .none }
        let silent = entry.progressBefore == self.progress
        guard silent || entry.periods >= patience else {
            entry.periods += 1
            entry.progressBefore = self.progress
            self.pending[xid] = entry
            return .waitAgain
        }
        self.pending.removeValue(forKey: xid)
        return .fail(entry.value, connectionIsSilent: silent)
    }

    /// Every call still waiting; later `startCall`s fail.
    public mutating func connectionClosed() -> [Pending] {
        self.isClosed = true
        let all = self.pending.values.map(\.value)
        self.pending.removeAll()
        return all
    }
}
