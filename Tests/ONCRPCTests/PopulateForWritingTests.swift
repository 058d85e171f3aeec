import CP2PFSSystem
import Glibc
import Testing

/// `p2pfs_populate_for_writing`, which `RecordMarkingDecoder` calls before
/// gathering a large fragment: the pages that will hold the bytes are
/// resident afterwards, those outside the range are not, and no byte
/// changes.
@Suite struct PopulateForWritingTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Resident pages of `pages` pages from `base` (mincore).
    static func resident(_ base: UnsafeMutableRawPointer, pages: Int) -> [Bool] {
        var vector = [UInt8](repeating: 0, count: pages)
        #expect(mincore(base, pages * Self.page, &vector) == 0)
        return vector.map { $0 & 1 == 1 }
    }

    /// Needs Linux 5.14 or later (Debian 12 has 6.1).
    @Test func thePagesOfTheRangeAreFaultedInAndNothingElse() throws {
        let pages = 16
        let mapping = mmap(nil, pages * Self.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let base = try #require(mapping.flatMap { $0 == MAP_FAILED ? nil : $0 }, "mmap failed: errno \(errno)")
        defer { munmap(base, pages * Self.page) }
        #expect(Self.resident(base, pages: pages) == Array(repeating: false, count: pages))
        base.storeBytes(of: 0x5A, toByteOffset: 2 * Self.page + 100, as: UInt8.self)

        // From inside page 2 to inside page 5: pages 2 to 5, whole.
        #expect(p2pfs_populate_for_writing(base + 2 * Self.page + 100, UInt(3 * Self.page)) == 0)
        let expected = (0..<pages).map { (2...5).contains($0) }
        #expect(Self.resident(base, pages: pages) == expected)
        #expect(base.load(fromByteOffset: 2 * Self.page + 100, as: UInt8.self) == 0x5A)
        #expect(base.load(fromByteOffset: 4 * Self.page, as: UInt8.self) == 0)
        #expect(p2pfs_populate_for_writing(base, 0) == 0)
    }
}
