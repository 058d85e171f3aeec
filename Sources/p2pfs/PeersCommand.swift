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

    @Option(help: ArgumentHelp("The daemon's NFS address.", valueName: "HOST:PORT"))
    var nfs: String?

    @Option(help: ArgumentHelp("The daemon's peer address, for a node that only offers files.", valueName: "HOST:PORT"))
    var node: String?

    @Option(
        name: .customLong("network-key-file"),
        help: ArgumentHelp("With --node, on a closed network: the network's key, to be let in.", valueName: "PATH")
    )
    var networkKeyFile: String?

    func validate() throws {
        if self.nfs != nil && self.node != nil {
            throw ValidationError("give either --nfs or --node, not both")
        }
        if self.networkKeyFile != nil && self.node == nil {
            throw ValidationError("--network-key-file goes with --node (the NFS address is loopback and needs no key)")
        }
    }

    func run() async throws {
        let target = try ControlTarget.resolve(nfs: self.nfs, node: self.node)
        let key = try DaemonCommand.loadNetworkKey(self.networkKeyFile)
        let status = try await ControlTarget.ask(target, networkKey: key, viaPeerListener: self.node != nil) { try await $0.status() }
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

/// Where a CLI command reaches the daemon.
enum ControlTarget {
    static func resolve(nfs: String?, node: String?) throws -> PeerAddress {
        if let node {
            return try DaemonCommand.address(node, flag: "--node", defaultPort: DaemonConfiguration.defaultPeerPort)
        }
        return try nfs.map { try DaemonCommand.address($0, flag: "--nfs", defaultPort: 2049) } ?? DaemonConfiguration.defaultNFSAddress
    }

    static func ask<T>(
        _ address: PeerAddress, networkKey: NetworkKey? = nil, viaPeerListener: Bool = false, _ body: (ControlClient) async throws -> T
    ) async throws -> T {
        do {
            return try await body(ControlClient(address: address, networkKey: networkKey, viaPeerListener: viaPeerListener))
        } catch let error as RPCClientError {
            switch error {
            case .notAccepted(.programUnavailable):
                throw FailureMessage(message: "\(address) is not a p2pfs daemon (no control program there)")
            case .denied(.authError(.tooWeak)):
                throw FailureMessage(
                    message: "the daemon at \(address) answers only holders of its network key: give --network-key-file"
                )
            default:
                throw FailureMessage(message: "no answer from a p2pfs daemon at \(address): \(error)")
            }
        } catch let error as PeerClientError {
            switch error {
            case .rpc(.notAccepted(.programUnavailable)):
                throw FailureMessage(message: "\(address) is not a p2pfs peer listener (no peer program there)")
            case .keyRequired, .untrusted, .tls, .impersonation:
                throw FailureMessage(message: "\(error)")
            default:
                throw FailureMessage(message: "no answer from a p2pfs daemon at \(address): \(error)")
            }
        } catch let error as FailureMessage {
            throw error
        } catch {
            throw FailureMessage(message: "cannot reach a p2pfs daemon at \(address): \(error)")
        }
    }
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
