import CP2PFSSystem
import NIOCore
import NIOPosix

/// The machine's interface addresses that can be reached now: those of
/// interfaces up and with a carrier.
///
/// An interface switched off, a Wi-Fi not associated, a cable pulled out
/// or a bridge with no ports (docker0 with no container) keeps its
/// addresses, and `getifaddrs` still lists them. Advertised to other nodes,
/// such an address costs each of them a connection attempt that cannot
/// succeed; an mDNS socket there sends into nothing. So discovery and the
/// advertised addresses look only at these, and an interface that goes
/// down counts as gone until it is back.
enum RunningDevices {
    /// The addresses on running interfaces; empty if the system cannot list them.
    static func current() -> [NIONetworkDevice] {
        Self.filter((try? System.enumerateDevices()) ?? []) { name in
            name.withCString { p2pfs_interface_is_running($0) } != 0
        }
    }

    /// `devices` without those whose interface `isRunning` says is not.
    static func filter(_ devices: [NIONetworkDevice], isRunning: (String) -> Bool) -> [NIONetworkDevice] {
        var running: [String: Bool] = [:]
        return devices.filter { device in
            if let known = running[device.name] { return known }
            let answer = isRunning(device.name)
            running[device.name] = answer
            return answer
        }
    }
}
