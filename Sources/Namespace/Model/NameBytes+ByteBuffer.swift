import NIOCore

extension ByteBuffer {
    /// Writes `name` as an XDR `string<>`/`opaque<>` holding the exact bytes
    /// it stands for (`NameBytes`): length word, bytes, zero padding.
    @discardableResult
    public mutating func writeXDRName(_ name: String) -> Int {
        NameBytes.withBytes(name) { bytes in
            let padding = (4 - bytes.count % 4) % 4
            var written = self.writeInteger(UInt32(bytes.count), endianness: .big)
            written += self.writeBytes(bytes)
            if padding > 0 { written += self.writeRepeatingByte(0, count: padding) }
            return written
        }
    }

    /// The readable bytes as a name (`NameBytes`): any bytes are one.
    public var readableName: String {
        NameBytes.string(self.readableBytesView)
    }
}
