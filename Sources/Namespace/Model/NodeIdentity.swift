/// Who offers a catalog: a node's stable id and its human-readable name.
///
/// The id is random once and then persisted in the node's state directory,
/// so it survives restarts; the name shows up in conflict variants
/// (`KillBill@name`) and in `p2pfs peers`.
public struct NodeIdentity: Hashable, Sendable, CustomStringConvertible {
    public var id: NodeID
    public var name: String

    public init(id: NodeID, name: String) {
        self.id = id
        self.name = name
    }

    public var description: String { "\(self.name) (\(self.id))" }

    /// Node names are single path-safe words: they become part of file names.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
            && name != "." && name != ".."
    }
}

/// A node's 128-bit random identifier.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static func random() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        return NodeID(high: generator.next(), low: generator.next())
    }

    /// Parses the 32-hex-digit form produced by `description`.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32,
            let high = UInt64(hex.prefix(16), radix: 16),
            let low = UInt64(hex.suffix(16), radix: 16)
        else { return nil }
        self.init(high: high, low: low)
    }

    public var description: String {
        Self.hex(self.high) + Self.hex(self.low)
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
