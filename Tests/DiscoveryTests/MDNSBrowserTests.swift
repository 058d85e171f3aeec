@testable import Discovery
import Testing

extension MDNSBrowser.Output {
    var query: DNSMessage? {
        if case .multicast(let message) = self { message } else { nil }
    }
}

/// Runs `browser` through every deadline up to `limit`, collecting outputs.
func run(_ browser: inout MDNSBrowser, until limit: Duration) -> [(Duration, MDNSBrowser.Output)] {
    var outputs: [(Duration, MDNSBrowser.Output)] = []
    var steps = 0
    while let deadline = browser.nextDeadline, deadline <= limit, steps < 100_000 {
        steps += 1
        outputs += browser.tick(now: deadline).map { (deadline, $0) }
    }
    return outputs
}

/// A complete announcement for a fake node number `index`.
func fakeAnnouncement(_ index: Int) -> DNSMessage {
    let hex = String(index, radix: 16)
    let id = String(repeating: "f", count: 32 - hex.count) + hex
    let advertisement = ServiceAdvertisement(
        nodeName: "fake\(index)", nodeID: id, port: 7070, protocolVersion: 1, roles: ["offer"],
        addresses: [[198, 18, UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]])
    return .response(answers: advertisement.records())
}

@Suite("mDNS browser (RFC 6762 §5, §10)")
struct MDNSBrowserTests {
    let instance = try! DNSName(["anna", "_p2pfs", "_tcp", "local"])

    /// A full cache of long instance names lists ~18 KB of known answers:
    /// the query keeps its question and as many known answers as fit one
    /// datagram, rather than becoming a message the channel cannot send.
    @Test func knownAnswersAreCutToOneDatagram() throws {
        var browser = MDNSBrowser()
        _ = browser.start(now: ms(0))
        for index in 0..<256 {
            let hex = String(index, radix: 16)
            let advertisement = ServiceAdvertisement(
                nodeName: "node \(index) " + String(repeating: "x", count: 45), nodeID: String(repeating: "e", count: 32 - hex.count) + hex,
                port: 7070, protocolVersion: 1, roles: [], addresses: [[198, 18, UInt8(index >> 8), UInt8(index & 0xFF)]])
            _ = browser.receive(.response(answers: advertisement.records()), now: ms(100))
        }
        #expect(browser.instancesFound.count == 256)
        let query = try #require(browser.tick(now: ms(1000)).compactMap(\.query).first)
        #expect(query.questions.contains(DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr)))
        let bytes = try query.encoded(limit: MDNSChannelHandler.maximumMessageSize)
        // Cut, but not to nothing: each answer is under 80 bytes, so the
        // datagram is nearly full.
        #expect(query.answers.count > 100 && query.answers.count < 256)
        #expect(bytes.count > MDNSChannelHandler.maximumMessageSize - 100)
    }

    /// First query at once, then 1 s, 2 s, 4 s… apart (§5.2).
    @Test func queriesBackOff() throws {
        var browser = MDNSBrowser()
        let first = browser.start(now: ms(0))
        #expect(first.compactMap(\.query) == [.query([DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr)])])
        let later = run(&browser, until: ms(10_000))
        #expect(later.map(\.0) == [ms(1000), ms(3000), ms(7000)])
        #expect(browser.queriesSent == 4)
    }

    @Test func findsAnAnnouncedNodeAndDropsItOnGoodbye() throws {
        var browser = MDNSBrowser()
        _ = browser.start(now: ms(0))
        var responder = MDNSResponder(advertisement: anna())
        var added: [DiscoveredInstance] = []
        var now = ms(0)
        _ = responder.start(now: now)
        // The responder's own schedule, each packet through the wire to the browser.
        while let deadline = responder.nextDeadline {
            now = deadline
            for output in responder.tick(now: now) {
                for event in browser.receive(try onTheWire(try #require(output.message)), now: now) {
                    if case .added(let found) = event { added.append(found) }
                }
            }
        }
        #expect(added == [
            DiscoveredInstance(
                name: instance, nodeID: annaID, protocolVersion: 1, roles: ["offer"], port: 7070,
                hostName: try DNSName(dotted: "anna-0123abcd.local"), addresses: [[198, 18, 0, 1]])
        ])
        // Found at the first announcement, 750 ms after the responder started.
        #expect(browser.instancesFound.count == 1)

        let goodbye = try #require(responder.stop(now: ms(5000)).first?.message)
        #expect(browser.receive(try onTheWire(goodbye), now: ms(5000)).isEmpty)
        #expect(browser.tick(now: ms(5999)).allSatisfy { if case .removed = $0 { false } else { true } })
        #expect(browser.tick(now: ms(6000)).contains(.removed(instance)))
        #expect(browser.instancesFound.isEmpty)
        #expect(browser.cachedInstanceCount == 0)
    }

    /// The SRV (TTL 120 s) is asked for again at 80 % of its life; unanswered,
    /// the instance leaves when it expires.
    @Test func refreshesThenExpires() throws {
        var browser = MDNSBrowser()
        _ = browser.start(now: ms(0))
        _ = browser.receive(try onTheWire(.response(answers: anna().records())), now: ms(500))
        #expect(browser.instancesFound.count == 1)
        let outputs = run(&browser, until: ms(200_000))
        let refresh = try #require(outputs.first { $0.1.query?.questions.contains { $0.name == instance && $0.type == .srv } == true })
        #expect(refresh.0 == ms(96_500))
        let removal = try #require(outputs.first { $0.1 == .removed(instance) })
        #expect(removal.0 == ms(120_500))
        // Scheduled browse queries list the instance as a known answer (§7.1).
        let scheduled = try #require(outputs.first { $0.0 == ms(1000) }?.1.query)
        #expect(scheduled.answers.map(\.data) == [.ptr(instance)])
    }

    @Test func malformedTXTIsNeverReported() throws {
        var records = anna().records()
        records[2].data = .txt([ascii("id=not-hex"), ascii("v=1")])
        var browser = MDNSBrowser()
        _ = browser.start(now: ms(0))
        #expect(browser.receive(try onTheWire(.response(answers: records)), now: ms(10)).isEmpty)
        #expect(browser.instancesFound.isEmpty)
    }

    /// A PTR alone: the browser asks for SRV, TXT on the next query slot.
    @Test func asksForMissingRecords() throws {
        var browser = MDNSBrowser()
        _ = browser.start(now: ms(0))
        _ = browser.receive(try onTheWire(.response(answers: [anna().records()[0]])), now: ms(100))
        let outputs = run(&browser, until: ms(1000))
        let ask = try #require(outputs.first?.1.query)
        #expect(outputs.first?.0 == ms(1000))  // rate limit: a second after the first query
        #expect(ask.questions.contains(DNSQuestion(name: instance, type: .srv)))
        #expect(ask.questions.contains(DNSQuestion(name: instance, type: .txt)))
    }

    /// Thousands of fake instances: the cache stays within its limit, the
    /// pinned real node stays, queries stay at one a second at most.
    @Test func floodCostsBoundedMemoryAndKeepsPinnedNodes() throws {
        var limits = MDNSBrowser.Limits()
        limits.instances = 64
        var browser = MDNSBrowser(limits: limits)
        _ = browser.start(now: ms(0))
        _ = browser.receive(try onTheWire(.response(answers: anna().records())), now: ms(10))
        browser.pin(instance)
        let unpinned = try DNSName(["fake0", "_p2pfs", "_tcp", "local"])
        _ = browser.receive(try onTheWire(fakeAnnouncement(0)), now: ms(20))
        var largest = 0
        let sentBefore = browser.queriesSent
        // What a listener of the outputs believes is found: it must stay
        // bounded too, so evictions are reported as removals.
        var believed: Set<String> = Set(browser.instancesFound.map(\.name.description))
        var largestBelieved = 0
        func follow(_ outputs: [MDNSBrowser.Output]) {
            for output in outputs {
                switch output {
                case .added(let found): believed.insert(found.name.description)
                case .removed(let name): believed.remove(name.description)
                default: continue
                }
            }
            largestBelieved = max(largestBelieved, believed.count)
        }
        for index in 1...2000 {
            let now = ms(20 + Int64(index))  // 2 s of flood, one packet per millisecond
            // Half complete, half a bare PTR the browser would like to ask about.
            var fake = fakeAnnouncement(index)
            if !index.isMultiple(of: 2) { fake.answers = [fake.answers[0]] }
            follow(browser.receive(try onTheWire(fake), now: now))
            follow(browser.tick(now: now))
            largest = max(largest, browser.cachedInstanceCount)
        }
        #expect(largest == 64)
        #expect(largestBelieved <= 64)
        let matches = believed == Set(browser.instancesFound.map(\.name.description))
        #expect(matches, "a listener believes \(believed.count) instances are found, the browser holds \(browser.instancesFound.count)")
        #expect(browser.instancesFound.contains { $0.name == instance && $0.nodeID == annaID })
        #expect(!browser.instancesFound.contains { $0.name == unpinned })
        // Queries over those 2 s: at most one a second.
        #expect(browser.queriesSent - sentBefore <= 3)
        #expect(browser.cachedInstanceCount == 64)
    }
}
