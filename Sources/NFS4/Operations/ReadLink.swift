import NIOCore
import Namespace

extension NFSv4Program {
    /// READLINK (RFC 8881 §18.24): only for symlinks (else NFS4ERR_INVAL).
    func readlink(_ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let node = try context.currentNode()
        guard node.kind == .symlink, let target = context.snapshot.symlinkTarget(of: node) else { throw .invalid }
        body.writeXDRName(target)
    }
}
