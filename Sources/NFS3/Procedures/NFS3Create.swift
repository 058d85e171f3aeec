import NIOCore
import XDR

/// `createhow3`.
public enum CreateHow3: Hashable, Sendable {
    case unchecked(SetAttributes3)
    case guarded(SetAttributes3)
    case exclusive(verifier: UInt64)
}

extension CreateHow3: XDRDecodable {
    /// `createmode3`.
    enum Mode: UInt32 {
        case unchecked = 0
        case guarded = 1
        case exclusive = 2
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        switch try buffer.readXDREnum(Mode.self) {
        case .unchecked: self = .unchecked(try SetAttributes3(xdr: &buffer))
        case .guarded: self = .guarded(try SetAttributes3(xdr: &buffer))
        case .exclusive: self = .exclusive(verifier: try buffer.readXDRUInt64())
        }
    }
}

/// CREATE3args.
public struct CREATE3Args: XDRDecodable, Sendable {
    public var location: DirectoryOperationArguments3
    public var how: CreateHow3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.location = try DirectoryOperationArguments3(xdr: &buffer)
        self.how = try CreateHow3(xdr: &buffer)
    }
}

/// CREATE3res as p2pfs sends it: always CREATE3resfail.
public struct CREATE3Result: XDREncodable, Sendable {
    public var status: NFS3Status
    public var directoryWCC: WeakCacheConsistency

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        assert(self.status != .ok, "CREATE3resok is never produced")
        return self.status.encode(into: &buffer) + self.directoryWCC.encode(into: &buffer)
    }
}

extension NFSv3Program {
    func create(_ args: CREATE3Args) -> CREATE3Result {
        let (status, wcc) = self.refuseModification(of: args.location.directory, in: self.store.current)
        return CREATE3Result(status: status, directoryWCC: wcc)
    }
}
