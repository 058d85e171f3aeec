@testable import Discovery
import Testing

@Suite("mDNS responder (RFC 6762 §6, §8–10)")
struct MDNSResponderTests {
    let instance = try! DNSName(["anna", "_p2pfs", "_tcp", "local"])
    let host = try! DNSName(dotted: "anna-0123abcd.local")

    /// Three probes 250 ms apart, the first QU; announcements at 750 ms and
    /// 1750 ms; then nothing scheduled.
    @Test func probesThenAnnounces() throws {
        var responder = MDNSResponder(advertisement: anna())
        var sent: [(Duration, DNSMessage)] = []
        for output in responder.start(now: ms(0)) { sent.append((ms(0), try #require(output.message))) }
        for now in stride(from: Int64(10), through: 5000, by: 10) {
            for output in responder.tick(now: ms(now)) { sent.append((ms(now), try #require(output.message))) }
        }
        #expect(sent.map(\.0) == [ms(0), ms(250), ms(500), ms(750), ms(1750)])
        let probes = sent.prefix(3).map(\.1)
        for (index, probe) in probes.enumerated() {
            #expect(!probe.isResponse)
            #expect(probe.questions.map(\.name) == [instance, host])
            #expect(probe.questions.allSatisfy { $0.type == .any && $0.unicastResponse == (index == 0) })
            #expect(Set(probe.authorities) == Set(anna().uniqueRecords.map { var r = $0; r.cacheFlush = false; return r }))
        }
        for announcement in sent.suffix(2).map(\.1) {
            #expect(announcement.isResponse)
            #expect(announcement.flags == 0x8400)
            #expect(announcement.answers == anna().records())
        }
        #expect(responder.phase == .running)
        #expect(responder.nextDeadline == nil)
    }

    @Test func takenNameDuringProbingRenamesAndProbesAgain() throws {
        var responder = MDNSResponder(advertisement: anna())
        _ = responder.start(now: ms(0))
        let other = DNSMessage.response(answers: [
            DNSResourceRecord(
                name: instance, data: .srv(priority: 0, weight: 0, port: 9, target: try DNSName(dotted: "bob.local")), ttl: 120,
                cacheFlush: true)
        ])
        let outputs = responder.receive(try onTheWire(other), sourcePort: 5353, now: ms(100))
        #expect(outputs.first == .renamed(instance: "anna (2)", host: "anna-0123abcd"))
        let probe = try #require(outputs.last?.message)
        #expect(probe.questions.first?.name == (try DNSName(["anna (2)", "_p2pfs", "_tcp", "local"])))
        #expect(responder.phase == .probing(sent: 1))
    }

    /// §8.2: the other prober's data sorts later (port 9000 > 7070), so we
    /// wait a second and start over; our own looped probe changes nothing.
    @Test func simultaneousProbeTieBreak() throws {
        var responder = MDNSResponder(advertisement: anna())
        let ownProbe = try #require(responder.start(now: ms(0)).first?.message)
        #expect(responder.receive(try onTheWire(ownProbe), sourcePort: 5353, now: ms(10)).isEmpty)
        #expect(responder.nextDeadline == ms(250))

        var later = ownProbe
        later.authorities = later.authorities.map { record in
            guard case .srv(let p, let w, _, let t) = record.data else { return record }
            var record = record
            record.data = .srv(priority: p, weight: w, port: 9000, target: t)
            return record
        }
        #expect(responder.receive(try onTheWire(later), sourcePort: 5353, now: ms(20)).isEmpty)
        #expect(responder.phase == .probing(sent: 0))
        #expect(responder.nextDeadline == ms(1020))

        var fresh = MDNSResponder(advertisement: anna())
        _ = fresh.start(now: ms(0))
        var earlier = later
        earlier.authorities = earlier.authorities.map { record in
            guard case .srv(let p, let w, _, let t) = record.data else { return record }
            var record = record
            record.data = .srv(priority: p, weight: w, port: 80, target: t)
            return record
        }
        _ = fresh.receive(try onTheWire(earlier), sourcePort: 5353, now: ms(20))
        #expect(fresh.phase == .probing(sent: 1))
        #expect(fresh.nextDeadline == ms(250))
    }

    @Test func answersBrowseQueryWithAdditionals() throws {
        var responder = runningResponder()
        let query = DNSMessage.query([DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr)])
        let outputs = responder.receive(try onTheWire(query), sourcePort: 5353, now: ms(5000))
        guard case .multicast(let reply) = try #require(outputs.first) else {
            Issue.record("not multicast: \(outputs)")
            return
        }
        let records = anna().records()
        #expect(reply.answers == [records[0]])
        #expect(reply.additionals == Array(records[1...]))
        // Within a second the same records are not multicast again.
        #expect(responder.receive(try onTheWire(query), sourcePort: 5353, now: ms(5500)).isEmpty)
        #expect(responder.receive(try onTheWire(query), sourcePort: 5353, now: ms(6000)).count == 1)
    }

    /// §7.1: a known answer with at least half our TTL suppresses it.
    @Test func knownAnswerSuppression() throws {
        var responder = runningResponder()
        let ptr = anna().records()[0]
        func query(knownTTL: UInt32) -> DNSMessage {
            var known = ptr
            known.ttl = knownTTL
            return .query([DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr)], knownAnswers: [known])
        }
        #expect(responder.receive(try onTheWire(query(knownTTL: 2250)), sourcePort: 5353, now: ms(5000)).isEmpty)
        #expect(responder.receive(try onTheWire(query(knownTTL: 2249)), sourcePort: 5353, now: ms(5000)).count == 1)
    }

    @Test func unicastAndLegacyQueries() throws {
        var responder = runningResponder()
        let qu = DNSMessage.query([DNSQuestion(name: instance, type: .srv, unicastResponse: true)])
        guard case .unicastReply(let reply) = try #require(responder.receive(try onTheWire(qu), sourcePort: 5353, now: ms(5000)).first)
        else {
            Issue.record("QU question not answered by unicast")
            return
        }
        #expect(reply.answers.map(\.type) == [.srv])
        #expect(reply.additionals.map(\.type) == [.a])

        var legacy = DNSMessage.query([DNSQuestion(name: host, type: .a)])
        legacy.id = 0xBEEF
        guard case .unicastReply(let answer) = try #require(responder.receive(try onTheWire(legacy), sourcePort: 40000, now: ms(5000)).first)
        else {
            Issue.record("one-shot query not answered by unicast")
            return
        }
        #expect(answer.id == 0xBEEF)
        #expect(answer.questions == legacy.questions)
        #expect(answer.answers == [DNSResourceRecord(name: host, data: .a([198, 18, 0, 1]), ttl: 10)])
    }

    /// §6.1: asked for AAAA of an IPv4-only host, answer NSEC naming A only.
    @Test func negativeAnswer() throws {
        var responder = runningResponder()
        let query = DNSMessage.query([DNSQuestion(name: host, type: .aaaa)])
        let reply = try #require(responder.receive(try onTheWire(query), sourcePort: 5353, now: ms(5000)).first?.message)
        #expect(reply.answers == [DNSResourceRecord(name: host, data: .nsec(next: host, types: [.a]), ttl: 120, cacheFlush: true)])
        // A question about a name that is not ours gets nothing.
        let elsewhere = DNSMessage.query([DNSQuestion(name: try DNSName(dotted: "bob.local"), type: .a)])
        #expect(responder.receive(try onTheWire(elsewhere), sourcePort: 5353, now: ms(5000)).isEmpty)
    }

    @Test func conflictWhileRunningRenames() throws {
        var responder = runningResponder()
        // Our own announcement looping back is no conflict.
        #expect(responder.receive(try onTheWire(.response(answers: anna().records())), sourcePort: 5353, now: ms(3000)).isEmpty)
        let spoof = DNSMessage.response(answers: [
            DNSResourceRecord(name: host, data: .a([198, 18, 0, 66]), ttl: 120, cacheFlush: true)
        ])
        let outputs = responder.receive(try onTheWire(spoof), sourcePort: 5353, now: ms(4000))
        // A goodbye for the old names, then the new names probed.
        #expect(outputs.first?.message?.answers.allSatisfy { $0.ttl == 0 } == true)
        #expect(outputs.contains(.renamed(instance: "anna", host: "anna-0123abcd-2")))
        #expect(responder.phase == .probing(sent: 1))
    }

    @Test func goodbyeOnStop() throws {
        var responder = runningResponder()
        let goodbye = try #require(responder.stop(now: ms(9000)).first?.message)
        #expect(goodbye.answers == anna().records(ttl: 0))
        #expect(responder.phase == .stopped)
        #expect(responder.receive(try onTheWire(.query([DNSQuestion(name: host, type: .a)])), sourcePort: 5353, now: ms(9001)).isEmpty)
        // Stopping before anything was announced sends nothing.
        var probing = MDNSResponder(advertisement: anna())
        _ = probing.start(now: ms(0))
        #expect(probing.stop(now: ms(100)).isEmpty)
    }

    /// §8.4, §10.1: the interface's address changed: a goodbye for the old
    /// address record only, then the records again with the new one, twice.
    @Test func newAddressesAreAnnouncedAndTheOldOnesWithdrawn() throws {
        let kept: [UInt8] = [198, 18, 0, 1]
        let gone: [UInt8] = [198, 18, 0, 7]
        let added: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [9]
        var responder = runningResponder(anna(addresses: [kept, gone]))
        let outputs = responder.replaceAddresses([kept, added], now: ms(9000))
        #expect(outputs.count == 2)
        let goodbye = try #require(outputs.first?.message)
        #expect(goodbye.answers == [DNSResourceRecord(name: host, data: .a(gone), ttl: 0, cacheFlush: true)])
        #expect(outputs.last?.message?.answers == anna(addresses: [kept, added]).records())
        #expect(responder.advertisement == anna(addresses: [kept, added]))
        #expect(responder.nextDeadline == ms(10000))
        #expect(responder.tick(now: ms(10000)).first?.message?.answers == anna(addresses: [kept, added]).records())
        #expect(responder.phase == .running)
        // The same set again changes nothing.
        #expect(responder.replaceAddresses([kept, added], now: ms(11000)).isEmpty)
        // Only added addresses: no goodbye, just the announcement.
        let grown = responder.replaceAddresses([kept, added, gone], now: ms(12000))
        #expect(grown.count == 1 && grown.first?.message?.answers.allSatisfy { $0.ttl > 0 } == true)
    }

    /// Before anything was announced, the next probe simply carries the new set.
    @Test func newAddressesWhileProbingGoOutWithTheNextProbe() throws {
        var responder = MDNSResponder(advertisement: anna())
        _ = responder.start(now: ms(0))
        #expect(responder.replaceAddresses([[198, 18, 0, 9]], now: ms(100)).isEmpty)
        let probe = try #require(responder.tick(now: ms(250)).first?.message)
        #expect(probe.authorities.contains(DNSResourceRecord(name: host, data: .a([198, 18, 0, 9]), ttl: 120, cacheFlush: false)))
        #expect(!probe.authorities.contains { $0.data == .a([198, 18, 0, 1]) })
    }
}
