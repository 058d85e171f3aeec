import ArgumentParser
import Namespace
import ONCRPC
import P2PFSDaemon
import PeerProtocol

/// Where `p2pfs peers` and `p2pfs ls` reach the daemon, and as whom: its
/// loopback NFS address, or a node's peer listener (TLS) presenting the
/// identity `ControlIdentity` chooses.
struct ControlOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's NFS address.", valueName: "HOST:PORT"))
    var nfs: String?

    @Option(help: ArgumentHelp("The daemon's peer address (a node on another machine, or one that only offers files).", valueName: "HOST:PORT"))
    var node: String?

    @Option(
        name: .customLong("network-key-file"),
        help: ArgumentHelp("With --node, on a closed network: the network's key, to be let in.", valueName: "PATH")
    )
    var networkKeyFile: String?

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "With --node: present the node identity kept in this state directory, for a node whose --trust list holds it (default: \(NodeStateDirectory.defaultPath()) when its key is readable, else a throwaway identity).",
            valueName: "DIR"
        )
    )
    var stateDirectory: String?

    /// The daemon asked, for messages.
    var description: String {
        self.node.map { "the node at \($0)" } ?? "the daemon at \(self.nfs ?? DaemonConfiguration.defaultNFSAddress.description)"
    }

    func validate() throws {
        if self.nfs != nil && self.node != nil {
            throw ValidationError("give either --nfs or --node, not both")
        }
        if self.networkKeyFile != nil && self.node == nil {
            throw ValidationError("--network-key-file goes with --node (the NFS address is loopback and needs no key)")
        }
        if self.stateDirectory != nil && self.node == nil {
            throw ValidationError("--state-dir goes with --node (the NFS address is loopback and needs no identity)")
        }
    }

    /// Runs `body` against the daemon, with every failure told in one line.
    func ask<T>(_ body: (ControlClient) async throws -> T) async throws -> T {
        guard let node = self.node else {
            let address = try self.nfs.map { try DaemonCommand.address($0, flag: "--nfs", defaultPort: 2049) }
                ?? DaemonConfiguration.defaultNFSAddress
            return try await ControlTarget.ask(ControlClient(address: address), body)
        }
        let address = try DaemonCommand.address(node, flag: "--node", defaultPort: DaemonConfiguration.defaultPeerPort)
        let key = try DaemonCommand.loadNetworkKey(self.networkKeyFile)
        let identity: ControlIdentity
        do {
            identity = try ControlIdentity.choose(stateDirectory: self.stateDirectory.map(DaemonCommand.expandingTildeInPath))
        } catch {
            throw FailureMessage(
                message: self.stateDirectory != nil ? "--state-dir: \(error)" : "\(error) (the default state directory; pass --state-dir)"
            )
        }
        return try await ControlTarget.ask(ControlClient(address: address, networkKey: key, identity: identity), body)
    }
}

/// A CLI command's call to the daemon, with its failures told as one line.
enum ControlTarget {
    static func ask<T>(_ client: ControlClient, _ body: (ControlClient) async throws -> T) async throws -> T {
        let address = client.address
        do {
            return try await body(client)
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
            case .notTrusted(_, let presented):
                let source = client.identity?.source.description ?? "no identity"
                throw FailureMessage(
                    message: "\(address) admits only the nodes on its --trust list, and this tool presented node \(presented) (\(source)). Run it where a trusted node's state directory is readable, or pass --state-dir."
                )
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
