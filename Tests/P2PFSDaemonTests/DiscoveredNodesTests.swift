@testable import Discovery
import Namespace
@testable import P2PFSDaemon
import PeerProtocol
import Testing

/// What the daemon hands the crawler from its mDNS browsers.
@Suite struct DiscoveredNodesTests {
    static let id = "0123456789abcdef0123456789abcdef"

    static func instance(_ label: String, id: String = id, version: UInt32 = PeerProcedure.version, addresses: [[UInt8]] = [[198, 18, 0, 1]])
        -> DiscoveredInstance
    {
        DiscoveredInstance(
            name: try! ServiceAdvertisement.serviceType.prepending(Array(label.utf8)), nodeID: id, protocolVersion: version,
            roles: ["server"], port: 7475, hostName: try! DNSName(dotted: "\(label)-host.local"), addresses: addresses)
    }

    @Test func anInstanceBecomesACandidateAtItsAddressesAndPort() throws {
        let info = try #require(DiscoveredNodes.nodeInfo(Self.instance("alpha", addresses: [
            [198, 18, 0, 1], [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [7], [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1],
        ])))
        #expect(info.identity == NodeIdentity(id: NodeID(hex: Self.id)!, name: "alpha"))
        #expect(info.roles == .server)
        // The link-local IPv6 address has no scope to go with it: left out.
        #expect(info.addresses == [PeerAddress(host: "198.18.0.1", port: 7475), PeerAddress(host: "2001:db8:0:0:0:0:0:7", port: 7475)])
    }

    @Test func unusableInstancesAreNotCandidates() throws {
        #expect(DiscoveredNodes.nodeInfo(Self.instance("old", version: PeerProcedure.version + 1)) == nil)
        #expect(DiscoveredNodes.nodeInfo(Self.instance("v6ll", addresses: [[0xfe, 0x80] + [UInt8](repeating: 0, count: 14)])) == nil)
        // A label that is no node name still gives a candidate; its HELLO tells the name.
        let renamed = try #require(DiscoveredNodes.nodeInfo(Self.instance("alpha (2)")))
        #expect(renamed.identity.name == "node-01234567")
    }

    @Test func aNodeIsCheckedWhenAnyBrowserLosesItAndForgottenWhenAllHave() {
        var nodes = DiscoveredNodes()
        let alpha = Self.instance("alpha")
        let info = DiscoveredNodes.nodeInfo(alpha)!
        #expect(nodes.apply(.added(alpha), browser: 0) == [.appeared(info)])
        #expect(nodes.apply(.added(alpha), browser: 1) == [.appeared(info)])  // IPv6 socket, same link
        // A goodbye heard on one family only: checked at once, still proposed.
        #expect(nodes.apply(.removed(alpha.name), browser: 0) == [.withdrawn(info.identity.id)])
        #expect(nodes.apply(.removed(alpha.name), browser: 0).isEmpty)  // that browser had it no more
        #expect(nodes.names(of: [info.identity.id]) == [alpha.name])
        #expect(nodes.announced == [info])
        #expect(nodes.apply(.removed(alpha.name), browser: 1) == [.withdrawn(info.identity.id)])
        #expect(nodes.apply(.removed(alpha.name), browser: 1).isEmpty)
        #expect(nodes.names(of: [info.identity.id]).isEmpty)
        #expect(nodes.announced.isEmpty)
    }

    @Test func aClosedBrowserWithdrawsWhatOnlyItSaw() {
        var nodes = DiscoveredNodes()
        let alpha = Self.instance("alpha")
        let beta = Self.instance("beta", id: "fedcba9876543210fedcba9876543210", addresses: [[198, 18, 0, 2]])
        let alphaInfo = DiscoveredNodes.nodeInfo(alpha)!
        let betaInfo = DiscoveredNodes.nodeInfo(beta)!
        _ = nodes.apply(.added(alpha), browser: 0)
        _ = nodes.apply(.added(alpha), browser: 1)  // also seen on another link
        _ = nodes.apply(.added(beta), browser: 1)
        _ = nodes.apply(.added(beta), browser: 2)
        // Browser 1's interface went: both are checked, both still proposed (others hold them).
        #expect(nodes.close(browser: 1) == [.withdrawn(alphaInfo.identity.id), .withdrawn(betaInfo.identity.id)])
        #expect(nodes.announced == [alphaInfo, betaInfo])
        #expect(nodes.close(browser: 1).isEmpty)
        // Browser 2's went too: beta is no longer announced anywhere.
        #expect(nodes.close(browser: 2) == [.withdrawn(betaInfo.identity.id)])
        #expect(nodes.announced == [alphaInfo])
        #expect(nodes.apply(.removed(beta.name), browser: 2).isEmpty)
    }

    @Test func aNodeUnderTwoNamesStaysUntilBothGo() {
        var nodes = DiscoveredNodes()
        let first = Self.instance("alpha")
        let renamed = Self.instance("alpha-2")  // the same node, renamed after a conflict
        _ = nodes.apply(.added(first), browser: 0)
        _ = nodes.apply(.added(renamed), browser: 0)
        #expect(nodes.apply(.removed(first.name), browser: 0).isEmpty)
        #expect(nodes.announced.map(\.identity.name) == ["alpha-2"])
        #expect(nodes.apply(.removed(renamed.name), browser: 0) == [.withdrawn(NodeID(hex: Self.id)!)])
        #expect(nodes.announced.isEmpty)
    }

    @Test func heldInstancesAreBounded() {
        var nodes = DiscoveredNodes()
        for index in 0..<(DiscoveredNodes.maximumInstances + 500) {
            let id = String(format: "%032x", index + 1)
            _ = nodes.apply(.added(Self.instance("n\(index)", id: id)), browser: 0)
        }
        #expect(nodes.announced.count == DiscoveredNodes.maximumInstances)
    }

    @Test func anInstanceThatNamesAnotherNodeWithdrawsTheFirst() {
        var nodes = DiscoveredNodes()
        let first = Self.instance("alpha")
        let other = Self.instance("alpha", id: "ffffffffffffffffffffffffffffffff")
        _ = nodes.apply(.added(first), browser: 0)
        #expect(nodes.apply(.updated(other), browser: 0) == [.withdrawn(NodeID(hex: Self.id)!), .appeared(DiscoveredNodes.nodeInfo(other)!)])
    }
}
