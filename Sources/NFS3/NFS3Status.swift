import Namespace
import NIOCore
import XDR

/// `nfsstat3` (RFC 1813 §2.6).
///
/// Also the error type of handle resolution and procedure bodies, so a
/// failure carries exactly the status the client will see.
public enum NFS3Status: UInt32, Error, Sendable, Equatable {
    case ok = 0
    case permissionDenied = 1  // NFS3ERR_PERM
    case noEntry = 2  // NFS3ERR_NOENT
    case io = 5  // NFS3ERR_IO
    case noDeviceOrAddress = 6  // NFS3ERR_NXIO
    case accessDenied = 13  // NFS3ERR_ACCES
    case exists = 17  // NFS3ERR_EXIST
    case crossDevice = 18  // NFS3ERR_XDEV
    case noDevice = 19  // NFS3ERR_NODEV
    case notDirectory = 20  // NFS3ERR_NOTDIR
    case isDirectory = 21  // NFS3ERR_ISDIR
    case invalid = 22  // NFS3ERR_INVAL
    case fileTooBig = 27  // NFS3ERR_FBIG
    case noSpace = 28  // NFS3ERR_NOSPC
    case readOnlyFileSystem = 30  // NFS3ERR_ROFS
    case tooManyLinks = 31  // NFS3ERR_MLINK
    case nameTooLong = 63  // NFS3ERR_NAMETOOLONG
    case notEmpty = 66  // NFS3ERR_NOTEMPTY
    case quotaExceeded = 69  // NFS3ERR_DQUOT
    case stale = 70  // NFS3ERR_STALE
    case remote = 71  // NFS3ERR_REMOTE
    case badHandle = 10001  // NFS3ERR_BADHANDLE
    case notSync = 10002  // NFS3ERR_NOT_SYNC
    case badCookie = 10003  // NFS3ERR_BAD_COOKIE
    case notSupported = 10004  // NFS3ERR_NOTSUPP
    case tooSmall = 10005  // NFS3ERR_TOOSMALL
    case serverFault = 10006  // NFS3ERR_SERVERFAULT
    case badType = 10007  // NFS3ERR_BADTYPE
    case jukebox = 10008  // NFS3ERR_JUKEBOX
}

extension NFS3Status {
    /// The one mapping from the file system model's failures to NFS statuses.
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
        // The kernel retries JUKEBOX after a pause instead of failing the
        // system call: right for a namespace that is still being gathered.
        case .notReady: self = .jukebox
        }
    }
}

extension NFS3Status: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.rawValue)
    }
}
