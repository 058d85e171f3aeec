import Logging
import NIOCore
import NIOPosix
import ONCRPC
import RPCBind
import Testing

/// `PortmapLookup` against a portmapper on a loopback port of the test's
/// own: the registered port, 0 for nothing registered, a change seen on the
/// same connection, and a clean failure once the portmapper is gone.
@Suite struct PortmapLookupTests {
    @Test func asksThePortmapperWhereAProgramIs() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let program = PortmapProgram(
            registry: PortmapRegistry(entries: [
                // 127.0.0.1, port 8 * 256 + 1 = 2049.
                PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "127.0.0.1.8.1", owner: "p2pfs")
            ])
        )
        let server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [program]), group: group,
            logger: DaemonConfigurationTests.logger
        )
        let lookup = try await PortmapLookup.connect(
            host: "127.0.0.1", port: server.localAddress.port!, group: group, logger: DaemonConfigurationTests.logger
        )
        #expect(try await lookup.port(program: 100_003, version: 3, protocol: .tcp) == 2049)
        #expect(try await lookup.port(program: 100_003, version: 3, protocol: .udp) == 0)
        #expect(try await lookup.port(program: 100_021, version: 4, protocol: .tcp) == 0)

        // Another service takes the program over: seen on the same connection.
        _ = program.withRegistry { registry in
            _ = registry.unset(program: 100_003, version: 3, netid: "tcp", caller: "superuser")
            return registry.set(PortmapEntry(program: 100_003, version: 3, netid: "tcp", address: "127.0.0.1.3.233", owner: "other"))
        }
        #expect(try await lookup.port(program: 100_003, version: 3, protocol: .tcp) == 3 * 256 + 233)
        #expect(lookup.isActive)

        await server.close()
        await #expect(throws: RPCClientError.self) {
            try await lookup.port(program: 100_003, version: 3, protocol: .tcp)
        }
        lookup.close()
        #expect(!lookup.isActive)
    }
}
