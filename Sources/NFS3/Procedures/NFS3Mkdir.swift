import NIOCore
import XDR

/// MKDIR3args.
public struct MKDIR3Args: XDRDecodable, Sendable {
    public var location: DirectoryOperationArguments3
    public var attributes: SetAttributes3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.location = try DirectoryOperationArguments3(xdr: &buffer)
        self.attributes = try SetAttributes3(xdr: &buffer)
    }
}

/// MKDIR3res as p2pfs sends it: always MKDIR3resfail.
public struct MKDIR3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var directoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "MKDIR3resok is never produced")
        return self.status.encode(into: &buffer) + self.directoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func mkdir(_ args: MKDIR3Args) -> MKDIR3Result {
        let (status, wcc) = self.refuseModification(of: args.location.directory, in: self.store.current)
        return MKDIR3Result(status: status, directoryWCC: wcc)
    }
}
