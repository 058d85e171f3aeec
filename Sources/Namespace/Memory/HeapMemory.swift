import CP2PFSSystem

/// The process heap, where p2pfs must manage it by hand.
///
/// glibc keeps memory that was freed in its arenas for reuse. A daemon that
/// rebuilds a large namespace, or a block cache that keeps replacing its
/// blocks, would otherwise stay at its high-water mark (or, fragmented,
/// above it) for as long as it runs.
public enum HeapMemory {
    /// Hands memory freed inside the heap back to the operating system
    /// (glibc's `malloc_trim`); a no-op elsewhere. Takes milliseconds on a
    /// large heap, and the arenas' locks meanwhile: not for every call.
    @discardableResult
    public static func releaseFree() -> Bool {
        p2pfs_release_free_memory() != 0
    }
}
