import CTIRPC
import Foundation
import NIOCore
import NIOPosix
import ONCRPC
import RPCBind
import TestPrerequisites
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A stand-in NFS server: program 100003 version 3, NULL only.
struct FakeNFS: RPCProgram {
    let program: UInt32 = 100_003
    let versions: ClosedRange<UInt32> = 3...3
    func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        call.procedure == 0 ? .done(.success(RPCResultBody(head: context.makeResultBuffer()))) : .done(.procedureUnavailable)
    }
}

/// Port 111 for real, inside network namespaces these tests create and delete.
///
/// The embedded portmapper binds 127.0.0.1:111 from a thread that entered
/// the namespace, and the stock tools (`rpcinfo`, libtirpc's `pmap_getport`
/// and `pmap_getmaps`) query it there. For registration, Debian's `rpcbind`
/// runs in the namespace with its own /run, and `SystemRPCBindRegistration`
/// runs its libtirpc calls on a thread that sees the same /run (so they go
/// through rpcbind's UNIX socket, as on a real host) and the same network.
@Suite(
    "Port 111 inside a private network namespace",
    .serialized,
    .timeLimit(.minutes(2)),
    .requires(.networkNamespaces)
)
struct NetworkNamespaceTests {
    static let registrations = [
        PortmapRegistration(program: 100_005, version: 3, protocol: .tcp, port: 20048),
        PortmapRegistration(program: 100_005, version: 3, protocol: .udp, port: 20048),
    ]

    /// Runs `body` with a fresh namespace and a thread inside it; removes both.
    static func withNamespace(
        runDirectory: String? = nil,
        _ body: (TestNetworkNamespace, NamespaceThread) async throws -> Void
    ) async throws {
        let namespace = try TestNetworkNamespace()
        defer { namespace.remove() }
        let thread = try await NamespaceThread(namespace: namespace, runDirectory: runDirectory)
        do {
            // Nothing below may create a socket unless the thread is really inside.
            let inside = try await thread.run { currentThreadNetworkNamespace() }
            try #require(inside != nil && inside == namespace.inode && inside != currentThreadNetworkNamespace())
            try await body(namespace, thread)
        } catch {
            await thread.shutdown()
            throw error
        }
        await thread.shutdown()
    }

    @Test(.requires(.rpcinfo)) func embeddedPortmapperOnPort111AnswersTheStockTools() async throws {
        try await Self.withNamespace { namespace, thread in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { shutdownInBackground(group) }

            // Before: nothing answers, and the port is free.
            let before = try await thread.run { await SystemRPCBindProbe().probe(group: group, logger: testLogger) }
            #expect(before == .init(portmapperAnswers: false, portAvailability: .free))
            #expect(try PortmapPlan.decide(mode: .auto, probe: before, nfsPort: 0, mountPort: 20048).action == .startEmbedded)

            // A stand-in NFS server on an ephemeral port, registered like the daemon would.
            let nfs = try await thread.run {
                try await RPCServer.start(
                    configuration: .init(host: "127.0.0.1", port: 0), dispatcher: RPCDispatcher(programs: [FakeNFS()]),
                    group: group, logger: testLogger
                )
            }
            let nfsPort = UInt16(nfs.localAddress.port!)
            let portmapper = try await thread.run {
                try await EmbeddedPortmapper.start(
                    configuration: .init(host: "127.0.0.1", port: 111),
                    registrations: Self.registrations + [PortmapRegistration(program: 100_003, version: 3, protocol: .tcp, port: nfsPort)],
                    group: group, logger: testLogger
                )
            }

            let after = try await thread.run { await SystemRPCBindProbe().probe(group: group, logger: testLogger) }
            #expect(after == .init(portmapperAnswers: true, portAvailability: .inUse))

            // rpcinfo -p: PMAP version 2 DUMP over TCP.
            let dump = try namespace.exec("rpcinfo -p 127.0.0.1")
            #expect(dump.status == 0, "\(dump.output)")
            let rows = Set(dump.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") })
            for row in [
                "100000 2 tcp 111 portmapper", "100000 4 udp 111 portmapper",
                "100005 3 tcp 20048 mountd", "100005 3 udp 20048 mountd", "100003 3 tcp \(nfsPort) nfs",
            ] {
                #expect(rows.contains(row), "missing \"\(row)\" in:\n\(dump.output)")
            }

            // rpcinfo -s: rpcbind version 4 DUMP, with owners.
            let summary = try namespace.exec("rpcinfo -s 127.0.0.1")
            #expect(summary.status == 0, "\(summary.output)")
            let summaryRows = Set(summary.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") })
            #expect(summaryRows.contains("100000 4,3,2 udp,tcp portmapper superuser"), "\(summary.output)")
            #expect(summaryRows.contains("100005 3 udp,tcp mountd p2pfs"), "\(summary.output)")

            // rpcinfo -l: version 4 GETADDRLIST.
            let list = try namespace.exec("rpcinfo -l 127.0.0.1 100005 3")
            #expect(list.status == 0, "\(list.output)")
            #expect(list.output.contains("127.0.0.1.78.80"), "\(list.output)")

            // rpcinfo -t/-u: address lookup through the portmapper, then a NULL call to the service.
            let pingNFS = try namespace.exec("rpcinfo -t 127.0.0.1 nfs 3")
            #expect(pingNFS.output.contains("program 100003 version 3 ready and waiting"), "\(pingNFS.output)")
            let pingSelf = try namespace.exec("rpcinfo -u 127.0.0.1 portmapper")
            for version in 2...4 {
                #expect(pingSelf.output.contains("program 100000 version \(version) ready and waiting"), "\(pingSelf.output)")
            }

            // libtirpc's PMAP client calls, from the thread inside the namespace.
            let (udpPort, maps) = try await thread.pool.runIfActive { () -> (UInt16, Int) in
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let port = pmap_getport(&address, 100_005, 3, u_int(IPPROTO_UDP))
                var count = 0
                var node = pmap_getmaps(&address)
                while let current = node, count < 100 {
                    count += 1
                    node = current.pointee.pml_next
                }
                return (port, count)
            }
            #expect(udpPort == 20048)
            #expect(maps == 9)

            await portmapper.close()
            await nfs.close()
        }
    }

    @Test(.requires(.rpcbind, .rpcinfo)) func registrationWithASystemRPCBind() async throws {
        // rpcbind's own /run (socket, lock file, state), shared with the registering thread.
        let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-rpcbind-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: runDirectory) }

        try await Self.withNamespace(runDirectory: runDirectory) { namespace, thread in
            let rpcbind = Process()
            rpcbind.executableURL = URL(fileURLWithPath: TestNetworkNamespace.ip)
            rpcbind.arguments = ["netns", "exec", namespace.name, "/bin/sh", "-c", "mount --bind '\(runDirectory)' /run && exec /usr/sbin/rpcbind -f"]
            rpcbind.standardInput = FileHandle.nullDevice
            rpcbind.standardOutput = FileHandle.nullDevice
            rpcbind.standardError = FileHandle.nullDevice
            try rpcbind.run()
            defer {
                rpcbind.terminate()
                for _ in 0..<50 where rpcbind.isRunning { usleep(100_000) }
                if rpcbind.isRunning { kill(rpcbind.processIdentifier, SIGKILL) }
                rpcbind.waitUntilExit()
            }
            var ready = false
            for _ in 0..<100 where !ready {
                ready = FileManager.default.fileExists(atPath: runDirectory + "/rpcbind.sock")
                    && (try? namespace.exec("rpcinfo -p 127.0.0.1", timeout: .seconds(5)).status) == 0
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            try #require(ready, "rpcbind did not come up in the namespace")

            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { shutdownInBackground(group) }
            let probe = try await thread.run { await SystemRPCBindProbe().probe(group: group, logger: testLogger) }
            #expect(probe == .init(portmapperAnswers: true, portAvailability: .inUse))
            #expect(try PortmapPlan.decide(mode: .auto, probe: probe, nfsPort: 2049, mountPort: 20048).action == .registerWithSystem)

            let registration = SystemRPCBindRegistration(threadPool: thread.pool, conflictPolicy: .fail)
            try await registration.register(Self.registrations)
            let shown = try namespace.exec("rpcinfo -p 127.0.0.1")
            #expect(shown.output.contains("100005    3   tcp  20048  mountd"), "\(shown.output)")
            #expect(shown.output.contains("100005    3   udp  20048  mountd"), "\(shown.output)")
            // Through rpcbind's UNIX socket as root: owned by "superuser".
            let owners = try namespace.exec("rpcinfo -s 127.0.0.1")
            #expect(owners.output.split(separator: "\n").contains { $0.split(separator: " ").joined(separator: " ") == "100005 3 udp,tcp mountd superuser" }, "\(owners.output)")

            // Taken (program, version, netid): refused, or replaced.
            let moved = PortmapRegistration(program: 100_005, version: 3, protocol: .tcp, port: 20049)
            await #expect(throws: SystemRPCBindError.refused(moved)) { try await registration.register([moved]) }
            var replacing = registration
            replacing.conflictPolicy = .replace
            try await replacing.register([moved])
            #expect(try namespace.exec("rpcinfo -p 127.0.0.1").output.contains("100005    3   tcp  20049  mountd"))

            // Unregistering removes them. (rpcbind 1.2 answers TRUE to an
            // UNSET that finds nothing, so a second one is only "no error".)
            #expect(try await registration.unregister(moved))
            #expect(try await registration.unregister(Self.registrations[1]))
            _ = try await registration.unregister(moved)
            #expect(try !namespace.exec("rpcinfo -p 127.0.0.1").output.contains("100005"))

            // With rpcbind gone: a clear error, and no hang.
            rpcbind.terminate()
            for _ in 0..<50 where rpcbind.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let started = ContinuousClock.now
            await #expect {
                try await registration.register(Self.registrations)
            } throws: { error in
                guard case SystemRPCBindError.unreachable = error else { return false }
                return true
            }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
