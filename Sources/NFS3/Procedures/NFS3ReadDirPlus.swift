import NIOCore
import Namespace
import XDR

/// READDIRPLUS3args.
public struct READDIRPLUS3Args: XDRDecodable, Sendable {
    public var directory: RawFileHandle3
    public var cookie: UInt64
    public var cookieVerifier: UInt64
    /// Bytes of directory information (fileids, names, cookies) wanted.
    public var directoryCount: UInt32
    /// The largest READDIRPLUS3resok the client accepts.
    public var maximumCount: UInt32

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.directory = try RawFileHandle3(xdr: &buffer)
        self.cookie = try buffer.readXDRUInt64()
        self.cookieVerifier = try buffer.readXDRUInt64()
        self.directoryCount = try buffer.readXDRUInt32()
        self.maximumCount = try buffer.readXDRUInt32()
    }
}

/// `entryplus3`.
public struct DirectoryEntryPlus3: Hashable, Sendable {
    public var fileID: UInt64
    public var name: String
    public var cookie: UInt64
    public var attributes: PostOpAttributes
    public var handle: PostOpFileHandle3

    public init(fileID: UInt64, name: String, cookie: UInt64, attributes: PostOpAttributes, handle: PostOpFileHandle3) {
        self.fileID = fileID
        self.name = name
        self.cookie = cookie
        self.attributes = attributes
        self.handle = handle
    }

    /// Bytes the entry takes in a list, "value follows" word included.
    public var encodedLength: Int {
        DirectoryEntry3.encodedLength(nameLength: self.name.utf8.count) + self.attributes.encodedLength
            + self.handle.encodedLength
    }

    /// What counts against `dircount`: the entry as READDIR would send it,
    /// without attributes and handle (RFC 1813 §3.3.17).
    public var directoryInformationLength: Int {
        DirectoryEntry3.encodedLength(nameLength: self.name.utf8.count)
    }

    @discardableResult
    func encodeFields(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.fileID) + buffer.writeXDRString(self.name) + buffer.writeXDRUInt64(self.cookie)
            + self.attributes.encode(into: &buffer) + self.handle.encode(into: &buffer)
    }
}

/// READDIRPLUS3res.
public enum READDIRPLUS3Result: XDREncodable, Sendable {
    case ok(directoryAttributes: PostOpAttributes, cookieVerifier: UInt64, entries: [DirectoryEntryPlus3], isEndOfDirectory: Bool)
    case failure(NFS3Status, directoryAttributes: PostOpAttributes)

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
    /// READDIR with each entry's attributes and handle, saving the client a
    /// LOOKUP per name.
    ///
    /// Two limits apply: the whole READDIRPLUS3resok stays within `maxcount`,
    /// and the directory information alone within `dircount`. The first
    /// entry is held only to `maxcount`, so a small `dircount` (the Linux
    /// client sends maxcount/8) still makes progress; NFS3ERR_TOOSMALL means
    /// not even one entry fits in `maxcount`.
    func readdirplus(_ args: READDIRPLUS3Args) -> READDIRPLUS3Result {
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

        let maximumCount = Int(args.maximumCount)
        let directoryCount = Int(args.directoryCount)
        var used = READDIR3Result.emptyResultLength(directoryAttributes: directoryAttributes)
        var directoryInformation = 0
        var cursor = DirectoryCursor(snapshot: snapshot, directory: directory, after: args.cookie)
        var entries: [DirectoryEntryPlus3] = []
        while let entry = cursor.current {
            let candidate = DirectoryEntryPlus3(
                fileID: entry.node.fileID.rawValue,
                name: entry.name,
                cookie: entry.cookie,
                attributes: self.postOpAttributes(of: entry.node),
                handle: PostOpFileHandle3(NFS3FileHandle(fileID: entry.node.fileID))
            )
            guard used + candidate.encodedLength <= maximumCount else { break }
            guard entries.isEmpty || directoryInformation + candidate.directoryInformationLength <= directoryCount else { break }
            used += candidate.encodedLength
            directoryInformation += candidate.directoryInformationLength
            entries.append(candidate)
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
