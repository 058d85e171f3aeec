/// A local export's catalog entries together with where each directory's
/// own entries lie in them, so that a batch of changes lists only the
/// directories it names and the rest is copied column by column.
///
/// Groups are kept in path order (a parent before its children), whichever
/// way they were scanned, so a patched index equals a full rescan of the
/// same tree and an overflow's full rescan moves no generation by itself.
///
/// Directories are keyed and ordered by their exact bytes (`ExactPath`):
/// NFC and NFD "café" in one parent are two directories with their own
/// groups, never one.
public struct LocalExportIndex: Sendable {
    public private(set) var entries: CatalogEntries
    /// Where each directory's own entries lie in `entries`; "" holds the
    /// export roots.
    public private(set) var directories: [ExactPath: Range<Int>]

    /// The index of a full scan: its entries as they are when the walk
    /// already put the groups in order (it does), else copied into order.
    public init(_ scan: LocalExportScanner.Result) {
        let sorted = scan.directories.sorted { Self.precedes($0.key, $1.key) }
        var next = 0
        for group in sorted {
            guard group.value.isEmpty || group.value.lowerBound == next else {
                self.init(groups: sorted.map { ($0.key, scan.entries, $0.value) })
                return
            }
            next = group.value.isEmpty ? next : group.value.upperBound
        }
        guard next == scan.entries.count else {
            self.init(groups: sorted.map { ($0.key, scan.entries, $0.value) })
            return
        }
        self.init(entries: scan.entries, directories: scan.directories)
    }

    private init(entries: CatalogEntries, directories: [ExactPath: Range<Int>]) {
        self.entries = entries
        self.directories = directories
    }

    /// The order of groups: component by component, each by its bytes
    /// (`ExactPath.precedesInPathOrder`), so a directory comes right before
    /// its subtree and siblings by name in byte order (the scanner walks
    /// subdirectories in this order too). "" comes first.
    public static func precedes(_ a: ExactPath, _ b: ExactPath) -> Bool {
        a.precedesInPathOrder(b)
    }

    private init(groups: [(path: ExactPath, entries: CatalogEntries, range: Range<Int>)]) {
        let sorted = groups.sorted { Self.precedes($0.path, $1.path) }
        var builder = CatalogEntries.Builder()
        builder.reserveCapacity(
            entries: sorted.reduce(0) { $0 + $1.range.count },
            pathBytes: sorted.reduce(0) { $0 + $1.entries.pathBytes(in: $1.range) }
        )
        var directories: [ExactPath: Range<Int>] = [:]
        directories.reserveCapacity(sorted.count)
        for group in sorted {
            let first = builder.count
            builder.append(contentsOf: group.entries, range: group.range)
            directories[group.path] = first..<builder.count
        }
        self.init(entries: builder.build(), directories: directories)
    }

    public func isKnown(_ directory: ExactPath) -> Bool {
        self.directories[directory] != nil
    }

    /// The directories whose changes `batchDirectories` reported need to be
    /// listed again, and so do their parents (whose entry for the directory
    /// carries its new time); a directory this index does not know is
    /// reached through its parent.
    public func directoriesToList(for batchDirectories: some Sequence<ExactPath>) -> Set<ExactPath> {
        var list = Set<ExactPath>()
        for directory in batchDirectories {
            list.insert(directory)
            list.insert(ExactPath(NamespacePath.parent(of: directory.string)))
        }
        return list
    }

    /// This index with the directories `scan` listed replaced by what it
    /// found; subdirectories that vanished from a listed directory, and the
    /// directories `scan` found gone, are dropped with everything under
    /// them. Returns the patched index and the dropped subtrees' paths.
    public func patched(with scan: LocalExportScanner.Result) -> (index: LocalExportIndex, removed: [ExactPath]) {
        var removed = Set(scan.gone)
        for (directory, range) in scan.directories {
            guard let old = self.directories[directory] else { continue }
            var now = Set<ExactPath>()
            for position in range where scan.entries.kind(at: position) == .directory {
                now.insert(ExactPath(scan.entries.path(at: position)))
            }
            for position in old where self.entries.kind(at: position) == .directory {
                let path = ExactPath(self.entries.path(at: position))
                if !now.contains(path) { removed.insert(path) }
            }
        }
        var groups: [(path: ExactPath, entries: CatalogEntries, range: Range<Int>)] = []
        groups.reserveCapacity(self.directories.count + scan.directories.count)
        for (directory, range) in self.directories where scan.directories[directory] == nil {
            if !removed.isEmpty && Self.isUnder(directory, anyOf: removed) { continue }
            groups.append((directory, self.entries, range))
        }
        for (directory, range) in scan.directories {
            groups.append((directory, scan.entries, range))
        }
        return (LocalExportIndex(groups: groups), removed.sorted())
    }

    /// Whether `path` is one of `roots` or lies under one.
    static func isUnder(_ path: ExactPath, anyOf roots: Set<ExactPath>) -> Bool {
        var current = Substring(path.string)
        while !current.isEmpty {
            if roots.contains(ExactPath(current)) { return true }
            current = NamespacePath.parent(of: current)
        }
        return false
    }
}
