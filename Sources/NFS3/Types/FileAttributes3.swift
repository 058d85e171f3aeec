import NIOCore
import Namespace
import XDR

/// `ftype3`.
public enum FileType3: UInt32, Sendable {
    case regular = 1
    case directory = 2
    case blockDevice = 3
    case characterDevice = 4
    case symbolicLink = 5
    case socket = 6
    case fifo = 7

    init(_ kind: FileKind) {
        switch kind {
        case .regular: self = .regular
        case .directory: self = .directory
        case .symlink: self = .symbolicLink
        }
    }
}

/// `specdata3`: device numbers, always zero here.
public struct SpecData3: Hashable, Sendable {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32 = 0, minor: UInt32 = 0) {
        self.major = major
        self.minor = minor
    }
}

extension SpecData3: XDRCodable {
    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.major = try buffer.readXDRUInt32()
        self.minor = try buffer.readXDRUInt32()
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRUInt32(self.major) + buffer.writeXDRUInt32(self.minor)
    }
}

/// `fattr3` (RFC 1813 §2.6): what GETATTR and every post-op attribute carry.
public struct FileAttributes3: Hashable, Sendable {
    /// The encoded size: 5 words, 5 hypers, specdata3 and three nfstime3.
    public static let encodedLength = 84
    /// The block size `used` is rounded to, so `du` shows something plausible.
    static let blockSize: UInt64 = 4096

    public var type: FileType3
    public var mode: UInt32
    public var nlink: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    public var used: UInt64
    public var rdev: SpecData3
    public var fsid: UInt64
    public var fileID: UInt64
    public var atime: NFSTime3
    public var mtime: NFSTime3
    public var ctime: NFSTime3

    public init(
        type: FileType3, mode: UInt32, nlink: UInt32, uid: UInt32, gid: UInt32, size: UInt64, used: UInt64,
        rdev: SpecData3 = SpecData3(), fsid: UInt64, fileID: UInt64, atime: NFSTime3, mtime: NFSTime3, ctime: NFSTime3
    ) {
        self.type = type
        self.mode = mode
        self.nlink = nlink
        self.uid = uid
        self.gid = gid
        self.size = size
        self.used = used
        self.rdev = rdev
        self.fsid = fsid
        self.fileID = fileID
        self.atime = atime
        self.mtime = mtime
        self.ctime = ctime
    }

    /// The attributes a client sees for `node`.
    ///
    /// Modes are read-only because nothing can be written: a write then fails
    /// in the client's own permission check before reaching the server. A
    /// directory's mtime is its change time, which moves when peers add or
    /// remove children, so the kernel revalidates its cached listing.
    ///
    /// `version`, when given, is what a source reported while reading and
    /// replaces the size and times the namespace believed in, so a client
    /// notices the file changed.
    public init(node: NamespaceNode, configuration: NFS3Configuration, version: FileVersion? = nil) {
        let type = FileType3(node.kind)
        var size = node.size
        var mtime: Timestamp
        var ctime = node.changeTime
        let mode: UInt32
        let nlink: UInt32
        switch node.kind {
        case .directory:
            mode = 0o555
            nlink = 2 &+ node.subdirectoryCount
            mtime = node.changeTime
        case .regular:
            mode = node.mode & 0o111 != 0 ? 0o555 : 0o444
            nlink = 1
            mtime = node.mtime
        case .symlink:
            mode = 0o777
            nlink = 1
            mtime = node.mtime
        }
        if let version, node.kind == .regular, version != node.version {
            size = version.size
            mtime = version.mtime
            ctime = max(ctime, version.mtime)
        }
        let presentedMTime = NFSTime3(mtime)
        self.init(
            type: type, mode: mode, nlink: nlink, uid: configuration.uid, gid: configuration.gid,
            size: size, used: Self.roundedToBlocks(size), fsid: configuration.fsid, fileID: node.fileID.rawValue,
            atime: presentedMTime, mtime: presentedMTime, ctime: NFSTime3(ctime)
        )
    }

    static func roundedToBlocks(_ size: UInt64) -> UInt64 {
        let remainder = size % Self.blockSize
        guard remainder != 0 else { return size }
        let (rounded, overflow) = size.addingReportingOverflow(Self.blockSize - remainder)
        return overflow ? size : rounded
    }

    /// The subset a wcc_data's pre-operation attributes carry.
    public var weakCacheAttributes: WeakCacheAttributes3 {
        WeakCacheAttributes3(size: self.size, mtime: self.mtime, ctime: self.ctime)
    }
}

extension FileAttributes3: XDREncodable {
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeXDRRaw(length: Self.encodedLength) { self.encode(into: &$0) }
    }

    /// The same 84 bytes, into a run being written in one go.
    func encode(into writer: inout XDRRawWriter) {
        writer.uint32(self.type.rawValue)
        writer.uint32(self.mode)
        writer.uint32(self.nlink)
        writer.uint32(self.uid)
        writer.uint32(self.gid)
        writer.uint64(self.size)
        writer.uint64(self.used)
        writer.uint32(self.rdev.major)
        writer.uint32(self.rdev.minor)
        writer.uint64(self.fsid)
        writer.uint64(self.fileID)
        writer.uint32(self.atime.seconds)
        writer.uint32(self.atime.nanoseconds)
        writer.uint32(self.mtime.seconds)
        writer.uint32(self.mtime.nanoseconds)
        writer.uint32(self.ctime.seconds)
        writer.uint32(self.ctime.nanoseconds)
    }
}
