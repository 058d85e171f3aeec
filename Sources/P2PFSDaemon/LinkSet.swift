import Discovery
import NIOCore

/// The machine's multicast links at one moment, as mDNS discovery uses
/// them: one socket per (interface, address family) that has an address
/// of that family, and the addresses each interface holds. A plain value.
///
/// Comparing two snapshots tells the daemon what to do after the machine
/// changed networks: which sockets to open, which to close, and where the
/// addresses to announce changed.
struct LinkSet: Equatable, Sendable {
    /// One interface address, as `getifaddrs` lists it.
    struct Entry: Equatable, Sendable {
        var interface: String
        var index: Int
        var multicast: Bool
        /// The numeric address ("198.18.0.1", "fe80::1"), nil for none.
        var address: String?

        init(interface: String, index: Int, multicast: Bool, address: String?) {
            self.interface = interface
            self.index = index
            self.multicast = multicast
            self.address = address
        }

        init(_ device: NIONetworkDevice) {
            self.init(
                interface: device.name, index: device.interfaceIndex, multicast: device.multicastSupported, address: device.address?.ipAddress)
        }

        var family: MDNSSocket.Family? {
            guard let address else { return nil }
            return address.contains(":") ? .ipv6 : .ipv4
        }

        var isLoopback: Bool {
            guard let address else { return true }
            return address.hasPrefix("127.") || address == "::1"
        }
    }

    /// Where one socket lives. The index is part of it: an interface
    /// removed and added again under the same name is another link. So is,
    /// for IPv4, the address the socket sends from (the lowest the
    /// interface holds): once it is gone the kernel refuses to send from
    /// it, so the socket is replaced.
    struct Link: Hashable, Comparable, Sendable {
        var interface: String
        var index: Int
        var family: MDNSSocket.Family
        /// IPv4 only: the address the socket is pinned to; nil for IPv6,
        /// pinned by index.
        var address: String?

        static func < (a: Link, b: Link) -> Bool {
            (a.interface, a.index, a.family == .ipv4 ? 0 : 1, a.address ?? "")
                < (b.interface, b.index, b.family == .ipv4 ? 0 : 1, b.address ?? "")
        }

        var description: String { "\(self.interface) (\(self.family == .ipv4 ? "IPv4" : "IPv6"))" }
    }

    /// What to do to go from one snapshot to the next.
    struct Changes: Equatable, Sendable {
        /// Sockets to open, sorted.
        var opened: [Link] = []
        /// Sockets to close (after their goodbyes), sorted.
        var closed: [Link] = []
        /// Interfaces kept whose addresses changed: announce the new set there.
        var readdressed: [String] = []
        /// Interfaces that had no socket and now have one (to log).
        var joined: [String] = []
        /// Interfaces that had a socket and now have none (to log).
        var left: [String] = []

        var isEmpty: Bool { self.opened.isEmpty && self.closed.isEmpty && self.readdressed.isEmpty }
    }

    /// The sockets this snapshot calls for.
    let links: Set<Link>
    /// Per usable interface, the addresses it holds (every family).
    let addresses: [String: Set<String>]

    /// Keeps the multicast-capable, non-loopback interfaces, with the
    /// address families they have an address of.
    init(_ entries: [Entry]) {
        var pinned: [Link: [UInt8]] = [:]
        var addresses: [String: Set<String>] = [:]
        for entry in entries where entry.multicast && !entry.isLoopback {
            guard let family = entry.family, let address = entry.address else { continue }
            addresses[entry.interface, default: []].insert(address)
            let link = Link(interface: entry.interface, index: entry.index, family: family)
            guard family == .ipv4 else {
                pinned[link] = []
                continue
            }
            let key = Self.sortKey(address)
            if let current = pinned[link], !key.lexicographicallyPrecedes(current) { continue }
            pinned[link] = key
        }
        self.links = Set(pinned.keys.map { link in
            var link = link
            if link.family == .ipv4, let key = pinned[link] { link.address = key.map(String.init).joined(separator: ".") }
            return link
        })
        self.addresses = addresses
    }

    /// An IPv4 address's bytes, to order addresses numerically.
    private static func sortKey(_ address: String) -> [UInt8] {
        address.split(separator: ".").map { UInt8($0) ?? 0 }
    }

    /// Names of the interfaces with a socket, sorted.
    var interfaces: [String] { Set(self.links.map(\.interface)).sorted() }

    /// What changed since `previous`.
    func changes(since previous: LinkSet) -> Changes {
        let kept = self.links.intersection(previous.links)
        let keptInterfaces = Set(kept.map(\.interface))
        let now = Set(self.interfaces)
        let before = Set(previous.interfaces)
        return Changes(
            opened: self.links.subtracting(previous.links).sorted(),
            closed: previous.links.subtracting(self.links).sorted(),
            readdressed: keptInterfaces.filter { self.addresses[$0] != previous.addresses[$0] }.sorted(),
            joined: now.subtracting(before).sorted(),
            left: before.subtracting(now).sorted())
    }
}
