import NIOCore
import Namespace

/// Everything an NFSv4.1 server remembers between calls: clients, their
/// sessions and slot tables, leases, opens and byte-range locks.
///
/// A plain value, tested without sockets. The time is passed in to every
/// call that needs it (`now`), so lease expiry is tested without sleeping;
/// the program keeps one instance behind a lock.
///
/// Every table is bounded (`Limits`): a client that opens too much gets an
/// error, not the daemon's memory.
public struct NFS4State: Sendable {
    public struct Limits: Sendable {
        public var clients: Int
        public var sessionsPerClient: Int
        /// Slots per session (ca_maxrequests granted at most).
        public var slots: Int
        /// ca_maxoperations granted at most.
        public var operations: Int
        /// Reply bytes cached per slot at most (ca_maxresponsesize_cached).
        public var cachedReplyBytes: Int
        /// Open and lock stateids per client.
        public var stateIDsPerClient: Int
        /// Locked ranges per lock stateid.
        public var rangesPerLock: Int
        /// Open and lock stateids of all clients together.
        public var stateIDs: Int
        /// Bytes of cached replies of all sessions together: beyond it a
        /// reply is not cached (its retry gets RETRY_UNCACHED_REP), so the
        /// per-slot limit times every slot never adds up to gigabytes.
        public var cachedReplyTotal: Int

        public init(
            clients: Int = 1024, sessionsPerClient: Int = 8, slots: Int = 64, operations: Int = 32,
            cachedReplyBytes: Int = 64 * 1024, stateIDsPerClient: Int = 16 * 1024, rangesPerLock: Int = 1024,
            stateIDs: Int = 256 * 1024, cachedReplyTotal: Int = 32 << 20
        ) {
            self.clients = clients
            self.sessionsPerClient = sessionsPerClient
            self.slots = slots
            self.operations = operations
            self.cachedReplyBytes = cachedReplyBytes
            self.stateIDsPerClient = stateIDsPerClient
            self.rangesPerLock = rangesPerLock
            self.stateIDs = stateIDs
            self.cachedReplyTotal = cachedReplyTotal
        }
    }

    struct Client: Sendable {
        var id: UInt64
        var ownerID: [UInt8]
        var verifier: UInt64
        /// Who sent EXCHANGE_ID (AUTH_SYS uid and gid): another principal
        /// may not take over the record (RFC 8881 §18.35.5).
        var principal: String
        var isConfirmed: Bool
        var lastRenewal: NIODeadline
        /// The last CREATE_SESSION sequence seen and its result, replayed
        /// for a retransmission (RFC 8881 §18.36.4).
        var createSessionSequence: UInt32
        var createSessionReply: CREATE_SESSION4ResultOK?
        var reclaimComplete = false
        var sessions: Set<SessionID4> = []
        var stateIDs: Set<StateID4.Other> = []
    }

    struct Slot: Sendable {
        var sequenceID: UInt32 = 0
        var inProgress = false
        /// Identifies the request last executed in this slot, so a retry
        /// that is not the same request is told NFS4ERR_SEQ_FALSE_RETRY.
        var requestDigest: Int = 0
        var cacheThis = false
        var reply: ByteBuffer?
    }

    struct Session: Sendable {
        var id: SessionID4
        var clientID: UInt64
        var foreChannel: ChannelAttributes4
        var slots: [Slot]
    }

    public let limits: Limits
    public let lease: TimeAmount
    /// Distinguishes this daemon instance's client IDs, sessions and stateids.
    public let boot: UInt32
    let serverOwner: [UInt8]

    var clients: [UInt64: Client] = [:]
    var sessions: [SessionID4: Session] = [:]
    var states: [StateID4.Other: StateRecord] = [:]
    var statesByFile: [FileID: Set<StateID4.Other>] = [:]
    var nextClient: UInt32 = 0
    var nextSession: UInt32 = 0
    var nextState: UInt64 = 0
    var lastSweep: NIODeadline = .uptimeNanoseconds(0)
    /// Bytes of replies held by every slot (bounded by `cachedReplyTotal`).
    public private(set) var cachedReplyBytes = 0

    public init(boot: UInt32, serverOwner: [UInt8], lease: TimeAmount = .seconds(90), limits: Limits = Limits()) {
        self.boot = boot
        self.serverOwner = serverOwner
        self.lease = lease
        self.limits = limits
    }

    public var clientCount: Int { self.clients.count }
    public var sessionCount: Int { self.sessions.count }
    public var stateIDCount: Int { self.states.count }

    // MARK: Leases

    /// Forgets every client whose lease ran out, with its sessions, opens
    /// and locks (RFC 8881 §8.3): a crashed client's locks do not block
    /// others for longer than a lease. Runs at most once a second.
    public mutating func expireLeases(now: NIODeadline) {
        guard now - self.lastSweep >= .seconds(1) || now < self.lastSweep else { return }
        self.lastSweep = now
        let expired = self.clients.values.filter { $0.lastRenewal + self.lease < now }.map(\.id)
        for id in expired {
            self.removeClient(id)
        }
    }

    mutating func renew(_ clientID: UInt64, now: NIODeadline) {
        self.clients[clientID]?.lastRenewal = now
    }

    mutating func removeClient(_ id: UInt64) {
        guard let client = self.clients.removeValue(forKey: id) else { return }
        for session in client.sessions {
            self.forgetSession(session)
        }
        for other in client.stateIDs {
            self.removeState(other)
        }
    }

    // MARK: EXCHANGE_ID

    /// RFC 8881 §18.35.4, for AUTH_SYS clients without state protection.
    public mutating func exchangeID(
        _ args: EXCHANGE_ID4Args, principal: String = "", now: NIODeadline
    ) throws(NFS4Status) -> EXCHANGE_ID4ResultOK {
        guard args.flags & ~ExchangeIDFlags.clientFlags == 0 else { throw .invalid }
        guard args.stateProtection == 0 else { throw .notSupported }
        self.expireLeases(now: now)
        let confirmed = self.clients.values.first { $0.isConfirmed && $0.ownerID == args.ownerID }
        if args.flags & ExchangeIDFlags.updateConfirmedRecord != 0 {
            guard let confirmed else { throw .noEntry }
            guard confirmed.principal == principal else { throw .perm }
            guard confirmed.verifier == args.verifier else { throw .notSame }
            self.renew(confirmed.id, now: now)
            return self.exchangeIDResult(for: confirmed)
        }
        if let confirmed, confirmed.principal != principal {
            // Another principal with the same owner: a collision while the
            // record holds state, else the old record gives way at once.
            guard confirmed.stateIDs.isEmpty else { throw .clientIDInUse }
            self.removeClient(confirmed.id)
        } else if let confirmed, confirmed.verifier == args.verifier {
            self.renew(confirmed.id, now: now)
            return self.exchangeIDResult(for: confirmed)
        }
        // A new client, or a rebooted one (a new verifier): a new record,
        // unconfirmed until CREATE_SESSION. An older unconfirmed record of
        // the same owner is replaced; a confirmed one lives until then.
        if let unconfirmed = self.clients.values.first(where: { !$0.isConfirmed && $0.ownerID == args.ownerID }) {
            self.removeClient(unconfirmed.id)
        }
        guard self.clients.count < self.limits.clients else { throw .delay }
        self.nextClient &+= 1
        let id = UInt64(self.boot) << 32 | UInt64(self.nextClient)
        let client = Client(
            id: id, ownerID: args.ownerID, verifier: args.verifier, principal: principal, isConfirmed: false, lastRenewal: now,
            createSessionSequence: 0
        )
        self.clients[id] = client
        return self.exchangeIDResult(for: client)
    }

    private func exchangeIDResult(for client: Client) -> EXCHANGE_ID4ResultOK {
        EXCHANGE_ID4ResultOK(
            clientID: client.id, sequenceID: client.createSessionSequence &+ 1,
            flags: ExchangeIDFlags.useNonPNFS | (client.isConfirmed ? ExchangeIDFlags.confirmedRecord : 0),
            serverOwnerMinor: 0, serverOwnerMajor: self.serverOwner, serverScope: self.serverOwner
        )
    }

    // MARK: CREATE_SESSION

    /// RFC 8881 §18.36.4: creates a session (confirming the client), or
    /// replays the previous result for a retransmitted sequence.
    public mutating func createSession(
        _ args: CREATE_SESSION4Args, principal: String = "", now: NIODeadline
    ) throws(NFS4Status) -> CREATE_SESSION4ResultOK {
        self.expireLeases(now: now)
        guard var client = self.clients[args.clientID] else { throw .staleClientID }
        // Only the principal that created the record may confirm it; once
        // confirmed, any principal may add sessions (RFC 8881 §18.36.4).
        guard client.isConfirmed || client.principal == principal else { throw .clientIDInUse }
        if args.sequence == client.createSessionSequence, let reply = client.createSessionReply {
            return reply
        }
        guard args.sequence == client.createSessionSequence &+ 1 else { throw .sequenceMisordered }
        guard client.sessions.count < self.limits.sessionsPerClient else { throw .noSpace }
        guard args.flags & ~(CreateSessionFlags.persist | CreateSessionFlags.connectionBackChannel | CreateSessionFlags.connectionRDMA) == 0
        else { throw .invalid }
        let client_ = args.foreChannel
        guard client_.maximumRequests > 0, client_.maximumOperations > 0 else { throw .invalid }
        // Room for at least a SEQUENCE and its reply (RFC 8881 §18.36.3).
        for channel in [client_, args.backChannel] {
            guard channel.maximumRequestSize >= Self.minimumRequestSize, channel.maximumResponseSize >= Self.minimumResponseSize else {
                throw .tooSmall
            }
        }
        let fore = ChannelAttributes4(
            maximumRequestSize: min(client_.maximumRequestSize, Self.maximumRequestSize),
            maximumResponseSize: min(client_.maximumResponseSize, Self.maximumResponseSize),
            maximumResponseSizeCached: min(client_.maximumResponseSizeCached, UInt32(self.limits.cachedReplyBytes)),
            maximumOperations: min(client_.maximumOperations, UInt32(self.limits.operations)),
            maximumRequests: min(client_.maximumRequests, UInt32(self.limits.slots))
        )
        // The back channel is never used (no callbacks: no delegations), and
        // the Linux client refuses a session whose back channel attributes
        // differ from what it asked: echo them.
        let back = args.backChannel
        self.nextSession &+= 1
        let id = SessionID4(clientID: client.id, boot: self.boot, counter: self.nextSession)
        self.sessions[id] = Session(
            id: id, clientID: client.id, foreChannel: fore, slots: Array(repeating: Slot(), count: Int(fore.maximumRequests))
        )
        if !client.isConfirmed {
            // The client rebooted: the previous incarnation's state goes now.
            for old in self.clients.values where old.isConfirmed && old.ownerID == client.ownerID {
                self.removeClient(old.id)
            }
            client.isConfirmed = true
        }
        let reply = CREATE_SESSION4ResultOK(sessionID: id, sequence: args.sequence, flags: 0, foreChannel: fore, backChannel: back)
        client.createSessionSequence = args.sequence
        client.createSessionReply = reply
        client.sessions.insert(id)
        client.lastRenewal = now
        self.clients[client.id] = client
        return reply
    }

    /// Largest request: a READDIR or LOCK is small, but a client may
    /// negotiate for WRITEs it will never get to send (all refused).
    static let maximumRequestSize: UInt32 = 1 << 20 + 64 * 1024
    /// The smallest sizes a session is useful with: an RPC header, a
    /// COMPOUND header and a SEQUENCE (what the Linux server insists on).
    static let minimumRequestSize: UInt32 = 320
    static let minimumResponseSize: UInt32 = 304
    static let maximumResponseSize: UInt32 = 1 << 20 + 64 * 1024

    // MARK: SEQUENCE

    /// What SEQUENCE decided.
    public enum SequenceOutcome: Sendable {
        /// A new request: execute the rest of the COMPOUND, then `complete`.
        case execute(SEQUENCE4ResultOK)
        /// A retransmission: answer with this cached COMPOUND4res.
        case replay(ByteBuffer)
    }

    /// RFC 8881 §2.10.6.1: the slot table's exactly-once semantics.
    /// `requestDigest` identifies the whole request, to tell a retry from
    /// a different request reusing the sequence ID.
    public mutating func sequence(
        _ args: SEQUENCE4Args, operationCount: Int, requestDigest: Int, requestSize: Int = 0, now: NIODeadline
    ) throws(NFS4Status) -> SequenceOutcome {
        self.expireLeases(now: now)
        // The session is read and updated in place through its index: a
        // copy of it would make the slot write below copy the whole table.
        guard let position = self.sessions.index(forKey: args.sessionID) else { throw .badSession }
        let foreChannel = self.sessions.values[position].foreChannel
        let clientID = self.sessions.values[position].clientID
        let slotCount = self.sessions.values[position].slots.count
        guard requestSize <= foreChannel.maximumRequestSize else { throw .requestTooBig }
        guard args.slotID < slotCount else { throw .badSlot }
        let index = Int(args.slotID)
        let slot = self.sessions.values[position].slots[index]
        if args.sequenceID == slot.sequenceID {
            guard !slot.inProgress else { throw .delay }
            guard slot.requestDigest == requestDigest else { throw .sequenceFalseRetry }
            guard let reply = slot.reply else { throw .retryUncachedReply }
            self.renew(clientID, now: now)
            return .replay(reply)
        }
        guard args.sequenceID == slot.sequenceID &+ 1 else { throw .sequenceMisordered }
        guard operationCount <= foreChannel.maximumOperations else { throw .tooManyOperations }
        // Not even this SEQUENCE's own reply would fit the cache.
        if args.cacheThis && foreChannel.maximumResponseSizeCached < Self.minimumResponseSize { throw .replyTooBigToCache }
        self.cachedReplyBytes -= slot.reply?.readableBytes ?? 0
        self.sessions.values[position].slots[index] = Slot(
            sequenceID: args.sequenceID, inProgress: true, requestDigest: requestDigest, cacheThis: args.cacheThis, reply: nil
        )
        self.renew(clientID, now: now)
        let highest = UInt32(slotCount - 1)
        return .execute(
            SEQUENCE4ResultOK(
                sessionID: args.sessionID, sequenceID: args.sequenceID, slotID: args.slotID, highestSlotID: highest,
                targetHighestSlotID: highest, statusFlags: 0
            )
        )
    }

    /// Ends the request in a slot, keeping its reply when the client asked
    /// for it to be cached and it fits the negotiated size.
    public mutating func complete(session sessionID: SessionID4, slot slotID: UInt32, reply: ByteBuffer) {
        guard let position = self.sessions.index(forKey: sessionID), slotID < self.sessions.values[position].slots.count else { return }
        let index = Int(slotID)
        let cachedLimit = self.sessions.values[position].foreChannel.maximumResponseSizeCached
        self.sessions.values[position].slots[index].inProgress = false
        if self.sessions.values[position].slots[index].cacheThis && reply.readableBytes <= cachedLimit
            && self.cachedReplyBytes + reply.readableBytes <= self.limits.cachedReplyTotal
        {
            self.sessions.values[position].slots[index].reply = reply
            self.cachedReplyBytes += reply.readableBytes
        }
    }

    /// The client a session belongs to (for operations after SEQUENCE).
    public func clientID(of session: SessionID4) -> UInt64? {
        self.sessions[session]?.clientID
    }

    /// The session's negotiated fore channel (for reply size limits).
    public func foreChannel(of session: SessionID4) -> ChannelAttributes4? {
        self.sessions[session]?.foreChannel
    }

    // MARK: Other session operations

    public mutating func destroySession(_ id: SessionID4) throws(NFS4Status) {
        guard let session = self.forgetSession(id) else { throw .badSession }
        self.clients[session.clientID]?.sessions.remove(id)
    }

    /// Removes a session and the replies its slots cached.
    @discardableResult
    mutating func forgetSession(_ id: SessionID4) -> Session? {
        guard let session = self.sessions.removeValue(forKey: id) else { return nil }
        for slot in session.slots {
            self.cachedReplyBytes -= slot.reply?.readableBytes ?? 0
        }
        return session
    }

    /// BIND_CONN_TO_SESSION: p2pfs has no back channel, so binding only
    /// checks the session and renews the lease.
    public mutating func bindConnection(to id: SessionID4, now: NIODeadline) throws(NFS4Status) {
        guard let session = self.sessions[id] else { throw .badSession }
        self.renew(session.clientID, now: now)
    }

    public mutating func destroyClientID(_ id: UInt64) throws(NFS4Status) {
        guard let client = self.clients[id] else { throw .staleClientID }
        guard client.sessions.isEmpty else { throw .clientIDBusy }
        self.removeClient(id)
    }

    /// RECLAIM_COMPLETE: with `oneFileSystem` it speaks of one file system
    /// only and changes nothing here (there is no grace period to end).
    public mutating func reclaimComplete(clientID: UInt64, oneFileSystem: Bool = false) throws(NFS4Status) {
        guard self.clients[clientID] != nil else { throw .staleClientID }
        if oneFileSystem { return }
        guard !self.clients[clientID]!.reclaimComplete else { throw .completeAlready }
        self.clients[clientID]!.reclaimComplete = true
    }
}
