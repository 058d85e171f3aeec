import Foundation

/// A directory tree for a daemon to export, with the shapes that matter to a
/// network file system: nesting, a large directory, symlinks, an empty file
/// and a large file.
struct ExportTree {
    let root: URL

    struct Entry: Equatable, Hashable, CustomStringConvertible {
        var path: String
        var kind: Character  // "d", "-", "l"
        var size: UInt64

        var description: String { "\(self.kind) \(self.size) \(self.path)" }
    }

    static func make(at root: URL, largeFileBytes: Int, wideDirectoryEntries: Int) throws -> ExportTree {
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("docs/nested/deeper"), withIntermediateDirectories: true)
        try Data("read me\n".utf8).write(to: root.appendingPathComponent("docs/readme.txt"))
        try Data("deep inside\n".utf8).write(to: root.appendingPathComponent("docs/nested/deeper/file.txt"))
        try Data().write(to: root.appendingPathComponent("empty"))
        try fm.createDirectory(at: root.appendingPathComponent("wide"), withIntermediateDirectories: true)
        for index in 0..<wideDirectoryEntries {
            try Data("entry \(index)\n".utf8).write(to: root.appendingPathComponent(String(format: "wide/f%05d", index)))
        }
        try fm.createDirectory(at: root.appendingPathComponent("links"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("links/to-readme").path, withDestinationPath: "../docs/readme.txt")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("links/dangling").path, withDestinationPath: "no/such/file")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("links/absolute").path, withDestinationPath: "/etc/passwd")
        try Self.writeRandomFile(at: root.appendingPathComponent("large.bin"), bytes: largeFileBytes)
        return ExportTree(root: root)
    }

    /// Random content from the kernel, written by `head` (fast even when the
    /// tests run unoptimised).
    static func writeRandomFile(at url: URL, bytes: Int) throws {
        try ChildProcess.check(["sh", "-c", "head -c \(bytes) /dev/urandom > '\(url.path)'"], timeout: 120)
    }

    /// What the tree holds, as `nfs-ls -R` should show it (paths relative to
    /// `root`, prefixed with `prefix`).
    func entries(prefix: String) throws -> Set<Entry> {
        var result: Set<Entry> = []
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: self.root.path) else { return result }
        while let relative = enumerator.nextObject() as? String {
            let attributes = try fm.attributesOfItem(atPath: self.root.appendingPathComponent(relative).path)
            let type = attributes[.type] as? FileAttributeType
            let kind: Character = type == .typeDirectory ? "d" : (type == .typeSymbolicLink ? "l" : "-")
            var size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
            if kind == "d" { size = 0 }
            result.insert(Entry(path: prefix + relative, kind: kind, size: size))
        }
        return result
    }

    /// Parses `nfs-ls -R` lines: "drwxr-xr-x  2  0  0  4096 path".
    static func parseListing(_ text: String) -> Set<Entry> {
        var result: Set<Entry> = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let kind = fields[0].first, let size = UInt64(fields[4]) else { continue }
            result.insert(Entry(path: String(fields[5]), kind: kind, size: kind == "d" ? 0 : size))
        }
        return result
    }
}
