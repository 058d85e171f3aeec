import NIOCore
import Namespace

extension NFSv4Program {
    /// SECINFO and SECINFO_NO_NAME (RFC 8881 §18.29, §18.45): AUTH_SYS
    /// and AUTH_NONE, both of which the RPC layer accepts. Both consume
    /// the current file handle (§2.6.3.1.1.8).
    func secinfo(name: ComponentName4?, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let node = try context.currentNode()
        if let name {
            try Self.requireDirectory(node)
            let child = try name.name()
            _ = try nfs4StatusOnError { () throws(FileSystemError) in try context.snapshot.lookup(child, in: node) }
        }
        body.writeXDRUInt32(2)
        body.writeXDRUInt32(1)  // AUTH_SYS
        body.writeXDRUInt32(0)  // AUTH_NONE
        context.currentFileHandle = nil
    }
}
