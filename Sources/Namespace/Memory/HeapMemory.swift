import CP2PFSSystem

/// The process heap, where p2pfs must manage it by hand.
///
/// glibc keeps memory that was freed in its arenas for reuse. A daemon that
/// rebuilds a large namespace, or a block cache that keeps replacing its
/// blocks, would otherwise stay at its high-water mark (or, fragmented,
/// above it) for as long as it runs.
public enum HeapMemory {
    /// Allocations at least this large get an `mmap` of their own.
    /// glibc's default (128 KiB, raised as such blocks are freed) puts the
    /// megabyte buffers of every forwarded and served READ there, and each
    /// is handed back on free and faulted in afresh, page by page, on the
    /// next (in a VM, clearing fresh pages can cost more than the copies
    /// and the TLS of a forwarded read together; Docs/performance.md).
    /// Above NIO's 2 MiB buffers, so they are reused.
    public static let daemonMmapThreshold = 4 << 20
    /// Free memory at the top of a heap that glibc hands back on its own;
    /// what the daemon frees in bulk (a namespace rebuild, cache eviction)
    /// is still handed back by `releaseFree`.
    public static let daemonTrimThreshold = 64 << 20
    /// Extra memory a heap grows by at once, so that a burst of megabyte
    /// buffers does not grow it (and fault it in) a buffer at a time.
    public static let daemonTopPad = 16 << 20

    /// Hands memory freed inside the heap back to the operating system
    /// (glibc's `malloc_trim`); a no-op elsewhere. Takes milliseconds on a
    /// large heap, and the arenas' locks meanwhile: not for every call.
    @discardableResult
    public static func releaseFree() -> Bool {
        p2pfs_release_free_memory() != 0
    }

    /// Sets the daemon's allocation thresholds (above), once at start,
    /// before its threads allocate. False where the C library is not glibc
    /// (nothing changes there).
    @discardableResult
    public static func configureForDaemon() -> Bool {
        p2pfs_tune_heap(self.daemonMmapThreshold, self.daemonTrimThreshold, self.daemonTopPad) != 0
    }

    /// Whether an allocation of `size` bytes gets an `mmap` of its own
    /// (allocates and frees one to see); nil where that is not known.
    public static func isMapped(allocationOf size: Int) -> Bool? {
        switch p2pfs_heap_allocation_is_mapped(UInt(size)) {
        case 1: true
        case 0: false
        default: nil
        }
    }
}
