/// What one node announces as its `_p2pfs._tcp.local` instance (RFC 6763):
/// a PTR from the service type, SRV to its peer port, TXT with its id,
/// protocol version and roles, and its addresses.
///
/// Nothing else: no file names, no export paths, no key material. On a
/// closed network a keyless listener learns that a node exists and where,
/// which the HELLO refuses to go beyond.
public struct ServiceAdvertisement: Hashable, Sendable {
    public static let serviceType = try! DNSName(dotted: "_p2pfs._tcp.local")
    /// RFC 6763 §9: the meta-query that lists every service type on the link.
    public static let serviceTypeEnumeration = try! DNSName(dotted: "_services._dns-sd._udp.local")
    /// RFC 6762 §10: records naming a host live 120 s, the others 75 min.
    public static let hostRecordTTL: UInt32 = 120
    public static let otherRecordTTL: UInt32 = 4500

    /// The instance label, unique on the link once probing succeeded.
    public var instanceLabel: String
    /// The host label, under `local`.
    public var hostLabel: String
    public var port: UInt16
    /// 32 lowercase hex digits.
    public var nodeID: String
    public var protocolVersion: UInt32
    public var roles: [String]
    /// IPv4 (4 bytes) and IPv6 (16 bytes) addresses, network order.
    public var addresses: [[UInt8]]

    /// Builds the advertisement for a node: its name becomes the instance
    /// label (cut to 50 bytes, leaving room for a " (NN)" suffix) and,
    /// restricted to host-name characters, with the id's first 8 digits,
    /// the host label.
    public init(nodeName: String, nodeID: String, port: UInt16, protocolVersion: UInt32, roles: [String], addresses: [[UInt8]]) {
        self.instanceLabel = Self.cut(nodeName.isEmpty ? "p2pfs" : nodeName, toBytes: 50)
        let hostSafe = String(
            nodeName.lowercased().map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? $0 : "-" }.prefix(40))
        self.hostLabel = (hostSafe.isEmpty ? "p2pfs" : hostSafe) + "-" + String(nodeID.lowercased().prefix(8))
        self.port = port
        self.nodeID = nodeID.lowercased()
        self.protocolVersion = protocolVersion
        self.roles = roles
        self.addresses = addresses
    }

    public var instanceName: DNSName { try! Self.serviceType.prepending(Self.cut(instanceLabel, toBytes: 63).utf8.map { $0 }) }
    public var hostName: DNSName { try! DNSName(labels: [Array(Self.cut(hostLabel, toBytes: 63).utf8), Array("local".utf8)]) }

    /// The TXT strings, `key=value` as RFC 6763 §6.3 lays out.
    public var txtStrings: [[UInt8]] {
        [Array("id=\(nodeID)".utf8), Array("v=\(protocolVersion)".utf8), Array("roles=\(roles.joined(separator: ","))".utf8)]
    }

    /// Every record this node answers for, with `ttl` overriding the
    /// defaults (0 for a goodbye). The PTR is shared; the others are
    /// unique to this node and carry the cache-flush bit.
    public func records(ttl: UInt32? = nil) -> [DNSResourceRecord] {
        let host = ttl ?? Self.hostRecordTTL
        let other = ttl ?? Self.otherRecordTTL
        var records = [
            DNSResourceRecord(name: Self.serviceType, data: .ptr(instanceName), ttl: other),
            DNSResourceRecord(
                name: instanceName, data: .srv(priority: 0, weight: 0, port: port, target: hostName), ttl: host, cacheFlush: true),
            DNSResourceRecord(name: instanceName, data: .txt(txtStrings), ttl: other, cacheFlush: true),
        ]
        for address in addresses {
            records.append(
                DNSResourceRecord(name: hostName, data: address.count == 4 ? .a(address) : .aaaa(address), ttl: host, cacheFlush: true))
        }
        return records
    }

    /// The records whose names this node must own alone: what it probes for.
    public var uniqueRecords: [DNSResourceRecord] { records().filter(\.cacheFlush) }

    /// The next instance label after a conflict: "name (2)", "name (3)"…
    /// (RFC 6763 §4.1 leaves the form to the implementation).
    public mutating func renameInstance() {
        var base = instanceLabel
        var number = 2
        if base.hasSuffix(")"), let open = base.lastIndex(of: "("), open > base.startIndex,
            let current = Int(base[base.index(after: open)..<base.index(before: base.endIndex)])
        {
            number = current + 1
            base = String(base[..<base.index(before: open)])
        }
        instanceLabel = Self.cut(base, toBytes: 50) + " (\(number))"
    }

    /// The next host label after a conflict: "host-2", "host-3"…
    public mutating func renameHost() {
        if let dash = hostLabel.lastIndex(of: "-"), hostLabel[hostLabel.index(after: dash)...].count <= 3,
            let current = Int(hostLabel[hostLabel.index(after: dash)...])
        {
            hostLabel = String(hostLabel[..<dash]) + "-\(current + 1)"
        } else {
            hostLabel += "-2"
        }
    }

    /// `text` cut to at most `count` UTF-8 bytes, on a character boundary.
    static func cut(_ text: String, toBytes count: Int) -> String {
        var result = ""
        for character in text {
            guard result.utf8.count + String(character).utf8.count <= count else { break }
            result.append(character)
        }
        return result
    }
}
