#define _GNU_SOURCE
#include "p2pfs_system.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__linux__)
#include <linux/openat2.h>
#endif

int p2pfs_open_beneath_walk(int rootfd, const char *path, int flags) {
    if (path == NULL || path[0] == '\0' || path[0] == '/') {
        errno = EINVAL;
        return -1;
    }
    char component[NAME_MAX + 1];
    int dirfd = rootfd;
    const char *cursor = path;
    for (;;) {
        const char *slash = strchr(cursor, '/');
        size_t length = slash ? (size_t)(slash - cursor) : strlen(cursor);
        if (length == 0 || length > NAME_MAX) {
            errno = EINVAL;
            goto fail;
        }
        memcpy(component, cursor, length);
        component[length] = '\0';
        if (strcmp(component, ".") == 0 || strcmp(component, "..") == 0) {
            errno = EXDEV;
            goto fail;
        }
        int next;
        if (slash) {
            next = openat(dirfd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
            next = openat(dirfd, component, flags | O_NOFOLLOW | O_CLOEXEC);
        }
        if (dirfd != rootfd) {
            int saved = errno;
            close(dirfd);
            errno = saved;
        }
        if (next < 0) {
            return -1;
        }
        if (!slash) {
            return next;
        }
        dirfd = next;
        cursor = slash + 1;
    }
fail:
    if (dirfd != rootfd) {
        int saved = errno;
        close(dirfd);
        errno = saved;
    }
    return -1;
}

int p2pfs_open_beneath_openat2(int rootfd, const char *path, int flags) {
    if (path == NULL || path[0] == '\0' || path[0] == '/') {
        errno = EINVAL;
        return -1;
    }
#if defined(__linux__) && defined(SYS_openat2)
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
#else
    errno = ENOSYS;
    return -1;
#endif
}

int p2pfs_open_beneath(int rootfd, const char *path, int flags) {
    int fd = p2pfs_open_beneath_openat2(rootfd, path, flags);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
        return fd;
    }
    return p2pfs_open_beneath_walk(rootfd, path, flags);
}

int p2pfs_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

int p2pfs_tune_heap(long mmap_threshold, long trim_threshold, long top_pad) {
#if defined(__GLIBC__)
    // mallopt returns 1 on success, 0 on error.
    int ok = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold);
    ok &= mallopt(M_TRIM_THRESHOLD, (int)trim_threshold);
    ok &= mallopt(M_TOP_PAD, (int)top_pad);
    return ok;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    (void)top_pad;
    return 0;
#endif
}

int p2pfs_heap_allocation_is_mapped(unsigned long size) {
#if defined(__GLIBC__)
    // volatile: the compiler must not elide the malloc/free pair.
    void *volatile p = malloc(size);
    if (p == NULL) {
        return -1;
    }
    // glibc's chunk header: the size word before the user pointer, whose
    // bit 1 (IS_MMAPPED) marks a chunk with an mmap of its own.
    int mapped = (((size_t *)p)[-1] & 2) != 0;
    free(p);
    return mapped;
#else
    (void)size;
    return -1;
#endif
}

#if defined(__linux__)
#include <sys/eventfd.h>
#include <sys/vfs.h>

int p2pfs_wakeup_descriptor(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

long long p2pfs_filesystem_type(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    return (long long)info.f_type;
}
#endif

long long p2pfs_pread_cached(int fd, void *buffer, unsigned long long count, long long offset) {
#if defined(__linux__) && defined(RWF_NOWAIT)
    struct iovec vector = { .iov_base = buffer, .iov_len = (size_t)count };
    ssize_t result = preadv2(fd, &vector, 1, (off_t)offset, RWF_NOWAIT);
    if (result < 0 && (errno == EINVAL || errno == ENOSYS)) {
        errno = EOPNOTSUPP;     /* the flag or the call is unknown here */
    }
    return result;
#else
    (void)fd; (void)buffer; (void)count; (void)offset;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

#include <sys/mman.h>
#include <stdint.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int p2pfs_populate_for_writing(void *address, unsigned long length) {
    static int unsupported = 0;
    if (__atomic_load_n(&unsupported, __ATOMIC_RELAXED) || address == NULL) return -1;
    if (length == 0) return 0;
    // Outward to whole pages: the pages holding the first and last bytes
    // are mapped (they hold the caller's memory), and populating changes
    // no byte of what else they hold.
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)address & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length + page - 1) & ~(page - 1);
    if (madvise((void *)start, end - start, MADV_POPULATE_WRITE) == 0) return 0;
    if (errno == EINVAL) __atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
    return -1;
}

/* cachestat(2), Linux 6.5: the same number on every architecture. The
   structures are spelled out here because older kernel headers lack them. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct p2pfs_cachestat_range { unsigned long long offset, length; };
struct p2pfs_cachestat {
    unsigned long long cached, dirty, writeback, evicted, recently_evicted;
};

int p2pfs_range_is_cached(int fd, unsigned long long offset, unsigned long long length) {
#if defined(__linux__)
    static int unsupported = 0;
    if (__atomic_load_n(&unsupported, __ATOMIC_RELAXED) || length == 0) return -1;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long first = offset / (unsigned long long)page;
    unsigned long long last = (offset + length - 1) / (unsigned long long)page;
    struct p2pfs_cachestat_range range = {
        .offset = first * (unsigned long long)page,
        .length = (last - first + 1) * (unsigned long long)page,
    };
    struct p2pfs_cachestat state;
    memset(&state, 0, sizeof state);
    if (syscall(__NR_cachestat, fd, &range, &state, 0) != 0) {
        /* EPERM is about this file (newer kernels answer only for a file
           the caller owns, may write, or holds CAP_FOWNER over) or about a
           seccomp filter that does not list the call; either way other
           files may still be asked about. ENOSYS is the kernel's answer. */
        if (errno == EPERM) return -2;
        if (errno == ENOSYS) __atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
        return -1;
    }
    return state.cached >= last - first + 1 ? 1 : 0;
#else
    (void)fd; (void)offset; (void)length;
    return -1;
#endif
}
