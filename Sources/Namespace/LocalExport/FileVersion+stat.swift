#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file's mtime and version as `fstat` reports them: one conversion for
/// the scanner, the reader and the content hasher, so they never disagree.
extension Timestamp {
    init(modificationOf info: stat) {
        self.init(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec))
    }
}

extension FileVersion {
    init(of info: stat) {
        self.init(size: UInt64(info.st_size), mtime: Timestamp(modificationOf: info))
    }
}
