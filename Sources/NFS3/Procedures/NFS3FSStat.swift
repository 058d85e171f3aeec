import NIOCore
import Namespace
import XDR

/// FSSTAT3args.
public struct FSSTAT3Args: XDRDecodable, Sendable {
    public var root: RawFileHandle3

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.root = try RawFileHandle3(xdr: &buffer)
    }
}

/// FSSTAT3resok's figures.
public struct FileSystemStatistics3: Hashable, Sendable {
    public var totalBytes: UInt64
    public var freeBytes: UInt64
    public var availableBytes: UInt64
    public var totalFiles: UInt64
    public var freeFiles: UInt64
    public var availableFiles: UInt64
    /// Seconds for which these figures will not change; 0: ask each time.
    public var invariantSeconds: UInt32

    public init(
        totalBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64, totalFiles: UInt64, freeFiles: UInt64,
        availableFiles: UInt64, invariantSeconds: UInt32
    ) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
        self.totalFiles = totalFiles
        self.freeFiles = freeFiles
        self.availableFiles = availableFiles
        self.invariantSeconds = invariantSeconds
    }
}

/// FSSTAT3res.
public enum FSSTAT3Result: XDREncodable, Sendable {
    case ok(objectAttributes: PostOpAttributes, statistics: FileSystemStatistics3)
    case failure(NFS3Status, objectAttributes: PostOpAttributes)

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .ok(let attributes, let statistics):
            NFS3Status.ok.encode(into: &buffer) + attributes.encode(into: &buffer)
                + buffer.writeXDRUInt64(statistics.totalBytes)
                + buffer.writeXDRUInt64(statistics.freeBytes)
                + buffer.writeXDRUInt64(statistics.availableBytes)
                + buffer.writeXDRUInt64(statistics.totalFiles)
                + buffer.writeXDRUInt64(statistics.freeFiles)
                + buffer.writeXDRUInt64(statistics.availableFiles)
                + buffer.writeXDRUInt32(statistics.invariantSeconds)
        case .failure(let status, let attributes):
            status.encode(into: &buffer) + attributes.encode(into: &buffer)
        }
    }
}

extension NFSv3Program {
    /// `df` figures: the namespace's total file size and entry count, and no
    /// free space, since nothing can be written.
    func fsstat(_ args: FSSTAT3Args) -> FSSTAT3Result {
        let snapshot = self.store.current
        let node: NamespaceNode
        do {
            node = try self.resolve(args.root, in: snapshot)
        } catch {
            return .failure(error, objectAttributes: .none)
        }
        let statistics = FileSystemStatistics3(
            totalBytes: snapshot.totalFileBytes, freeBytes: 0, availableBytes: 0,
            totalFiles: UInt64(snapshot.count), freeFiles: 0, availableFiles: 0,
            invariantSeconds: 0
        )
        return .ok(objectAttributes: self.postOpAttributes(of: node), statistics: statistics)
    }
}
