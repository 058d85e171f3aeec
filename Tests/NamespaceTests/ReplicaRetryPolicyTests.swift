import Namespace
import NIOCore
import Testing

/// `ReplicaRetryPolicy`: a failure that may pass is asked again after each
/// delay in turn and then no more; one that will not pass is never asked
/// again.
@Suite struct ReplicaRetryPolicyTests {
    let policy = ReplicaRetryPolicy(delays: [.seconds(2), .seconds(10), .seconds(60)])

    @Test func transientFailuresWaitLongerEachTimeThenStop() {
        let busy = FileSystemError.ioError("owner busy")
        #expect((1...4).map { self.policy.delay(afterFailure: $0, error: busy) } == [.seconds(2), .seconds(10), .seconds(60), nil])
        // No failure yet, or far past the schedule: nothing to wait for.
        #expect(self.policy.delay(afterFailure: 0, error: busy) == nil)
        #expect(self.policy.delay(afterFailure: 1000, error: busy) == nil)
    }

    @Test func permanentFailuresAreNotAskedAgain() {
        let version = FileVersion(size: 7, mtime: Timestamp(seconds: 42))
        let errors: [any Error] = [
            ContentHashError.changed(version), ContentHashError.file(.stale), ContentHashError.file(.noEntry), FileSystemError.isDirectory,
        ]
        for error in errors {
            #expect(self.policy.delay(afterFailure: 1, error: error) == nil, "\(error)")
        }
    }

    @Test func readErrorsAndUnknownErrorsMayPass() {
        struct Unknown: Error {}
        #expect(self.policy.delay(afterFailure: 1, error: ContentHashError.file(.ioError("EIO"))) == .seconds(2))
        #expect(self.policy.delay(afterFailure: 1, error: FileSystemError.notReady) == .seconds(2))
        #expect(self.policy.delay(afterFailure: 2, error: Unknown()) == .seconds(10))
    }

    @Test func theStandardScheduleIsBoundedAndGrows() {
        let delays = ReplicaRetryPolicy.standard.delays
        #expect(!delays.isEmpty && delays.count <= 5)
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 < $1 })
    }
}
