import Namespace
import NIOCore
import XDR

/// READ arguments: a range of a file, by its path in the responder's catalog.
public struct ReadArguments: Sendable, Equatable {
    public var path: String
    public var offset: UInt64
    public var count: UInt32

    public init(path: String, offset: UInt64, count: UInt32) {
        self.path = path
        self.offset = offset
        self.count = count
    }
}

/// READ reply body. `data` is a slice of the received record (no copy).
public struct ReadReply: Sendable, Equatable {
    /// The file as the responder found it while reading: a version other
    /// than the catalog's means the file changed.
    public var version: FileVersion
    public var isEndOfFile: Bool
    public var data: ByteBuffer

    public init(version: FileVersion, isEndOfFile: Bool, data: ByteBuffer) {
        self.version = version
        self.isEndOfFile = isEndOfFile
        self.data = data
    }
}

/// `read_res`.
public enum ReadResult: Sendable, Equatable {
    case ok(ReadReply)
    case failed(PeerStatus)
}

extension ReadArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.path = try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumPathLength).readableName
        self.offset = try buffer.readXDRUInt64()
        self.count = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRName(self.path) + buffer.writeXDRUInt64(self.offset) + buffer.writeXDRUInt32(self.count)
    }
}

extension ReadResult: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let status = try buffer.readXDREnum(PeerStatus.self)
        guard status == .ok else {
            self = .failed(status)
            return
        }
        let size = try buffer.readXDRUInt64()
        let mtime = try Timestamp(peerXDR: &buffer)
        let eof = try buffer.readXDRBool()
        let data = try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumReadSize)
        self = .ok(ReadReply(version: FileVersion(size: size, mtime: mtime), isEndOfFile: eof, data: data))
    }
}

extension ReadReply {
    /// Writes everything up to and including the data's length word; the
    /// data itself goes out as the record's zero-copy bulk part.
    @discardableResult
    public func encodeHead(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDREnum(PeerStatus.ok) + buffer.writeXDRUInt64(self.version.size) + self.version.mtime.encodePeer(into: &buffer)
            + buffer.writeXDRBool(self.isEndOfFile) + buffer.writeXDRUInt32(UInt32(self.data.readableBytes))
    }
}
