import NIOCore
import Namespace
import XDR

/// READLINK3args.
public struct READLINK3Args: XDRDecodable, Sendable {
    public var symlink: RawFileHandle3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.symlink = try RawFileHandle3(xdr: &buffer)
    }
}

/// READLINK3res.
public enum READLINK3Result: XDREncodable, Sendable {
    case ok(symlinkAttributes: PostOpAttributes, target: String)
    case failure(NFS3Status, symlinkAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let attributes, let target):
            NFS3Status.ok.encode(into: &buffer) + attributes.encode(into: &buffer) + buffer.writeXDRName(target)
        case .failure(let status, let attributes):
            status.encode(into: &buffer) + attributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    func readlink(_ args: READLINK3Args) -> READLINK3Result {
        let snapshot = self.store.current
        let node: NamespaceNode
        do {
            node = try self.resolve(args.symlink, in: snapshot)
        } catch {
            return .failure(error, symlinkAttributes: .none)
        }
        let attributes = self.postOpAttributes(of: node)
        guard node.kind == .symlink else {
            return .failure(NFS3Status(FileSystemError.invalidArgument), symlinkAttributes: attributes)
        }
        guard let target = snapshot.symlinkTarget(of: node) else {
            return .failure(NFS3Status(FileSystemError.ioError("symlink without a target")), symlinkAttributes: attributes)
        }
        return .ok(symlinkAttributes: attributes, target: target)
    }
}
