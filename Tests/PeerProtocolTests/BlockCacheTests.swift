import Namespace
import NIOCore
import PeerProtocol
import Testing

@Suite struct BlockCacheTests {
    func file(_ path: String, size: UInt64 = 100, node: NodeID = NodeID(high: 0, low: 1)) -> BlockCache.File {
        BlockCache.File(node: node, path: path, version: FileVersion(size: size, mtime: Timestamp(seconds: 1)))
    }

    func run(_ bytes: Int, fill: UInt8 = 0, eof: Bool = false) -> BlockCache.Run {
        BlockCache.Run(data: ByteBuffer(repeating: fill, count: bytes), version: FileVersion(size: 100, mtime: Timestamp(seconds: 1)), isEndOfFile: eof)
    }

    @Test func keepsAtMostItsCapacityEvictingTheLeastRecentlyUsed() {
        let cache = BlockCache(capacity: 300)
        for index in 0..<3 {
            cache.put(self.file("f"), first: UInt64(index), blockSize: 100, run: self.run(100, fill: UInt8(index)))
        }
        _ = cache.get(self.file("f"), 0...0)  // 0 is now the most recent
        cache.put(self.file("f"), first: 3, blockSize: 100, run: self.run(100, fill: 3))
        #expect(cache.get(self.file("f"), 1...1)[0] == nil)
        #expect(cache.get(self.file("f"), 0...0)[0]?.bytes == ByteBuffer(repeating: 0, count: 100))
        #expect(cache.get(self.file("f"), 3...3)[0] != nil)
        #expect(cache.statistics.bytes <= 300)
    }

    @Test func aRunIsCutIntoBlocksThatShareItsBuffer() {
        let cache = BlockCache(capacity: 1000)
        var data = ByteBuffer()
        data.writeBytes((0..<250).map { UInt8($0) })
        let run = BlockCache.Run(data: data, version: FileVersion(size: 250, mtime: Timestamp(seconds: 1)), isEndOfFile: true)
        cache.put(self.file("f", size: 250), first: 4, blockSize: 100, run: run)
        let blocks = cache.get(self.file("f", size: 250), 4...6)
        #expect(blocks.map { $0?.length } == [100, 100, 50])
        #expect(blocks.allSatisfy { $0?.run === run })
        #expect(blocks[2]?.bytes == ByteBuffer(bytes: (200..<250).map { UInt8($0) }))
    }

    @Test func partialBlocksAreKeptOnlyAtTheEndOfFile() {
        let cache = BlockCache(capacity: 1000)
        cache.put(self.file("f"), first: 0, blockSize: 100, run: self.run(150))
        #expect(cache.get(self.file("f"), 0...1).map { $0 != nil } == [true, false])
    }

    @Test func versionsNeverMix() {
        let cache = BlockCache(capacity: 1000)
        cache.put(self.file("f", size: 100), first: 0, blockSize: 10, run: self.run(10))
        #expect(cache.get(self.file("f", size: 200), 0...0)[0] == nil)
        #expect(cache.get(self.file("f", size: 100), 0...0)[0] != nil)
        #expect(cache.get(self.file("g", size: 100), 0...0)[0] == nil)
    }

    @Test func replacingAnEntryKeepsTheByteCountRight() {
        let cache = BlockCache(capacity: 1000)
        cache.put(self.file("f"), first: 0, blockSize: 10, run: self.run(10))
        cache.put(self.file("f"), first: 0, blockSize: 30, run: self.run(30))
        #expect(cache.statistics.bytes == 30)
        #expect(cache.statistics.blocks == 1)
    }

    @Test func oversizedRunsAreNotCached() {
        let cache = BlockCache(capacity: 10)
        cache.put(self.file("f"), first: 0, blockSize: 11, run: self.run(11))
        #expect(cache.statistics.blocks == 0)
    }

    /// Bytes of the distinct replies that the cached blocks keep alive.
    func heldBytes(_ cache: BlockCache, _ file: BlockCache.File, _ indices: ClosedRange<UInt64>) -> Int {
        var runs: [ObjectIdentifier: Int] = [:]
        for block in cache.get(file, indices).compactMap({ $0 }) {
            runs[ObjectIdentifier(block.run)] = block.run.data.readableBytes
        }
        return runs.values.reduce(0, +)
    }

    /// One recently used block of a large reply keeps the whole reply alive:
    /// the cache counts it whole, so what it holds stays within capacity.
    @Test func aReplyCountsWholeUntilItsLastBlockGoes() {
        let cache = BlockCache(capacity: 250)
        cache.put(self.file("f"), first: 0, blockSize: 100, run: self.run(200, fill: 1))  // blocks 0, 1
        _ = cache.get(self.file("f"), 0...0)  // block 0 is used again; block 1 is the oldest
        cache.put(self.file("f"), first: 2, blockSize: 100, run: self.run(100, fill: 2))
        #expect(self.heldBytes(cache, self.file("f"), 0...2) <= 250)
        #expect(cache.statistics.bytes == self.heldBytes(cache, self.file("f"), 0...2))
        #expect(cache.get(self.file("f"), 2...2)[0] != nil)
    }

    @Test func manyInsertionsStayBounded() {
        let cache = BlockCache(capacity: 64 * 1024)
        for index in 0..<10_000 {
            cache.put(self.file("f\(index % 7)"), first: UInt64(index), blockSize: 1024, run: self.run(1024))
        }
        #expect(cache.statistics.bytes <= 64 * 1024)
        #expect(cache.statistics.blocks == 64)
    }
}
