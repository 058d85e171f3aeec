import NIOCore
import XDR

/// `channel_attrs4` (RFC 8881 §18.36).
public struct ChannelAttributes4: Sendable, Equatable {
    public var headerPadSize: UInt32
    public var maximumRequestSize: UInt32
    public var maximumResponseSize: UInt32
    public var maximumResponseSizeCached: UInt32
    public var maximumOperations: UInt32
    public var maximumRequests: UInt32

    public init(
        headerPadSize: UInt32 = 0, maximumRequestSize: UInt32, maximumResponseSize: UInt32, maximumResponseSizeCached: UInt32,
        maximumOperations: UInt32, maximumRequests: UInt32
    ) {
        self.headerPadSize = headerPadSize
        self.maximumRequestSize = maximumRequestSize
        self.maximumResponseSize = maximumResponseSize
        self.maximumResponseSizeCached = maximumResponseSizeCached
        self.maximumOperations = maximumOperations
        self.maximumRequests = maximumRequests
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.headerPadSize = try buffer.readXDRUInt32()
        self.maximumRequestSize = try buffer.readXDRUInt32()
        self.maximumResponseSize = try buffer.readXDRUInt32()
        self.maximumResponseSizeCached = try buffer.readXDRUInt32()
        self.maximumOperations = try buffer.readXDRUInt32()
        self.maximumRequests = try buffer.readXDRUInt32()
        _ = try buffer.readXDRArray(limit: 1) { buffer throws(XDRError) in try buffer.readXDRUInt32() }  // ca_rdma_ird
    }

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.headerPadSize) + buffer.writeXDRUInt32(self.maximumRequestSize)
            + buffer.writeXDRUInt32(self.maximumResponseSize) + buffer.writeXDRUInt32(self.maximumResponseSizeCached)
            + buffer.writeXDRUInt32(self.maximumOperations) + buffer.writeXDRUInt32(self.maximumRequests)
            + buffer.writeXDRUInt32(0)  // no ca_rdma_ird
    }
}

/// CREATE_SESSION4args. The callback program and its security parameters
/// are read and dropped: p2pfs never calls back (it grants no delegations).
public struct CREATE_SESSION4Args: Sendable, Equatable {
    public var clientID: UInt64
    public var sequence: UInt32
    public var flags: UInt32
    public var foreChannel: ChannelAttributes4
    public var backChannel: ChannelAttributes4

    public init(clientID: UInt64, sequence: UInt32, flags: UInt32, foreChannel: ChannelAttributes4, backChannel: ChannelAttributes4) {
        self.clientID = clientID
        self.sequence = sequence
        self.flags = flags
        self.foreChannel = foreChannel
        self.backChannel = backChannel
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.clientID = try buffer.readXDRUInt64()
        self.sequence = try buffer.readXDRUInt32()
        self.flags = try buffer.readXDRUInt32()
        self.foreChannel = try ChannelAttributes4(xdr: &buffer)
        self.backChannel = try ChannelAttributes4(xdr: &buffer)
        _ = try buffer.readXDRUInt32()  // csa_cb_program
        try Self.skipCallbackSecurity(&buffer)
    }

    /// `callback_sec_parms4<>`.
    static func skipCallbackSecurity(_ buffer: inout ByteBuffer) throws(XDRError) {
        _ = try buffer.readXDRArray(limit: 16) { buffer throws(XDRError) in
            let flavor = try buffer.readXDRUInt32()
            switch flavor {
            case 0: break  // AUTH_NONE
            case 1:  // AUTH_SYS: authsys_parms
                _ = try buffer.readXDRUInt32()
                _ = try buffer.readXDRVariableOpaque(limit: 255)
                _ = try buffer.readXDRUInt32()
                _ = try buffer.readXDRUInt32()
                _ = try buffer.readXDRArray(limit: 16) { buffer throws(XDRError) in try buffer.readXDRUInt32() }
            case 6:  // RPCSEC_GSS: gss_cb_handles4
                _ = try buffer.readXDRUInt32()
                _ = try buffer.readXDRVariableOpaque(limit: 1024)
                _ = try buffer.readXDRVariableOpaque(limit: 1024)
            default:
                throw .invalidDiscriminant(type: "callback_sec_parms4", value: flavor)
            }
        }
    }
}

/// CREATE_SESSION flags.
public enum CreateSessionFlags {
    public static let persist: UInt32 = 0x1
    public static let connectionBackChannel: UInt32 = 0x2
    public static let connectionRDMA: UInt32 = 0x4
}

/// CREATE_SESSION4resok.
public struct CREATE_SESSION4ResultOK: Sendable, Equatable {
    public var sessionID: SessionID4
    public var sequence: UInt32
    public var flags: UInt32
    public var foreChannel: ChannelAttributes4
    public var backChannel: ChannelAttributes4

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        self.sessionID.encode(into: &buffer) + buffer.writeXDRUInt32(self.sequence) + buffer.writeXDRUInt32(self.flags)
            + self.foreChannel.encode(into: &buffer) + self.backChannel.encode(into: &buffer)
    }
}
