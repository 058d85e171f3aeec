import NIOCore
import XDR

/// `createhow3`.
public enum CreateHow3: Hashable, Sendable {
    case unchecked(SetAttributes3)
    case guarded(SetAttributes3)
    case exclusive(verifier: UInt64)
}

extension CreateHow3: XDRDecodable {
    /// `createmode3`.
    enum Mode: UInt32 {
        case unchecked = 0
        case guarded = 1
        case exclusive = 2
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        switch try buffer.readXDREnum(Mode.self) {
        case .unchecked: self = .unchecked(try SetAttributes3(xdr: &buffer))
        case .guarded: self = .guarded(try SetAttributes3(xdr: &buffer))
        case .exclusive: self = .exclusive(verifier: try buffer.readXDRUInt64())
        }
    }
}

/// CREATE3args.
public struct CREATE3Args: XDRDecodable, Sendable {
    public var location: DirectoryOperationArguments3
    public var how: CreateHow3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.location = try DirectoryOperationArguments3(xdr: &buffer)
        self.how = try CreateHow3(xdr: &buffer)
    }
}

/// CREATE3res.
public enum CREATE3Result: XDREncodable, Sendable {
    /// An UNCHECKED create that finds the regular file there already (see
    /// `create`): that file, nothing changed.
    case ok(object: PostOpFileHandle3, objectAttributes: PostOpAttributes, directoryWCC: WeakCacheConsistency)
    case failure(NFS3Status, directoryWCC: WeakCacheConsistency)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let object, let objectAttributes, let directoryWCC):
            NFS3Status.ok.encode(into: &buffer) + object.encode(into: &buffer) + objectAttributes.encode(into: &buffer)
                + directoryWCC.encode(into: &buffer)
        case .failure(let status, let directoryWCC):
            status.encode(into: &buffer) + directoryWCC.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// Nothing can be created here (NFS3ERR_ROFS), with one exception: an
    /// UNCHECKED create of a name that is a regular file already, asking
    /// for no new size, is answered with that file, as Linux's server does
    /// (it applies only the size to an existing file). Newer Linux clients
    /// (Debian 13's 6.12; not 6.1) send such a CREATE for an `open(O_CREAT)`
    /// without `O_EXCL`, before any LOOKUP (`nfs_atomic_open_v23`), and
    /// pass an error on to the program: `flock FILE` (which opens with
    /// O_CREAT) failed with EROFS on a file that exists.
    func create(_ args: CREATE3Args) -> CREATE3Result {
        let snapshot = self.store.current
        if case .unchecked(let attributes) = args.how, attributes.size == nil,
            let directory = try? self.resolve(args.location.directory, in: snapshot),
            let node = try? self.child(named: args.location.name, of: directory, in: snapshot), node.kind == .regular
        {
            return .ok(
                object: PostOpFileHandle3(NFS3FileHandle(fileID: node.fileID)),
                objectAttributes: self.postOpAttributes(of: node),
                directoryWCC: WeakCacheConsistency(unchanged: self.attributes(of: directory))
            )
        }
        let (status, wcc) = self.refuseModification(of: args.location.directory, in: snapshot)
        return .failure(status, directoryWCC: wcc)
    }
}
