/// A `_p2pfs._tcp` instance seen on the link, once its PTR, SRV, TXT and
/// at least one address are known: a candidate for the crawler, trusted
/// no more than an address named by hand (the HELLO decides).
public struct DiscoveredInstance: Hashable, Sendable {
    /// The full instance name, `<label>._p2pfs._tcp.local`.
    public var name: DNSName
    public var nodeID: String
    public var protocolVersion: UInt32
    public var roles: [String]
    public var port: UInt16
    public var hostName: DNSName
    /// IPv4 (4 bytes) and IPv6 (16 bytes) addresses, sorted.
    public var addresses: [[UInt8]]

    /// The TXT fields p2pfs needs, or nil when they are missing or malformed:
    /// `id=` 32 hex digits, `v=` a decimal version, `roles=` up to 8 short
    /// names. Keys compare without case and the first occurrence wins
    /// (RFC 6763 §6.4).
    static func parseTXT(_ strings: [[UInt8]]) -> (nodeID: String, version: UInt32, roles: [String])? {
        var fields: [String: String] = [:]
        for string in strings {
            guard let text = String(validating: string, as: UTF8.self), let equals = text.firstIndex(of: "=") else { continue }
            let key = text[..<equals].lowercased()
            if fields[key] == nil { fields[key] = String(text[text.index(after: equals)...]) }
        }
        guard let id = fields["id"]?.lowercased(), id.utf8.count == 32,
            id.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }),
            let versionText = fields["v"], let version = UInt32(versionText)
        else { return nil }
        let roles = (fields["roles"] ?? "").split(separator: ",").map(String.init)
        guard roles.count <= 8, roles.allSatisfy({ $0.utf8.count <= 32 }) else { return nil }
        return (id, version, roles)
    }
}
