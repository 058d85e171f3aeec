import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An inet universal address (RFC 1833 §2.1, RFC 5665 §5.2.3):
/// "h1.h2.h3.h4.p1.p2" for IPv4 and "x:x::x.p1.p2" for IPv6, where p1 and p2
/// are the high and low bytes of the port in decimal.
public struct UniversalAddress: Sendable, Hashable, CustomStringConvertible {
    /// The IP address in its usual text form ("127.0.0.1", "::1").
    public var host: String
    public var port: UInt16

    /// Fails unless `host` is a literal IPv4 or IPv6 address.
    public init?(host: String, port: UInt16) {
        guard let normalized = Self.normalize(host) else { return nil }
        self.host = normalized.text
        self.port = port
    }

    /// Parses a universal address; nil for anything that is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3,
            let high = Self.byte(parts[parts.count - 2]),
            let low = Self.byte(parts[parts.count - 1])
        else { return nil }
        let host = parts[..<(parts.count - 2)].joined(separator: ".")
        self.init(host: host, port: UInt16(high) << 8 | UInt16(low))
    }

    /// The universal address of an IPv4 or IPv6 socket address.
    public init?(_ address: SocketAddress) {
        switch address {
        case .v4, .v6:
            guard let ip = address.ipAddress, let port = address.port, let value = UInt16(exactly: port) else { return nil }
            self.init(host: ip, port: value)
        case .unixDomainSocket:
            return nil
        }
    }

    public var isIPv6: Bool { self.host.contains(":") }

    /// True for 0.0.0.0 and ::, the addresses of a service bound to every interface.
    public var isWildcard: Bool { self.host == "0.0.0.0" || self.host == "::" }

    public var description: String { "\(self.host).\(self.port >> 8).\(self.port & 0xFF)" }

    /// The same port on another host (used to merge a wildcard address with
    /// the address a client reached the portmapper on).
    public func replacingHost(with host: String) -> UniversalAddress? {
        UniversalAddress(host: host, port: self.port)
    }

    private static func byte(_ text: Substring) -> UInt8? {
        guard !text.isEmpty, text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt8(text)
    }

    private static func normalize(_ host: String) -> (text: String, isIPv6: Bool)? {
        if host.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return nil }
            return (String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), true)
        }
        // inet_pton accepts exactly the dotted-quad form, which is what a
        // universal address must contain.
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return nil }
        return (host, false)
    }
}

extension SocketAddress {
    /// True for addresses that can only belong to this machine: 127.0.0.0/8,
    /// ::1, IPv4-mapped 127.x.y.z, and UNIX domain sockets.
    public var isLoopback: Bool {
        switch self {
        case .unixDomainSocket:
            return true
        case .v4(let address):
            return UInt32(bigEndian: address.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let address):
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            let mapped = bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF
            return mapped && bytes[12] == 127
        }
    }
}
