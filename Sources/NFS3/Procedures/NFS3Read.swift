import Logging
import NIOCore
import Namespace
import XDR

/// READ3args.
public struct READ3Args: XDRDecodable, Sendable {
    public var file: RawFileHandle3
    public var offset: UInt64
    public var count: UInt32

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.file = try RawFileHandle3(xdr: &buffer)
        self.offset = try buffer.readXDRUInt64()
        self.count = try buffer.readXDRUInt32()
    }
}

/// READ3res.
public enum READ3Result: XDREncodable, Sendable {
    case ok(fileAttributes: PostOpAttributes, count: UInt32, isEndOfFile: Bool, data: FileContent)
    case failure(NFS3Status, fileAttributes: PostOpAttributes)

    /// Status, attributes, count, eof and the data's length word.
    public static let maximumHeadLength = 4 + PostOpAttributes.presentLength + 4 + 4 + 4

    /// Writes everything up to and including the data's length word and
    /// returns the data, which the RPC layer sends as a separate buffer or
    /// file region (and pads) so file content is never copied into the reply.
    public func encodeHead(into buffer: inout ByteBuffer) -> FileContent? {
        switch self {
        case .ok(let attributes, let count, let isEndOfFile, let data):
            NFS3Status.ok.encode(into: &buffer)
            attributes.encode(into: &buffer)
            buffer.writeXDRUInt32(count)
            buffer.writeXDRBool(isEndOfFile)
            buffer.writeXDRUInt32(UInt32(data.count))
            return data.count > 0 ? data : nil
        case .failure(let status, let attributes):
            status.encode(into: &buffer)
            attributes.encode(into: &buffer)
            return nil
        }
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        if let data = self.encodeHead(into: &buffer) {
            buffer.writeXDRFixedOpaque(data.loadedBytes())
        }
        return buffer.writerIndex - start
    }
}

extension NFSv3Program {
    /// Reads from whichever source of the file answers (the snapshot fails
    /// over between them). Counts beyond the configured maximum are capped,
    /// not refused: RFC 1813 lets a server return fewer bytes than asked.
    ///
    /// When every source fails the answer is NFS3ERR_IO, whatever each said
    /// (a source that lost the file is not a missing name to the client),
    /// except for the namespace's own "gone" and "not ready yet".
    func read(_ args: READ3Args, eventLoop: any EventLoop, logger: Logger) -> EventLoopFuture<READ3Result> {
        let snapshot = self.store.current
        let node: NamespaceNode
        do {
            node = try self.resolve(args.file, in: snapshot)
        } catch {
            return eventLoop.makeSucceededFuture(.failure(error, fileAttributes: .none))
        }
        let attributes = self.postOpAttributes(of: node)
        switch node.kind {
        case .directory:
            return eventLoop.makeSucceededFuture(.failure(NFS3Status(FileSystemError.isDirectory), fileAttributes: attributes))
        case .symlink:
            return eventLoop.makeSucceededFuture(.failure(NFS3Status(FileSystemError.invalidArgument), fileAttributes: attributes))
        case .regular:
            break
        }

        let count = Int(min(args.count, self.configuration.maximumReadSize))
        if count == 0 || args.offset >= node.size {
            // Nothing to fetch: answer without bothering a (possibly remote) source.
            let isEndOfFile = args.offset >= node.size
            return eventLoop.makeSucceededFuture(
                .ok(fileAttributes: attributes, count: 0, isEndOfFile: isEndOfFile, data: .bytes(ByteBuffer()))
            )
        }

        let configuration = self.configuration
        let offset = args.offset
        return snapshot.read(node, offset: offset, count: count, forSending: true, eventLoop: eventLoop)
            .map { result -> READ3Result in
                let data = result.content.prefix(count)
                let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
                let isEndOfFile = result.isEndOfFile || overflow || end >= result.version.size
                return .ok(
                    fileAttributes: PostOpAttributes(FileAttributes3(node: node, configuration: configuration, version: result.version)),
                    count: UInt32(data.count),
                    isEndOfFile: isEndOfFile,
                    data: data
                )
            }
            .recover { error in
                let failure: FileSystemError
                switch error as? FileSystemError {
                case .stale: failure = .stale
                case .notReady: failure = .notReady
                case .ioError(let cause): failure = .ioError(cause)
                default: failure = .ioError("\(error)")
                }
                logger.info("read failed", metadata: ["file": "\(node.fileID)", "offset": "\(offset)", "error": "\(failure)"])
                return .failure(NFS3Status(failure), fileAttributes: attributes)
            }
    }
}
