// p2pfs-peer-simulator: many peer-protocol nodes in one process, for the
// namespace-scale benchmark (Docs/performance.md, workload 6).
//
// Each simulated node is a real peer-protocol endpoint (its own listener,
// identity, catalog and PEERS list) serving synthetic files, so a p2pfs
// client crawls them exactly as it would crawl real machines.
//
//   p2pfs-peer-simulator --peers 100 --files 10000 --host 127.0.0.1 --base-port 7600

import Logging
import Namespace
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ONCRPC
import PeerProtocol

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var peers = 100
    var files = 10_000
    var directories = 100
    var host = "127.0.0.1"
    var basePort = 7600
    var fileSize: UInt64 = 4096

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { Self.usage("\(flag) needs a value") }
            func number<T: FixedWidthInteger>(_ type: T.Type) -> T {
                guard let parsed = T(value) else { Self.usage("\(flag): '\(value)' is not a number") }
                return parsed
            }
            switch flag {
            case "--peers": self.peers = number(Int.self)
            case "--files": self.files = number(Int.self)
            case "--directories": self.directories = number(Int.self)
            case "--host": self.host = value
            case "--base-port": self.basePort = number(Int.self)
            case "--file-size": self.fileSize = number(UInt64.self)
            default: Self.usage("unknown option \(flag)")
            }
        }
        guard (1...1000).contains(self.peers), self.files >= 0, self.directories >= 1, self.basePort + self.peers <= 65535 else {
            Self.usage("out of range")
        }
    }

    static func usage(_ message: String) -> Never {
        complain("p2pfs-peer-simulator: \(message)\nusage: p2pfs-peer-simulator [--peers N] [--files N] [--directories N] [--host H] [--base-port P] [--file-size BYTES]")
        exit(2)
    }
}

/// Writes a line to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}

/// `value` in decimal, left-padded with zeros to `width` digits.
func padded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Deterministic file content: byte i of every file is i mod 251.
struct SyntheticFiles: FileReader {
    let size: UInt64
    let mtime: Timestamp

    func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        let start = min(offset, self.size)
        let end = min(start + UInt64(count), self.size)
        var data = ByteBufferAllocator().buffer(capacity: Int(end - start))
        for index in start..<end {
            data.writeInteger(UInt8(index % 251))
        }
        return eventLoop.makeSucceededFuture(
            FileReadResult(data: data, isEndOfFile: end == self.size, version: FileVersion(size: self.size, mtime: self.mtime))
        )
    }
}

let options = Options(CommandLine.arguments)
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
var logger = Logger(label: "p2pfs-peer-simulator")
logger.logLevel = .warning
let mtime = Timestamp(seconds: 1_700_000_000)
let reader = SyntheticFiles(size: options.fileSize, mtime: mtime)

// Each simulated node has its own key, as a real one: its id is derived
// from it and every connection is TLS.
let credentials: [NodeCredentials] = (0..<options.peers).map { _ in
    do {
        return try NodeCredentials.generate()
    } catch {
        complain("p2pfs-peer-simulator: cannot make a node key: \(error)")
        exit(1)
    }
}
let nodes: [NodeInfo] = (0..<options.peers).map { index in
    NodeInfo(
        identity: NodeIdentity(id: credentials[index].nodeID, name: "sim-" + padded(index, 3)),
        roles: .server,
        addresses: [PeerAddress(host: options.host, port: options.basePort + index)]
    )
}

var servers: [RPCServer] = []
for (index, node) in nodes.enumerated() {
    // Files of every node share the same directories, as on a real network.
    var entries: [CatalogEntry] = [CatalogEntry(path: "scale", kind: .directory, mtime: mtime, mode: 0o755)]
    entries.reserveCapacity(options.files + options.directories + 1)
    for directory in 0..<options.directories {
        entries.append(CatalogEntry(path: "scale/dir-" + padded(directory, 3), kind: .directory, mtime: mtime, mode: 0o755))
    }
    for file in 0..<options.files {
        entries.append(
            CatalogEntry(
                path: "scale/dir-" + padded(file % options.directories, 3) + "/file-" + padded(file, 5) + "-" + node.identity.name,
                kind: .regular, size: options.fileSize, mtime: mtime, mode: 0o644
            )
        )
    }
    let catalog = SourceCatalog(origin: node.identity, generation: 1, entries: entries, reader: reader, isLocal: true)
    let directory = PeerDirectory()
    directory.publish(nodes.filter { $0 != node }.map { PeerDirectory.Entry(info: $0, state: .alive) })
    let program = PeerProgram(localNode: { node }, catalog: { catalog }, directory: directory, statistics: PeerServerStatistics())
    do {
        servers.append(
            try await RPCServer.start(
                configuration: try PeerTLS(credentials: credentials[index]).serverConfiguration(
                    host: options.host, port: options.basePort + index, maximumRecordSize: 64 * 1024, logger: logger
                ),
                dispatcher: RPCDispatcher(programs: [program]), group: group, logger: logger
            )
        )
    } catch {
        complain("p2pfs-peer-simulator: cannot listen on \(options.host):\(options.basePort + index): \(error)")
        exit(1)
    }
}
complain("ready: \(options.peers) peers x \(options.files) files on \(options.host):\(options.basePort)-\(options.basePort + options.peers - 1)")

// Serve until terminated.
signal(SIGTERM) { _ in exit(0) }
signal(SIGINT) { _ in exit(0) }
while true {
    try await Task.sleep(for: .seconds(3600))
}
