import NIOCore

/// A type with an XDR wire form that can be read from a buffer.
public protocol XDRDecodable {
    init(xdr buffer: inout ByteBuffer) throws(XDRError)
}

/// A type with an XDR wire form that can be appended to a buffer.
public protocol XDREncodable {
    /// Appends the value's XDR form and returns the number of bytes written.
    @discardableResult
    func encode(into buffer: inout ByteBuffer) -> Int
}

public typealias XDRCodable = XDRDecodable & XDREncodable

extension ByteBuffer {
    @inlinable
    public mutating func readXDR<T: XDRDecodable>(_: T.Type = T.self) throws(XDRError) -> T {
        try T(xdr: &self)
    }

    @inlinable
    @discardableResult
    public mutating func writeXDR<T: XDREncodable>(_ value: T) -> Int {
        value.encode(into: &self)
    }
}
