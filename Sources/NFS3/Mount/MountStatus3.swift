import NIOCore
import Namespace
import XDR

/// `mountstat3`.
public enum MountStatus3: UInt32, Error, Sendable {
    case ok = 0
    case permissionDenied = 1
    case noEntry = 2
    case io = 5
    case accessDenied = 13
    case notDirectory = 20
    case invalid = 22
    case nameTooLong = 63
    case notSupported = 10004
    case serverFault = 10006

    /// MOUNT's counterpart of `NFS3Status.init(_:)`.
    init(_ error: FileSystemError) {
        switch error {
        case .noEntry, .stale: self = .noEntry
        case .notDirectory: self = .notDirectory
        case .nameTooLong: self = .nameTooLong
        case .isDirectory, .invalidArgument: self = .invalid
        case .readOnly: self = .accessDenied
        case .ioError, .notReady: self = .io
        }
    }
}

/// `dirpath` as received.
///
/// Kept as bytes and read without the XDR limit, so an overlong path is
/// answered MNT3ERR_NAMETOOLONG rather than GARBAGE_ARGS.
public struct MountPath: XDRDecodable, Sendable, Equatable {
    /// MNTPATHLEN.
    public static let maximumLength = 1024

    public var bytes: ByteBuffer

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.bytes = try buffer.readXDRVariableOpaque()
    }

    /// The path in the namespace's form (`NameBytes`): any bytes, so a
    /// directory whose name is not UTF-8 can be mounted too.
    public var string: String {
        self.bytes.readableName
    }

    /// The path in one canonical spelling ("/", "/movies"), so that MNT and
    /// UMNT of "movies/" and "/movies" name the same mount.
    var normalized: String {
        "/" + self.string.split(separator: "/").joined(separator: "/")
    }
}
