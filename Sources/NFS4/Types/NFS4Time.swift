import NIOCore
import Namespace
import XDR

extension ByteBuffer {
    /// `nfstime4`: signed seconds and nanoseconds.
    @discardableResult
    mutating func writeNFSTime4(_ time: Timestamp) -> Int {
        self.writeXDRInt64(time.seconds) + self.writeXDRUInt32(time.nanoseconds)
    }

    /// `component4` (utf8str_cs) as a name: RFC 8881 §14.2 wants
    /// NFS4ERR_INVAL for an empty or non-UTF-8 name and NFS4ERR_BADNAME for
    /// "." and ".."; undecodable bytes are the COMPOUND's BADXDR.
    mutating func readComponent4() throws(XDRError) -> ComponentName4 {
        let bytes = try self.readXDRVariableOpaque(limit: Int(UInt16.max))
        return ComponentName4(bytes: bytes)
    }
}

/// A `component4` as sent: checked only when an operation uses it.
public struct ComponentName4: Hashable, Sendable {
    public var bytes: ByteBuffer

    public init(bytes: ByteBuffer) {
        self.bytes = bytes
    }

    public init(_ string: String) {
        self.bytes = ByteBuffer(string: string)
    }

    /// The name, or the status RFC 8881 §14.2 gives for a bad one.
    public func name() throws(NFS4Status) -> String {
        guard self.bytes.readableBytes > 0 else { throw .invalid }
        guard let string = self.bytes.getString(at: self.bytes.readerIndex, length: self.bytes.readableBytes),
            string.utf8.elementsEqual(self.bytes.readableBytesView)
        else { throw .invalid }
        if string == "." || string == ".." { throw .badName }
        if string.utf8.contains(UInt8(ascii: "/")) || string.utf8.contains(0) { throw .badName }
        guard string.utf8.count <= NamespacePath.maximumNameLength else { throw .nameTooLong }
        return string
    }
}
