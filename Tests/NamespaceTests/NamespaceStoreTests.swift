import Logging
import Namespace
import NIOPosix
import Testing

/// `NamespaceStore`: one rebuild per change (several catalogs at once are
/// one change), a snapshot once handed out never changes, no-op changes
/// rebuild nothing, and readiness is only what the daemon says.
@Suite struct NamespaceStoreTests {
    static func names(_ snapshot: NamespaceSnapshot, _ path: String = "share") -> [String] {
        guard let directory = try? snapshot.lookup(path: path) else { return [] }
        return snapshot.children(of: directory).map(\.name).sorted()
    }

    @Test func aNewStoreIsEmptyAndNotReady() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        #expect(store.current.generation == 0)
        #expect(store.current.children(of: store.current.root).isEmpty)
        #expect(!store.isReady)
        // Nothing to wait for: settled answers at once with the same snapshot.
        #expect(await store.settled().generation == 0)
        store.markReady()
        #expect(store.isReady)
        await store.shutdown()
    }

    @Test func eachChangeIsOneNewGeneration() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        store.setCatalog(catalog("a", id: 1, [file("share/a1")]))
        let first = await store.settled()
        #expect(first.generation == 1)
        #expect(Self.names(first) == ["a1"])
        #expect(store.current.generation == 1)

        // Three catalogs in one call: one rebuild, not three.
        store.setCatalogs([
            catalog("b", id: 2, [file("share/b1")]), catalog("c", id: 3, [file("share/c1")]), catalog("d", id: 4, [file("share/d1")]),
        ])
        let second = await store.settled()
        #expect(second.generation == 2)
        #expect(Self.names(second) == ["a1", "b1", "c1", "d1"])
        await store.shutdown()
    }

    @Test func aReplacedCatalogReplacesItsFilesOnly() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        store.setCatalogs([catalog("a", id: 1, [file("share/a1")]), catalog("b", id: 2, [file("share/b1")])])
        await store.settled()
        store.setCatalog(catalog("a", id: 1, [file("share/a2")]))
        let snapshot = await store.settled()
        #expect(Self.names(snapshot) == ["a2", "b1"])
        #expect(store.catalog(of: NodeID(high: 0, low: 1))?.entries.count == 1)
        #expect(store.catalog(of: NodeID(high: 0, low: 9)) == nil)
        await store.shutdown()
    }

    @Test func snapshotsHandedOutNeverChange() async throws {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        store.setCatalog(catalog("a", id: 1, [file("share/a1", size: 10)]))
        let before = await store.settled()
        store.removeCatalog(of: NodeID(high: 0, low: 1))
        let after = await store.settled()
        // The request that still holds the old snapshot finds what it found.
        #expect(Self.names(before) == ["a1"])
        #expect(try before.lookup(path: "share/a1").size == 10)
        #expect(Self.names(after).isEmpty)
        #expect(after.generation == before.generation + 1)
        #expect((try? after.lookup(path: "share/a1")) == nil)
        await store.shutdown()
    }

    @Test func changesThatChangeNothingRebuildNothing() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        store.setCatalog(catalog("a", id: 1, [file("share/a1")]))
        let settled = await store.settled()
        store.setCatalogs([])
        store.removeCatalog(of: NodeID(high: 0, low: 42))  // never known
        #expect(await store.settled().generation == settled.generation)
        #expect(store.current.generation == settled.generation)
        await store.shutdown()
    }

    /// Many changes in a burst: every one is visible once settled, and never
    /// more than one rebuild per change (how many coalesce depends on timing).
    @Test func noChangeOfABurstIsLost() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        for index in 1...200 {
            store.setCatalog(catalog("n\(index)", id: UInt64(index), (0..<200).map { file("share/n\(index)-\($0)") }))
        }
        let snapshot = await store.settled()
        #expect(Self.names(snapshot).count == 200 * 200)
        #expect(snapshot.generation >= 1 && snapshot.generation <= 200)
        #expect(store.current.generation == snapshot.generation)
        await store.shutdown()
    }

    /// Readiness is the daemon's word alone: catalogs arriving do not make
    /// the store ready.
    @Test func catalogsDoNotMakeTheStoreReady() async {
        let store = NamespaceStore(logger: Logger(label: "store-test"))
        store.setCatalog(catalog("a", id: 1, [file("share/a1")]))
        await store.settled()
        #expect(!store.isReady)
        await store.shutdown()
    }

    /// Two identical replicas whose second owner fails HASH twice (busy)
    /// show as two names meanwhile, and as one name with both sources once
    /// a retry tells the hash: the late answer rebuilds the namespace.
    @Test func aHashToldOnRetryJoinsTheReplicas() async throws {
        let store = NamespaceStore(
            logger: Logger(label: "store-test"), replicaRetry: ReplicaRetryPolicy(delays: [.milliseconds(1), .milliseconds(1), .milliseconds(1)])
        )
        let first = FlakyHasher(failures: 0)
        let second = FlakyHasher(failures: 2)
        // The third ask (second retry) waits until the test lets it answer.
        let gate = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        second.gate.withLockedValue { $0 = gate }
        store.setCatalogs([
            catalog("a", id: 1, reader: first, [file("share/Report", size: 7, mtime: 42)]),
            catalog("b", id: 2, reader: second, [file("share/Report", size: 7, mtime: 42)]),
        ])
        let key = ReplicaKey(origin: NodeID(high: 0, low: 2), path: "share/Report", version: FileVersion(size: 7, mtime: Timestamp(seconds: 42)))
        #expect(await eventually { second.calls.withLockedValue { $0 } == 3 })
        #expect(store.replicaHashes[key] == .unavailable)
        let apart = await store.settled()
        #expect(Self.names(apart) == ["Report", "Report@b"])

        gate.succeed()
        #expect(await eventually { store.replicaHashes[key] == .known(.sample(0x5A)) })
        let joined = await store.settled()
        #expect(Self.names(joined) == ["Report"])
        #expect(joined.sources(of: try joined.lookup(path: "share/Report")).map(\.origin.name) == ["a", "b"])
        #expect(second.calls.withLockedValue { $0 } == 3)
        await store.shutdown()
    }
}
