import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Namespace
import ONCRPC
import XDR

/// NFS version 4.1 (RFC 8881, program 100003 version 4) over a
/// `NamespaceStore`, read-only.
///
/// Procedure 0 is NULL, procedure 1 COMPOUND. This file routes; the
/// COMPOUND loop is in `NFSv4Program+Compound.swift`, each operation in
/// `Operations/` and the server's state in `State/`.
public struct NFSv4Program: RPCProgram {
    public static let programNumber: UInt32 = 100_003

    public var program: UInt32 { Self.programNumber }
    public var versions: ClosedRange<UInt32> { 4...4 }

    public let store: NamespaceStore
    public let configuration: NFS4Configuration
    let state: NIOLockedValueBox<NFS4State>
    let clock: @Sendable () -> NIODeadline
    let operationCounters: NFS4OperationCounters

    /// `boot` distinguishes this instance's client IDs and stateids from a
    /// previous one's (pass the start time in seconds). Operations are
    /// counted through `metricsFactory` (tests pass their own).
    public init(
        store: NamespaceStore, configuration: NFS4Configuration, boot: UInt32,
        clock: @escaping @Sendable () -> NIODeadline = { NIODeadline.now() },
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.operationCounters = NFS4OperationCounters(factory: metricsFactory)
        self.store = store
        self.configuration = configuration
        self.state = NIOLockedValueBox(
            NFS4State(boot: boot, serverOwner: configuration.serverOwner, lease: configuration.lease, limits: configuration.limits)
        )
        self.clock = clock
    }

    /// A copy of the server's state as it is now: its counts show the
    /// tables stay within `configuration.limits` (fuzzing, status).
    public var currentState: NFS4State {
        self.state.withLockedValue { $0 }
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        switch call.procedure {
        case 0:
            return .done(.success(RPCResultBody(head: context.makeResultBuffer(capacity: 0))))
        case 1:
            var arguments = call.arguments
            let digest = Self.digest(arguments)
            let size = arguments.readableBytes
            guard let compound = try? COMPOUND4Args(xdr: &arguments) else { return .done(.garbageArguments) }
            return self.compound(compound, digest: digest, requestSize: size, context: context)
        default:
            return .done(.procedureUnavailable)
        }
    }

    /// Identifies a request's bytes, to tell a retransmission in a slot
    /// from a different request (NFS4ERR_SEQ_FALSE_RETRY).
    static func digest(_ arguments: ByteBuffer) -> Int {
        var hasher = Hasher()
        arguments.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
        return hasher.finalize()
    }

    /// Values shared by every node's attributes, from the current snapshot.
    func fileSystemAttributes(_ snapshot: NamespaceSnapshot) -> FileSystemAttributes4 {
        let presentation = self.configuration.presentation
        return FileSystemAttributes4(
            fsid: presentation.fsid, uid: presentation.uid, gid: presentation.gid,
            leaseSeconds: UInt32(self.configuration.lease.nanoseconds / 1_000_000_000),
            maximumRead: presentation.maximumReadSize, maximumWrite: presentation.maximumWriteSize,
            filesTotal: UInt64(snapshot.count), spaceTotal: snapshot.totalFileBytes
        )
    }
}

extension NFSv4Program {
    /// Runs `body` on the state under its lock, keeping the typed error.
    func withState<T>(_ body: (inout NFS4State) throws(NFS4Status) -> T) throws(NFS4Status) -> T {
        let result = self.state.withLockedValue { state -> Result<T, NFS4Status> in
            do throws(NFS4Status) {
                return .success(try body(&state))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
