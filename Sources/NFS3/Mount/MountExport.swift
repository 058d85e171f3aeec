import NIOCore
import XDR

/// `exports`: directories with the groups allowed to mount them.
public struct EXPORTResult: XDREncodable, Sendable {
    public var exports: [(directory: String, groups: [String])]

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        var written = 0
        for export in self.exports {
            written += buffer.writeXDRBool(true) + buffer.writeXDRString(export.directory)
            for group in export.groups {
                written += buffer.writeXDRBool(true) + buffer.writeXDRString(group)
            }
            written += buffer.writeXDRBool(false)
        }
        return written + buffer.writeXDRBool(false)
    }
}

extension MountProgram {
    /// One export, "/", open to everyone (no groups): the server listens on
    /// loopback only, so "everyone" is this machine.
    func export() -> EXPORTResult {
        EXPORTResult(exports: [(directory: "/", groups: [])])
    }
}
