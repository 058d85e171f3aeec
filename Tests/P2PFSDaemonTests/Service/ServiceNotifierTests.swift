import P2PFSDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify datagram, received on a Unix datagram socket standing in
/// for systemd's.
@Suite struct ServiceNotifierTests {
    /// A bound Unix datagram socket, as systemd's notification socket.
    final class Receiver {
        let descriptor: CInt
        let address: String

        /// `address` a path, or "@name" for the abstract namespace.
        init(address: String) throws {
            self.address = address
            self.descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var unix = sockaddr_un()
            unix.sun_family = sa_family_t(AF_UNIX)
            var path = Array(address.utf8)
            let isAbstract = path.first == UInt8(ascii: "@")
            if isAbstract { path[0] = 0 }
            withUnsafeMutableBytes(of: &unix.sun_path) { $0.copyBytes(from: path) }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (isAbstract ? 0 : 1))
            let bound = withUnsafePointer(to: &unix) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.descriptor, $0, length) } }
            try #require(bound == 0, "bind \(address): errno \(errno)")
        }

        /// The next datagram, waiting at most 10 s.
        func receive() throws -> String {
            var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            try #require(poll(&poller, 1, 10_000) == 1, "no datagram within 10 s")
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(self.descriptor, &buffer, buffer.count, 0)
            try #require(count >= 0)
            return String(decoding: buffer[..<count], as: UTF8.self)
        }

        deinit {
            close(self.descriptor)
            if !self.address.hasPrefix("@") { unlink(self.address) }
        }
    }

    @Test func sendsOneDatagramToAPathSocket() throws {
        let directory = TemporaryDirectory()
        let receiver = try Receiver(address: directory.path + "/notify")
        let notifier = try #require(ServiceNotifier(socketPath: receiver.address))
        try notifier.notify(["READY=1", "STATUS=serving NFS on 127.0.0.1:2049"])
        #expect(try receiver.receive() == "READY=1\nSTATUS=serving NFS on 127.0.0.1:2049")
        try notifier.notify(["STOPPING=1"])
        #expect(try receiver.receive() == "STOPPING=1")
    }

    @Test func sendsToAnAbstractSocket() throws {
        let receiver = try Receiver(address: "@p2pfs-notify-test-\(getpid())")
        let notifier = try #require(ServiceNotifier(socketPath: receiver.address))
        try notifier.notify(["WATCHDOG=1"])
        #expect(try receiver.receive() == "WATCHDOG=1")
    }

    @Test func noSocketNoNotifier() {
        #expect(ServiceNotifier(socketPath: nil) == nil)
        #expect(ServiceNotifier(socketPath: "") == nil)
        #expect(ServiceNotifier(socketPath: "relative/path") == nil)
    }

    @Test func aSocketNobodyListensOnIsAnError() throws {
        let directory = TemporaryDirectory()
        let notifier = try #require(ServiceNotifier(socketPath: directory.path + "/nobody"))
        #expect(throws: ServiceNotifierError.system(operation: "sendto \(directory.path)/nobody", errno: ENOENT)) {
            try notifier.notify(["READY=1"])
        }
    }

    @Test func watchdogEveryHalfTheTimeoutForThisProcessOnly() {
        #expect(ServiceNotifier.watchdogInterval(usec: "30000000", pid: nil, ownPID: 42) == .seconds(15))
        #expect(ServiceNotifier.watchdogInterval(usec: "30000000", pid: "42", ownPID: 42) == .seconds(15))
        #expect(ServiceNotifier.watchdogInterval(usec: "30000000", pid: "43", ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogInterval(usec: nil, pid: nil, ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogInterval(usec: "0", pid: nil, ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogInterval(usec: "soon", pid: nil, ownPID: 42) == nil)
    }
}
