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
            bootstrap = bootstrap.channelOption(.socketOption(.ipv6_v6only), value: 1)
        }
        return bootstrap.bind(host: family == .ipv4 ? "0.0.0.0" : "::", port: port).flatMap { channel in
            let options = channel as! SocketOptionProvider
            let configured: EventLoopFuture<Void>
            switch family {
            case .ipv4:
                configured = options.setIPMulticastIF(ipv4Address)
                    .flatMap { options.setIPMulticastTTL(255) }
                    .flatMap { options.setIPMulticastLoop(1) }
                    .flatMap { (channel as! MulticastChannel).joinGroup(MDNSChannelHandler.ipv4Group, device: device) }
            case .ipv6:
                configured = options.setIPv6MulticastIF(CUnsignedInt(device.interfaceIndex))
                    .flatMap { options.setIPv6MulticastHops(255) }
                    .flatMap { options.setIPv6MulticastLoop(1) }
                    .flatMap { (channel as! MulticastChannel).joinGroup(MDNSChannelHandler.ipv6Group, device: device) }
            }
            return configured
                .flatMap { channel.pipeline.fireUserInboundEventTriggered(MDNSChannelHandler.Start()); return channel.eventLoop.makeSucceededVoidFuture() }
                .map { channel }
                .flatMapError { error in channel.close().flatMapThrowing { throw error } }
        }
    }
}
