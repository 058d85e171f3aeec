import NIOCore
import XDR

/// `bitmap4`: attribute numbers as bits of 32-bit words (RFC 8881 §3.3.7).
public struct Bitmap4: Hashable, Sendable, CustomStringConvertible {
    /// Longest bitmap accepted from a client; attribute numbers stop at 87.
    public static let maximumWords = 8

    public private(set) var words: [UInt32]

    public init(words: [UInt32] = []) {
        self.words = words
    }

    public init(_ bits: some Sequence<Int>) {
        self.words = []
        for bit in bits { self.insert(bit) }
    }

    public func contains(_ bit: Int) -> Bool {
        let word = bit / 32
        return word < self.words.count && self.words[word] & (1 << UInt32(bit % 32)) != 0
    }

    public mutating func insert(_ bit: Int) {
        let word = bit / 32
        while self.words.count <= word { self.words.append(0) }
        self.words[word] |= 1 << UInt32(bit % 32)
    }

    /// Set bits in ascending order: the order of values in `fattr4`.
    public var bits: [Int] {
        var bits: [Int] = []
        for (index, word) in self.words.enumerated() where word != 0 {
            for bit in 0..<32 where word & (1 << UInt32(bit)) != 0 {
                bits.append(index * 32 + bit)
            }
        }
        return bits
    }

    public func intersection(_ other: Bitmap4) -> Bitmap4 {
        var words = zip(self.words, other.words).map { $0 & $1 }
        while let last = words.last, last == 0 { words.removeLast() }
        return Bitmap4(words: words)
    }

    public func subtracting(_ other: Bitmap4) -> Bitmap4 {
        var words = self.words
        for index in words.indices where index < other.words.count {
            words[index] &= ~other.words[index]
        }
        while let last = words.last, last == 0 { words.removeLast() }
        return Bitmap4(words: words)
    }

    public var isEmpty: Bool { self.words.allSatisfy { $0 == 0 } }

    public var description: String { "\(self.bits)" }
}

extension Bitmap4: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.words = try buffer.readXDRArray(limit: Self.maximumWords) { buffer throws(XDRError) in try buffer.readXDRUInt32() }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRArray(self.words) { $0.writeXDRUInt32($1) }
    }
}
