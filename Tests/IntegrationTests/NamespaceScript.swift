import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Python script running in the background inside a test host (a
/// sniffer, a proxy, a fake announcer): started, waited for until it prints
/// `ready`, and stopped with SIGTERM (then SIGKILL) by the test.
final class NamespaceScript {
    let name: String
    private let process = Process()
    private let output: URL

    init(_ name: String, in host: TestNetwork.Host, script: String, arguments: [String], logDirectory: URL) throws {
        self.name = name
        self.output = logDirectory.appendingPathComponent("\(name)-\(host.name).out")
        _ = FileManager.default.createFile(atPath: self.output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: self.output)
        // From a file: run with -c, a SIGTERM handler of the script did not
        // take effect here (the process died without cleaning up).
        let file = logDirectory.appendingPathComponent("\(name)-\(host.name).py")
        try Data(script.utf8).write(to: file)
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = ["ip", "netns", "exec", host.namespace, "python3", "-u", file.path] + arguments
        self.process.standardOutput = handle
        self.process.standardError = handle
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
        let deadline = Date().addingTimeInterval(30)
        while !self.text.contains("ready") {
            guard self.process.isRunning, Date() < deadline else {
                self.stop()
                throw TestFailure("\(name) did not start: \(self.text)")
            }
            usleep(50_000)
        }
    }

    /// What the script printed so far.
    var text: String { (try? String(contentsOf: self.output, encoding: .utf8)) ?? "" }

    /// Stops it (SIGTERM, then SIGKILL after 10 s) and waits for it.
    func stop() {
        guard self.process.isRunning else { return }
        kill(self.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while self.process.isRunning && Date() < deadline { usleep(20_000) }
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        self.process.waitUntilExit()
    }

    deinit { self.stop() }
}
