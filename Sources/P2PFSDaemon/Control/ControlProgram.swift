import Namespace
import NIOCore
import ONCRPC
import PeerProtocol
import XDR

/// Answers `p2pfs peers` and `p2pfs ls` (see `Docs/p2pfs_control.x`).
///
/// With `access` (the peer listener of a closed network) only connections
/// that completed the network-key handshake are answered; others get
/// AUTH_ERROR/AUTH_TOOWEAK for everything but NULL.
public struct ControlProgram: RPCProgram {
    public let program = ControlProcedure.program
    public let versions = ControlProcedure.version...ControlProcedure.version

    let localNode: @Sendable () -> NodeInfo
    let store: NamespaceStore?
    let directory: PeerDirectory
    let statistics: PeerServerStatistics
    let cache: BlockCache
    var access: PeerAccessControl? = nil

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        if let access = self.access, call.procedure != ControlProcedure.null.rawValue, !access.isAuthorized(context) {
            return .done(.authError(.tooWeak))
        }
        var arguments = call.arguments
        var head = context.makeResultBuffer(capacity: 1024)
        switch ControlProcedure(rawValue: call.procedure) {
        case .null:
            break
        case .status:
            self.status().encode(into: &head)
        case .list:
            guard let path = try? arguments.readXDRVariableOpaque(limit: NamespacePath.maximumPathLength).readableName else {
                return .done(.garbageArguments)
            }
            self.list(path).encode(into: &head)
        case nil:
            return .done(.procedureUnavailable)
        }
        return .done(.success(RPCResultBody(head: head)))
    }

    func status() -> ControlStatus {
        let snapshot = self.store?.current
        let cache = self.cache.statistics
        let nodes = self.directory.entries.map { entry in
            ControlNode(
                info: entry.info, state: entry.state.rawValue, catalogEntries: Int64(entry.catalogEntries ?? -1),
                lastSeenMilliseconds: entry.lastSeenSecondsAgo.map { Int64($0 * 1000) } ?? -1,
                foundBy: PeerOrigin.describe(entry.origins), refusedNames: entry.refusedNames
            )
        }
        return ControlStatus(
            node: self.localNode(), namespaceEntries: UInt64(snapshot?.count ?? 0), namespaceGeneration: snapshot?.generation ?? 0,
            readsServed: self.statistics.readCount, bytesServed: self.statistics.bytesServed, cacheBytes: UInt64(cache.bytes),
            cacheHits: cache.hits, cacheMisses: cache.misses, nodes: nodes
        )
    }

    func list(_ path: String) -> ControlListResult {
        guard let snapshot = self.store?.current else { return .failed(.noEntry) }
        let node: NamespaceNode
        do {
            node = try snapshot.lookup(path: path)
        } catch {
            return .failed(PeerStatus(error))
        }
        let nodes = node.kind == .directory ? Array(snapshot.children(of: node)) : [node]
        let entries = nodes.map { child in
            ControlEntry(
                name: child.name, kind: child.kind, size: child.size, mtime: child.mtime,
                holders: Array(Set(snapshot.sources(of: child).map(\.origin.name))).sorted()
            )
        }.sorted { ExactPath($0.name) < ExactPath($1.name) }  // by bytes, as `ls` under LC_ALL=C
        return .entries(entries)
    }
}
