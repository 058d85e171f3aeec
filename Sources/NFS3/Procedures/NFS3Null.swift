import NIOCore
import XDR

/// NFSPROC3_NULL: no arguments. Clients call it to probe the server.
public struct NULL3Args: XDRDecodable, Sendable {
    public init() {}
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {}
}

/// NFSPROC3_NULL: no results.
public struct NULL3Result: XDREncodable, Sendable {
    public init() {}

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int { 0 }
}

extension NFSv3Program {
    func null(_ args: NULL3Args) -> NULL3Result {
        NULL3Result()
    }
}
