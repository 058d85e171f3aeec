import NIOCore
import XDR

/// RENAME3args.
public struct RENAME3Args: XDRDecodable, Sendable {
    public var from: DirectoryOperationArguments3
    public var to: DirectoryOperationArguments3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.from = try DirectoryOperationArguments3(xdr: &buffer)
        self.to = try DirectoryOperationArguments3(xdr: &buffer)
    }
}

/// RENAME3res. Success and failure carry the same two `wcc_data`.
public struct RENAME3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var fromDirectoryWCC: WeakCacheConsistency
    public var toDirectoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.status.encode(into: &buffer) + self.fromDirectoryWCC.encode(into: &buffer)
            + self.toDirectoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    /// Refused. A handle error on either side is reported in preference to
    /// ROFS, as it is the more specific answer.
    func rename(_ args: RENAME3Args) -> RENAME3Result {
        let snapshot = self.store.current
        let (fromStatus, fromWCC) = self.refuseModification(of: args.from.directory, in: snapshot)
        let (toStatus, toWCC) = self.refuseModification(of: args.to.directory, in: snapshot)
        let status = fromStatus != .readOnlyFileSystem ? fromStatus : toStatus
        return RENAME3Result(status: status, fromDirectoryWCC: fromWCC, toDirectoryWCC: toWCC)
    }
}
