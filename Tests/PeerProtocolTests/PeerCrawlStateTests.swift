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

    // MARK: Nodes announced on the link (mDNS)

    @Test func anAnnouncedNodeIsACandidateVerifiedByItsOwnHello() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        let new = state.discovered(a, now: self.start)
        let again = state.discovered(a, now: self.start)
        #expect(new && !again)  // the second time it is known already
        #expect(state.known[a.identity.id]?.isVerified == false)
        let targets = state.beginRound(heard: [], now: self.start)
        #expect(targets == [.node(a.identity.id)])
        #expect(state.addresses(of: a.identity.id) == a.addresses)
        _ = state.reached(.node(a.identity.id), as: a, at: a.addresses[0], catalogGeneration: 1, peersGeneration: 1, now: self.start)
        #expect(state.directoryEntries(now: self.start).map(\.origins) == [[.mdns]])
    }

    @Test func howANodeWasFoundIsKept() {
        let seed = PeerAddress(host: "198.18.0.1", port: 7475)
        var state = PeerCrawlState(me: self.me, seeds: [seed], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        let b = self.node("b", 2, "198.18.0.2")
        let c = self.node("c", 3, "198.18.0.3")
        _ = state.beginRound(heard: [PeerDirectory.Heard(info: c, observedHost: nil)], now: self.start)
        _ = state.reached(.seed(seed), as: a, at: seed, catalogGeneration: 1, peersGeneration: 1, now: self.start)
        _ = state.learned([b], from: a.identity.id, peersGeneration: 1, now: self.start)
        state.discovered(b, now: self.start)
        state.discovered(a, now: self.start)
        let origins = Dictionary(uniqueKeysWithValues: state.directoryEntries(now: self.start).map { ($0.info.identity.name, $0.origins) })
        #expect(origins == ["a": [.seed, .mdns], "b": [.peers, .mdns], "c": [.caller]])
        #expect(PeerOrigin.describe([.caller, .mdns, .seed, .peers]) == "seed,PEERS,mDNS,caller")
    }

    @Test func aFloodOfAnnouncementsIsBoundedAndDisplacesNoKnownNode() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let real = self.node("real", 1, "198.18.0.1")
        state.discovered(real, now: self.start)
        _ = state.reached(.node(real.identity.id), as: real, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start)
        var accepted = 0
        for index in 0..<5000 {
            if state.discovered(self.node("fake\(index)", UInt64(1000 + index), "198.18.1.1"), now: self.start) { accepted += 1 }
        }
        #expect(accepted == PeerCrawlState.maximumDiscoveredCandidates)
        #expect(state.known.count == PeerCrawlState.maximumDiscoveredCandidates + 1)
        #expect(state.known[real.identity.id]?.isVerified == true)
        // Unverified fakes go after the expiry; the real node stays.
        let expired = state.expire(now: self.start + .seconds(10))
        #expect(expired.count == PeerCrawlState.maximumDiscoveredCandidates)
        #expect(Array(state.known.keys) == [real.identity.id])
        // Room again for new candidates.
        let late = state.discovered(self.node("late", 9999, "198.18.0.9"), now: self.start + .seconds(11))
        #expect(late)
    }

    @Test func aGoodbyeDropsAnUnverifiedCandidateAtOnce() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        state.discovered(a, now: self.start)
        let first = state.withdrawn(a.identity.id)
        #expect(first == a.identity.id)
        #expect(state.known.isEmpty)
        let second = state.withdrawn(a.identity.id)
        #expect(second == nil)
    }

    @Test func aGoodbyeDropsAVerifiedNodeAtItsFirstFailedContactNotAfterTheExpiry() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        state.discovered(a, now: self.start)
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start)
        let dropped = state.withdrawn(a.identity.id)
        #expect(dropped == nil)
        #expect(state.known[a.identity.id]?.isLeaving == true)
        let unchecked = state.expire(now: self.start + .seconds(1))
        #expect(unchecked.isEmpty)  // not yet checked
        state.failed(.node(a.identity.id), now: self.start + .seconds(1))
        let checked = state.expire(now: self.start + .seconds(1))
        #expect(checked == [a.identity.id])
    }

    @Test func aGoodbyeFromANodeThatStillAnswersIsIgnored() {
        var state = PeerCrawlState(me: self.me, seeds: [], expiry: .seconds(10))
        let a = self.node("a", 1, "198.18.0.1")
        state.discovered(a, now: self.start)
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start)
        _ = state.withdrawn(a.identity.id)  // spoofed, say
        _ = state.reached(.node(a.identity.id), as: a, at: nil, catalogGeneration: 1, peersGeneration: 1, now: self.start + .seconds(1))
        state.failed(.node(a.identity.id), now: self.start + .seconds(2))  // one lost contact later
        let expired = state.expire(now: self.start + .seconds(2))
        #expect(expired.isEmpty)
        #expect(state.known[a.identity.id] != nil)
    }
}
