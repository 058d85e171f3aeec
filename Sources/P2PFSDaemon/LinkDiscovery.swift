import Discovery
import Logging
import NIOCore
import NIOPosix
import PeerProtocol

/// A node's mDNS presence on its links (`--discovery on`): one socket per
/// multicast interface and address family, each browsing `_p2pfs._tcp` and,
/// for a node that offers files, announcing this node's instance with the
/// addresses it has on that interface.
///
/// What the browsers find comes out of `events`, tagged with the socket it
/// came from, for `DiscoveredNodes`; `stop` sends the goodbyes.
final class LinkDiscovery: Sendable {
    /// What this node announces; nil when it offers nothing (browse only).
    struct Announcement: Sendable {
        var nodeName: String
        var nodeID: String
        var port: Int
        var roles: [String]
        /// The peer addresses it advertises; each interface announces those it holds.
        var addresses: [PeerAddress]
    }

    let channels: [Channel]
    /// Names of the interfaces with at least one socket open.
    let interfaces: [String]
    let events: AsyncStream<(browser: Int, event: DiscoveryEvent)>
    private let continuation: AsyncStream<(browser: Int, event: DiscoveryEvent)>.Continuation

    private init(
        channels: [Channel], interfaces: [String], events: AsyncStream<(browser: Int, event: DiscoveryEvent)>,
        continuation: AsyncStream<(browser: Int, event: DiscoveryEvent)>.Continuation
    ) {
        self.channels = channels
        self.interfaces = interfaces
        self.events = events
        self.continuation = continuation
    }

    /// Opens a socket on every multicast-capable, non-loopback interface, for
    /// each address family it has. An interface that refuses is logged and
    /// skipped; the others still work.
    static func start(announcement: Announcement?, group: EventLoopGroup, logger: Logger) async -> LinkDiscovery {
        // Bounded: at most 4096 events wait for the crawler, the oldest
        // dropped first (`DiscoveredNodes` caps what it holds after a loss).
        let (events, continuation) = AsyncStream.makeStream(of: (browser: Int, event: DiscoveryEvent).self, bufferingPolicy: .bufferingNewest(4096))
        var channels: [Channel] = []
        var interfaces: [String] = []
        let devices = ((try? System.enumerateDevices()) ?? []).filter { $0.multicastSupported && !Self.isLoopback($0) }
        var byName: [String: [NIONetworkDevice]] = [:]
        for device in devices { byName[device.name, default: []].append(device) }
        for (name, devices) in byName.sorted(by: { $0.key < $1.key }) {
            let advertisement = announcement.flatMap { Self.advertisement($0, on: devices) }
            var opened = false
            for family in [MDNSSocket.Family.ipv4, .ipv6] {
                guard let device = devices.first(where: { Self.family(of: $0) == family }) else { continue }
                let browser = channels.count
                let groupAddress = family == .ipv4 ? MDNSChannelHandler.ipv4Group : MDNSChannelHandler.ipv6Group
                do {
                    let channel = try await MDNSSocket.open(on: device, family: family, group: group) {
                        MDNSChannelHandler(group: groupAddress, interfaceIndex: device.interfaceIndex, advertisement: advertisement) {
                            continuation.yield((browser, $0))
                        }
                    }.get()
                    channels.append(channel)
                    opened = true
                } catch {
                    logger.warning("mDNS discovery: not on \(name) (\(family == .ipv4 ? "IPv4" : "IPv6")): \(error)")
                }
            }
            if opened { interfaces.append(name) }
        }
        return LinkDiscovery(channels: channels, interfaces: interfaces, events: events, continuation: continuation)
    }

    /// Keeps these instances from being evicted by a flood of announcements
    /// (their nodes answered a HELLO).
    func pin(_ names: [DNSName]) {
        guard !names.isEmpty else { return }
        for channel in self.channels {
            channel.eventLoop.execute {
                guard let handler = try? channel.pipeline.syncOperations.handler(type: MDNSChannelHandler.self) else { return }
                for name in names { handler.pin(name) }
            }
        }
    }

    /// Sends the goodbyes (TTL 0) on every socket at once, waits at most a
    /// second for them to leave, and closes the sockets.
    func stop() async {
        let channels = self.channels
        let sent = channels.map { channel in
            channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                let handler = try? channel.pipeline.syncOperations.handler(type: MDNSChannelHandler.self)
                return handler?.stop() ?? channel.eventLoop.makeSucceededVoidFuture()
            }
        }
        await withTaskGroup(of: Void.self) { race in
            race.addTask {
                for goodbye in sent { _ = try? await goodbye.get() }
            }
            race.addTask { try? await Task.sleep(for: .seconds(1)) }
            await race.next()
            race.cancelAll()
        }
        for channel in channels { try? await channel.close() }
        self.continuation.finish()
    }

    /// The advertisement for one interface: this node's peer addresses that
    /// belong to it, or nil when none does (it only browses there).
    static func advertisement(_ announcement: Announcement, on devices: [NIONetworkDevice]) -> ServiceAdvertisement? {
        let held = Set(devices.compactMap { $0.address?.ipAddress })
        let addresses = announcement.addresses.filter { held.contains($0.host) }
        guard let port = addresses.first?.port, let port = UInt16(exactly: port) else { return nil }
        let bytes = devices.compactMap { device -> [UInt8]? in
            guard let address = device.address, let ip = address.ipAddress, addresses.contains(where: { $0.host == ip }) else { return nil }
            switch address {
            case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
            case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            default: return nil
            }
        }
        return ServiceAdvertisement(
            nodeName: announcement.nodeName, nodeID: announcement.nodeID, port: port, protocolVersion: PeerProcedure.version,
            roles: announcement.roles, addresses: bytes)
    }

    private static func family(of device: NIONetworkDevice) -> MDNSSocket.Family? {
        switch device.address {
        case .v4: .ipv4
        case .v6: .ipv6
        default: nil
        }
    }

    private static func isLoopback(_ device: NIONetworkDevice) -> Bool {
        guard let ip = device.address?.ipAddress else { return true }
        return ip.hasPrefix("127.") || ip == "::1"
    }
}
