import NIOCore
import Namespace
import XDR

/// The file handles p2pfs issues: "P2F", a format byte, and the FileID.
///
/// A FileID is a hash of the namespace path, so a handle survives daemon
/// restarts and peers coming and going: a client that stays mounted keeps
/// working. The magic and format byte let the server tell its own handles
/// from garbage (NFS3ERR_BADHANDLE) and leave room for a later format.
public struct NFS3FileHandle: Hashable, Sendable, CustomStringConvertible {
    public static let length = 12
    static let magic: [UInt8] = [UInt8(ascii: "P"), UInt8(ascii: "2"), UInt8(ascii: "F")]
    static let format: UInt8 = 0x01

    public var fileID: FileID

    public init(fileID: FileID) {
        self.fileID = fileID
    }

    /// Parses handle bytes; nil when they are not a handle this server issued.
    public init?(bytes: ByteBuffer) {
        guard bytes.readableBytes == Self.length,
            let prefix = bytes.getBytes(at: bytes.readerIndex, length: 4),
            prefix[0..<3].elementsEqual(Self.magic), prefix[3] == Self.format,
            let raw = bytes.getInteger(at: bytes.readerIndex + 4, endianness: .big, as: UInt64.self)
        else { return nil }
        self.fileID = FileID(rawValue: raw)
    }

    /// The 12 handle bytes.
    public var bytes: [UInt8] {
        var bytes = Self.magic
        bytes.append(Self.format)
        withUnsafeBytes(of: self.fileID.rawValue.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    public var description: String { "fh(\(self.fileID))" }
}

extension NFS3FileHandle: XDREncodable {
    /// "P2F" followed by the format byte, as one big-endian word.
    static let prefixWord: UInt32 = 0x5032_4601

    /// Writes the handle as `nfs_fh3` (opaque<64>); MOUNT's fhandle3 has the same form.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(UInt32(Self.length))
            + buffer.writeXDRUInt32(Self.prefixWord)
            + buffer.writeXDRUInt64(self.fileID.rawValue)
    }
}

/// `nfs_fh3` as a client sent it: at most 64 opaque bytes, not yet checked.
///
/// Decoding enforces only the XDR limit. Whether the bytes are a handle this
/// server issued is decided when a procedure resolves it, so a foreign or
/// damaged handle is answered NFS3ERR_BADHANDLE rather than GARBAGE_ARGS.
public struct RawFileHandle3: Sendable, Equatable {
    /// NFS3_FHSIZE.
    public static let maximumLength = 64

    public var bytes: ByteBuffer

    public init(bytes: ByteBuffer) {
        self.bytes = bytes
    }

    public init(_ handle: NFS3FileHandle) {
        self.bytes = ByteBuffer(bytes: handle.bytes)
    }

    /// The p2pfs handle these bytes encode, if they are one.
    public var handle: NFS3FileHandle? { NFS3FileHandle(bytes: self.bytes) }
}

extension RawFileHandle3: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.bytes = try buffer.readXDRVariableOpaque(limit: Self.maximumLength)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRVariableOpaque(self.bytes)
    }
}

extension XDRRawWriter {
    /// `nfs_fh3` for a p2pfs handle: length word and 12 bytes.
    public mutating func handle(_ handle: NFS3FileHandle) {
        self.uint32(UInt32(NFS3FileHandle.length))
        self.uint32(NFS3FileHandle.prefixWord)
        self.uint64(handle.fileID.rawValue)
    }
}
