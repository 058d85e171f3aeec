import NIOCore
import Namespace

extension NFSv4Program {
    /// LOOKUP (RFC 8881 §18.15): the current file handle becomes the child.
    func lookup(_ component: ComponentName4, _ context: inout CompoundContext) throws(NFS4Status) {
        let directory = try context.currentNode()
        try Self.requireDirectory(directory)
        let name = try component.name()
        let child = try nfs4StatusOnError { () throws(FileSystemError) in try context.snapshot.lookup(name, in: directory) }
        context.currentFileHandle = child.fileID
    }

    /// LOOKUPP: the parent; the root has none (NFS4ERR_NOENT).
    func lookupParent(_ context: inout CompoundContext) throws(NFS4Status) {
        let directory = try context.currentNode()
        try Self.requireDirectory(directory)
        guard directory.fileID != context.snapshot.root.fileID else { throw .noEntry }
        context.currentFileHandle = context.snapshot.parent(of: directory).fileID
    }

    /// A directory operation on a symlink is NFS4ERR_SYMLINK, on a file
    /// NFS4ERR_NOTDIR (RFC 8881 §18.15.4).
    static func requireDirectory(_ node: NamespaceNode) throws(NFS4Status) {
        switch node.kind {
        case .directory: return
        case .symlink: throw .symlink
        case .regular: throw .notDirectory
        }
    }
}
