import MetricsTestKit
import NIOCore
import NIOEmbedded
import ONCRPC
import Testing

/// MeasuredProgram counts each call once under its version and procedure,
/// and an error for every failure, whatever the program answered.
@Suite struct MeasuredProgramTests {
    static func context(_ loop: EmbeddedEventLoop) -> RPCCallContext {
        RPCCallContext(
            eventLoop: loop, allocator: ByteBufferAllocator(), transport: .tcp, remoteAddress: nil, localAddress: nil,
            credentials: .none, connectionID: 1, logger: testLogger
        )
    }

    static func call(_ procedure: UInt32, version: UInt32 = 1, arguments: [UInt8] = []) -> RPCCall {
        RPCCall(xid: 1, program: ToyProgram.number, version: version, procedure: procedure, arguments: ByteBuffer(bytes: arguments))
    }

    static func counts(_ metrics: TestMetrics, _ version: String, _ procedure: String) throws -> (calls: Int64, errors: Int64) {
        let dimensions = [("program", "toy"), ("version", version), ("procedure", procedure)]
        let calls = try metrics.expectCounter(RPCProcedureCounters.operationsLabel, dimensions).totalValue
        let errors = try metrics.expectCounter(RPCProcedureCounters.errorsLabel, dimensions).totalValue
        return (calls, errors)
    }

    @Test func callsAndFailuresAreCountedByProcedure() throws {
        let metrics = TestMetrics()
        let loop = EmbeddedEventLoop()
        let pending = PendingCalls()
        // ECHO's results start with the echoed word: non-zero is "a failure status".
        let program = MeasuredProgram(
            ToyProgram(pending: pending), name: "toy",
            procedures: [0: "NULL", 1: "ECHO", 2: "PENDING", 4: "FAIL", 5: "GARBAGE"], factory: metrics
        ) { procedure, results in
            procedure == 1 && MeasuredProgram.statusWordIsFailure(results)
        }
        let context = Self.context(loop)

        _ = program.handle(Self.call(0), context: context)
        _ = program.handle(Self.call(0), context: context)
        _ = program.handle(Self.call(1, arguments: [0, 0, 0, 0]), context: context)
        _ = program.handle(Self.call(1, arguments: [0, 0, 0, 70]), context: context)
        _ = program.handle(Self.call(5), context: context)
        _ = program.handle(Self.call(4), context: context)
        _ = program.handle(Self.call(9), context: context)
        loop.run()

        #expect(try Self.counts(metrics, "1", "NULL") == (2, 0))
        #expect(try Self.counts(metrics, "1", "ECHO") == (2, 1))
        #expect(try Self.counts(metrics, "1", "GARBAGE") == (1, 1))
        #expect(try Self.counts(metrics, "1", "FAIL") == (1, 1), "a failed future is an error")
        #expect(try Self.counts(metrics, "1", "UNKNOWN") == (1, 1), "PROC_UNAVAIL for a number with no name")

        // A pending call counts when it completes, not before.
        _ = program.handle(Self.call(2), context: context)
        #expect(try Self.counts(metrics, "1", "PENDING") == (0, 0))
        for promise in pending.takeAll() { promise.succeed(.systemError) }
        loop.run()
        #expect(try Self.counts(metrics, "1", "PENDING") == (1, 1))
    }

    @Test func eachVersionHasItsOwnCounters() throws {
        let metrics = TestMetrics()
        let loop = EmbeddedEventLoop()
        let program = MeasuredProgram(ToyProgram(versions: 1...2), name: "toy", procedures: [0: "NULL"], factory: metrics)
        _ = program.handle(Self.call(0, version: 2), context: Self.context(loop))
        #expect(try Self.counts(metrics, "2", "NULL") == (1, 0))
        #expect(try Self.counts(metrics, "1", "NULL") == (0, 0))
    }

    @Test func procedureNamesAreSpelledAsInTheRFCs() {
        #expect(RPCProcedureCounters.name("readdirplus") == "READDIRPLUS")
        #expect(RPCProcedureCounters.name("exchangeID") == "EXCHANGE_ID")
        #expect(RPCProcedureCounters.name("testMessage") == "TEST_MESSAGE")
        #expect(RPCProcedureCounters.name("setSSV") == "SET_SSV")
        #expect(RPCProcedureCounters.name("null") == "NULL")
    }
}
