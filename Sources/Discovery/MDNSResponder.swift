/// The responder side of one node's advertisement (RFC 6762 §6, §8–10),
/// as a plain value: the caller feeds it received messages and timer
/// ticks with the current time, and sends what it returns.
///
/// Time is a `Duration` since any origin the caller picks, so tests drive
/// it by hand. Timings: three probes 250 ms apart (§8.1), the first asking
/// for a unicast reply; announcing 250 ms after the last probe, then again
/// one second later (§8.3); goodbye with TTL 0 on stop (§10.1).
public struct MDNSResponder: Sendable {
    public enum Output: Equatable, Sendable {
        /// Send to 224.0.0.251 / ff02::fb port 5353 on the interface.
        case multicast(DNSMessage)
        /// Send to the address and port the query came from.
        case unicastReply(DNSMessage)
        /// Probing found the name taken; the advertisement now uses a new one.
        case renamed(instance: String, host: String)
    }

    public enum Phase: Equatable, Sendable {
        case idle
        /// `sent` probes have gone out.
        case probing(sent: Int)
        /// `sent` announcements have gone out.
        case announcing(sent: Int)
        case running
        case stopped
    }

    public static let probeCount = 3
    public static let probeInterval = Duration.milliseconds(250)
    public static let announcementCount = 2
    public static let announcementInterval = Duration.seconds(1)
    /// §8.2: the loser of a simultaneous probe waits this long.
    public static let probeDeferral = Duration.seconds(1)
    /// §6: a record is multicast at most once a second, probe defense aside.
    public static let multicastInterval = Duration.seconds(1)
    /// §8.1: after this many conflicts in a row, probe at most once a second
    /// (a hostile host answering every name cannot make us flood).
    public static let conflictsBeforeSlowdown = 15

    public private(set) var advertisement: ServiceAdvertisement
    public private(set) var phase: Phase = .idle
    /// When `tick` next has something to do, or nil.
    public private(set) var nextDeadline: Duration?
    private var lastMulticast: [DNSResourceRecord: Duration] = [:]
    private var conflicts = 0

    public init(advertisement: ServiceAdvertisement) {
        self.advertisement = advertisement
    }

    /// Starts probing at once.
    public mutating func start(now: Duration) -> [Output] {
        guard phase == .idle else { return [] }
        phase = .probing(sent: 0)
        nextDeadline = now
        return tick(now: now)
    }

    /// Does what is due at `now`: the next probe or announcement.
    public mutating func tick(now: Duration) -> [Output] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        switch phase {
        case .probing(let sent) where sent < Self.probeCount:
            phase = .probing(sent: sent + 1)
            nextDeadline = now + Self.probeInterval
            return [.multicast(probe(unicastResponse: sent == 0))]
        case .probing:
            conflicts = 0
            phase = .announcing(sent: 0)
            return announce(now: now)
        case .announcing:
            return announce(now: now)
        case .idle, .running, .stopped:
            nextDeadline = nil
            return []
        }
    }

    /// Stops: a goodbye for every record if any was announced (§10.1).
    public mutating func stop(now: Duration) -> [Output] {
        defer {
            phase = .stopped
            nextDeadline = nil
        }
        switch phase {
        case .announcing, .running:
            return [.multicast(.response(answers: advertisement.records(ttl: 0)))]
        case .idle, .probing, .stopped:
            return []
        }
    }

    /// The interface's addresses changed: once announced, a goodbye for
    /// the address records withdrawn (§10.1) and the announcements again,
    /// with the new set (§8.4); before, the next probe or announcement
    /// simply carries it. The names, renamed or not, stay.
    public mutating func replaceAddresses(_ addresses: [[UInt8]], now: Duration) -> [Output] {
        guard addresses != advertisement.addresses else { return [] }
        let withdrawn = advertisement.records(ttl: 0).filter { record in
            switch record.data {
            case .a(let bytes), .aaaa(let bytes): !addresses.contains(bytes)
            default: false
            }
        }
        advertisement.addresses = addresses
        switch phase {
        case .announcing, .running:
            phase = .announcing(sent: 0)
            nextDeadline = now
            let goodbye: [Output] = withdrawn.isEmpty ? [] : [.multicast(.response(answers: withdrawn))]
            return goodbye + tick(now: now)
        case .idle, .probing, .stopped:
            return []
        }
    }

    /// Handles one received message; `sourcePort` other than 5353 marks a
    /// one-shot (legacy) querier, answered by unicast (§6.7).
    public mutating func receive(_ message: DNSMessage, sourcePort: UInt16, now: Duration) -> [Output] {
        // §18.3, §18.11: other opcodes and rcodes are silently ignored.
        guard message.opcode == 0, message.rcode == 0, phase != .idle, phase != .stopped else { return [] }
        if message.isResponse {
            return handleResponse(message, now: now)
        }
        if case .probing = phase {
            return handleProbeDuringProbing(message, now: now)
        }
        return answer(message, sourcePort: sourcePort, now: now)
    }

    // MARK: Probing

    private func probe(unicastResponse: Bool) -> DNSMessage {
        DNSMessage(
            questions: [
                DNSQuestion(name: advertisement.instanceName, type: .any, unicastResponse: unicastResponse),
                DNSQuestion(name: advertisement.hostName, type: .any, unicastResponse: unicastResponse),
            ],
            authorities: advertisement.uniqueRecords.map { record in
                var record = record
                record.cacheFlush = false  // §18.13: probes' authority records carry no cache-flush bit.
                return record
            })
    }

    private mutating func announce(now: Duration) -> [Output] {
        guard case .announcing(let sent) = phase else { return [] }
        let records = advertisement.records()
        for record in records { lastMulticast[record] = now }
        if sent + 1 >= Self.announcementCount {
            phase = .running
            nextDeadline = nil
        } else {
            phase = .announcing(sent: sent + 1)
            nextDeadline = now + Self.announcementInterval
        }
        return [.multicast(.response(answers: records))]
    }

    /// Another host's response naming one of our unique names with other
    /// data: while probing the name is taken (§8.1); later it is a conflict
    /// (§9). Either way we take a new name and probe again.
    private mutating func handleResponse(_ message: DNSMessage, now: Duration) -> [Output] {
        let ours = Set(advertisement.records().map(Self.identity))
        let instance = advertisement.instanceName
        let host = advertisement.hostName
        var instanceTaken = false
        var hostTaken = false
        for record in message.answers + message.additionals where record.ttl > 0 {
            guard record.name == instance || record.name == host, !ours.contains(Self.identity(record)) else { continue }
            if case .probing = phase {
                // Any record at all under the name means someone owns it.
            } else if !advertisement.records().contains(where: { $0.name == record.name && $0.type == record.type }) {
                continue  // §9: only same name, type and class with other data conflicts.
            }
            if record.name == instance { instanceTaken = true } else { hostTaken = true }
        }
        guard instanceTaken || hostTaken else { return [] }
        var outputs: [Output] = []
        if case .announcing = phase { outputs = stop(now: now) } else if phase == .running { outputs = stop(now: now) }
        if instanceTaken { advertisement.renameInstance() }
        if hostTaken { advertisement.renameHost() }
        outputs.append(.renamed(instance: advertisement.instanceLabel, host: advertisement.hostLabel))
        conflicts += 1
        lastMulticast = [:]
        phase = .probing(sent: 0)
        nextDeadline = conflicts > Self.conflictsBeforeSlowdown ? now + .seconds(1) : now
        return outputs + tick(now: now)
    }

    /// §8.2 simultaneous probe tie-break: compare the other prober's
    /// authority records for our name with ours; the lexicographically
    /// later set wins, the loser waits a second and probes again.
    private mutating func handleProbeDuringProbing(_ message: DNSMessage, now: Duration) -> [Output] {
        for name in [advertisement.instanceName, advertisement.hostName] {
            let theirs = message.authorities.filter { $0.name == name }
            guard !theirs.isEmpty else { continue }
            let mine = advertisement.uniqueRecords.filter { $0.name == name }
            if Self.tieBreakOrder(mine, theirs) < 0 {
                phase = .probing(sent: 0)
                nextDeadline = now + Self.probeDeferral
                return []
            }
        }
        return []
    }

    /// Negative when `mine` sorts before `theirs` (we lose), 0 when equal
    /// (our own probe looped back), positive when we win.
    static func tieBreakOrder(_ mine: [DNSResourceRecord], _ theirs: [DNSResourceRecord]) -> Int {
        func key(_ record: DNSResourceRecord) -> [UInt8] {
            [UInt8(record.recordClass >> 8), UInt8(record.recordClass & 0xFF),
             UInt8(record.type.rawValue >> 8), UInt8(record.type.rawValue & 0xFF)] + record.canonicalRecordData
        }
        let a = mine.map(key).sorted { $0.lexicographicallyPrecedes($1) }
        let b = theirs.map(key).sorted { $0.lexicographicallyPrecedes($1) }
        for (x, y) in zip(a, b) where x != y { return x.lexicographicallyPrecedes(y) ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    // MARK: Answering

    /// Answers the questions about our records, less the known answers the
    /// querier already holds at more than half their TTL (§7.1), with the
    /// additional records RFC 6763 §12 lists.
    private mutating func answer(_ query: DNSMessage, sourcePort: UInt16, now: Duration) -> [Output] {
        let records = advertisement.records()
        let isLegacy = sourcePort != 5353
        let isProbe = !query.authorities.isEmpty
        var answers: [DNSResourceRecord] = []
        var wantsUnicast = true
        for question in query.questions {
            var matched = records.filter { question.isAnswered(by: $0) }
            if question.name == ServiceAdvertisement.serviceTypeEnumeration, question.type == .ptr || question.type == .any {
                matched.append(
                    DNSResourceRecord(
                        name: question.name, data: .ptr(ServiceAdvertisement.serviceType), ttl: ServiceAdvertisement.otherRecordTTL))
            }
            if matched.isEmpty, question.type != .any,
                question.name == advertisement.instanceName || question.name == advertisement.hostName
            {
                matched.append(negativeAnswer(for: question.name))  // §6.1
            }
            guard !matched.isEmpty else { continue }
            wantsUnicast = wantsUnicast && question.unicastResponse
            answers += matched.filter { !answers.contains($0) }
        }
        answers.removeAll { record in
            query.answers.contains { known in Self.identity(known) == Self.identity(record) && known.ttl >= record.ttl / 2 }
        }
        guard !answers.isEmpty else { return [] }
        var additionals: [DNSResourceRecord] = []
        if answers.contains(where: { $0.type == .ptr && $0.name == ServiceAdvertisement.serviceType }) {
            additionals += records.filter { $0.name == advertisement.instanceName }
        }
        if answers.contains(where: { $0.type == .srv }) || !additionals.isEmpty {
            additionals += records.filter { $0.name == advertisement.hostName }
        }
        additionals.removeAll { answers.contains($0) }

        if isLegacy {
            // §6.7: echo id and questions, no cache-flush bits, TTL at most 10 s.
            func legacy(_ record: DNSResourceRecord) -> DNSResourceRecord {
                var record = record
                record.cacheFlush = false
                record.ttl = min(record.ttl, 10)
                return record
            }
            var reply = DNSMessage.response(answers: answers.map(legacy), additionals: additionals.map(legacy))
            reply.id = query.id
            reply.questions = query.questions
            return [.unicastReply(reply)]
        }
        if wantsUnicast && !isProbe {
            return [.unicastReply(.response(answers: answers, additionals: additionals))]
        }
        if !isProbe {
            // §6: no record multicast twice within a second (probe defense excepted).
            answers.removeAll { record in lastMulticast[record].map { now - $0 < Self.multicastInterval } ?? false }
            guard !answers.isEmpty else { return [] }
        }
        for record in answers + additionals { lastMulticast[record] = now }
        return [.multicast(.response(answers: answers, additionals: additionals))]
    }

    /// An NSEC saying which types exist at one of our unique names.
    private func negativeAnswer(for name: DNSName) -> DNSResourceRecord {
        let types = Set(advertisement.records().filter { $0.name == name }.map(\.type))
        return DNSResourceRecord(
            name: name, data: .nsec(next: name, types: types), ttl: ServiceAdvertisement.hostRecordTTL, cacheFlush: true)
    }

    /// A record without its TTL and cache-flush bit: what "the same record" means.
    static func identity(_ record: DNSResourceRecord) -> DNSResourceRecord {
        var record = record
        record.ttl = 0
        record.cacheFlush = false
        return record
    }
}
