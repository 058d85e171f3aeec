import NIOCore

/// Reads a source's file content. Implemented by local exports (disk) and by
/// remote peers (forwarded block reads).
public protocol FileReader: Sendable {
    /// Reads up to `count` bytes at `offset` of `path` (as the source names
    /// it). `expected` is the version the namespace believes in; readers
    /// report the version they actually read so a change shows.
    func read(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult>
}

/// Bytes read from a source, and what the file looked like when read.
public struct FileReadResult: Sendable {
    public var data: ByteBuffer
    public var isEndOfFile: Bool
    public var version: FileVersion

    public init(data: ByteBuffer, isEndOfFile: Bool, version: FileVersion) {
        self.data = data
        self.isEndOfFile = isEndOfFile
        self.version = version
    }
}
