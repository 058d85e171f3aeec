import CTIRPC
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a registration with the system rpcbind failed.
public enum SystemRPCBindError: Error, Equatable, CustomStringConvertible {
    /// /etc/netconfig has no entry for the network identifier.
    case netconfigUnavailable(netid: String)
    /// The registration's host is not an IP address libtirpc can convert.
    case invalidAddress(String)
    /// No rpcbind could be reached (libtirpc's reason attached).
    case unreachable(reason: String)
    /// rpcbind answered, and refused the mapping.
    case refused(PortmapRegistration)
    /// rpcbind did not finish within the timeout (the blocked thread finishes on its own).
    case timedOut(seconds: Int64)
    /// The thread pool that runs the blocking calls is shut down.
    case threadPoolInactive

    public var description: String {
        switch self {
        case .netconfigUnavailable(let netid):
            "cannot register with rpcbind: /etc/netconfig has no \"\(netid)\" entry"
        case .invalidAddress(let host):
            "cannot register with rpcbind: \"\(host)\" is not an IP address"
        case .unreachable(let reason):
            "cannot register with rpcbind: no rpcbind answered (\(reason)); start it (systemctl start rpcbind) or use portmap mode 'embedded'"
        case .refused(let registration):
            "rpcbind refused to register \(registration) (registering needs root, and the mapping must not belong to another service)"
        case .timedOut(let seconds):
            "rpcbind did not answer a registration within \(seconds) s"
        case .threadPoolInactive:
            "cannot register with rpcbind: the thread pool is shut down"
        }
    }
}

/// Registers services with a running system rpcbind through libtirpc, so
/// `mount -t nfs localhost:/ ...` finds them when rpcbind owns port 111.
///
/// libtirpc's calls block (up to its fixed 60 s call timeout), so they run on
/// `threadPool`, never on an event loop. They reach the rpcbind of the calling
/// thread's namespaces: first its UNIX socket /run/rpcbind.sock (mount
/// namespace), then TCP to the loopback address (network namespace).
///
/// rpcbind refuses a SET for a (program, version, netid) that is already
/// mapped. With `ConflictPolicy.replace` (the default) the old mapping is
/// removed and the SET repeated, as servers do at startup, so a mapping left
/// behind by a crashed run does not block the next one.
public struct SystemRPCBindRegistration: Sendable {
    public enum ConflictPolicy: Sendable {
        case fail
        case replace
    }

    public var threadPool: NIOThreadPool
    public var conflictPolicy: ConflictPolicy
    /// How long `register`/`unregister` wait for one blocking call.
    public var timeout: Duration

    public init(threadPool: NIOThreadPool = .singleton, conflictPolicy: ConflictPolicy = .replace, timeout: Duration = .seconds(10)) {
        self.threadPool = threadPool
        self.conflictPolicy = conflictPolicy
        self.timeout = timeout
    }

    /// Registers every mapping; on failure the ones already made are removed again.
    public func register(_ registrations: [PortmapRegistration]) async throws(SystemRPCBindError) {
        var done: [PortmapRegistration] = []
        for registration in registrations {
            do {
                try await self.run { [conflictPolicy] () throws(SystemRPCBindError) in
                    try Self.registerBlocking(registration, conflictPolicy: conflictPolicy)
                }
                done.append(registration)
            } catch {
                for made in done.reversed() {
                    _ = try? await self.unregister(made)
                }
                throw error
            }
        }
    }

    /// Removes a mapping. Returns rpcbind's answer; rpcbind 1.2 answers true
    /// even when there was nothing to remove.
    @discardableResult
    public func unregister(_ registration: PortmapRegistration) async throws(SystemRPCBindError) -> Bool {
        try await self.run { () throws(SystemRPCBindError) in try Self.unregisterBlocking(registration) }
    }

    /// Removes every mapping, continuing past failures; throws the first one.
    public func unregister(_ registrations: [PortmapRegistration]) async throws(SystemRPCBindError) {
        var firstError: SystemRPCBindError?
        for registration in registrations {
            do {
                try await self.unregister(registration)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: Blocking calls (run on the calling thread)

    /// `rpcb_set` with the netconfig of the registration's netid, falling back
    /// to `pmap_set` for IPv4 when the netconfig or rpcbind's version 3/4 path fails.
    public static func registerBlocking(_ registration: PortmapRegistration, conflictPolicy: ConflictPolicy = .replace) throws(SystemRPCBindError) {
        guard let address = registration.universalAddress else { throw .invalidAddress(registration.host) }
        let program = registration.program
        let version = registration.version

        guard let netconfig = getnetconfigent(registration.netid) else {
            guard !address.isIPv6 else { throw .netconfigUnavailable(netid: registration.netid) }
            try self.pmapSetBlocking(registration, conflictPolicy: conflictPolicy)
            return
        }
        defer { freenetconfigent(netconfig) }
        guard let transportAddress = uaddr2taddr(netconfig, address.description) else {
            throw .invalidAddress(registration.host)
        }
        defer {
            free(transportAddress.pointee.buf)
            free(transportAddress)
        }

        let first = withoutSIGPIPE { Self.attempt { rpcb_set(program, version, netconfig, transportAddress) } }
        switch first {
        case .accepted:
            return
        case .unreachable(let reason):
            guard !address.isIPv6 else { throw .unreachable(reason: reason) }
            try self.pmapSetBlocking(registration, conflictPolicy: conflictPolicy)
            return
        case .rejected:
            guard conflictPolicy == .replace else { throw .refused(registration) }
        }
        let second = withoutSIGPIPE {
            _ = rpcb_unset(program, version, netconfig)
            return Self.attempt { rpcb_set(program, version, netconfig, transportAddress) }
        }
        switch second {
        case .accepted: return
        case .rejected: throw .refused(registration)
        case .unreachable(let reason): throw .unreachable(reason: reason)
        }
    }

    /// `rpcb_unset` for the registration's netid (`pmap_unset`, which removes
    /// both IPv4 protocols, when the netconfig is missing or rpcbind's version
    /// 3/4 path fails). Returns rpcbind's answer (see `unregister`).
    public static func unregisterBlocking(_ registration: PortmapRegistration) throws(SystemRPCBindError) -> Bool {
        let program = registration.program
        let version = registration.version
        guard let netconfig = getnetconfigent(registration.netid) else {
            guard !registration.host.contains(":") else { throw .netconfigUnavailable(netid: registration.netid) }
            return try self.pmapUnsetBlocking(registration)
        }
        defer { freenetconfigent(netconfig) }
        switch withoutSIGPIPE({ Self.attempt { rpcb_unset(program, version, netconfig) } }) {
        case .accepted:
            return true
        case .rejected:
            return false
        case .unreachable(let reason):
            guard !registration.host.contains(":") else { throw .unreachable(reason: reason) }
            return try self.pmapUnsetBlocking(registration)
        }
    }

    private static func pmapSetBlocking(_ registration: PortmapRegistration, conflictPolicy: ConflictPolicy) throws(SystemRPCBindError) {
        let program = UInt(registration.program)
        let version = UInt(registration.version)
        let proto = Int32(registration.protocol.rawValue)
        let port = Int32(registration.port)
        let result = withoutSIGPIPE {
            let first = Self.attempt { pmap_set(program, version, proto, port) }
            guard case .rejected = first, conflictPolicy == .replace else { return first }
            _ = pmap_unset(program, version)
            return Self.attempt { pmap_set(program, version, proto, port) }
        }
        switch result {
        case .accepted: return
        case .rejected: throw .refused(registration)
        case .unreachable(let reason): throw .unreachable(reason: reason)
        }
    }

    private static func pmapUnsetBlocking(_ registration: PortmapRegistration) throws(SystemRPCBindError) -> Bool {
        let program = UInt(registration.program)
        let version = UInt(registration.version)
        switch withoutSIGPIPE({ Self.attempt { pmap_unset(program, version) } }) {
        case .accepted: return true
        case .rejected: return false
        case .unreachable(let reason): throw .unreachable(reason: reason)
        }
    }

    private enum Attempt {
        case accepted
        /// rpcbind answered FALSE (or the call itself failed after connecting:
        /// libtirpc does not tell those apart).
        case rejected
        /// No client to rpcbind could be created.
        case unreachable(String)
    }

    /// Runs one libtirpc call, telling "rpcbind said no" from "no rpcbind"
    /// by the thread's `rpc_createerr`, which is set only when creating a
    /// client fails. libtirpc tries rpcbind's UNIX socket before TCP, so with
    /// an rpcbind reachable over TCP only, a refusal reads as unreachable
    /// (with the UNIX socket's error as the reason).
    private static func attempt(_ body: () -> bool_t) -> Attempt {
        let createError = __rpc_createerr()!
        createError.pointee.cf_stat = RPC_SUCCESS
        if body() != 0 { return .accepted }
        let status = createError.pointee.cf_stat
        guard status != RPC_SUCCESS else { return .rejected }
        var reason = clnt_sperrno(status).map { String(cString: $0) } ?? "RPC error \(status.rawValue)"
        if status == RPC_SYSTEMERROR || status == RPC_UNKNOWNHOST || status == RPC_CANTSEND || status == RPC_CANTRECV {
            let errnoValue = createError.pointee.cf_error.ru.RE_errno
            if errnoValue != 0 { reason += ": \(String(cString: strerror(errnoValue)))" }
        }
        return .unreachable(reason)
    }

    // MARK: Running off the event loops

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws(SystemRPCBindError) -> T) async throws(SystemRPCBindError) -> T {
        let result = await withBoundedWait(self.timeout) { [threadPool] () async -> Result<T, SystemRPCBindError> in
            do {
                return try await threadPool.runIfActive { () throws -> Result<T, SystemRPCBindError> in
                    do throws(SystemRPCBindError) { return .success(try body()) } catch { return .failure(error) }
                }
            } catch {
                return .failure(.threadPoolInactive)
            }
        }
        guard let result else {
            throw .timedOut(seconds: self.timeout.components.seconds)
        }
        return try result.get()
    }
}

/// Runs `body` in an unstructured task and returns its value, or nil when
/// `timeout` passes first (the task then finishes unobserved).
func withBoundedWait<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    let waiter = OnceContinuation<T?>()
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        waiter.set(continuation)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            waiter.resume(returning: nil)
        }
        Task {
            let value = await body()
            waiter.resume(returning: value)
            timer.cancel()
        }
    }
}

/// A continuation resumed by whichever of several tasks comes first.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(returning value: T) {
        self.continuation.withLock { $0.take() }?.resume(returning: value)
    }
}

/// Runs `body` with SIGPIPE blocked on this thread and discards one raised
/// meanwhile: libtirpc writes to sockets that rpcbind may have closed, and
/// the default SIGPIPE action would end the daemon.
func withoutSIGPIPE<T>(_ body: () -> T) -> T {
    var block = sigset_t()
    var previous = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &block, &previous)
    defer {
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 && sigismember(&previous, SIGPIPE) == 0 {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            sigtimedwait(&block, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
    return body()
}
