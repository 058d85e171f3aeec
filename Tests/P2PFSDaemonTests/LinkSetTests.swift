import Discovery
@testable import P2PFSDaemon
import Testing

/// What the daemon does to its mDNS sockets when the machine's interfaces change.
@Suite struct LinkSetTests {
    typealias Link = LinkSet.Link

    static func entry(_ interface: String, _ index: Int, _ address: String?, multicast: Bool = true) -> LinkSet.Entry {
        LinkSet.Entry(interface: interface, index: index, multicast: multicast, address: address)
    }

    static let laptop = LinkSet([
        entry("lo", 1, "127.0.0.1", multicast: false), entry("lo", 1, "::1", multicast: false),
        entry("wlan0", 3, "192.168.1.20"), entry("wlan0", 3, "fe80::1"),
        entry("tun0", 9, "10.8.0.2", multicast: false),
    ])

    @Test func oneLinkPerMulticastInterfaceAndFamily() {
        #expect(Self.laptop.links == [
            Link(interface: "wlan0", index: 3, family: .ipv4, address: "192.168.1.20"), Link(interface: "wlan0", index: 3, family: .ipv6),
        ])
        #expect(Self.laptop.interfaces == ["wlan0"])
        #expect(Self.laptop.addresses == ["wlan0": ["192.168.1.20", "fe80::1"]])
        // Loopback, no multicast, or no address at all: no socket.
        #expect(LinkSet([Self.entry("lo", 1, "127.0.0.1"), Self.entry("eth0", 2, nil)]).links.isEmpty)
    }

    @Test func aStartWithoutNetworkThenALinkOpensItsSockets() {
        let none = LinkSet([Self.entry("lo", 1, "127.0.0.1", multicast: false)])
        #expect(none.changes(since: LinkSet([])).isEmpty)
        let changes = Self.laptop.changes(since: none)
        #expect(changes.opened == [
            Link(interface: "wlan0", index: 3, family: .ipv4, address: "192.168.1.20"), Link(interface: "wlan0", index: 3, family: .ipv6),
        ])
        #expect(changes.closed.isEmpty && changes.readdressed.isEmpty)
        #expect(changes.joined == ["wlan0"] && changes.left.isEmpty)
        #expect(Self.laptop.changes(since: Self.laptop).isEmpty)
    }

    @Test func anotherWiFiAndAUSBEthernet() {
        // The Wi-Fi gave another IPv4 address (same link-local), and a USB ethernet came up with IPv6 only so far.
        let moved = LinkSet([
            Self.entry("wlan0", 3, "10.0.0.7"), Self.entry("wlan0", 3, "fe80::1"), Self.entry("usb0", 12, "fe80::2"),
        ])
        let changes = moved.changes(since: Self.laptop)
        // The IPv4 socket sent from the old address: replaced. The IPv6 one stays and announces the new set.
        #expect(changes.opened == [
            Link(interface: "usb0", index: 12, family: .ipv6), Link(interface: "wlan0", index: 3, family: .ipv4, address: "10.0.0.7"),
        ])
        #expect(changes.closed == [Link(interface: "wlan0", index: 3, family: .ipv4, address: "192.168.1.20")])
        #expect(changes.readdressed == ["wlan0"])
        #expect(changes.joined == ["usb0"] && changes.left.isEmpty)
    }

    @Test func aSecondAddressKeepsTheSocketsAndIsAnnounced() {
        let grown = LinkSet([
            Self.entry("wlan0", 3, "192.168.1.20"), Self.entry("wlan0", 3, "fe80::1"), Self.entry("wlan0", 3, "192.168.1.30"),
        ])
        let changes = grown.changes(since: Self.laptop)
        #expect(changes.opened.isEmpty && changes.closed.isEmpty)
        #expect(changes.readdressed == ["wlan0"])
        // The socket is pinned to the lowest address, numerically (not as text: 9 < 10).
        let pinned = LinkSet([Self.entry("eth0", 2, "10.0.0.10"), Self.entry("eth0", 2, "10.0.0.9")])
        #expect(pinned.links == [Link(interface: "eth0", index: 2, family: .ipv4, address: "10.0.0.9")])
    }

    @Test func aVanishedInterfaceClosesItsSocketsAndOneAddedAgainIsNew() {
        let gone = LinkSet([Self.entry("lo", 1, "127.0.0.1", multicast: false)])
        let changes = gone.changes(since: Self.laptop)
        #expect(changes.closed == [
            Link(interface: "wlan0", index: 3, family: .ipv4, address: "192.168.1.20"), Link(interface: "wlan0", index: 3, family: .ipv6),
        ])
        #expect(changes.opened.isEmpty && changes.readdressed.isEmpty)
        #expect(changes.left == ["wlan0"] && changes.joined.isEmpty)

        // Same name, new index (a re-plugged device): other sockets, but the interface never left.
        let replugged = LinkSet([Self.entry("wlan0", 4, "192.168.1.20"), Self.entry("wlan0", 4, "fe80::1")])
        let again = replugged.changes(since: Self.laptop)
        #expect(again.opened.map(\.index) == [4, 4] && again.closed.map(\.index) == [3, 3])
        #expect(again.readdressed.isEmpty && again.joined.isEmpty && again.left.isEmpty)
    }
}
