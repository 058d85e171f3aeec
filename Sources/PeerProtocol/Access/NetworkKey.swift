import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The shared secret of a closed network (`--network-key-file`): only nodes
/// that hold the same key crawl, serve and answer each other.
///
/// The key is whatever bytes its file holds, less leading and trailing
/// whitespace (the newline that `base64` or an editor adds), at least
/// `minimumLength` of them. It is used as an HMAC-SHA256 key as it is; see
/// `PeerHandshake` for what is authenticated with it.
public struct NetworkKey: Sendable {
    public static let minimumLength = 16
    /// Larger files are refused: a key file that big is a wrong path.
    public static let maximumFileLength = 64 * 1024

    private let box: KeyBox
    var symmetricKey: SymmetricKey { self.box.key }
    /// A short, non-secret name of the key (hex), so that operators can tell
    /// from logs whether two nodes hold the same key.
    public let fingerprint: String

    /// A key from the bytes of a key file.
    public init(bytes: some Collection<UInt8>) throws(NetworkKeyError) {
        let content = Self.trimmingWhitespace(Array(bytes))
        guard content.count >= Self.minimumLength else {
            throw .tooShort(path: nil, length: content.count)
        }
        self.box = KeyBox(SymmetricKey(data: content))
        let digest = SHA256.hash(data: Array("p2pfs-network-key-fingerprint-v1".utf8) + content)
        self.fingerprint = digest.prefix(6).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }

    /// Reads a key file, once.
    public init(contentsOfFile path: String) throws(NetworkKeyError) {
        let bytes = try Self.readFile(path)
        do {
            try self.init(bytes: bytes)
        } catch .tooShort(_, let length) {
            throw .tooShort(path: path, length: length)
        } catch {
            throw error
        }
    }

    /// True when a key file's permissions let users other than its owner
    /// read it (a warning, not an error).
    public static func isReadableByOthers(path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o044 != 0
    }

    static func trimmingWhitespace(_ bytes: [UInt8]) -> [UInt8] {
        func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return Array(bytes[first...last])
    }

    private static func readFile(_ path: String) throws(NetworkKeyError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & 0o170000 == 0o100000 else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= Self.maximumFileLength else {
                throw .tooLong(path: path, limit: Self.maximumFileLength)
            }
        }
        return bytes
    }
}

/// `SymmetricKey` is an immutable value that swift-crypto does not mark
/// `Sendable`; it is never mutated after creation here.
private final class KeyBox: @unchecked Sendable {
    let key: SymmetricKey

    init(_ key: SymmetricKey) {
        self.key = key
    }
}

/// Why a network key could not be had, as the user reads it (one line).
public enum NetworkKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case tooShort(path: String?, length: Int)
    case tooLong(path: String, limit: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "network key file '\(path)': \(reason)"
        case .tooShort(let path, let length):
            "network key\(path.map { " file '\($0)'" } ?? "") holds \(length) bytes, a key needs at least \(NetworkKey.minimumLength) (make one with: head -c 32 /dev/urandom | base64 > FILE)"
        case .tooLong(let path, let limit):
            "network key file '\(path)' is larger than \(limit) bytes: is it the right file?"
        }
    }
}
