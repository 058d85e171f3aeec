/// File names are bytes, as on Linux and in NFS (`filename3`, `component4`)
/// and the peer protocol (XDR `string` is a byte string). In memory a name
/// or path is a `String` that holds those bytes losslessly:
///
/// - a well-formed UTF-8 sequence is its character, except a character in
///   U+F780...U+F7FF (Private Use Area);
/// - every other byte (0x80...0xFF that is not part of such a sequence, and
///   each byte of a U+F780...U+F7FF character) is the character
///   U+F700 + byte.
///
/// The mapping is injective: two different byte strings never map to the same
/// `String`, so paths stay usable as keys and hashed into file ids. Bytes go
/// back out exactly at every boundary (disk, NFS, peers, control protocol);
/// valid UTF-8 names (nearly all) are their own `String` and cost nothing.
public enum NameBytes {
    /// Bytes 0x80...0xFF that are not UTF-8 are U+F780...U+F7FF.
    static let escapeBase: UInt32 = 0xF700

    /// The in-memory name of `bytes`.
    public static func string<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ Self.plainString($0) }), let fast {
            return fast
        }
        let array = Array(bytes)
        if let fast = array.withUnsafeBufferPointer({ Self.plainString($0) }) { return fast }
        var scalars = String.UnicodeScalarView()
        array.withUnsafeBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                if let (scalar, length) = Self.decodeScalar(buffer, at: index), !Self.isEscape(scalar) {
                    scalars.append(scalar)
                    index += length
                } else {
                    scalars.append(Unicode.Scalar(Self.escapeBase + UInt32(buffer[index]))!)
                    index += 1
                }
            }
        }
        return String(scalars)
    }

    /// The `String` of `bytes` when they are UTF-8 without escape characters.
    private static func plainString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let string = String(validating: bytes, as: UTF8.self), !Self.containsEscape(string.utf8) else { return nil }
        return string
    }

    /// The bytes `name` stands for.
    public static func bytes(_ name: some StringProtocol) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(name.utf8.count)
        var utf8 = name.utf8.makeIterator()
        var pending: [UInt8] = []
        while let byte = pending.isEmpty ? utf8.next() : Optional(pending.removeFirst()) {
            guard byte == 0xEF else {
                result.append(byte)
                continue
            }
            // Possibly an escape: EF 9E/9F xx.
            guard let second = utf8.next() else {
                result.append(byte)
                break
            }
            guard second == 0x9E || second == 0x9F, let third = utf8.next() else {
                result.append(byte)
                pending.append(second)
                continue
            }
            result.append(0x80 | (second & 1) << 6 | (third & 0x3F))
        }
        return result
    }

    /// Runs `body` on the bytes `name` stands for, without copying when
    /// there is no escape in it.
    public static func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if !Self.containsEscape(name.utf8) {
            var name = name
            return try name.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
        return try Self.bytes(name).withUnsafeBytes(body)
    }

    /// How many bytes `name` stands for.
    public static func byteCount(_ name: some StringProtocol) -> Int {
        Self.byteCount(utf8: name.utf8)
    }

    /// How many bytes `name` stands for, over its contiguous UTF-8: the
    /// generic form, called from other modules, is not specialised and
    /// costs a witness call per byte (READDIRPLUS counts every name).
    public static func byteCount(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { Self.byteCount(utf8: $0) }
    }

    /// How many bytes the in-memory UTF-8 `utf8` stand for (an escape
    /// character takes three bytes in memory and stands for one).
    public static func byteCount<Bytes: Collection>(utf8: Bytes) -> Int where Bytes.Element == UInt8 {
        var count = 0
        var previous: UInt8 = 0
        for byte in utf8 {
            count += 1
            if previous == 0xEF && (byte == 0x9E || byte == 0x9F) { count -= 2 }
            previous = byte
        }
        return count
    }

    /// Whether `name` holds bytes that are not UTF-8 (or escape characters).
    public static func hasEscapes(_ name: some StringProtocol) -> Bool {
        Self.containsEscape(name.utf8)
    }

    /// `name` for people: logs, `p2pfs ls`, JSON. A byte that is not UTF-8
    /// shows as `\xHH` (upper-case hex), a control character (below 0x20, or
    /// 0x7F) as `\xHH` too, and a backslash as `\\`; everything else as is.
    /// So `caf\xE9` is the four bytes 63 61 66 E9 (Latin-1 "café"), and the
    /// shown text tells every distinct name apart.
    public static func display(_ name: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            let value = scalar.value
            if value >= Self.escapeBase + 0x80 && value <= Self.escapeBase + 0xFF {
                result += Self.hex(UInt8(value - Self.escapeBase))
            } else if value < 0x20 || value == 0x7F {
                result += Self.hex(UInt8(value))
            } else if scalar == "\\" {
                result += "\\\\"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The name `display` shows as `text`: `\xHH` is the byte HH, `\\` a
    /// backslash; any other character (a backslash included) is itself. So
    /// `p2pfs ls 'music/caf\xE9'` names the Latin-1 file `ls` showed so.
    public static func parseDisplayed(_ text: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 1 < utf8.count {
                if utf8[index + 1] == UInt8(ascii: "\\") {
                    bytes.append(UInt8(ascii: "\\"))
                    index += 2
                    continue
                }
                if utf8[index + 1] == UInt8(ascii: "x"), index + 3 < utf8.count,
                    utf8[index + 2...index + 3].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                    let byte = UInt8(String(decoding: utf8[index + 2...index + 3], as: UTF8.self), radix: 16)
                {
                    bytes.append(byte)
                    index += 4
                    continue
                }
            }
            bytes.append(utf8[index])
            index += 1
        }
        return Self.string(bytes)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }

    static func isEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= Self.escapeBase + 0x80 && scalar.value <= Self.escapeBase + 0xFF
    }

    private static func containsEscape<Bytes: Sequence>(_ utf8: Bytes) -> Bool where Bytes.Element == UInt8 {
        var previous: UInt8 = 0
        for byte in utf8 {
            if previous == 0xEF && (byte == 0x9E || byte == 0x9F) { return true }
            previous = byte
        }
        return false
    }

    /// The well-formed UTF-8 sequence at `index` (Unicode Table 3-7).
    private static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0: length = 3; value = 0; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xED: length = 3; value = 0x0D; upper = 0x9F
        case 0xF0: length = 4; value = 0; lower = 0x90
        case 0xF1...0xF3: length = 4; value = UInt32(lead & 0x07)
        case 0xF4: length = 4; value = 4; upper = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let low = offset == 1 ? lower : 0x80
            let high = offset == 1 ? upper : 0xBF
            guard byte >= low && byte <= high else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}

/// Why a name or path cannot be served.
public enum NameRefusal: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// An empty component: a leading, trailing or doubled '/' (a name that
    /// contained '/' on the sender's side, or a hostile path).
    case slash
    /// A NUL byte: no POSIX name can hold one.
    case nul
    /// "." or "..".
    case dot
    /// A component longer than 255 bytes.
    case tooLong
    /// A path longer than 4096 bytes.
    case pathTooLong
    /// An empty path.
    case empty

    public var description: String {
        switch self {
        case .slash: "contains '/'"
        case .nul: "contains NUL"
        case .dot: "is '.' or '..'"
        case .tooLong: "longer than 255 bytes"
        case .pathTooLong: "path longer than 4096 bytes"
        case .empty: "empty"
        }
    }

    public static func < (lhs: NameRefusal, rhs: NameRefusal) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// How many names were refused, by reason.
public struct NameRefusals: Sendable, Equatable, CustomStringConvertible {
    public private(set) var counts: [NameRefusal: Int] = [:]
    /// The first path refused for each reason, for the log.
    public private(set) var examples: [NameRefusal: String] = [:]

    public init() {}

    public init(counts: [NameRefusal: Int]) {
        self.counts = counts.filter { $0.value > 0 }
    }

    public mutating func add(_ reason: NameRefusal, count: Int = 1, example: String? = nil) {
        self.counts[reason, default: 0] += count
        if let example, self.examples[reason] == nil { self.examples[reason] = example }
    }

    /// The counts with an escaped example path each, for the log.
    public var detailedDescription: String {
        self.counts.keys.sorted().map { reason in
            "\(self.counts[reason]!) \(reason)" + (self.examples[reason].map { " (e.g. \(NameBytes.display($0)))" } ?? "")
        }.joined(separator: ", ")
    }

    public mutating func add(_ other: NameRefusals) {
        for (reason, count) in other.counts { self.add(reason, count: count) }
    }

    public var total: Int { self.counts.values.reduce(0, +) }
    public var isEmpty: Bool { self.total == 0 }

    /// "2 longer than 255 bytes, 1 contains NUL".
    public var description: String {
        self.counts.keys.sorted().map { "\(self.counts[$0]!) \($0)" }.joined(separator: ", ")
    }
}
