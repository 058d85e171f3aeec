import NIOCore
import XDR

/// `stateid4`: a sequence number and 12 bytes naming one piece of state.
///
/// p2pfs fills `other` with the server's boot verifier (4 bytes) and a
/// counter (8 bytes), so a stateid from before a restart is recognisably
/// not ours rather than colliding with a new one.
public struct StateID4: Hashable, Sendable, CustomStringConvertible {
    public var seqid: UInt32
    public var other: Other

    /// The 12 bytes, as two integers so the value hashes cheaply.
    public struct Other: Hashable, Sendable {
        public var boot: UInt32
        public var counter: UInt64

        public init(boot: UInt32, counter: UInt64) {
            self.boot = boot
            self.counter = counter
        }

        public static let zero = Other(boot: 0, counter: 0)
        public static let ones = Other(boot: .max, counter: .max)
    }

    public init(seqid: UInt32, other: Other) {
        self.seqid = seqid
        self.other = other
    }

    /// The anonymous stateid (all zeros): READ without an OPEN.
    public static let anonymous = StateID4(seqid: 0, other: .zero)
    /// READ bypass (all ones): treated like the anonymous stateid here.
    public static let bypass = StateID4(seqid: .max, other: .ones)
    /// "The current stateid" (RFC 8881 §16.2.3.1.2): the one the previous
    /// operation of the COMPOUND produced.
    public static let current = StateID4(seqid: 1, other: .zero)

    public var isSpecial: Bool { self.other == .zero || self.other == .ones }

    public var description: String { "stateid(\(self.seqid):\(self.other.boot):\(self.other.counter))" }
}

extension StateID4: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.seqid = try buffer.readXDRUInt32()
        self.other = Other(boot: try buffer.readXDRUInt32(), counter: try buffer.readXDRUInt64())
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.seqid) + buffer.writeXDRUInt32(self.other.boot) + buffer.writeXDRUInt64(self.other.counter)
    }
}
