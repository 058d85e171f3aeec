import NIOCore
import Namespace
import XDR

/// LOOKUP3args.
public struct LOOKUP3Args: XDRDecodable, Sendable {
    public var what: DirectoryOperationArguments3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.what = try DirectoryOperationArguments3(xdr: &buffer)
    }
}

/// LOOKUP3res.
public enum LOOKUP3Result: XDREncodable, Sendable {
    case ok(object: NFS3FileHandle, objectAttributes: PostOpAttributes, directoryAttributes: PostOpAttributes)
    case failure(NFS3Status, directoryAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let object, let objectAttributes, let directoryAttributes):
            NFS3Status.ok.encode(into: &buffer)
                + object.encode(into: &buffer)
                + objectAttributes.encode(into: &buffer)
                + directoryAttributes.encode(into: &buffer)
        case .failure(let status, let directoryAttributes):
            status.encode(into: &buffer) + directoryAttributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// Finds a name in a directory; "." and ".." included, since the kernel
    /// looks up ".." to find a directory's parent (e.g. for NFS re-export or
    /// after a handle outlived its dentry).
    func lookup(_ args: LOOKUP3Args) -> LOOKUP3Result {
        let snapshot = self.store.current
        let directory: NamespaceNode
        do {
            directory = try self.resolve(args.what.directory, in: snapshot)
        } catch {
            return .failure(error, directoryAttributes: .none)
        }
        let directoryAttributes = self.postOpAttributes(of: directory)
        do throws(NFS3Status) {
            let node = try self.child(named: args.what.name, of: directory, in: snapshot)
            return .ok(
                object: NFS3FileHandle(fileID: node.fileID),
                objectAttributes: self.postOpAttributes(of: node),
                directoryAttributes: directoryAttributes
            )
        } catch {
            return .failure(error, directoryAttributes: directoryAttributes)
        }
    }
}
