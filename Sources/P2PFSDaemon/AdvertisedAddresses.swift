import NIOCore
import NIOPosix
import PeerProtocol

/// The addresses a node tells others to reach its peer listener at.
///
/// A listener bound to a specific address advertises exactly that. One bound
/// to the wildcard advertises the addresses of every running non-loopback
/// interface (`RunningDevices`), or loopback when the machine has nothing
/// else. The daemon computes them again whenever it looks at the interfaces
/// (see `LinkDiscovery`), so HELLO, PEERS and mDNS carry the addresses the
/// machine has now.
public enum AdvertisedAddresses {
    /// - Parameter devices: the running interfaces now; nil to ask the system (`RunningDevices`).
    public static func addresses(for listen: PeerAddress, boundPort: Int, devices: [NIONetworkDevice]? = nil) -> [PeerAddress] {
        let isWildcard = listen.host == "0.0.0.0" || listen.host == "::" || listen.host.isEmpty
        guard isWildcard else { return [PeerAddress(host: listen.host, port: boundPort)] }
        let wantsIPv6 = listen.host == "::"
        var hosts: [String] = []
        for device in devices ?? RunningDevices.current() {
            guard let address = device.address, let ip = address.ipAddress else { continue }
            switch address {
            case .v4:
                if !ip.hasPrefix("127.") { hosts.append(ip) }
            case .v6:
                if wantsIPv6 && ip != "::1" && !ip.lowercased().hasPrefix("fe80") { hosts.append(ip) }
            default:
                continue
            }
        }
        if hosts.isEmpty { hosts = ["127.0.0.1"] }
        var seen = Set<String>()
        return hosts.filter { seen.insert($0).inserted }.prefix(PeerLimits.maximumAddresses).map {
            PeerAddress(host: $0, port: boundPort)
        }
    }
}
