import NIOCore
import Namespace
import XDR

/// READDIR3args.
public struct READDIR3Args: XDRDecodable, Sendable {
    public var directory: RawFileHandle3
    public var cookie: UInt64
    /// `cookieverf3` (opaque[8]), read as one big-endian number.
    public var cookieVerifier: UInt64
    public var count: UInt32

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.directory = try RawFileHandle3(xdr: &buffer)
        self.cookie = try buffer.readXDRUInt64()
        self.cookieVerifier = try buffer.readXDRUInt64()
        self.count = try buffer.readXDRUInt32()
    }
}

/// `entry3`.
public struct DirectoryEntry3: Hashable, Sendable {
    public var fileID: UInt64
    public var name: String
    public var cookie: UInt64

    public init(fileID: UInt64, name: String, cookie: UInt64) {
        self.fileID = fileID
        self.name = name
        self.cookie = cookie
    }

    /// Bytes an entry takes in a list: the "value follows" word, fileid,
    /// the name with its length word and padding, and the cookie.
    public static func encodedLength(nameLength: Int) -> Int {
        4 + 8 + 4 + nameLength + ByteBuffer.xdrPadding(nameLength) + 8
    }

    /// Writes the entry's fields (without the list's "value follows" word).
    @discardableResult
    func encodeFields(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.fileID) + buffer.writeXDRName(self.name) + buffer.writeXDRUInt64(self.cookie)
    }
}

/// READDIR3res.
public enum READDIR3Result: XDREncodable, Sendable {
    case ok(directoryAttributes: PostOpAttributes, cookieVerifier: UInt64, entries: [DirectoryEntry3], isEndOfDirectory: Bool)
    case failure(NFS3Status, directoryAttributes: PostOpAttributes)

    /// READDIR3resok without entries: attributes, verifier, the list's final
    /// "no value follows" word and eof.
    static func emptyResultLength(directoryAttributes: PostOpAttributes) -> Int {
        directoryAttributes.encodedLength + 8 + 4 + 4
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let directoryAttributes, let cookieVerifier, let entries, let isEndOfDirectory):
            var written = NFS3Status.ok.encode(into: &buffer) + directoryAttributes.encode(into: &buffer)
            written += buffer.writeXDRUInt64(cookieVerifier)
            for entry in entries {
                written += buffer.writeXDRBool(true) + entry.encodeFields(into: &buffer)
            }
            return written + buffer.writeXDRBool(false) + buffer.writeXDRBool(isEndOfDirectory)
        case .failure(let status, let directoryAttributes):
            return status.encode(into: &buffer) + directoryAttributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// Lists as many entries as fit in `count` bytes of READDIR3resok (all
    /// XDR overhead included, as RFC 1813 asks), resuming after the cookie.
    func readdir(_ args: READDIR3Args) -> READDIR3Result {
        let snapshot = self.store.current
        let directory: NamespaceNode
        do {
            directory = try self.resolve(args.directory, in: snapshot)
        } catch {
            return .failure(error, directoryAttributes: .none)
        }
        let directoryAttributes = self.postOpAttributes(of: directory)
        guard directory.isDirectory else {
            return .failure(NFS3Status(FileSystemError.notDirectory), directoryAttributes: directoryAttributes)
        }
        do {
            try CookieVerifier3.check(cookie: args.cookie, verifier: args.cookieVerifier)
        } catch {
            return .failure(error, directoryAttributes: directoryAttributes)
        }

        let limit = Int(args.count)
        var used = READDIR3Result.emptyResultLength(directoryAttributes: directoryAttributes)
        var cursor = DirectoryCursor(snapshot: snapshot, directory: directory, after: args.cookie)
        var entries: [DirectoryEntry3] = []
        while let entry = cursor.current {
            let length = DirectoryEntry3.encodedLength(nameLength: NameBytes.byteCount(entry.name))
            guard used + length <= limit else { break }
            used += length
            entries.append(DirectoryEntry3(fileID: entry.node.fileID.rawValue, name: entry.name, cookie: entry.cookie))
            cursor.advance()
        }
        if entries.isEmpty && !cursor.isAtEnd {
            return .failure(.tooSmall, directoryAttributes: directoryAttributes)
        }
        return .ok(
            directoryAttributes: directoryAttributes,
            cookieVerifier: CookieVerifier3.current,
            entries: entries,
            isEndOfDirectory: cursor.isAtEnd
        )
    }
}
