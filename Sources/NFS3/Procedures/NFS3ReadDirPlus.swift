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
        DirectoryEntry3.encodedLength(nameLength: NameBytes.byteCount(self.name)) + self.attributes.encodedLength
            + self.handle.encodedLength
    }

    /// What counts against `dircount`: the entry as READDIR would send it,
    /// without attributes and handle (RFC 1813 §3.3.17).
    public var directoryInformationLength: Int {
        DirectoryEntry3.encodedLength(nameLength: NameBytes.byteCount(self.name))
    }

    /// Writes the entry as an item of the `entryplus3` list: the
    /// value-follows word, then the fields, `encodedLength` bytes in one run.
    @discardableResult
    func encodeListItem(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRRaw(length: self.encodedLength) { writer in
            writer.bool(true)
            writer.uint64(self.fileID)
            NameBytes.withBytes(self.name) { bytes in
                writer.uint32(UInt32(bytes.count))
                writer.fixedOpaque(bytes)
            }
            writer.uint64(self.cookie)
            writer.postOpAttributes(self.attributes)
            writer.postOpFileHandle(self.handle)
        }
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
                written += entry.encodeListItem(into: &buffer)
            }
            return written + buffer.writeXDRBool(false) + buffer.writeXDRBool(isEndOfDirectory)
        case .failure(let status, let directoryAttributes):
            return status.encode(into: &buffer) + directoryAttributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// Writes READDIRPLUS3res straight into `buffer`, entry by entry: one
    /// reply can carry thousands of entries, and encoding each as it is
    /// found costs less than collecting them first.
    ///
    /// `maxcount` bounds the whole reply and `dircount` the directory part
    /// of the entries (RFC 1813 §3.3.17); the first entry is held to
    /// `maxcount` only, so a client asking for little still progresses.
    func readdirplus(_ args: READDIRPLUS3Args, into buffer: inout ByteBuffer) {
        let snapshot = self.store.current
        let directory: NamespaceNode
        do {
            directory = try self.resolve(args.directory, in: snapshot)
        } catch {
            READDIRPLUS3Result.failure(error, directoryAttributes: .none).encode(into: &buffer)
            return
        }
        let directoryAttributes = self.postOpAttributes(of: directory)
        guard directory.isDirectory else {
            READDIRPLUS3Result.failure(NFS3Status(FileSystemError.notDirectory), directoryAttributes: directoryAttributes)
                .encode(into: &buffer)
            return
        }
        do {
            try CookieVerifier3.check(cookie: args.cookie, verifier: args.cookieVerifier)
        } catch {
            READDIRPLUS3Result.failure(error, directoryAttributes: directoryAttributes).encode(into: &buffer)
            return
        }

        let maximumCount = Int(args.maximumCount)
        let directoryCount = Int(args.directoryCount)
        let start = buffer.writerIndex
        buffer.reserveCapacity(minimumWritableBytes: min(maximumCount, Int(self.configuration.maximumReadSize)) + 64)
        NFS3Status.ok.encode(into: &buffer)
        directoryAttributes.encode(into: &buffer)
        buffer.writeXDRUInt64(CookieVerifier3.current)

        var used = READDIR3Result.emptyResultLength(directoryAttributes: directoryAttributes)
        var directoryInformation = 0
        var count = 0
        var cursor = DirectoryCursor(snapshot: snapshot, directory: directory, after: args.cookie)
        while let entry = cursor.current {
            let candidate = DirectoryEntryPlus3(
                fileID: entry.node.fileID.rawValue,
                name: entry.name,
                cookie: entry.cookie,
                attributes: self.postOpAttributes(of: entry.node),
                handle: PostOpFileHandle3(NFS3FileHandle(fileID: entry.node.fileID))
            )
            let length = candidate.encodedLength
            let information = candidate.directoryInformationLength
            guard used + length <= maximumCount else { break }
            guard count == 0 || directoryInformation + information <= directoryCount else { break }
            used += length
            directoryInformation += information
            count += 1
            candidate.encodeListItem(into: &buffer)
            cursor.advance()
        }
        let isEndOfDirectory = cursor.isAtEnd
        if count == 0 && !isEndOfDirectory {
            buffer.moveWriterIndex(to: start)
            READDIRPLUS3Result.failure(.tooSmall, directoryAttributes: directoryAttributes).encode(into: &buffer)
            return
        }
        buffer.writeXDRBool(false)
        buffer.writeXDRBool(isEndOfDirectory)
    }
}
