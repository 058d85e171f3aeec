import NIOCore
import Namespace
import XDR

/// PATHCONF3args.
public struct PATHCONF3Args: XDRDecodable, Sendable {
    public var object: RawFileHandle3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.object = try RawFileHandle3(xdr: &buffer)
    }
}

/// PATHCONF3resok's figures.
public struct PathConfiguration3: Hashable, Sendable {
    public var linkMaximum: UInt32
    public var nameMaximum: UInt32
    public var noTruncation: Bool
    public var chownRestricted: Bool
    public var caseInsensitive: Bool
    public var casePreserving: Bool
}

/// PATHCONF3res.
public enum PATHCONF3Result: XDREncodable, Sendable {
    case ok(objectAttributes: PostOpAttributes, configuration: PathConfiguration3)
    case failure(NFS3Status, objectAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let attributes, let configuration):
            NFS3Status.ok.encode(into: &buffer) + attributes.encode(into: &buffer)
                + buffer.writeXDRUInt32(configuration.linkMaximum)
                + buffer.writeXDRUInt32(configuration.nameMaximum)
                + buffer.writeXDRBool(configuration.noTruncation)
                + buffer.writeXDRBool(configuration.chownRestricted)
                + buffer.writeXDRBool(configuration.caseInsensitive)
                + buffer.writeXDRBool(configuration.casePreserving)
        case .failure(let status, let attributes):
            status.encode(into: &buffer) + attributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// POSIX pathconf values: no hard links, names up to 255 bytes and
    /// refused (not truncated) beyond, case-sensitive names.
    func pathconf(_ args: PATHCONF3Args) -> PATHCONF3Result {
        let node: NamespaceNode
        do {
            node = try self.resolve(args.object, in: self.store.current)
        } catch {
            return .failure(error, objectAttributes: .none)
        }
        let configuration = PathConfiguration3(
            linkMaximum: 1,
            nameMaximum: UInt32(NamespacePath.maximumNameLength),
            noTruncation: true,
            chownRestricted: true,
            caseInsensitive: false,
            casePreserving: true
        )
        return .ok(objectAttributes: self.postOpAttributes(of: node), configuration: configuration)
    }
}
