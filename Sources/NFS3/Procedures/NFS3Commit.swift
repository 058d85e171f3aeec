import NIOCore
import XDR

/// COMMIT3args.
public struct COMMIT3Args: XDRDecodable, Sendable {
    public var file: RawFileHandle3
    public var offset: UInt64
    public var count: UInt32

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.file = try RawFileHandle3(xdr: &buffer)
        self.offset = try buffer.readXDRUInt64()
        self.count = try buffer.readXDRUInt32()
    }
}

/// COMMIT3res as p2pfs sends it: always COMMIT3resfail, since no write
/// ever succeeded that could need committing.
public struct COMMIT3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var fileWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "COMMIT3resok is never produced")
        return self.status.encode(into: &buffer) + self.fileWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func commit(_ args: COMMIT3Args) -> COMMIT3Result {
        let (status, wcc) = self.refuseModification(of: args.file, in: self.store.current)
        return COMMIT3Result(status: status, fileWCC: wcc)
    }
}
