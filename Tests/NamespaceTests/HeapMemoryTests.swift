import Namespace
import Testing

@Suite("Heap memory")
struct HeapMemoryTests {
    /// Once configured for the daemon, the buffers of megabyte READs (NIO
    /// rounds them to 2 MiB) come from the heap, where freed memory is
    /// reused, instead of an mmap of their own that is handed back on free
    /// and faulted in afresh on the next; larger ones still get their own.
    @Test(.enabled(if: HeapMemory.isMapped(allocationOf: 1 << 20) != nil, "glibc only"))
    func megabyteBuffersComeFromTheHeapOnceConfigured() throws {
        #expect(HeapMemory.configureForDaemon())
        // Process-wide: other tests in this process may allocate meanwhile,
        // which only follows the same thresholds.
        #expect(HeapMemory.isMapped(allocationOf: 2 << 20) == false)
        #expect(HeapMemory.isMapped(allocationOf: (4 << 20) - 4096) == false)
        #expect(HeapMemory.isMapped(allocationOf: 8 << 20) == true)
    }
}
