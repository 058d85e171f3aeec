import Logging
import Namespace
import NIOCore
import NIOPosix
import P2PFSDaemon
import PeerProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A configuration that cannot work is refused before anything runs, with
/// an error that names the setting and the problem (what `p2pfs` prints).
@Suite struct DaemonConfigurationTests {
    static let logger: Logger = {
        var logger = Logger(label: "daemon-test")
        logger.logLevel = .critical
        return logger
    }()

    static func refusal(_ configuration: DaemonConfiguration) -> DaemonConfigurationError? {
        do {
            let daemon = try Daemon(configuration: configuration, logger: Self.logger)
            Issue.record("accepted: \(daemon.identity)")
            Task { await daemon.stop() }
            return nil
        } catch {
            return error
        }
    }

    @Test func rolesFollowFromWhatIsGiven() {
        let plain = DaemonConfiguration(stateDirectory: "/unused")
        #expect(!plain.offersFiles && !plain.presentsNamespace)
        let server = DaemonConfiguration(exports: [LocalExport(name: "share", path: "/srv")], stateDirectory: "/unused")
        #expect(server.offersFiles && !server.presentsNamespace)
        let client = DaemonConfiguration(nfs: DaemonConfiguration.defaultNFSAddress, stateDirectory: "/unused")
        #expect(!client.offersFiles && client.presentsNamespace)
        #expect("\(DaemonConfiguration.defaultNFSAddress)" == "localhost:2049")
        #expect("\(DaemonConfiguration.defaultListenAddress)" == "0.0.0.0:7475")
    }

    @Test(arguments: ["has space", "", String(repeating: "n", count: 65), "a/b", "ü", ".."])
    func anInvalidNodeNameIsNamed(_ name: String) {
        let state = TemporaryDirectory()
        let error = Self.refusal(DaemonConfiguration(name: name, stateDirectory: state.path))
        #expect(error == .invalidName(name))
        #expect(error?.description == "node name '\(name)' is not valid: use 1 to 64 letters, digits, '.', '_' or '-'")
    }

    @Test func aValidNameIsTakenAndTheIDComesFromTheStateDirectory() async throws {
        let state = TemporaryDirectory()
        let daemon = try Daemon(configuration: DaemonConfiguration(name: "node-1.a_b", stateDirectory: state.path), logger: Self.logger)
        #expect(daemon.identity.name == "node-1.a_b")
        #expect(daemon.identity.id == NodeID(hex: try #require(state.read("node-id")).dropLast()))
        await daemon.stop()
        // A restart is the same node.
        let again = try Daemon(configuration: DaemonConfiguration(name: "other", stateDirectory: state.path), logger: Self.logger)
        #expect(again.identity.id == daemon.identity.id)
        await again.stop()
    }

    @Test func exportsThatCannotBeOfferedAreNamed() {
        let state = TemporaryDirectory()
        let tree = TemporaryDirectory()
        tree.write("x", to: "file")
        tree.makeDirectory("dir")
        let missing = tree.path + "/missing"
        let cases: [(LocalExport, LocalExport?, String)] = [
            (LocalExport(name: "m", path: missing), nil, "cannot open export directory '\(missing)': No such file or directory"),
            (LocalExport(name: "f", path: tree.path + "/file"), nil, "export path '\(tree.path)/file' is not a directory"),
            (LocalExport(name: "d", path: tree.path + "/dir"), LocalExport(name: "d", path: tree.path), "export name 'd' is given twice"),
        ]
        for (export, second, message) in cases {
            let error = Self.refusal(DaemonConfiguration(exports: [export] + (second.map { [$0] } ?? []), name: "n", stateDirectory: state.path))
            #expect(error == .export(message))
            #expect(error?.description == message)
        }
    }

    @Test func aBadStateDirectoryIsNamed() {
        let tree = TemporaryDirectory()
        tree.write("x", to: "file")
        let error = Self.refusal(DaemonConfiguration(name: "n", stateDirectory: tree.path + "/file"))
        #expect(error == .stateDirectory(path: tree.path + "/file", reason: "not a directory"))
        #expect(error?.description == "state directory '\(tree.path)/file': not a directory")
    }

    /// A listener that cannot bind fails start with the address and the
    /// reason in words (another process listens there).
    @Test func busyListenersAreNamedWithTheReason() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let taken = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { taken.close(promise: nil) }
        let port = taken.localAddress!.port!
        let state = TemporaryDirectory()
        let tree = TemporaryDirectory()

        let peer = try Daemon(
            configuration: DaemonConfiguration(
                exports: [LocalExport(name: "share", path: tree.path)], listen: PeerAddress(host: "127.0.0.1", port: port), name: "n",
                stateDirectory: state.path, portmap: .off
            ),
            logger: Self.logger
        )
        let inUse = "Address already in use (another process listens there)"
        await #expect(throws: DaemonConfigurationError.listen(address: "127.0.0.1:\(port)", reason: inUse)) {
            try await peer.start()
        }
        await peer.stop()

        let nfs = try Daemon(
            configuration: DaemonConfiguration(nfs: PeerAddress(host: "127.0.0.1", port: port), name: "n", stateDirectory: state.path, portmap: .off),
            logger: Self.logger
        )
        await #expect(throws: DaemonConfigurationError.nfs(address: "127.0.0.1:\(port)", reason: inUse)) {
            try await nfs.start()
        }
        await nfs.stop()
        #expect(
            DaemonConfigurationError.nfs(address: "127.0.0.1:\(port)", reason: "Address already in use").description
                == "cannot serve NFS on 127.0.0.1:\(port): Address already in use"
        )
    }
}
