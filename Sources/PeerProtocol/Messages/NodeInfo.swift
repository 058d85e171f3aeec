import Namespace
import NIOCore
import XDR

/// `peer_address`: where a node's peer protocol listens.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[V6]:PORT` or a bare host with `defaultPort`.
    public init?(_ text: String, defaultPort: Int? = nil) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty, let defaultPort {
                self.init(host: host, port: defaultPort)
                return
            }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
            self.init(host: host, port: port)
            return
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.lastIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port), colon != text.startIndex else {
                return nil
            }
            self.init(host: String(text[..<colon]), port: port)
        } else if let defaultPort, !text.isEmpty {
            self.init(host: text, port: defaultPort)
        } else {
            return nil
        }
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    public func socketAddress() throws -> SocketAddress {
        try SocketAddress.makeAddressResolvingHost(self.host, port: self.port)
    }
}

/// The roles a node plays, as a bit set.
public struct PeerRoles: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Offers files and serves the peer protocol.
    public static let server = PeerRoles(rawValue: 1)
    /// Presents the network's namespace over NFS.
    public static let client = PeerRoles(rawValue: 2)

    public var description: String {
        switch (self.contains(.server), self.contains(.client)) {
        case (true, true): "server+client"
        case (true, false): "server"
        case (false, true): "client"
        case (false, false): "none"
        }
    }
}

/// `node_info`: who a node is and where to reach it.
public struct NodeInfo: Hashable, Sendable {
    public var identity: NodeIdentity
    public var roles: PeerRoles
    public var addresses: [PeerAddress]

    public init(identity: NodeIdentity, roles: PeerRoles, addresses: [PeerAddress]) {
        self.identity = identity
        self.roles = roles
        self.addresses = addresses
    }
}

extension NodeID {
    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let high = try buffer.readXDRUInt64()
        let low = try buffer.readXDRUInt64()
        self.init(high: high, low: low)
    }

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt64(self.high) + buffer.writeXDRUInt64(self.low)
    }
}

extension PeerAddress: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let host = try buffer.readXDRString(limit: PeerLimits.maximumHostLength)
        let port = try buffer.readXDRUInt32()
        guard port <= 65535 else { throw XDRError.invalidDiscriminant(type: "port", value: port) }
        self.init(host: host, port: Int(port))
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.host) + buffer.writeXDRUInt32(UInt32(self.port))
    }
}

extension NodeInfo: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let id = try NodeID(xdr: &buffer)
        let name = try buffer.readXDRString(limit: PeerLimits.maximumNameLength)
        let roles = PeerRoles(rawValue: try buffer.readXDRUInt32())
        let addresses = try buffer.readXDRArray(limit: PeerLimits.maximumAddresses) { (b: inout ByteBuffer) throws(XDRError) in
            try PeerAddress(xdr: &b)
        }
        self.init(identity: NodeIdentity(id: id, name: name), roles: roles, addresses: addresses)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.identity.id.encode(into: &buffer)
            + buffer.writeXDRString(self.identity.name)
            + buffer.writeXDRUInt32(self.roles.rawValue)
            + buffer.writeXDRArray(self.addresses) { $1.encode(into: &$0) }
    }
}

extension Timestamp {
    init(peerXDR buffer: inout ByteBuffer) throws(XDRError) {
        let seconds = try buffer.readXDRInt64()
        let nanoseconds = try buffer.readXDRUInt32()
        guard nanoseconds < 1_000_000_000 else {
            throw XDRError.invalidDiscriminant(type: "nseconds", value: nanoseconds)
        }
        self.init(seconds: seconds, nanoseconds: nanoseconds)
    }

    @discardableResult
    func encodePeer(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRInt64(self.seconds) + buffer.writeXDRUInt32(self.nanoseconds)
    }
}
