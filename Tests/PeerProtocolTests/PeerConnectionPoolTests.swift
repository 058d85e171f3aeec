import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PeerProtocol
import Testing

/// `PeerConnectionPool`: which connection a call gets when what is known
/// of a node's addresses changes.
@Suite struct PeerConnectionPoolTests {
    static func pool() -> PeerConnectionPool {
        PeerConnectionPool(group: LoopbackPeer.group, connectTimeout: .seconds(5), logger: Logger(label: "test"), tls: nil)
    }

    /// The node moved (its old address is gone from what it announces): the
    /// next call goes to the new address, not down the old connection.
    @Test func aNodeThatMovedIsReachedAtItsNewAddress() async throws {
        let old = try await LoopbackPeer()
        let new = try await LoopbackPeer()
        defer {
            Task {
                await old.server.close()
                await new.server.close()
            }
        }
        let node = old.identity.id
        let pool = Self.pool()
        pool.setAddresses([old.address], for: node)
        let first = try await pool.connection(for: node).get()
        #expect(first.address == old.address)

        pool.setAddresses([new.address], for: node)
        let second = try await pool.connection(for: node).get()
        #expect(second.address == new.address)
        #expect(second !== first)
        // The abandoned connection is closed, not left to time out.
        let deadline = ContinuousClock.now + .seconds(10)
        while first.isActive && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!first.isActive)
    }

    /// An address added, or the list reordered, keeps the connection that
    /// works: no churn for a node that only gained an address.
    @Test func aNodeThatGainedAnAddressKeepsItsConnection() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let node = peer.identity.id
        let pool = Self.pool()
        pool.setAddresses([peer.address], for: node)
        let first = try await pool.connection(for: node).get()
        pool.setAddresses([PeerAddress(host: "127.0.0.1", port: 9), peer.address], for: node)
        let second = try await pool.connection(for: node).get()
        #expect(second === first)
        #expect(first.isActive)
    }

    /// Counts the connections made to it and closes each at once: an
    /// address of a node's that leads elsewhere (a docker0 or VPN address
    /// that is another machine's here).
    final class Elsewhere: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let accepted = NIOLockedValueBox(0)

        func channelActive(context: ChannelHandlerContext) {
            self.accepted.withLockedValue { $0 += 1 }
            context.close(promise: nil)
        }
    }

    /// A node announces an address first that does not lead to it: the
    /// first connection tries it and moves on; a reconnect goes straight
    /// to the address that worked.
    @Test func aReconnectTriesTheAddressThatWorkedFirst() async throws {
        let (server, address) = try await PeerTLSLoopbackTests.serve()
        let elsewhere = Elsewhere()
        let listener = try await ServerBootstrap(group: PeerTLSLoopbackTests.group)
            .childChannelInitializer { $0.pipeline.addHandler(elsewhere) }
            .bind(host: "127.0.0.1", port: 0).get()
        defer {
            Task {
                await server.close()
                try? await listener.close()
            }
        }
        let node = PeerTLSLoopbackTests.server.nodeID
        let pool = PeerConnectionPool(
            group: PeerTLSLoopbackTests.group, connectTimeout: .seconds(60), failureBackoff: .zero, logger: Logger(label: "test"),
            tls: try PeerTLS(credentials: PeerTLSLoopbackTests.client))
        pool.setAddresses([PeerAddress(host: "127.0.0.1", port: listener.localAddress!.port!), address], for: node)
        let first = try await pool.connection(for: node).get()
        #expect(first.address == address)
        #expect(elsewhere.accepted.withLockedValue { $0 } == 1)

        first.close()
        let deadline = ContinuousClock.now + .seconds(10)
        while first.isActive && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let second = try await pool.connection(for: node).get()
        #expect(second !== first && second.address == address)
        #expect(elsewhere.accepted.withLockedValue { $0 } == 1, "the reconnect tried the address that had failed first")
        second.close()
    }

    /// Connections go to the loops they are given, the least loaded first,
    /// never to a loop left out (a daemon keeps its NFS clients' loop out).
    @Test func connectionsSpreadOverTheirLoopsOnly() async throws {
        let peer = try await LoopbackPeer()
        defer { Task { await peer.server.close() } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        defer { Task { try? await group.shutdownGracefully() } }
        let loops = Array(group.makeIterator())
        let pool = PeerConnectionPool(
            group: group, connectTimeout: .seconds(5), logger: Logger(label: "test"), tls: nil, connectionLoops: [loops[1], loops[2]])
        #expect(pool.loopForNewConnection() === loops[1])
        // Without TLS nothing checks who answers: three names for one peer.
        let nodes = (1...3).map { NodeID(high: 9, low: UInt64($0)) }
        var placed: [any EventLoop] = []
        for node in nodes {
            pool.setAddresses([peer.address], for: node)
            placed.append(try await pool.connection(for: node).get().client.channel.eventLoop)
        }
        #expect(placed[0] === loops[1])
        #expect(placed[1] === loops[2])
        #expect(placed[2] === loops[1])
        #expect(!placed.contains { $0 === loops[0] })
        #expect(pool.loopForNewConnection() === loops[2])
        for node in nodes { pool.forget(node) }
    }
}
