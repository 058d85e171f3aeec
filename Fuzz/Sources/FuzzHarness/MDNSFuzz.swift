import Discovery
import NIOCore

/// Fuzz target `mdns`: DNS messages as they arrive on the mDNS socket,
/// decoded by `DNSMessage(decoding:)` and fed, with a clock the input
/// moves, to one `MDNSResponder` (advertising `alpha`) and one
/// `MDNSBrowser`, as `MDNSChannelHandler` does.
///
/// Input: one flags byte, then steps until the input ends (at most 32):
///
///     flags    bit 0: the browser's default limits (256 instances) instead
///                     of small ones (8 instances, 2 addresses per host)
///     step     kind byte (bits 0-2 `Step`; bit 3: from a port other than
///              5353, a legacy querier), then what that kind reads:
///       packet     16-bit length and that many bytes: a datagram
///       clock      16-bit count of 8 ms steps the clock moves on; both tick
///       announce   count, seed, ttl, mask: a response announcing up to 64
///                  instances built by the harness (a flood when repeated)
///       query      questions mask, known answers and probe flags
///       stop       nothing: the responder says goodbye
///       pin        index: pins one of the instances the browser reports
///
/// Checked: what decodes re-encodes and decodes to the same message; the
/// browser's cache within its limit and every reported instance complete;
/// the responder speaks only of its own names (and the service type
/// pointing at them), answers only what was asked, and every message
/// either sends fits an mDNS datagram (9000 bytes).
public enum MDNSFuzz {
    /// RFC 6762 §17, what `MDNSChannelHandler` sends and receives at most.
    public static let maximumMessageSize = 9000
    static let maximumSteps = 32

    public enum Step: UInt8, CaseIterable {
        case packet = 0
        case clock = 1
        case announce = 2
        case query = 3
        case stop = 4
        case pin = 5
    }

    public static let advertisement = ServiceAdvertisement(
        nodeName: "alpha", nodeID: "a1fa0000000000000000000000000001", port: 7070, protocolVersion: 1, roles: ["server", "client"],
        addresses: [[198, 18, 0, 1], [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]]
    )

    public static func run(_ data: ByteBuffer) throws(FuzzPropertyViolation) {
        var input = FuzzInput(data)
        let flags = input.byte()
        var limits = MDNSBrowser.Limits()
        if flags & 1 == 0 {
            limits.instances = 8
            limits.addressesPerHost = 2
        }
        var state = State(browser: MDNSBrowser(limits: limits), responder: MDNSResponder(advertisement: Self.advertisement))
        let started = state.responder.start(now: state.now)
        try state.responderOutputs(started, query: nil)
        let browsing = state.browser.start(now: state.now)
        try state.browserOutputs(browsing)

        var steps = 0
        while !input.isEmpty && steps < Self.maximumSteps {
            steps += 1
            let kind = input.byte()
            let port: UInt16 = kind & 8 != 0 ? 40000 : 5353
            switch Step(rawValue: (kind & 7) % UInt8(Step.allCases.count))! {
            case .packet:
                let packet = Array(input.chunk().readableBytesView)
                // The channel handler drops larger datagrams unread.
                guard packet.count <= Self.maximumMessageSize, let message = try Self.decode(packet) else { continue }
                try state.receive(message, port: port)
            case .clock:
                state.now += .milliseconds(8 * Int64(input.uint16()))
                let due = state.responder.tick(now: state.now)
                try state.responderOutputs(due, query: nil)
                let browsing = state.browser.tick(now: state.now)
                try state.browserOutputs(browsing)
            case .announce:
                let message = Self.announcement(count: input.byte(), seed: input.byte(), ttl: input.byte(), mask: input.byte())
                try state.receive(message, port: 5353)
            case .query:
                let message = Self.query(questions: input.byte(), flags: input.byte())
                try state.receive(message, port: port)
            case .stop:
                let goodbye = state.responder.stop(now: state.now)
                try state.responderOutputs(goodbye, query: nil)
            case .pin:
                let found = state.browser.instancesFound
                let index = Int(input.byte())
                if !found.isEmpty { state.browser.pin(found[index % found.count].name) }
            }
            try state.checkCache()
        }
        try state.checkReported()
    }

    /// Decodes a datagram; what decodes must survive encode and decode.
    static func decode(_ packet: [UInt8]) throws(FuzzPropertyViolation) -> DNSMessage? {
        guard let message = try? DNSMessage(decoding: packet) else { return nil }
        let encoded: [UInt8]
        do {
            encoded = try message.encoded(limit: Int.max)
        } catch {
            throw FuzzPropertyViolation("a decoded message does not encode: \(error)")
        }
        let again: DNSMessage
        do {
            again = try DNSMessage(decoding: encoded)
        } catch {
            throw FuzzPropertyViolation("a decoded message's encoding does not decode: \(error)")
        }
        try fuzzCheck(again == message, "round trip changed \(message) into \(again)")
        return message
    }

    /// A response announcing `count` instances (each with SRV, TXT and
    /// address records as `mask` says), like a host flooding the link.
    /// `ttl` bits 0-1 pick the TTLs (goodbye among them), bit 2 makes the
    /// instance labels long.
    public static func announcement(count: UInt8, seed: UInt8, ttl: UInt8, mask: UInt8) -> DNSMessage {
        let ttls: (other: UInt32, host: UInt32) = [(4500, 120), (0, 0), (1, 1), (.max, .max)][Int(ttl & 3)]
        var answers: [DNSResourceRecord] = []
        var additionals: [DNSResourceRecord] = []
        for index in 0...Int(count % 64) {
            let number = Int(seed) + index
            let label = "peer \(number)" + (ttl & 4 != 0 ? String(repeating: "x", count: 50) : "")
            let instance = try! ServiceAdvertisement.serviceType.prepending(Array(label.utf8))
            let host = try! DNSName(["host-\(mask & 0x40 != 0 ? 0 : number)", "local"])
            if mask & 1 != 0 { answers.append(DNSResourceRecord(name: ServiceAdvertisement.serviceType, data: .ptr(instance), ttl: ttls.other)) }
            if mask & 2 != 0 {
                additionals.append(
                    DNSResourceRecord(name: instance, data: .srv(priority: 0, weight: 0, port: UInt16(7000 + number), target: host), ttl: ttls.host, cacheFlush: mask & 0x10 != 0)
                )
            }
            if mask & 4 != 0 {
                let id = String(repeating: String(number % 16, radix: 16), count: 32)
                let strings = mask & 0x20 != 0 ? [Array("id=nothex".utf8)] : [Array("id=\(id)".utf8), Array("v=1".utf8), Array("roles=server".utf8)]
                additionals.append(DNSResourceRecord(name: instance, data: .txt(strings), ttl: ttls.other, cacheFlush: mask & 0x10 != 0))
            }
            if mask & 8 != 0 {
                additionals.append(DNSResourceRecord(name: host, data: .a([198, 18, UInt8(number >> 8 & 0xFF), UInt8(number & 0xFF)]), ttl: ttls.host, cacheFlush: mask & 0x10 != 0))
                additionals.append(DNSResourceRecord(name: host, data: .aaaa([0xFE, 0x80] + [UInt8](repeating: 0, count: 12) + [UInt8(ttl), UInt8(number & 0xFF)]), ttl: ttls.host))
            }
        }
        if mask & 0x80 != 0 {
            // Someone else claiming our own names.
            additionals.append(DNSResourceRecord(name: Self.advertisement.instanceName, data: .txt([Array("id=0".utf8)]), ttl: 120, cacheFlush: true))
            additionals.append(DNSResourceRecord(name: Self.advertisement.hostName, data: .a([198, 18, 9, 9]), ttl: 120, cacheFlush: true))
        }
        return .response(answers: answers, additionals: additionals)
    }

    /// A query naming what `questions` selects; `flags` bit 0 asks for a
    /// unicast reply, bit 1 lists known answers, bit 2 makes it a probe.
    public static func query(questions: UInt8, flags: UInt8) -> DNSMessage {
        let ours = Self.advertisement
        let candidates: [DNSQuestion] = [
            DNSQuestion(name: ServiceAdvertisement.serviceType, type: .ptr),
            DNSQuestion(name: ours.instanceName, type: .srv),
            DNSQuestion(name: ours.instanceName, type: .txt),
            DNSQuestion(name: ours.hostName, type: .a),
            DNSQuestion(name: ours.hostName, type: .any),
            DNSQuestion(name: ours.instanceName, type: .aaaa),
            DNSQuestion(name: ServiceAdvertisement.serviceTypeEnumeration, type: .ptr),
            DNSQuestion(name: try! DNSName(dotted: "_http._tcp.local"), type: .ptr),
        ]
        var selected = candidates.indices.filter { questions & (1 << $0) != 0 }.map { index in
            var question = candidates[index]
            question.unicastResponse = flags & 1 != 0
            return question
        }
        if selected.isEmpty { selected = [candidates[0]] }
        var message = DNSMessage.query(selected)
        if flags & 2 != 0 {
            message.answers = ours.records().prefix(Int(flags >> 4) % 4 + 1).map { record in
                var known = record
                known.ttl = flags & 8 != 0 ? record.ttl : record.ttl / 4
                return known
            }
        }
        if flags & 4 != 0 {
            message.authorities = [DNSResourceRecord(name: ours.instanceName, data: .srv(priority: 0, weight: 0, port: UInt16(flags), target: ours.hostName), ttl: 120)]
        }
        return message
    }

    struct State {
        var browser: MDNSBrowser
        var responder: MDNSResponder
        var now = Duration.seconds(0)

        mutating func receive(_ message: DNSMessage, port: UInt16) throws(FuzzPropertyViolation) {
            let before = self.responder.advertisement
            let outputs = self.responder.receive(message, sourcePort: port, now: self.now)
            try self.responderOutputs(outputs, query: message.isResponse ? nil : message, before: before)
            let browsing = self.browser.receive(message, now: self.now)
            try self.browserOutputs(browsing)
        }

        /// What the responder sends names only its own records (as they
        /// were before the call, for a goodbye, or after, once renamed),
        /// answers only what was asked, and fits a datagram.
        func responderOutputs(_ outputs: [MDNSResponder.Output], query: DNSMessage?, before: ServiceAdvertisement? = nil) throws(FuzzPropertyViolation) {
            let advertisements = [before ?? self.responder.advertisement, self.responder.advertisement]
            let ownNames = Set(advertisements.flatMap { [$0.instanceName, $0.hostName] })
            let pointers = Set(advertisements.map(\.instanceName))
            for output in outputs {
                let message: DNSMessage
                switch output {
                case .multicast(let sent), .unicastReply(let sent): message = sent
                case .renamed: continue
                }
                try MDNSFuzz.checkSize(message, "responder")
                for question in message.questions where message.isResponse == false {
                    try fuzzCheck(ownNames.contains(question.name), "the responder probes for \(question.name), not its own")
                }
                for record in message.answers + message.authorities + message.additionals {
                    switch record.data {
                    case .ptr(let target) where record.name == ServiceAdvertisement.serviceType:
                        try fuzzCheck(pointers.contains(target), "the responder points the service type at \(target)")
                    case .ptr(let target) where record.name == ServiceAdvertisement.serviceTypeEnumeration:
                        try fuzzCheck(target == ServiceAdvertisement.serviceType, "the responder enumerates \(target)")
                    default:
                        try fuzzCheck(ownNames.contains(record.name), "the responder sent a \(record.type) record of \(record.name)")
                    }
                }
                if let query, message.isResponse {
                    for record in message.answers {
                        try fuzzCheck(
                            query.questions.contains { $0.name == record.name },
                            "the responder answered \(record.name) \(record.type), which no question asked"
                        )
                    }
                }
            }
        }

        func browserOutputs(_ outputs: [MDNSBrowser.Output]) throws(FuzzPropertyViolation) {
            for output in outputs {
                if case .multicast(let message) = output {
                    try MDNSFuzz.checkSize(message, "browser")
                    try fuzzCheck(!message.isResponse && !message.questions.isEmpty, "the browser sent \(message)")
                }
            }
        }

        func checkCache() throws(FuzzPropertyViolation) {
            try fuzzCheck(
                self.browser.cachedInstanceCount <= self.browser.limits.instances, "\(self.browser.cachedInstanceCount) instances cached"
            )
        }

        /// Once, at the end: `instancesFound` sorts the cache, which would
        /// dominate the run after every step.
        func checkReported() throws(FuzzPropertyViolation) {
            let limits = self.browser.limits
            let found = self.browser.instancesFound
            try fuzzCheck(found.count <= self.browser.cachedInstanceCount, "\(found.count) instances reported")
            for instance in found {
                try fuzzCheck(
                    !instance.addresses.isEmpty && instance.addresses.count <= limits.addressesPerHost,
                    "\(instance.name) reported with \(instance.addresses.count) addresses"
                )
                try fuzzCheck(instance.name.hasSuffix(ServiceAdvertisement.serviceType), "\(instance.name) reported")
            }
        }
    }

    /// Every message sent fits one mDNS datagram.
    static func checkSize(_ message: DNSMessage, _ who: String) throws(FuzzPropertyViolation) {
        do {
            _ = try message.encoded(limit: Self.maximumMessageSize)
        } catch {
            throw FuzzPropertyViolation("the \(who) made a message it cannot send: \(error)")
        }
    }
}
