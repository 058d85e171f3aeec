import NIOCore
import XDR

/// `mknoddata3`: what kind of special file to create.
public enum MknodData3: Hashable, Sendable {
    case device(FileType3, SetAttributes3, SpecData3)
    case pipe(FileType3, SetAttributes3)
    case other(FileType3)
}

extension MknodData3: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        let type = try buffer.readXDREnum(FileType3.self)
        switch type {
        case .characterDevice, .blockDevice:
            self = .device(type, try SetAttributes3(xdr: &buffer), try SpecData3(xdr: &buffer))
        case .socket, .fifo:
            self = .pipe(type, try SetAttributes3(xdr: &buffer))
        case .regular, .directory, .symbolicLink:
            self = .other(type)
        }
    }
}

/// MKNOD3args.
public struct MKNOD3Args: XDRDecodable, Sendable {
    public var location: DirectoryOperationArguments3
    public var what: MknodData3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.location = try DirectoryOperationArguments3(xdr: &buffer)
        self.what = try MknodData3(xdr: &buffer)
    }
}

/// MKNOD3res as p2pfs sends it: always MKNOD3resfail.
public struct MKNOD3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var directoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "MKNOD3resok is never produced")
        return self.status.encode(into: &buffer) + self.directoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func mknod(_ args: MKNOD3Args) -> MKNOD3Result {
        let (status, wcc) = self.refuseModification(of: args.location.directory, in: self.store.current)
        return MKNOD3Result(status: status, directoryWCC: wcc)
    }
}
