import NIOCore
import Namespace

/// ACCESS4_* bits.
enum AccessBits {
    static let read: UInt32 = 0x01
    static let lookup: UInt32 = 0x02
    static let modify: UInt32 = 0x04
    static let extend: UInt32 = 0x08
    static let delete: UInt32 = 0x10
    static let execute: UInt32 = 0x20
    static let all: UInt32 = 0x3F
}

extension NFSv4Program {
    /// ACCESS (RFC 8881 §18.1): what NFSv3's ACCESS grants. Everyone may
    /// read everything and execute what has an execute bit; on regular
    /// files MODIFY and EXTEND too, so a program can open a file read-write
    /// to lock it exclusively (writes themselves fail with NFS4ERR_ROFS).
    /// DELETE is never granted.
    func access(_ requested: UInt32, _ context: inout CompoundContext, _ body: inout ByteBuffer) throws(NFS4Status) {
        let node = try context.currentNode()
        guard requested & ~AccessBits.all == 0 else { throw .invalid }
        var granted: UInt32
        switch node.kind {
        case .directory: granted = AccessBits.read | AccessBits.lookup
        case .regular:
            granted = AccessBits.read | AccessBits.modify | AccessBits.extend | (node.mode & 0o111 != 0 ? AccessBits.execute : 0)
        case .symlink: granted = AccessBits.read
        }
        body.writeXDRUInt32(requested)
        body.writeXDRUInt32(granted & requested)
    }
}
