import NIOCore
import XDR

/// REMOVE3args.
public struct REMOVE3Args: XDRDecodable, Sendable {
    public var object: DirectoryOperationArguments3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.object = try DirectoryOperationArguments3(xdr: &buffer)
    }
}

/// REMOVE3res. Success and failure carry the same `wcc_data`.
public struct REMOVE3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var directoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.status.encode(into: &buffer) + self.directoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func remove(_ args: REMOVE3Args) -> REMOVE3Result {
        let (status, wcc) = self.refuseModification(of: args.object.directory, in: self.store.current)
        return REMOVE3Result(status: status, directoryWCC: wcc)
    }
}
