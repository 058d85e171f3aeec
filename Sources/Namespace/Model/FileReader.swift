import NIOCore

/// Reads a source's file content. Implemented by local exports (disk) and by
/// remote peers (forwarded block reads).
public protocol FileReader: Sendable {
    /// Reads up to `count` bytes at `offset` of `path` (as the source names
    /// it). `expected` is the version the namespace believes in; readers
    /// report the version they actually read so a change shows. The
    /// result's content is always bytes in memory.
    func read(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult>

    /// As `read`, for a caller that does nothing with the bytes but write
    /// them to a plaintext socket: the content may be a region of an open
    /// file (`FileContent.region`), sent without a copy.
    func readForSending(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult>
}

extension FileReader {
    public func readForSending(
        path: String,
        expected: FileVersion,
        offset: UInt64,
        count: Int,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        self.read(path: path, expected: expected, offset: offset, count: count, eventLoop: eventLoop)
    }
}

/// Bytes read from a source, and what the file looked like when read.
public struct FileReadResult: Sendable {
    public var content: FileContent
    public var isEndOfFile: Bool
    public var version: FileVersion

    public init(data: ByteBuffer, isEndOfFile: Bool, version: FileVersion) {
        self.init(content: .bytes(data), isEndOfFile: isEndOfFile, version: version)
    }

    public init(content: FileContent, isEndOfFile: Bool, version: FileVersion) {
        self.content = content
        self.isEndOfFile = isEndOfFile
        self.version = version
    }

    /// The bytes. A result of `read` holds nothing else; a region (only
    /// `readForSending` returns one) is read from its file here.
    public var data: ByteBuffer {
        get { self.content.loadedBytes() }
        set { self.content = .bytes(newValue) }
    }
}
