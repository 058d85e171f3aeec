/// Builds one namespace out of every source's catalog.
///
/// The rules, identical on every client because they depend only on the
/// catalogs:
/// - Directories are unions: a directory holds the children every source
///   offers under that path.
/// - A file offered by several sources with the same size and mtime is one
///   file with several sources; reads fail over between them.
/// - A path offered with different content keeps its name for the newest
///   version (latest mtime, then larger size, then the lexicographically
///   smallest node name); each other version appears beside it as
///   `NAME@node` (first node name of that version's holders, sorted).
/// - Where one source has a directory and another a file or symlink at the
///   same path, the directory keeps the name and the others become variants.
/// - A variant name that is already taken gets `~2`, `~3`, ... appended.
public struct NamespaceMerger: Sendable {
    public init() {}

    private struct Group {
        var refs: [NamespaceSnapshot.SourceRef] = []
        var hasChildren = false
    }

    private struct PendingNode {
        var path: String
        var name: String
        var parentPath: Substring
        var kind: FileKind
        var size: UInt64
        var mtime: Timestamp
        var mode: UInt16
        var refs: [NamespaceSnapshot.SourceRef]
    }

    public func merge(
        _ unorderedCatalogs: [SourceCatalog],
        generation: UInt64,
        previous: NamespaceSnapshot?,
        now: Timestamp
    ) -> NamespaceSnapshot {
        // Fixed order: local sources first, then by node name and id.
        let catalogs = unorderedCatalogs.sorted { a, b in
            if a.isLocal != b.isLocal { return a.isLocal }
            if a.origin.name != b.origin.name { return a.origin.name < b.origin.name }
            return a.origin.id < b.origin.id
        }

        // 1. Group every offered path, adding the directories implied by paths.
        var groups: [String: Group] = [:]
        groups.reserveCapacity(catalogs.reduce(0) { $0 + $1.entries.count } + 1)
        for (catalogIndex, catalog) in catalogs.enumerated() {
            for (entryIndex, entry) in catalog.entries.enumerated() where NamespacePath.isValidPath(entry.path) {
                if entry.kind == .symlink && entry.symlinkTarget == nil { continue }
                groups[entry.path, default: Group()].refs.append(.init(catalog: Int32(catalogIndex), entry: Int32(entryIndex)))
                var parent = NamespacePath.parent(of: entry.path)
                while !parent.isEmpty {
                    let key = String(parent)
                    if groups[key]?.hasChildren == true { break }
                    groups[key, default: Group()].hasChildren = true
                    parent = NamespacePath.parent(of: parent)
                }
            }
        }

        // 2. Resolve each path into a directory, a file, or a file and variants.
        var pending: [PendingNode] = []
        pending.reserveCapacity(groups.count + 1)
        pending.append(PendingNode(path: "", name: "", parentPath: "", kind: .directory, size: 0, mtime: .zero, mode: 0o755, refs: []))
        var variants: [(path: String, node: PendingNode)] = []
        for (path, group) in groups {
            let entry = { (ref: NamespaceSnapshot.SourceRef) in catalogs[Int(ref.catalog)].entries[Int(ref.entry)] }
            let name = String(NamespacePath.name(of: path))
            let parentPath = NamespacePath.parent(of: path)
            let directoryRefs = group.refs.filter { entry($0).kind == .directory }
            var otherRefs = group.refs.filter { entry($0).kind != .directory }

            if group.hasChildren || !directoryRefs.isEmpty {
                let mtime = directoryRefs.map { entry($0).mtime }.max() ?? .zero
                let mode = directoryRefs.first.map { entry($0).mode } ?? 0o755
                pending.append(
                    PendingNode(
                        path: path, name: name, parentPath: parentPath, kind: .directory, size: 0, mtime: mtime, mode: mode,
                        refs: directoryRefs
                    )
                )
            } else {
                // Pick the winning version among the files and symlinks.
                let versions = Self.versions(of: otherRefs, catalogs: catalogs)
                let winner = versions[0]
                let first = entry(winner[0])
                pending.append(
                    PendingNode(
                        path: path, name: name, parentPath: parentPath, kind: first.kind, size: first.size, mtime: first.mtime,
                        mode: first.mode, refs: winner
                    )
                )
                otherRefs = Array(versions.dropFirst().joined())
            }

            for version in Self.versions(of: otherRefs, catalogs: catalogs) {
                let first = entry(version[0])
                let holder = version.map { catalogs[Int($0.catalog)].origin.name }.min()!
                let variantName = "\(name)@\(holder)"
                variants.append(
                    (
                        NamespacePath.join(parentPath, variantName),
                        PendingNode(
                            path: "", name: variantName, parentPath: parentPath, kind: first.kind, size: first.size,
                            mtime: first.mtime, mode: first.mode, refs: version
                        )
                    )
                )
            }
        }
        // Variants never displace a real entry; their own clashes get a suffix.
        variants.sort { $0.path < $1.path }
        var taken = Set<String>()
        for (path, node) in variants {
            var candidate = path
            var counter = 2
            while groups[candidate] != nil || taken.contains(candidate) {
                candidate = "\(path)~\(counter)"
                counter += 1
            }
            taken.insert(candidate)
            var named = node
            named.path = candidate
            named.name = String(NamespacePath.name(of: candidate))
            pending.append(named)
        }
        groups = [:]

        return Self.assemble(pending, catalogs: catalogs, generation: generation, previous: previous, now: now)
    }

    /// Groups refs by content (kind, size, mtime, symlink target), newest first.
    private static func versions(
        of refs: [NamespaceSnapshot.SourceRef],
        catalogs: [SourceCatalog]
    ) -> [[NamespaceSnapshot.SourceRef]] {
        struct Key: Hashable {
            var kind: FileKind
            var version: FileVersion
            var target: String?
        }
        guard !refs.isEmpty else { return [] }
        var byKey: [Key: [NamespaceSnapshot.SourceRef]] = [:]
        var order: [Key] = []
        for ref in refs {
            let entry = catalogs[Int(ref.catalog)].entries[Int(ref.entry)]
            let key = Key(kind: entry.kind, version: entry.version, target: entry.symlinkTarget)
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(ref)
        }
        let holder = { (key: Key) in byKey[key]!.map { catalogs[Int($0.catalog)].origin.name }.min()! }
        order.sort { a, b in
            if a.version.mtime != b.version.mtime { return a.version.mtime > b.version.mtime }
            if a.version.size != b.version.size { return a.version.size > b.version.size }
            return holder(a) < holder(b)
        }
        return order.map { byKey[$0]! }
    }

    private static func assemble(
        _ pending: [PendingNode],
        catalogs: [SourceCatalog],
        generation: UInt64,
        previous: NamespaceSnapshot?,
        now: Timestamp
    ) -> NamespaceSnapshot {
        let count = pending.count

        // File ids; on a collision the lexicographically smaller path keeps
        // the plain hash, so the outcome does not depend on iteration order.
        var index: [FileID: Int32] = [:]
        index.reserveCapacity(count)
        var fileIDs = [FileID](repeating: FileID(rawValue: 0), count: count)
        var salts = [UInt64](repeating: 0, count: count)
        var maximumSalt: UInt64 = 0
        for position in 0..<count {
            var current = position
            while true {
                let id = FileID(path: pending[current].path, salt: salts[current])
                if let holder = index[id] {
                    let other = Int(holder)
                    if pending[current].path < pending[other].path {
                        index[id] = Int32(current)
                        fileIDs[current] = id
                        salts[other] += 1
                        maximumSalt = max(maximumSalt, salts[other])
                        current = other
                    } else {
                        salts[current] += 1
                        maximumSalt = max(maximumSalt, salts[current])
                    }
                    continue
                }
                index[id] = Int32(current)
                fileIDs[current] = id
                break
            }
        }

        // Parents.
        var directoryIndex: [Substring: Int32] = [:]
        for position in 0..<count where pending[position].kind == .directory {
            directoryIndex[Substring(pending[position].path)] = Int32(position)
        }
        var parents = [Int32](repeating: 0, count: count)
        var childCounts = [Int32](repeating: 0, count: count)
        var subdirectoryCounts = [UInt32](repeating: 0, count: count)
        for position in 1..<max(count, 1) {
            let parent = directoryIndex[pending[position].parentPath] ?? 0
            parents[position] = parent
            childCounts[Int(parent)] += 1
            if pending[position].kind == .directory {
                subdirectoryCounts[Int(parent)] += 1
            }
        }

        // Children, grouped per directory and sorted by file id.
        var firstChild = [Int32](repeating: 0, count: count)
        var running: Int32 = 0
        for position in 0..<count {
            firstChild[position] = running
            running += childCounts[position]
        }
        var childIndices = [Int32](repeating: 0, count: Int(running))
        var fill = firstChild
        for position in 1..<max(count, 1) {
            let parent = Int(parents[position])
            childIndices[Int(fill[parent])] = Int32(position)
            fill[parent] += 1
        }
        var signatures = [UInt64](repeating: 0, count: count)
        for position in 0..<count where childCounts[position] > 0 {
            let range = Int(firstChild[position])..<Int(firstChild[position] + childCounts[position])
            childIndices[range].sort { fileIDs[Int($0)] < fileIDs[Int($1)] }
            var signature = UInt64(childCounts[position])
            for child in childIndices[range] {
                signature = (signature &* 0x100_0000_01B3) ^ fileIDs[Int(child)].rawValue
            }
            signatures[position] = signature
        }

        // Lay nodes out breadth first, each directory's children side by
        // side in cookie order: listing a directory then walks consecutive
        // memory, and no separate child index is needed.
        var order: [Int32] = [0]
        order.reserveCapacity(count)
        var head = 0
        while head < order.count {
            let position = Int(order[head])
            head += 1
            order.append(contentsOf: childIndices[Int(firstChild[position])..<Int(firstChild[position] + childCounts[position])])
        }
        var newIndex = [Int32](repeating: 0, count: count)
        for (laidOut, position) in order.enumerated() {
            newIndex[Int(position)] = Int32(laidOut)
        }

        // Nodes, with source refs laid out contiguously.
        var nodes: [NamespaceNode] = []
        nodes.reserveCapacity(count)
        var sourceRefs: [NamespaceSnapshot.SourceRef] = []
        sourceRefs.reserveCapacity(count)
        var directoryPaths: [Int32: String] = [:]
        for position in order.lazy.map(Int.init) {
            let item = pending[position]
            let laidOut = newIndex[position]
            let firstSource = Int32(sourceRefs.count)
            sourceRefs.append(contentsOf: item.refs)
            var changeTime = item.mtime
            if item.kind == .directory {
                directoryPaths[laidOut] = item.path
                changeTime = Self.directoryChangeTime(
                    fileID: fileIDs[position], mtime: item.mtime, signature: signatures[position], previous: previous, now: now
                )
            }
            let children = childCounts[position]
            nodes.append(
                NamespaceNode(
                    fileID: fileIDs[position], name: item.name, kind: item.kind,
                    size: item.kind == .symlink ? UInt64(Self.symlinkLength(item, catalogs)) : item.size,
                    mtime: item.mtime, changeTime: changeTime, mode: item.mode,
                    subdirectoryCount: subdirectoryCounts[position], childCount: UInt32(children),
                    index: laidOut, parentIndex: newIndex[Int(parents[position])],
                    firstChild: children > 0 ? newIndex[Int(childIndices[Int(firstChild[position])])] : 0,
                    firstSource: firstSource, sourceCount: Int32(item.refs.count), childrenSignature: signatures[position]
                )
            )
        }
        for position in 0..<count {
            index[fileIDs[position]] = newIndex[position]
        }

        return NamespaceSnapshot(
            generation: generation, nodes: nodes, index: index, sourceRefs: sourceRefs,
            catalogs: catalogs, directoryPaths: directoryPaths, maximumSalt: maximumSalt
        )
    }

    /// A directory's change time moves forward whenever its set of children
    /// differs from the previous snapshot's, so NFS clients drop cached
    /// listings when peers join or leave.
    private static func directoryChangeTime(
        fileID: FileID, mtime: Timestamp, signature: UInt64, previous: NamespaceSnapshot?, now: Timestamp
    ) -> Timestamp {
        guard let previous else { return mtime }
        guard let old = previous.node(fileID), old.kind == .directory else { return max(mtime, now) }
        if old.childrenSignature == signature {
            return max(old.changeTime, mtime)
        }
        return max(mtime, now, old.changeTime)
    }

    private static func symlinkLength(_ item: PendingNode, _ catalogs: [SourceCatalog]) -> Int {
        guard let ref = item.refs.first else { return 0 }
        return catalogs[Int(ref.catalog)].entries[Int(ref.entry)].symlinkTarget?.utf8.count ?? 0
    }
}
