import NIOCore
import Namespace

extension NFSv4Program {
    /// READ (RFC 8881 §18.22) through the same source fail-over as NFSv3:
    /// the snapshot tries each source of the file in turn, on the event
    /// loop's futures (no blocking). Counts above the maximum are capped,
    /// which RFC 8881 allows (a short read is not end of file).
    /// `forSending`: the data goes to the socket as it is (see
    /// `NamespaceSnapshot.read(_:offset:count:forSending:eventLoop:)`).
    func read(
        stateID: StateID4, offset: UInt64, count: UInt32, forSending: Bool = false, _ context: inout CompoundContext,
        eventLoop: any EventLoop
    ) throws(NFS4Status) -> PendingRead {
        let node = try context.currentNode()
        switch node.kind {
        case .regular: break
        case .directory: throw .isDirectory
        case .symlink: throw .invalid
        }
        let resolved = try context.resolve(stateID)
        if !resolved.isSpecial {
            let client = try context.requireClient()
            try self.withState { state throws(NFS4Status) in
                try state.checkRead(resolved, file: node.fileID, clientID: client)
            }
        }
        let capped = Int(min(count, self.configuration.presentation.maximumReadSize))
        if capped == 0 || offset >= node.size {
            // Nothing to fetch: no need to bother a (possibly remote) source.
            return PendingRead(future: eventLoop.makeSucceededFuture((.bytes(ByteBuffer()), offset >= node.size)))
        }
        let future = context.snapshot.read(node, offset: offset, count: capped, forSending: forSending, eventLoop: eventLoop)
            .map { result -> (FileContent, Bool) in
                let data = result.content.prefix(capped)
                let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
                return (data, result.isEndOfFile || overflow || end >= result.version.size)
            }
            .flatMapErrorThrowing { error -> (FileContent, Bool) in
                switch error as? FileSystemError {
                case .stale: throw NFS4Status.stale
                case .notReady: throw NFS4Status.delay
                default: throw NFS4Status.io
                }
            }
        return PendingRead(future: future)
    }
}
