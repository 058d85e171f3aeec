import NIOCore
import XDR

/// Longest network identifier, universal address or owner string accepted in
/// a request. rpcbind has no fixed limit; these are far above any real value.
let rpcbStringLimit = 1024

/// PMAP version 2 `mapping`: (prog, vers, prot, port), RFC 1833 §3.1.
public struct PortmapMapping: Sendable, Hashable {
    public var program: UInt32
    public var version: UInt32
    /// An IP protocol number: 6 (TCP) or 17 (UDP) in meaningful mappings.
    public var protocolNumber: UInt32
    public var port: UInt32

    public init(program: UInt32, version: UInt32, protocolNumber: UInt32, port: UInt32) {
        self.program = program
        self.version = version
        self.protocolNumber = protocolNumber
        self.port = port
    }

    public init(program: UInt32, version: UInt32, protocol: PortmapProtocol, port: UInt16) {
        self.init(program: program, version: version, protocolNumber: `protocol`.rawValue, port: UInt32(port))
    }
}

extension PortmapMapping: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.program = try buffer.readXDRUInt32()
        self.version = try buffer.readXDRUInt32()
        self.protocolNumber = try buffer.readXDRUInt32()
        self.port = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.program) + buffer.writeXDRUInt32(self.version)
            + buffer.writeXDRUInt32(self.protocolNumber) + buffer.writeXDRUInt32(self.port)
    }
}

/// rpcbind versions 3 and 4 `rpcb`: (r_prog, r_vers, r_netid, r_addr, r_owner), RFC 1833 §2.1.
public struct RPCBMapping: Sendable, Hashable {
    public var program: UInt32
    public var version: UInt32
    public var netid: String
    /// A universal address, or "" where the protocol allows it.
    public var address: String
    public var owner: String

    public init(program: UInt32, version: UInt32, netid: String, address: String, owner: String) {
        self.program = program
        self.version = version
        self.netid = netid
        self.address = address
        self.owner = owner
    }

    public init(_ entry: PortmapEntry) {
        self.init(program: entry.program, version: entry.version, netid: entry.netid, address: entry.address, owner: entry.owner)
    }
}

extension RPCBMapping: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.program = try buffer.readXDRUInt32()
        self.version = try buffer.readXDRUInt32()
        self.netid = try buffer.readXDRString(limit: rpcbStringLimit)
        self.address = try buffer.readXDRString(limit: rpcbStringLimit)
        self.owner = try buffer.readXDRString(limit: rpcbStringLimit)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.program) + buffer.writeXDRUInt32(self.version)
            + buffer.writeXDRString(self.netid) + buffer.writeXDRString(self.address)
            + buffer.writeXDRString(self.owner)
    }
}

/// rpcbind version 4 `rpcb_entry`: one address of a service with the
/// netconfig facts a client needs to use it (RFC 1833 §2.1).
public struct RPCBAddressEntry: Sendable, Hashable {
    public var address: String
    public var netid: String
    /// `NC_TPI_CLTS` = 1, `NC_TPI_COTS` = 2, `NC_TPI_COTS_ORD` = 3, `NC_TPI_RAW` = 4.
    public var semantics: UInt32
    public var protocolFamily: String
    public var protocolName: String

    public init(address: String, netid: String, semantics: UInt32, protocolFamily: String, protocolName: String) {
        self.address = address
        self.netid = netid
        self.semantics = semantics
        self.protocolFamily = protocolFamily
        self.protocolName = protocolName
    }
}

extension RPCBAddressEntry: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.address = try buffer.readXDRString(limit: rpcbStringLimit)
        self.netid = try buffer.readXDRString(limit: rpcbStringLimit)
        self.semantics = try buffer.readXDRUInt32()
        self.protocolFamily = try buffer.readXDRString(limit: rpcbStringLimit)
        self.protocolName = try buffer.readXDRString(limit: rpcbStringLimit)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRString(self.address) + buffer.writeXDRString(self.netid)
            + buffer.writeXDRUInt32(self.semantics) + buffer.writeXDRString(self.protocolFamily)
            + buffer.writeXDRString(self.protocolName)
    }
}

/// The linked lists of RFC 1833 (`pmaplist`, `rpcblist_ptr`,
/// `rpcb_entry_list_ptr`): XDR optional-data chains, a TRUE before each
/// element and a FALSE at the end.
public enum XDRLinkedList {
    @discardableResult
    public static func encode<C: Collection>(_ elements: C, into buffer: inout ByteBuffer) -> Int where C.Element: XDREncodable {
        var written = 0
        for element in elements {
            written += buffer.writeXDRBool(true) + element.encode(into: &buffer)
        }
        return written + buffer.writeXDRBool(false)
    }

    /// Decodes a chain of at most `limit` elements.
    public static func decode<T: XDRDecodable>(_: T.Type, from buffer: inout ByteBuffer, limit: Int = 65_536) throws(XDRError) -> [T] {
        var result: [T] = []
        while try buffer.readXDRBool() {
            guard result.count < limit else {
                throw XDRError.lengthLimitExceeded(length: UInt32(clamping: result.count + 1), limit: limit)
            }
            result.append(try T(xdr: &buffer))
        }
        return result
    }
}
