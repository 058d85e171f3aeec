import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private link for one test: a namespace per host, each with a veth
/// `eth0` to a bridge in a namespace of its own, addresses 198.18.0.N/24.
/// Nothing touches the machine's own interfaces; `tearDown` deletes every
/// namespace, which removes the links. (Modelled on IntegrationTests'
/// TestNetwork; test targets cannot share code.)
final class DiscoveryNetwork: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let tag: String
    let switchNamespace: String
    let hostNamespaces: [String]

    /// - Parameter ipv4: false for an IPv6-only link (link-local addresses only).
    init(hosts: Int, ipv4: Bool = true) throws {
        let tag = "\(getpid() % 100_000)x\(Int.random(in: 0..<10_000))"
        self.tag = tag
        self.switchNamespace = "p2pfs-md-\(tag)-sw"
        self.hostNamespaces = (1...hosts).map { "p2pfs-md-\(tag)-h\($0)" }
        do {
            try Self.ip(["netns", "add", switchNamespace])
            // No snooping: the bridge floods every group, IPv6 included.
            try Self.ip(["-n", switchNamespace, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
            try Self.ip(["-n", switchNamespace, "link", "set", "br0", "up"])
            for (index, namespace) in hostNamespaces.enumerated() {
                let outside = "v\(tag.suffix(5))\(index)"
                try Self.ip(["netns", "add", namespace])
                try Self.ip(["link", "add", "eth0", "netns", namespace, "type", "veth", "peer", "name", outside, "netns", switchNamespace])
                try Self.ip(["-n", switchNamespace, "link", "set", outside, "master", "br0", "up"])
                if ipv4 {
                    try Self.ip(["-n", namespace, "addr", "add", "\(address(index))/24", "dev", "eth0"])
                }
                // The link-local address is usable at once, without duplicate detection.
                let sysctl = try Self.run([
                    "/usr/sbin/ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0",
                    "net.ipv6.conf.eth0.disable_ipv6=0",
                ])
                guard sysctl.status == 0 else { throw Failure(description: "sysctl in \(namespace): \(sysctl.output)") }
                try Self.ip(["-n", namespace, "link", "set", "eth0", "up"])
                try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// 198.18.0.1 for the first host, and so on.
    func address(_ index: Int) -> String { "198.18.0.\(index + 1)" }

    func tearDown() {
        for namespace in hostNamespaces + [switchNamespace] {
            _ = try? Self.run(["/usr/sbin/ip", "netns", "delete", namespace])
        }
    }

    static func ip(_ arguments: [String]) throws {
        let result = try run(["/usr/sbin/ip"] + arguments)
        guard result.status == 0 else { throw Failure(description: "ip \(arguments.joined(separator: " ")): \(result.output)") }
    }

    /// Runs a program, at most `timeout` seconds; output and error merged.
    static func run(_ arguments: [String], timeout: Double = 20) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = OutputBox()
        let reader = Thread {
            output.set(pipe.fileHandleForReading.readDataToEndOfFile())
        }
        reader.start()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (-1, "timed out after \(timeout) s")
        }
        process.waitUntilExit()
        let readDeadline = Date().addingTimeInterval(5)
        while output.get() == nil, Date() < readDeadline { usleep(5_000) }
        return (process.terminationStatus, String(decoding: output.get() ?? Data(), as: UTF8.self))
    }

    /// Runs `body` on a new thread that has entered `namespace`'s network
    /// namespace: sockets it creates (NIO creates them on the calling
    /// thread) and the interfaces it lists belong to that namespace.
    static func inNamespace<T: Sendable>(_ namespace: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let thread = Thread {
            box.set(
                Result {
                    let fd = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
                    guard fd >= 0 else { throw Failure(description: "open netns \(namespace): errno \(errno)") }
                    defer { close(fd) }
                    typealias SetNS = @convention(c) (Int32, Int32) -> Int32
                    guard let symbol = dlsym(nil, "setns"),
                        unsafeBitCast(symbol, to: SetNS.self)(fd, 0x4000_0000) == 0  // CLONE_NEWNET
                    else { throw Failure(description: "setns \(namespace): errno \(errno)") }
                    return try body()
                })
        }
        thread.start()
        return try box.wait().get()
    }
}

final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data? { lock.withLock { data } }
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?
    func set(_ value: Result<T, any Error>) {
        result = value
        done.signal()
    }
    func wait() -> Result<T, any Error> {
        done.wait()
        return result!
    }
}
