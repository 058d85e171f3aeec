import Logging
import NIOCore
import Namespace
import ONCRPC
import XDR

/// What one COMPOUND carries from operation to operation (RFC 8881 §16.2.3).
struct CompoundContext {
    let snapshot: NamespaceSnapshot
    let fileSystem: FileSystemAttributes4
    let isReady: Bool
    /// The caller as far as client records go: AUTH_SYS uid and gid.
    let principal: String
    var currentFileHandle: FileID?
    var savedFileHandle: FileID?
    var currentStateID: StateID4?
    /// Set by SEQUENCE: the client and slot this COMPOUND runs in, and
    /// whether the client asked for the reply to be cached.
    var clientID: UInt64?
    var slot: (session: SessionID4, slot: UInt32, cacheThis: Bool)?
    /// Set when the first operation was not SEQUENCE (EXCHANGE_ID,
    /// CREATE_SESSION...) or DESTROY_SESSION ended this COMPOUND's own
    /// session: nothing may follow (NFS4ERR_NOT_ONLY_OP).
    var mustBeLast = false
    /// The largest reply the session allows, and the largest it caches
    /// when SEQUENCE asked for caching (RFC 8881 §18.46.3).
    var replyLimit = Int.max
    var cachedReplyLimit = Int.max

    /// The status an operation gets if its result would make the reply
    /// longer than the session allows, or nil when it fits.
    func replyLimitStatus(size: Int) -> NFS4Status? {
        if size > self.replyLimit { return .replyTooBig }
        if size > self.cachedReplyLimit { return .replyTooBigToCache }
        return nil
    }
    /// The status an operation that did not throw ends with (LOCK's
    /// NFS4ERR_DENIED carries a body, so it is not thrown).
    var status: NFS4Status = .ok

    /// The node the current file handle names.
    func currentNode() throws(NFS4Status) -> NamespaceNode {
        guard let id = self.currentFileHandle else { throw .noFileHandle }
        return try self.node(id)
    }

    func node(_ id: FileID) throws(NFS4Status) -> NamespaceNode {
        if let node = self.snapshot.node(id) { return node }
        // Right after a restart the namespace may not know the file yet.
        throw self.isReady ? .stale : .delay
    }

    func attributes(of node: NamespaceNode) -> FileAttributes4 {
        FileAttributes4(node: node, fileSystem: self.fileSystem)
    }

    /// The client the COMPOUND's SEQUENCE named.
    func requireClient() throws(NFS4Status) -> UInt64 {
        guard let clientID = self.clientID else { throw .operationNotInSession }
        return clientID
    }

    /// Replaces "the current stateid" (seqid 1, other zero) by the one the
    /// previous operation produced.
    func resolve(_ stateID: StateID4) throws(NFS4Status) -> StateID4 {
        guard stateID == .current else { return stateID }
        guard let current = self.currentStateID else { throw .badStateID }
        return current
    }
}

/// An operation's outcome when it needs I/O (READ).
struct PendingRead {
    var future: EventLoopFuture<(FileContent, Bool)>
}

extension NFSv4Program {
    /// Runs a COMPOUND: operations in order until one fails (RFC 8881
    /// §15.2). SEQUENCE first makes it exactly-once through the slot's
    /// reply cache; a few session-creating operations may run alone.
    func compound(_ args: COMPOUND4Args, digest: Int, requestSize: Int, context rpc: RPCCallContext) -> RPCResponse {
        var results = rpc.allocator.buffer(capacity: 512)
        var count: UInt32 = 0
        guard args.minorVersion == 1 else {
            return .done(.success(self.reply(status: .minorVersionMismatch, args, results, count: 0, rpc)))
        }
        guard args.declaredCount <= COMPOUND4Args.maximumOperations else {
            return .done(.success(self.reply(status: .tooManyOperations, args, results, count: 0, rpc)))
        }
        let snapshot = self.store.current
        var context = CompoundContext(
            snapshot: snapshot, fileSystem: self.fileSystemAttributes(snapshot), isReady: self.store.isReady,
            principal: Self.principal(rpc.credentials)
        )
        let now = self.clock()
        guard let operation = args.operations.first else {
            return .done(self.finish(.ok, args, results, count: 0, bulk: nil, context: context, rpc))
        }
        var body = rpc.allocator.buffer(capacity: 128)
        var status = NFS4Status.ok
        if case .sequence(let sequence) = operation {
            do {
                // The slot, the client and the channel limits under one
                // acquisition of the state lock.
                let (outcome, client, channel) = try self.withState({ state throws(NFS4Status) in
                    let outcome = try state.sequence(
                        sequence, operationCount: Int(args.declaredCount), requestDigest: digest, requestSize: requestSize, now: now
                    )
                    return (outcome, state.clientID(of: sequence.sessionID), state.foreChannel(of: sequence.sessionID))
                })
                switch outcome {
                case .replay(let cached):
                    var head = rpc.makeResultBuffer(capacity: cached.readableBytes)
                    head.writeImmutableBuffer(cached)
                    return .done(.success(RPCResultBody(head: head)))
                case .execute(let result):
                    result.encode(into: &body)
                    context.clientID = client
                    context.slot = (sequence.sessionID, sequence.slotID, sequence.cacheThis)
                    if let channel {
                        context.replyLimit = Int(channel.maximumResponseSize)
                        if sequence.cacheThis { context.cachedReplyLimit = Int(channel.maximumResponseSizeCached) }
                    }
                }
            } catch {
                status = error
            }
        } else {
            status = Self.sessionlessCheck(operation, count: args.declaredCount)
            if status == .ok {
                status = self.execute(operation, &context, &body, now: now)
            }
            context.mustBeLast = true
        }
        self.appendResult(operation.code, status: status, body: body, to: &results, count: &count)
        guard status == .ok else {
            return .done(self.finish(status, args, results, count: count, bulk: nil, context: context, rpc))
        }
        return self.run(args, from: 1, results, count: count, context: context, now: now, rpc: rpc)
    }

    /// Runs the operations from `start` on, synchronously until a READ,
    /// which continues (recursively) when its data arrives.
    private func run(
        _ args: COMPOUND4Args, from start: Int, _ results: ByteBuffer, count: UInt32, context: CompoundContext, now: NIODeadline,
        rpc: RPCCallContext
    ) -> RPCResponse {
        var results = results
        var count = count
        var context = context
        var status = NFS4Status.ok
        var index = start
        while index < args.operations.count {
            let operation = args.operations[index]
            var body = rpc.allocator.buffer(capacity: 128)
            context.status = .ok
            if context.mustBeLast {
                status = .notOnlyOperation
            } else if case .sequence = operation {
                status = .sequencePosition
            } else if case .read(let stateID, let offset, let readCount) = operation {
                do {
                    // Data that goes out last, and into no reply cache, may
                    // stay in the page cache until the socket sends it.
                    let forSending = index == args.operations.count - 1 && !(context.slot?.cacheThis ?? false)
                    let pending = try self.read(
                        stateID: stateID, offset: offset, count: readCount, forSending: forSending, &context, eventLoop: rpc.eventLoop
                    )
                    return .pending(self.readContinuation(pending, args, index: index, results, count: count, context: context, now: now, rpc: rpc))
                } catch {
                    status = error
                }
            } else {
                status = self.execute(operation, &context, &body, now: now)
            }
            if let tooBig = context.replyLimitStatus(size: Self.replySize(args, results, body: body)) { status = tooBig }
            self.appendResult(operation.code, status: status, body: body, to: &results, count: &count)
            if status != .ok { break }
            index += 1
        }
        return .done(self.finish(status, args, results, count: count, bulk: nil, context: context, rpc))
    }

    /// What follows a READ at `index` once its data arrived: when READ is
    /// last its data goes out after everything else, uncopied; otherwise it
    /// is copied into its result and the COMPOUND goes on.
    private func readContinuation(
        _ pending: PendingRead, _ args: COMPOUND4Args, index: Int, _ results: ByteBuffer, count: UInt32, context: CompoundContext,
        now: NIODeadline, rpc: RPCCallContext
    ) -> EventLoopFuture<RPCOutcome> {
        let isLast = index == args.operations.count - 1
        return pending.future.flatMap { data, isEndOfFile in
            var results = results
            var count = count
            var body = rpc.allocator.buffer(capacity: 8)
            body.writeXDRBool(isEndOfFile)
            body.writeXDRUInt32(UInt32(data.count))
            if !isLast {
                let bytes = data.loadedBytes()
                body.writeImmutableBuffer(bytes)
                body.writeXDRPadding(for: bytes.readableBytes)
            }
            let size = Self.replySize(args, results, body: body) + (isLast ? data.count + 3 : 0)
            if let tooBig = context.replyLimitStatus(size: size) {
                self.appendResult(.read, status: tooBig, body: nil, to: &results, count: &count)
                return rpc.eventLoop.makeSucceededFuture(self.finish(tooBig, args, results, count: count, bulk: nil, context: context, rpc))
            }
            self.appendResult(.read, status: .ok, body: body, to: &results, count: &count)
            self.operationCounters.readBytes.increment(by: data.count)
            if isLast {
                return rpc.eventLoop.makeSucceededFuture(self.finish(.ok, args, results, count: count, bulk: data, context: context, rpc))
            }
            switch self.run(args, from: index + 1, results, count: count, context: context, now: now, rpc: rpc) {
            case .done(let outcome): return rpc.eventLoop.makeSucceededFuture(outcome)
            case .pending(let future): return future
            }
        }
        .recover { error in
            var results = results
            var count = count
            let status = (error as? NFS4Status) ?? .io
            self.appendResult(.read, status: status, body: nil, to: &results, count: &count)
            return self.finish(status, args, results, count: count, bulk: nil, context: context, rpc)
        }
    }

    static func principal(_ credentials: RPCCredentials) -> String {
        switch credentials {
        case .none: "none"
        case .sys(let parameters): "sys:\(parameters.uid):\(parameters.gid)"
        }
    }

    /// Which operations may start a COMPOUND without SEQUENCE, and alone.
    static func sessionlessCheck(_ operation: NFS4Operation, count: UInt32) -> NFS4Status {
        switch operation {
        case .exchangeID: return .ok
        case .createSession, .destroySession, .bindConnectionToSession, .destroyClientID:
            return count == 1 ? .ok : .notOnlyOperation
        case .illegal: return .operationIllegal
        case .undecodable: return .badXDR
        default: return .operationNotInSession
        }
    }

    /// The COMPOUND4res length once `body` is appended to `results`: the
    /// RPC reply header, status, tag, count, and each result's opcode and
    /// status.
    static func replySize(_ args: COMPOUND4Args, _ results: ByteBuffer, body: ByteBuffer) -> Int {
        RPCReplyHeader.successHeaderLength + 12 + args.tag.readableBytes + 3 + results.readableBytes + 8 + body.readableBytes
    }

    /// Appends one operation's result, and counts it.
    func appendResult(
        _ code: NFS4OperationCode, status: NFS4Status, body: ByteBuffer?, to results: inout ByteBuffer, count: inout UInt32
    ) {
        self.operationCounters.record(code, status: status)
        results.writeXDRUInt32(code.rawValue)
        results.writeXDRUInt32(status.rawValue)
        if let body, status == .ok || status == .denied {
            results.writeImmutableBuffer(body)
        }
        count += 1
    }

    /// COMPOUND4res: the last status, the tag, the results; cached in the
    /// slot when SEQUENCE asked for it.
    private func finish(
        _ status: NFS4Status, _ args: COMPOUND4Args, _ results: ByteBuffer, count: UInt32, bulk: FileContent?,
        context: CompoundContext, _ rpc: RPCCallContext
    ) -> RPCOutcome {
        let body = self.reply(status: status, args, results, count: count, rpc, bulk: bulk)
        if let slot = context.slot {
            // Only a reply the client asked to be cached is copied whole (a
            // READ's data included); any other just frees its slot.
            var cached = ByteBuffer()
            if slot.cacheThis {
                cached = ByteBuffer(buffer: body.head)
                if let bulk {
                    let bytes = bulk.loadedBytes()
                    cached.writeImmutableBuffer(bytes)
                    cached.writeXDRPadding(for: bytes.readableBytes)
                }
            }
            self.state.withLockedValue { $0.complete(session: slot.session, slot: slot.slot, reply: cached) }
        }
        return .success(body)
    }

    private func reply(
        status: NFS4Status, _ args: COMPOUND4Args, _ results: ByteBuffer, count: UInt32, _ rpc: RPCCallContext, bulk: FileContent? = nil
    ) -> RPCResultBody {
        var head = rpc.makeResultBuffer(capacity: results.readableBytes + args.tag.readableBytes + 16)
        head.writeXDRUInt32(status.rawValue)
        head.writeXDRVariableOpaque(args.tag)
        head.writeXDRUInt32(count)
        head.writeImmutableBuffer(results)
        return RPCResultBody(head: head, bulk: bulk?.ioData, bulkOwner: bulk?.owner)
    }

    /// Runs one synchronous operation, writing its result body.
    func execute(_ operation: NFS4Operation, _ context: inout CompoundContext, _ body: inout ByteBuffer, now: NIODeadline) -> NFS4Status {
        do {
            try self.run(operation, &context, &body, now: now)
            return context.status
        } catch {
            body.clear()
            return error
        }
    }

    private func run(_ operation: NFS4Operation, _ context: inout CompoundContext, _ body: inout ByteBuffer, now: NIODeadline) throws(NFS4Status) {
        switch operation {
        case .sequence: throw .sequencePosition
        case .exchangeID(let args):
            let principal = context.principal
            let result = try self.withState { state throws(NFS4Status) in
                try state.exchangeID(args, principal: principal, now: now)
            }
            result.encode(into: &body)
        case .createSession(let args):
            let principal = context.principal
            let result = try self.withState { state throws(NFS4Status) in
                try state.createSession(args, principal: principal, now: now)
            }
            result.encode(into: &body)
        case .destroySession(let id):
            try self.withState { state throws(NFS4Status) in try state.destroySession(id) }
            if let slot = context.slot, slot.session == id { context.mustBeLast = true }
        case .bindConnectionToSession(let id):
            try self.withState { state throws(NFS4Status) in try state.bindConnection(to: id, now: now) }
            id.encode(into: &body)
            body.writeXDRUInt32(1)  // CDFS4_FORE: no back channel here
            body.writeXDRBool(false)
        case .destroyClientID(let id):
            try self.withState { state throws(NFS4Status) in try state.destroyClientID(id) }
        case .reclaimComplete(let oneFileSystem):
            let client = try context.requireClient()
            if oneFileSystem { _ = try context.currentNode() }
            try self.withState { state throws(NFS4Status) in
                try state.reclaimComplete(clientID: client, oneFileSystem: oneFileSystem)
            }
        case .backchannelControl:
            _ = try context.requireClient()
        case .testStateID(let stateIDs):
            let client = try context.requireClient()
            let statuses = self.state.withLockedValue { $0.testStateIDs(stateIDs, clientID: client) }
            body.writeXDRArray(statuses) { $0.writeXDRUInt32($1.rawValue) }
        case .freeStateID(let stateID):
            let client = try context.requireClient()
            let resolved = try context.resolve(stateID)
            try self.withState { state throws(NFS4Status) in try state.freeStateID(resolved, clientID: client) }
        case .putrootfh, .putpubfh:
            context.currentFileHandle = context.snapshot.root.fileID
        case .putfh(let bytes):
            let id = try NFS4FileHandle.fileID(bytes)
            _ = try context.node(id)
            context.currentFileHandle = id
            context.currentStateID = nil
        case .getfh:
            let node = try context.currentNode()
            NFS4FileHandle.encode(node.fileID, into: &body)
        case .savefh:
            _ = try context.currentNode()
            context.savedFileHandle = context.currentFileHandle
        case .restorefh:
            guard let saved = context.savedFileHandle else { throw .restoreFileHandle }
            context.currentFileHandle = saved
        case .lookup(let name): try self.lookup(name, &context)
        case .lookupp: try self.lookupParent(&context)
        case .getattr(let mask): try self.getattr(mask, &context, &body)
        case .verify(let attributes): try self.verify(attributes, expectSame: true, &context)
        case .nverify(let attributes): try self.verify(attributes, expectSame: false, &context)
        case .access(let requested): try self.access(requested, &context, &body)
        case .readlink: try self.readlink(&context, &body)
        case .readdir(let args): try self.readdir(args, &context, &body)
        case .secinfo(let name): try self.secinfo(name: name, &context, &body)
        case .secinfoNoName(let parent):
            if parent { try self.lookupParent(&context) }
            try self.secinfo(name: nil, &context, &body)
        case .open(let args): try self.open(args, &context, &body)
        case .close(let stateID): try self.close(stateID, &context, &body)
        case .openDowngrade(let args): try self.openDowngrade(args, &context, &body)
        case .lock(let args): try self.lock(args, &context, &body)
        case .lockt(let args): try self.lockTest(args, &context, &body)
        case .locku(let args): try self.unlock(args, &context, &body)
        case .delegReturn:
            // No delegation is ever granted, so none can be returned.
            _ = try context.requireClient()
            throw .badStateID
        case .read:
            throw .serverFault  // handled by `compound`
        case .refused(_, let status):
            // Modifying operations still need a file handle to refuse.
            if status == .readOnlyFileSystem { _ = try context.currentNode() }
            throw status
        case .illegal: throw .operationIllegal
        case .undecodable: throw .badXDR
        }
    }
}
