import Foundation

/// The UDP ports a process holds sockets bound to, read from /proc: its
/// file descriptors' socket inodes matched against the UDP tables of its
/// network namespace. How a test tells that a daemon has (or has not)
/// opened the mDNS port, whatever its log says.
enum UDPSockets {
    static func boundPorts(of pid: Int32) -> Set<Int> {
        let fdDirectory = "/proc/\(pid)/fd"
        var inodes: Set<String> = []
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                target.hasPrefix("socket:[")
            else { continue }
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        var ports: Set<Int> = []
        for table in ["udp", "udp6"] {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ...
                let fields = line.split(separator: " ")
                guard fields.count > 9, inodes.contains(String(fields[9])),
                    let portHex = fields[1].split(separator: ":").last, let port = Int(portHex, radix: 16)
                else { continue }
                ports.insert(port)
            }
        }
        return ports
    }
}
