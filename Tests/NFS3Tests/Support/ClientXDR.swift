import NIOCore

/// A client's view of NFSv3 and MOUNT XDR, written from RFC 1813 directly
/// rather than with the server's types, so tests check the wire format and
/// not just that the server agrees with itself.

struct ClientTime: Equatable {
    var seconds: UInt32
    var nanoseconds: UInt32
}

struct ClientAttributes: Equatable {
    var type: UInt32
    var mode: UInt32
    var nlink: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: UInt64
    var used: UInt64
    var rdev: (UInt32, UInt32)
    var fsid: UInt64
    var fileid: UInt64
    var atime: ClientTime
    var mtime: ClientTime
    var ctime: ClientTime

    static func == (a: ClientAttributes, b: ClientAttributes) -> Bool {
        a.type == b.type && a.mode == b.mode && a.nlink == b.nlink && a.uid == b.uid && a.gid == b.gid && a.size == b.size
            && a.used == b.used && a.rdev == b.rdev && a.fsid == b.fsid && a.fileid == b.fileid && a.atime == b.atime
            && a.mtime == b.mtime && a.ctime == b.ctime
    }
}

struct ClientWCCAttributes: Equatable {
    var size: UInt64
    var mtime: ClientTime
    var ctime: ClientTime
}

struct ClientWCC {
    var before: ClientWCCAttributes?
    var after: ClientAttributes?
}

enum ClientDecodingError: Error {
    case truncated
    case badBool(UInt32)
    case badString
}

struct ClientEntry: Equatable {
    var fileid: UInt64
    var name: String
    var cookie: UInt64
    var attributes: ClientAttributes?
    var handle: [UInt8]?
    /// The name exactly as sent (`name` is its UTF-8 reading, repaired).
    var nameBytes: [UInt8] = []

    /// Entries written out as expectations give only `name`: compared by
    /// it then, and by the exact bytes when both have them.
    static func == (lhs: ClientEntry, rhs: ClientEntry) -> Bool {
        lhs.fileid == rhs.fileid && lhs.name == rhs.name && lhs.cookie == rhs.cookie && lhs.attributes == rhs.attributes
            && lhs.handle == rhs.handle && (lhs.nameBytes.isEmpty || rhs.nameBytes.isEmpty || lhs.nameBytes == rhs.nameBytes)
    }
}

struct ClientDirectoryList {
    var directoryAttributes: ClientAttributes?
    var verifier: UInt64
    var entries: [ClientEntry]
    var eof: Bool
}

extension ByteBuffer {
    mutating func u32() throws -> UInt32 {
        guard let value = self.readInteger(endianness: .big, as: UInt32.self) else { throw ClientDecodingError.truncated }
        return value
    }

    mutating func u64() throws -> UInt64 {
        guard let value = self.readInteger(endianness: .big, as: UInt64.self) else { throw ClientDecodingError.truncated }
        return value
    }

    mutating func bool() throws -> Bool {
        let value = try self.u32()
        guard value <= 1 else { throw ClientDecodingError.badBool(value) }
        return value == 1
    }

    mutating func opaque() throws -> [UInt8] {
        let length = Int(try self.u32())
        guard let bytes = self.readBytes(length: length) else { throw ClientDecodingError.truncated }
        let padding = (4 - length % 4) % 4
        guard self.readBytes(length: padding) == [UInt8](repeating: 0, count: padding) else { throw ClientDecodingError.truncated }
        return bytes
    }

    mutating func string() throws -> String {
        guard let string = String(validating: try self.opaque(), as: UTF8.self) else { throw ClientDecodingError.badString }
        return string
    }

    mutating func time() throws -> ClientTime {
        ClientTime(seconds: try self.u32(), nanoseconds: try self.u32())
    }

    mutating func fattr3() throws -> ClientAttributes {
        ClientAttributes(
            type: try self.u32(), mode: try self.u32(), nlink: try self.u32(), uid: try self.u32(), gid: try self.u32(),
            size: try self.u64(), used: try self.u64(), rdev: (try self.u32(), try self.u32()), fsid: try self.u64(),
            fileid: try self.u64(), atime: try self.time(), mtime: try self.time(), ctime: try self.time()
        )
    }

    mutating func postOpAttr() throws -> ClientAttributes? {
        try self.bool() ? try self.fattr3() : nil
    }

    mutating func wcc() throws -> ClientWCC {
        let before = try self.bool() ? ClientWCCAttributes(size: try self.u64(), mtime: try self.time(), ctime: try self.time()) : nil
        return ClientWCC(before: before, after: try self.postOpAttr())
    }

    mutating func directoryList(plus: Bool) throws -> ClientDirectoryList {
        let attributes = try self.postOpAttr()
        let verifier = try self.u64()
        var entries: [ClientEntry] = []
        while try self.bool() {
            let fileid = try self.u64()
            let nameBytes = try self.opaque()
            var entry = ClientEntry(fileid: fileid, name: String(decoding: nameBytes, as: UTF8.self), cookie: try self.u64())
            entry.nameBytes = nameBytes
            if plus {
                entry.attributes = try self.postOpAttr()
                entry.handle = try self.bool() ? try self.opaque() : nil
            }
            entries.append(entry)
        }
        return ClientDirectoryList(directoryAttributes: attributes, verifier: verifier, entries: entries, eof: try self.bool())
    }

    // MARK: Argument encoding

    mutating func putU32(_ value: UInt32) {
        self.writeInteger(value, endianness: .big)
    }

    mutating func putU64(_ value: UInt64) {
        self.writeInteger(value, endianness: .big)
    }

    mutating func putOpaque(_ bytes: [UInt8]) {
        self.putU32(UInt32(bytes.count))
        self.writeBytes(bytes)
        self.writeRepeatingByte(0, count: (4 - bytes.count % 4) % 4)
    }

    mutating func putString(_ string: String) {
        self.putOpaque(Array(string.utf8))
    }

    /// A `sattr3` that sets nothing.
    mutating func putEmptySattr3() {
        for _ in 0..<6 { self.putU32(0) }
    }

    /// A `sattr3` that sets everything, times to client time.
    mutating func putFullSattr3() {
        self.putU32(1); self.putU32(0o644)
        self.putU32(1); self.putU32(1000)
        self.putU32(1); self.putU32(100)
        self.putU32(1); self.putU64(0)
        self.putU32(2); self.putU32(1); self.putU32(2)
        self.putU32(2); self.putU32(3); self.putU32(4)
    }
}
