/// Failures of the file system model, free of any protocol's status codes.
///
/// The NFS layer maps each case to one nfsstat3 in a single place
/// (`NFS3Status.init(_:)`), and the peer protocol to its own statuses.
public enum FileSystemError: Error, Sendable, Equatable {
    /// No entry of that name.
    case noEntry
    /// A directory operation on something that is not a directory.
    case notDirectory
    /// A file operation on a directory.
    case isDirectory
    /// An operation that does not apply (READLINK of a regular file).
    case invalidArgument
    /// A name longer than `NamespacePath.maximumNameLength`.
    case nameTooLong
    /// The identifier no longer names anything in the namespace.
    case stale
    /// The namespace offers no writes.
    case readOnly
    /// Every source of the file failed; the string says why, for logs.
    case ioError(String)
    /// The namespace is still being assembled (right after start-up).
    case notReady
}
