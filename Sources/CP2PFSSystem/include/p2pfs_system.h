#ifndef P2PFS_SYSTEM_H
#define P2PFS_SYSTEM_H

/// Opens `path` (relative, '/'-separated) beneath the directory `rootfd`
/// without following any symbolic link and without leaving the tree:
/// absolute paths, ".." components and symlinks anywhere in the path fail
/// (ELOOP, EXDEV or EINVAL). Uses openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)
/// where the kernel has it and a component-by-component O_NOFOLLOW walk
/// otherwise. Returns a file descriptor or -1 with errno set.
int p2pfs_open_beneath(int rootfd, const char *path, int flags);

/// The walk `p2pfs_open_beneath` falls back to on kernels without openat2
/// (before Linux 5.6), callable directly so that tests cover it on kernels
/// that have openat2. Stricter than openat2 about spelling: empty and "."
/// components fail too.
int p2pfs_open_beneath_walk(int rootfd, const char *path, int flags);

/// openat2 alone, with the resolve flags `p2pfs_open_beneath` uses: -1
/// with ENOSYS (or EPERM, under some seccomp filters) where the kernel or
/// the build has no openat2. Exposed so tests can tell which path they
/// cover.
int p2pfs_open_beneath_openat2(int rootfd, const char *path, int flags);

/// Returns free heap memory to the operating system (glibc's malloc_trim);
/// a no-op elsewhere. Returns 1 if memory was released.
int p2pfs_release_free_memory(void);

/// Sets glibc's allocation thresholds (mallopt M_MMAP_THRESHOLD,
/// M_TRIM_THRESHOLD, M_TOP_PAD), in bytes. Returns 1 if all were set, 0
/// on error or where the C library is not glibc.
int p2pfs_tune_heap(long mmap_threshold, long trim_threshold, long top_pad);

/// Whether glibc serves an allocation of `size` bytes with an mmap of its
/// own (allocates and frees one to see): 1 or 0, or -1 where that is not
/// known (not glibc, or no memory). For tests of `p2pfs_tune_heap`.
int p2pfs_heap_allocation_is_mapped(unsigned long size);

/// An eventfd (non-blocking, close-on-exec) that wakes a thread blocked in
/// poll; -1 with errno set.
int p2pfs_wakeup_descriptor(void);

/// The file system type (`statfs.f_type`, e.g. 0x6969 for NFS) of the file
/// open as `fd`, or -1 with errno set.
long long p2pfs_filesystem_type(int fd);

/// preadv2 with RWF_NOWAIT: reads what the page cache holds without waiting
/// for the disk. Returns the bytes read (possibly fewer than asked, 0 at end
/// of file), or -1 with errno EAGAIN when the first byte is not cached, or
/// EOPNOTSUPP where the kernel, the file system or the build cannot.
long long p2pfs_pread_cached(int fd, void *buffer, unsigned long long count, long long offset);

/// Faults in the pages that hold [address, address + length) for writing,
/// in one system call (madvise MADV_POPULATE_WRITE, Linux 5.14), without
/// changing a byte:
/// a buffer about to be filled costs one kernel entry instead of one page
/// fault per 4 KiB. 0 on success, -1 otherwise (nothing is lost: the
/// pages are then faulted in as they are written). After EINVAL (an older
/// kernel) it does not try again.
int p2pfs_populate_for_writing(void *address, unsigned long length);

/// Whether every page of [offset, offset + length) of the file open as
/// `fd` is in the page cache (cachestat, Linux 6.5): 1 if so, 0 if not,
/// -1 where that cannot be told (an older kernel: it does not ask again),
/// -2 when the kernel refuses to tell for this file (EPERM: a file the
/// caller neither owns nor may write, without CAP_FOWNER, on kernels that
/// restrict cachestat so; or a seccomp filter without the call).
/// A reader that will hand the range to `sendfile` on an event loop asks
/// first, so the event loop never waits for the disk.
int p2pfs_range_is_cached(int fd, unsigned long long offset, unsigned long long length);

#endif
