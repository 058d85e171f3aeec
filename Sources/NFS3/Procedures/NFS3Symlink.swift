import NIOCore
import XDR

/// SYMLINK3args.
public struct SYMLINK3Args: XDRDecodable, Sendable {
    public var location: DirectoryOperationArguments3
    public var attributes: SetAttributes3
    /// `nfspath3`, kept as bytes: it is never used.
    public var target: ByteBuffer

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.location = try DirectoryOperationArguments3(xdr: &buffer)
        self.attributes = try SetAttributes3(xdr: &buffer)
        self.target = try buffer.readXDRVariableOpaque()
    }
}

/// SYMLINK3res as p2pfs sends it: always SYMLINK3resfail.
public struct SYMLINK3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var directoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "SYMLINK3resok is never produced")
        return self.status.encode(into: &buffer) + self.directoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func symlink(_ args: SYMLINK3Args) -> SYMLINK3Result {
        let (status, wcc) = self.refuseModification(of: args.location.directory, in: self.store.current)
        return SYMLINK3Result(status: status, directoryWCC: wcc)
    }
}
