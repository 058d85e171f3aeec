import NFS3
import NIOCore
import ONCRPC
import Testing

@testable import NFS4
import ProgramTestSupport

/// NFSv3 and NFSv4.1 share program 100003 on one listener: the dispatcher
/// routes by version, and without v4.1 a v4 call is PROG_MISMATCH (3, 3).
@Suite struct DispatchTests {
    func call(version: UInt32) -> RPCCall {
        RPCCall(xid: 1, program: 100_003, version: version, procedure: 0)
    }

    @Test func bothVersionsRouteToTheirPrograms() async {
        let harness = await NFS4Harness.standard()
        let v3 = NFSv3Program(store: harness.store, configuration: TestNamespace.configuration)
        let dispatcher = RPCDispatcher(programs: [v3, harness.program])
        guard case .deliver(let program, _) = dispatcher.route(self.call(version: 4)) else { Issue.record("v4 refused"); return }
        #expect(program is NFSv4Program)
        guard case .deliver(let other, _) = dispatcher.route(self.call(version: 3)) else { Issue.record("v3 refused"); return }
        #expect(other is NFSv3Program)
        guard case .refuse(let header) = dispatcher.route(self.call(version: 2)) else { Issue.record("v2 delivered"); return }
        #expect(header.status == .accepted(verifier: .none, status: .programMismatch(low: 3, high: 4)))
    }

    @Test func withoutV41AV4CallIsProgramMismatchAsBefore() async {
        let store = await TestNamespace.makeStore()
        let dispatcher = RPCDispatcher(programs: [NFSv3Program(store: store, configuration: TestNamespace.configuration)])
        guard case .refuse(let header) = dispatcher.route(self.call(version: 4)) else { Issue.record("v4 delivered"); return }
        #expect(header.status == .accepted(verifier: .none, status: .programMismatch(low: 3, high: 3)))
    }
}
