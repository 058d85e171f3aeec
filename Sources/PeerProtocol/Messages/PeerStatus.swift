import Namespace

/// `peer_status`: outcomes of peer procedures.
public enum PeerStatus: UInt32, Sendable, Error {
    case ok = 0
    case noEntry = 2
    case io = 5
    case denied = 13
    case isDirectory = 21
    case invalid = 22
    case stale = 70
    case changed = 10001
    case badVersion = 10002
}

extension PeerStatus {
    /// The one place file system errors become peer statuses.
    public init(_ error: FileSystemError) {
        switch error {
        case .noEntry: self = .noEntry
        case .isDirectory: self = .isDirectory
        case .stale: self = .stale
        case .notDirectory, .invalidArgument, .nameTooLong, .readOnly: self = .invalid
        case .ioError, .notReady: self = .io
        }
    }

    /// HASH's refusals: a file not at the version asked about is CHANGED.
    public init(_ error: ContentHashError) {
        switch error {
        case .changed: self = .changed
        case .file(let error): self.init(error)
        }
    }

    /// What a reader of a forwarded file makes of a peer's refusal.
    public var fileSystemError: FileSystemError {
        switch self {
        case .ok: .ioError("peer answered OK without data")
        case .noEntry, .stale: .stale
        case .isDirectory: .isDirectory
        case .invalid: .invalidArgument
        case .io: .ioError("the peer could not read the file")
        case .denied: .ioError("the peer refused this node (network key)")
        case .changed: .ioError("the peer's catalog changed")
        case .badVersion: .ioError("the peer speaks another protocol version")
        }
    }
}
