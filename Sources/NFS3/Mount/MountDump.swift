import NIOCore
import Namespace
import XDR

/// `mountlist`: (client, directory) pairs as a linked list.
public struct DUMPResult: XDREncodable, Sendable {
    public var mounts: [(client: String, directory: String)]

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        var written = 0
        for mount in self.mounts {
            written += buffer.writeXDRBool(true) + buffer.writeXDRString(mount.client)
                + buffer.writeXDRName(mount.directory)
        }
        return written + buffer.writeXDRBool(false)
    }
}

extension MountProgram {
    /// What `showmount -a` lists. Only as accurate as clients' UMNT calls.
    func dump() -> DUMPResult {
        DUMPResult(mounts: self.mounts.withLock { $0.entries.map { ($0.client, $0.directory.string) } })
    }
}
