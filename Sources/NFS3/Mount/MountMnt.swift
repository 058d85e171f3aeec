import NIOCore
import Namespace
import XDR

/// `mountres3`.
public enum MNT3Result: XDREncodable, Sendable {
    case ok(handle: NFS3FileHandle, authFlavors: [UInt32])
    case failure(MountStatus3)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let handle, let authFlavors):
            buffer.writeXDRUInt32(MountStatus3.ok.rawValue) + handle.encode(into: &buffer)
                + buffer.writeXDRArray(authFlavors) { $0.writeXDRUInt32($1) }
        case .failure(let status):
            buffer.writeXDRUInt32(status.rawValue)
        }
    }
}

/// `fhstatus` of MOUNT versions 1 and 2: a status (an errno) and, on
/// success, a 32-byte NFSv2 handle.
public struct MNT1Result: XDREncodable, Sendable {
    public var status: UInt32

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != 0, "NFSv2 handles are never issued")
        return buffer.writeXDRUInt32(self.status)
    }
}

extension MountProgram {
    /// The flavors a client may use, in order of preference.
    static let authFlavors: [UInt32] = [1, 0]  // AUTH_SYS, AUTH_NONE

    /// Hands out the handle of "/" or of any directory in the namespace
    /// ("/movies"), and remembers the client for DUMP.
    func mnt(_ path: MountPath, client: String) -> MNT3Result {
        guard path.bytes.readableBytes <= MountPath.maximumLength else { return .failure(.nameTooLong) }
        let string = path.string
        let normalized = path.normalized
        let node: NamespaceNode
        do {
            node = try self.store.current.lookup(path: string)
        } catch {
            return .failure(MountStatus3(error))
        }
        guard node.isDirectory else { return .failure(.notDirectory) }
        self.mounts.withLock { $0.add(MountList.Entry(client: client, directory: ExactPath(normalized))) }
        return .ok(handle: NFS3FileHandle(fileID: node.fileID), authFlavors: Self.authFlavors)
    }

    /// MNT of versions 1 and 2 wants an NFSv2 handle, which p2pfs does not
    /// serve: EACCES, so the client falls back to version 3.
    func mntVersion1(_ path: MountPath) -> MNT1Result {
        MNT1Result(status: 13)
    }
}
