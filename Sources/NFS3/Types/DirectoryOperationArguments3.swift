import NIOCore
import XDR

/// `filename3` as received.
///
/// Kept as bytes: the XDR type has no length limit, and a name that is too
/// long must be answered NFS3ERR_NAMETOOLONG rather than GARBAGE_ARGS, while
/// a name that is not UTF-8 simply names nothing in this namespace.
public struct Filename3: Sendable, Equatable {
    public var bytes: ByteBuffer

    public init(bytes: ByteBuffer) {
        self.bytes = bytes
    }

    public init(_ string: String) {
        self.bytes = ByteBuffer(string: string)
    }

    /// The name as text, or nil when it is not valid UTF-8.
    public var string: String? {
        try? self.bytes.getUTF8ValidatedString(at: self.bytes.readerIndex, length: self.bytes.readableBytes)
    }

    public var length: Int { self.bytes.readableBytes }
}

extension Filename3: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.bytes = try buffer.readXDRVariableOpaque()
    }
}

/// `diropargs3`: a directory and a name in it.
public struct DirectoryOperationArguments3: Sendable, Equatable {
    public var directory: RawFileHandle3
    public var name: Filename3

    public init(directory: RawFileHandle3, name: Filename3) {
        self.directory = directory
        self.name = name
    }
}

extension DirectoryOperationArguments3: XDRDecodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.directory = try RawFileHandle3(xdr: &buffer)
        self.name = try Filename3(xdr: &buffer)
    }
}
