import Logging
import Namespace
import NIOCore
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
}
