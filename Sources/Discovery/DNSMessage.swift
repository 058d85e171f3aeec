/// A DNS message (RFC 1035 §4.1) as mDNS uses it (RFC 6762 §18).
public struct DNSMessage: Hashable, Sendable {
    public var id: UInt16
    /// The header's second 16 bits: QR, opcode, AA, TC, RD, RA, Z, RCODE.
    public var flags: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    /// QR: a response.
    public static let responseFlag: UInt16 = 0x8000
    /// AA: mDNS responses always set it (RFC 6762 §18.4).
    public static let authoritativeFlag: UInt16 = 0x0400
    /// TC: in a query, more known answers follow (RFC 6762 §7.2).
    public static let truncatedFlag: UInt16 = 0x0200

    public init(
        id: UInt16 = 0, flags: UInt16 = 0, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
    ) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    public var isResponse: Bool { flags & Self.responseFlag != 0 }
    /// RFC 6762 §18.3: messages with another opcode are ignored.
    public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }
    /// RFC 6762 §18.11: messages with another rcode are ignored.
    public var rcode: UInt8 { UInt8(flags & 0xF) }

    /// An mDNS query (id 0, no flags).
    public static func query(_ questions: [DNSQuestion], knownAnswers: [DNSResourceRecord] = []) -> DNSMessage {
        DNSMessage(questions: questions, answers: knownAnswers)
    }

    /// An mDNS response (id 0, QR and AA set, no questions: RFC 6762 §6).
    public static func response(answers: [DNSResourceRecord], additionals: [DNSResourceRecord] = []) -> DNSMessage {
        DNSMessage(flags: responseFlag | authoritativeFlag, answers: answers, additionals: additionals)
    }
}

extension DNSMessage {
    /// Decodes one message occupying all of `bytes`.
    public init(decoding bytes: [UInt8]) throws(DNSError) {
        var reader = DNSReader(bytes: bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        let authorityCount = Int(try reader.readUInt16())
        let additionalCount = Int(try reader.readUInt16())
        // No capacity is reserved from the counts: each entry consumes at
        // least five bytes or throws, so a huge count costs nothing.
        var questions: [DNSQuestion] = []
        for _ in 0..<questionCount { questions.append(try reader.readQuestion()) }
        var sections: [[DNSResourceRecord]] = []
        for count in [answerCount, authorityCount, additionalCount] {
            var records: [DNSResourceRecord] = []
            for _ in 0..<count { records.append(try reader.readRecord()) }
            sections.append(records)
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        self.init(
            id: id, flags: flags, questions: questions, answers: sections[0], authorities: sections[1],
            additionals: sections[2])
    }

    /// Encodes with name compression (RFC 1035 §4.1.4). Throws when the
    /// result would exceed `limit` bytes, so the caller can split instead
    /// of sending a fragmenting datagram.
    public func encoded(limit: Int = 9000) throws(DNSError) -> [UInt8] {
        var writer = DNSWriter()
        writer.writeUInt16(id)
        writer.writeUInt16(flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= Int(UInt16.max) else { throw .messageTooLarge(size: count, limit: Int(UInt16.max)) }
            writer.writeUInt16(UInt16(count))
        }
        for question in questions { writer.writeQuestion(question) }
        for record in answers + authorities + additionals { try writer.writeRecord(record) }
        guard writer.bytes.count <= limit else { throw .messageTooLarge(size: writer.bytes.count, limit: limit) }
        return writer.bytes
    }
}
