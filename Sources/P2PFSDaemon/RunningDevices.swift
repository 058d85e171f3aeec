#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
        Self.filter((try? System.enumerateDevices()) ?? [], states: Self.interfaceStates())
    }

    /// `devices` without those of interfaces that `states` says are not
    /// running. An interface missing from `states` (it appeared between
    /// the two lists) is kept: better one address too many than a link
    /// never used.
    static func filter(_ devices: [NIONetworkDevice], states: [String: Bool]) -> [NIONetworkDevice] {
        devices.filter { states[$0.name] ?? true }
    }

    /// Each interface's state, from one `getifaddrs`: true when it is up
    /// and has a carrier (IFF_UP and IFF_RUNNING); empty if the list
    /// cannot be read.
    static func interfaceStates() -> [String: Bool] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [:] }
        defer { freeifaddrs(list) }
        let wanted = UInt32(IFF_UP) | UInt32(IFF_RUNNING)
        var states: [String: Bool] = [:]
        var entry = list
        while let current = entry {
            if let name = current.pointee.ifa_name {
                states[String(cString: name)] = current.pointee.ifa_flags & wanted == wanted
            }
            entry = current.pointee.ifa_next
        }
        return states
    }
}
