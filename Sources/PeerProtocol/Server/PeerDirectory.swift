import CoreMetrics
import Namespace
import NIOConcurrencyHelpers

/// What this node knows about the others, shared between the crawler (which
/// writes it) and the peer program (which answers PEERS and records HELLOs).
public final class PeerDirectory: Sendable {
    /// A node as `p2pfs peers` shows it.
    public struct Entry: Sendable, Equatable {
        public enum State: String, Sendable, CaseIterable {
            /// Answered during the last crawl round.
            case alive
            /// Stopped answering; dropped once the peer timeout passes.
            case unreachable
            /// Told about by another node or heard from, not yet verified.
            case unverified
            /// A client-only node that contacted this one (nothing to crawl).
            case client
        }

        public var info: NodeInfo
        public var state: State
        public var catalogEntries: Int?
        public var lastSeenSecondsAgo: Double?
        /// How this node came to know it.
        public var origins: Set<PeerOrigin>
        /// Entries of its catalog refused for their names, by reason.
        public var refusedNames: NameRefusals

        public init(
            info: NodeInfo, state: State, catalogEntries: Int? = nil, lastSeenSecondsAgo: Double? = nil, origins: Set<PeerOrigin> = [],
            refusedNames: NameRefusals = NameRefusals()
        ) {
            self.refusedNames = refusedNames
            self.info = info
            self.state = state
            self.catalogEntries = catalogEntries
            self.lastSeenSecondsAgo = lastSeenSecondsAgo
            self.origins = origins
        }
    }

    /// A HELLO received from another node, waiting to be verified.
    public struct Heard: Sendable, Equatable {
        public var info: NodeInfo
        /// The address the HELLO came from, in case the node advertised none
        /// that work.
        public var observedHost: String?

        public init(info: NodeInfo, observedHost: String?) {
            self.info = info
            self.observedHost = observedHost
        }
    }

    private struct State {
        var entries: [Entry] = []
        var generation: UInt64 = 1
        var heard: [Heard] = []
        var clients: [NodeID: NodeInfo] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let wake: @Sendable () -> Void
    /// `p2pfs_peers{state=...}`, one gauge per state, set on every change.
    private let gauges: [(Entry.State, Gauge)] = Entry.State.allCases.map {
        ($0, Gauge(label: "p2pfs_peers", dimensions: [("state", $0.rawValue)]))
    }

    /// `wake` is called when something new was heard, so the crawler can
    /// verify it without waiting for the next round.
    public init(wake: @escaping @Sendable () -> Void = {}) {
        self.wake = wake
    }

    /// Alive, verified nodes, for PEERS.
    public var alive: (generation: UInt64, nodes: [NodeInfo]) {
        self.state.withLockedValue { state in
            (state.generation, state.entries.filter { $0.state == .alive }.map(\.info))
        }
    }

    public var peersGeneration: UInt64 {
        self.state.withLockedValue { $0.generation }
    }

    /// Everything known, clients included, sorted by name.
    public var entries: [Entry] {
        self.state.withLockedValue { state in
            let clients = state.clients.values.map { Entry(info: $0, state: .client, origins: [.caller]) }
            return (state.entries + clients).sorted { ($0.info.identity.name, $0.info.identity.id) < ($1.info.identity.name, $1.info.identity.id) }
        }
    }

    /// Replaces the crawler's view; PEERS' generation moves if the alive set did.
    public func publish(_ entries: [Entry]) {
        defer { self.updateGauges() }
        self.state.withLockedValue { state in
            let before = Set(state.entries.filter { $0.state == .alive }.map(\.info))
            let after = Set(entries.filter { $0.state == .alive }.map(\.info))
            state.entries = entries
            if before != after {
                state.generation += 1
            }
            for entry in entries where entry.state == .alive {
                state.clients.removeValue(forKey: entry.info.identity.id)
            }
        }
    }

    /// Records a HELLO from another node.
    public func heard(_ info: NodeInfo, observedHost: String?) {
        let isNew = self.state.withLockedValue { state -> Bool in
            if info.addresses.isEmpty && !info.roles.contains(.server) {
                let isNew = state.clients[info.identity.id] == nil
                state.clients[info.identity.id] = info
                return isNew
            }
            if state.entries.contains(where: { $0.info.identity.id == info.identity.id && $0.state == .alive }) {
                return false
            }
            guard !state.heard.contains(where: { $0.info == info }) else { return false }
            if state.heard.count < 1024 {
                state.heard.append(Heard(info: info, observedHost: observedHost))
            }
            return true
        }
        if isNew {
            self.updateGauges()
            self.wake()
        }
    }

    /// Counts the nodes in each state (clients included) into the gauges.
    private func updateGauges() {
        let counts = self.state.withLockedValue { state -> [Entry.State: Int] in
            var counts: [Entry.State: Int] = [:]
            for entry in state.entries { counts[entry.state, default: 0] += 1 }
            counts[.client, default: 0] += state.clients.count
            return counts
        }
        for (state, gauge) in self.gauges {
            gauge.record(counts[state] ?? 0)
        }
    }

    /// Takes the HELLOs heard since the last call.
    public func takeHeard() -> [Heard] {
        self.state.withLockedValue { state in
            defer { state.heard = [] }
            return state.heard
        }
    }
}
