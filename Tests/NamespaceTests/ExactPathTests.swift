import Namespace
import Testing

/// `ExactPath`: names and paths as keys and in order by their bytes, where
/// Swift's `String` takes canonically equivalent names for one.
@Suite struct ExactPathTests {
    static let nfc: [UInt8] = [0x63, 0x61, 0x66, 0xC3, 0xA9]  // "café", é precomposed
    static let nfd: [UInt8] = [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81]  // "café", e + combining acute

    static func path(_ bytes: [UInt8]) -> ExactPath { ExactPath(NameBytes.string(bytes)) }

    @Test func canonicallyEquivalentNamesAreTwoKeys() {
        let nfc = NameBytes.string(Self.nfc)
        let nfd = NameBytes.string(Self.nfd)
        // The premise: Swift's String takes them for one.
        #expect(nfc == nfd)
        #expect(Set([nfc, nfd]).count == 1)

        #expect(ExactPath(nfc) != ExactPath(nfd))
        #expect(Set([ExactPath(nfc), ExactPath(nfd)]).count == 2)
        var byPath: [ExactPath: Int] = [:]
        byPath[ExactPath("d/" + nfc)] = 1
        byPath[ExactPath("d/" + nfd)] = 2
        #expect(byPath.count == 2)
        #expect(byPath[Self.path(Array("d/".utf8) + Self.nfc)] == 1)
        #expect(byPath[Self.path(Array("d/".utf8) + Self.nfd)] == 2)
        // Different bytes hash apart (a 64-bit hash: a collision here is
        // out of reach), the same bytes built two ways hash alike.
        #expect(ExactPath(nfc).hashValue != ExactPath(nfd).hashValue)
        #expect(ExactPath("caf\u{E9}").hashValue == Self.path(Self.nfc).hashValue)
        #expect(ExactPath("caf\u{E9}") == Self.path(Self.nfc))
        // Not a prefix of one another by bytes either.
        #expect(ExactPath(nfc) != ExactPath("caf"))
    }

    /// Byte strings chosen where the in-memory form orders otherwise: a
    /// byte that is not UTF-8 is three bytes EF 9E/9F xx in memory, and
    /// must sort as the one byte it stands for.
    static let samples: [[UInt8]] = [
        [],
        Array("Z".utf8),
        Array("a".utf8),
        Array("a b".utf8),
        Array("a-b".utf8),
        Array("a/b".utf8),
        Array("ab".utf8),
        nfc,
        nfd,
        [0x63, 0x61, 0x66, 0xE9],  // Latin-1 "café"
        [0xC3, 0x28],  // C3 not UTF-8 (escaped), before C3 A9
        [0xC3, 0xA9],  // é
        [0xC3],
        [0xC4],
        [0xE9, 0x2F, 0x61],
        [0xEF, 0xBF, 0xBD],  // U+FFFD, EF BF BD in memory too
        [0xEF, 0x9E, 0x80],  // U+F780, itself escaped byte by byte
        [0x80],
        [0xFF],
        [0xFF, 0x2F],
    ]

    @Test func orderIsByteOrder() {
        let expected = Self.samples.sorted { $0.lexicographicallyPrecedes($1) }
        let sorted = Self.samples.map(Self.path).sorted().map { NameBytes.bytes($0.string) }
        #expect(sorted == expected)
        for a in Self.samples {
            for b in Self.samples {
                #expect((Self.path(a) < Self.path(b)) == a.lexicographicallyPrecedes(b), "\(a) < \(b)")
                #expect((Self.path(a) == Self.path(b)) == (a == b), "\(a) == \(b)")
            }
        }
    }

    /// Path order: component by component, so a directory comes right
    /// before its subtree ("a", "a/b", then "a b" and "a-b"); "" first.
    @Test func pathOrderIsByComponentBytes() {
        func componentwise(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            if a.isEmpty || b.isEmpty { return a.isEmpty && !b.isEmpty }
            let left = a.split(separator: 0x2F, omittingEmptySubsequences: false).map(Array.init)
            let right = b.split(separator: 0x2F, omittingEmptySubsequences: false).map(Array.init)
            for (x, y) in zip(left, right) where x != y { return x.lexicographicallyPrecedes(y) }
            return left.count < right.count
        }
        for a in Self.samples {
            for b in Self.samples {
                #expect(Self.path(a).precedesInPathOrder(Self.path(b)) == componentwise(a, b), "\(a) before \(b)")
            }
        }
        let sorted = ["a-b", "a/b/c", "a", "", "a b", "a/b", "b"].map(ExactPath.init(stringLiteral:)).sorted { $0.precedesInPathOrder($1) }
        #expect(sorted.map(\.string) == ["", "a", "a/b", "a/b/c", "a b", "a-b", "b"])
    }

    /// Random byte strings (seeded), against the bytes' own order.
    @Test func randomByteStringsKeepByteOrderAndEquality() {
        var generator = SplitMix64(seed: 14)
        let alphabet: [UInt8] = [0x2F, 0x61, 0x65, 0x7F, 0x80, 0x9E, 0x9F, 0xA9, 0xBF, 0xC3, 0xCC, 0xE9, 0xEF, 0xF0, 0xFF]
        let strings = (0..<300).map { _ in
            (0..<Int(generator.next() % 7)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        }
        for (a, b) in zip(strings, strings.shuffled(using: &generator)) {
            #expect((Self.path(a) < Self.path(b)) == a.lexicographicallyPrecedes(b), "\(a) < \(b)")
            #expect((Self.path(a) == Self.path(b)) == (a == b), "\(a) == \(b)")
        }
    }
}
