import CP2PFSSystem
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Lists everything under the export roots as catalog entries.
///
/// Blocking: run it on a thread pool. The walk never follows symlinks (they
/// are offered as symlinks), keeps every name as the exact bytes of its
/// directory entry (`NameBytes`), skips what cannot be offered (devices,
/// sockets, FIFOs, entries that vanish or cannot be read) and counts and
/// logs what it skipped, by reason.
///
/// Entries come out directory by directory, each directory's own entries
/// side by side, and `directories` says where: a later batch of changes
/// lists only the directories it names again (`scan(_:directories:…)`) and
/// the export's catalog is patched group by group.
public struct LocalExportScanner: Sendable {
    public struct Result: Sendable {
        public var entries: CatalogEntries
        /// Where each listed directory's own entries lie in `entries`, by
        /// path's exact bytes; "" holds the export roots themselves.
        public var directories: [ExactPath: Range<Int>]
        /// Directories asked for that are gone (or no longer directories).
        public var gone: [ExactPath]
        public var skipped: Int { self.skippedByReason.values.reduce(0, +) }
        /// What was not offered, by reason ("device, socket or FIFO", or a
        /// `NameRefusal`'s description), with one example path each.
        public var skippedByReason: [String: Int] = [:]
        public var examples: [String: String] = [:]
        public var truncated: Bool

        /// "2 device, socket or FIFO (e.g. a/fifo)", for the log.
        public var skippedDescription: String {
            self.skippedByReason.keys.sorted().map { reason in
                "\(self.skippedByReason[reason]!) \(reason) (e.g. \(NameBytes.display(self.examples[reason] ?? "")))"
            }.joined(separator: ", ")
        }
    }

    public let maximumEntries: Int
    private let logger: Logger?
    /// The last skip report logged, so an unchanged export logs it once.
    private let lastReport = NIOLockedValueBox<String>("")

    public init(maximumEntries: Int = 10_000_000, logger: Logger? = nil) {
        self.maximumEntries = maximumEntries
        self.logger = logger
    }

    /// Walks `roots`; `onDirectory` is called with each directory's open
    /// descriptor and path before it is read (the export watcher watches
    /// it there, so nothing created after the read goes unreported).
    public func scan(_ roots: [ExportRoot], onDirectory: ((ExportRoot, CInt, String) -> Void)? = nil) -> Result {
        var walk = Walk(maximumEntries: self.maximumEntries)
        let present = walk.listRoots(Self.sorted(roots))
        for root in present {
            // A fresh open file description: a dup() would share the
            // directory offset with the root descriptor across scans.
            let copy = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard copy >= 0 else {
                walk.skip(Self.unreadable, path: root.name)
                continue
            }
            walk.walk(directory: copy, prefix: root.name, descend: { _ in true }) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
            if walk.truncated { break }
        }
        let result = walk.result
        self.report(result)
        return result
    }

    static let unreadable = "unreadable (vanished or no permission)"
    static let unsupported = "device, socket or FIFO"

    /// Logs what a scan skipped, when it differs from the last report.
    private func report(_ result: Result) {
        guard let logger = self.logger else { return }
        let report = result.skippedDescription
        let changed = self.lastReport.withLockedValue { last in
            defer { last = report }
            return last != report
        }
        guard changed, !report.isEmpty else { return }
        logger.warning("export entries not offered", metadata: ["count": "\(result.skipped)", "why": "\(report)"])
    }

    /// Lists the directories at `paths` again, each on its own, and walks
    /// whole every subdirectory in them that `isKnown` does not know (a new
    /// tree, or one moved in). "" lists the export roots themselves.
    /// `onDirectory` as in `scan`: a new directory is watched before it is
    /// read, so files created in it meanwhile are either read or reported.
    public func scan(
        _ roots: [ExportRoot], directories paths: some Sequence<ExactPath>, isKnown: (ExactPath) -> Bool,
        onDirectory: ((ExportRoot, CInt, String) -> Void)? = nil
    ) -> Result {
        var walk = Walk(maximumEntries: self.maximumEntries)
        let byName = Dictionary(roots.map { (ExactPath($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        for exactPath in paths {
            let path = exactPath.string
            if path.isEmpty {
                _ = walk.listRoots(Self.sorted(roots))
                continue
            }
            let slash = path.firstIndex(of: "/")
            guard let root = byName[ExactPath(path[..<(slash ?? path.endIndex)])] else {
                walk.gone.append(exactPath)
                continue
            }
            let descriptor: CInt
            if let slash {
                // By the path's exact bytes (`NameBytes`), NUL-terminated.
                let relative = NameBytes.bytes(path[path.index(after: slash)...]) + [0]
                descriptor = relative.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { p2pfs_open_beneath(root.descriptor, $0.baseAddress!, O_RDONLY | O_DIRECTORY) }
                }
            } else {
                descriptor = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            }
            guard descriptor >= 0 else {
                walk.gone.append(exactPath)
                continue
            }
            walk.walk(directory: descriptor, prefix: path, descend: { !isKnown($0) }) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
            if walk.truncated { break }
        }
        let result = walk.result
        // Only what these directories hold: a report of nothing skipped
        // here says nothing of the rest of the export.
        if result.skipped > 0 { self.report(result) }
        return result
    }

    /// The roots in `LocalExportIndex`'s order, so the index takes the
    /// entries as they are instead of copying them into order.
    static func sorted(_ roots: [ExportRoot]) -> [ExportRoot] {
        roots.sorted { LocalExportIndex.precedes(ExactPath($0.name), ExactPath($1.name)) }
    }

    /// A walk under way, appending each directory's entries as one group.
    struct Walk {
        let maximumEntries: Int
        var builder = CatalogEntries.Builder()
        var directories: [ExactPath: Range<Int>] = [:]
        var gone: [ExactPath] = []
        var skippedByReason: [String: Int] = [:]
        var examples: [String: String] = [:]
        var truncated = false

        init(maximumEntries: Int) {
            self.maximumEntries = maximumEntries
        }

        var result: Result {
            Result(
                entries: self.builder.build(), directories: self.directories, gone: self.gone,
                skippedByReason: self.skippedByReason, examples: self.examples, truncated: self.truncated
            )
        }

        mutating func skip(_ reason: String, path: String) {
            self.skippedByReason[reason, default: 0] += 1
            if self.examples[reason] == nil { self.examples[reason] = path }
        }

        /// Appends the roots' own entries as the group ""; returns the roots
        /// that could be read.
        mutating func listRoots(_ roots: [ExportRoot]) -> [ExportRoot] {
            let first = self.builder.count
            var present: [ExportRoot] = []
            for root in roots {
                var info = stat()
                guard fstat(root.descriptor, &info) == 0 else {
                    self.skip(LocalExportScanner.unreadable, path: root.name)
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
            directory: CInt, prefix: String, descend: (ExactPath) -> Bool, onDirectory: (CInt, String) -> Void
        ) {
            onDirectory(directory, prefix)
            guard let stream = fdopendir(directory) else {
                close(directory)
                self.skip(LocalExportScanner.unreadable, path: prefix)
                return
            }
            defer { closedir(stream) }
            var subdirectories: [(name: String, bytes: [CChar])] = []
            let first = self.builder.count
            while let item = readdir(stream) {
                if self.builder.count >= self.maximumEntries {
                    self.truncated = true
                    break
                }
                // The entry's exact bytes: every later call names it by them.
                let rawName: [CChar] = withUnsafePointer(to: &item.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { pointer in
                        Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer) + 1))
                    }
                }
                let name = rawName.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: UInt8.self) { NameBytes.string($0.dropLast()) }
                }
                if name == "." || name == ".." { continue }
                let path = prefix + "/" + name
                if let refusal = NamespacePath.refusal(ofName: name) {
                    self.skip(refusal.description, path: path)
                    continue
                }
                var info = stat()
                guard fstatat(directory, rawName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    self.skip(LocalExportScanner.unreadable, path: path)
                    continue
                }
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: nil))
                case S_IFDIR:
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: nil))
                    subdirectories.append((name, rawName))
                case S_IFLNK:
                    guard let target = LocalExportScanner.readLink(directory: directory, name: rawName) else {
                        self.skip(LocalExportScanner.unreadable, path: path)
                        continue
                    }
                    self.builder.append(LocalExportScanner.entry(path: path, info: info, target: target))
                default:
                    self.skip(LocalExportScanner.unsupported, path: path)
                }
            }
            self.directories[ExactPath(prefix)] = first..<self.builder.count
            if self.truncated { return }
            subdirectories.sort { LocalExportIndex.precedes(ExactPath($0.name), ExactPath($1.name)) }
            for (name, rawName) in subdirectories {
                let path = prefix + "/" + name
                guard descend(ExactPath(path)) else { continue }
                let child = openat(directory, rawName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else {
                    self.skip(LocalExportScanner.unreadable, path: path)
                    continue
                }
                self.walk(directory: child, prefix: path, descend: descend, onDirectory: onDirectory)
                if self.truncated { return }
            }
        }
    }

    /// The target's exact bytes, as a `NameBytes` string.
    private static func readLink(directory: CInt, name: [CChar]) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = buffer.withUnsafeMutableBufferPointer { target in
            target.withMemoryRebound(to: CChar.self) { readlinkat(directory, name, $0.baseAddress!, $0.count - 1) }
        }
        guard length > 0 else { return nil }
        return NameBytes.string(buffer[0..<length])
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
            mtime: Timestamp(modificationOf: info),
            mode: UInt16(info.st_mode & 0o7777),
            symlinkTarget: target
        )
    }
}
