import Foundation
import TestPrerequisites
import Testing

/// A daemon a test starts on the machine's own network never multicasts:
/// `DaemonProcess` passes `--discovery off` and refuses `--discovery on`
/// outside a namespace, and the daemon then holds no mDNS socket at all.
@Suite(.serialized)
struct DiscoveryOffTests {
    @Test func aTestDaemonOnTheHostOpensNoMDNSSocket() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("discovery-off")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        let daemon = try DaemonProcess(
            name: "quiet",
            arguments: [
                "--name", "quiet", "--export", "share=\(share.path)", "--nfs", "127.0.33.1:20493", "--listen", "127.0.33.1:17493",
                "--portmap", "off", "--state-dir", directory.appendingPathComponent("state").path,
            ],
            logDirectory: directory
        )
        defer { daemon.stop() }
        #expect(daemon.arguments.suffix(2) == ["--discovery", "off"])
        try daemon.waitForLog("namespace ready")
        #expect(daemon.log.contains("mDNS discovery off"), "\(daemon.log)")
        #expect(!daemon.log.contains("mDNS discovery on"))
        let ports = UDPSockets.boundPorts(of: daemon.pid)
        #expect(!ports.contains(5353), "the daemon holds a UDP socket on 5353: \(ports.sorted())")
    }

    @Test func discoveryOnIsRefusedOutsideANamespace() throws {
        #expect(throws: TestFailure.self) {
            try DaemonProcess.withDiscoveryDecided(["--name", "x", "--discovery", "on"], inNamespace: false)
        }
        #expect(try DaemonProcess.withDiscoveryDecided(["--discovery", "on"], inNamespace: true) == ["--discovery", "on"])
        #expect(try DaemonProcess.withDiscoveryDecided(["--name", "x"], inNamespace: false) == ["--name", "x", "--discovery", "off"])
    }
}
