import Foundation

/// A private network for one test: a namespace per host, each with one veth
/// to a bridge living in a namespace of its own, addresses from
/// 198.18.0.0/24. Nothing touches the machine's own interfaces; `tearDown`
/// (also run on deinit) deletes every namespace, which removes the links.
final class TestNetwork: @unchecked Sendable {
    struct Host {
        let name: String
        let namespace: String
        let address: String
    }

    private static let prefix = "p2pfs-t"
    let tag: String
    let switchNamespace: String
    private(set) var hosts: [String: Host] = [:]
    private var torn = false

    init() throws {
        Self.removeStale()
        self.tag = "\(getpid())x\(Int.random(in: 0..<100_000))"
        self.switchNamespace = "\(Self.prefix)-\(self.tag)-sw"
        try ChildProcess.check(["ip", "netns", "add", self.switchNamespace])
        try self.inSwitch(["ip", "link", "add", "br0", "type", "bridge"])
        try self.inSwitch(["ip", "link", "set", "br0", "up"])
        try self.inSwitch(["ip", "link", "set", "lo", "up"])
    }

    /// Adds a host with the next address (198.18.0.1, .2, ...); with
    /// `connected` false, it has only loopback until `connect`.
    @discardableResult
    func addHost(_ name: String, connected: Bool = true) throws -> Host {
        let index = self.hosts.count + 1
        let namespace = "\(Self.prefix)-\(self.tag)-\(name)"
        try ChildProcess.check(["ip", "netns", "add", namespace])
        try ChildProcess.check(["ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
        let host = Host(name: name, namespace: namespace, address: "198.18.0.\(index)")
        self.hosts[name] = host
        if connected { try self.connect(host) }
        return host
    }

    /// Gives a host its link to the bridge: a veth `eth0`, up, with its address.
    func connect(_ host: Host) throws {
        let inside = "eth0"
        let outside = "p\(self.tag.suffix(6))\(host.address.split(separator: ".").last ?? "")"
        try ChildProcess.check([
            "ip", "link", "add", inside, "netns", host.namespace, "type", "veth", "peer", "name", outside, "netns", self.switchNamespace,
        ])
        try self.inSwitch(["ip", "link", "set", outside, "master", "br0", "up"])
        try ChildProcess.check(["ip", "netns", "exec", host.namespace, "ip", "addr", "add", "\(host.address)/24", "dev", inside])
        try ChildProcess.check(["ip", "netns", "exec", host.namespace, "ip", "link", "set", inside, "up"])
    }

    /// Removes a host's link altogether (the interface vanishes, as a USB
    /// ethernet pulled out does).
    func disconnect(_ host: Host) throws {
        try ChildProcess.check(["ip", "netns", "exec", host.namespace, "ip", "link", "delete", "eth0"])
    }

    /// Cuts a host off the network without telling anyone (no FIN, no RST).
    func unplug(_ host: Host) throws {
        try ChildProcess.check(["ip", "netns", "exec", host.namespace, "ip", "link", "set", "eth0", "down"])
    }

    /// Limits what a host sends to `bitsPerSecond` (tbf on its `eth0`): a
    /// slow link, such as Wi-Fi, from that host to everyone else.
    func limitRate(of host: Host, bitsPerSecond: Int) throws {
        try ChildProcess.check([
            "ip", "netns", "exec", host.namespace, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "\(bitsPerSecond)bit",
            "burst", "64kb", "latency", "50ms",
        ])
    }

    /// Runs a command inside a host.
    func run(_ host: Host, _ arguments: [String], timeout: Double = 60) throws -> ChildProcess.Output {
        try ChildProcess.run(["ip", "netns", "exec", host.namespace] + arguments, timeout: timeout)
    }

    func tearDown() {
        guard !self.torn else { return }
        self.torn = true
        for host in self.hosts.values {
            _ = try? ChildProcess.run(["ip", "netns", "delete", host.namespace], timeout: 10)
        }
        _ = try? ChildProcess.run(["ip", "netns", "delete", self.switchNamespace], timeout: 10)
    }

    deinit {
        self.tearDown()
    }

    private func inSwitch(_ arguments: [String]) throws {
        try ChildProcess.check(["ip", "netns", "exec", self.switchNamespace] + arguments)
    }

    /// Deletes namespaces left by test processes that no longer exist.
    private static func removeStale() {
        guard let list = try? ChildProcess.run(["ip", "netns", "list"], timeout: 10) else { return }
        for line in list.text.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix + "-") else { continue }
            let tag = name.dropFirst(prefix.count + 1).split(separator: "-").first ?? ""
            guard let pid = Int32(tag.split(separator: "x").first ?? ""), kill(pid, 0) != 0 else { continue }
            _ = try? ChildProcess.run(["ip", "netns", "delete", name], timeout: 10)
        }
    }
}
