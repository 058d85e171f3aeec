import Discovery
import Namespace
import PeerProtocol

/// Turns what the mDNS browsers report (one per interface and address
/// family, each naming instances) into what the crawler needs: a node
/// appeared, or its last announcement went. A plain value.
///
/// The same instance is usually seen by several browsers (IPv4 and IPv6 on
/// one link). A withdrawal only asks the crawler to check the node (see
/// `PeerCrawlState.withdrawn`), so it goes out as soon as any browser loses
/// the instance: a goodbye lost on one family still counts on the other.
/// The node stays proposed while another browser or another instance name
/// still holds it.
struct DiscoveredNodes: Sendable {
    enum Change: Equatable, Sendable {
        /// A candidate for the crawler (new, or with new addresses).
        case appeared(NodeInfo)
        case withdrawn(NodeID)
    }

    /// Instance names held at once. Each browser caches at most 256, so this
    /// is only reached when events were lost; then new names wait.
    static let maximumInstances = 1024

    /// Per instance name: the node it announces, and which browsers hold it.
    private var sightings: [DNSName: (info: NodeInfo, browsers: Set<Int>)] = [:]

    /// The changes one browser's event brings.
    mutating func apply(_ event: DiscoveryEvent, browser: Int) -> [Change] {
        switch event {
        case .added(let instance), .updated(let instance):
            guard let info = Self.nodeInfo(instance) else { return self.drop(instance.name, browser: browser) }
            guard self.sightings[instance.name] != nil || self.sightings.count < Self.maximumInstances else { return [] }
            var changes: [Change] = []
            if let old = self.sightings[instance.name], old.info.identity.id != info.identity.id {
                // The instance now names another node: the old one loses it.
                self.sightings[instance.name] = nil
                changes += self.withdrawnIfUnseen(old.info.identity.id)
            }
            var sighting = self.sightings[instance.name] ?? (info, [])
            sighting.info = info
            sighting.browsers.insert(browser)
            self.sightings[instance.name] = sighting
            return changes + [.appeared(info)]
        case .removed(let name):
            return self.drop(name, browser: browser)
        case .renamed:
            return []
        }
    }

    /// A browser's socket closed (its interface went): like a goodbye, from
    /// it, for every instance it held. Its number is never used again.
    mutating func close(browser: Int) -> [Change] {
        let held = self.sightings.filter { $0.value.browsers.contains(browser) }.keys.sorted { $0.description < $1.description }
        var changes: [Change] = []
        for name in held {
            for change in self.drop(name, browser: browser) where !changes.contains(change) { changes.append(change) }
        }
        return changes
    }

    /// The instance names of `nodes`, to pin in the browsers.
    func names(of nodes: Set<NodeID>) -> [DNSName] {
        self.sightings.filter { nodes.contains($0.value.info.identity.id) }.map(\.key)
    }

    /// Every node announced now: proposed to the crawler again each round,
    /// so one dropped while unreachable is tried again while its
    /// announcement lives.
    var announced: [NodeInfo] {
        self.sightings.values.map(\.info).sorted { $0.identity.id < $1.identity.id }
    }

    private mutating func drop(_ name: DNSName, browser: Int) -> [Change] {
        guard var sighting = self.sightings[name], sighting.browsers.contains(browser) else { return [] }
        sighting.browsers.remove(browser)
        if !sighting.browsers.isEmpty {
            self.sightings[name] = sighting
            return [.withdrawn(sighting.info.identity.id)]
        }
        self.sightings[name] = nil
        return self.withdrawnIfUnseen(sighting.info.identity.id)
    }

    private func withdrawnIfUnseen(_ node: NodeID) -> [Change] {
        self.sightings.values.contains { $0.info.identity.id == node } ? [] : [.withdrawn(node)]
    }

    /// The node an instance announces, as a crawl candidate: its id, a name
    /// (the instance label if it is a valid node name; the HELLO tells the
    /// real one), the server role, and its addresses at its port. Nil for
    /// another protocol version or no usable address (IPv6 link-local ones
    /// need an interface scope a peer address does not carry).
    static func nodeInfo(_ instance: DiscoveredInstance) -> NodeInfo? {
        guard instance.protocolVersion == PeerProcedure.version, let id = NodeID(hex: instance.nodeID), instance.port != 0 else {
            return nil
        }
        let addresses = instance.addresses.compactMap { bytes -> PeerAddress? in
            switch bytes.count {
            case 4:
                return PeerAddress(host: bytes.map(String.init).joined(separator: "."), port: Int(instance.port))
            case 16 where !(bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80):
                let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                return PeerAddress(host: groups.joined(separator: ":"), port: Int(instance.port))
            default:
                return nil
            }
        }
        guard !addresses.isEmpty else { return nil }
        let label = instance.name.labels.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let name = NodeIdentity.isValidName(label) ? label : "node-" + instance.nodeID.prefix(8)
        return NodeInfo(
            identity: NodeIdentity(id: id, name: name), roles: .server, addresses: Array(addresses.prefix(PeerLimits.maximumAddresses)))
    }
}
