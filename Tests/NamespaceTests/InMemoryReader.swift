import Namespace
import NIOCore

/// A `FileReader` over byte arrays, failing on demand.
struct InMemoryReader: FileReader {
    var files: [String: [UInt8]]
    var failure: FileSystemError?

    func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        if let failure { return eventLoop.makeFailedFuture(failure) }
        guard let bytes = self.files[path] else { return eventLoop.makeFailedFuture(FileSystemError.stale) }
        let start = min(Int(offset), bytes.count)
        let end = min(start + count, bytes.count)
        return eventLoop.makeSucceededFuture(
            FileReadResult(data: ByteBuffer(bytes: bytes[start..<end]), isEndOfFile: end == bytes.count, version: expected)
        )
    }
}

func catalog(
    _ name: String, id: UInt64, local: Bool = false, reader: any FileReader = InMemoryReader(files: [:]), _ entries: [CatalogEntry]
) -> SourceCatalog {
    SourceCatalog(origin: NodeIdentity(id: NodeID(high: 0, low: id), name: name), generation: 1, entries: entries, reader: reader, isLocal: local)
}

func file(_ path: String, size: UInt64 = 10, mtime: Int64 = 1000) -> CatalogEntry {
    CatalogEntry(path: path, kind: .regular, size: size, mtime: Timestamp(seconds: mtime), mode: 0o644)
}

func directory(_ path: String, mtime: Int64 = 1000) -> CatalogEntry {
    CatalogEntry(path: path, kind: .directory, mtime: Timestamp(seconds: mtime), mode: 0o755)
}
