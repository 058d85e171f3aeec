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
public struct LocalExportScanner: Sendable {
    public struct Result: Sendable {
        public var entries: [CatalogEntry]
        public var skipped: Int { self.skippedByReason.values.reduce(0, +) }
        /// What was not offered, by reason ("device, socket or FIFO", or a
        /// `NameRefusal`'s description), with one example path each.
        public var skippedByReason: [String: Int] = [:]
        public var examples: [String: String] = [:]
        public var truncated: Bool

        mutating func skip(_ reason: String, path: String) {
            self.skippedByReason[reason, default: 0] += 1
            if self.examples[reason] == nil { self.examples[reason] = path }
        }

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
        var result = Result(entries: [], truncated: false)
        defer { self.report(result) }
        for root in roots {
            var info = stat()
            guard fstat(root.descriptor, &info) == 0 else {
                result.skip(Self.unreadable, path: root.name)
                continue
            }
            result.entries.append(Self.entry(path: root.name, info: info, target: nil))
            // A fresh open file description: a dup() would share the
            // directory offset with the root descriptor across scans.
            let copy = openat(root.descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard copy >= 0 else {
                result.skip(Self.unreadable, path: root.name)
                continue
            }
            self.walk(directory: copy, prefix: root.name, into: &result) { descriptor, path in
                onDirectory?(root, descriptor, path)
            }
        }
        return result
    }

    static let unreadable = "unreadable (vanished or no permission)"
    static let unsupported = "device, socket or FIFO"

    /// Logs what this scan skipped, when it differs from the last report.
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

    /// Walks one directory; takes ownership of `directory`.
    private func walk(directory: CInt, prefix: String, into result: inout Result, onDirectory: (CInt, String) -> Void) {
        onDirectory(directory, prefix)
        guard let stream = fdopendir(directory) else {
            close(directory)
            result.skip(Self.unreadable, path: prefix)
            return
        }
        defer { closedir(stream) }
        var subdirectories: [(name: String, bytes: [CChar])] = []
        while let item = readdir(stream) {
            if result.entries.count >= self.maximumEntries {
                result.truncated = true
                return
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
                result.skip(refusal.description, path: path)
                continue
            }
            var info = stat()
            guard fstatat(directory, rawName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                result.skip(Self.unreadable, path: path)
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                result.entries.append(Self.entry(path: path, info: info, target: nil))
            case S_IFDIR:
                result.entries.append(Self.entry(path: path, info: info, target: nil))
                subdirectories.append((name, rawName))
            case S_IFLNK:
                guard let target = Self.readLink(directory: directory, name: rawName) else {
                    result.skip(Self.unreadable, path: path)
                    continue
                }
                result.entries.append(Self.entry(path: path, info: info, target: target))
            default:
                result.skip(Self.unsupported, path: path)
            }
        }
        for (name, rawName) in subdirectories {
            let child = openat(directory, rawName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                result.skip(Self.unreadable, path: prefix + "/" + name)
                continue
            }
            self.walk(directory: child, prefix: prefix + "/" + name, into: &result, onDirectory: onDirectory)
            if result.truncated { return }
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
            mtime: Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec)),
            mode: UInt16(info.st_mode & 0o7777),
            symlinkTarget: target
        )
    }
}
