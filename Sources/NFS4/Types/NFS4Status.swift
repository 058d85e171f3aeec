import Namespace
import NIOCore
import XDR

/// `nfsstat4` (RFC 8881 §15): the status of a COMPOUND and of each operation.
///
/// Thrown by every operation handler; the mapping from the file system
/// model's errors lives here and nowhere else.
public enum NFS4Status: UInt32, Error, Sendable, CaseIterable {
    case ok = 0
    case perm = 1
    case noEntry = 2
    case io = 5
    case access = 13
    case exists = 17
    case notDirectory = 20
    case isDirectory = 21
    case invalid = 22
    case noSpace = 28
    case readOnlyFileSystem = 30
    case nameTooLong = 63
    case stale = 70
    case badHandle = 10001
    case badCookie = 10003
    case notSupported = 10004
    case tooSmall = 10005
    case serverFault = 10006
    case delay = 10008
    case same = 10009
    case denied = 10010
    case expired = 10011
    case shareDenied = 10015
    case clientIDInUse = 10017
    case noFileHandle = 10020
    case minorVersionMismatch = 10021
    case staleClientID = 10022
    case staleStateID = 10023
    case oldStateID = 10024
    case badStateID = 10025
    case badSeqID = 10026
    case notSame = 10027
    case lockRange = 10028
    case symlink = 10029
    case restoreFileHandle = 10030
    case attributeNotSupported = 10032
    case noGrace = 10033
    case badXDR = 10036
    case locksHeld = 10037
    case openMode = 10038
    case badName = 10041
    case badRange = 10042
    case operationIllegal = 10044
    case badSession = 10052
    case badSlot = 10053
    case completeAlready = 10054
    case sequenceMisordered = 10063
    case sequencePosition = 10064
    case requestTooBig = 10065
    case replyTooBig = 10066
    case replyTooBigToCache = 10067
    case retryUncachedReply = 10068
    case tooManyOperations = 10070
    case operationNotInSession = 10071
    case clientIDBusy = 10074
    case sequenceFalseRetry = 10076
    case notOnlyOperation = 10081
    case wrongType = 10083

    /// The one mapping from the namespace's failures to NFSv4 statuses.
    /// A namespace still being gathered answers DELAY so the client retries
    /// a handle it held from before a restart instead of dropping it.
    public init(_ error: FileSystemError) {
        switch error {
        case .noEntry: self = .noEntry
        case .notDirectory: self = .notDirectory
        case .isDirectory: self = .isDirectory
        case .invalidArgument: self = .invalid
        case .nameTooLong: self = .nameTooLong
        case .stale: self = .stale
        case .readOnly: self = .readOnlyFileSystem
        case .ioError: self = .io
        case .notReady: self = .delay
        }
    }
}

extension NFS4Status: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.rawValue)
    }
}

/// Runs a namespace operation, turning its error into an NFSv4 status.
func nfs4StatusOnError<T>(_ body: () throws(FileSystemError) -> T) throws(NFS4Status) -> T {
    do {
        return try body()
    } catch {
        throw NFS4Status(error)
    }
}
