import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Namespace

/// A source whose HASH fails with `failure` the first `failures` times and
/// then tells `hash`; `gate`, when set, holds the first successful answer
/// until the test completes it.
final class FlakyHasher: FileReader, ContentHasher {
    let failures: Int
    let failure: any Error & Sendable
    let hash: ContentHash
    let calls = NIOLockedValueBox(0)
    let gate = NIOLockedValueBox<EventLoopPromise<Void>?>(nil)

    init(failures: Int, failure: any Error & Sendable = FileSystemError.ioError("owner busy"), hash: ContentHash = .sample(0x5A)) {
        self.failures = failures
        self.failure = failure
        self.hash = hash
    }

    func read(path: String, expected: FileVersion, offset: UInt64, count: Int, eventLoop: any EventLoop) -> EventLoopFuture<FileReadResult> {
        eventLoop.makeFailedFuture(FileSystemError.ioError("not read in these tests"))
    }

    func contentHash(path: String, expected: FileVersion, eventLoop: any EventLoop) -> EventLoopFuture<ContentHash> {
        let call = self.calls.withLockedValue { calls in
            calls += 1
            return calls
        }
        guard call > self.failures else { return eventLoop.makeFailedFuture(self.failure) }
        guard let gate = self.gate.withLockedValue({ $0 }) else { return eventLoop.makeSucceededFuture(self.hash) }
        return gate.futureResult.map { self.hash }
    }
}

extension ContentHash {
    static func sample(_ byte: UInt8) -> ContentHash {
        ContentHash(bytes: [byte] + [UInt8](repeating: 0, count: 31))!
    }
}

/// Waits until `condition` holds, at most `bound`.
func eventually(within bound: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + bound
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}

/// `ReplicaVerifier`: a HASH that fails for a reason that may pass is asked
/// again (`.unavailable` recorded meanwhile, `.known` once told), a bounded
/// number of times; a permanent failure is asked once; forgotten keys and a
/// stopped verifier ask no more.
@Suite struct ReplicaVerifierTests {
    static let key = ReplicaKey(origin: NodeID(high: 0, low: 2), path: "docs/Report", version: FileVersion(size: 7, mtime: Timestamp(seconds: 42)))
    static let fast = ReplicaRetryPolicy(delays: [.milliseconds(1), .milliseconds(2), .milliseconds(3)])

    final class Recorder: Sendable {
        let answers = NIOLockedValueBox<[ReplicaHash]>([])
    }

    func makeVerifier(_ recorder: Recorder, retry: ReplicaRetryPolicy = Self.fast) -> ReplicaVerifier {
        ReplicaVerifier(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "verifier-test"), retry: retry) {
            key, hash in
            #expect(key == Self.key)
            recorder.answers.withLockedValue { $0.append(hash) }
        }
    }

    /// Waits for the verifier to have nothing left to do, at most 10 s
    /// (then stops it, which also ends the wait).
    func idle(_ verifier: ReplicaVerifier) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await verifier.idle()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await group.next()!
            verifier.stop()
            group.cancelAll()
            return first
        }
    }

    @Test func aHashThatFailsTwiceIsKnownAfterTheRetries() async {
        let recorder = Recorder()
        let verifier = self.makeVerifier(recorder)
        let hasher = FlakyHasher(failures: 2)
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(await self.idle(verifier))
        #expect(recorder.answers.withLockedValue { $0 } == [.unavailable, .unavailable, .known(.sample(0x5A))])
        #expect(hasher.calls.withLockedValue { $0 } == 3)
    }

    @Test func aPermanentFailureIsAskedOnce() async {
        let version = FileVersion(size: 7, mtime: Timestamp(seconds: 43))
        let readers: [any FileReader] = [
            FlakyHasher(failures: 5, failure: ContentHashError.changed(version)), FlakyHasher(failures: 5, failure: FileSystemError.stale),
            InMemoryReader(files: [:]),
        ]
        for reader in readers {
            let recorder = Recorder()
            let verifier = self.makeVerifier(recorder)
            verifier.verify([ReplicaCandidate(key: Self.key, reader: reader)])
            #expect(await self.idle(verifier))
            #expect(recorder.answers.withLockedValue { $0 } == [.unavailable], "\(reader)")
            if let hasher = reader as? FlakyHasher {
                #expect(hasher.calls.withLockedValue { $0 } == 1, "\(hasher.failure)")
            }
        }
    }

    @Test func retriesAreBounded() async {
        let recorder = Recorder()
        let verifier = self.makeVerifier(recorder)
        let hasher = FlakyHasher(failures: 1000)
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(await self.idle(verifier))
        // The first ask and one per delay, each answered `.unavailable`.
        #expect(hasher.calls.withLockedValue { $0 } == 1 + Self.fast.delays.count)
        #expect(recorder.answers.withLockedValue { $0 } == Array(repeating: .unavailable, count: 1 + Self.fast.delays.count))
    }

    @Test func aKeyNoLongerACandidateIsNotRetried() async {
        let recorder = Recorder()
        // A retry that would wait an hour: only forgetting ends the wait.
        let verifier = self.makeVerifier(recorder, retry: ReplicaRetryPolicy(delays: [.hours(1)]))
        let hasher = FlakyHasher(failures: 1)
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(await eventually { recorder.answers.withLockedValue { $0 } == [.unavailable] })
        // Still a candidate: kept, and not asked twice while it waits.
        verifier.forget(keepingOnly: [Self.key])
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(hasher.calls.withLockedValue { $0 } == 1)
        verifier.forget(keepingOnly: [])
        #expect(await self.idle(verifier))
        #expect(hasher.calls.withLockedValue { $0 } == 1)
    }

    @Test func aStoppedVerifierAsksNoMore() async {
        let recorder = Recorder()
        let verifier = self.makeVerifier(recorder, retry: ReplicaRetryPolicy(delays: [.hours(1)]))
        let hasher = FlakyHasher(failures: 1)
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(await eventually { recorder.answers.withLockedValue { $0 } == [.unavailable] })
        verifier.stop()
        #expect(await self.idle(verifier))
        verifier.verify([ReplicaCandidate(key: Self.key, reader: hasher)])
        #expect(await self.idle(verifier))
        #expect(hasher.calls.withLockedValue { $0 } == 1)
    }
}
