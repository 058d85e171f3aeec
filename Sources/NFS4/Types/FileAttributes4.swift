import NIOCore
import Namespace
import XDR

/// Attribute numbers (RFC 8881 §5.6, §5.7) p2pfs knows.
public enum Attribute4: Int, Sendable, CaseIterable {
    case supportedAttributes = 0
    case type = 1
    case fileHandleExpireType = 2
    case change = 3
    case size = 4
    case linkSupport = 5
    case symlinkSupport = 6
    case namedAttributes = 7
    case fsid = 8
    case uniqueHandles = 9
    case leaseTime = 10
    case readdirAttributeError = 11
    case aclSupport = 13
    case canSetTime = 15
    case caseInsensitive = 16
    case casePreserving = 17
    case chownRestricted = 18
    case fileHandle = 19
    case fileID = 20
    case filesAvailable = 21
    case filesFree = 22
    case filesTotal = 23
    case homogeneous = 26
    case maximumFileSize = 27
    case maximumLink = 28
    case maximumName = 29
    case maximumRead = 30
    case maximumWrite = 31
    case mode = 33
    case noTruncation = 34
    case numberOfLinks = 35
    case owner = 36
    case ownerGroup = 37
    case rawDevice = 41
    case spaceAvailable = 42
    case spaceFree = 43
    case spaceTotal = 44
    case spaceUsed = 45
    case timeAccess = 47
    case timeAccessSet = 48
    case timeDelta = 51
    case timeMetadata = 52
    case timeModify = 53
    case timeModifySet = 54
    case mountedOnFileID = 55
    case supportedExclusiveCreateAttributes = 75

    /// Settable only: asking for them in GETATTR is NFS4ERR_INVAL.
    public var isWriteOnly: Bool { self == .timeAccessSet || self == .timeModifySet }

    /// What GETATTR can answer: every case except the write-only ones
    /// (which a read-only server does not support either).
    public static let supported = Bitmap4(Self.allCases.filter { !$0.isWriteOnly }.map(\.rawValue))
    public static let writeOnly = Bitmap4([Self.timeAccessSet.rawValue, Self.timeModifySet.rawValue])
}

/// `nfs_ftype4`.
enum FileType4: UInt32 {
    case regular = 1
    case directory = 2
    case symlink = 5

    init(_ kind: FileKind) {
        switch kind {
        case .regular: self = .regular
        case .directory: self = .directory
        case .symlink: self = .symlink
        }
    }
}

/// The facts about one node that attributes are made of, and the
/// `fattr4` encoder. Presentation (modes, owners, times) matches what
/// NFSv3 shows for the same node.
public struct FileAttributes4: Sendable {
    public var fileID: FileID
    public var kind: FileKind
    public var mode: UInt32
    public var numberOfLinks: UInt32
    public var size: UInt64
    public var modifyTime: Timestamp
    public var changeTime: Timestamp
    public var uid: UInt32
    public var gid: UInt32
    /// The rest: the same for every node of the file system.
    public var fileSystem: FileSystemAttributes4

    static let blockSize: UInt64 = 4096

    public init(node: NamespaceNode, fileSystem: FileSystemAttributes4, version: FileVersion? = nil) {
        self.fileID = node.fileID
        self.kind = node.kind
        self.fileSystem = fileSystem
        self.uid = fileSystem.uid
        self.gid = fileSystem.gid
        self.size = node.size
        self.changeTime = node.changeTime
        switch node.kind {
        case .directory:
            self.mode = 0o555
            self.numberOfLinks = 2 &+ node.subdirectoryCount
            self.modifyTime = node.changeTime
        case .regular:
            self.mode = node.mode & 0o111 != 0 ? 0o555 : 0o444
            self.numberOfLinks = 1
            self.modifyTime = node.mtime
        case .symlink:
            self.mode = 0o777
            self.numberOfLinks = 1
            self.modifyTime = node.mtime
        }
        if let version, node.kind == .regular, version != node.version {
            self.size = version.size
            self.modifyTime = version.mtime
            self.changeTime = max(self.changeTime, version.mtime)
        }
    }

    /// `change`: the change time in nanoseconds; it moves whenever the
    /// size/mtime the client sees (or a directory's children) change.
    var change: UInt64 {
        UInt64(bitPattern: self.changeTime.seconds) &* 1_000_000_000 &+ UInt64(self.changeTime.nanoseconds)
    }

    var spaceUsed: UInt64 {
        let remainder = self.size % Self.blockSize
        guard remainder != 0 else { return self.size }
        let (rounded, overflow) = self.size.addingReportingOverflow(Self.blockSize - remainder)
        return overflow ? self.size : rounded
    }

    /// Writes `fattr4` for the requested attributes this server supports
    /// (RFC 8881 §5: the bitmap says which values follow, in order).
    /// Unsupported ones are left out of the returned mask.
    @discardableResult
    public func encode(_ requested: Bitmap4, into buffer: inout ByteBuffer) -> Int {
        let returned = requested.intersection(Attribute4.supported)
        let start = buffer.writerIndex
        returned.encode(into: &buffer)
        let lengthIndex = buffer.writerIndex
        buffer.writeXDRUInt32(0)
        for bit in returned.bits {
            self.encodeValue(Attribute4(rawValue: bit)!, into: &buffer)
        }
        buffer.setInteger(UInt32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex, endianness: .big)
        return buffer.writerIndex - start
    }

    /// The values alone (`attrlist4` contents), for VERIFY's comparison.
    func encodeValues(_ attributes: Bitmap4, into buffer: inout ByteBuffer) {
        for bit in attributes.bits {
            self.encodeValue(Attribute4(rawValue: bit)!, into: &buffer)
        }
    }

    private func encodeValue(_ attribute: Attribute4, into buffer: inout ByteBuffer) {
        let fs = self.fileSystem
        switch attribute {
        case .supportedAttributes: Attribute4.supported.encode(into: &buffer)
        case .type: buffer.writeXDRUInt32(FileType4(self.kind).rawValue)
        case .fileHandleExpireType: buffer.writeXDRUInt32(0)  // FH4_PERSISTENT
        case .change: buffer.writeXDRUInt64(self.change)
        case .size: buffer.writeXDRUInt64(self.size)
        case .linkSupport: buffer.writeXDRBool(false)
        case .symlinkSupport: buffer.writeXDRBool(true)
        case .namedAttributes: buffer.writeXDRBool(false)
        case .fsid:
            buffer.writeXDRUInt64(fs.fsid)
            buffer.writeXDRUInt64(0)
        case .uniqueHandles: buffer.writeXDRBool(true)
        case .leaseTime: buffer.writeXDRUInt32(fs.leaseSeconds)
        case .readdirAttributeError: buffer.writeXDRUInt32(NFS4Status.ok.rawValue)
        case .aclSupport: buffer.writeXDRUInt32(0)
        case .canSetTime: buffer.writeXDRBool(false)
        case .caseInsensitive: buffer.writeXDRBool(false)
        case .casePreserving: buffer.writeXDRBool(true)
        case .chownRestricted: buffer.writeXDRBool(true)
        case .fileHandle: NFS4FileHandle.encode(self.fileID, into: &buffer)
        case .fileID, .mountedOnFileID: buffer.writeXDRUInt64(self.fileID.rawValue)
        case .filesAvailable, .filesFree: buffer.writeXDRUInt64(0)
        case .filesTotal: buffer.writeXDRUInt64(fs.filesTotal)
        case .homogeneous: buffer.writeXDRBool(true)
        case .maximumFileSize: buffer.writeXDRUInt64(UInt64(Int64.max))
        case .maximumLink: buffer.writeXDRUInt32(1)
        case .maximumName: buffer.writeXDRUInt32(UInt32(NamespacePath.maximumNameLength))
        case .maximumRead: buffer.writeXDRUInt64(UInt64(fs.maximumRead))
        case .maximumWrite: buffer.writeXDRUInt64(UInt64(fs.maximumWrite))
        case .mode: buffer.writeXDRUInt32(self.mode)
        case .noTruncation: buffer.writeXDRBool(true)
        case .numberOfLinks: buffer.writeXDRUInt32(self.numberOfLinks)
        case .owner: buffer.writeXDRString(String(self.uid))
        case .ownerGroup: buffer.writeXDRString(String(self.gid))
        case .rawDevice:
            buffer.writeXDRUInt32(0)
            buffer.writeXDRUInt32(0)
        case .spaceAvailable, .spaceFree: buffer.writeXDRUInt64(0)
        case .spaceTotal: buffer.writeXDRUInt64(fs.spaceTotal)
        case .spaceUsed: buffer.writeXDRUInt64(self.spaceUsed)
        case .timeAccess, .timeModify: buffer.writeNFSTime4(self.modifyTime)
        case .timeMetadata: buffer.writeNFSTime4(self.changeTime)
        case .timeDelta: buffer.writeNFSTime4(Timestamp(seconds: 0, nanoseconds: 1))
        case .supportedExclusiveCreateAttributes: Bitmap4().encode(into: &buffer)
        case .timeAccessSet, .timeModifySet: break  // never in `supported`
        }
    }
}

/// What every node of the exported file system shares.
public struct FileSystemAttributes4: Sendable {
    public var fsid: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var leaseSeconds: UInt32
    public var maximumRead: UInt32
    public var maximumWrite: UInt32
    /// From the snapshot: every entry, and every regular file's bytes.
    public var filesTotal: UInt64
    public var spaceTotal: UInt64

    public init(
        fsid: UInt64, uid: UInt32, gid: UInt32, leaseSeconds: UInt32, maximumRead: UInt32, maximumWrite: UInt32,
        filesTotal: UInt64 = 0, spaceTotal: UInt64 = 0
    ) {
        self.fsid = fsid
        self.uid = uid
        self.gid = gid
        self.leaseSeconds = leaseSeconds
        self.maximumRead = maximumRead
        self.maximumWrite = maximumWrite
        self.filesTotal = filesTotal
        self.spaceTotal = spaceTotal
    }
}

/// `fattr4` as a client sends it (VERIFY, NVERIFY): the mask and the
/// still-encoded values.
public struct FileAttributesArgument4: Sendable, Equatable {
    public var mask: Bitmap4
    public var values: ByteBuffer

    public init(mask: Bitmap4, values: ByteBuffer) {
        self.mask = mask
        self.values = values
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.mask = try Bitmap4(xdr: &buffer)
        self.values = try buffer.readXDRVariableOpaque(limit: 64 * 1024)
    }
}
