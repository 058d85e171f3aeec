import NFS3
import Namespace
import XDR

/// The `fattr4` a READDIR asked for, worked out once for all its entries:
/// which attributes are returned, in order, and how many bytes each takes,
/// so every entry is then written in one pass with `XDRRawWriter` instead
/// of one `ByteBuffer` call per value. The bytes are those of
/// `FileAttributes4.encode(_:into:)`.
struct FileAttributePlan4 {
    /// The requested attributes this server supports (the reply's mask).
    let maskWords: [UInt32]
    let attributes: [Attribute4]
    /// Mask, length word and every fixed-size value; `owner` and
    /// `owner_group` are strings and are added per entry.
    let fixedLength: Int
    let includesOwner: Bool
    let includesOwnerGroup: Bool
    /// `owner` and `owner_group` for the file system's uid and gid, which
    /// every node shows.
    let fileSystem: FileSystemAttributes4
    let owner: String
    let ownerGroup: String

    init(_ requested: Bitmap4, fileSystem: FileSystemAttributes4) {
        let returned = requested.intersection(Attribute4.supported)
        self.maskWords = returned.words
        self.attributes = returned.bits.map { Attribute4(rawValue: $0)! }
        self.fixedLength = 4 + 4 * returned.words.count + 4 + self.attributes.reduce(0) { $0 + Self.fixedLength(of: $1) }
        self.includesOwner = returned.contains(Attribute4.owner.rawValue)
        self.includesOwnerGroup = returned.contains(Attribute4.ownerGroup.rawValue)
        self.fileSystem = fileSystem
        self.owner = String(fileSystem.uid)
        self.ownerGroup = String(fileSystem.gid)
    }

    static let supportedLength = 4 + 4 * Attribute4.supported.words.count

    /// Encoded size of a value whose size does not depend on the node.
    static func fixedLength(of attribute: Attribute4) -> Int {
        switch attribute {
        case .supportedAttributes: Self.supportedLength
        case .type, .fileHandleExpireType, .linkSupport, .symlinkSupport, .namedAttributes, .uniqueHandles, .leaseTime,
            .readdirAttributeError, .aclSupport, .canSetTime, .caseInsensitive, .casePreserving, .chownRestricted,
            .homogeneous, .maximumLink, .maximumName, .mode, .noTruncation, .numberOfLinks:
            4
        case .change, .size, .fileID, .mountedOnFileID, .filesAvailable, .filesFree, .filesTotal, .maximumFileSize,
            .maximumRead, .maximumWrite, .spaceAvailable, .spaceFree, .spaceTotal, .spaceUsed, .rawDevice:
            8
        case .fsid: 16
        case .fileHandle: 4 + NFS3FileHandle.length
        case .timeAccess, .timeModify, .timeMetadata, .timeDelta: 12
        case .supportedExclusiveCreateAttributes: 4
        case .owner, .ownerGroup, .timeAccessSet, .timeModifySet: 0
        }
    }

    private func ownerName(_ attributes: FileAttributes4) -> String {
        attributes.uid == self.fileSystem.uid ? self.owner : String(attributes.uid)
    }

    private func ownerGroupName(_ attributes: FileAttributes4) -> String {
        attributes.gid == self.fileSystem.gid ? self.ownerGroup : String(attributes.gid)
    }

    /// Bytes of the whole `fattr4` for one node.
    func encodedLength(of attributes: FileAttributes4) -> Int {
        var length = self.fixedLength
        if self.includesOwner { length += XDRRawWriter.stringLength(utf8Count: self.ownerName(attributes).utf8.count) }
        if self.includesOwnerGroup { length += XDRRawWriter.stringLength(utf8Count: self.ownerGroupName(attributes).utf8.count) }
        return length
    }

    /// Writes `fattr4`; `length` is `encodedLength(of: attributes)`.
    func write(_ attributes: FileAttributes4, length: Int, into writer: inout XDRRawWriter) {
        writer.uint32(UInt32(self.maskWords.count))
        for word in self.maskWords { writer.uint32(word) }
        writer.uint32(UInt32(length - 4 - 4 * self.maskWords.count - 4))
        let fs = attributes.fileSystem
        for attribute in self.attributes {
            switch attribute {
            case .supportedAttributes:
                let words = Attribute4.supported.words
                writer.uint32(UInt32(words.count))
                for word in words { writer.uint32(word) }
            case .type: writer.uint32(FileType4(attributes.kind).rawValue)
            case .fileHandleExpireType: writer.uint32(0)  // FH4_PERSISTENT
            case .change: writer.uint64(attributes.change)
            case .size: writer.uint64(attributes.size)
            case .linkSupport: writer.bool(false)
            case .symlinkSupport: writer.bool(true)
            case .namedAttributes: writer.bool(false)
            case .fsid:
                writer.uint64(fs.fsid)
                writer.uint64(0)
            case .uniqueHandles: writer.bool(true)
            case .leaseTime: writer.uint32(fs.leaseSeconds)
            case .readdirAttributeError: writer.uint32(NFS4Status.ok.rawValue)
            case .aclSupport: writer.uint32(0)
            case .canSetTime: writer.bool(false)
            case .caseInsensitive: writer.bool(false)
            case .casePreserving: writer.bool(true)
            case .chownRestricted: writer.bool(true)
            case .fileHandle: writer.handle(NFS3FileHandle(fileID: attributes.fileID))
            case .fileID, .mountedOnFileID: writer.uint64(attributes.fileID.rawValue)
            case .filesAvailable, .filesFree: writer.uint64(0)
            case .filesTotal: writer.uint64(fs.filesTotal)
            case .homogeneous: writer.bool(true)
            case .maximumFileSize: writer.uint64(UInt64(Int64.max))
            case .maximumLink: writer.uint32(1)
            case .maximumName: writer.uint32(UInt32(NamespacePath.maximumNameLength))
            case .maximumRead: writer.uint64(UInt64(fs.maximumRead))
            case .maximumWrite: writer.uint64(UInt64(fs.maximumWrite))
            case .mode: writer.uint32(attributes.mode)
            case .noTruncation: writer.bool(true)
            case .numberOfLinks: writer.uint32(attributes.numberOfLinks)
            case .owner: writer.string(self.ownerName(attributes))
            case .ownerGroup: writer.string(self.ownerGroupName(attributes))
            case .rawDevice:
                writer.uint32(0)
                writer.uint32(0)
            case .spaceAvailable, .spaceFree: writer.uint64(0)
            case .spaceTotal: writer.uint64(fs.spaceTotal)
            case .spaceUsed: writer.uint64(attributes.spaceUsed)
            case .timeAccess, .timeModify: writer.nfsTime4(attributes.modifyTime)
            case .timeMetadata: writer.nfsTime4(attributes.changeTime)
            case .timeDelta: writer.nfsTime4(Timestamp(seconds: 0, nanoseconds: 1))
            case .supportedExclusiveCreateAttributes: writer.uint32(0)  // empty bitmap4
            case .timeAccessSet, .timeModifySet: break  // never in `supported`
            }
        }
    }
}

extension XDRRawWriter {
    /// `nfstime4`.
    mutating func nfsTime4(_ time: Timestamp) {
        self.uint64(UInt64(bitPattern: time.seconds))
        self.uint32(time.nanoseconds)
    }
}
