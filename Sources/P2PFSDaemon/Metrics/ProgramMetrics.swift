import NFS3
import NFS4
import ONCRPC

/// How each NFS-side program's calls are named and judged for the
/// `p2pfs_nfs_operations_total` and `p2pfs_nfs_errors_total` counters.
///
/// Errors are RPC-level failures, plus a failure status where the results
/// start with one: every NFSv3 procedure but NULL, MOUNT's MNT, NFSv4.1
/// COMPOUND (whose operations NFSv4Program counts one by one). NLM's
/// answers (a lock denied, say) are outcomes, not errors.
enum ProgramMetrics {
    static func measure(_ program: any RPCProgram) -> any RPCProgram {
        switch program {
        case is NFSv3Program:
            return MeasuredProgram(program, name: "nfs", procedures: Self.names(NFS3Procedure.self)) { procedure, results in
                procedure != NFS3Procedure.null.rawValue && MeasuredProgram.statusWordIsFailure(results)
            }
        case is MountProgram:
            return MeasuredProgram(program, name: "mount", procedures: Self.names(MountProcedure.self)) { procedure, results in
                procedure == MountProcedure.mnt.rawValue && MeasuredProgram.statusWordIsFailure(results)
            }
        case is NLMProgram:
            return MeasuredProgram(program, name: "nlm", procedures: Self.names(NLMProcedure.self))
        case is NFSv4Program:
            return MeasuredProgram(program, name: "nfs", versionLabel: { _ in "4.1" }, procedures: [0: "NULL", 1: "COMPOUND"]) {
                procedure, results in procedure == 1 && MeasuredProgram.statusWordIsFailure(results)
            }
        default:
            return program
        }
    }

    private static func names<P: RawRepresentable & CaseIterable>(_: P.Type) -> [UInt32: String] where P.RawValue == UInt32 {
        Dictionary(uniqueKeysWithValues: P.allCases.map { ($0.rawValue, RPCProcedureCounters.name("\($0)")) })
    }
}
