@testable import Discovery
import Testing

@Suite("The _p2pfs._tcp advertisement (RFC 6763)")
struct ServiceAdvertisementTests {
    @Test func recordsOfOneNode() throws {
        let records = anna(addresses: [[198, 18, 0, 1], [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]]).records()
        let instance = try DNSName(["anna", "_p2pfs", "_tcp", "local"])
        let host = try DNSName(dotted: "anna-0123abcd.local")
        #expect(records == [
            DNSResourceRecord(name: try DNSName(dotted: "_p2pfs._tcp.local"), data: .ptr(instance), ttl: 4500),
            DNSResourceRecord(name: instance, data: .srv(priority: 0, weight: 0, port: 7070, target: host), ttl: 120, cacheFlush: true),
            DNSResourceRecord(
                name: instance, data: .txt([ascii("id=\(annaID)"), ascii("v=1"), ascii("roles=offer")]), ttl: 4500, cacheFlush: true),
            DNSResourceRecord(name: host, data: .a([198, 18, 0, 1]), ttl: 120, cacheFlush: true),
            DNSResourceRecord(
                name: host, data: .aaaa([0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]), ttl: 120, cacheFlush: true),
        ])
        #expect(anna().records(ttl: 0).allSatisfy { $0.ttl == 0 })
    }

    @Test func namesAreMadeSafeAndRenamedOnConflict() {
        var advertisement = ServiceAdvertisement(
            nodeName: "Kill_Bill.v2", nodeID: annaID.uppercased(), port: 1, protocolVersion: 1, roles: [], addresses: [])
        #expect(advertisement.instanceLabel == "Kill_Bill.v2")
        #expect(advertisement.instanceName.labels.count == 4)  // the dot stays inside the label
        #expect(advertisement.hostLabel == "kill-bill-v2-0123abcd")
        #expect(advertisement.nodeID == annaID)
        advertisement.renameInstance()
        #expect(advertisement.instanceLabel == "Kill_Bill.v2 (2)")
        advertisement.renameInstance()
        #expect(advertisement.instanceLabel == "Kill_Bill.v2 (3)")
        advertisement.renameHost()
        #expect(advertisement.hostLabel == "kill-bill-v2-0123abcd-2")
        advertisement.renameHost()
        #expect(advertisement.hostLabel == "kill-bill-v2-0123abcd-3")
        let long = ServiceAdvertisement(
            nodeName: String(repeating: "é", count: 40), nodeID: annaID, port: 1, protocolVersion: 1, roles: [], addresses: [])
        #expect(long.instanceLabel.utf8.count == 50)
    }

    @Test func txtParsing() {
        #expect(DiscoveredInstance.parseTXT([ascii("ID=\(annaID.uppercased())"), ascii("v=3"), ascii("roles=offer,mount")])?.roles
            == ["offer", "mount"])
        #expect(DiscoveredInstance.parseTXT([ascii("id=\(annaID)"), ascii("id=ffff"), ascii("v=1")])?.nodeID == annaID)
        #expect(DiscoveredInstance.parseTXT([ascii("id=xyz"), ascii("v=1")]) == nil)
        #expect(DiscoveredInstance.parseTXT([ascii("id=\(annaID)")]) == nil)
        #expect(DiscoveredInstance.parseTXT([ascii("id=\(annaID)"), ascii("v=1"), ascii("roles=" + Array(repeating: "a", count: 9).joined(separator: ","))]) == nil)
    }
}
