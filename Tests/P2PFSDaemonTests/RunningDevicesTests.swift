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
    /// Wi-Fi stays, and an interface the state list does not know yet is kept.
    @Test func dropsTheAddressesOfInterfacesThatAreNotRunning() throws {
        let devices = [
            try Self.device("eth0", 2, "198.18.0.1"), try Self.device("wlan0", 3, "198.18.1.1"),
            try Self.device("eth0", 2, "198.18.0.2"), try Self.device("wlan0", 3, "fe80::1"),
            try Self.device("usb0", 4, "198.18.2.1"),
        ]
        let running = RunningDevices.filter(devices, states: ["eth0": false, "wlan0": true])
        #expect(running.map { $0.address?.ipAddress } == ["198.18.1.1", "fe80::1", "198.18.2.1"])
    }

    /// The system's list behind it: loopback is up here, and a name no
    /// interface has is not in it (so it would be kept, as above).
    @Test func asksTheSystem() {
        let states = RunningDevices.interfaceStates()
        #expect(states["lo"] == true)
        #expect(states["p2pfs-none0"] == nil)
        #expect(RunningDevices.current().contains { $0.name == "lo" })
    }
}
