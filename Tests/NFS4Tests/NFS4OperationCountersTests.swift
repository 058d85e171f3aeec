import MetricsTestKit
import NIOCore
import ONCRPC
import Testing

import ProgramTestSupport

/// Each NFSv4.1 operation of a COMPOUND counts once under its own name,
/// with an error when its status is not NFS4_OK; READ counts its bytes.
@Suite struct NFS4OperationCountersTests {
    static func counts(_ metrics: TestMetrics, _ operation: String) throws -> (calls: Int64, errors: Int64) {
        let dimensions = [("program", "nfs"), ("version", "4.1"), ("procedure", operation)]
        return (
            try metrics.expectCounter(RPCProcedureCounters.operationsLabel, dimensions).totalValue,
            try metrics.expectCounter(RPCProcedureCounters.errorsLabel, dimensions).totalValue
        )
    }

    @Test func operationsAndTheirFailuresAreCountedByName() async throws {
        let metrics = TestMetrics()
        let harness = NFS4Harness(store: await TestNamespace.makeStore(), metricsFactory: metrics)
        let (_, session) = try harness.createSession()

        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.add(ClientCompound.putrootfh)
        compound.add(ClientCompound.lookup) { $0.putString("movies") }
        compound.add(ClientCompound.lookup) { $0.putString("absent") }
        compound.add(ClientCompound.getfh)  // not reached: the COMPOUND stops at the failure
        #expect(try harness.call(compound).status == Status4.noEntry)

        #expect(try Self.counts(metrics, "EXCHANGE_ID") == (1, 0))
        #expect(try Self.counts(metrics, "CREATE_SESSION") == (1, 0))
        #expect(try Self.counts(metrics, "SEQUENCE") == (1, 0))
        #expect(try Self.counts(metrics, "PUTROOTFH") == (1, 0))
        #expect(try Self.counts(metrics, "LOOKUP") == (2, 1))
        #expect(try Self.counts(metrics, "GETFH") == (0, 0))
    }

    @Test func readCountsTheBytesSent() async throws {
        let metrics = TestMetrics()
        let harness = NFS4Harness(store: await TestNamespace.makeStore(), metricsFactory: metrics)
        let (_, session) = try harness.createSession()

        var compound = NFS4Harness.sequenced(session, sequenceID: 1)
        compound.putfh("docs/readme.txt")
        // The anonymous stateid (all zeros) reads without an OPEN.
        compound.add(ClientCompound.read) { $0.writeBytes([UInt8](repeating: 0, count: 16)); $0.putU64(0); $0.putU32(100) }
        #expect(try harness.call(compound).status == Status4.ok)

        #expect(try Self.counts(metrics, "READ") == (1, 0))
        let bytes = try metrics.expectCounter("p2pfs_nfs_read_bytes_total", [("version", "4.1")]).totalValue
        #expect(bytes == Int64("hello, world\n".utf8.count))
    }
}
