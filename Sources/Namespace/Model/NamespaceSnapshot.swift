import NIOCore

/// An immutable view of the whole merged namespace at one moment.
///
/// Every request works on one snapshot from start to end, so it never sees a
/// half-applied change; a new snapshot replaces the old one atomically when a
/// source's catalog changes (see `NamespaceStore`).
public final class NamespaceSnapshot: Sendable {
    struct SourceRef: Sendable, Equatable {
        var catalog: Int32
        var entry: Int32
    }

    /// Increases with every rebuild; 0 is the empty namespace of a fresh start.
    public let generation: UInt64
    /// Breadth first, each directory's children side by side in cookie order.
    let records: [NodeRecord]
    let directories: [DirectoryRecord]
    let index: [FileID: Int32]
    let sourceRefs: [SourceRef]
    let catalogs: [SourceCatalog]
    /// Names that are not the last component of the first source's path:
    /// conflict variants and directories no catalog lists.
    let names: [Int32: String]
    /// Every directory's path, so paths are not rebuilt per request.
    let directoryPaths: [Int32: String]
    /// Salt values used to step around hash collisions (almost always none).
    let maximumSalt: UInt64
    /// The sum of every regular file's size, computed once per snapshot so
    /// file system statistics (NFS FSSTAT) cost nothing per request.
    public let totalFileBytes: UInt64

    init(
        generation: UInt64, records: [NodeRecord], directories: [DirectoryRecord], index: [FileID: Int32],
        sourceRefs: [SourceRef], catalogs: [SourceCatalog], names: [Int32: String], directoryPaths: [Int32: String],
        maximumSalt: UInt64
    ) {
        self.generation = generation
        self.records = records
        self.directories = directories
        self.index = index
        self.sourceRefs = sourceRefs
        self.catalogs = catalogs
        self.names = names
        self.directoryPaths = directoryPaths
        self.maximumSalt = maximumSalt
        var total: UInt64 = 0
        for record in records where record.kind == .regular && record.sourceCount > 0 {
            let ref = sourceRefs[Int(record.firstSource)]
            total &+= catalogs[Int(ref.catalog)].entries.size(at: Int(ref.entry))
        }
        self.totalFileBytes = total
    }

    /// A namespace with nothing but its root directory.
    public static func empty(generation: UInt64 = 0, now: Timestamp = .zero) -> NamespaceSnapshot {
        NamespaceMerger().merge([], generation: generation, previous: nil, now: now)
    }

    public var root: NamespaceNode { self.node(at: 0) }

    /// Entries including the root.
    public var count: Int { self.records.count }

    /// The origins whose catalogs make up this snapshot.
    public var origins: [NodeIdentity] { self.catalogs.map(\.origin) }

    public func node(_ id: FileID) -> NamespaceNode? {
        guard let index = self.index[id] else { return nil }
        return self.node(at: Int(index))
    }

    /// Materialises the node stored at `position`.
    func node(at position: Int) -> NamespaceNode {
        let record = self.records[position]
        let name: String
        var size: UInt64 = 0
        var mtime = Timestamp.zero
        var mode: UInt16 = 0o755
        if record.sourceCount > 0 {
            let ref = self.sourceRefs[Int(record.firstSource)]
            let entries = self.catalogs[Int(ref.catalog)].entries
            let entry = Int(ref.entry)
            name = self.names[Int32(position)] ?? entries.name(at: entry)
            mtime = entries.mtime(at: entry)
            mode = entries.mode(at: entry)
            switch record.kind {
            case .regular: size = entries.size(at: entry)
            case .symlink: size = UInt64(entries.symlinkTarget(at: entry).map { NameBytes.byteCount($0) } ?? 0)
            case .directory: size = 0
            }
        } else {
            name = self.names[Int32(position)] ?? ""
        }
        guard record.directory >= 0 else {
            return NamespaceNode(
                fileID: record.fileID, name: name, kind: record.kind, size: size, mtime: mtime, changeTime: mtime, mode: mode,
                subdirectoryCount: 0, childCount: 0, index: Int32(position), parentIndex: record.parent, firstChild: 0,
                childrenSignature: 0
            )
        }
        let directory = self.directories[Int(record.directory)]
        return NamespaceNode(
            fileID: record.fileID, name: name, kind: .directory, size: 0, mtime: directory.mtime, changeTime: directory.changeTime,
            mode: directory.mode, subdirectoryCount: UInt32(directory.subdirectoryCount), childCount: UInt32(directory.childCount),
            index: Int32(position), parentIndex: record.parent, firstChild: directory.firstChild,
            childrenSignature: directory.childrenSignature
        )
    }

    /// Resolves `id`, throwing `.stale` when the namespace no longer has it.
    public func existingNode(_ id: FileID) throws(FileSystemError) -> NamespaceNode {
        guard let node = self.node(id) else { throw .stale }
        return node
    }

    public func parent(of node: NamespaceNode) -> NamespaceNode {
        self.node(at: Int(node.parentIndex))
    }

    /// The namespace path of a node ("" for the root).
    public func path(of node: NamespaceNode) -> String {
        if node.index == 0 { return "" }
        if node.kind == .directory, let path = self.directoryPaths[node.index] { return path }
        return NamespacePath.join(self.path(of: self.parent(of: node)), node.name)
    }

    /// Finds `name` in `directory`. "." and ".." are resolved too.
    public func lookup(_ name: some StringProtocol, in directory: NamespaceNode) throws(FileSystemError) -> NamespaceNode {
        guard directory.kind == .directory else { throw .notDirectory }
        if name == "." { return directory }
        if name == ".." { return self.parent(of: directory) }
        guard NameBytes.byteCount(name) <= NamespacePath.maximumNameLength else { throw .nameTooLong }
        guard NamespacePath.isValidName(name) else { throw .noEntry }
        let path = NamespacePath.join(self.path(of: directory), name)
        var salt: UInt64 = 0
        while salt <= self.maximumSalt {
            guard let index = self.index[FileID(path: path, salt: salt)] else { break }
            let candidate = self.node(at: Int(index))
            // Bytes, not `==` (which equates canonically equivalent names).
            if candidate.parentIndex == directory.index && candidate.name.utf8.elementsEqual(name.utf8) {
                return candidate
            }
            salt += 1
        }
        throw .noEntry
    }

    /// Resolves a '/'-separated path from the root.
    public func lookup(path: some StringProtocol) throws(FileSystemError) -> NamespaceNode {
        var node = self.root
        for component in path.split(separator: "/") {
            node = try self.lookup(component, in: node)
        }
        return node
    }

    /// A directory's children in cookie order (ascending fileid).
    public func children(of directory: NamespaceNode) -> Children {
        Children(snapshot: self, range: Int(directory.firstChild)..<Int(directory.firstChild) + Int(directory.childCount))
    }

    /// The children that follow `fileID` in cookie order. Entries added or
    /// removed meanwhile neither shift nor repeat the others, which is what
    /// makes READDIR cookies stable across namespace changes.
    public func children(of directory: NamespaceNode, after fileID: FileID) -> Children.SubSequence {
        let all = self.children(of: directory)
        var low = all.startIndex
        var high = all.endIndex
        while low < high {
            let middle = (low + high) / 2
            if self.records[middle].fileID <= fileID {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return all[low...]
    }

    public func symlinkTarget(of node: NamespaceNode) -> String? {
        let record = self.records[Int(node.index)]
        guard record.kind == .symlink, record.sourceCount > 0 else { return nil }
        let ref = self.sourceRefs[Int(record.firstSource)]
        return self.catalogs[Int(ref.catalog)].entries.symlinkTarget(at: Int(ref.entry))
    }

    /// Where a file's content can be read, local sources first.
    public func sources(of node: NamespaceNode) -> [FileSource] {
        let record = self.records[Int(node.index)]
        return (0..<Int(record.sourceCount)).map { offset in
            let ref = self.sourceRefs[Int(record.firstSource) + offset]
            let catalog = self.catalogs[Int(ref.catalog)]
            let entry = Int(ref.entry)
            return FileSource(
                origin: catalog.origin, path: catalog.entries.path(at: entry), version: catalog.entries.version(at: entry),
                reader: catalog.reader, isLocal: catalog.isLocal
            )
        }
    }

    public struct Children: RandomAccessCollection, Sendable {
        let snapshot: NamespaceSnapshot
        let range: Range<Int>

        public var startIndex: Int { self.range.lowerBound }
        public var endIndex: Int { self.range.upperBound }

        public subscript(position: Int) -> NamespaceNode {
            self.snapshot.node(at: position)
        }
    }
}

extension NamespaceSnapshot {
    /// Reads a file, trying each source in turn until one answers.
    ///
    /// A source that fails (gone, timed out, refused) is skipped; only when
    /// all fail does the read fail, with `.ioError` naming the last cause.
    /// `forSending` asks the sources with `FileReader.readForSending`: for a
    /// caller that only writes the content to a plaintext socket.
    public func read(
        _ node: NamespaceNode,
        offset: UInt64,
        count: Int,
        forSending: Bool = false,
        eventLoop: any EventLoop
    ) -> EventLoopFuture<FileReadResult> {
        guard node.kind == .regular else {
            return eventLoop.makeFailedFuture(node.kind == .directory ? FileSystemError.isDirectory : FileSystemError.invalidArgument)
        }
        let sources = self.sources(of: node)
        guard !sources.isEmpty else {
            return eventLoop.makeFailedFuture(FileSystemError.ioError("no source offers \(node.name)"))
        }
        return Self.read(from: sources[...], offset: offset, count: count, forSending: forSending, eventLoop: eventLoop, lastError: nil)
    }

    private static func read(
        from sources: ArraySlice<FileSource>,
        offset: UInt64,
        count: Int,
        forSending: Bool,
        eventLoop: any EventLoop,
        lastError: (any Error)?
    ) -> EventLoopFuture<FileReadResult> {
        guard let source = sources.first else {
            if let error = lastError as? FileSystemError {
                return eventLoop.makeFailedFuture(error)
            }
            return eventLoop.makeFailedFuture(FileSystemError.ioError("every source failed: \(lastError.map { "\($0)" } ?? "none")"))
        }
        let future = forSending
            ? source.reader.readForSending(path: source.path, expected: source.version, offset: offset, count: count, eventLoop: eventLoop)
            : source.reader.read(path: source.path, expected: source.version, offset: offset, count: count, eventLoop: eventLoop)
        return future.flatMapError { error in
            Self.read(from: sources.dropFirst(), offset: offset, count: count, forSending: forSending, eventLoop: eventLoop, lastError: error)
        }
    }
}
