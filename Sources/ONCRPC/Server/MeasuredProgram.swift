import CoreMetrics
import NIOCore

/// A program whose calls and failures are counted by version and procedure
/// (`RPCProcedureCounters`), for the daemon's metrics.
///
/// A call failed when the RPC reply is not SUCCESS (GARBAGE_ARGS,
/// PROC_UNAVAIL, SYSTEM_ERR, an authentication error) or when
/// `failed` finds a failure status in the results, such as an nfsstat3
/// other than NFS3_OK. Counters are looked up by index, made at init.
public struct MeasuredProgram: RPCProgram {
    public let measured: any RPCProgram
    public var program: UInt32 { self.measured.program }
    public var versions: ClosedRange<UInt32> { self.measured.versions }

    /// Per version (offset from the lowest), per procedure number; the
    /// last element of each counts procedure numbers with no name.
    private let counters: [[RPCProcedureCounters]]
    private let failed: @Sendable (_ procedure: UInt32, _ results: ByteBuffer) -> Bool

    /// - Parameters:
    ///   - name: the `program` label ("nfs", "mount", "nlm").
    ///   - versionLabel: the `version` label of each version served.
    ///   - procedures: names by procedure number.
    ///   - failed: whether successful results carry a failure status (the
    ///     buffer starts at the results, after the reply header).
    ///   - factory: the bootstrapped backend unless a test passes its own.
    public init(
        _ program: any RPCProgram,
        name: String,
        versionLabel: (UInt32) -> String = { "\($0)" },
        procedures: [UInt32: String],
        factory: any MetricsFactory = MetricsSystem.factory,
        failed: @escaping @Sendable (_ procedure: UInt32, _ results: ByteBuffer) -> Bool = { _, _ in false }
    ) {
        self.measured = program
        self.failed = failed
        let highest = procedures.keys.max() ?? 0
        self.counters = program.versions.map { version in
            let label = versionLabel(version)
            let unknown = RPCProcedureCounters(program: name, version: label, procedure: "UNKNOWN", factory: factory)
            var table = (0...highest).map { number in
                procedures[number].map { RPCProcedureCounters(program: name, version: label, procedure: $0, factory: factory) } ?? unknown
            }
            table.append(unknown)
            return table
        }
    }

    /// Whether an outcome counts as an error.
    public func isFailure(_ outcome: RPCOutcome, procedure: UInt32) -> Bool {
        guard case .success(let body) = outcome else { return true }
        return self.failed(procedure, body.head)
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        let response = self.measured.handle(call, context: context)
        let table = self.counters[Int(call.version - self.measured.versions.lowerBound)]
        let counters = call.procedure < table.count - 1 ? table[Int(call.procedure)] : table[table.count - 1]
        switch response {
        case .done(let outcome):
            counters.record(failed: self.isFailure(outcome, procedure: call.procedure))
        case .pending(let future):
            let procedure = call.procedure
            future.whenComplete { result in
                switch result {
                case .success(let outcome): counters.record(failed: self.isFailure(outcome, procedure: procedure))
                case .failure: counters.record(failed: true)
                }
            }
        }
        return response
    }

    public func connectionClosed(_ connectionID: UInt64) {
        self.measured.connectionClosed(connectionID)
    }
}

extension MeasuredProgram {
    /// Whether results start with a non-zero status word: true of every
    /// NFSv3 procedure but NULL, of MNT and of COMPOUND.
    public static func statusWordIsFailure(_ results: ByteBuffer) -> Bool {
        guard let status = results.getInteger(at: results.readerIndex, endianness: .big, as: UInt32.self) else { return false }
        return status != 0
    }
}
