import ArgumentParser
import Namespace
import ONCRPC
import P2PFSDaemon
import PeerProtocol

struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List the nodes a running daemon knows, with their state.",
        discussion: "Asks the daemon's NFS address (--nfs, the default) or its peer address (--node)."
    )

    @OptionGroup var target: ControlOptions

    func run() async throws {
        let status = try await self.target.ask { try await $0.status() }
        let me = status.node
        print("node \(me.identity.name) \(me.identity.id) \(me.roles)  listening: \(me.addresses.map(\.description).joined(separator: ", ").orNone)")
        if status.namespaceGeneration > 0 {
            print("namespace: \(status.namespaceEntries) entries (generation \(status.namespaceGeneration))")
        }
        print("served to peers: \(status.readsServed) reads, \(status.bytesServed) bytes; block cache: \(status.cacheBytes) bytes, \(status.cacheHits) hits, \(status.cacheMisses) misses")
        let rows = status.nodes.map { node in
            [
                node.info.identity.name, String(node.info.identity.id.description.prefix(12)), node.info.roles.description, node.state,
                node.catalogEntries >= 0 ? String(node.catalogEntries) : "-",
                node.lastSeenMilliseconds >= 0 ? String(format1(Double(node.lastSeenMilliseconds) / 1000)) + "s ago" : "-",
                node.foundBy.orNone,
                node.info.addresses.map(\.description).joined(separator: ",").orNone,
            ]
        }
        print(Table.render(header: ["NAME", "ID", "ROLES", "STATE", "FILES", "SEEN", "FOUND BY", "ADDRESSES"], rows: rows))
        // Entries not offered because their names cannot be served: a line
        // per node that had any, so a missing file always has a reason.
        for node in status.nodes where !node.refusedNames.isEmpty {
            print("refused from \(node.info.identity.name): \(node.refusedNames.total) entries (\(node.refusedNames))")
        }
    }
}

private func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

extension String {
    var orNone: String { self.isEmpty ? "-" : self }
}

/// Left-aligned text columns.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
