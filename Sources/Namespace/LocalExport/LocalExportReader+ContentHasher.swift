import Crypto
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// HASH on the owner's side: the file is opened and checked against the
/// version the asker expects on the thread pool, then streamed through
/// SHA-256 in chunks there too (never on an event loop, never whole in
/// memory), unless `hashes` already knows it.
extension LocalExportReader: ContentHasher {
    static let hashChunkSize = 1 << 20

    public func contentHash(path: String, expected: FileVersion, eventLoop: any EventLoop) -> EventLoopFuture<ContentHash> {
        self.threadPool.runIfActive(eventLoop: eventLoop) { () throws -> (OpenFile, ContentHashCache.Key) in
            let file = try self.openRegularFile(path)
            let found = try Self.identity(of: file.descriptor, path: path)
            guard found.version == expected else { throw ContentHashError.changed(found.version) }
            return (file, found)
        }.flatMap { file, key in
            self.hashes.hash(key, eventLoop: eventLoop) {
                try Self.sha256(of: file.descriptor, key: key, path: path)
            }
        }.flatMapErrorThrowing { error in
            switch error {
            case let error as ContentHashError: throw error
            case let error as FileSystemError: throw ContentHashError.file(error)
            default: throw ContentHashError.file(.ioError("\(path): \(error)"))
            }
        }
    }

    /// Device, inode, size and mtime of an open file.
    static func identity(of descriptor: CInt, path: String) throws -> ContentHashCache.Key {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.error(errno, path: path) }
        return ContentHashCache.Key(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
            version: FileVersion(of: info)
        )
    }

    /// Streams the file through SHA-256. Fails with `changed` if the file is
    /// not the same size and mtime afterwards, or held other than `key.size`
    /// bytes: a hash of a file being written proves nothing.
    static func sha256(of descriptor: CInt, key: ContentHashCache.Key, path: String) throws -> ContentHash {
        var hasher = SHA256()
        var total: UInt64 = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.hashChunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = pread(descriptor, chunk.baseAddress!, chunk.count, off_t(total))
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.error(errno, path: path)
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            total += UInt64(count)
            if total > key.version.size { break }
        }
        let after = try Self.identity(of: descriptor, path: path)
        guard after == key, total == key.version.size else {
            throw ContentHashError.changed(after.version)
        }
        return ContentHash(bytes: Array(hasher.finalize()))!
    }
}
