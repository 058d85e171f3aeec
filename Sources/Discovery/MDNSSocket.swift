import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the UDP socket mDNS needs on one interface and address family.
///
/// Port 5353 is shared with any other responder on the host (avahi-daemon,
/// mDNSResponder) through SO_REUSEADDR and SO_REUSEPORT. The group is
/// joined on the given device only, outgoing multicast is pinned to it
/// (IP_MULTICAST_IF / IPV6_MULTICAST_IF), looped back to the host's other
/// listeners, and sent with TTL/hop limit 255 (RFC 6762 §11). Only then is
/// the handler told to start, so nothing leaves by another interface.
public enum MDNSSocket {
    public enum Family: Sendable { case ipv4, ipv6 }

    public enum SetupError: Error, Equatable {
        /// The device has no address of the family, so no interface to pin sending to.
        case noAddress(device: String, family: String)
        /// One step of the multicast setup failed; `step` names it.
        case setup(step: String, device: String, reason: String)
    }

    public static func open(
        on device: NIONetworkDevice, family: Family, port: Int = 5353, group: EventLoopGroup,
        makeHandler: @escaping @Sendable () -> MDNSChannelHandler
    ) -> EventLoopFuture<Channel> {
        let loop = group.next()
        var interfaceAddress = in_addr()
        if family == .ipv4 {
            guard case .v4(let address) = device.address else {
                return loop.makeFailedFuture(SetupError.noAddress(device: device.name, family: "IPv4"))
            }
            interfaceAddress = address.address.sin_addr
        }
        let ipv4Address = interfaceAddress
        var bootstrap = DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
            .channelOption(.receivePacketInfo, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(makeHandler()) }
            }
        if family == .ipv6 {
            // IPv4 traffic stays on the IPv4 socket, not mapped into this one.
            bootstrap = bootstrap.channelOption(.socket(SocketOptionLevel(IPPROTO_IPV6), SocketOptionName(IPV6_V6ONLY)), value: 1)
        }
        return bootstrap.bind(host: family == .ipv4 ? "0.0.0.0" : "::", port: port).flatMap { channel in
            let options = channel as! SocketOptionProvider
            // Each step named in the error, so a refusal says which option it was.
            func step(_ name: String, _ future: @escaping () -> EventLoopFuture<Void>) -> () -> EventLoopFuture<Void> {
                {
                    future().flatMapErrorThrowing { error in
                        throw SetupError.setup(step: name, device: device.name, reason: "\(error)")
                    }
                }
            }
            let steps: [() -> EventLoopFuture<Void>]
            switch family {
            case .ipv4:
                steps = [
                    step("IP_MULTICAST_IF") { options.setIPMulticastIF(ipv4Address) },
                    step("IP_MULTICAST_TTL") { options.setIPMulticastTTL(255) },
                    step("IP_MULTICAST_LOOP") { options.setIPMulticastLoop(1) },
                    step("IP_ADD_MEMBERSHIP") { (channel as! MulticastChannel).joinGroup(MDNSChannelHandler.ipv4Group, device: device) },
                ]
            case .ipv6:
                steps = [
                    step("IPV6_MULTICAST_IF") { options.setIPv6MulticastIF(CUnsignedInt(device.interfaceIndex)) },
                    step("IPV6_MULTICAST_HOPS") { options.setIPv6MulticastHops(255) },
                    step("IPV6_MULTICAST_LOOP") { options.setIPv6MulticastLoop(1) },
                    step("IPV6_JOIN_GROUP") { (channel as! MulticastChannel).joinGroup(MDNSChannelHandler.ipv6Group, device: device) },
                ]
            }
            let configured = steps.reduce(channel.eventLoop.makeSucceededVoidFuture()) { done, next in done.flatMap { next() } }
            return configured
                .flatMap { channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start()); return channel.eventLoop.makeSucceededVoidFuture() }
                .map { channel }
                .flatMapError { error in channel.close().flatMapThrowing { throw error } }
        }
    }
}
