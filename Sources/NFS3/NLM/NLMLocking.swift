import NIOCore
import Namespace
import ONCRPC

/// TEST, LOCK, NM_LOCK, CANCEL, UNLOCK and GRANTED.
extension NLMProgram {
    /// Whether new locks may be granted: not while the namespace is still
    /// being gathered at start-up, the lock manager's grace period, when
    /// only reclaims of locks held before a restart are accepted.
    var isInGracePeriod: Bool { !self.store.isReady }

    /// The p2pfs handle a lock names.
    ///
    /// A handle that is not a p2pfs handle, or names nothing in the
    /// namespace, is stale. With `allowUnknown`, a well-formed handle that
    /// names nothing is accepted: releasing what is held on a file that
    /// disappeared, and reclaiming during the grace period, when the file
    /// may just not be known yet.
    func resolve(_ bytes: [UInt8], allowUnknown: Bool = false) throws(NLM4Status) -> NFS3FileHandle {
        guard let handle = NFS3FileHandle(bytes: ByteBuffer(bytes: bytes)) else { throw .staleFileHandle }
        guard allowUnknown || self.store.current.node(handle.fileID) != nil else { throw .staleFileHandle }
        return handle
    }

    func test(_ args: NLM4TestArgs) -> NLM4TestResult {
        guard !self.isInGracePeriod else { return NLM4TestResult(cookie: args.cookie, status: .deniedGracePeriod) }
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.lock.fileHandle)
        } catch {
            return NLM4TestResult(cookie: args.cookie, status: error)
        }
        let request = NLMLockRequest(file: file, owner: args.lock.owner, range: args.lock.range, exclusive: args.exclusive)
        guard let holder = self.table.withLock({ $0.test(request) }) else {
            return NLM4TestResult(cookie: args.cookie, status: .granted)
        }
        return NLM4TestResult(cookie: args.cookie, status: .denied, holder: NLM4Holder(holder))
    }

    func lock(_ args: NLM4LockArgs, context: RPCCallContext) -> NLM4Result {
        NLM4Result(cookie: args.cookie, status: self.lockStatus(args, blocking: args.block, context: context))
    }

    /// NM_LOCK: a LOCK from a client that runs no status monitor. It never
    /// blocks (the protocol says so: the server could not tell the client).
    func nmLock(_ args: NLM4LockArgs, context: RPCCallContext) -> NLM4Result {
        NLM4Result(cookie: args.cookie, status: self.lockStatus(args, blocking: false, context: context))
    }

    private func lockStatus(_ args: NLM4LockArgs, blocking: Bool, context: RPCCallContext) -> NLM4Status {
        let inGrace = self.isInGracePeriod
        // Reclaims are granted in and after the grace period: the table is
        // empty after a restart, so a reclaim conflicts only with locks
        // taken since, which the table catches like any other conflict.
        guard !inGrace || args.reclaim else { return .deniedGracePeriod }
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.lock.fileHandle, allowUnknown: inGrace)
        } catch {
            return error
        }
        let request = NLMLockRequest(file: file, owner: args.lock.owner, range: args.lock.range, exclusive: args.exclusive)
        let waiter = blocking
            ? NLMBlockedLock(request: request, cookie: args.cookie, fileHandle: args.lock.fileHandle, callback: Self.callbackAddress(context))
            : nil
        let (outcome, granted) = self.table.withLock { $0.lock(request, blocking: blocking, waiter: waiter) }
        self.notifyGranted(granted, context: context)
        switch outcome {
        case .granted: return .granted
        case .denied: return .denied
        case .blocked: return .blocked
        case .noLocks:
            context.logger.warning("NLM: lock table full; refusing a lock", metadata: ["owner": "\(request.owner)"])
            return .deniedNoLocks
        }
    }

    /// CANCEL: withdraws a blocked LOCK. Answered NLM4_GRANTED whether or not
    /// it was still queued, as the Linux server does: the client cancels
    /// when it stops waiting, and there is nothing else to tell it.
    func cancel(_ args: NLM4CancelArgs) -> NLM4Result {
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.lock.fileHandle, allowUnknown: true)
        } catch {
            return NLM4Result(cookie: args.cookie, status: error)
        }
        let request = NLMLockRequest(file: file, owner: args.lock.owner, range: args.lock.range, exclusive: args.exclusive)
        self.table.withLock { _ = $0.cancel(request) }
        return NLM4Result(cookie: args.cookie, status: .granted)
    }

    /// UNLOCK: releases the range (and grants what waited for it). Accepted
    /// in the grace period, since it only frees. A file that left the
    /// namespace can still be unlocked; NLM4_STALE_FH goes only to a handle
    /// that names nothing and holds nothing.
    func unlock(_ args: NLM4UnlockArgs, context: RPCCallContext) -> NLM4Result {
        let file: NFS3FileHandle
        do {
            file = try self.resolve(args.lock.fileHandle, allowUnknown: true)
        } catch {
            return NLM4Result(cookie: args.cookie, status: error)
        }
        let owner = args.lock.owner
        let (heldSomething, granted) = self.table.withLock { table in
            let held = table.locks(on: file).contains { $0.owner == owner }
                || table.waiters(on: file).contains { $0.request.owner == owner }
            return (held, table.unlock(file: file, owner: owner, range: args.lock.range))
        }
        self.notifyGranted(granted, context: context)
        if !heldSomething, self.store.current.node(file.fileID) == nil, !self.isInGracePeriod {
            return NLM4Result(cookie: args.cookie, status: .staleFileHandle)
        }
        return NLM4Result(cookie: args.cookie, status: .granted)
    }

    /// GRANTED is the server's callback to a client. p2pfs is the server and
    /// never blocks on anyone's lock, so there is nothing to grant: answered
    /// NLM4_DENIED, as a client lock manager answers a GRANTED it did not wait for.
    func granted(_ args: NLM4TestArgs) -> NLM4Result {
        NLM4Result(cookie: args.cookie, status: .denied)
    }
}
