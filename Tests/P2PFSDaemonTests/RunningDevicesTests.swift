import CP2PFSSystem
import NIOCore
@testable import P2PFSDaemon
import Testing

/// Which interface addresses discovery and the advertised addresses use.
@Suite struct RunningDevicesTests {
    static func device(_ name: String, _ index: Int, _ address: String) throws -> NIONetworkDevice {
        NIONetworkDevice(
            name: name, address: try SocketAddress(ipAddress: address, port: 0), netmask: nil, broadcastAddress: nil,
            pointToPointDestinationAddress: try SocketAddress(ipAddress: "0.0.0.0", port: 0), multicastSupported: true,
            interfaceIndex: index)
    }

    /// A laptop with its cable out: eth0 keeps its address but is dropped,
    /// Wi-Fi stays; each interface is asked about once.
    @Test func dropsTheAddressesOfInterfacesThatAreNotRunning() throws {
        let devices = [
            try Self.device("eth0", 2, "198.18.0.1"), try Self.device("wlan0", 3, "198.18.1.1"),
            try Self.device("eth0", 2, "198.18.0.2"), try Self.device("wlan0", 3, "fe80::1"),
        ]
        var asked: [String] = []
        let running = RunningDevices.filter(devices) { name in
            asked.append(name)
            return name == "wlan0"
        }
        #expect(running.map { $0.address?.ipAddress } == ["198.18.1.1", "fe80::1"])
        #expect(asked == ["eth0", "wlan0"])
    }

    /// The system call behind it: loopback is up here, a name no interface
    /// has is unknown (and then kept: better one address too many than a
    /// link never used).
    @Test func asksTheSystem() {
        #expect(p2pfs_interface_is_running("lo") == 1)
        #expect(p2pfs_interface_is_running("p2pfs-none0") == -1)
        #expect(RunningDevices.current().contains { $0.name == "lo" })
    }
}
