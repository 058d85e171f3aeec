import Namespace
import PeerProtocol
import Testing

@Suite struct PeerCrawlStateTests {
    let me = NodeID(high: 0, low: 99)
    let start = ContinuousClock.now

    func node(_ name: String, _ id: UInt64, _ host: String) -> NodeInfo {
        NodeInfo(identity: NodeIdentity(id: NodeID(high: 0, low: id), name: name), roles: .server, addresses: [PeerAddress(host: host, port: 7475)])
    }

    @Test func firstRoundStartsFromTheSeeds() {
        var state = PeerCrawlState(me: self.me, seeds: [PeerAddress(host: "198.18.0.1", port: 7475)], expiry: .seconds(10))
        #expect(state.beginRound(heard: [], now: self.start) == [.seed(PeerAddress(host: "198.18.0.1", port: 7475))])
    }

    @Test func breadthFirstUntilNoNewNodeAppears() {
        let seed = PeerAddress(host: "198.18.0.1", port: 7475)
        var state = PeerCrawlState(me: self.me, seeds: [seed], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        let b = self.node("b", 2, "198.18.0.2")
        _ = state.beginRound(heard: [], now: self.start)
        #expect(state.reached(.seed(seed), as: a, at: seed, catalogGeneration: 5, peersGeneration: 1, now: self.start)
            == .reached(a.identity.id, catalogChanged: true, peersChanged: true))
        // A tells about B (and about us): only B is new.
        let me = NodeInfo(identity: NodeIdentity(id: self.me, name: "c"), roles: .client, addresses: [])
        let wave = state.take(state.learned([b, me], from: a.identity.id, peersGeneration: 1, now: self.start))
        #expect(wave == [.node(b.identity.id)])
        #expect(state.known[b.identity.id]?.isVerified == false)
        // B answers and tells about A: nothing new, the round ends.
        _ = state.reached(.node(b.identity.id), as: b, at: b.addresses[0], catalogGeneration: 1, peersGeneration: 1, now: self.start)
        #expect(state.take(state.learned([a], from: b.identity.id, peersGeneration: 1, now: self.start)).isEmpty)
        #expect(state.known[b.identity.id]?.isVerified == true)
        // Next round: both known nodes, each once; the seed is now tied to A.
        #expect(Set(state.beginRound(heard: [], now: self.start)) == [.node(a.identity.id), .node(b.identity.id)])
    }

    /// A reloaded configuration replaces the seeds: a new one is contacted at
    /// the next round, a removed one is no longer contacted as a seed (the node
    /// found through it stays known while it answers).
    @Test func replacedSeedsAreContactedOrForgotten() {
        let old = PeerAddress(host: "198.18.0.9", port: 7475)
        let new = PeerAddress(host: "198.18.0.10", port: 7475)
        var state = PeerCrawlState(me: self.me, seeds: [old], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        _ = state.beginRound(heard: [], now: self.start)
        _ = state.reached(.seed(old), as: a, at: old, catalogGeneration: 1, peersGeneration: 1, now: self.start)

        state.setSeeds([new])
        #expect(state.seeds == [new])
        #expect(Set(state.beginRound(heard: [], now: self.start)) == [.seed(new), .node(a.identity.id)])

        state.setSeeds([])
        #expect(state.beginRound(heard: [], now: self.start) == [.node(a.identity.id)])

        // Given again, the old seed is contacted again as a seed: what it
        // was tied to was forgotten with it.
        state.setSeeds([old])
        #expect(Set(state.beginRound(heard: [], now: self.start)) == [.seed(old), .node(a.identity.id)])
    }

    @Test func unchangedGenerationsNeedNoFetch() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        _ = state.take(state.learned([a], from: NodeID(high: 9, low: 9), peersGeneration: 1, now: self.start))
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 7, peersGeneration: 3, now: self.start)
        state.fetchedCatalog(of: a.identity.id, generation: 7, entries: 10)
        _ = state.learned([], from: a.identity.id, peersGeneration: 3, now: self.start)
        #expect(state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 7, peersGeneration: 3, now: self.start)
            == .reached(a.identity.id, catalogChanged: false, peersChanged: false))
        state.invalidateCatalog(of: a.identity.id)
        #expect(state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 7, peersGeneration: 3, now: self.start)
            == .reached(a.identity.id, catalogChanged: true, peersChanged: false))
    }

    @Test func impostorAtAnAnnouncedAddressDoesNotVerifyTheAnnouncedNode() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let claimed = self.node("b", 2, "198.18.0.2")
        let impostor = self.node("x", 3, "198.18.0.2")
        _ = state.take(state.learned([claimed], from: NodeID(high: 9, low: 9), peersGeneration: 1, now: self.start))
        _ = state.reached(.node(claimed.identity.id), as: impostor, at: claimed.addresses[0], catalogGeneration: 1, peersGeneration: 1, now: self.start)
        #expect(state.known[claimed.identity.id]?.isVerified == false)
        #expect(state.known[claimed.identity.id]?.unreachableSince != nil)
        #expect(state.known[impostor.identity.id]?.isVerified == true)
    }

    @Test func silentNodesAreDroppedAfterTheExpiry() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        _ = state.take(state.learned([a], from: NodeID(high: 9, low: 9), peersGeneration: 1, now: self.start))
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start)
        state.failed(.node(a.identity.id), now: self.start + .seconds(1))
        #expect(state.expire(now: self.start + .seconds(10)).isEmpty)
        state.failed(.node(a.identity.id), now: self.start + .seconds(5))  // still counts from the first failure
        #expect(state.expire(now: self.start + .seconds(11)) == [a.identity.id])
        #expect(state.known.isEmpty)
    }

    @Test func answeringAgainClearsUnreachable() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        _ = state.take(state.learned([a], from: NodeID(high: 9, low: 9), peersGeneration: 1, now: self.start))
        state.failed(.node(a.identity.id), now: self.start)
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start + .seconds(9))
        #expect(state.expire(now: self.start + .seconds(30)).isEmpty)
        #expect(state.directoryEntries(now: self.start + .seconds(30)).map(\.state) == [.alive])
    }

    @Test func seedPointingAtOurselvesIsIgnored() {
        let seed = PeerAddress(host: "127.0.0.1", port: 7475)
        var state = PeerCrawlState(me: self.me, seeds: [seed], expiry: .seconds(10))
        _ = state.beginRound(heard: [], now: self.start)
        let me = NodeInfo(identity: NodeIdentity(id: self.me, name: "self"), roles: .server, addresses: [seed])
        #expect(state.reached(.seed(seed), as: me, at: seed, catalogGeneration: 1, peersGeneration: 1, now: self.start) == .isSelf)
        #expect(state.known.isEmpty)
        #expect(state.beginRound(heard: [], now: self.start).isEmpty)
    }

    @Test func heardCallersAreVerifiedWithTheirObservedAddressToo() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let b = NodeInfo(identity: NodeIdentity(id: NodeID(high: 0, low: 2), name: "b"), roles: .server, addresses: [PeerAddress(host: "10.9.9.9", port: 7475)])
        let targets = state.beginRound(heard: [PeerDirectory.Heard(info: b, observedHost: "198.18.0.2")], now: self.start)
        #expect(targets == [.node(b.identity.id)])
        #expect(state.addresses(of: b.identity.id) == [PeerAddress(host: "10.9.9.9", port: 7475), PeerAddress(host: "198.18.0.2", port: 7475)])
    }

    @Test func namelessOrAddresslessNodesAreNotCrawled() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let clientOnly = NodeInfo(identity: NodeIdentity(id: NodeID(high: 0, low: 5), name: "desk"), roles: .client, addresses: [])
        let badName = NodeInfo(identity: NodeIdentity(id: NodeID(high: 0, low: 6), name: "../evil"), roles: .server, addresses: [PeerAddress(host: "198.18.0.6", port: 1)])
        #expect(state.learned([clientOnly, badName], from: NodeID(high: 9, low: 9), peersGeneration: 1, now: self.start).isEmpty)
    }
}
