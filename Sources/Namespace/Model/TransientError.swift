/// An error that tells whether the same request may succeed later.
///
/// Only retries look at it (a failed HASH is asked again a few times when
/// its error is transient); everything else treats errors as before.
public protocol TransientError: Error {
    /// True when the cause may pass by itself: a timeout, a connection that
    /// dropped, an owner busy or briefly unreachable. False when asking
    /// again can only give the same answer: the file changed or is gone,
    /// the request is invalid, the peer refuses this node.
    var isTransient: Bool { get }
}

extension FileSystemError: TransientError {
    /// An I/O error or a namespace still being assembled may pass; the
    /// other cases describe the file or the request and will not change.
    public var isTransient: Bool {
        switch self {
        case .ioError, .notReady: true
        case .noEntry, .notDirectory, .isDirectory, .invalidArgument, .nameTooLong, .stale, .readOnly: false
        }
    }
}

extension ContentHashError: TransientError {
    /// A file not at the version asked about stays so (its next version is
    /// a new key, asked afresh); a read error may pass.
    public var isTransient: Bool {
        switch self {
        case .changed: false
        case .file(let error): error.isTransient
        }
    }
}
