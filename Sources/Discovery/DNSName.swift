/// A domain name as a sequence of labels (RFC 1035 §3.1).
///
/// Labels are raw bytes, since DNS-SD instance names are free UTF-8
/// (RFC 6763 §4.1.1) and hostile packets carry anything. Comparison and
/// hashing ignore ASCII case only, as RFC 6762 §16 requires.
public struct DNSName: Sendable, CustomStringConvertible {
    /// The labels, without the empty root label.
    public let labels: [[UInt8]]

    /// The longest label, in bytes.
    public static let maximumLabelLength = 63
    /// The longest name in wire form (length bytes, labels and the root byte).
    public static let maximumWireLength = 255

    /// Validates label and name lengths.
    public init(labels: [[UInt8]]) throws(DNSError) {
        var wireLength = 1
        for label in labels {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.count <= Self.maximumLabelLength else { throw .labelTooLong(length: label.count) }
            wireLength += 1 + label.count
        }
        guard wireLength <= Self.maximumWireLength else { throw .nameTooLong(length: wireLength) }
        self.labels = labels
    }

    /// Labels given as strings, each label taken whole (dots inside a
    /// label stay part of it, as in an instance name like "Anna's files.").
    public init(_ labels: [String]) throws(DNSError) {
        try self.init(labels: labels.map { Array($0.utf8) })
    }

    /// A dotted name with no escapes, for fixed names such as `_p2pfs._tcp.local`.
    public init(dotted: String) throws(DNSError) {
        try self.init(dotted.split(separator: ".", omittingEmptySubsequences: true).map(String.init))
    }

    /// The wire length: one length byte per label, the labels, the root byte.
    public var wireLength: Int {
        labels.reduce(1) { $0 + 1 + $1.count }
    }

    /// This name with `label` in front, as an instance name is put in front
    /// of its service type.
    public func prepending(_ label: [UInt8]) throws(DNSError) -> DNSName {
        try DNSName(labels: [label] + labels)
    }

    /// Whether `suffix` is this name or one of its ancestors.
    public func hasSuffix(_ suffix: DNSName) -> Bool {
        guard suffix.labels.count <= labels.count else { return false }
        let tail = labels.suffix(suffix.labels.count)
        return zip(tail, suffix.labels).allSatisfy { Self.labelsEqual($0, $1) }
    }

    /// Dotted form; dots and backslashes inside labels are escaped and bytes
    /// outside printable ASCII are shown as `\DDD`, so a hostile name cannot
    /// masquerade as another in a log line.
    public var description: String {
        if labels.isEmpty { return "." }
        return labels.map { label in
            var text = ""
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text += String(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }.joined(separator: ".")
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    static func labelsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lowercased($0) == lowercased($1) }
    }
}

extension DNSName: Hashable {
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.labels.count == rhs.labels.count && zip(lhs.labels, rhs.labels).allSatisfy { labelsEqual($0, $1) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(labels.count)
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.lowercased(byte)) }
        }
    }
}
