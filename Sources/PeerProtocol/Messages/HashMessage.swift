import Namespace
import NIOCore
import XDR

/// HASH arguments: a file by its path in the responder's catalog, and the
/// version the asker's catalog holds (the responder refuses with
/// PEER_CHANGED if the file is not at that version any more).
public struct HashArguments: Sendable, Equatable {
    public var path: String
    public var version: FileVersion

    public init(path: String, version: FileVersion) {
        self.path = path
        self.version = version
    }
}

/// `hash_res`: the SHA-256 of the file's content, or why not.
public enum HashResult: Sendable, Equatable {
    case ok(ContentHash)
    case failed(PeerStatus)
}

extension HashArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.path = try buffer.readXDRString(limit: PeerLimits.maximumPathLength)
        let size = try buffer.readXDRUInt64()
        let mtime = try Timestamp(peerXDR: &buffer)
        self.version = FileVersion(size: size, mtime: mtime)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.path) + buffer.writeXDRUInt64(self.version.size) + self.version.mtime.encodePeer(into: &buffer)
    }
}

extension HashResult: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let status = try buffer.readXDREnum(PeerStatus.self)
        guard status == .ok else {
            self = .failed(status)
            return
        }
        let bytes = try buffer.readXDRFixedOpaque(length: ContentHash.length)
        self = .ok(ContentHash(bytes: bytes.readableBytesView)!)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let hash):
            return buffer.writeXDREnum(PeerStatus.ok) + buffer.writeXDRFixedOpaque(hash.bytes)
        case .failed(let status):
            return buffer.writeXDREnum(status)
        }
    }
}
