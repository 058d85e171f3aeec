import Namespace
import Testing

/// `ChangeBatcher`: a burst of events becomes one batch once quiet for the
/// settle delay, or at the latest after the maximum latency.
@Suite struct ChangeBatcherTests {
    let start = ContinuousClock.now
    let paths: [Int32: String] = [1: "share", 2: "share/sub"]

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { self.start + .milliseconds(milliseconds) }

    @Test func aBurstIsOneBatchAfterTheSettleDelay() {
        var batcher = ChangeBatcher(settle: .milliseconds(200), maximumLatency: .seconds(1))
        #expect(batcher.deadline == nil)
        for (index, milliseconds) in [0, 10, 50, 120].enumerated() {
            batcher.record([InotifyEvent(watch: index % 2 == 0 ? 1 : 2, mask: .create, name: [0x61])], at: self.at(milliseconds)) { self.paths[$0] }
        }
        #expect(batcher.deadline == self.at(320))
        #expect(batcher.take(at: self.at(319)) == nil)
        let batch = batcher.take(at: self.at(320))
        #expect(batch == ChangeBatch(directories: ["share", "share/sub"], overflowed: false, eventCount: 4))
        #expect(batcher.take(at: self.at(2000)) == nil)
        #expect(batcher.deadline == nil)
    }

    @Test func aConstantStreamStillPublishesWithinTheMaximumLatency() {
        var batcher = ChangeBatcher(settle: .milliseconds(200), maximumLatency: .seconds(1))
        var taken: [Int] = []
        for milliseconds in stride(from: 0, through: 2500, by: 50) {
            batcher.record([InotifyEvent(watch: 2, mask: .modify)], at: self.at(milliseconds)) { self.paths[$0] }
            if batcher.take(at: self.at(milliseconds)) != nil { taken.append(milliseconds) }
        }
        #expect(taken == [1000, 2050])
    }

    @Test func overflowIsCarriedAndWatchRemovalsAloneAreNoChange() {
        var batcher = ChangeBatcher()
        batcher.record([InotifyEvent(watch: 2, mask: .ignored)], at: self.at(0)) { self.paths[$0] }
        #expect(batcher.deadline == nil)
        batcher.record([InotifyEvent(watch: -1, mask: .queueOverflow)], at: self.at(0)) { self.paths[$0] }
        let batch = batcher.take(at: self.at(5000))
        #expect(batch?.overflowed == true)
        #expect(batch?.directories == [])
    }
}
