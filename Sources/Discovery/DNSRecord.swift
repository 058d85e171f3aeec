/// A DNS resource record type code (RFC 1035 §3.2.2, RFC 3596, RFC 4034).
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    public static let nsec = DNSRecordType(rawValue: 47)
    /// Only in questions: every type.
    public static let any = DNSRecordType(rawValue: 255)

    public var description: String {
        switch self {
        case .a: "A"
        case .ptr: "PTR"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .nsec: "NSEC"
        case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The class IN; the only one mDNS uses here.
public let dnsClassIN: UInt16 = 1

/// The data of a resource record, typed for the records DNS-SD needs.
public enum DNSRecordData: Hashable, Sendable {
    /// IPv4 address, network byte order.
    case a([UInt8])
    /// IPv6 address, network byte order.
    case aaaa([UInt8])
    case ptr(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// Character strings, each at most 255 bytes (RFC 6763 §6).
    case txt([[UInt8]])
    /// The next name (in mDNS, the owner itself) and the types that exist
    /// (RFC 6762 §6.1): a negative answer for every other type.
    case nsec(next: DNSName, types: Set<DNSRecordType>)
    /// Any other type, kept as raw bytes.
    case unknown(type: DNSRecordType, bytes: [UInt8])

    public var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ptr: .ptr
        case .srv: .srv
        case .txt: .txt
        case .nsec: .nsec
        case .unknown(let type, _): type
        }
    }
}

/// A resource record (RFC 1035 §4.1.3) with the mDNS cache-flush bit
/// (RFC 6762 §10.2), the top bit of the class field.
public struct DNSResourceRecord: Hashable, Sendable {
    public var name: DNSName
    public var data: DNSRecordData
    public var recordClass: UInt16
    /// Set on records this responder owns alone: caches drop older copies.
    public var cacheFlush: Bool
    /// Seconds; 0 is a goodbye (RFC 6762 §10.1).
    public var ttl: UInt32

    public init(name: DNSName, data: DNSRecordData, ttl: UInt32, cacheFlush: Bool = false, recordClass: UInt16 = dnsClassIN) {
        self.name = name
        self.data = data
        self.ttl = ttl
        self.cacheFlush = cacheFlush
        self.recordClass = recordClass
    }

    public var type: DNSRecordType { data.type }
}

/// A question (RFC 1035 §4.1.2) with the mDNS unicast-response bit
/// (RFC 6762 §5.4), the top bit of the class field.
public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var questionClass: UInt16
    /// The asker prefers a unicast reply (a "QU" question).
    public var unicastResponse: Bool

    public init(name: DNSName, type: DNSRecordType, unicastResponse: Bool = false, questionClass: UInt16 = dnsClassIN) {
        self.name = name
        self.type = type
        self.unicastResponse = unicastResponse
        self.questionClass = questionClass
    }

    /// Whether `record` answers this question (same name, matching type and class).
    public func isAnswered(by record: DNSResourceRecord) -> Bool {
        record.name == name && (type == .any || type == record.type)
            && (questionClass == 255 || questionClass == record.recordClass)
    }
}
