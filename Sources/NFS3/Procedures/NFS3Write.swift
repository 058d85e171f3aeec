import NIOCore
import XDR

/// `stable_how`.
public enum StableHow3: UInt32, Sendable {
    case unstable = 0
    case dataSync = 1
    case fileSync = 2
}

/// WRITE3args. The data stays a slice of the received record.
public struct WRITE3Args: XDRDecodable, Sendable {
    public var file: RawFileHandle3
    public var offset: UInt64
    public var count: UInt32
    public var stable: StableHow3
    public var data: ByteBuffer

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.file = try RawFileHandle3(xdr: &buffer)
        self.offset = try buffer.readXDRUInt64()
        self.count = try buffer.readXDRUInt32()
        self.stable = try buffer.readXDREnum(StableHow3.self)
        self.data = try buffer.readXDRVariableOpaque()
    }
}

/// WRITE3res as p2pfs sends it: always WRITE3resfail, since nothing is
/// ever written.
public struct WRITE3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var fileWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "WRITE3resok is never produced")
        return self.status.encode(into: &buffer) + self.fileWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func write(_ args: WRITE3Args) -> WRITE3Result {
        let (status, wcc) = self.refuseModification(of: args.file, in: self.store.current)
        return WRITE3Result(status: status, fileWCC: wcc)
    }
}
