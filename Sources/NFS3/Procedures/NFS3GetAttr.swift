import NIOCore
import XDR

/// GETATTR3args.
public struct GETATTR3Args: XDRDecodable, Sendable {
    public var object: RawFileHandle3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.object = try RawFileHandle3(xdr: &buffer)
    }
}

/// GETATTR3res.
public enum GETATTR3Result: XDREncodable, Sendable {
    case ok(FileAttributes3)
    case failure(NFS3Status)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let attributes):
            NFS3Status.ok.encode(into: &buffer) + attributes.encode(into: &buffer)
        case .failure(let status):
            status.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    func getattr(_ args: GETATTR3Args) -> GETATTR3Result {
        do {
            let node = try self.resolve(args.object, in: self.store.current)
            return .ok(self.attributes(of: node))
        } catch {
            return .failure(error)
        }
    }
}
