/*
 * p2pfs-locktool: byte-range (fcntl) and flock locks for the kernel test
 * guest, which has no program that takes an fcntl lock on a range. Built
 * static by run.sh with the host's gcc.
 *
 *   p2pfs-locktool try FILE SPEC...
 *       Takes every lock without waiting (F_SETLK / LOCK_NB), then releases
 *       them. Exit 0: all granted; 99: one was refused because another
 *       process holds a conflicting lock; 1: any other error (printed).
 *   p2pfs-locktool hold FILE READY RELEASE SPEC...
 *       Takes every lock without waiting, creates READY, then holds the
 *       locks until RELEASE no longer exists (at most 600 s: exit 3). Before
 *       releasing it reads the file's first byte and unlocks each lock,
 *       checking both: exit 0 only when the hold saw no error at all.
 *       A refused lock exits 99, any other error 1.
 *
 * SPEC: w:START:LEN or r:START:LEN (an fcntl write or read lock; LEN 0 is
 * "to the end of the file"), f (flock LOCK_EX), fs (flock LOCK_SH).
 * The file is opened read-write when any lock is exclusive (the NFS client
 * requires that for write locks), read-only otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct spec {
    char kind;          /* 'w', 'r' (fcntl) or 'f', 's' (flock) */
    long long start, len;
};

static int parse(const char *text, struct spec *s) {
    if (strcmp(text, "f") == 0) { s->kind = 'f'; return 0; }
    if (strcmp(text, "fs") == 0) { s->kind = 's'; return 0; }
    char kind;
    if (sscanf(text, "%c:%lld:%lld", &kind, &s->start, &s->len) == 3
        && (kind == 'w' || kind == 'r') && s->start >= 0 && s->len >= 0) {
        s->kind = kind;
        return 0;
    }
    fprintf(stderr, "p2pfs-locktool: bad lock spec '%s' (w:START:LEN, r:START:LEN, f or fs)\n", text);
    return -1;
}

static int refused(int err) { return err == EAGAIN || err == EACCES || err == EWOULDBLOCK; }

/* 0 granted, 99 refused, 1 error. */
static int take(int fd, const struct spec *s, const char *name) {
    int rc;
    if (s->kind == 'f' || s->kind == 's') {
        rc = flock(fd, (s->kind == 'f' ? LOCK_EX : LOCK_SH) | LOCK_NB);
    } else {
        struct flock fl = { .l_type = s->kind == 'w' ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
                            .l_start = s->start, .l_len = s->len };
        rc = fcntl(fd, F_SETLK, &fl);
    }
    if (rc == 0) { printf("granted %s\n", name); return 0; }
    int err = errno;
    printf("%s %s: %s\n", refused(err) ? "refused" : "error", name, strerror(err));
    return refused(err) ? 99 : 1;
}

static int release(int fd, const struct spec *s, const char *name) {
    int rc;
    if (s->kind == 'f' || s->kind == 's') {
        rc = flock(fd, LOCK_UN);
    } else {
        struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = s->start, .l_len = s->len };
        rc = fcntl(fd, F_SETLK, &fl);
    }
    if (rc != 0) { printf("error unlocking %s: %s\n", name, strerror(errno)); return 1; }
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int hold = argc >= 2 && strcmp(argv[1], "hold") == 0;
    int first = hold ? 5 : 3;
    if (argc <= first || (!hold && strcmp(argv[1], "try") != 0)) {
        fprintf(stderr, "usage: p2pfs-locktool try FILE SPEC... | hold FILE READY RELEASE SPEC...\n");
        return 1;
    }
    int n = argc - first;
    struct spec specs[64];
    if (n > 64) { fprintf(stderr, "p2pfs-locktool: at most 64 locks\n"); return 1; }
    int write = 0;
    for (int i = 0; i < n; i++) {
        if (parse(argv[first + i], &specs[i]) != 0) return 1;
        if (specs[i].kind == 'w' || specs[i].kind == 'f') write = 1;
    }
    int fd = open(argv[2], write ? O_RDWR : O_RDONLY);
    if (fd < 0) { printf("error: open %s: %s\n", argv[2], strerror(errno)); return 1; }
    for (int i = 0; i < n; i++) {
        int rc = take(fd, &specs[i], argv[first + i]);
        if (rc != 0) return rc;
    }
    int status = 0;
    if (hold) {
        int ready = open(argv[3], O_WRONLY | O_CREAT, 0644);
        if (ready < 0) { printf("error: create %s: %s\n", argv[3], strerror(errno)); return 1; }
        close(ready);
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        int i;
        for (i = 0; i < 6000 && access(argv[4], F_OK) == 0; i++) nanosleep(&tick, NULL);
        if (i == 6000) { printf("error: %s still exists after 600 s\n", argv[4]); return 3; }
        char byte;
        if (pread(fd, &byte, 1, 0) < 0) { printf("error: read while holding: %s\n", strerror(errno)); status = 1; }
    }
    for (int i = 0; i < n; i++)
        if (release(fd, &specs[i], argv[first + i]) != 0) status = 1;
    if (close(fd) != 0) { printf("error: close: %s\n", strerror(errno)); status = 1; }
    return status;
}
