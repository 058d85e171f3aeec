#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A name or path (a `NameBytes` string) that is equal, hashed and ordered
/// by the bytes it stands for: the key wherever names or paths are kept in
/// a dictionary or set, or sorted.
///
/// Swift's `String` compares and hashes by Unicode canonical equivalence:
/// NFC "café" (63 61 66 C3 A9) and NFD "café" (63 61 66 65 CC 81) are one
/// `String` key, but two files on Linux and two names on the wire. Keyed
/// by `String`, two such directories in one parent would share an entry.
///
/// The order is that of the bytes (as `ls` sorts under `LC_ALL=C`): an
/// escaped byte (`NameBytes`) sorts as the one byte it stands for, not as
/// its three bytes in memory.
public struct ExactPath: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var string: String

    public init(_ string: String) {
        self.string = string
    }

    public init(_ string: Substring) {
        self.string = String(string)
    }

    public init(stringLiteral value: String) {
        self.string = value
    }

    /// Shown as `NameBytes.display` shows it, so distinct paths read apart.
    public var description: String { NameBytes.display(self.string) }

    public static func == (lhs: ExactPath, rhs: ExactPath) -> Bool {
        guard lhs.string.utf8.count == rhs.string.utf8.count else { return false }
        return Self.withUTF8(lhs.string) { a in
            Self.withUTF8(rhs.string) { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
    }

    public func hash(into hasher: inout Hasher) {
        Self.withUTF8(self.string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        // A terminator, so that ("ab", "c") and ("a", "bc") hash apart in
        // a key made of several paths.
        hasher.combine(0xFF as UInt8)
    }

    /// Byte order.
    public static func < (lhs: ExactPath, rhs: ExactPath) -> Bool {
        Self.withUTF8(lhs.string) { a in Self.withUTF8(rhs.string) { b in Self.precedes(a, b, slashFirst: false) } }
    }

    /// Path order: component by component, each compared by its bytes, so
    /// a directory comes right before its subtree ("a", "a/b", "a-b";
    /// byte order puts "a-b" before "a/b"). For single names it is byte
    /// order.
    public func precedesInPathOrder(_ other: ExactPath) -> Bool {
        Self.withUTF8(self.string) { a in Self.withUTF8(other.string) { b in Self.precedes(a, b, slashFirst: true) } }
    }

    /// The contiguous UTF-8 of `string`, without copying a native string.
    private static func withUTF8<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var string = string
        return try string.withUTF8(body)
    }

    /// Whether the bytes the UTF-8 `a` stands for come before those of
    /// `b`; with `slashFirst`, '/' sorts before every other byte.
    ///
    /// In memory both are compared as they are, unless the first
    /// difference lies in an escape (which stands for one byte 0x80...0xFF
    /// but is three bytes EF 9E/9F xx in memory): then the rest of both is
    /// turned back into bytes first. Rare, and only that case allocates.
    static func precedes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, slashFirst: Bool) -> Bool {
        let common = min(a.count, b.count)
        var index = 0
        while index < common && a[index] == b[index] { index += 1 }
        if index == a.count && index == b.count { return false }
        // The start of the character the difference lies in (the prefix
        // is shared, so it is a character boundary in both).
        var start = index
        let longer = index < a.count ? a : b
        while start > 0 && longer[start] & 0xC0 == 0x80 { start -= 1 }
        if Self.isEscape(a, at: start) || Self.isEscape(b, at: start) {
            let left = NameBytes.bytes(String(decoding: UnsafeBufferPointer(rebasing: a[start...]), as: UTF8.self))
            let right = NameBytes.bytes(String(decoding: UnsafeBufferPointer(rebasing: b[start...]), as: UTF8.self))
            return left.withUnsafeBufferPointer { left in
                right.withUnsafeBufferPointer { right in Self.precedesPlain(left, right, from: 0, slashFirst: slashFirst) }
            }
        }
        return Self.precedesPlain(a, b, from: index, slashFirst: slashFirst)
    }

    /// Plain lexicographic order of byte strings equal before `from`; the
    /// end of a string sorts first, then '/' when `slashFirst`.
    private static func precedesPlain(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, from: Int, slashFirst: Bool
    ) -> Bool {
        var index = from
        while index < a.count && index < b.count && a[index] == b[index] { index += 1 }
        func rank(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            guard index < bytes.count else { return -2 }
            return slashFirst && bytes[index] == UInt8(ascii: "/") ? -1 : Int(bytes[index])
        }
        return rank(a) < rank(b)
    }

    /// Whether an escape (EF 9E xx or EF 9F xx) starts at `index`.
    private static func isEscape(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        index + 1 < utf8.count && utf8[index] == 0xEF && (utf8[index + 1] == 0x9E || utf8[index + 1] == 0x9F)
    }
}
