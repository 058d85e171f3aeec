import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore

/// How this node proves itself on a closed network: the key, and who it
/// says it is in the handshake's HELLO.
public struct PeerClientAuthentication: Sendable {
    public var key: NetworkKey
    public var localNode: @Sendable () -> NodeInfo
    /// Per call of the handshake (HELLO, AUTHENTICATE).
    public var timeout: TimeAmount

    public init(key: NetworkKey, localNode: @escaping @Sendable () -> NodeInfo, timeout: TimeAmount = .seconds(3)) {
        self.key = key
        self.localNode = localNode
        self.timeout = timeout
    }
}

/// One connection per peer node, shared by the crawler and by block reads.
///
/// On a closed network every new connection runs the network-key handshake
/// and must reach the node it was made for before anyone uses it.
///
/// A node that just failed to connect is failed fast for a short back-off,
/// so reads of a dead peer's files return an error at once instead of each
/// waiting out a connect timeout.
public final class PeerConnectionPool: Sendable {
    private enum ConnectionState {
        case idle
        case connecting(EventLoopFuture<PeerConnection>)
        case connected(PeerConnection)
    }

    private struct Slot {
        var addresses: [PeerAddress]
        var connection: ConnectionState = .idle
        var failedUntil: NIODeadline?
        var lastFailure: String?
        /// Where the last connection was made.
        var reachedAt: PeerAddress?

        /// The addresses in the order to try them: where the node was
        /// reached last first, while it still has that address. A node
        /// with an address this one cannot use (another subnet, a VPN, a
        /// docker0 that leads to a different machine) costs a failed
        /// attempt once, not at every reconnect.
        var addressesToTry: [PeerAddress] {
            guard let reachedAt, let index = self.addresses.firstIndex(of: reachedAt), index > 0 else { return self.addresses }
            var ordered = self.addresses
            ordered.remove(at: index)
            ordered.insert(reachedAt, at: 0)
            return ordered
        }
    }

    private let slots = NIOLockedValueBox<[NodeID: Slot]>([:])
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let failureBackoff: TimeAmount
    private let logger: Logger
    /// Set on a closed network.
    public let authentication: PeerClientAuthentication?
    /// This node's TLS identity; every connection of a node is TLS (nil
    /// only in tests of the protocol itself, on loopback).
    public let tls: PeerTLS?

    /// The event loops new connections are placed on.
    private let connectionLoops: [any EventLoop]

    /// - Parameter connectionLoops: the loops of `group` to place
    ///   connections on (all of them by default). A node that presents a
    ///   namespace keeps its NFS clients' loop out of this list: a
    ///   forwarded read then decrypts and gathers the peer's reply on one
    ///   core while the NFS reply is encoded and sent on another, where on
    ///   one loop the two would share a core (the loop was the limit of a
    ///   forwarded read's throughput; Docs/performance.md).
    public init(
        group: any EventLoopGroup, connectTimeout: TimeAmount, failureBackoff: TimeAmount = .seconds(1), logger: Logger,
        tls: PeerTLS?, authentication: PeerClientAuthentication? = nil, connectionLoops: [any EventLoop]? = nil
    ) {
        self.tls = tls
        self.group = group
        let loops = connectionLoops ?? Array(group.makeIterator())
        self.connectionLoops = loops.isEmpty ? [group.next()] : loops
        self.connectTimeout = connectTimeout
        self.failureBackoff = failureBackoff
        self.logger = logger
        self.authentication = authentication
    }

    /// An event loop of the pool's group, for work not tied to a caller.
    public var eventLoop: any EventLoop { self.group.next() }

    /// Where a new connection goes: of the connection loops, the one that
    /// carries the fewest of this pool's connections (the first of
    /// equals). For connections made outside the pool and adopted.
    public func loopForNewConnection() -> any EventLoop {
        self.slots.withLockedValue { self.leastLoadedLoop(slots: $0) }
    }

    private func leastLoadedLoop(slots: [NodeID: Slot]) -> any EventLoop {
        guard self.connectionLoops.count > 1 else { return self.connectionLoops[0] }
        var counts = [Int](repeating: 0, count: self.connectionLoops.count)
        for slot in slots.values {
            let loop: (any EventLoop)?
            switch slot.connection {
            case .connected(let connection) where connection.isActive:
                loop = connection.client.channel.eventLoop
            case .connecting(let future):
                loop = future.eventLoop
            case .connected, .idle:
                loop = nil
            }
            if let loop, let index = self.connectionLoops.firstIndex(where: { $0 === loop }) {
                counts[index] += 1
            }
        }
        return self.connectionLoops[counts.indices.min { counts[$0] < counts[$1] }!]
    }

    /// Where `node` can be reached; the first address that works is used,
    /// and tried first the next time.
    ///
    /// A connection to an address the node no longer has (it moved: a new
    /// DHCP lease, another network) is closed, so the next call connects
    /// to one it has now. Left open, it would keep failing calls by timeout
    /// (TCP retransmits to a vanished address for many minutes) until the
    /// node was dropped as gone.
    public func setAddresses(_ addresses: [PeerAddress], for node: NodeID) {
        let moved = self.slots.withLockedValue { slots -> PeerConnection? in
            var slot = slots[node, default: Slot(addresses: addresses)]
            slot.addresses = addresses
            var moved: PeerConnection?
            if case .connected(let connection) = slot.connection, !addresses.isEmpty, !addresses.contains(connection.address) {
                slot.connection = .idle
                slot.failedUntil = nil
                moved = connection
            }
            slots[node] = slot
            return moved
        }
        if let moved {
            self.logger.info(
                "peer moved: closing the connection to an address it no longer has",
                metadata: ["node": "\(node)", "old": "\(moved.address)", "addresses": "\(addresses)"])
            moved.close()
        }
    }

    /// Hands over a connection made elsewhere (the crawler's first contact).
    public func adopt(_ connection: PeerConnection, for node: NodeID) {
        let previous = self.slots.withLockedValue { slots -> ConnectionState in
            var slot = slots[node] ?? Slot(addresses: [connection.address])
            let previous = slot.connection
            slot.connection = .connected(connection)
            slot.failedUntil = nil
            slot.reachedAt = connection.address
            if !slot.addresses.contains(connection.address) {
                slot.addresses.insert(connection.address, at: 0)
            }
            slots[node] = slot
            return previous
        }
        switch previous {
        case .connected(let old) where old !== connection:
            old.close()
        case .connecting(let future):
            future.whenSuccess { old in old.close() }
        default:
            break
        }
    }

    /// Closes and forgets a node's connection (the node left the network).
    public func forget(_ node: NodeID) {
        switch self.slots.withLockedValue({ $0.removeValue(forKey: node)?.connection }) {
        case .connected(let connection):
            connection.close()
        case .connecting(let future):
            future.whenSuccess { $0.close() }
        case .idle, nil:
            break
        }
    }

    /// Whether `node` has an open, usable connection right now (no I/O).
    public func isConnected(_ node: NodeID) -> Bool {
        self.slots.withLockedValue { slots in
            guard case .connected(let connection) = slots[node]?.connection else { return false }
            return connection.isActive
        }
    }

    /// The live connection to `node`, connecting if needed.
    public func connection(for node: NodeID) -> EventLoopFuture<PeerConnection> {
        enum Decision {
            case use(EventLoopFuture<PeerConnection>)
            case fail(String)
            case connect([PeerAddress], EventLoopPromise<PeerConnection>)
        }
        let now = NIODeadline.now()
        let decision = self.slots.withLockedValue { slots -> Decision in
            guard var slot = slots[node] else { return .fail("no known address") }
            switch slot.connection {
            case .connecting(let future):
                return .use(future)
            case .connected(let connection) where connection.isActive:
                return .use(connection.client.channel.eventLoop.makeSucceededFuture(connection))
            case .connected, .idle:
                break
            }
            if let until = slot.failedUntil, until > now {
                return .fail(slot.lastFailure ?? "recently unreachable")
            }
            guard !slot.addresses.isEmpty else { return .fail("no known address") }
            let promise = self.leastLoadedLoop(slots: slots).makePromise(of: PeerConnection.self)
            slot.connection = .connecting(promise.futureResult)
            slots[node] = slot
            return .connect(slot.addressesToTry, promise)
        }
        switch decision {
        case .use(let future):
            return future
        case .fail(let why):
            return self.group.any().makeFailedFuture(PeerClientError.unreachable(why))
        case .connect(let addresses, let promise):
            self.connect(node: node, addresses: addresses[...], promise: promise, lastError: nil)
            return promise.futureResult
        }
    }

    private func connect(
        node: NodeID,
        addresses: ArraySlice<PeerAddress>,
        promise: EventLoopPromise<PeerConnection>,
        lastError: (any Error)?
    ) {
        guard let address = addresses.first else {
            let why = lastError.map { "\($0)" } ?? "no address"
            self.slots.withLockedValue { slots in
                slots[node]?.failedUntil = .now() + self.failureBackoff
                slots[node]?.lastFailure = why
                slots[node]?.connection = .idle
            }
            switch lastError {
            case let error as PeerClientError where error.isAboutTheNetworkKey || error.refusedNodeAddress != nil:
                // Worth telling apart from a dead node: the crawler logs it.
                promise.fail(error)
            default:
                promise.fail(PeerClientError.unreachable(why))
            }
            return
        }
        // The certificate at the address must be the node's: an address
        // announced for a node (PEERS, mDNS) proves nothing by itself.
        let connected = PeerConnection.connect(
            to: address, group: promise.futureResult.eventLoop, connectTimeout: self.connectTimeout, tls: self.tls, expecting: node,
            logger: self.logger
        )
        let authenticated: EventLoopFuture<PeerConnection>
        if let authentication = self.authentication {
            authenticated = connected.flatMap { connection in
                connection.authenticate(
                    as: authentication.localNode(), key: authentication.key, expecting: node, timeout: authentication.timeout
                ).map { _ in connection }.flatMapErrorThrowing { error in
                    connection.close()
                    throw error
                }
            }
        } else {
            authenticated = connected
        }
        authenticated
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    self.slots.withLockedValue { slots in
                        slots[node]?.failedUntil = nil
                        slots[node]?.connection = .connected(connection)
                        slots[node]?.reachedAt = connection.address
                    }
                    promise.succeed(connection)
                case .failure(let error):
                    self.connect(node: node, addresses: addresses.dropFirst(), promise: promise, lastError: error)
                }
            }
    }
}
