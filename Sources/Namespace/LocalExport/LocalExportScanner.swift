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
///
/// Entries come out directory by directory, each directory's own entries
/// side by side, and `directories` says where: a later batch of changes
/// lists only the directories it names again (`scan(_:directories:…)`) and
/// the export's catalog is patched group by group.
public struct LocalExportScanner: Sendable {
    public struct Result: Sendable {
        public var entries: CatalogEntries
        /// Where each listed directory's own entries lie in `entries`, by
        /// path; "" holds the export roots themselves.
        public var directories: [String: Range<Int>]
        /// Directories asked for that are gone (or no longer directories).
        public var gone: [String]
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
        var walk = Walk(maximumEntries: self.maximumEntries)
        // In LocalExportIndex's order, so the index takes the entries as
        // they are instead of copying them into order.
        let present = walk.listRoots(roots.sorted { LocalExportIndex.precedes($0.name, $1.name) })
        for root in present {
            // A fresh open file description: a dup() would share the
            // directory offset with the root descriptor across scans.
            let copy = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard copy >= 0 else {
                walk.skipped += 1
                continue
            }
            walk.walk(directory: copy, prefix: root.name, descend: { _ in true }) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
            if walk.truncated { break }
        }
        return walk.result
    }

    /// Lists the directories at `paths` again, each on its own, and walks
    /// whole every subdirectory in them that `isKnown` does not know (a new
    /// tree, or one moved in). "" lists the export roots themselves.
    /// `onDirectory` as in `scan`: a new directory is watched before it is
    /// read, so files created in it meanwhile are either read or reported.
    public func scan(
        _ roots: [ExportRoot], directories paths: some Sequence<String>, isKnown: (String) -> Bool,
        onDirectory: ((ExportRoot, CInt, String) -> Void)? = nil
    ) -> Result {
        var walk = Walk(maximumEntries: self.maximumEntries)
        let byName = Dictionary(roots.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for path in paths {
            if path.isEmpty {
                _ = walk.listRoots(roots.sorted { LocalExportIndex.precedes($0.name, $1.name) })
                continue
            }
            let slash = path.firstIndex(of: "/")
            guard let root = byName[String(path[..<(slash ?? path.endIndex)])] else {
                walk.gone.append(path)
                continue
            }
            let descriptor: CInt
            if let slash {
                descriptor = p2pfs_open_beneath(root.descriptor, String(path[path.index(after: slash)...]), O_RDONLY | O_DIRECTORY)
            } else {
                descriptor = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            }
            guard descriptor >= 0 else {
                walk.gone.append(path)
                continue
            }
            walk.walk(directory: descriptor, prefix: path, descend: { !isKnown($0) }) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
            if walk.truncated { break }
        }
        return walk.result
    }

    /// A walk under way, appending each directory's entries as one group.
    struct Walk {
        let maximumEntries: Int
        var builder = CatalogEntries.Builder()
        var directories: [String: Range<Int>] = [:]
        var gone: [String] = []
        var skipped = 0
        var truncated = false

        init(maximumEntries: Int) {
            self.maximumEntries = maximumEntries
        }

        var result: Result {
            Result(entries: self.builder.build(), directories: self.directories, gone: self.gone, skipped: self.skipped, truncated: self.truncated)
        }

        /// Appends the roots' own entries as the group ""; returns the roots
        /// that could be read.
        mutating func listRoots(_ roots: [ExportRoot]) -> [ExportRoot] {
            let first = self.builder.count
            var present: [ExportRoot] = []
            for root in roots {
                var info = stat()
                guard fstat(root.descriptor, &info) == 0 else {
                    self.skipped += 1
                    continue
                }
                self.builder.append(LocalExportScanner.entry(path: root.name, info: info, target: nil))
                present.append(root)
            }
            self.directories[""] = first..<self.builder.count
            return present
        }

        /// Lists one directory, then walks the subdirectories `descend`
        /// accepts; takes ownership of `directory`.
        mutating func walk(
            directory: CInt, prefix: String, descend: (String) -> Bool, onDirectory: (CInt, String) -> Void
        ) {
            onDirectory(directory, prefix)
            guard let stream = fdopendir(directory) else {
                close(directory)
                self.skipped += 1
                return
            }
            defer { closedir(stream) }
            var subdirectories: [String] = []
            let first = self.builder.count
            while let item = readdir(stream) {
                if self.builder.count >= self.maximumEntries {
                    self.truncated = true
                    break
                }
                let name: String? = withUnsafePointer(to: &item.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(validatingCString: $0) }
                }
                guard let name else {
                    self.skipped += 1
                    continue
                }
                if name == "." || name == ".." { continue }
                guard NamespacePath.isValidName(name) else {
                    self.skipped += 1
                    continue
                }
                var info = stat()
                guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    self.skipped += 1
                    continue
                }
                let path = prefix + "/" + name
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: nil))
                case S_IFDIR:
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: nil))
                    subdirectories.append(name)
                case S_IFLNK:
                    guard let target = LocalExportScanner.readLink(directory: directory, name: name) else {
                        self.skipped += 1
                        continue
                    }
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: target))
                default:
                    self.skipped += 1
                }
            }
            self.directories[prefix] = first..<self.builder.count
            if self.truncated { return }
            subdirectories.sort { LocalExportIndex.precedes($0, $1) }
            for name in subdirectories {
                let path = prefix + "/" + name
                guard descend(path) else { continue }
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else {
                    self.skipped += 1
                    continue
                }
                self.walk(directory: child, prefix: path, descend: descend, onDirectory: onDirectory)
                if self.truncated { return }
            }
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
