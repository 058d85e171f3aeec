import NIOCore
import XDR

extension ByteBuffer {
    mutating func readNetobj() throws(XDRError) -> [UInt8] {
        let bytes = try self.readXDRVariableOpaque(limit: NLM4.maximumNetobjLength)
        return Array(bytes.readableBytesView)
    }
}
