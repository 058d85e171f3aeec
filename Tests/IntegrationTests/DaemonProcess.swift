import Foundation

/// A p2pfs daemon started by a test, in its own process (optionally inside a
/// network namespace), stopped and reaped when the test is done.
///
/// Discovery is off unless the arguments say `--discovery on`, which only a
/// daemon inside a network namespace may: no test multicasts on the
/// machine's own interfaces.
final class DaemonProcess: @unchecked Sendable {
    let name: String
    let arguments: [String]
    let logURL: URL
    private let process = Process()

    /// Starts `p2pfs daemon ARGUMENTS`; `namespace` runs it via `ip netns exec`;
    /// `wrapper` is a command that ends by exec'ing its arguments (the daemon
    /// keeps the pid, so stopping it still works); `environment` is added to
    /// the test's; `journal` sets `JOURNAL_STREAM` to the log file, as
    /// systemd names the journal stream it connects.
    init(
        name: String, arguments: [String], namespace: String? = nil, wrapper: [String] = [], environment: [String: String] = [:],
        journal: Bool = false, logDirectory: URL
    ) throws {
        let arguments = try Self.withDiscoveryDecided(arguments, inNamespace: namespace != nil)
        self.name = name
        self.arguments = arguments
        self.logURL = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: self.logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: self.logURL)
        if let namespace {
            self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            self.process.arguments = ["ip", "netns", "exec", namespace, TestEnvironment.p2pfs, "daemon"] + arguments
        } else if !wrapper.isEmpty {
            self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            self.process.arguments = wrapper + [TestEnvironment.p2pfs, "daemon"] + arguments
        } else {
            self.process.executableURL = URL(fileURLWithPath: TestEnvironment.p2pfs)
            self.process.arguments = ["daemon"] + arguments
        }
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        var environment = environment
        if journal {
            var info = stat()
            guard fstat(log.fileDescriptor, &info) == 0 else { throw TestFailure("fstat \(self.logURL.path): errno \(errno)") }
            environment["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        }
        if !environment.isEmpty {
            self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try self.process.run()
    }

    /// `arguments` with `--discovery off` added when they say nothing about
    /// discovery; refuses `--discovery on` outside a namespace.
    static func withDiscoveryDecided(_ arguments: [String], inNamespace: Bool) throws -> [String] {
        guard let flag = arguments.firstIndex(of: "--discovery") else { return arguments + ["--discovery", "off"] }
        let value = flag + 1 < arguments.count ? arguments[flag + 1] : ""
        guard value == "off" || inNamespace else {
            throw TestFailure("--discovery \(value) outside a network namespace the test created: it would multicast on the machine's interfaces")
        }
        return arguments
    }

    var isRunning: Bool { self.process.isRunning }
    /// The exit status once it exited (a signal's number when killed by one).
    var terminationStatus: Int32 { self.process.terminationStatus }
    var pid: Int32 { self.process.processIdentifier }

    var log: String {
        (try? String(contentsOf: self.logURL, encoding: .utf8)) ?? ""
    }

    /// Waits (bounded) until `condition` holds, failing with the daemon's log.
    func waitUntil(_ what: String, timeout: Double = 20, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            guard self.isRunning else {
                throw TestFailure("daemon \(self.name) exited (status \(self.process.terminationStatus)) while waiting for \(what):\n\(self.log)")
            }
            usleep(50_000)
        }
        throw TestFailure("timed out after \(timeout)s waiting for \(what); daemon \(self.name) log:\n\(self.log)")
    }

    /// Waits until the log contains `text`.
    func waitForLog(_ text: String, timeout: Double = 20) throws {
        try self.waitUntil("'\(text)' in the log", timeout: timeout) { self.log.contains(text) }
    }

    /// Waits until `text` is in the log `times` times (a line logged again).
    func waitForLog(_ text: String, times: Int, timeout: Double = 20) throws {
        try self.waitUntil("'\(text)' \(times) times in the log", timeout: timeout) {
            self.log.components(separatedBy: text).count - 1 >= times
        }
    }

    /// SIGTERM, then SIGKILL if it does not stop within `grace` seconds.
    func stop(grace: Double = 5) {
        guard self.process.isRunning else { return }
        kill(self.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while self.process.isRunning && Date() < deadline { usleep(20_000) }
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
        self.process.waitUntilExit()
    }

    /// SIGKILL: the node vanishes without a goodbye.
    func kill9() {
        guard self.process.isRunning else { return }
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    deinit {
        self.stop(grace: 2)
    }
}
