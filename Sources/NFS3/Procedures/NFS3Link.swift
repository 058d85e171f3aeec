import NIOCore
import XDR

/// LINK3args.
public struct LINK3Args: XDRDecodable, Sendable {
    public var file: RawFileHandle3
    public var link: DirectoryOperationArguments3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.file = try RawFileHandle3(xdr: &buffer)
        self.link = try DirectoryOperationArguments3(xdr: &buffer)
    }
}

/// LINK3res. Success and failure carry the same fields.
public struct LINK3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var fileAttributes: PostOpAttributes
    public var linkDirectoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.status.encode(into: &buffer) + self.fileAttributes.encode(into: &buffer)
            + self.linkDirectoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func link(_ args: LINK3Args) -> LINK3Result {
        let snapshot = self.store.current
        let (fileStatus, fileWCC) = self.refuseModification(of: args.file, in: snapshot)
        let (directoryStatus, directoryWCC) = self.refuseModification(of: args.link.directory, in: snapshot)
        let status = fileStatus != .readOnlyFileSystem ? fileStatus : directoryStatus
        return LINK3Result(status: status, fileAttributes: fileWCC.after, linkDirectoryWCC: directoryWCC)
    }
}
