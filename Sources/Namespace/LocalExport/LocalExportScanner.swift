import CP2PFSSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Lists everything under the export roots as catalog entries.
///
/// Blocking: run it on a thread pool. The walk never follows symlinks (they
/// are offered as symlinks), skips what cannot be offered (devices, sockets,
/// FIFOs, names that are not UTF-8) and counts what it skipped.
public struct LocalExportScanner: Sendable {
    public struct Result: Sendable {
        public var entries: [CatalogEntry]
        public var skipped: Int
        public var truncated: Bool
    }

    public let maximumEntries: Int

    public init(maximumEntries: Int = 10_000_000) {
        self.maximumEntries = maximumEntries
    }

    /// Walks `roots`; `onDirectory` is called with each directory's open
    /// descriptor and path before it is read (the export watcher watches
    /// it there, so nothing created after the read goes unreported).
    public func scan(_ roots: [ExportRoot], onDirectory: ((ExportRoot, CInt, String) -> Void)? = nil) -> Result {
        var result = Result(entries: [], skipped: 0, truncated: false)
        for root in roots {
            var info = stat()
            guard fstat(root.descriptor, &info) == 0 else {
                result.skipped += 1
                continue
            }
            result.entries.append(Self.entry(path: root.name, info: info, target: nil))
            // A fresh open file description: a dup() would share the
            // directory offset with the root descriptor across scans.
            let copy = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard copy >= 0 else {
                result.skipped += 1
                continue
            }
            self.walk(directory: copy, prefix: root.name, into: &result) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
        }
        return result
    }

    /// Walks one directory; takes ownership of `directory`.
    private func walk(directory: CInt, prefix: String, into result: inout Result, onDirectory: (CInt, String) -> Void) {
        onDirectory(directory, prefix)
        guard let stream = fdopendir(directory) else {
            close(directory)
            result.skipped += 1
            return
        }
        defer { closedir(stream) }
        var subdirectories: [String] = []
        while let item = readdir(stream) {
            if result.entries.count >= self.maximumEntries {
                result.truncated = true
                return
            }
            let name: String? = withUnsafePointer(to: &item.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(validatingCString: $0) }
            }
            guard let name else {
                result.skipped += 1
                continue
            }
            if name == "." || name == ".." { continue }
            guard NamespacePath.isValidName(name) else {
                result.skipped += 1
                continue
            }
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                result.skipped += 1
                continue
            }
            let path = prefix + "/" + name
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                result.entries.append(Self.entry(path: path, info: info, target: nil))
            case S_IFDIR:
                result.entries.append(Self.entry(path: path, info: info, target: nil))
                subdirectories.append(name)
            case S_IFLNK:
                guard let target = Self.readLink(directory: directory, name: name) else {
                    result.skipped += 1
                    continue
                }
                result.entries.append(Self.entry(path: path, info: info, target: target))
            default:
                result.skipped += 1
            }
        }
        for name in subdirectories {
            let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                result.skipped += 1
                continue
            }
            self.walk(directory: child, prefix: prefix + "/" + name, into: &result, onDirectory: onDirectory)
            if result.truncated { return }
        }
    }

    private static func readLink(directory: CInt, name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(validating: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func entry(path: String, info: stat, target: String?) -> CatalogEntry {
        let kind: FileKind
        switch info.st_mode & S_IFMT {
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .regular
        }
        return CatalogEntry(
            path: path,
            kind: kind,
            size: kind == .regular ? UInt64(info.st_size) : 0,
            mtime: Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec)),
            mode: UInt16(info.st_mode & 0o7777),
            symlinkTarget: target
        )
    }
}
