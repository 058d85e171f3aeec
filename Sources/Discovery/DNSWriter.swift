/// Writes DNS wire format, compressing every name against the suffixes
/// already written (RFC 1035 §4.1.4).
struct DNSWriter {
    private(set) var bytes: [UInt8] = []
    /// Offsets of name suffixes written so far, keyed by the suffix.
    private var suffixOffsets: [DNSName: Int] = [:]
    /// Off for canonical forms, such as the RDATA compared in probe tie-breaks.
    var compressing = true

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    /// Writes `name`, ending in a pointer at the longest suffix already
    /// written. Pointers reach only the first 16 KiB (14-bit offsets).
    mutating func writeName(_ name: DNSName, compress: Bool = true) {
        let labels = name.labels
        for index in labels.indices {
            // A DNSName is valid by construction, so its suffixes are too.
            let suffix = try! DNSName(labels: Array(labels[index...]))
            if compress, compressing, let target = suffixOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if compress, compressing, bytes.count < 0x4000 { suffixOffsets[suffix] = bytes.count }
            bytes.append(UInt8(labels[index].count))
            bytes.append(contentsOf: labels[index])
        }
        bytes.append(0)
    }

    mutating func writeQuestion(_ question: DNSQuestion) {
        writeName(question.name)
        writeUInt16(question.type.rawValue)
        writeUInt16(question.questionClass & 0x7FFF | (question.unicastResponse ? 0x8000 : 0))
    }

    mutating func writeRecord(_ record: DNSResourceRecord) throws(DNSError) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass & 0x7FFF | (record.cacheFlush ? 0x8000 : 0))
        writeUInt32(record.ttl)
        let lengthAt = bytes.count
        writeUInt16(0)
        switch record.data {
        case .a(let address):
            guard address.count == 4 else { throw .badRecordData(type: 1, reason: "address of \(address.count) bytes") }
            bytes += address
        case .aaaa(let address):
            guard address.count == 16 else { throw .badRecordData(type: 28, reason: "address of \(address.count) bytes") }
            bytes += address
        case .ptr(let target):
            writeName(target)
        case .srv(let priority, let weight, let port, let target):
            writeUInt16(priority)
            writeUInt16(weight)
            writeUInt16(port)
            // RFC 6762 §18.14 allows compressing the SRV target.
            writeName(target)
        case .txt(let strings):
            if strings.isEmpty { bytes.append(0) }
            for string in strings {
                guard string.count <= 255 else { throw .badRecordData(type: 16, reason: "string of \(string.count) bytes") }
                bytes.append(UInt8(string.count))
                bytes += string
            }
        case .nsec(let next, let types):
            // RFC 6762 §18.14 compresses the NSEC next name too (unlike
            // unicast DNSSEC, mDNS has no canonical form to sign).
            writeName(next)
            let byWindow = Dictionary(grouping: types.map(\.rawValue)) { $0 >> 8 }
            for window in byWindow.keys.sorted() {
                let low = byWindow[window]!.map { Int($0 & 0xFF) }
                var bitmap = [UInt8](repeating: 0, count: low.max()! / 8 + 1)
                for bit in low { bitmap[bit / 8] |= 0x80 >> UInt8(bit % 8) }
                bytes.append(UInt8(window))
                bytes.append(UInt8(bitmap.count))
                bytes += bitmap
            }
        case .unknown(_, let raw):
            bytes += raw
        }
        let length = bytes.count - lengthAt - 2
        guard length <= Int(UInt16.max) else { throw .messageTooLarge(size: length, limit: Int(UInt16.max)) }
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}

extension DNSResourceRecord {
    /// RDATA with every name written in full: what RFC 6762 §8.2 compares
    /// when two hosts probe for the same name.
    var canonicalRecordData: [UInt8] {
        var writer = DNSWriter()
        writer.compressing = false
        // Writing a record we built ourselves does not fail; a record that
        // would (a malformed address) compares as its type alone.
        guard (try? writer.writeRecord(DNSResourceRecord(name: try! DNSName(labels: []), data: data, ttl: 0))) != nil else {
            return []
        }
        return Array(writer.bytes.dropFirst(11))
    }
}
