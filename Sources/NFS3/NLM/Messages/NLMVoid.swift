import NIOCore
import XDR

/// Arguments of procedures that take none (NULL) and results that are void.
struct NLMVoid: XDRCodable, Sendable {
    init() {}
    init(xdr buffer: inout ByteBuffer) throws(XDRError) {}

    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int { 0 }
}
