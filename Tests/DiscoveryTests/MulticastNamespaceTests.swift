@testable import Discovery
import Foundation
import NIOCore
import NIOPosix
import Testing
import TestPrerequisites

/// Real multicast, only inside namespaces the test creates: two responders
/// on a private bridge find each other, a goodbye removes one, and
/// python-zeroconf (an mDNS implementation that is not ours) sees ours.
@Suite("mDNS on a private bridge", .serialized, .requires(.networkNamespaces, .python3), .timeLimit(.minutes(2)))
struct MulticastNamespaceTests {
    struct Node {
        let channel: Channel
        let log: EventLog
        let advertisement: ServiceAdvertisement
    }

    static func advertisement(_ index: Int, network: DiscoveryNetwork) -> ServiceAdvertisement {
        let octets = network.address(index).split(separator: ".").map { UInt8($0)! }
        return ServiceAdvertisement(
            nodeName: "node\(index)", nodeID: String(repeating: String(index + 1), count: 32), port: 7475, protocolVersion: 1,
            roles: ["offer"], addresses: [octets])
    }

    /// Opens our mDNS socket on `eth0` inside host `index`'s namespace.
    static func start(_ index: Int, network: DiscoveryNetwork, group: EventLoopGroup) throws -> Node {
        let log = EventLog()
        let advertisement = advertisement(index, network: network)
        let channel = try DiscoveryNetwork.inNamespace(network.hostNamespaces[index]) {
            let devices = try System.enumerateDevices().filter {
                if case .v4 = $0.address { $0.name == "eth0" } else { false }
            }
            guard let device = devices.first else { throw DiscoveryNetwork.Failure(description: "no eth0 with IPv4") }
            return try MDNSSocket.open(on: device, family: .ipv4, group: group) {
                MDNSChannelHandler(
                    group: MDNSChannelHandler.ipv4Group, interfaceIndex: device.interfaceIndex, advertisement: advertisement,
                    onEvent: { log.append($0) })
            }.wait()
        }
        return Node(channel: channel, log: log, advertisement: advertisement)
    }

    static func stop(_ node: Node) throws {
        try node.channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let handler = try? node.channel.pipeline.syncOperations.handler(type: MDNSChannelHandler.self)
            return handler?.stop() ?? node.channel.eventLoop.makeSucceededVoidFuture()
        }.wait()
        try node.channel.close().wait()
    }

    /// How long a test waits for an instance to appear or go. Nominally it
    /// takes 0.75 s (announcements at start) and 1 s after a goodbye; the
    /// bound leaves room for a machine running every suite at once (timers
    /// were seen firing 10 s late) and stays far below a record's TTL, so
    /// a goodbye that was not acted on still fails. The 2 s target itself
    /// is a speed figure, not something a shared CI machine can time.
    static let bound = Duration.seconds(15)

    /// Polls `condition` every 20 ms for at most `bound`; returns the time it took, or nil.
    static func waitFor(_ bound: Duration, _ condition: () -> Bool) -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < bound {
            if condition() { return clock.now - start }
            usleep(20_000)
        }
        return nil
    }

    @Test func twoNodesFindEachOtherAndAGoodbyeRemovesOne() throws {
        let network = try DiscoveryNetwork(hosts: 2)
        defer { network.tearDown() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let first = try Self.start(0, network: network, group: group)
        let second = try Self.start(1, network: network, group: group)
        func found(_ node: Node, _ other: Node) -> Bool {
            node.log.all.contains {
                if case .added(let instance) = $0 { instance.nodeID == other.advertisement.nodeID } else { false }
            }
        }
        let seen = Self.waitFor(Self.bound) { found(first, second) && found(second, first) }
        #expect(seen != nil, "not found within \(Self.bound): \(first.log.all) / \(second.log.all)")
        let instance = try #require(first.log.all.compactMap { if case .added(let i) = $0 { i } else { nil } }.first)
        #expect(instance.addresses == [[198, 18, 0, 2]])
        #expect(instance.port == 7475)

        try Self.stop(second)
        let removed = Self.waitFor(Self.bound) { first.log.all.contains(.removed(second.advertisement.instanceName)) }
        #expect(removed != nil, "goodbye not seen within \(Self.bound): \(first.log.all)")
        try Self.stop(first)
    }

    /// The same over ff02::fb on a link with no IPv4 at all: the nodes
    /// announce their link-local addresses as AAAA.
    @Test func ipv6OnlyLink() throws {
        let network = try DiscoveryNetwork(hosts: 2, ipv4: false)
        defer { network.tearDown() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        var nodes: [Node] = []
        for index in 0..<2 {
            let log = EventLog()
            let (channel, advertisement) = try DiscoveryNetwork.inNamespace(network.hostNamespaces[index]) {
                () -> (Channel, ServiceAdvertisement) in
                let devices = try System.enumerateDevices().filter {
                    if case .v6 = $0.address { $0.name == "eth0" } else { false }
                }
                guard let device = devices.first, case .v6(let address) = device.address else {
                    throw DiscoveryNetwork.Failure(description: "no eth0 with IPv6")
                }
                let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
                let advertisement = ServiceAdvertisement(
                    nodeName: "six\(index)", nodeID: String(repeating: String(index + 5), count: 32), port: 7475, protocolVersion: 1,
                    roles: ["offer"], addresses: [bytes])
                let channel = try MDNSSocket.open(on: device, family: .ipv6, group: group) {
                    MDNSChannelHandler(
                        group: MDNSChannelHandler.ipv6Group, interfaceIndex: device.interfaceIndex, advertisement: advertisement,
                        onEvent: { log.append($0) })
                }.wait()
                return (channel, advertisement)
            }
            nodes.append(Node(channel: channel, log: log, advertisement: advertisement))
        }
        func found(_ node: Node, _ other: Node) -> Bool {
            node.log.all.contains {
                if case .added(let instance) = $0 { instance.addresses == other.advertisement.addresses } else { false }
            }
        }
        let seen = Self.waitFor(Self.bound) { found(nodes[0], nodes[1]) && found(nodes[1], nodes[0]) }
        #expect(seen != nil, "not found within \(Self.bound): \(nodes[0].log.all) / \(nodes[1].log.all)")
        #expect(nodes[0].advertisement.addresses.first?.prefix(2) == [0xFE, 0x80])
        for node in nodes { try Self.stop(node) }
    }

    /// python-zeroconf, in the first host's namespace, browses and resolves
    /// the instance our responder announces from the second.
    @Test(.requires(.pythonZeroconf)) func anIndependentBrowserSeesOurAnnouncement() throws {
        let network = try DiscoveryNetwork(hosts: 2)
        defer { network.tearDown() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let ours = try Self.start(1, network: network, group: group)
        let script = """
            import time
            from zeroconf import Zeroconf, ServiceBrowser, ServiceListener, IPVersion
            zc = Zeroconf(interfaces=["\(network.address(0))"], ip_version=IPVersion.V4Only)
            found = {}
            class Listener(ServiceListener):
                def add_service(self, zc, type_, name): found[name] = zc.get_service_info(type_, name, timeout=10000)
                def update_service(self, zc, type_, name): pass
                def remove_service(self, zc, type_, name): pass
            browser = ServiceBrowser(zc, "_p2pfs._tcp.local.", Listener())
            deadline = time.time() + 25
            while time.time() < deadline and not any(found.values()):
                time.sleep(0.05)
            for name, info in found.items():
                if info:
                    print(name, info.port, info.properties.get(b"id", b"").decode(), ",".join(info.parsed_addresses()))
            zc.close()
            """
        let result = try DiscoveryNetwork.run(
            ["/usr/sbin/ip", "netns", "exec", network.hostNamespaces[0], "/usr/bin/env", "python3", "-c", script], timeout: 60)
        try Self.stop(ours)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("node1._p2pfs._tcp.local. 7475 \(ours.advertisement.nodeID) 198.18.0.2"), "\(result.output)")
    }
}
