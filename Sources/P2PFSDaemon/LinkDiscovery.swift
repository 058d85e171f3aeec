import Discovery
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PeerProtocol

/// A node's mDNS presence on its links (`--discovery on`): one socket per
/// multicast interface and address family, each browsing `_p2pfs._tcp` and,
/// for a node that offers files, announcing this node's instance with the
/// addresses it has on that interface.
///
/// The links are followed: `refresh` (every `refreshInterval`, from the
/// daemon) opens sockets on interfaces that appeared, closes those of
/// interfaces that went (after their goodbyes), and announces the new
/// addresses where they changed. Each socket's browser has its own number,
/// never reused; what the browsers find comes out of `events`, tagged with
/// it, for `DiscoveredNodes`, followed by `closed` once a socket is gone.
/// `stop` sends the goodbyes.
final class LinkDiscovery: Sendable {
    /// What this node announces; nil when it offers nothing (browse only).
    struct Announcement: Equatable, Sendable {
        var nodeName: String
        var nodeID: String
        var port: Int
        var roles: [String]
        /// The peer addresses it advertises; each interface announces those it holds.
        var addresses: [PeerAddress]
    }

    enum Event: Sendable {
        /// What one browser saw.
        case found(browser: Int, DiscoveryEvent)
        /// The browser's socket is closed: nothing more comes from it, and
        /// what it saw is no longer seen.
        case closed(browser: Int)
    }

    /// How often the daemon looks at the interfaces again: a laptop that
    /// changed networks is browsed and announced on within this.
    static let refreshInterval = Duration.seconds(5)

    private struct Socket: Sendable {
        var browser: Int
        var channel: Channel
    }

    private struct State: Sendable {
        var links = LinkSet([])
        var sockets: [LinkSet.Link: Socket] = [:]
        var nextBrowser = 0
        var announcement: Announcement?
        /// Links whose socket failed to open: tried again at each refresh
        /// while the link is there (an interface that refused to join the
        /// group while it came up, say).
        var unopened: Set<LinkSet.Link> = []
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())
    private let group: EventLoopGroup
    private let logger: Logger
    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    private init(group: EventLoopGroup, logger: Logger) {
        self.group = group
        self.logger = logger
        // Bounded: at most 4096 events wait for the crawler, the oldest
        // dropped first (`DiscoveredNodes` caps what it holds after a loss).
        let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(4096))
        self.events = events
        self.continuation = continuation
    }

    /// Opens a socket on every multicast-capable, non-loopback interface, for
    /// each address family it has. An interface that refuses is logged and
    /// skipped; the others still work.
    static func start(announcement: Announcement?, group: EventLoopGroup, logger: Logger) async -> LinkDiscovery {
        let discovery = LinkDiscovery(group: group, logger: logger)
        await discovery.refresh(devices: RunningDevices.current(), announcement: announcement, quiet: true)
        return discovery
    }

    /// Names of the interfaces with at least one socket open, sorted.
    var interfaces: [String] {
        self.state.withLockedValue { Set($0.sockets.keys.map(\.interface)).sorted() }
    }

    /// Brings the sockets in line with the interfaces now (`devices`, from
    /// `RunningDevices.current`) and what to announce: closes the sockets
    /// of links that went (goodbyes first), opens the new ones, and
    /// announces again where an interface's addresses or the announcement
    /// changed. Logs one line per interface joined or left unless `quiet`.
    /// A socket that failed to open is tried again at every refresh while
    /// its link is there; the failure is logged once. Calls must not
    /// overlap (one task follows the links).
    @discardableResult
    func refresh(devices: [NIONetworkDevice], announcement: Announcement?, quiet: Bool = false) async -> LinkSet.Changes {
        let current = LinkSet(devices.map(LinkSet.Entry.init))
        let step = self.state.withLockedValue { state -> (LinkSet.Changes, [Socket], [(LinkSet.Link, Socket)], Bool, [LinkSet.Link])? in
            guard !state.stopped else { return nil }
            let changes = current.changes(since: state.links)
            let announcementChanged = state.announcement != announcement
            state.links = current
            state.announcement = announcement
            let closing = changes.closed.compactMap { state.sockets.removeValue(forKey: $0) }
            state.unopened.formIntersection(current.links)
            return (changes, closing, Array(state.sockets), announcementChanged, state.unopened.sorted())
        }
        guard let step else { return LinkSet.Changes() }
        let (changes, closing, kept, announcementChanged, retried) = step

        await Self.close(closing)
        for socket in closing { self.continuation.yield(.closed(browser: socket.browser)) }

        for link in changes.opened + retried {
            let isRetry = !changes.opened.contains(link)
            let interface = Self.devices(of: link, in: devices)
            guard
                let device = interface.first(where: { device in
                    let entry = LinkSet.Entry(device)
                    return entry.family == link.family && (link.address == nil || entry.address == link.address)
                })
            else { continue }
            let browser = self.state.withLockedValue { state in
                defer { state.nextBrowser += 1 }
                return state.nextBrowser
            }
            let advertisement = announcement.flatMap { Self.advertisement($0, on: interface) }
            let groupAddress = link.family == .ipv4 ? MDNSChannelHandler.ipv4Group : MDNSChannelHandler.ipv6Group
            let continuation = self.continuation
            do {
                let channel = try await MDNSSocket.open(on: device, family: link.family, group: self.group) {
                    MDNSChannelHandler(group: groupAddress, interfaceIndex: device.interfaceIndex, advertisement: advertisement) {
                        continuation.yield(.found(browser: browser, $0))
                    }
                }.get()
                let socket = Socket(browser: browser, channel: channel)
                let kept = self.state.withLockedValue { state in
                    guard !state.stopped else { return false }
                    state.sockets[link] = socket
                    state.unopened.remove(link)
                    return true
                }
                if !kept { try? await channel.close() }
                if kept && isRetry && !quiet { self.logger.info("mDNS discovery: now on \(link.description)") }
            } catch {
                self.state.withLockedValue { _ = $0.unopened.insert(link) }
                let reason =
                    (error as? IOError)?.errnoCode == EADDRINUSE
                    ? "UDP port 5353 is held by a program that does not share it (SO_REUSEPORT)" : "\(error)"
                if isRetry {
                    self.logger.debug("mDNS discovery: still not on \(link.description): \(reason)")
                } else {
                    self.logger.warning("mDNS discovery: not on \(link.description) (tried again every \(Self.refreshInterval)): \(reason)")
                }
            }
        }

        let readdressed = Set(changes.readdressed)
        for (link, socket) in kept where announcementChanged || readdressed.contains(link.interface) {
            let advertisement = announcement.flatMap { Self.advertisement($0, on: Self.devices(of: link, in: devices)) }
            let channel = socket.channel
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.handler(type: MDNSChannelHandler.self).update(advertisement)
            }
        }

        if !quiet {
            let open = Set(self.interfaces)
            for name in changes.left { self.logger.info("mDNS discovery: no longer on \(name)") }
            for name in changes.joined where open.contains(name) { self.logger.info("mDNS discovery: now on \(name)") }
            for name in changes.readdressed {
                self.logger.info(
                    "mDNS discovery: addresses on \(name) changed", metadata: ["addresses": "\(current.addresses[name]?.sorted() ?? [])"])
            }
        }
        return changes
    }

    /// Keeps these instances from being evicted by a flood of announcements
    /// (their nodes answered a HELLO).
    func pin(_ names: [DNSName]) {
        guard !names.isEmpty else { return }
        let channels = self.state.withLockedValue { state in state.sockets.values.map { $0.channel } }
        for channel in channels {
            channel.eventLoop.execute {
                guard let handler = try? channel.pipeline.syncOperations.handler(type: MDNSChannelHandler.self) else { return }
                for name in names { handler.pin(name) }
            }
        }
    }

    /// Sends the goodbyes (TTL 0) on every socket at once, waits at most a
    /// second for them to leave, and closes the sockets.
    func stop() async {
        let sockets = self.state.withLockedValue { state in
            defer {
                state.stopped = true
                state.sockets = [:]
            }
            return Array(state.sockets.values)
        }
        await Self.close(sockets)
        self.continuation.finish()
    }

    /// Goodbyes on every socket at once, at most a second for them to leave, then closed.
    private static func close(_ sockets: [Socket]) async {
        guard !sockets.isEmpty else { return }
        let channels = sockets.map(\.channel)
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
    }

    /// The addresses of the interface a link is on.
    private static func devices(of link: LinkSet.Link, in devices: [NIONetworkDevice]) -> [NIONetworkDevice] {
        devices.filter { $0.name == link.interface && $0.interfaceIndex == link.index }
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
}
