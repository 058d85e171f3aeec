import NIOCore
import XDR

/// SETATTR3args.
public struct SETATTR3Args: XDRDecodable, Sendable {
    public var object: RawFileHandle3
    public var newAttributes: SetAttributes3
    /// `sattrguard3`: the ctime the client expects the object to have.
    public var guardCTime: NFSTime3?

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.object = try RawFileHandle3(xdr: &buffer)
        self.newAttributes = try SetAttributes3(xdr: &buffer)
        self.guardCTime = try buffer.readXDROptional { (b: inout ByteBuffer) throws(XDRError) in try NFSTime3(xdr: &b) }
    }
}

/// SETATTR3res. Success and failure carry the same `wcc_data`.
public struct SETATTR3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var objectWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.status.encode(into: &buffer) + self.objectWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    /// Refused: the namespace is read-only (this is also what `touch` and
    /// `chmod` on the mount get).
    func setattr(_ args: SETATTR3Args) -> SETATTR3Result {
        let (status, wcc) = self.refuseModification(of: args.object, in: self.store.current)
        return SETATTR3Result(status: status, objectWCC: wcc)
    }
}
