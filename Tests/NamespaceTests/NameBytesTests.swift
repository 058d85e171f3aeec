import Namespace
import Testing

@Suite struct NameBytesTests {
    /// Latin-1 "café": the last byte is not UTF-8.
    static let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]

    @Test func utf8NamesAreTheirOwnString() {
        #expect(NameBytes.string(Array("café".utf8)) == "café")
        #expect(NameBytes.bytes("café") == Array("café".utf8))
        #expect(!NameBytes.hasEscapes("café"))
    }

    @Test func everyByteStringComesBackExactly() {
        let samples: [[UInt8]] = [
            Self.latin1,
            Array(0x80...0xFF),
            [0xC3],  // a truncated two-byte sequence
            [0xC3, 0xA9, 0xE9, 0xC3],  // valid, invalid, truncated
            [0xED, 0xA0, 0x80],  // an encoded surrogate: not UTF-8
            [0xC0, 0xAF],  // an overlong '/'
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            Array("\u{F780}\u{F7FF}x".utf8),  // real characters of the escape range
            [0xEF, 0x9E],  // the start of one, cut short
            Array(0...0x7F),
        ]
        for bytes in samples {
            let name = NameBytes.string(bytes)
            #expect(NameBytes.bytes(name) == bytes, "\(bytes)")
            #expect(NameBytes.byteCount(name) == bytes.count, "\(bytes)")
            #expect(NameBytes.withBytes(name) { Array($0) } == bytes)
        }
    }

    @Test func differentBytesNeverShareAName() {
        // Every one- and two-byte string, and the escape range written as
        // real characters: all names distinct, byte for byte (Swift's `==`
        // would call canonically equivalent names equal).
        var seen: [[UInt8]: [UInt8]] = [:]
        var inputs: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for first in 0x80...0xFF {
            for second in [0x80, 0x9E, 0xA9, 0xBF, 0xE9, 0x41] { inputs.append([UInt8(first), UInt8(second)]) }
        }
        inputs += (0xF780...0xF7FF).map { Array(String(Unicode.Scalar($0)!).utf8) }
        for bytes in inputs {
            let name = Array(NameBytes.string(bytes).utf8)
            if let other = seen[name] {
                Issue.record("\(bytes) and \(other) share the name \(name)")
            }
            seen[name] = bytes
        }
        #expect(seen.count == Set(inputs).count)
    }

    @Test func displayEscapesBytesThatAreNotText() {
        #expect(NameBytes.display(NameBytes.string(Self.latin1)) == "caf\\xE9")
        #expect(NameBytes.display("café") == "café")
        #expect(NameBytes.display("a\\b") == "a\\\\b")
        #expect(NameBytes.display("tab\there\u{7F}") == "tab\\x09here\\x7F")
        #expect(NameBytes.display(NameBytes.string([0x80, 0xFF])) == "\\x80\\xFF")
        // A real escape-range character is shown by its bytes, never as the
        // byte it would stand for.
        #expect(NameBytes.display(NameBytes.string(Array("\u{F7E9}".utf8))) == "\\xEF\\x9F\\xA9")
    }

    @Test func displayedNamesParseBackToTheirBytes() {
        let names: [[UInt8]] = [[0x63, 0x61, 0x66, 0xE9], Array("a\\b".utf8), Array("x\\x41".utf8), Array(0x80...0xFF), Array("tab\t".utf8)]
        for bytes in names {
            let name = NameBytes.string(bytes)
            #expect(NameBytes.bytes(NameBytes.parseDisplayed(NameBytes.display(name))) == bytes)
        }
        // A lone backslash, or one not starting an escape, is itself.
        #expect(NameBytes.parseDisplayed("a\\b\\") == "a\\b\\")
        #expect(NameBytes.parseDisplayed("\\xZZ") == "\\xZZ")
        #expect(NameBytes.parseDisplayed("\\x+1") == "\\x+1")
    }

    @Test func validationCountsBytesNotCharacters() {
        // 255 non-UTF-8 bytes: one byte each on the wire, a valid name.
        let longest = NameBytes.string([UInt8](repeating: 0xE9, count: 255))
        #expect(NamespacePath.refusal(ofName: longest) == nil)
        #expect(NamespacePath.isValidPath("dir/" + longest))
        let tooLong = NameBytes.string([UInt8](repeating: 0xE9, count: 256))
        #expect(NamespacePath.refusal(ofName: tooLong) == .tooLong)
        #expect(NamespacePath.refusal(ofPath: "dir/" + tooLong) == .tooLong)
    }

    @Test func refusalsSayWhy() {
        #expect(NamespacePath.refusal(ofPath: "/etc/passwd") == .slash)
        #expect(NamespacePath.refusal(ofPath: "a//b") == .slash)
        #expect(NamespacePath.refusal(ofPath: "a/") == .slash)
        #expect(NamespacePath.refusal(ofPath: "a\u{0}b") == .nul)
        #expect(NamespacePath.refusal(ofPath: "../up") == .dot)
        #expect(NamespacePath.refusal(ofPath: "a/./b") == .dot)
        #expect(NamespacePath.refusal(ofPath: "") == .empty)
        #expect(NamespacePath.refusal(ofPath: String(repeating: "a/", count: 2100) + "a") == .pathTooLong)
        #expect(NamespacePath.refusal(ofPath: "a/" + NameBytes.string(Self.latin1)) == nil)
        #expect(NamespacePath.refusal(ofName: "a/b") == .slash)
        #expect(NamespacePath.refusal(ofName: "..") == .dot)

        var refusals = NameRefusals()
        refusals.add(.nul, example: "a\u{0}b")
        refusals.add(.tooLong)
        refusals.add(.tooLong)
        #expect(refusals.total == 3)
        #expect(refusals.description == "1 contains NUL, 2 longer than 255 bytes")
        #expect(refusals.detailedDescription == "1 contains NUL (e.g. a\\x00b), 2 longer than 255 bytes")
    }
}
