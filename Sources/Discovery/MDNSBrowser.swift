/// Browses for `_p2pfs._tcp.local` instances on one interface (RFC 6762
/// §5, §10; RFC 6763 §4), as a plain value driven by received messages
/// and timer ticks with an injected time.
///
/// Queries go out at start, then 1 s, 2 s, 4 s… apart up to an hour
/// (§5.2), never more than one a second on this interface, whatever
/// arrives. Answers are cached with their TTL (capped); an instance is
/// reported once it is complete and removed one second after a goodbye
/// (§10.1) or when its records expire.
///
/// The cache is bounded: beyond `Limits.instances` a new instance evicts
/// the oldest one not pinned. Callers pin instances whose node answered
/// a HELLO, so a flood of fake announcements never pushes out real nodes.
public struct MDNSBrowser: Sendable {
    public enum Output: Equatable, Sendable {
        case multicast(DNSMessage)
        case added(DiscoveredInstance)
        case updated(DiscoveredInstance)
        case removed(DNSName)
    }

    public struct Limits: Sendable {
        /// Instances cached at once, pinned ones included.
        public var instances: Int = 256
        /// Addresses kept per host name.
        public var addressesPerHost: Int = 8
        /// TTLs above this are cut to it, so junk cannot stay for days.
        public var maximumTTL: UInt32 = ServiceAdvertisement.otherRecordTTL
        /// Questions in one query; more wait for the next one.
        public var questionsPerQuery: Int = 16
        /// Bytes of one query at most (RFC 6762 §17: what
        /// `MDNSChannelHandler` sends); known answers beyond it are left out.
        public var messageSize: Int = 9000
        public init() {}
    }

    public static let firstQueryInterval = Duration.seconds(1)
    public static let maximumQueryInterval = Duration.seconds(3600)
    /// The rate limit: at most one query a second on the interface.
    public static let minimumQueryGap = Duration.seconds(1)
    /// §10.1: a goodbye leaves the record one more second.
    public static let goodbyeDelay = Duration.seconds(1)

    private struct Expiring<Value: Sendable>: Sendable {
        var value: Value
        var received: Duration
        var expires: Duration
        /// §5.2: ask again at 80 % of the lifetime; set once asked.
        var refreshAsked = false
        var refreshAt: Duration { received + (expires - received) * 0.8 }
    }

    private struct Entry: Sendable {
        var ptr: Expiring<Void>
        var srv: Expiring<(port: UInt16, target: DNSName)>?
        var txt: Expiring<(nodeID: String, version: UInt32, roles: [String])>?
        var reported: DiscoveredInstance?
        /// Whether its missing records were asked for since it was seen.
        var askedForMissing = false
    }

    public let limits: Limits
    private var instances: [DNSName: Entry] = [:]
    /// Instance names oldest first, for eviction.
    private var arrivalOrder: [DNSName] = []
    private var hosts: [DNSName: [[UInt8]: Expiring<Void>]] = [:]
    /// Instances by the host their SRV names: an address record finds the
    /// instances it completes without a scan of the cache (a packet of
    /// addresses against a full cache would otherwise cost records times
    /// instances).
    private var instancesByHost: [DNSName: Set<DNSName>] = [:]
    private var pinned: Set<DNSName> = []
    private var started = false
    private var nextScheduledQuery: Duration?
    private var queryInterval = MDNSBrowser.firstQueryInterval
    private var lastQuery: Duration?
    /// Queries sent so far; what a test checks the rate limit against.
    public private(set) var queriesSent = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The instances currently reported.
    public var instancesFound: [DiscoveredInstance] {
        instances.values.compactMap(\.reported).sorted { $0.name.description < $1.name.description }
    }

    /// Names held in the cache, complete or not: bounded by `limits.instances`.
    public var cachedInstanceCount: Int { instances.count }

    /// Keeps `name` from being evicted for capacity (its node proved itself
    /// with a HELLO). It still leaves on goodbye or expiry.
    public mutating func pin(_ name: DNSName) { if instances[name] != nil { pinned.insert(name) } }
    public mutating func unpin(_ name: DNSName) { pinned.remove(name) }

    /// The first query goes out at once.
    public mutating func start(now: Duration) -> [Output] {
        guard !started else { return [] }
        started = true
        nextScheduledQuery = now
        return tick(now: now)
    }

    /// When `tick` next has something to do: an expiry, or a query that
    /// is due (pushed back to what the rate limit allows).
    public var nextDeadline: Duration? {
        guard started else { return nil }
        var expiries: [Duration] = []
        var queries: [Duration] = []
        if let next = nextScheduledQuery { queries.append(next) }
        for entry in instances.values {
            expiries.append(entry.ptr.expires)
            if let srv = entry.srv { expiries.append(srv.expires) }
            if let txt = entry.txt { expiries.append(txt.expires) }
            if entry.reported != nil, let srv = entry.srv, !srv.refreshAsked { queries.append(srv.refreshAt) }
            if entry.reported == nil, !entry.askedForMissing { queries.append(entry.ptr.received) }
        }
        for addresses in hosts.values {
            for address in addresses.values { expiries.append(address.expires) }
        }
        if var query = queries.min() {
            if let last = lastQuery { query = max(query, last + Self.minimumQueryGap) }
            expiries.append(query)
        }
        return expiries.min()
    }

    /// Expires what is due and sends the query that is due, if the rate
    /// limit allows.
    public mutating func tick(now: Duration) -> [Output] {
        guard started else { return [] }
        var outputs = expire(now: now)
        if let query = dueQuery(now: now) { outputs.append(.multicast(query)) }
        return outputs
    }

    /// Takes in one received message; only responses carry answers (§6).
    public mutating func receive(_ message: DNSMessage, now: Duration) -> [Output] {
        guard started, message.isResponse, message.opcode == 0, message.rcode == 0 else { return [] }
        let records = message.answers + message.additionals
        var touched: Set<DNSName> = []
        var flushedHosts: Set<DNSName> = []
        var evicted: [Output] = []
        for record in records {
            switch record.data {
            case .ptr(let instance) where record.name == ServiceAdvertisement.serviceType:
                guard instance.labels.count == record.name.labels.count + 1, instance.hasSuffix(record.name) else { continue }
                if takePTR(instance, ttl: record.ttl, now: now, evicted: &evicted) { touched.insert(instance) }
            case .srv(_, _, let port, let target):
                guard var entry = instances[record.name] else { continue }
                if let old = entry.srv?.value.target { unindex(record.name, host: old) }
                entry.srv = expiring((port, target), ttl: record.ttl, now: now)
                instancesByHost[target, default: []].insert(record.name)
                instances[record.name] = entry
                touched.insert(record.name)
            case .txt(let strings):
                guard var entry = instances[record.name] else { continue }
                // Malformed TXT leaves the instance incomplete: never reported.
                entry.txt = DiscoveredInstance.parseTXT(strings).map { expiring($0, ttl: record.ttl, now: now) }
                instances[record.name] = entry
                touched.insert(record.name)
            case .a(let address), .aaaa(let address):
                guard let owners = instancesByHost[record.name], !owners.isEmpty else { continue }  // addresses only for hosts we need
                var addresses = hosts[record.name] ?? [:]
                if record.cacheFlush, record.ttl > 0, flushedHosts.insert(record.name).inserted {
                    // §10.2: a cache-flush record replaces what came before.
                    addresses = addresses.filter { $0.value.received == now }
                }
                if addresses[address] != nil || addresses.count < limits.addressesPerHost {
                    addresses[address] = expiring((), ttl: record.ttl, now: now)
                }
                hosts[record.name] = addresses
                touched.formUnion(owners)
            default:
                continue
            }
        }
        return evicted + touched.sorted { $0.description < $1.description }.flatMap { report($0) }
    }

    // MARK: Cache

    private func expiring<Value>(_ value: Value, ttl: UInt32, now: Duration) -> Expiring<Value> {
        let lifetime = ttl == 0 ? Self.goodbyeDelay : .seconds(Int64(min(ttl, limits.maximumTTL)))
        return Expiring(value: value, received: now, expires: now + lifetime)
    }

    /// Caches a PTR, making room if needed; false when there is none
    /// (every slot pinned) or when it is a goodbye for an unknown instance.
    /// An evicted instance that was reported is reported removed, so those
    /// told about it can forget it too.
    private mutating func takePTR(_ instance: DNSName, ttl: UInt32, now: Duration, evicted: inout [Output]) -> Bool {
        if var entry = instances[instance] {
            entry.ptr = expiring((), ttl: ttl, now: now)
            instances[instance] = entry
            return true
        }
        guard ttl > 0 else { return false }
        if instances.count >= limits.instances {
            // Evict the oldest unpinned instance, incomplete ones first.
            let unpinned = arrivalOrder.filter { !pinned.contains($0) }
            guard let victim = unpinned.first(where: { instances[$0]?.reported == nil }) ?? unpinned.first else { return false }
            if instances[victim]?.reported != nil { evicted.append(.removed(victim)) }
            remove(victim)
        }
        instances[instance] = Entry(ptr: expiring((), ttl: ttl, now: now))
        arrivalOrder.append(instance)
        return true
    }

    private mutating func remove(_ instance: DNSName) {
        guard let entry = instances.removeValue(forKey: instance) else { return }
        arrivalOrder.removeAll { $0 == instance }
        pinned.remove(instance)
        if let target = entry.srv?.value.target, unindex(instance, host: target) {
            hosts.removeValue(forKey: target)
        }
    }

    /// Forgets that `instance` names `host`; true when no instance does now.
    @discardableResult
    private mutating func unindex(_ instance: DNSName, host: DNSName) -> Bool {
        instancesByHost[host]?.remove(instance)
        guard instancesByHost[host]?.isEmpty ?? true else { return false }
        instancesByHost.removeValue(forKey: host)
        return true
    }

    /// Reports the change in one instance, if any.
    private mutating func report(_ instance: DNSName) -> [Output] {
        guard var entry = instances[instance] else { return [] }
        var current: DiscoveredInstance? = nil
        if let srv = entry.srv, let txt = entry.txt, let addresses = hosts[srv.value.target], !addresses.isEmpty {
            current = DiscoveredInstance(
                name: instance, nodeID: txt.value.nodeID, protocolVersion: txt.value.version, roles: txt.value.roles,
                port: srv.value.port, hostName: srv.value.target,
                addresses: addresses.keys.sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) })
        }
        let before = entry.reported
        entry.reported = current
        instances[instance] = entry
        switch (before, current) {
        case (nil, let now?): return [.added(now)]
        case (_?, nil): return [.removed(instance)]
        case (let old?, let now?) where old != now: return [.updated(now)]
        default: return []
        }
    }

    /// Drops what expired by `now`; only instances that lost a record are
    /// looked at again, so a tick costs little when nothing expires.
    private mutating func expire(now: Duration) -> [Output] {
        var outputs: [Output] = []
        var hostsChanged: Set<DNSName> = []
        for (host, addresses) in hosts {
            let kept = addresses.filter { $0.value.expires > now }
            if kept.count != addresses.count {
                hosts[host] = kept
                hostsChanged.insert(host)
            }
        }
        for name in arrivalOrder {
            guard var entry = instances[name] else { continue }
            if entry.ptr.expires <= now {
                remove(name)
                if entry.reported != nil { outputs.append(.removed(name)) }
                continue
            }
            var changed = entry.srv.map { hostsChanged.contains($0.value.target) } ?? false
            if let srv = entry.srv, srv.expires <= now {
                entry.srv = nil
                unindex(name, host: srv.value.target)
                changed = true
            }
            if let txt = entry.txt, txt.expires <= now {
                entry.txt = nil
                changed = true
            }
            guard changed else { continue }
            instances[name] = entry
            outputs += report(name)
        }
        return outputs
    }

    // MARK: Queries

    /// The query due at `now`, if any and the rate limit allows: the PTR
    /// question with known answers (§7.1) on the back-off schedule, plus
    /// questions for incomplete instances and records near expiry.
    private mutating func dueQuery(now: Duration) -> DNSMessage? {
        if let last = lastQuery, now - last < Self.minimumQueryGap { return nil }
        var questions: [DNSQuestion] = []
        var knownAnswers: [DNSResourceRecord] = []
        let scheduled = nextScheduledQuery.map { now >= $0 } ?? false
        if scheduled {
            questions.append(DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr))
            for (name, entry) in instances where entry.reported != nil {
                let remaining = entry.ptr.expires - now
                let lifetime = entry.ptr.expires - entry.ptr.received
                // §7.1: list only answers with more than half their TTL left.
                if remaining > lifetime / 2 {
                    let seconds = UInt32(remaining.components.seconds)
                    knownAnswers.append(DNSResourceRecord(name: ServiceAdvertisement.serviceType, data: .ptr(name), ttl: seconds))
                }
            }
        }
        for name in arrivalOrder {
            guard questions.count + 3 <= limits.questionsPerQuery, var entry = instances[name] else { continue }
            let needsRefresh = entry.reported != nil && entry.srv.map { !$0.refreshAsked && now >= $0.refreshAt } ?? false
            let incomplete = entry.reported == nil && !entry.askedForMissing
            guard needsRefresh || incomplete else { continue }
            questions.append(DNSQuestion(name: name, type: .srv))
            questions.append(DNSQuestion(name: name, type: .txt))
            if let target = entry.srv?.value.target { questions.append(DNSQuestion(name: target, type: .any)) }
            entry.askedForMissing = true
            if entry.srv != nil { entry.srv!.refreshAsked = true }
            instances[name] = entry
        }
        guard !questions.isEmpty else { return nil }
        if scheduled {
            nextScheduledQuery = now + queryInterval
            queryInterval = min(queryInterval * 2, Self.maximumQueryInterval)
        }
        lastQuery = now
        queriesSent += 1
        return Self.fitting(.query(questions, knownAnswers: knownAnswers), limit: limits.messageSize)
    }

    /// `query` with as many of its known answers as fit in `limit` bytes. A
    /// full cache of long names lists more than one datagram holds, and a
    /// query that cannot be sent would leave the browser silent. §7.2 would
    /// spread them over several packets; leaving some out costs only a
    /// response the querier did not need (§7.1 is an optimisation).
    static func fitting(_ query: DNSMessage, limit: Int) -> DNSMessage {
        func fits(_ count: Int) -> Bool {
            var candidate = query
            candidate.answers = Array(query.answers.prefix(count))
            return (try? candidate.encoded(limit: limit)) != nil
        }
        guard !fits(query.answers.count) else { return query }
        // The largest count that fits: a binary search, so a cache of
        // hundreds costs a few encodings, not hundreds.
        var low = 0
        var high = query.answers.count
        while low + 1 < high {
            let middle = (low + high) / 2
            if fits(middle) { low = middle } else { high = middle }
        }
        var result = query
        result.answers = Array(query.answers.prefix(low))
        return result
    }
}
