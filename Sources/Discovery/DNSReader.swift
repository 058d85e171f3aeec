/// Reads DNS wire format from a whole message, which compression pointers
/// index into. Every read is bounds-checked and throws `DNSError`.
struct DNSReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    /// Jumps a single name may take; strictly backward pointers already
    /// guarantee termination, this also bounds the work per name.
    static let maximumPointerHops = 128

    init(bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    private func need(_ count: Int, at position: Int) throws(DNSError) {
        guard position <= bytes.count, count <= bytes.count - position else {
            throw .truncated(offset: position, needed: count)
        }
    }

    mutating func readUInt8() throws(DNSError) -> UInt8 {
        try need(1, at: offset)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSError) -> UInt16 {
        try need(2, at: offset)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSError) -> UInt32 {
        try need(4, at: offset)
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readBytes(_ count: Int) throws(DNSError) -> [UInt8] {
        try need(count, at: offset)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// Reads a possibly compressed name. Each pointer must point strictly
    /// before the start of the segment that contained it, so the chain of
    /// targets strictly decreases: no loop, no forward reference.
    mutating func readName() throws(DNSError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var segmentStart = offset
        var resumeAt: Int? = nil
        var hops = 0
        while true {
            try need(1, at: position)
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    offset = resumeAt ?? position + 1
                    return try DNSName(labels: labels)
                }
                try need(1 + Int(length), at: position)
                wireLength += 1 + Int(length)
                guard wireLength <= DNSName.maximumWireLength else { throw .nameTooLong(length: wireLength) }
                labels.append(Array(bytes[position + 1...position + Int(length)]))
                position += 1 + Int(length)
            case 0xC0:
                try need(2, at: position)
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                hops += 1
                guard target < segmentStart, hops <= Self.maximumPointerHops else {
                    throw .badCompressionPointer(offset: position, target: target)
                }
                if resumeAt == nil { resumeAt = position + 2 }
                segmentStart = target
                position = target
            default:
                throw .unsupportedLabelType(offset: position, byte: length)
            }
        }
    }

    mutating func readQuestion() throws(DNSError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        return DNSQuestion(name: name, type: type, unicastResponse: rawClass & 0x8000 != 0, questionClass: rawClass & 0x7FFF)
    }

    mutating func readRecord() throws(DNSError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        try need(length, at: offset)
        let end = offset + length
        let data = try readRecordData(type: type, end: end)
        guard offset == end else {
            throw .badRecordData(type: type.rawValue, reason: "\(end - offset) bytes left over in RDATA")
        }
        return DNSResourceRecord(
            name: name, data: data, ttl: ttl, cacheFlush: rawClass & 0x8000 != 0, recordClass: rawClass & 0x7FFF)
    }

    /// Reads RDATA ending at `end`; names inside may point anywhere before them.
    private mutating func readRecordData(type: DNSRecordType, end: Int) throws(DNSError) -> DNSRecordData {
        let length = end - offset
        func checkInside() throws(DNSError) {
            guard offset <= end else { throw .badRecordData(type: type.rawValue, reason: "runs past its RDLENGTH") }
        }
        switch type {
        case .a:
            guard length == 4 else { throw .badRecordData(type: type.rawValue, reason: "length \(length), not 4") }
            return .a(try readBytes(4))
        case .aaaa:
            guard length == 16 else { throw .badRecordData(type: type.rawValue, reason: "length \(length), not 16") }
            return .aaaa(try readBytes(16))
        case .ptr:
            let name = try readName()
            try checkInside()
            return .ptr(name)
        case .srv:
            guard length >= 7 else { throw .badRecordData(type: type.rawValue, reason: "length \(length), below 7") }
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            let target = try readName()
            try checkInside()
            return .srv(priority: priority, weight: weight, port: port, target: target)
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(try readUInt8())
                guard count <= end - offset else {
                    throw .badRecordData(type: type.rawValue, reason: "string of \(count) bytes runs past its RDLENGTH")
                }
                strings.append(try readBytes(count))
            }
            // A single empty string is RFC 6763 §6.1's "no keys".
            return .txt(strings == [[]] ? [] : strings)
        case .nsec:
            let next = try readName()
            try checkInside()
            var types = Set<DNSRecordType>()
            var lastWindow = -1
            while offset < end {
                let window = Int(try readUInt8())
                let bitmapLength = Int(try readUInt8())
                guard window > lastWindow, (1...32).contains(bitmapLength), bitmapLength <= end - offset else {
                    throw .badRecordData(type: type.rawValue, reason: "bad type bitmap window \(window) length \(bitmapLength)")
                }
                lastWindow = window
                for (index, byte) in try readBytes(bitmapLength).enumerated() {
                    for bit in 0..<8 where byte & (0x80 >> bit) != 0 {
                        types.insert(DNSRecordType(rawValue: UInt16(window << 8 | index * 8 + bit)))
                    }
                }
            }
            return .nsec(next: next, types: types)
        default:
            return .unknown(type: type, bytes: try readBytes(length))
        }
    }
}
