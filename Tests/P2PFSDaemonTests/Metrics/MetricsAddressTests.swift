import P2PFSDaemon
import PeerProtocol
import Testing

/// What `--metrics VALUE` means: loopback unless an address is spelled out.
@Suite struct MetricsAddressTests {
    @Test func onAndBarePortsMeanLoopback() {
        #expect(DaemonConfiguration.metricsAddress("on") == PeerAddress(host: "127.0.0.1", port: 9475))
        #expect(DaemonConfiguration.metricsAddress("9100") == PeerAddress(host: "127.0.0.1", port: 9100))
    }

    @Test func hostAndPortAreTakenAsGiven() {
        #expect(DaemonConfiguration.metricsAddress("0.0.0.0:9100") == PeerAddress(host: "0.0.0.0", port: 9100))
        #expect(DaemonConfiguration.metricsAddress("[::1]:9100") == PeerAddress(host: "::1", port: 9100))
        #expect(DaemonConfiguration.metricsAddress("127.0.0.2") == PeerAddress(host: "127.0.0.2", port: 9475))
    }

    @Test func unreadableValuesAreRefused() {
        for text in ["", "0", "65536", "99999999999999999999", "host:", "host:port", ":9100", "[::1]:"] {
            #expect(DaemonConfiguration.metricsAddress(text) == nil, "'\(text)'")
        }
    }

    @Test func metricsAreOffUnlessConfigured() {
        #expect(DaemonConfiguration(stateDirectory: "/unused").metrics == nil)
    }
}
