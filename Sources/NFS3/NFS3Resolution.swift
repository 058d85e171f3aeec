import Namespace

/// Turning what a client sends into namespace nodes, and nodes into what a
/// client sees. Shared by every procedure.
extension NFSv3Program {
    /// The node a handle names in `snapshot`.
    ///
    /// A well-formed handle that names nothing is stale, except while the
    /// namespace is still being gathered at start-up: then the file may just
    /// not be known yet, and JUKEBOX makes the kernel retry instead of
    /// failing (or forgetting) a handle it held from before a restart.
    func resolve(_ raw: RawFileHandle3, in snapshot: NamespaceSnapshot) throws(NFS3Status) -> NamespaceNode {
        guard let handle = raw.handle else { throw .badHandle }
        if let node = snapshot.node(handle.fileID) { return node }
        throw NFS3Status(self.store.isReady ? FileSystemError.stale : .notReady)
    }

    /// The entry `name` names in `directory` (LOOKUP, and CREATE of a name
    /// that exists).
    func child(named name: Filename3, of directory: NamespaceNode, in snapshot: NamespaceSnapshot) throws(NFS3Status) -> NamespaceNode {
        guard directory.isDirectory else { throw .notDirectory }
        guard name.length <= NamespacePath.maximumNameLength else { throw .nameTooLong }
        return try nfsStatusOnError { () throws(FileSystemError) in try snapshot.lookup(name.name, in: directory) }
    }

    func attributes(of node: NamespaceNode) -> FileAttributes3 {
        FileAttributes3(node: node, configuration: self.configuration)
    }

    func postOpAttributes(of node: NamespaceNode?) -> PostOpAttributes {
        PostOpAttributes(node.map(self.attributes(of:)))
    }

    /// The answer to every modifying call: the object exists (or the handle's
    /// own error), the file system is read-only, and nothing changed.
    func refuseModification(of raw: RawFileHandle3, in snapshot: NamespaceSnapshot) -> (NFS3Status, WeakCacheConsistency) {
        do {
            let node = try self.resolve(raw, in: snapshot)
            return (.readOnlyFileSystem, WeakCacheConsistency(unchanged: self.attributes(of: node)))
        } catch {
            return (error, .none)
        }
    }
}

/// Runs a namespace operation, turning its error into an NFS status.
func nfsStatusOnError<T>(_ body: () throws(FileSystemError) -> T) throws(NFS3Status) -> T {
    do {
        return try body()
    } catch {
        throw NFS3Status(error)
    }
}
