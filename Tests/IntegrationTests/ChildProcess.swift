import Foundation

/// A program run by a test: bounded in time, output captured.
struct ChildProcess {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
        var timedOut: Bool

        var text: String { String(decoding: self.stdout, as: UTF8.self) }
        var succeeded: Bool { self.status == 0 && !self.timedOut }
    }

    /// Runs `arguments` (the first is looked up in PATH) and waits at most
    /// `timeout` seconds; a process still running then is killed.
    static func run(_ arguments: [String], timeout: Double = 60, stdin: Data? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try? input.fileHandleForWriting.close()
        }
        // Drain both pipes concurrently so a chatty child never blocks.
        let collected = OutputCollector()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 10)
        return Output(status: process.terminationStatus, stdout: collected.out, stderr: String(decoding: collected.err, as: UTF8.self), timedOut: timedOut)
    }

    /// Runs and requires success, with the command's stderr in the error.
    @discardableResult
    static func check(_ arguments: [String], timeout: Double = 60) throws -> Output {
        let output = try run(arguments, timeout: timeout)
        guard output.succeeded else {
            throw TestFailure("`\(arguments.joined(separator: " "))` failed (status \(output.status)\(output.timedOut ? ", timed out" : "")): \(output.stderr)")
        }
        return output
    }
}

private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var out = Data()
    private(set) var err = Data()

    func set(_ data: Data, isOut: Bool) {
        self.lock.lock()
        defer { self.lock.unlock() }
        if isOut { self.out = data } else { self.err = data }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
