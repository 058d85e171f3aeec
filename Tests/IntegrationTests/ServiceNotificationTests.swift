import Foundation
import TestPrerequisites
import Testing

/// A daemon started the way systemd starts a `Type=notify` service: told
/// where to send READY/RELOADING/STOPPING/WATCHDOG (`NOTIFY_SOCKET`, here a
/// socket of the test's), and that its stderr is the journal (`JOURNAL_STREAM`).
@Suite(.serialized, .requires(.libnfsUtils))
struct ServiceNotificationTests {
    static let host = "127.0.53.1"
    static let nfsPort = 20493

    /// A bound Unix datagram socket standing in for systemd's.
    final class NotifySocket {
        let descriptor: CInt
        let path: String

        init(path: String) throws {
            self.path = path
            self.descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw TestFailure("bind \(path): errno \(errno)") }
        }

        /// The next datagram, or a failure after `timeout` seconds.
        func receive(timeout: Double = 30) throws -> String {
            var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { throw TestFailure("no notification within \(timeout) s") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(self.descriptor, &buffer, buffer.count, 0)
            return String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
        }

        /// Datagrams until one that starts with `prefix`, skipping others (watchdog pings).
        func receive(startingWith prefix: String) throws -> String {
            for _ in 0..<50 {
                let message = try self.receive()
                if message.hasPrefix(prefix) { return message }
            }
            throw TestFailure("no notification starting with \(prefix) among 50")
        }

        deinit {
            close(self.descriptor)
            unlink(self.path)
        }
    }

    @Test func readyOnceServingThenReloadingWatchdogAndStopping() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("notify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let share = directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: share.appendingPathComponent("hello.txt"))
        let config = directory.appendingPathComponent("p2pfs.toml")
        try Data("export = [\"share=\(share.path)\"]\n".utf8).write(to: config)
        let notify = try NotifySocket(path: directory.appendingPathComponent("notify").path)

        let daemon = try DaemonProcess(
            name: "notified",
            arguments: [
                "--config", config.path, "--nfs", "\(Self.host):\(Self.nfsPort)", "--listen", "\(Self.host):17480",
                "--portmap", "off", "--state-dir", directory.appendingPathComponent("state").path,
            ],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"],
            journal: true,
            logDirectory: directory
        )
        defer { daemon.stop() }

        let ready = try notify.receive(startingWith: "READY=1")
        #expect(ready == "READY=1\nSTATUS=serving NFS on \(Self.host):\(Self.nfsPort), peers on \(Self.host):17480")
        // Ready means answering: a client connecting now is served.
        let read = try ChildProcess.check(["nfs-cat", TestEnvironment.nfsURL(host: Self.host, port: Self.nfsPort, path: "/share/hello.txt")])
        #expect(read.text == "hello\n")
        // WatchdogSec=1s: a ping every half second.
        #expect(try notify.receive(startingWith: "WATCHDOG=1") == "WATCHDOG=1")

        kill(daemon.pid, SIGHUP)
        let reloading = try notify.receive(startingWith: "RELOADING=1")
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
        #expect(UInt64(reloading.split(separator: "=").last ?? "") != nil)
        #expect(try notify.receive(startingWith: "READY=1").hasPrefix("READY=1\nSTATUS=serving"))

        kill(daemon.pid, SIGTERM)
        #expect(try notify.receive(startingWith: "STOPPING=1") == "STOPPING=1")
        daemon.stop()

        // Journal lines: a syslog priority, no timestamp.
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>info p2pfs: ready") }, "\(daemon.log)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(daemon.log)")
    }

    /// Without JOURNAL_STREAM (or with another stream's), lines keep their timestamp.
    @Test func aForeignJournalStreamKeepsTimestamps() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("nojournal")
        defer { try? FileManager.default.removeItem(at: directory) }
        let daemon = try DaemonProcess(
            name: "plain",
            arguments: ["--nfs", "\(Self.host):\(Self.nfsPort + 1)", "--portmap", "off", "--state-dir", directory.appendingPathComponent("state").path],
            environment: ["JOURNAL_STREAM": "1:1"],
            logDirectory: directory
        )
        defer { daemon.stop() }
        try daemon.waitForLog("ready")
        let line = try #require(daemon.log.split(separator: "\n").first { $0.contains("ready") })
        #expect(line.first?.isNumber == true, "\(line)")
    }
}
