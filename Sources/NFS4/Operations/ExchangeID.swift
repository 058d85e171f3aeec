import NIOCore
import XDR

/// EXCHANGE_ID4args (RFC 8881 §18.35).
public struct EXCHANGE_ID4Args: Sendable, Equatable {
    /// `client_owner4`: the verifier changes when the client reboots.
    public var verifier: UInt64
    public var ownerID: [UInt8]
    public var flags: UInt32
    /// `state_protect_how4`: only SP4_NONE (0) is accepted.
    public var stateProtection: UInt32

    public init(verifier: UInt64, ownerID: [UInt8], flags: UInt32, stateProtection: UInt32 = 0) {
        self.verifier = verifier
        self.ownerID = ownerID
        self.flags = flags
        self.stateProtection = stateProtection
    }

    static let opaqueLimit = 1024

    /// Decodes up to and including the state protection; the client's
    /// implementation id is read and ignored. SP4_MACH_CRED and SP4_SSV
    /// stop decoding: the operation is refused anyway.
    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.verifier = try buffer.readXDRUInt64()
        let owner = try buffer.readXDRVariableOpaque(limit: Self.opaqueLimit)
        self.ownerID = Array(owner.readableBytesView)
        self.flags = try buffer.readXDRUInt32()
        self.stateProtection = try buffer.readXDRUInt32()
        guard self.stateProtection == 0 else { return }
        let implementations = try buffer.readXDRUInt32()
        guard implementations <= 1 else { throw .lengthLimitExceeded(length: implementations, limit: 1) }
        if implementations == 1 {
            _ = try buffer.readXDRVariableOpaque(limit: Self.opaqueLimit)  // nii_domain
            _ = try buffer.readXDRVariableOpaque(limit: Self.opaqueLimit)  // nii_name
            _ = try buffer.readXDRInt64()  // nii_date
            _ = try buffer.readXDRUInt32()
        }
    }
}

/// EXCHANGE_ID flags (RFC 8881 §18.35.3).
public enum ExchangeIDFlags {
    public static let supportsMovedReferrals: UInt32 = 0x1
    public static let supportsMovedMigration: UInt32 = 0x2
    public static let bindPrincipalStateID: UInt32 = 0x100
    public static let useNonPNFS: UInt32 = 0x1_0000
    public static let usePNFSMetadataServer: UInt32 = 0x2_0000
    public static let usePNFSDataServer: UInt32 = 0x4_0000
    public static let updateConfirmedRecord: UInt32 = 0x4000_0000
    public static let confirmedRecord: UInt32 = 0x8000_0000
    /// Every flag a client may send.
    static let clientFlags: UInt32 =
        supportsMovedReferrals | supportsMovedMigration | bindPrincipalStateID | useNonPNFS | usePNFSMetadataServer
        | usePNFSDataServer | updateConfirmedRecord
}

/// EXCHANGE_ID4resok.
public struct EXCHANGE_ID4ResultOK: Sendable, Equatable {
    public var clientID: UInt64
    public var sequenceID: UInt32
    public var flags: UInt32
    public var serverOwnerMinor: UInt64
    public var serverOwnerMajor: [UInt8]
    public var serverScope: [UInt8]

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeXDRUInt64(self.clientID) + buffer.writeXDRUInt32(self.sequenceID) + buffer.writeXDRUInt32(self.flags)
        written += buffer.writeXDRUInt32(0)  // SP4_NONE
        written += buffer.writeXDRUInt64(self.serverOwnerMinor) + buffer.writeXDRVariableOpaque(self.serverOwnerMajor)
        written += buffer.writeXDRVariableOpaque(self.serverScope)
        written += buffer.writeXDRUInt32(1)  // one nfs_impl_id4
        written += buffer.writeXDRString("p2pfs") + buffer.writeXDRString("p2pfs NFSv4.1")
        written += buffer.writeNFSTime4(.zero)
        return written
    }
}
