import NIOCore

/// A source that can tell the content hash of a file it offers: a local
/// export hashes the file on disk, a remote peer is asked (HASH).
public protocol ContentHasher: Sendable {
    /// The SHA-256 of `path` (as the source names it), provided the file is
    /// still at `expected`; fails with `ContentHashError` otherwise.
    func contentHash(path: String, expected: FileVersion, eventLoop: any EventLoop) -> EventLoopFuture<ContentHash>
}

/// Why a source could not tell a file's content hash.
public enum ContentHashError: Error, Sendable, Equatable {
    /// The file is not at the version asked about (it changed since the
    /// catalog was made); the version found is attached.
    case changed(FileVersion)
    /// The file could not be opened or read.
    case file(FileSystemError)
}
