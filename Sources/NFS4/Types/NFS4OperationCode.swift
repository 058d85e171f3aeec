/// `nfs_opnum4` (RFC 8881 §16.2.1), NFSv4.0 and v4.1 operations.
public enum NFS4OperationCode: UInt32, Sendable, CaseIterable {
    case access = 3
    case close = 4
    case commit = 5
    case create = 6
    case delegPurge = 7
    case delegReturn = 8
    case getattr = 9
    case getfh = 10
    case link = 11
    case lock = 12
    case lockt = 13
    case locku = 14
    case lookup = 15
    case lookupp = 16
    case nverify = 17
    case open = 18
    case openAttr = 19
    case openConfirm = 20
    case openDowngrade = 21
    case putfh = 22
    case putpubfh = 23
    case putrootfh = 24
    case read = 25
    case readdir = 26
    case readlink = 27
    case remove = 28
    case rename = 29
    case renew = 30
    case restorefh = 31
    case savefh = 32
    case secinfo = 33
    case setattr = 34
    case setClientID = 35
    case setClientIDConfirm = 36
    case verify = 37
    case write = 38
    case releaseLockOwner = 39
    case backchannelControl = 40
    case bindConnectionToSession = 41
    case exchangeID = 42
    case createSession = 43
    case destroySession = 44
    case freeStateID = 45
    case getDirectoryDelegation = 46
    case getDeviceInfo = 47
    case getDeviceList = 48
    case layoutCommit = 49
    case layoutGet = 50
    case layoutReturn = 51
    case secinfoNoName = 52
    case sequence = 53
    case setSSV = 54
    case testStateID = 55
    case wantDelegation = 56
    case destroyClientID = 57
    case reclaimComplete = 58
    case illegal = 10044

    /// Operations that would change the file system: all NFS4ERR_ROFS.
    public var isModifying: Bool {
        switch self {
        case .commit, .create, .link, .remove, .rename, .setattr, .write: true
        default: false
        }
    }

    /// Operations p2pfs does not offer (pNFS, delegations, named
    /// attributes, SSV) and v4.0 operations RFC 8881 §18 says a v4.1 server
    /// answers NFS4ERR_NOTSUPP.
    public var isUnsupported: Bool {
        switch self {
        case .delegPurge, .openAttr, .openConfirm, .renew, .setClientID, .setClientIDConfirm, .releaseLockOwner,
            .getDirectoryDelegation, .getDeviceInfo, .getDeviceList, .layoutCommit, .layoutGet, .layoutReturn, .setSSV,
            .wantDelegation:
            true
        default: false
        }
    }
}
