import NIOCore
import Namespace
import XDR

/// `filename3` as received.
///
/// Kept as bytes: the XDR type has no length limit, and a name that is too
/// long must be answered NFS3ERR_NAMETOOLONG rather than GARBAGE_ARGS. Any
/// bytes name a file: a name that is not UTF-8 is looked up by its exact
/// bytes (`NameBytes`).
public struct Filename3: Sendable, Equatable {
    public var bytes: ByteBuffer

    public init(bytes: ByteBuffer) {
        self.bytes = bytes
    }

    public init(_ string: String) {
        self.bytes = ByteBuffer(string: string)
    }

    /// The name in the namespace's form (`NameBytes`): any bytes.
    public var name: String {
        NameBytes.string(self.bytes.readableBytesView)
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
