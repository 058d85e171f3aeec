@testable import Discovery
import Testing

/// Bytes of `text` as ASCII, for building vectors by hand.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A length-prefixed label.
func label(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + ascii(text) }

let serviceType = try! DNSName(dotted: "_p2pfs._tcp.local")

@Suite("DNS message codec (RFC 1035 §4.1, RFC 6762 §18)")
struct DNSMessageTests {
    /// A QU query for `_p2pfs._tcp.local` PTR, computed by hand:
    /// zero header but QDCOUNT 1, the name, type 12, class IN with the top bit.
    @Test func encodesUnicastResponseQuestion() throws {
        let query = DNSMessage.query([DNSQuestion(name: serviceType, type: .ptr, unicastResponse: true)])
        let expected: [UInt8] =
            [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
            + label("_p2pfs") + label("_tcp") + label("local") + [0]
            + [0x00, 0x0C, 0x80, 0x01]
        #expect(try query.encoded() == expected)
        let decoded = try DNSMessage(decoding: expected)
        #expect(decoded == query)
        #expect(decoded.questions[0].unicastResponse)
        #expect(decoded.questions[0].questionClass == 1)
    }

    /// A response whose second and third names are compressed against the
    /// first: `_p2pfs._tcp.local` sits at offset 12, `local` at 24 and the
    /// instance name, written inside the PTR RDATA, at 41 (0x29).
    static let responseBytes: [UInt8] =
        [0, 0, 0x84, 0x00, 0, 0, 0, 2, 0, 0, 0, 0]
        // 12: _p2pfs._tcp.local PTR, class IN, TTL 4500, RDLENGTH 7
        + label("_p2pfs") + label("_tcp") + label("local") + [0]
        + [0x00, 0x0C, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x07]
        // 41: Anna + pointer to 12
        + label("Anna") + [0xC0, 0x0C]
        // 48: pointer to 41, SRV, cache-flush IN, TTL 120, RDLENGTH 13
        + [0xC0, 0x29, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0D]
        // priority 0, weight 0, port 7070, target anna + pointer to local (24)
        + [0, 0, 0, 0, 0x1B, 0x9E] + label("anna") + [0xC0, 0x18]

    static let response = DNSMessage.response(answers: [
        DNSResourceRecord(name: serviceType, data: .ptr(try! DNSName(["Anna", "_p2pfs", "_tcp", "local"])), ttl: 4500),
        DNSResourceRecord(
            name: try! DNSName(["Anna", "_p2pfs", "_tcp", "local"]),
            data: .srv(priority: 0, weight: 0, port: 7070, target: try! DNSName(dotted: "anna.local")),
            ttl: 120, cacheFlush: true),
    ])

    @Test func encodesWithCompressionAndCacheFlush() throws {
        #expect(try Self.response.encoded() == Self.responseBytes)
    }

    @Test func decodesCompressedResponse() throws {
        let decoded = try DNSMessage(decoding: Self.responseBytes)
        #expect(decoded == Self.response)
        #expect(decoded.isResponse)
        #expect(decoded.answers[1].cacheFlush)
        #expect(!decoded.answers[0].cacheFlush)
        #expect(decoded.answers[1].recordClass == 1)
        guard case .srv(_, _, let port, let target) = decoded.answers[1].data else {
            Issue.record("not an SRV: \(decoded.answers[1].data)")
            return
        }
        #expect(port == 7070)
        #expect(target.description == "anna.local")
    }

    /// RFC 1035 §4.1.4's own example: F.ISI.ARPA at 20, FOO.F.ISI.ARPA at
    /// 40 as FOO + pointer to 20, ARPA at 64 as a pointer to 26.
    @Test func rfc1035CompressionExample() throws {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes += label("F") + label("ISI") + label("ARPA") + [0]  // 20...31
        bytes += [UInt8](repeating: 0, count: 40 - bytes.count)
        bytes += label("FOO") + [0xC0, 20]  // 40...45
        bytes += [UInt8](repeating: 0, count: 64 - bytes.count)
        bytes += [0xC0, 26]
        var reader = DNSReader(bytes: bytes)
        for (start, expected) in [(20, "F.ISI.ARPA"), (40, "FOO.F.ISI.ARPA"), (64, "ARPA")] {
            _ = try reader.readBytes(start - reader.offset)
            #expect(try reader.readName().description == expected)
        }
        #expect(reader.offset == 66)
    }

    /// TXT as RFC 6763 §6 lays it out (length-prefixed strings), and
    /// §6.1's empty TXT as one zero byte.
    @Test func txtRecords() throws {
        let name = try DNSName(["Anna", "_p2pfs", "_tcp", "local"])
        let message = DNSMessage.response(answers: [
            DNSResourceRecord(name: name, data: .txt([ascii("id=ab12"), ascii("v=1")]), ttl: 4500, cacheFlush: true),
            DNSResourceRecord(name: name, data: .txt([]), ttl: 4500),
        ])
        // python-zeroconf 0.154 writes these same bytes.
        let expected: [UInt8] =
            [0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0]
            + label("Anna") + label("_p2pfs") + label("_tcp") + label("local") + [0]
            + [0, 16, 0x80, 1, 0, 0, 0x11, 0x94, 0, 12] + label("id=ab12") + label("v=1")
            + [0xC0, 12, 0, 16, 0, 1, 0, 0, 0x11, 0x94, 0, 1, 0]
        let bytes = try message.encoded()
        #expect(bytes == expected)
        #expect(try DNSMessage(decoding: bytes) == message)
    }

    /// NSEC's bitmap for A, TXT, AAAA and SRV is window 0 of 5 bytes:
    /// types 1, 16, 28, 33 are bits 1, 16, 28, 33 counted from the top
    /// (RFC 4034 §4.1.2): 0x40 0x00 0x80 0x08 0x40. The next name is
    /// compressed to the owner (RFC 6762 §18.14). python-zeroconf 0.154
    /// writes these same bytes.
    @Test func nsecRecord() throws {
        let host = try DNSName(dotted: "anna.local")
        let message = DNSMessage.response(answers: [
            DNSResourceRecord(name: host, data: .nsec(next: host, types: [.a, .txt, .aaaa, .srv]), ttl: 120, cacheFlush: true)
        ])
        let expected: [UInt8] =
            [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0] + label("anna") + label("local") + [0]
            + [0, 47, 0x80, 1, 0, 0, 0, 120, 0, 9, 0xC0, 12, 0, 5, 0x40, 0x00, 0x80, 0x08, 0x40]
        #expect(try message.encoded() == expected)
        #expect(try DNSMessage(decoding: expected) == message)
    }

    /// A and AAAA RDATA are the address bytes in network order.
    @Test func addressRecords() throws {
        let host = try DNSName(dotted: "anna.local")
        let v6: [UInt8] = [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
        let message = DNSMessage.response(answers: [
            DNSResourceRecord(name: host, data: .a([198, 18, 0, 1]), ttl: 120, cacheFlush: true),
            DNSResourceRecord(name: host, data: .aaaa(v6), ttl: 120, cacheFlush: true),
        ])
        let bytes = try message.encoded()
        #expect(Array(bytes[32..<38]) == [0, 4, 198, 18, 0, 1])
        #expect(Array(bytes[38...]) == [0xC0, 12, 0, 28, 0x80, 1, 0, 0, 0, 120, 0, 16] + v6)
        #expect(try DNSMessage(decoding: bytes) == message)
        #expect(throws: DNSError.badRecordData(type: 1, reason: "address of 3 bytes")) {
            try DNSMessage.response(answers: [DNSResourceRecord(name: host, data: .a([1, 2, 3]), ttl: 1)]).encoded()
        }
    }

    @Test func namesCompareIgnoringASCIICase() throws {
        #expect(try DNSName(dotted: "ANNA.Local") == DNSName(dotted: "anna.local"))
        #expect(try DNSName(dotted: "anna.local").hashValue == DNSName(dotted: "ANNA.LOCAL").hashValue)
        #expect(try DNSName(["Änna"]) != DNSName(["änna"]))
        #expect(try DNSName(["a.b\u{7}"]).description == "a\\.b\\007")
    }
}

@Suite("DNS codec against hostile input")
struct DNSHostileInputTests {
    static let header: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]

    func decodeError(_ bytes: [UInt8]) -> DNSError? {
        do {
            _ = try DNSMessage(decoding: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func pointerToItselfIsALoop() {
        #expect(decodeError(Self.header + [0xC0, 12, 0, 1, 0, 1]) == .badCompressionPointer(offset: 12, target: 12))
    }

    @Test func forwardPointerIsRefused() {
        #expect(decodeError(Self.header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1]) == .badCompressionPointer(offset: 12, target: 14))
    }

    /// Two names pointing at each other: the second's pointer goes back to
    /// the first, whose pointer then goes forward into the second.
    @Test func mutualPointersAreALoop() {
        var bytes = [UInt8](Self.header)
        bytes[5] = 2
        bytes += label("a") + [0xC0, 20] + [0, 1, 0, 1]  // 12: a + pointer to 20 (forward)
        bytes += label("b") + [0xC0, 12] + [0, 1, 0, 1]  // 20: b + pointer to 12
        #expect(decodeError(bytes) == .badCompressionPointer(offset: 14, target: 20))
    }

    /// A label that spans a pointer's own position cannot be used to come
    /// back to it: targets must strictly decrease.
    @Test func pointerChainMustDescend() {
        var bytes = [UInt8](Self.header)
        bytes += label("x") + [0] + [0, 1, 0, 1]  // 12: "x", a valid first question
        bytes[5] = 2
        // 19: y + pointer to 12's "x", fine; then a third name pointing to 19
        // whose target chain re-enters 19 → 12: strictly descending, valid.
        bytes += label("y") + [0xC0, 12] + [0, 1, 0, 1]
        let decoded = try? DNSMessage(decoding: bytes)
        #expect(decoded?.questions.map(\.name.description) == ["x", "y.x"])
        // Now the pointer goes to its own name's start: a loop.
        bytes[bytes.count - 5] = 19
        #expect(decodeError(bytes) == .badCompressionPointer(offset: 21, target: 19))
    }

    @Test func reservedLabelTypesAreRefused() {
        #expect(decodeError(Self.header + [0x40] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1])
            == .unsupportedLabelType(offset: 12, byte: 0x40))
        #expect(decodeError(Self.header + [0x80, 0, 0, 1, 0, 1]) == .unsupportedLabelType(offset: 12, byte: 0x80))
    }

    /// Four 63-byte labels are 4 × 64 + 1 = 257 bytes of wire name.
    @Test func namesOver255BytesAreRefused() {
        let long = [UInt8](repeating: 0x61, count: 63)
        var name: [UInt8] = []
        for _ in 0..<4 { name += [63] + long }
        #expect(decodeError(Self.header + name + [0, 0, 1, 0, 1]) == .nameTooLong(length: 257))
        // Three labels and a 61-byte fourth: 3 × 64 + 62 + 1 = 255, the most allowed.
        let fits = [63] + long + [63] + long + [63] + long + [61] + [UInt8](repeating: 0x62, count: 61) + [0]
        #expect(decodeError(Self.header + fits + [0, 1, 0, 1]) == nil)
        // The same limit holds when the length is reached through pointers.
        var viaPointers = [UInt8](Self.header)
        viaPointers[5] = 2
        viaPointers += [63] + long + [63] + long + [63] + long + [0] + [0, 1, 0, 1]  // 12..
        viaPointers += [63] + long + [0xC0, 12] + [0, 1, 0, 1]
        #expect(decodeError(viaPointers) == .nameTooLong(length: 257))
        #expect(throws: DNSError.labelTooLong(length: 64)) { try DNSName(labels: [[UInt8](repeating: 1, count: 64)]) }
        #expect(throws: DNSError.emptyLabel) { try DNSName(labels: [[]]) }
    }

    @Test func hugeCountsOnAnEmptyBodyAreTruncation() {
        let bytes: [UInt8] = [0, 0, 0x84, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(decodeError(bytes) == .truncated(offset: 12, needed: 1))
    }

    /// Every proper prefix of a valid response is refused as truncated.
    @Test func everyPrefixIsTruncated() {
        let full = DNSMessageTests.responseBytes
        for length in 0..<full.count {
            let error = decodeError(Array(full[0..<length]))
            guard case .truncated = error else {
                Issue.record("prefix of \(length) bytes: \(String(describing: error))")
                continue
            }
        }
        #expect(decodeError(full) == nil)
        #expect(decodeError(full + [0]) == .trailingBytes(count: 1))
    }

    @Test func recordDataMustMatchItsType() {
        let record: [UInt8] = [0, 0, 1, 0, 1, 0, 0, 0, 120]
        let answerHeader: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        #expect(decodeError(answerHeader + record + [0, 5, 1, 2, 3, 4, 5])
            == .badRecordData(type: 1, reason: "length 5, not 4"))
        // A PTR whose name runs past its RDLENGTH of 1.
        let ptr: [UInt8] = [0, 0, 12, 0, 1, 0, 0, 0, 120, 0, 1] + label("a") + [0]
        #expect(decodeError(answerHeader + ptr) == .badRecordData(type: 12, reason: "runs past its RDLENGTH"))
        // A TXT string claiming more bytes than the RDATA has.
        let txt: [UInt8] = [0, 0, 16, 0, 1, 0, 0, 0, 120, 0, 2, 5, 0x61]
        #expect(decodeError(answerHeader + txt)
            == .badRecordData(type: 16, reason: "string of 5 bytes runs past its RDLENGTH"))
    }

    @Test func encoderRefusesOversizedMessages() throws {
        let name = try DNSName(dotted: "anna.local")
        let big = DNSMessage.response(answers: [
            DNSResourceRecord(name: name, data: .txt([[UInt8](repeating: 0x61, count: 255)]), ttl: 1)
        ])
        #expect(throws: DNSError.messageTooLarge(size: 12 + 12 + 10 + 256, limit: 100)) { try big.encoded(limit: 100) }
        let badTXT = DNSMessage.response(answers: [
            DNSResourceRecord(name: name, data: .txt([[UInt8](repeating: 0x61, count: 256)]), ttl: 1)
        ])
        #expect(throws: DNSError.badRecordData(type: 16, reason: "string of 256 bytes")) { try badTXT.encoded() }
    }
}
