import CTIRPC
import Foundation
import NIOCore
import NIOPosix
import ONCRPC
import RPCBind
import TestPrerequisites
import Testing
import XDR

/// Runs a command with a time limit; returns its exit status and output.
func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(20)) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--kill-after=5", "\(timeout.components.seconds)", executable] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

let rpcinfoPath = "/usr/sbin/rpcinfo"

@Suite("Embedded portmapper on a loopback port", .timeLimit(.minutes(1)))
struct EmbeddedPortmapperTests {
    static let daemonRegistrations = [
        PortmapRegistration(program: 100_003, version: 3, protocol: .tcp, port: 2049),
        PortmapRegistration(program: 100_005, version: 3, protocol: .tcp, port: 20048),
        PortmapRegistration(program: 100_005, version: 3, protocol: .udp, port: 20048),
    ]

    static func withPortmapper<T>(_ body: (EmbeddedPortmapper, MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let portmapper: EmbeddedPortmapper
        do {
            portmapper = try await EmbeddedPortmapper.start(
                configuration: .init(host: "127.0.0.1", port: 0),
                registrations: Self.daemonRegistrations,
                group: group,
                logger: testLogger
            )
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        do {
            let result = try await body(portmapper, group)
            await portmapper.close()
            try await group.shutdownGracefully()
            return result
        } catch {
            await portmapper.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    @Test func registersItselfAndTheDaemonsServices() async throws {
        try await Self.withPortmapper { portmapper, _ in
            let port = UInt16(try #require(portmapper.localAddress.port))
            let own = "127.0.0.1.\(port >> 8).\(port & 0xFF)"
            let entries = portmapper.program.snapshot.entries
            #expect(entries.prefix(3).map(\.address) == ["0.0.0.0.8.1", "0.0.0.0.78.80", "0.0.0.0.78.80"])
            #expect(entries.prefix(3).allSatisfy { $0.owner == "p2pfs" })
            let selfEntries = entries.filter { $0.program == 100_000 }
            #expect(selfEntries.count == 6)
            #expect(Set(selfEntries.map { "\($0.version)/\($0.netid)" }) == ["2/tcp", "2/udp", "3/tcp", "3/udp", "4/tcp", "4/udp"])
            #expect(selfEntries.allSatisfy { $0.address == own && $0.owner == "superuser" })
        }
    }

    @Test func answersOverTCPWithTheProjectsClient() async throws {
        try await Self.withPortmapper { portmapper, group in
            let client = try await RPCClient.connect(to: portmapper.localAddress, group: group, logger: testLogger)
            defer { client.close() }
            var mapping = ByteBuffer()
            PortmapMapping(program: 100_003, version: 3, protocol: .tcp, port: 0).encode(into: &mapping)
            var port = try await client.call(program: 100_000, version: 2, procedure: 3, arguments: mapping, timeout: .seconds(5))
            #expect(try port.readXDRUInt32() == 2049)

            var dump = try await client.call(program: 100_000, version: 2, procedure: 4, timeout: .seconds(5))
            let maps = try XDRLinkedList.decode(PortmapMapping.self, from: &dump)
            #expect(maps.count == 9)
            #expect(maps.contains(PortmapMapping(program: 100_005, version: 3, protocol: .udp, port: 20048)))

            // A SET from this (loopback) connection is accepted and owned by "unknown".
            var set = ByteBuffer()
            PortmapMapping(program: 100_024, version: 1, protocol: .tcp, port: 4000).encode(into: &set)
            var accepted = try await client.call(program: 100_000, version: 2, procedure: 1, arguments: set, timeout: .seconds(5))
            #expect(try accepted.readXDRBool())
            #expect(portmapper.program.snapshot.lookup(program: 100_024, version: 1, netid: "tcp")?.owner == "unknown")

            var query = ByteBuffer()
            RPCBMapping(program: 100_005, version: 3, netid: "tcp", address: "", owner: "").encode(into: &query)
            var address = try await client.call(program: 100_000, version: 4, procedure: 3, arguments: query, timeout: .seconds(5))
            #expect(try address.readXDRString() == "127.0.0.1.78.80")
        }
    }

    @Test func servesAUnixSocketTooAndRemovesItOnClose() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-rpcbind-\(getpid()).sock").path
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let portmapper = try await EmbeddedPortmapper.start(
            configuration: .init(hosts: ["127.0.0.1"], port: 0, unixSocketPath: path),
            registrations: Self.daemonRegistrations, group: group, logger: testLogger
        )
        do {
            let client = try await RPCClient.connect(to: try SocketAddress(unixDomainSocketPath: path), group: group, logger: testLogger)
            defer { client.close() }
            var mapping = ByteBuffer()
            PortmapMapping(program: 100_003, version: 3, protocol: .tcp, port: 0).encode(into: &mapping)
            var port = try await client.call(program: 100_000, version: 2, procedure: 3, arguments: mapping, timeout: .seconds(5))
            #expect(try port.readXDRUInt32() == 2049)
            // A second portmapper does not take a socket that is being served.
            let second = try await EmbeddedPortmapper.start(
                configuration: .init(hosts: ["127.0.0.1"], port: 0, unixSocketPath: path), group: group, logger: testLogger
            )
            #expect(second.configuration.unixSocketPath == nil)
            await second.close()
            #expect(FileManager.default.fileExists(atPath: path))
        }
        await portmapper.close()
        #expect(!FileManager.default.fileExists(atPath: path))
        try await group.shutdownGracefully()
    }

    @Test func otherServicesRegistrationsSurviveARestart() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-portmap-\(getpid()).warm").path
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = EmbeddedPortmapper.Configuration(hosts: ["127.0.0.1"], port: 0, warmStartFile: file)
        let first = try await EmbeddedPortmapper.start(
            configuration: configuration, registrations: Self.daemonRegistrations, group: group, logger: testLogger
        )
        // rpc.statd registering itself, as it does once at start-up.
        let status = PortmapEntry(program: 100_024, version: 1, netid: "udp", address: "0.0.0.0.147.239", owner: "unknown")
        first.program.withRegistry { $0.set(status) }
        await first.close()
        #expect(FileManager.default.fileExists(atPath: file))

        let second = try await EmbeddedPortmapper.start(
            configuration: configuration, registrations: Self.daemonRegistrations, group: group, logger: testLogger
        )
        #expect(second.program.snapshot.lookup(program: 100_024, version: 1, netid: "udp") == status)
        #expect(second.program.snapshot.entries(program: 100_003, version: 3).count == 1)
        #expect(!FileManager.default.fileExists(atPath: file), "read once, then removed")
        await second.close()
        try? FileManager.default.removeItem(atPath: file)
        try await group.shutdownGracefully()
    }

    @Test func registerAndUnregisterWhileRunning() async throws {
        try await Self.withPortmapper { portmapper, _ in
            let nlm = PortmapRegistration(program: 100_021, version: 4, protocol: .tcp, port: 4045)
            #expect(portmapper.register(nlm))
            #expect(!portmapper.register(nlm))
            #expect(portmapper.program.snapshot.port(program: 100_021, version: 4, protocolNumber: 6) == 4045)
            #expect(portmapper.unregister(program: 100_021, version: 4, protocol: .tcp))
            #expect(!portmapper.unregister(program: 100_021, version: 4, protocol: .tcp))
            #expect(portmapper.program.snapshot.port(program: 100_021, version: 4, protocolNumber: 6) == 0)
        }
    }

    @Test(.requires(.rpcinfo))
    func rpcinfoPingsItOnTCPAndUDP() async throws {
        try await Self.withPortmapper { portmapper, _ in
            // rpcinfo's -n option still asks port 111 first; -a names the
            // service's universal address and goes straight there.
            let port = try #require(portmapper.localAddress.port)
            let universal = "127.0.0.1.\(port >> 8).\(port & 0xFF)"
            let tcp = try run(rpcinfoPath, ["-a", universal, "-T", "tcp", "100000", "2"])
            #expect(tcp.status == 0)
            #expect(tcp.output.contains("program 100000 version 2 ready and waiting"), "\(tcp.output)")
            let udp = try run(rpcinfoPath, ["-a", universal, "-T", "udp", "100000", "4"])
            #expect(udp.status == 0)
            #expect(udp.output.contains("program 100000 version 4 ready and waiting"), "\(udp.output)")
            // Without a version rpcinfo learns the range from PROG_MISMATCH and pings each.
            let all = try run(rpcinfoPath, ["-a", universal, "-T", "tcp", "100000"])
            #expect(all.status == 0)
            for version in 2...4 {
                #expect(all.output.contains("program 100000 version \(version) ready and waiting"), "\(all.output)")
            }
        }
    }

    @Test func invalidOrConflictingRegistrationsAreRefused() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        let bad = PortmapRegistration(program: 1, version: 1, protocol: .tcp, port: 1, host: "localhost")
        await #expect(throws: EmbeddedPortmapperError.invalidRegistration(bad)) {
            try await EmbeddedPortmapper.start(configuration: .init(host: "127.0.0.1", port: 0), registrations: [bad], group: group, logger: testLogger)
        }
        let twice = Self.daemonRegistrations[0]
        await #expect(throws: EmbeddedPortmapperError.invalidRegistration(twice)) {
            try await EmbeddedPortmapper.start(configuration: .init(host: "127.0.0.1", port: 0), registrations: [twice, twice], group: group, logger: testLogger)
        }
    }

    @Test func aTakenPortIsAddressInUse() async throws {
        try await Self.withPortmapper { portmapper, group in
            let port = try #require(portmapper.localAddress.port)
            await #expect(throws: EmbeddedPortmapperError.addressInUse(host: "127.0.0.1", port: port)) {
                try await EmbeddedPortmapper.start(configuration: .init(host: "127.0.0.1", port: port), group: group, logger: testLogger)
            }
        }
    }
}

@Suite("System rpcbind probe on loopback ports", .timeLimit(.minutes(1)))
struct SystemRPCBindProbeTests {
    /// A port that was free a moment ago (bound to port 0, then closed).
    static func releasedPort(group: any EventLoopGroup) async throws -> Int {
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    @Test func seesTheEmbeddedPortmapper() async throws {
        try await EmbeddedPortmapperTests.withPortmapper { portmapper, group in
            let probe = SystemRPCBindProbe(host: "127.0.0.1", port: try #require(portmapper.localAddress.port))
            #expect(await probe.probe(group: group, logger: testLogger) == .init(portmapperAnswers: true, portAvailability: .inUse))
        }
    }

    @Test func nothingListening() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        // A refused connection answers at once; a probe that waited for its
        // timeout instead would take the whole 40 s (the 20 s bound leaves
        // room for a loaded machine and still tells the two apart).
        let probe = SystemRPCBindProbe(host: "127.0.0.1", port: try await Self.releasedPort(group: group), timeout: .seconds(40))
        let started = ContinuousClock.now
        #expect(await probe.probe(group: group, logger: testLogger) == .init(portmapperAnswers: false, portAvailability: .free))
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func anotherRPCServiceIsNotAPortmapper() async throws {
        struct Other: RPCProgram {
            let program: UInt32 = 0x2000_0002
            let versions: ClosedRange<UInt32> = 1...1
            func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse { .done(.procedureUnavailable) }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        let server = try await RPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [Other()]), group: group, logger: testLogger
        )
        let probe = SystemRPCBindProbe(host: "127.0.0.1", port: server.localAddress.port!)
        #expect(await probe.portmapperAnswers(group: group, logger: testLogger) == false)
        #expect(probe.portAvailability() == .inUse)
        await server.close()
    }

    /// A listener that accepts and never answers: the probe gives up after its timeout.
    @Test func silentListenerTimesOut() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        let listener = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let probe = SystemRPCBindProbe(host: "127.0.0.1", port: listener.localAddress!.port!, timeout: .milliseconds(300))
        let started = ContinuousClock.now
        #expect(await probe.portmapperAnswers(group: group, logger: testLogger) == false)
        // Bounded by its timeout, not hanging: generous for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(20))
        try await listener.close()
    }

    @Test func portAvailabilityChecksTCPAndUDP() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        // Only UDP taken: still not free for a server that needs both.
        let udp = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = udp.localAddress!.port!
        #expect(SystemRPCBindProbe(host: "127.0.0.1", port: port).portAvailability() == .inUse)
        try await udp.close()
        #expect(SystemRPCBindProbe(host: "127.0.0.1", port: port).portAvailability() == .free)
        #expect(SystemRPCBindProbe(host: "not-an-ip", port: port).portAvailability() == .unknown("not-an-ip is not an IP address"))
    }
}

/// Shuts a group down without blocking the caller (for `defer` in async tests).
func shutdownInBackground(_ group: MultiThreadedEventLoopGroup) {
    group.shutdownGracefully { _ in }
}

@Suite("Embedded portmapper on IPv4 and IPv6 loopback", .timeLimit(.minutes(1)), .requires(.ipv6Loopback))
struct EmbeddedPortmapperDualStackTests {
    @Test func servesOneTableOnEveryHost() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { shutdownInBackground(group) }
        // ::1 binds here (the suite requires it), so any bind failure is a bug.
        let portmapper = try await EmbeddedPortmapper.start(
            configuration: .init(hosts: ["127.0.0.1", "::1"], port: 0),
            registrations: [PortmapRegistration(program: 100_003, version: 3, protocol: .tcp, port: 2049, host: "::")],
            group: group, logger: testLogger
        )
        let port = try #require(portmapper.localAddress.port)
        #expect(portmapper.localAddresses.map(\.port) == [port, port])
        let selfNetids = Set(portmapper.program.snapshot.entries.filter { $0.program == 100_000 }.map(\.netid))
        #expect(selfNetids == ["tcp", "udp", "tcp6", "udp6"])

        // Over IPv6, GETADDR finds the tcp6 mapping, merged with ::1.
        let client = try await RPCClient.connect(to: portmapper.localAddresses[1], group: group, logger: testLogger)
        var query = ByteBuffer()
        RPCBMapping(program: 100_003, version: 3, netid: "tcp6", address: "", owner: "").encode(into: &query)
        var address = try await client.call(program: 100_000, version: 4, procedure: 3, arguments: query, timeout: .seconds(5))
        #expect(try address.readXDRString() == "::1.8.1")
        client.close()
        await portmapper.close()
    }
}
