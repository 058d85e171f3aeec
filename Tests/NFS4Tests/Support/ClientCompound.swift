import NIOCore

/// A client's view of NFSv4.1 XDR, written from RFC 8881/5662 directly
/// rather than with the server's types, so tests check the wire format and
/// not just that the server agrees with itself.
struct ClientCompound {
    var tag: String = ""
    var minorVersion: UInt32 = 1
    var operations: [(UInt32, [UInt8])] = []

    mutating func add(_ opcode: UInt32, _ encode: (inout ByteBuffer) -> Void = { _ in }) {
        var buffer = ByteBuffer()
        encode(&buffer)
        self.operations.append((opcode, Array(buffer.readableBytesView)))
    }

    var bytes: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.putString(self.tag)
        buffer.putU32(self.minorVersion)
        buffer.putU32(UInt32(self.operations.count))
        for (opcode, arguments) in self.operations {
            buffer.putU32(opcode)
            buffer.writeBytes(arguments)
        }
        return buffer
    }

    // Operation numbers (RFC 8881 §16.2.1).
    static let access: UInt32 = 3
    static let close: UInt32 = 4
    static let getattr: UInt32 = 9
    static let getfh: UInt32 = 10
    static let lock: UInt32 = 12
    static let lockt: UInt32 = 13
    static let locku: UInt32 = 14
    static let lookup: UInt32 = 15
    static let open: UInt32 = 18
    static let putfh: UInt32 = 22
    static let putrootfh: UInt32 = 24
    static let read: UInt32 = 25
    static let readdir: UInt32 = 26
    static let readlink: UInt32 = 27
    static let remove: UInt32 = 28
    static let write: UInt32 = 38
    static let exchangeID: UInt32 = 42
    static let createSession: UInt32 = 43
    static let sequence: UInt32 = 53
}

extension ByteBuffer {
    mutating func putU32(_ value: UInt32) { self.writeInteger(value, endianness: .big) }
    mutating func putU64(_ value: UInt64) { self.writeInteger(value, endianness: .big) }

    mutating func putOpaque(_ bytes: [UInt8]) {
        self.putU32(UInt32(bytes.count))
        self.writeBytes(bytes)
        self.writeRepeatingByte(0, count: (4 - bytes.count % 4) % 4)
    }

    mutating func putString(_ string: String) { self.putOpaque(Array(string.utf8)) }

    mutating func u32() throws -> UInt32 {
        guard let value = self.readInteger(endianness: .big, as: UInt32.self) else { throw ClientDecodingError.truncated }
        return value
    }

    mutating func u64() throws -> UInt64 {
        guard let value = self.readInteger(endianness: .big, as: UInt64.self) else { throw ClientDecodingError.truncated }
        return value
    }

    mutating func opaque() throws -> [UInt8] {
        let length = Int(try self.u32())
        guard let bytes = self.readBytes(length: length) else { throw ClientDecodingError.truncated }
        self.moveReaderIndex(forwardBy: (4 - length % 4) % 4)
        return bytes
    }

    mutating func string() throws -> String { String(decoding: try self.opaque(), as: UTF8.self) }
}

enum ClientDecodingError: Error {
    case truncated
}

/// COMPOUND4res header: status, tag, result count.
struct ClientCompoundReply {
    var status: UInt32
    var tag: String
    var count: UInt32
    /// The results, positioned at the first one.
    var rest: ByteBuffer

    init(_ body: ByteBuffer) throws {
        var body = body
        self.status = try body.u32()
        self.tag = try body.string()
        self.count = try body.u32()
        self.rest = body
    }

    /// Reads the next result's operation number and status.
    mutating func next() throws -> (opcode: UInt32, status: UInt32) {
        (try self.rest.u32(), try self.rest.u32())
    }
}

/// Status numbers the tests check (RFC 8881 §15.1).
enum Status4 {
    static let ok: UInt32 = 0
    static let noEntry: UInt32 = 2
    static let isDirectory: UInt32 = 21
    static let invalid: UInt32 = 22
    static let readOnly: UInt32 = 30
    static let badHandle: UInt32 = 10001
    static let notSupported: UInt32 = 10004
    static let delay: UInt32 = 10008
    static let denied: UInt32 = 10010
    static let minorVersionMismatch: UInt32 = 10021
    static let staleClientID: UInt32 = 10022
    static let badStateID: UInt32 = 10025
    static let operationIllegal: UInt32 = 10044
    static let badSession: UInt32 = 10052
    static let badSlot: UInt32 = 10053
    static let sequenceMisordered: UInt32 = 10063
    static let sequencePosition: UInt32 = 10064
    static let retryUncached: UInt32 = 10068
    static let operationNotInSession: UInt32 = 10071
    static let falseRetry: UInt32 = 10076
}
