/// The SHA-256 of a file's content: what proves two sources offer the same
/// file, not merely files of the same size and mtime.
public struct ContentHash: Hashable, Sendable, CustomStringConvertible {
    public static let length = 32

    public let bytes: [UInt8]

    /// Nil unless `bytes` is exactly 32 bytes long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    public var description: String {
        self.bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
