import Logging
import NIOCore
import Namespace
import ONCRPC
import Synchronization
import XDR

/// The Network Lock Manager, version 4 (program 100021): `fcntl` and
/// `flock` locks taken on the mount.
///
/// A client mounted without `-o nolock` sends its locks here (the kernel
/// finds the port through rpcbind, like MOUNT's). NFSv3 clients speak
/// version 4 only; versions 1 to 3 go with NFSv2, which p2pfs does not serve.
/// On the mounting machine the kernel's own lockd, started by the first NFS
/// mount, removes every 100021 registration from rpcbind and registers
/// itself (versions 1, 3 and 4): the version 4 mapping must be p2pfs's again
/// before the kernel's locks reach this program.
///
/// Locks are advisory and local to this daemon: they coordinate the
/// programs using this mount (all of this machine's, since the server is on
/// loopback), not other machines. The table lives in memory and is empty
/// after a restart; while the namespace is still being gathered (the grace
/// period) only reclaims are granted.
///
/// This file only routes. The procedures are in `NLMLocking.swift`,
/// `NLMShares.swift` and `NLMNotifications.swift`; the GRANTED callback and
/// the asynchronous `_RES` replies are sent by `NLMCallbacks.swift`.
public final class NLMProgram: RPCProgram {
    public static let programNumber: UInt32 = 100_021

    public var program: UInt32 { Self.programNumber }
    public var versions: ClosedRange<UInt32> { 4...4 }

    public let store: NamespaceStore
    let callbacks: any NLMCallbackSending
    let table: Mutex<NLMLockTable>

    /// - Parameters:
    ///   - callbacks: sends GRANTED and the `_RES` messages to clients' lock
    ///     managers; by default over TCP, found through the client's portmapper.
    ///   - limits: bounds on the lock table, against a client that locks in a loop.
    public init(store: NamespaceStore, callbacks: (any NLMCallbackSending)? = nil, limits: NLMLockTable.Limits = .init()) {
        self.store = store
        self.callbacks = callbacks ?? NLMRPCCallbacks()
        self.table = Mutex(NLMLockTable(limits: limits))
    }

    /// A copy of the lock table as it is now (for tests and diagnostics).
    public var snapshot: NLMLockTable {
        self.table.withLock { $0 }
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        guard let procedure = NLMProcedure(rawValue: call.procedure) else {
            return .done(.procedureUnavailable)
        }
        let arguments = call.arguments
        switch procedure {
        case .null:
            return RPCResponse.answer(arguments, context) { (_: NLMVoid) in NLMVoid() }
        case .test:
            return RPCResponse.answer(arguments, context) { (args: NLM4TestArgs) in self.test(args) }
        case .lock:
            return RPCResponse.answer(arguments, context) { (args: NLM4LockArgs) in self.lock(args, context: context) }
        case .cancel:
            return RPCResponse.answer(arguments, context) { (args: NLM4CancelArgs) in self.cancel(args) }
        case .unlock:
            return RPCResponse.answer(arguments, context) { (args: NLM4UnlockArgs) in self.unlock(args, context: context) }
        case .granted:
            return RPCResponse.answer(arguments, context) { (args: NLM4TestArgs) in self.granted(args) }
        case .nmLock:
            return RPCResponse.answer(arguments, context) { (args: NLM4LockArgs) in self.nmLock(args, context: context) }

        // The asynchronous requests: the same work, the result sent back as
        // a call of the matching _RES procedure; the reply itself is void.
        case .testMessage:
            return self.message(arguments, context, reply: .testResult) { (args: NLM4TestArgs) in self.test(args) }
        case .lockMessage:
            return self.message(arguments, context, reply: .lockResult) { (args: NLM4LockArgs) in self.lock(args, context: context) }
        case .cancelMessage:
            return self.message(arguments, context, reply: .cancelResult) { (args: NLM4CancelArgs) in self.cancel(args) }
        case .unlockMessage:
            return self.message(arguments, context, reply: .unlockResult) { (args: NLM4UnlockArgs) in
                self.unlock(args, context: context)
            }
        case .grantedMessage:
            return self.message(arguments, context, reply: .grantedResult) { (args: NLM4TestArgs) in self.granted(args) }

        // Results of asynchronous requests. p2pfs sends none (its GRANTED
        // callback is synchronous), so there is nothing to match them with.
        case .testResult:
            return RPCResponse.answer(arguments, context) { (_: NLM4TestResult) in NLMVoid() }
        case .lockResult, .cancelResult, .unlockResult, .grantedResult:
            return RPCResponse.answer(arguments, context) { (_: NLM4Result) in NLMVoid() }

        case .statusMonitorNotify:
            return RPCResponse.answer(arguments, context) { (args: NLM4StatusMonitorNotify) in
                self.statusMonitorNotify(args, context: context)
            }
        case .share:
            return RPCResponse.answer(arguments, context) { (args: NLM4ShareArgs) in self.share(args) }
        case .unshare:
            return RPCResponse.answer(arguments, context) { (args: NLM4ShareArgs) in self.unshare(args) }
        case .freeAll:
            return RPCResponse.answer(arguments, context) { (args: NLM4Notify) in self.freeAll(args, context: context) }
        }
    }

    /// Runs a `_MSG` request and sends its result to the caller as a call
    /// of `reply`; the RPC reply itself is void and does not wait for that.
    private func message<Arguments: XDRDecodable, Result: XDREncodable>(
        _ arguments: ByteBuffer,
        _ context: RPCCallContext,
        reply: NLMProcedure,
        _ procedure: (Arguments) -> Result
    ) -> RPCResponse {
        var arguments = arguments
        guard let decoded = try? Arguments(xdr: &arguments) else {
            return .done(.garbageArguments)
        }
        self.sendResult(procedure(decoded), as: reply, context: context)
        return .done(.success(RPCResultBody(head: context.makeResultBuffer(capacity: 0))))
    }
}

/// The procedure numbers of NLM version 4.
public enum NLMProcedure: UInt32, Sendable, CaseIterable {
    case null = 0
    case test = 1
    case lock = 2
    case cancel = 3
    case unlock = 4
    case granted = 5
    case testMessage = 6
    case lockMessage = 7
    case cancelMessage = 8
    case unlockMessage = 9
    case grantedMessage = 10
    case testResult = 11
    case lockResult = 12
    case cancelResult = 13
    case unlockResult = 14
    case grantedResult = 15
    /// Linux-private: rpc.statd telling its lock manager that a host restarted.
    case statusMonitorNotify = 16
    case share = 20
    case unshare = 21
    case nmLock = 22
    case freeAll = 23
}
