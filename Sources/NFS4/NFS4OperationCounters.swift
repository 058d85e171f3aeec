import CoreMetrics
import ONCRPC

/// Each NFSv4.1 operation's calls and failures (a status other than
/// NFS4_OK), counted under version "4.1" next to the NFSv3 procedures; and
/// the file bytes READ sent. Made once per program, looked up by opcode.
struct NFS4OperationCounters: Sendable {
    private let table: [RPCProcedureCounters]
    let readBytes: Counter

    init(factory: any MetricsFactory) {
        self.readBytes = Counter(label: "p2pfs_nfs_read_bytes_total", dimensions: [("version", "4.1")], factory: factory)
        let illegal = RPCProcedureCounters(program: "nfs", version: "4.1", procedure: "ILLEGAL", factory: factory)
        let highest = NFS4OperationCode.allCases.filter { $0 != .illegal }.map(\.rawValue).max()!
        self.table = (0...highest).map { number in
            NFS4OperationCode(rawValue: number).map {
                RPCProcedureCounters(program: "nfs", version: "4.1", procedure: RPCProcedureCounters.name("\($0)"), factory: factory)
            } ?? illegal
        } + [illegal]
    }

    func record(_ code: NFS4OperationCode, status: NFS4Status) {
        let index = Int(code.rawValue) < self.table.count - 1 ? Int(code.rawValue) : self.table.count - 1
        self.table[index].record(failed: status != .ok)
    }
}
