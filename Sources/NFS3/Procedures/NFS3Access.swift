import NIOCore
import Namespace
import XDR

/// The ACCESS3_* bits.
public struct AccessRights3: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let read = AccessRights3(rawValue: 0x0001)
    public static let lookup = AccessRights3(rawValue: 0x0002)
    public static let modify = AccessRights3(rawValue: 0x0004)
    public static let extend = AccessRights3(rawValue: 0x0008)
    public static let delete = AccessRights3(rawValue: 0x0010)
    public static let execute = AccessRights3(rawValue: 0x0020)
}

/// ACCESS3args.
public struct ACCESS3Args: XDRDecodable, Sendable {
    public var object: RawFileHandle3
    public var access: AccessRights3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.object = try RawFileHandle3(xdr: &buffer)
        self.access = AccessRights3(rawValue: try buffer.readXDRUInt32())
    }
}

/// ACCESS3res.
public enum ACCESS3Result: XDREncodable, Sendable {
    case ok(objectAttributes: PostOpAttributes, access: AccessRights3)
    case failure(NFS3Status, objectAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let objectAttributes, let access):
            NFS3Status.ok.encode(into: &buffer) + objectAttributes.encode(into: &buffer)
                + buffer.writeXDRUInt32(access.rawValue)
        case .failure(let status, let objectAttributes):
            status.encode(into: &buffer) + objectAttributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// Grants what the presented mode allows anyone (reading, looking up in
    /// directories, executing where an execute bit is set) and, on regular
    /// files only, MODIFY and EXTEND.
    ///
    /// Those two do not make anything writable: every WRITE, SETATTR and
    /// CREATE is refused with NFS3ERR_ROFS. They let a program open a file
    /// read-write, which the Linux client requires for an exclusive lock
    /// (`flock -x`, `fcntl(F_WRLCK)`): without them locking a shared file
    /// would be impossible. A write then fails with EROFS ("Read-only file
    /// system") rather than EACCES: at open when it truncates or creates,
    /// at `close`/`fsync` otherwise. DELETE is never granted. Every user gets
    /// the same answer, as the mode gives owner, group and others the same
    /// bits.
    func access(_ args: ACCESS3Args) -> ACCESS3Result {
        let node: NamespaceNode
        do {
            node = try self.resolve(args.object, in: self.store.current)
        } catch {
            return .failure(error, objectAttributes: .none)
        }
        let attributes = self.attributes(of: node)
        var granted: AccessRights3 = []
        if attributes.mode & 0o444 != 0 {
            granted.insert(.read)
        }
        if attributes.mode & 0o111 != 0 {
            granted.insert(.execute)
            if node.isDirectory {
                granted.insert(.lookup)
            }
        }
        if node.kind == .regular {
            granted.formUnion([.modify, .extend])
        }
        return .ok(objectAttributes: PostOpAttributes(attributes), access: args.access.intersection(granted))
    }
}
