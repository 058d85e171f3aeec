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
    /// NFS4ERR_INVAL for an empty name and NFS4ERR_BADNAME for "." and "..";
    /// undecodable bytes are the COMPOUND's BADXDR. Like Linux's server, a
    /// name that is not UTF-8 is accepted: names are bytes (`NameBytes`),
    /// and such a name is looked up by its exact bytes.
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
        let bytes = self.bytes.readableBytesView
        guard bytes.count <= NamespacePath.maximumNameLength else { throw .nameTooLong }
        if bytes.elementsEqual([UInt8(ascii: ".")]) || bytes.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) { throw .badName }
        if bytes.contains(UInt8(ascii: "/")) || bytes.contains(0) { throw .badName }
        return NameBytes.string(bytes)
    }
}
