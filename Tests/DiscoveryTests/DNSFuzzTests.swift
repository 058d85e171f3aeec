@testable import Discovery
import Testing

/// A small seeded generator, so a failure replays with the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("DNS decoder under random mutation")
struct DNSFuzzTests {
    /// Seeds: valid messages covering every record type we decode.
    static func seeds() throws -> [[UInt8]] {
        let host = try DNSName(dotted: "anna.local")
        let instance = try DNSName(["Anna", "_p2pfs", "_tcp", "local"])
        let full = DNSMessage.response(
            answers: [
                DNSResourceRecord(name: serviceType, data: .ptr(instance), ttl: 4500),
                DNSResourceRecord(name: instance, data: .srv(priority: 0, weight: 0, port: 7070, target: host), ttl: 120),
                DNSResourceRecord(name: instance, data: .txt([ascii("id=0123456789abcdef"), ascii("v=1")]), ttl: 4500),
            ],
            additionals: [
                DNSResourceRecord(name: host, data: .a([198, 18, 0, 1]), ttl: 120, cacheFlush: true),
                DNSResourceRecord(name: host, data: .aaaa([UInt8](repeating: 7, count: 16)), ttl: 120),
                DNSResourceRecord(name: host, data: .nsec(next: host, types: [.a, .aaaa, .srv, .txt]), ttl: 120),
                DNSResourceRecord(name: host, data: .unknown(type: DNSRecordType(rawValue: 99), bytes: [1, 2, 3]), ttl: 1),
            ])
        let query = DNSMessage.query(
            [DNSQuestion(name: serviceType, type: .ptr, unicastResponse: true)],
            knownAnswers: [DNSResourceRecord(name: serviceType, data: .ptr(instance), ttl: 4000)])
        return [try full.encoded(), try query.encoded(), DNSMessageTests.responseBytes]
    }

    /// 30 000 mutated packets (bit flips, byte overwrites with boundary
    /// values, cuts, duplicated slices): each decodes or throws a DNSError,
    /// and what decodes survives an encode/decode round trip unchanged.
    @Test func mutatedPacketsDecodeOrThrowTypedErrors() throws {
        var random = SplitMix64(state: 0x5EED_0F_DA7A)
        let seeds = try Self.seeds()
        var decodedCount = 0
        var errorKinds = Set<String>()
        for _ in 0..<30_000 {
            var packet = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !packet.isEmpty else { break }
                let at = Int.random(in: 0..<packet.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: packet[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
                case 1: packet[at] = [0x00, 0x3F, 0x40, 0xC0, 0xFF, 0x0C].randomElement(using: &random)!
                case 2: packet.removeSubrange(at...)
                case 3:
                    let end = min(packet.count, at + Int.random(in: 1...24, using: &random))
                    packet.insert(contentsOf: packet[at..<end], at: Int.random(in: 0...packet.count, using: &random))
                default: packet[at] = UInt8.random(in: 0...255, using: &random)
                }
            }
            do {
                let message = try DNSMessage(decoding: packet)
                decodedCount += 1
                let again = try DNSMessage(decoding: try message.encoded(limit: Int.max))
                #expect(again == message, "round trip changed \(packet)")
            } catch {
                errorKinds.insert(String(describing: error).prefix { $0 != "(" }.description)
            }
        }
        // The mutations reached both outcomes and many distinct refusals.
        #expect(decodedCount > 100)
        #expect(errorKinds.isSuperset(of: ["truncated", "badCompressionPointer", "badRecordData", "trailingBytes"]))
    }
}

@Suite("State machines under random mutation")
struct StateMachineFuzzTests {
    /// Mutated packets that still decode go to a running responder and a
    /// browser with a small cache: nothing traps, the cache stays within
    /// its limit, and every reply the responder makes encodes.
    @Test func mutatedMessagesKeepTheStateMachinesWithinBounds() throws {
        var random = SplitMix64(state: 0xD15C_0FE2)
        var responder = runningResponder()
        var limits = MDNSBrowser.Limits()
        limits.instances = 8
        var browser = MDNSBrowser(limits: limits)
        _ = browser.start(now: ms(0))
        let seeds = try DNSFuzzTests.seeds() + [try DNSMessage.response(answers: anna().records()).encoded()]
        var fed = 0
        for step in 0..<20_000 {
            var packet = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...3, using: &random) where !packet.isEmpty {
                packet[Int.random(in: 0..<packet.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            guard let message = try? DNSMessage(decoding: packet) else { continue }
            fed += 1
            let now = ms(10_000 + Int64(step))
            for output in responder.receive(message, sourcePort: step.isMultiple(of: 7) ? 40000 : 5353, now: now)
                + responder.tick(now: now)
            {
                if let reply = output.message { _ = try reply.encoded(limit: Int.max) }
            }
            _ = browser.receive(message, now: now)
            _ = browser.tick(now: now)
            #expect(browser.cachedInstanceCount <= 8)
        }
        #expect(fed > 1000)
    }
}
