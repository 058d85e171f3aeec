import NIOCore
import XDR

/// The authentication flavors of RFC 5531 §8.2 and the ones p2pfs accepts.
public enum RPCAuthFlavor: UInt32, Sendable {
    case none = 0
    case sys = 1
    case short = 2
    case dh = 3
    case rpcsecGSS = 6
}

/// `opaque_auth`: a flavor number and up to 400 bytes of body.
///
/// The flavor is kept as a raw number: a call with a flavor this code does not
/// know must still decode, so that it can be answered with AUTH_ERROR.
public struct RPCOpaqueAuth: Sendable, Equatable {
    /// RFC 5531 caps every credential and verifier body at 400 bytes.
    public static let maximumBodyLength = 400

    public var flavor: UInt32
    public var body: ByteBuffer

    public init(flavor: UInt32, body: ByteBuffer = ByteBuffer()) {
        self.flavor = flavor
        self.body = body
    }

    public init(flavor: RPCAuthFlavor, body: ByteBuffer = ByteBuffer()) {
        self.init(flavor: flavor.rawValue, body: body)
    }

    /// AUTH_NONE with an empty body, the usual verifier.
    public static let none = RPCOpaqueAuth(flavor: .none)
}

extension RPCOpaqueAuth: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.flavor = try buffer.readXDRUInt32()
        self.body = try buffer.readXDRVariableOpaque(limit: Self.maximumBodyLength)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.flavor) + buffer.writeXDRVariableOpaque(self.body)
    }
}

/// `authsys_parms` (RFC 5531 appendix A): the caller's claimed identity.
///
/// Nothing in it is verified; p2pfs serves a read-only namespace whose modes
/// let everyone read, so it only logs these values.
public struct AuthSysParameters: Sendable, Equatable {
    public var stamp: UInt32
    public var machineName: String
    public var uid: UInt32
    public var gid: UInt32
    public var auxiliaryGIDs: [UInt32]

    public init(stamp: UInt32 = 0, machineName: String, uid: UInt32, gid: UInt32, auxiliaryGIDs: [UInt32] = []) {
        self.stamp = stamp
        self.machineName = machineName
        self.uid = uid
        self.gid = gid
        self.auxiliaryGIDs = auxiliaryGIDs
    }
}

extension AuthSysParameters: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.stamp = try buffer.readXDRUInt32()
        self.machineName = try buffer.readXDRString(limit: 255)
        self.uid = try buffer.readXDRUInt32()
        self.gid = try buffer.readXDRUInt32()
        self.auxiliaryGIDs = try buffer.readXDRArray(limit: 16) { (b: inout ByteBuffer) throws(XDRError) in try b.readXDRUInt32() }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.stamp)
            + buffer.writeXDRString(self.machineName)
            + buffer.writeXDRUInt32(self.uid)
            + buffer.writeXDRUInt32(self.gid)
            + buffer.writeXDRArray(self.auxiliaryGIDs) { $0.writeXDRUInt32($1) }
    }
}

/// `auth_stat`: why a call's credentials were refused.
public enum RPCAuthStatus: UInt32, Sendable, Error {
    case ok = 0
    case badCredential = 1
    case rejectedCredential = 2
    case badVerifier = 3
    case rejectedVerifier = 4
    case tooWeak = 5
    case invalidResponse = 6
    case failed = 7
}
