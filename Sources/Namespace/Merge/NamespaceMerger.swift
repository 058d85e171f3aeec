/// Builds one namespace out of every source's catalog.
///
/// The rules, identical on every client because they depend only on the
/// catalogs:
/// - Directories are unions: a directory holds the children every source
///   offers under that path.
/// - A regular file offered by several sources with the same size and
///   mtime is one file with several sources (reads fail over between them)
///   only once their owners' content hashes (HASH, SHA-256) are known and
///   equal. Until then only the first source is used and the others are
///   left out (`unconfirmed` asks for their hashes; the next merge uses
///   them): a name does not appear only to vanish a moment later, and no
///   read mixes blocks of two contents. Different hashes make variants, as
///   different versions do; so does a hash its owner cannot tell.
/// - A path offered with different content keeps its name for the newest
///   version (latest mtime, then larger size, then the lexicographically
///   smallest node name); each other version appears beside it as
///   `NAME@node` (first node name of that version's holders, sorted).
/// - Where one source has a directory and another a file or symlink at the
///   same path, the directory keeps the name and the others become variants.
/// - A variant name that is already taken gets `~2`, `~3`, ... appended.
///
/// Built for a million entries: one pass over the catalogs keyed by file id
/// (no string keys), nodes created in place, and nothing kept per entry but
/// a few integers.
public struct NamespaceMerger: Sendable {
    public init() {}

    /// A merge's snapshot, and what it learnt about replicas.
    public struct Outcome: Sendable {
        public var snapshot: NamespaceSnapshot
        /// Every replica whose hash the merge looked up (hashes of others
        /// are no longer needed).
        public var consulted: Set<ReplicaKey>
        /// Replicas whose hash was looked up and not known: to be asked.
        public var unconfirmed: [ReplicaCandidate]
    }

    public func merge(
        _ unorderedCatalogs: [SourceCatalog],
        generation: UInt64,
        previous: NamespaceSnapshot?,
        now: Timestamp,
        replicaHashes: [ReplicaKey: ReplicaHash] = [:]
    ) -> NamespaceSnapshot {
        self.mergeReplicas(unorderedCatalogs, generation: generation, previous: previous, now: now, replicaHashes: replicaHashes).snapshot
    }

    public func mergeReplicas(
        _ unorderedCatalogs: [SourceCatalog],
        generation: UInt64,
        previous: NamespaceSnapshot?,
        now: Timestamp,
        replicaHashes: [ReplicaKey: ReplicaHash]
    ) -> Outcome {
        // Fixed order: local sources first, then by node name and id.
        let catalogs = unorderedCatalogs.sorted { a, b in
            if a.isLocal != b.isLocal { return a.isLocal }
            if a.origin.name != b.origin.name { return a.origin.name < b.origin.name }
            return a.origin.id < b.origin.id
        }
        var builder = MergeBuilder(catalogs: catalogs, replicaHashes: replicaHashes)
        builder.addEveryEntry()
        builder.resolveConflicts()
        let snapshot = builder.assemble(generation: generation, previous: previous, now: now)
        return Outcome(snapshot: snapshot, consulted: builder.consulted, unconfirmed: builder.unconfirmed)
    }
}

/// The merge in progress. Nodes are identified by their creation index until
/// `assemble` lays them out.
private struct MergeBuilder {
    typealias SourceRef = NamespaceSnapshot.SourceRef

    /// Fields ordered widest first: 24 bytes a node, not 32.
    struct Node {
        var fileID: FileID
        var parent: Int32
        /// The node's source refs, as a list threaded through `refs`.
        var firstRef: Int32 = -1
        var lastRef: Int32 = -1
        var kind: FileKind
        var hasChildren = false
        /// Whether `ownPaths` holds this node: most nodes' paths are their
        /// first ref's, and asking the table for each would hash once more.
        var hasOwnPath = false

        init(fileID: FileID, parent: Int32, kind: FileKind) {
            self.fileID = fileID
            self.parent = parent
            self.kind = kind
        }
    }

    struct Ref {
        var source: SourceRef
        var next: Int32
    }

    let catalogs: [SourceCatalog]
    var nodes: [Node]
    var refs: [Ref] = []
    var index: [FileID: Int32]
    /// Names that are not the last component of the first ref's path.
    var names: [Int32: String] = [:]
    /// Paths of nodes whose path is not their first ref's: directories no
    /// catalog lists, and conflict variants.
    var ownPaths: [Int32: String] = [:]
    /// Refs after conflict resolution, for nodes whose list changed.
    var resolved: [Int32: [SourceRef]] = [:]
    var maximumSalt: UInt64 = 0
    let replicaHashes: [ReplicaKey: ReplicaHash]
    var consulted: Set<ReplicaKey> = []
    var unconfirmed: [ReplicaCandidate] = []

    init(catalogs: [SourceCatalog], replicaHashes: [ReplicaKey: ReplicaHash]) {
        self.catalogs = catalogs
        self.replicaHashes = replicaHashes
        let total = catalogs.reduce(0) { $0 + $1.entries.count }
        self.nodes = [Node(fileID: .root, parent: 0, kind: .directory)]
        self.nodes.reserveCapacity(total + 1)
        self.refs.reserveCapacity(total)
        self.index = [.root: 0]
        self.index.reserveCapacity(total + 1)
        self.setOwnPath("", of: 0)
        self.names[0] = ""
    }

    // MARK: 1. Every entry, under its path

    mutating func addEveryEntry() {
        for catalogIndex in self.catalogs.indices {
            let entries = self.catalogs[catalogIndex].entries
            for entry in entries.indices {
                if entries.kind(at: entry) == .symlink && entries.symlinkTarget(at: entry) == nil { continue }
                entries.withPathBytes(at: entry) { path in
                    guard NamespacePath.isValidPath(bytes: path) else { return }
                    let node = self.findOrCreate(path, kind: entries.kind(at: entry), refFollows: true)
                    self.append(SourceRef(catalog: Int32(catalogIndex), entry: Int32(entry)), to: node)
                }
            }
        }
    }

    /// The node at `path`, created (with its missing ancestors) if new.
    ///
    /// - Parameter refFollows: the caller appends a ref to the node at once,
    ///   so a new node needs no own path (the ref tells it). Spares a
    ///   String per catalog entry.
    mutating func findOrCreate(_ path: UnsafeBufferPointer<UInt8>, kind: FileKind, refFollows: Bool = false) -> Int32 {
        var salt: UInt64 = 0
        while true {
            let id = FileID(utf8: path, salt: salt)
            guard let existing = self.index[id] else {
                let parent: Int32
                if let slash = path.lastIndex(of: UInt8(ascii: "/")) {
                    parent = self.findOrCreate(UnsafeBufferPointer(rebasing: path[..<slash]), kind: .directory)
                } else {
                    parent = 0
                }
                let node = Int32(self.nodes.count)
                self.nodes.append(Node(fileID: id, parent: parent, kind: kind))
                self.nodes[Int(parent)].hasChildren = true
                self.index[id] = node
                // Until a ref arrives this node's path is its own.
                if !refFollows {
                    self.setOwnPath(String(decoding: path, as: UTF8.self), of: node)
                }
                return node
            }
            if self.path(of: existing, equals: path) {
                return existing
            }
            // Another path has this id: step to the next salt.
            salt += 1
            self.maximumSalt = max(self.maximumSalt, salt)
        }
    }

    mutating func append(_ source: SourceRef, to node: Int32) {
        let ref = Int32(self.refs.count)
        self.refs.append(Ref(source: source, next: -1))
        if self.nodes[Int(node)].firstRef < 0 {
            self.nodes[Int(node)].firstRef = ref
            self.nodes[Int(node)].kind = self.entries(of: source).kind(at: Int(source.entry))
            // The first ref now tells the path; an own path is no longer needed.
            if self.nodes[Int(node)].hasOwnPath && self.names[node] == nil {
                self.ownPaths.removeValue(forKey: node)
                self.nodes[Int(node)].hasOwnPath = false
            }
        } else {
            self.refs[Int(self.nodes[Int(node)].lastRef)].next = ref
        }
        self.nodes[Int(node)].lastRef = ref
    }

    mutating func setOwnPath(_ path: String, of node: Int32) {
        self.ownPaths[node] = path
        self.nodes[Int(node)].hasOwnPath = true
    }

    func entries(of source: SourceRef) -> CatalogEntries {
        self.catalogs[Int(source.catalog)].entries
    }

    func path(of node: Int32, equals path: UnsafeBufferPointer<UInt8>) -> Bool {
        if self.nodes[Int(node)].hasOwnPath, let own = self.ownPaths[node] {
            return own.utf8.elementsEqual(path)
        }
        let first = self.refs[Int(self.nodes[Int(node)].firstRef)].source
        return self.entries(of: first).withPathBytes(at: Int(first.entry)) { $0.elementsEqual(path) }
    }

    func path(of node: Int32) -> String {
        if self.nodes[Int(node)].hasOwnPath, let own = self.ownPaths[node] { return own }
        let first = self.refs[Int(self.nodes[Int(node)].firstRef)].source
        return self.entries(of: first).path(at: Int(first.entry))
    }

    func name(of node: Int32) -> String {
        if let name = self.names[node] { return name }
        if self.nodes[Int(node)].hasOwnPath, let own = self.ownPaths[node] { return String(NamespacePath.name(of: own)) }
        let first = self.refs[Int(self.nodes[Int(node)].firstRef)].source
        return self.entries(of: first).name(at: Int(first.entry))
    }

    func refList(of node: Int32) -> [SourceRef] {
        var list: [SourceRef] = []
        var ref = self.nodes[Int(node)].firstRef
        while ref >= 0 {
            list.append(self.refs[Int(ref)].source)
            ref = self.refs[Int(ref)].next
        }
        return list
    }

    // MARK: 2. Conflicts

    mutating func resolveConflicts() {
        for node in Int32(1)..<Int32(self.nodes.count) {
            let first = self.nodes[Int(node)].firstRef
            if first < 0 {
                self.nodes[Int(node)].kind = .directory  // implied by a deeper path only
                continue
            }
            let isSingle = self.refs[Int(first)].next < 0
            if isSingle && (self.nodes[Int(node)].kind == .directory || !self.nodes[Int(node)].hasChildren) {
                continue  // the common case: one source, nothing to decide
            }
            let all = self.refList(of: node)
            let directories = all.filter { self.entries(of: $0).kind(at: Int($0.entry)) == .directory }
            var others = all.filter { self.entries(of: $0).kind(at: Int($0.entry)) != .directory }
            if self.nodes[Int(node)].hasChildren || !directories.isEmpty {
                self.nodes[Int(node)].kind = .directory
                self.resolved[node] = directories
                if directories.isEmpty {
                    // Implied by children; the files here become variants.
                    self.setOwnPath(self.path(of: node), of: node)
                }
            } else {
                let versions = self.versions(of: others)
                self.resolved[node] = versions[0]
                let winner = versions[0][0]
                self.nodes[Int(node)].kind = self.entries(of: winner).kind(at: Int(winner.entry))
                others = Array(versions.dropFirst().joined())
            }
            for version in self.versions(of: others) {
                self.addVariant(of: node, version: version)
            }
        }
    }

    /// Groups refs by content (kind, size, mtime, symlink target, and for
    /// regular files of several sources their content hashes), newest first.
    mutating func versions(of refs: [SourceRef]) -> [[SourceRef]] {
        struct Key: Hashable {
            var kind: FileKind
            var version: FileVersion
            /// By bytes: links to NFC and NFD "café" are two versions.
            var target: ExactPath?
        }
        guard !refs.isEmpty else { return [] }
        var byKey: [Key: [SourceRef]] = [:]
        var order: [Key] = []
        for ref in refs {
            let entries = self.entries(of: ref)
            let entry = Int(ref.entry)
            let key = Key(kind: entries.kind(at: entry), version: entries.version(at: entry), target: entries.symlinkTarget(at: entry).map { ExactPath($0) })
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(ref)
        }
        var groups: [(version: FileVersion, holder: NodeIdentity, refs: [SourceRef])] = []
        for key in order {
            let group = byKey[key]!
            let split = key.kind == .regular && group.count > 1 ? self.splitByContentHash(group) : [group]
            for refs in split {
                let holder = refs.map { self.catalogs[Int($0.catalog)].origin }.min { ($0.name, $0.id) < ($1.name, $1.id) }!
                groups.append((key.version, holder, refs))
            }
        }
        groups.sort { a, b in
            if a.version.mtime != b.version.mtime { return a.version.mtime > b.version.mtime }
            if a.version.size != b.version.size { return a.version.size > b.version.size }
            return (a.holder.name, a.holder.id) < (b.holder.name, b.holder.id)
        }
        return groups.map(\.refs)
    }

    /// Splits refs that agree on size and mtime by their owners' content
    /// hashes: equal hashes are one file, a hash its owner could not tell
    /// stands alone. Refs whose hash is not known yet are left out (and
    /// asked for), except the first when nothing else is known, so the file
    /// shows from one source until the hashes arrive.
    mutating func splitByContentHash(_ group: [SourceRef]) -> [[SourceRef]] {
        var byHash: [ContentHash: [SourceRef]] = [:]
        var hashOrder: [ContentHash] = []
        var alone: [[SourceRef]] = []
        var pending: [SourceRef] = []
        for ref in group {
            let catalog = self.catalogs[Int(ref.catalog)]
            let key = ReplicaKey(
                origin: catalog.origin.id, path: catalog.entries.path(at: Int(ref.entry)), version: catalog.entries.version(at: Int(ref.entry))
            )
            self.consulted.insert(key)
            switch self.replicaHashes[key] {
            case .known(let hash):
                if byHash[hash] == nil { hashOrder.append(hash) }
                byHash[hash, default: []].append(ref)
            case .unavailable:
                alone.append([ref])
            case nil:
                pending.append(ref)
                self.unconfirmed.append(ReplicaCandidate(key: key, reader: catalog.reader))
            }
        }
        let split = hashOrder.map { byHash[$0]! } + alone
        return split.isEmpty ? [[pending[0]]] : split
    }

    /// Adds `NAME@node` beside `node` for another version of its content.
    mutating func addVariant(of node: Int32, version: [SourceRef]) {
        let holder = version.map { self.catalogs[Int($0.catalog)].origin.name }.min()!
        let parent = self.nodes[Int(node)].parent
        let parentPath = self.path(of: parent)
        let base = self.name(of: node)
        var name = Self.variantName(base, suffix: "@\(holder)")
        var counter = 2
        while self.exists(NamespacePath.join(parentPath, name)) {
            name = Self.variantName(base, suffix: "@\(holder)~\(counter)")
            counter += 1
        }
        let path = NamespacePath.join(parentPath, name)
        var salt: UInt64 = 0
        while self.index[FileID(path: path, salt: salt)] != nil {
            salt += 1
            self.maximumSalt = max(self.maximumSalt, salt)
        }
        let variant = Int32(self.nodes.count)
        let first = version[0]
        self.nodes.append(Node(fileID: FileID(path: path, salt: salt), parent: parent, kind: self.entries(of: first).kind(at: Int(first.entry))))
        self.index[self.nodes[Int(variant)].fileID] = variant
        self.setOwnPath(path, of: variant)
        self.names[variant] = name
        for ref in version {
            self.append(ref, to: variant)
        }
        self.resolved[variant] = version
    }

    /// `name` followed by `suffix`, `name` shortened (by whole Unicode
    /// scalars or single non-UTF-8 bytes, never splitting a character) to keep the variant a valid name: an NFS
    /// client cannot list a directory holding a name longer than 255 bytes,
    /// and LOOKUP refuses one.
    static func variantName(_ name: String, suffix: String) -> String {
        let budget = NamespacePath.maximumNameLength - suffix.utf8.count
        guard NameBytes.byteCount(name) > budget else { return name + suffix }
        var kept = String.UnicodeScalarView()
        var length = 0
        for scalar in name.unicodeScalars {
            // An escaped byte (`NameBytes`) is one byte on the wire.
            length += NameBytes.isEscape(scalar) ? 1 : UTF8.width(scalar)
            guard length <= budget else { break }
            kept.append(scalar)
        }
        return String(kept) + suffix
    }

    func exists(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            var salt: UInt64 = 0
            while let node = self.index[FileID(utf8: bytes, salt: salt)] {
                if self.path(of: node, equals: bytes) { return true }
                salt += 1
            }
            return false
        }
    }

    // MARK: 3. Layout

    mutating func assemble(generation: UInt64, previous: NamespaceSnapshot?, now: Timestamp) -> NamespaceSnapshot {
        let count = self.nodes.count

        // Children per directory, sorted by file id (the READDIR cookie order).
        var childCounts = [Int32](repeating: 0, count: count)
        var subdirectoryCounts = [Int32](repeating: 0, count: count)
        for node in 1..<max(count, 1) {
            let parent = Int(self.nodes[node].parent)
            childCounts[parent] += 1
            if self.nodes[node].kind == .directory { subdirectoryCounts[parent] += 1 }
        }
        var firstChild = [Int32](repeating: 0, count: count)
        var running: Int32 = 0
        for node in 0..<count {
            firstChild[node] = running
            running += childCounts[node]
        }
        var children = [Int32](repeating: 0, count: Int(running))
        do {
            var fill = firstChild
            for node in 1..<max(count, 1) {
                let parent = Int(self.nodes[node].parent)
                children[Int(fill[parent])] = Int32(node)
                fill[parent] += 1
            }
        }
        var signatures = [UInt64](repeating: 0, count: count)
        for node in 0..<count where childCounts[node] > 0 {
            let range = Int(firstChild[node])..<Int(firstChild[node] + childCounts[node])
            children[range].sort { self.nodes[Int($0)].fileID < self.nodes[Int($1)].fileID }
            var signature = UInt64(childCounts[node])
            for child in children[range] {
                signature = (signature &* 0x100_0000_01B3) ^ self.nodes[Int(child)].fileID.rawValue
            }
            signatures[node] = signature
        }

        // Breadth first, each directory's children side by side: listing a
        // directory walks consecutive memory.
        var order: [Int32] = [0]
        order.reserveCapacity(count)
        var head = 0
        while head < order.count {
            let node = Int(order[head])
            head += 1
            order.append(contentsOf: children[Int(firstChild[node])..<Int(firstChild[node] + childCounts[node])])
        }
        var laidOut = [Int32](repeating: 0, count: count)
        for (position, node) in order.enumerated() {
            laidOut[Int(node)] = Int32(position)
        }

        var records: [NodeRecord] = []
        records.reserveCapacity(count)
        var directories: [DirectoryRecord] = []
        var sourceRefs: [SourceRef] = []
        sourceRefs.reserveCapacity(self.refs.count)
        var names: [Int32: String] = [:]
        var directoryPaths: [Int32: String] = [:]
        // Moved out, not copied: a second million-entry table would double
        // the merge's peak memory. Its values turn from creation indices
        // into positions in place, without hashing a key again.
        var index = self.index
        self.index = [:]
        var slot = index.values.startIndex
        while slot != index.values.endIndex {
            index.values[slot] = laidOut[Int(index.values[slot])]
            index.values.formIndex(after: &slot)
        }
        for node in order {
            let position = laidOut[Int(node)]
            let item = self.nodes[Int(node)]
            let firstSource = Int32(sourceRefs.count)
            if let resolved = self.resolved[node] {
                sourceRefs.append(contentsOf: resolved)
            } else {
                var ref = item.firstRef
                while ref >= 0 {
                    sourceRefs.append(self.refs[Int(ref)].source)
                    ref = self.refs[Int(ref)].next
                }
            }
            let refs = sourceRefs[Int(firstSource)...]
            if let name = self.names[node] {
                names[position] = name
            } else if refs.isEmpty {
                names[position] = self.name(of: node)
            }
            var directory: Int32 = -1
            if item.kind == .directory {
                directory = Int32(directories.count)
                let mtime = refs.map { self.entries(of: $0).mtime(at: Int($0.entry)) }.max() ?? .zero
                let mode = refs.first.map { self.entries(of: $0).mode(at: Int($0.entry)) } ?? 0o755
                let childCount = childCounts[Int(node)]
                directories.append(
                    DirectoryRecord(
                        firstChild: childCount > 0 ? laidOut[Int(children[Int(firstChild[Int(node)])])] : 0,
                        childCount: childCount,
                        subdirectoryCount: subdirectoryCounts[Int(node)],
                        mode: mode,
                        mtime: mtime,
                        changeTime: Self.directoryChangeTime(
                            fileID: item.fileID, mtime: mtime, signature: signatures[Int(node)], previous: previous, now: now
                        ),
                        childrenSignature: signatures[Int(node)]
                    )
                )
                directoryPaths[position] = self.path(of: node)
            }
            records.append(
                NodeRecord(
                    fileID: item.fileID, parent: laidOut[Int(item.parent)], firstSource: firstSource, directory: directory,
                    sourceCount: UInt16(clamping: refs.count), kind: item.kind
                )
            )
        }
        return NamespaceSnapshot(
            generation: generation, records: records, directories: directories, index: index, sourceRefs: sourceRefs,
            catalogs: self.catalogs, names: names, directoryPaths: directoryPaths, maximumSalt: self.maximumSalt
        )
    }

    /// A directory's change time moves forward whenever its set of children
    /// differs from the previous snapshot's, so NFS clients drop cached
    /// listings when peers join or leave.
    static func directoryChangeTime(
        fileID: FileID, mtime: Timestamp, signature: UInt64, previous: NamespaceSnapshot?, now: Timestamp
    ) -> Timestamp {
        guard let previous else { return mtime }
        guard let old = previous.node(fileID), old.kind == .directory else { return max(mtime, now) }
        if old.childrenSignature == signature {
            return max(old.changeTime, mtime)
        }
        return max(mtime, now, old.changeTime)
    }
}
