import Namespace
import NIOCore
import PeerProtocol
import Testing

@Suite struct BlockCacheTests {
    func key(_ path: String, _ index: UInt64, size: UInt64 = 100) -> BlockCache.Key {
        BlockCache.Key(path: path, version: FileVersion(size: size, mtime: Timestamp(seconds: 1)), index: index)
    }

    @Test func keepsAtMostItsCapacityEvictingTheLeastRecentlyUsed() {
        let cache = BlockCache(capacity: 300)
        for index in 0..<3 {
            cache.put(self.key("f", UInt64(index)), ByteBuffer(repeating: UInt8(index), count: 100))
        }
        _ = cache.get(self.key("f", 0))  // 0 is now the most recent
        cache.put(self.key("f", 3), ByteBuffer(repeating: 3, count: 100))
        #expect(cache.get(self.key("f", 1)) == nil)
        #expect(cache.get(self.key("f", 0)) == ByteBuffer(repeating: 0, count: 100))
        #expect(cache.get(self.key("f", 3)) != nil)
        #expect(cache.statistics.bytes <= 300)
    }

    @Test func versionsNeverMix() {
        let cache = BlockCache(capacity: 1000)
        cache.put(self.key("f", 0, size: 100), ByteBuffer(repeating: 1, count: 10))
        #expect(cache.get(self.key("f", 0, size: 200)) == nil)
        #expect(cache.get(self.key("f", 0, size: 100)) != nil)
    }

    @Test func replacingAnEntryKeepsTheByteCountRight() {
        let cache = BlockCache(capacity: 1000)
        cache.put(self.key("f", 0), ByteBuffer(repeating: 1, count: 10))
        cache.put(self.key("f", 0), ByteBuffer(repeating: 1, count: 30))
        #expect(cache.statistics.bytes == 30)
        #expect(cache.statistics.blocks == 1)
    }

    @Test func oversizedBlocksAreNotCached() {
        let cache = BlockCache(capacity: 10)
        cache.put(self.key("f", 0), ByteBuffer(repeating: 1, count: 11))
        #expect(cache.statistics.blocks == 0)
    }

    @Test func manyInsertionsStayBounded() {
        let cache = BlockCache(capacity: 64 * 1024)
        for index in 0..<10_000 {
            cache.put(self.key("f\(index % 7)", UInt64(index)), ByteBuffer(repeating: 0, count: 1024))
        }
        #expect(cache.statistics.bytes <= 64 * 1024)
        #expect(cache.statistics.blocks == 64)
    }
}
