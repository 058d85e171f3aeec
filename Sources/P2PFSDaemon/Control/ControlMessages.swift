import Namespace
import NIOCore
import PeerProtocol
import XDR

/// Numbers of the control program (`Docs/p2pfs_control.x`).
public enum ControlProcedure: UInt32, Sendable {
    case null = 0
    case status = 1
    case list = 2

    public static let program: UInt32 = 0x2050_3247
    public static let version: UInt32 = 1
}

/// A node as the control protocol reports it.
public struct ControlNode: Sendable, Equatable {
    public var info: NodeInfo
    public var state: String
    public var catalogEntries: Int64
    public var lastSeenMilliseconds: Int64
    /// How the daemon came to know the node: "seed", "PEERS", "mDNS",
    /// "caller", comma-separated.
    public var foundBy: String = ""
    /// Entries of the node's catalog refused because their names cannot be
    /// served, by reason (on the wire: reason, count pairs).
    public var refusedNames = NameRefusals()
}

/// STATUS reply: this node, its namespace and what it knows of the others.
public struct ControlStatus: Sendable, Equatable {
    public var node: NodeInfo
    public var namespaceEntries: UInt64
    public var namespaceGeneration: UInt64
    public var readsServed: UInt64
    public var bytesServed: UInt64
    public var cacheBytes: UInt64
    public var cacheHits: UInt64
    public var cacheMisses: UInt64
    public var nodes: [ControlNode]
}

/// One line of `p2pfs ls`.
public struct ControlEntry: Sendable, Equatable {
    public var name: String
    public var kind: FileKind
    public var size: UInt64
    public var mtime: Timestamp
    public var holders: [String]
}

/// LIST reply.
public enum ControlListResult: Sendable, Equatable {
    case entries([ControlEntry])
    case failed(PeerStatus)
}

extension ControlNode: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.info = try NodeInfo(xdr: &buffer)
        self.state = try buffer.readXDRString(limit: 16)
        self.catalogEntries = try buffer.readXDRInt64()
        self.lastSeenMilliseconds = try buffer.readXDRInt64()
        self.foundBy = try buffer.readXDRString(limit: 64)
        var refused = NameRefusals()
        _ = try buffer.readXDRArray(limit: 64) { (b: inout ByteBuffer) throws(XDRError) in
            let reason = try b.readXDRString(limit: 64)
            let count = try b.readXDRUInt64()
            if let reason = NameRefusal(rawValue: reason) { refused.add(reason, count: Int(clamping: count)) }
        }
        self.refusedNames = refused
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.info.encode(into: &buffer) + buffer.writeXDRString(self.state) + buffer.writeXDRInt64(self.catalogEntries)
            + buffer.writeXDRInt64(self.lastSeenMilliseconds) + buffer.writeXDRString(self.foundBy)
            + buffer.writeXDRArray(self.refusedNames.counts.sorted { $0.key < $1.key }) { b, item in
                b.writeXDRString(item.key.rawValue) + b.writeXDRUInt64(UInt64(item.value))
            }
    }
}

extension ControlStatus: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.node = try NodeInfo(xdr: &buffer)
        self.namespaceEntries = try buffer.readXDRUInt64()
        self.namespaceGeneration = try buffer.readXDRUInt64()
        self.readsServed = try buffer.readXDRUInt64()
        self.bytesServed = try buffer.readXDRUInt64()
        self.cacheBytes = try buffer.readXDRUInt64()
        self.cacheHits = try buffer.readXDRUInt64()
        self.cacheMisses = try buffer.readXDRUInt64()
        self.nodes = try buffer.readXDRArray(limit: 65536) { (b: inout ByteBuffer) throws(XDRError) in try ControlNode(xdr: &b) }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.node.encode(into: &buffer) + buffer.writeXDRUInt64(self.namespaceEntries)
            + buffer.writeXDRUInt64(self.namespaceGeneration) + buffer.writeXDRUInt64(self.readsServed)
            + buffer.writeXDRUInt64(self.bytesServed) + buffer.writeXDRUInt64(self.cacheBytes)
            + buffer.writeXDRUInt64(self.cacheHits) + buffer.writeXDRUInt64(self.cacheMisses)
            + buffer.writeXDRArray(self.nodes) { $1.encode(into: &$0) }
    }
}

extension ControlEntry: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.name = try buffer.readXDRVariableOpaque(limit: NamespacePath.maximumNameLength).readableName
        let kind = try buffer.readXDRUInt32()
        guard kind <= 255, let fileKind = FileKind(rawValue: UInt8(kind)) else {
            throw XDRError.invalidDiscriminant(type: "entry_type", value: kind)
        }
        self.kind = fileKind
        self.size = try buffer.readXDRUInt64()
        let seconds = try buffer.readXDRInt64()
        let nanoseconds = try buffer.readXDRUInt32()
        self.mtime = Timestamp(seconds: seconds, nanoseconds: nanoseconds)
        self.holders = try buffer.readXDRArray(limit: 64) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRString(limit: 255) }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRName(self.name) + buffer.writeXDRUInt32(UInt32(self.kind.rawValue)) + buffer.writeXDRUInt64(self.size)
            + buffer.writeXDRInt64(self.mtime.seconds) + buffer.writeXDRUInt32(self.mtime.nanoseconds)
            + buffer.writeXDRArray(self.holders.prefix(64)) { $0.writeXDRString($1) }
    }
}

extension ControlListResult: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let status = try buffer.readXDREnum(PeerStatus.self)
        guard status == .ok else {
            self = .failed(status)
            return
        }
        self = .entries(try buffer.readXDRArray(limit: 1 << 24) { (b: inout ByteBuffer) throws(XDRError) in try ControlEntry(xdr: &b) })
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .entries(let entries):
            buffer.writeXDREnum(PeerStatus.ok) + buffer.writeXDRArray(entries) { $1.encode(into: &$0) }
        case .failed(let status):
            buffer.writeXDREnum(status)
        }
    }
}
