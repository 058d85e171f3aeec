import Logging
import Namespace
import NIOCore
import NIOPosix
import ONCRPC
@testable import P2PFSDaemon
import PeerProtocol
import RPCBind
import Testing

/// Two daemons on loopback, composed as `p2pfs` composes them: one offers
/// a directory, the other crawls it and presents it; a file's bytes read
/// through the second come from the first's disk.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DaemonTests {
    static let logger = DaemonConfigurationTests.logger

    /// Waits (bounded) until `condition` holds; false if it never did.
    static func eventually(_ seconds: Int = 30, _ condition: () async -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    @Test func aNodePresentsTheFilesAnotherOffers() async throws {
        let tree = TemporaryDirectory()
        tree.makeDirectory("docs")
        tree.write("hello from the offering node\n", to: "docs/hello.txt")
        let offeringState = TemporaryDirectory()
        let presentingState = TemporaryDirectory()

        let offering = try Daemon(
            configuration: DaemonConfiguration(
                exports: [LocalExport(name: "share", path: tree.path)], listen: PeerAddress(host: "127.0.0.1", port: 0), name: "offering",
                stateDirectory: offeringState.path, portmap: .off
            ),
            logger: Self.logger
        )
        try await offering.start()
        let peerPort = try #require(offering.peerAddress?.port)
        #expect(offering.nfsAddress == nil, "a node given only --export serves no NFS")
        #expect(offering.store == nil)

        let presenting = try Daemon(
            configuration: DaemonConfiguration(
                peers: [PeerAddress(host: "127.0.0.1", port: peerPort)], nfs: PeerAddress(host: "127.0.0.1", port: 0), name: "presenting",
                stateDirectory: presentingState.path, portmap: .off, crawlInterval: .milliseconds(200)
            ),
            logger: Self.logger
        )
        try await presenting.start()
        #expect(presenting.peerAddress == nil, "a node given only --nfs offers nothing to peers")
        // NFS, MOUNT and NLM answer on the NFS listener; the peer listener
        // of the offering node has none of them.
        let nfs = try await RPCClient.connect(
            to: try #require(presenting.nfsAddress), group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger
        )
        for (program, version) in [(UInt32(100_003), UInt32(3)), (100_005, 3), (100_021, 4)] {
            #expect(try await nfs.call(program: program, version: version, procedure: 0, timeout: .seconds(10)).readableBytes == 0)
        }
        nfs.close()
        let peerListener = try await PeerConnection.connect(
            to: PeerAddress(host: "127.0.0.1", port: peerPort), group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(10),
            tls: try PeerTLS(credentials: try NodeCredentials.generate()), logger: Self.logger
        )
        await #expect(throws: RPCClientError.notAccepted(.programUnavailable)) {
            try await peerListener.client.call(program: 100_003, version: 3, procedure: 0, timeout: .seconds(10))
        }
        peerListener.close()
        // In plaintext (a node of protocol version 1) it answers only that
        // it speaks version 2, and closes.
        let plaintext = try await RPCClient.connect(
            to: try #require(offering.peerAddress), group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger
        )
        await #expect(throws: RPCClientError.notAccepted(.programMismatch(low: 2, high: 2))) {
            try await plaintext.call(program: 100_003, version: 3, procedure: 0, timeout: .seconds(10))
        }
        plaintext.close()
        let running = Task { await presenting.run() }
        let store = try #require(presenting.store)

        let arrived = try await Self.eventually { (try? store.current.lookup(path: "share/docs/hello.txt")) != nil && store.isReady }
        #expect(arrived, "the offered file never reached the namespace")
        if arrived {
            let snapshot = store.current
            let node = try snapshot.lookup(path: "share/docs/hello.txt")
            #expect(snapshot.sources(of: node).map(\.origin) == [offering.identity])
            let result = try await snapshot.read(node, offset: 0, count: 4096, eventLoop: MultiThreadedEventLoopGroup.singleton.next()).get()
            #expect(String(buffer: result.data) == "hello from the offering node\n")
            #expect(result.isEndOfFile)
        }

        // The offering node goes away: its files leave once the peer
        // timeout (10 s by default) has passed.
        await offering.stop()
        let left = try await Self.eventually(60) { (try? store.current.lookup(path: "share")) == nil }
        #expect(left, "the files of a node that stopped stayed in the namespace")

        running.cancel()
        await running.value
        await presenting.stop()
    }

    @Test func portmapOffPublishesNothing() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let publication = try await PortmapPublication.publish(
            mode: .off, dispatcher: RPCDispatcher(programs: []), endpoints: [(host: "127.0.0.1", port: 2049)],
            group: MultiThreadedEventLoopGroup.singleton, threadPool: pool, logger: Self.logger
        )
        #expect(publication == nil)
        try await pool.shutdownGracefully()
    }
}
