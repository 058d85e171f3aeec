import Namespace
import NIOCore
import XDR

/// CATALOG arguments: one page of a node's catalog.
public struct CatalogArguments: Sendable, Equatable {
    /// The generation being paged through; 0 asks for the current one.
    public var generation: UInt64
    /// Where to continue; 0 for the first page.
    public var cookie: UInt64
    /// The largest reply the caller accepts, in bytes.
    public var maximumCount: UInt32

    public init(generation: UInt64, cookie: UInt64, maximumCount: UInt32) {
        self.generation = generation
        self.cookie = cookie
        self.maximumCount = maximumCount
    }
}

/// One page of a catalog.
public struct CatalogPage: Sendable, Equatable {
    public var generation: UInt64
    public var totalEntries: UInt64
    public var entries: [CatalogEntry]
    public var nextCookie: UInt64
    public var isLast: Bool

    public init(generation: UInt64, totalEntries: UInt64, entries: [CatalogEntry], nextCookie: UInt64, isLast: Bool) {
        self.generation = generation
        self.totalEntries = totalEntries
        self.entries = entries
        self.nextCookie = nextCookie
        self.isLast = isLast
    }
}

/// `catalog_res`.
public enum CatalogResult: Sendable, Equatable {
    case page(CatalogPage)
    /// The catalog moved on while the caller was paging.
    case changed(currentGeneration: UInt64)
    case failed(PeerStatus)
}

extension CatalogArguments: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.generation = try buffer.readXDRUInt64()
        self.cookie = try buffer.readXDRUInt64()
        self.maximumCount = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.generation) + buffer.writeXDRUInt64(self.cookie) + buffer.writeXDRUInt32(self.maximumCount)
    }
}

extension CatalogEntry {
    /// Bytes this entry takes in a CATALOG reply (including the array's
    /// value-follows overhead of XDR optional-data lists, which is 0 here).
    static func peerEncodedLength(path: String, target: String?) -> Int {
        let pathLength = NameBytes.byteCount(path)
        var length = 4 + pathLength + ByteBuffer.xdrPadding(pathLength) + 4 + 8 + 12 + 4 + 4
        if let target {
            let targetLength = NameBytes.byteCount(target)
            length += 4 + targetLength + ByteBuffer.xdrPadding(targetLength)
        }
        return length
    }

    init(peerXDR buffer: inout ByteBuffer) throws(XDRError) {
        // Paths and targets are byte strings: any bytes are kept exactly
        // (`NameBytes`); what cannot be served is refused after decoding.
        let path = try buffer.readXDRVariableOpaque(limit: PeerLimits.maximumPathLength).readableName
        let kind = try buffer.readXDRUInt32()
        guard kind <= UInt32(UInt8.max), let fileKind = FileKind(rawValue: UInt8(kind)) else {
            throw XDRError.invalidDiscriminant(type: "entry_type", value: kind)
        }
        let size = try buffer.readXDRUInt64()
        let mtime = try Timestamp(peerXDR: &buffer)
        let mode = try buffer.readXDRUInt32()
        let target = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in
            try b.readXDRVariableOpaque(limit: PeerLimits.maximumPathLength).readableName
        }
        self.init(path: path, kind: fileKind, size: size, mtime: mtime, mode: UInt16(truncatingIfNeeded: mode & 0o7777), symlinkTarget: target)
    }

    @discardableResult
    func encodePeer(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRName(self.path) + buffer.writeXDRUInt32(UInt32(self.kind.rawValue)) + buffer.writeXDRUInt64(self.size)
            + self.mtime.encodePeer(into: &buffer) + buffer.writeXDRUInt32(UInt32(self.mode))
            + buffer.writeXDROptional(self.symlinkTarget) { $0.writeXDRName($1) }
    }
}

extension CatalogResult: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let status = try buffer.readXDREnum(PeerStatus.self)
        switch status {
        case .ok:
            let generation = try buffer.readXDRUInt64()
            let total = try buffer.readXDRUInt64()
            let entries = try buffer.readXDRArray(limit: PeerLimits.maximumCatalogReply / 36) { (b: inout ByteBuffer) throws(XDRError) in
                try CatalogEntry(peerXDR: &b)
            }
            let next = try buffer.readXDRUInt64()
            let eof = try buffer.readXDRBool()
            self = .page(CatalogPage(generation: generation, totalEntries: total, entries: entries, nextCookie: next, isLast: eof))
        case .changed:
            self = .changed(currentGeneration: try buffer.readXDRUInt64())
        default:
            self = .failed(status)
        }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .page(let page):
            return buffer.writeXDREnum(PeerStatus.ok) + buffer.writeXDRUInt64(page.generation)
                + buffer.writeXDRUInt64(page.totalEntries)
                + buffer.writeXDRArray(page.entries) { $1.encodePeer(into: &$0) }
                + buffer.writeXDRUInt64(page.nextCookie) + buffer.writeXDRBool(page.isLast)
        case .changed(let generation):
            return buffer.writeXDREnum(PeerStatus.changed) + buffer.writeXDRUInt64(generation)
        case .failed(let status):
            return buffer.writeXDREnum(status)
        }
    }
}
