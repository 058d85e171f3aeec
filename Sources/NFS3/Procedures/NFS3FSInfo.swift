import NIOCore
import Namespace
import XDR

/// FSINFO3args.
public struct FSINFO3Args: XDRDecodable, Sendable {
    public var root: RawFileHandle3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.root = try RawFileHandle3(xdr: &buffer)
    }
}

/// The FSF3_* property bits.
public struct FileSystemProperties3: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let link = FileSystemProperties3(rawValue: 0x0001)
    public static let symlink = FileSystemProperties3(rawValue: 0x0002)
    public static let homogeneous = FileSystemProperties3(rawValue: 0x0008)
    public static let canSetTime = FileSystemProperties3(rawValue: 0x0010)
}

/// FSINFO3resok's figures.
public struct FileSystemInfo3: Hashable, Sendable {
    public var readMaximum: UInt32
    public var readPreferred: UInt32
    public var readMultiple: UInt32
    public var writeMaximum: UInt32
    public var writePreferred: UInt32
    public var writeMultiple: UInt32
    public var directoryPreferred: UInt32
    public var maximumFileSize: UInt64
    public var timeDelta: NFSTime3
    public var properties: FileSystemProperties3
}

/// FSINFO3res.
public enum FSINFO3Result: XDREncodable, Sendable {
    case ok(objectAttributes: PostOpAttributes, info: FileSystemInfo3)
    case failure(NFS3Status, objectAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let attributes, let info):
            NFS3Status.ok.encode(into: &buffer) + attributes.encode(into: &buffer)
                + buffer.writeXDRUInt32(info.readMaximum)
                + buffer.writeXDRUInt32(info.readPreferred)
                + buffer.writeXDRUInt32(info.readMultiple)
                + buffer.writeXDRUInt32(info.writeMaximum)
                + buffer.writeXDRUInt32(info.writePreferred)
                + buffer.writeXDRUInt32(info.writeMultiple)
                + buffer.writeXDRUInt32(info.directoryPreferred)
                + buffer.writeXDRUInt64(info.maximumFileSize)
                + info.timeDelta.encode(into: &buffer)
                + buffer.writeXDRUInt32(info.properties.rawValue)
        case .failure(let status, let attributes):
            status.encode(into: &buffer) + attributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// The sizes the kernel negotiates rsize/wsize and READDIR sizes from.
    /// Symlinks exist, hard links do not; times are exact to the nanosecond.
    func fsinfo(_ args: FSINFO3Args) -> FSINFO3Result {
        let node: NamespaceNode
        do {
            node = try self.resolve(args.root, in: self.store.current)
        } catch {
            return .failure(error, objectAttributes: .none)
        }
        let configuration = self.configuration
        let info = FileSystemInfo3(
            readMaximum: configuration.maximumReadSize,
            readPreferred: configuration.preferredReadSize,
            readMultiple: 4096,
            writeMaximum: configuration.maximumWriteSize,
            writePreferred: configuration.preferredWriteSize,
            writeMultiple: 4096,
            directoryPreferred: configuration.preferredReaddirSize,
            maximumFileSize: UInt64(Int64.max),
            timeDelta: NFSTime3(seconds: 0, nanoseconds: 1),
            properties: [.symlink, .homogeneous]
        )
        return .ok(objectAttributes: self.postOpAttributes(of: node), info: info)
    }
}
