/*
 * nfsload: NFSv3 load generator for the p2pfs benchmarks.
 *
 * Speaks NFSv3 over one TCP connection with many requests in flight, the way
 * the kernel client pipelines, using the raw asynchronous RPC layer of libnfs
 * and its own poll loop.  Ports are found through the portmapper unless they
 * are given explicitly (URL arguments nfsport= and mountport=, or the
 * --nfsport / --mountport flags), so it works against servers that are not
 * registered with rpcbind.
 *
 * Subcommands (each prints one JSON object on stdout):
 *   probe       --url U                        mount, GETATTR the root
 *   seqread     --url U --file P [--block B --inflight N --bytes N --verify SRC]
 *   randread    --url U --file P [--block B --inflight N --seconds S --seed N --verify SRC]
 *   meta        --url U --tree D [--inflight N --seconds S]
 *   readdirplus --url U --dir D [--repeat N --dircount N --maxcount N --expect N]
 *
 * URL: nfs://HOST[:NFSPORT]/EXPORT[?nfsport=N&mountport=N]
 * Paths (--file, --tree, --dir) are relative to the export root.
 *
 * Every RPC has a timeout (--timeout, default 30 s), every loop is bounded by
 * a count or a duration, and the whole run is bounded by --deadline
 * (default 900 s).  Errors go to stderr with the NFS status name; the exit
 * code is 0 on success, 1 when the workload ran but saw errors, 2 on a fatal
 * error, 3 when the deadline expired.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-portmap.h>

#define MAX_INFLIGHT 1024
#define MAX_PATH_DEPTH 64
#define MAX_DIR_PAGES 1000000L        /* READDIRPLUS calls per directory pass */
#define MAX_TREE_ITEMS 10000000L      /* files collected by the meta walk */
#define MAX_TREE_DIRS 1000000L
#define MAX_LAT_SAMPLES 50000000L

/* ------------------------------------------------------------------------ */
/* options                                                                  */

static struct {
        const char *cmd;
        const char *url;
        const char *file;
        const char *tree;
        const char *dir;
        const char *verify;
        uint64_t block;
        int inflight;
        uint64_t bytes;          /* 0 = whole file */
        uint64_t offset;         /* seqread: where to start */
        double seconds;
        uint64_t seed;
        int repeat;
        uint32_t dircount;
        uint32_t maxcount;
        long expect;             /* -1 = not given */
        double timeout;
        double deadline;
        int nfsport;             /* 0 = ask the portmapper */
        int mountport;
        int verbose;
} opt = {
        .block = 0, .inflight = 0, .bytes = 0, .seconds = 10.0, .seed = 1,
        .repeat = 1, .dircount = 65536, .maxcount = 1048576, .expect = -1,
        .timeout = 30.0, .deadline = 900.0,
};

static struct {
        char host[256];
        char export_path[1024];
        int nfsport;
        int mountport;
} url;

/* ------------------------------------------------------------------------ */
/* utilities                                                                */

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fatal(const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "nfsload %s: ", opt.cmd ? opt.cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(2);
}

static void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx_(const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "nfsload %s: ", opt.cmd ? opt.cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void on_alarm(int sig)
{
        (void)sig;
        static const char msg[] = "nfsload: deadline expired, aborting\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {
                /* nothing more to do */
        }
        _exit(3);
}

static const char *nfs_status_name(int st)
{
        char *s = nfsstat3_to_str(st);
        return s ? s : "NFS3ERR_UNKNOWN";
}

static const char *rpc_status_name(int st)
{
        switch (st) {
        case RPC_STATUS_SUCCESS: return "success";
        case RPC_STATUS_ERROR: return "error";
        case RPC_STATUS_CANCEL: return "cancelled";
        case RPC_STATUS_TIMEOUT: return "timeout";
        default: return "unknown";
        }
}

static void json_str(FILE *f, const char *s)
{
        fputc('"', f);
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

/* xorshift64* */
static uint64_t rng_state = 1;
static uint64_t rng_next(void)
{
        uint64_t x = rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng_state = x;
        return x * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------------ */
/* file handles                                                             */

struct fh {
        uint32_t len;
        char data[NFS3_FHSIZE];
};

static void fh_set(struct fh *dst, const char *val, u_int len)
{
        if (len > NFS3_FHSIZE)
                fatal("server returned a %u byte file handle (limit %d)", len, NFS3_FHSIZE);
        dst->len = len;
        memcpy(dst->data, val, len);
}

static nfs_fh3 fh_arg(const struct fh *f)
{
        nfs_fh3 a;
        a.data.data_len = f->len;
        a.data.data_val = (char *)f->data;
        return a;
}

/* ------------------------------------------------------------------------ */
/* in-flight call tracking and the event loop                                */

struct call {
        struct call *prev, *next;
        double t0;
        const char *proc;
        int active;
};

static struct call active_head = { &active_head, &active_head, 0, NULL, 0 };
static int active_count;

static void call_start(struct call *c, const char *proc)
{
        c->t0 = now();
        c->proc = proc;
        c->active = 1;
        c->next = &active_head;
        c->prev = active_head.prev;
        active_head.prev->next = c;
        active_head.prev = c;
        active_count++;
}

/* Returns the latency of the call in seconds. */
static double call_end(struct call *c)
{
        if (!c->active)
                fatal("internal error: reply for a call that is not in flight");
        c->prev->next = c->next;
        c->next->prev = c->prev;
        c->prev = c->next = NULL;
        c->active = 0;
        active_count--;
        return now() - c->t0;
}

static double last_timeout_scan;

static void check_timeouts(void)
{
        double t = now();
        if (t - last_timeout_scan < 0.05)
                return;
        last_timeout_scan = t;
        for (struct call *c = active_head.next; c != &active_head; c = c->next) {
                if (t - c->t0 > opt.timeout)
                        fatal("%s: no reply within %.0f s (%d calls in flight)",
                              c->proc, opt.timeout, active_count);
        }
}

/* One round of poll + service on the connection. */
static void pump(struct rpc_context *rpc, int wait_ms)
{
        struct pollfd pfd;
        int n;

        pfd.fd = rpc_get_fd(rpc);
        pfd.events = rpc_which_events(rpc);
        pfd.revents = 0;
        if (pfd.fd < 0)
                fatal("connection lost");
        n = poll(&pfd, 1, wait_ms);
        if (n < 0) {
                if (errno == EINTR)
                        return;
                fatal("poll: %s", strerror(errno));
        }
        if (rpc_service(rpc, n > 0 ? pfd.revents : 0) < 0)
                fatal("connection failed: %s", rpc_get_error(rpc));
        check_timeouts();
}

/* Run the loop until *flag becomes non-zero; bounded by the RPC timeout. */
static void wait_flag(struct rpc_context *rpc, volatile int *flag, const char *what)
{
        double limit = now() + opt.timeout;
        while (!*flag) {
                if (now() > limit)
                        fatal("%s: no answer within %.0f s", what, opt.timeout);
                pump(rpc, 100);
        }
}

/* Run the loop until no call is in flight; each call is bounded by its timeout. */
static void drain(struct rpc_context *rpc)
{
        while (active_count > 0)
                pump(rpc, 100);
}

/* ------------------------------------------------------------------------ */
/* URL, portmapper, MOUNT                                                    */

static void parse_url(const char *u)
{
        const char *p, *host_end, *path_end;
        size_t n;

        if (strncmp(u, "nfs://", 6) != 0)
                fatal("URL must start with nfs:// (got %s)", u);
        p = u + 6;
        host_end = p + strcspn(p, "/?");
        n = (size_t)(host_end - p);
        if (n == 0 || n >= sizeof(url.host))
                fatal("bad host in URL %s", u);
        memcpy(url.host, p, n);
        url.host[n] = 0;
        {
                char *colon = strchr(url.host, ':');
                if (colon) {
                        *colon = 0;
                        url.nfsport = atoi(colon + 1);
                }
        }
        p = host_end;
        path_end = p + strcspn(p, "?");
        n = (size_t)(path_end - p);
        if (n >= sizeof(url.export_path))
                fatal("export path too long");
        if (n == 0) {
                strcpy(url.export_path, "/");
        } else {
                memcpy(url.export_path, p, n);
                url.export_path[n] = 0;
        }
        if (*path_end == '?') {
                char *q = strdup(path_end + 1), *save = NULL, *kv;
                for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
                        char *eq = strchr(kv, '=');
                        if (!eq)
                                fatal("bad URL argument %s", kv);
                        *eq = 0;
                        if (strcmp(kv, "nfsport") == 0)
                                url.nfsport = atoi(eq + 1);
                        else if (strcmp(kv, "mountport") == 0)
                                url.mountport = atoi(eq + 1);
                        else
                                warnx_("ignoring URL argument %s", kv);
                }
                free(q);
        }
        if (opt.nfsport)
                url.nfsport = opt.nfsport;
        if (opt.mountport)
                url.mountport = opt.mountport;
}

static char connecting_to[512];

struct simple {
        struct call c;
        volatile int done;
        int status;
        uint32_t u32;
        struct fh fh;
        int nfs_status;
        fattr3 attr;
        int have_attr;
};

static void connect_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        (void)rpc;
        s->status = status;
        if (status != RPC_STATUS_SUCCESS)
                fatal("connect to %s failed: %s", connecting_to, data ? (char *)data : rpc_status_name(status));
        s->done = 1;
}

static struct rpc_context *connect_to(int port, const char *what)
{
        struct rpc_context *rpc = rpc_init_context();
        struct simple s;

        if (!rpc)
                fatal("rpc_init_context failed");
        memset(&s, 0, sizeof(s));
        snprintf(connecting_to, sizeof(connecting_to), "%s port %d (%s)", url.host, port, what);
        if (rpc_connect_async(rpc, url.host, port, connect_cb, &s) != 0)
                fatal("connect to %s:%d (%s): %s", url.host, port, what, rpc_get_error(rpc));
        wait_flag(rpc, &s.done, what);
        return rpc;
}

static void getport_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                fatal("portmapper GETPORT: %s", data ? (char *)data : rpc_status_name(status));
        s->u32 = *(uint32_t *)data;
        s->done = 1;
}

static int pmap_getport(int program, int version, const char *name)
{
        struct rpc_context *rpc = connect_to(PMAP_PORT, "portmapper connect");
        struct simple s;

        memset(&s, 0, sizeof(s));
        call_start(&s.c, "PMAP2 GETPORT");
        if (rpc_pmap2_getport_async(rpc, program, version, IPPROTO_TCP, getport_cb, &s) != 0)
                fatal("GETPORT: %s", rpc_get_error(rpc));
        wait_flag(rpc, &s.done, "portmapper GETPORT");
        rpc_destroy_context(rpc);
        if (s.u32 == 0 || s.u32 > 65535)
                fatal("%s v%d over TCP is not registered with the portmapper on %s", name, version, url.host);
        return (int)s.u32;
}

static void mnt_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        mountres3 *res = data;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                fatal("MOUNT3 MNT %s: %s", url.export_path, data ? (char *)data : rpc_status_name(status));
        if (res->fhs_status != MNT3_OK)
                fatal("MOUNT3 MNT %s: %s", url.export_path, mountstat3_to_str(res->fhs_status));
        fh_set(&s->fh, res->mountres3_u.mountinfo.fhandle.fhandle3_val,
               res->mountres3_u.mountinfo.fhandle.fhandle3_len);
        s->done = 1;
}

static struct fh mount_export(void)
{
        struct rpc_context *rpc;
        struct simple s;

        rpc = connect_to(url.mountport, "MOUNT connect");
        memset(&s, 0, sizeof(s));
        call_start(&s.c, "MOUNT3 MNT");
        if (rpc_mount3_mnt_async(rpc, mnt_cb, url.export_path, &s) != 0)
                fatal("MNT: %s", rpc_get_error(rpc));
        wait_flag(rpc, &s.done, "MOUNT3 MNT");
        rpc_destroy_context(rpc);
        return s.fh;
}

/* Resolves ports, mounts, connects to NFS.  Returns the NFS connection. */
static struct rpc_context *setup(struct fh *root)
{
        struct rpc_context *rpc;

        parse_url(opt.url);
        if (url.mountport == 0)
                url.mountport = pmap_getport(MOUNT_PROGRAM, MOUNT_V3, "MOUNT");
        if (url.nfsport == 0)
                url.nfsport = pmap_getport(NFS_PROGRAM, NFS_V3, "NFS");
        *root = mount_export();
        rpc = connect_to(url.nfsport, "NFS connect");
        return rpc;
}

/* ------------------------------------------------------------------------ */
/* synchronous helpers on the NFS connection                                  */

static void lookup_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        LOOKUP3res *res = data;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                fatal("LOOKUP: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
        s->nfs_status = res->status;
        if (res->status == NFS3_OK) {
                fh_set(&s->fh, res->LOOKUP3res_u.resok.object.data.data_val,
                       res->LOOKUP3res_u.resok.object.data.data_len);
                s->have_attr = res->LOOKUP3res_u.resok.obj_attributes.attributes_follow;
                if (s->have_attr)
                        s->attr = res->LOOKUP3res_u.resok.obj_attributes.post_op_attr_u.attributes;
        }
        s->done = 1;
}

static int nfs_lookup_sync(struct rpc_context *rpc, const struct fh *dir, const char *name,
                           struct fh *out, fattr3 *attr, int *have_attr)
{
        struct simple s;
        LOOKUP3args a;

        memset(&s, 0, sizeof(s));
        a.what.dir = fh_arg(dir);
        a.what.name = (char *)name;
        call_start(&s.c, "LOOKUP");
        if (rpc_nfs3_lookup_async(rpc, lookup_cb, &a, &s) != 0)
                fatal("LOOKUP %s: %s", name, rpc_get_error(rpc));
        wait_flag(rpc, &s.done, "LOOKUP");
        if (s.nfs_status == NFS3_OK) {
                *out = s.fh;
                if (attr && have_attr) {
                        *have_attr = s.have_attr;
                        if (s.have_attr)
                                *attr = s.attr;
                }
        }
        return s.nfs_status;
}

static void getattr_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        GETATTR3res *res = data;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                fatal("GETATTR: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
        s->nfs_status = res->status;
        if (res->status == NFS3_OK)
                s->attr = res->GETATTR3res_u.resok.obj_attributes;
        s->done = 1;
}

static int nfs_getattr_sync(struct rpc_context *rpc, const struct fh *f, fattr3 *attr)
{
        struct simple s;
        GETATTR3args a;

        memset(&s, 0, sizeof(s));
        a.object = fh_arg(f);
        call_start(&s.c, "GETATTR");
        if (rpc_nfs3_getattr_async(rpc, getattr_cb, &a, &s) != 0)
                fatal("GETATTR: %s", rpc_get_error(rpc));
        wait_flag(rpc, &s.done, "GETATTR");
        if (s.nfs_status == NFS3_OK)
                *attr = s.attr;
        return s.nfs_status;
}

/* Walks PATH (relative to the export root) with LOOKUP; fills fh and attrs. */
static void resolve(struct rpc_context *rpc, const struct fh *root, const char *path,
                    struct fh *out, fattr3 *attr)
{
        char *copy = strdup(path), *save = NULL, *comp;
        struct fh cur = *root;
        int depth = 0, st;

        for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                struct fh next;
                if (strcmp(comp, ".") == 0)
                        continue;
                if (++depth > MAX_PATH_DEPTH)
                        fatal("path %s is too deep", path);
                st = nfs_lookup_sync(rpc, &cur, comp, &next, NULL, NULL);
                if (st != NFS3_OK)
                        fatal("LOOKUP %s (in %s): %s", comp, path, nfs_status_name(st));
                cur = next;
        }
        free(copy);
        st = nfs_getattr_sync(rpc, &cur, attr);
        if (st != NFS3_OK)
                fatal("GETATTR %s: %s", path, nfs_status_name(st));
        *out = cur;
}

/* ------------------------------------------------------------------------ */
/* latency statistics                                                        */

struct lat {
        double *v;
        long n, cap;
        double sum;
        long dropped;
};

static void lat_add(struct lat *l, double s)
{
        l->sum += s;
        if (l->n == l->cap) {
                if (l->cap >= MAX_LAT_SAMPLES) {
                        l->dropped++;
                        return;
                }
                l->cap = l->cap ? l->cap * 2 : 65536;
                l->v = realloc(l->v, (size_t)l->cap * sizeof(double));
                if (!l->v)
                        fatal("out of memory for latency samples");
        }
        l->v[l->n++] = s;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double lat_pct(struct lat *l, double p)
{
        long i;
        if (l->n == 0)
                return 0;
        i = (long)ceil(p / 100.0 * (double)l->n) - 1;
        if (i < 0)
                i = 0;
        if (i >= l->n)
                i = l->n - 1;
        return l->v[i];
}

/* ------------------------------------------------------------------------ */
/* verification source                                                       */

static const unsigned char *src_map;
static uint64_t src_size;

static void open_verify(void)
{
        int fd;
        struct stat st;

        if (!opt.verify)
                return;
        fd = open(opt.verify, O_RDONLY);
        if (fd < 0)
                fatal("open %s: %s", opt.verify, strerror(errno));
        if (fstat(fd, &st) != 0)
                fatal("stat %s: %s", opt.verify, strerror(errno));
        src_size = (uint64_t)st.st_size;
        if (src_size > 0) {
                src_map = mmap(NULL, src_size, PROT_READ, MAP_SHARED, fd, 0);
                if (src_map == MAP_FAILED)
                        fatal("mmap %s: %s", opt.verify, strerror(errno));
        }
        close(fd);
}

/* ------------------------------------------------------------------------ */
/* READ workloads                                                            */

struct rd {
        struct call c;
        uint64_t off;
        uint32_t len;
};

static struct {
        struct rpc_context *rpc;
        struct fh fh;
        uint64_t file_size;
        /* seqread */
        uint64_t next_off, end;
        /* randread */
        uint64_t nblocks;
        double stop_at;
        /* results */
        uint64_t bytes, ops;
        long errors, short_reads, mismatches;
        double last_done;
        struct lat lat;
        int random;
} R;

static void read_issue(struct rd *r);

static void read_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void read_error(const char *fmt, ...)
{
        va_list ap;
        R.errors++;
        if (R.errors > 20)
                return;
        fprintf(stderr, "nfsload %s: ", opt.cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void read_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct rd *r = priv;
        READ3res *res = data;
        double lat;
        (void)rpc;

        lat = call_end(&r->c);
        R.last_done = now();
        if (status != RPC_STATUS_SUCCESS)
                fatal("READ offset %" PRIu64 ": RPC %s: %s", r->off, rpc_status_name(status),
                      data ? (char *)data : "");
        if (res->status != NFS3_OK) {
                read_error("READ offset %" PRIu64 " count %u: %s", r->off, r->len,
                           nfs_status_name(res->status));
        } else {
                READ3resok *ok = &res->READ3res_u.resok;
                uint32_t got = ok->count;
                if (ok->data.data_len != got) {
                        read_error("READ offset %" PRIu64 ": count %u but %u data bytes",
                                   r->off, got, ok->data.data_len);
                } else if (got != r->len && !(ok->eof && r->off + got == R.file_size)) {
                        R.short_reads++;
                        read_error("READ offset %" PRIu64 ": asked %u bytes, got %u (eof=%u, file size %" PRIu64 ")",
                                   r->off, r->len, got, ok->eof, R.file_size);
                } else {
                        if (src_map) {
                                if (r->off + got > src_size ||
                                    memcmp(ok->data.data_val, src_map + r->off, got) != 0) {
                                        R.mismatches++;
                                        read_error("READ offset %" PRIu64 " count %u: data differs from %s",
                                                   r->off, got, opt.verify);
                                }
                        }
                        R.bytes += got;
                        R.ops++;
                        lat_add(&R.lat, lat);
                }
        }
        read_issue(r);
}

/* (Re)issues the slot if the workload wants more; otherwise leaves it idle. */
static void read_issue(struct rd *r)
{
        READ3args a;

        if (R.random) {
                if (now() >= R.stop_at)
                        return;
                r->off = (rng_next() % R.nblocks) * opt.block;
                r->len = (uint32_t)opt.block;
        } else {
                uint64_t left;
                if (R.next_off >= R.end)
                        return;
                left = R.end - R.next_off;
                r->off = R.next_off;
                r->len = (uint32_t)(left < opt.block ? left : opt.block);
                R.next_off += r->len;
        }
        memset(&a, 0, sizeof(a));
        a.file = fh_arg(&R.fh);
        a.offset = r->off;
        a.count = r->len;
        call_start(&r->c, "READ");
        if (rpc_nfs3_read_async(R.rpc, read_cb, &a, r) != 0)
                fatal("READ: cannot queue: %s", rpc_get_error(R.rpc));
}

static int run_read(int random)
{
        struct fh root;
        fattr3 attr;
        struct rd *slots;
        double t0, secs;
        int i;

        if (!opt.file)
                fatal("--file is required");
        if (opt.block == 0)
                opt.block = random ? 4096 : 1048576;
        if (opt.inflight <= 0)
                opt.inflight = random ? 32 : 16;
        if (opt.inflight > MAX_INFLIGHT)
                fatal("--inflight is limited to %d", MAX_INFLIGHT);
        if (opt.block > 16u * 1048576u)
                fatal("--block is limited to 16 MiB");
        open_verify();

        memset(&R, 0, sizeof(R));
        R.random = random;
        R.rpc = setup(&root);
        resolve(R.rpc, &root, opt.file, &R.fh, &attr);
        if (attr.type != NF3REG)
                fatal("%s is not a regular file", opt.file);
        R.file_size = attr.size;
        if (src_map && src_size != R.file_size)
                fatal("size of %s over NFS is %" PRIu64 ", local %s is %" PRIu64,
                      opt.file, R.file_size, opt.verify, src_size);
        if (random) {
                R.nblocks = R.file_size / opt.block;
                if (R.nblocks == 0)
                        fatal("%s (%" PRIu64 " bytes) is smaller than one block", opt.file, R.file_size);
                rng_state = opt.seed ? opt.seed * 0x9E3779B97F4A7C15ULL : 1;
        } else {
                if (opt.offset > R.file_size)
                        fatal("--offset %" PRIu64 " is past the end of %s (%" PRIu64 " bytes)", opt.offset, opt.file, R.file_size);
                R.next_off = opt.offset;
                R.end = R.file_size;
                if (opt.bytes && opt.bytes < R.end - opt.offset)
                        R.end = opt.offset + opt.bytes;
        }

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                fatal("out of memory");
        t0 = now();
        R.last_done = t0;
        R.stop_at = t0 + opt.seconds;
        for (i = 0; i < opt.inflight; i++)
                read_issue(&slots[i]);
        drain(R.rpc);
        secs = R.last_done - t0;
        if (secs <= 0)
                secs = 1e-9;
        if (!random && R.bytes != R.end - opt.offset && R.errors == 0)
                read_error("read %" PRIu64 " bytes, expected %" PRIu64, R.bytes, R.end - opt.offset);

        qsort(R.lat.v, (size_t)R.lat.n, sizeof(double), cmp_double);
        printf("{\"workload\":\"%s\",\"file\":", random ? "randread" : "seqread");
        json_str(stdout, opt.file);
        printf(",\"file_size\":%" PRIu64 ",\"block\":%" PRIu64 ",\"inflight\":%d"
               ",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f"
               ",\"mib_s\":%.3f,\"ops_s\":%.1f"
               ",\"lat_mean_us\":%.1f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f"
               ",\"errors\":%ld,\"short_reads\":%ld,\"verified\":%s,\"mismatches\":%ld",
               R.file_size, opt.block, opt.inflight, R.ops, R.bytes, secs,
               (double)R.bytes / 1048576.0 / secs, (double)R.ops / secs,
               R.ops ? R.lat.sum / (double)R.ops * 1e6 : 0.0,
               lat_pct(&R.lat, 50) * 1e6, lat_pct(&R.lat, 99) * 1e6,
               R.lat.n ? R.lat.v[R.lat.n - 1] * 1e6 : 0.0,
               R.errors, R.short_reads, src_map ? "true" : "false", R.mismatches);
        if (random)
                printf(",\"seed\":%" PRIu64 ",\"duration\":%.3f", opt.seed, opt.seconds);
        printf("}\n");
        fflush(stdout);
        return R.errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* READDIRPLUS                                                               */

struct dirent_cb {
        /* called for each entry other than "." and ".." */
        void (*fn)(void *ctx, const entryplus3 *e);
        void *ctx;
};

struct rdp {
        struct simple s;
        struct dirent_cb *sink;
        cookie3 cookie;
        cookieverf3 verf;
        uint32_t eof;
        long entries;       /* entries in this reply (all, including dot entries) */
        long named;         /* entries in this reply without "." and ".." */
};

static void rdp_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct rdp *p = priv;
        READDIRPLUS3res *res = data;
        entryplus3 *e;
        (void)rpc;

        call_end(&p->s.c);
        if (status != RPC_STATUS_SUCCESS)
                fatal("READDIRPLUS: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
        p->s.nfs_status = res->status;
        p->entries = 0;
        p->named = 0;
        if (res->status == NFS3_OK) {
                READDIRPLUS3resok *ok = &res->READDIRPLUS3res_u.resok;
                memcpy(p->verf, ok->cookieverf, sizeof(cookieverf3));
                p->eof = ok->reply.eof;
                for (e = ok->reply.entries; e; e = e->nextentry) {
                        p->entries++;
                        p->cookie = e->cookie;
                        if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
                                continue;
                        p->named++;
                        if (p->sink)
                                p->sink->fn(p->sink->ctx, e);
                }
        }
        p->s.done = 1;
}

/* Lists a whole directory, following cookies until eof.  Returns the number of
 * entries (without "." and ".."), or -1 after printing an error. */
static long list_dir(struct rpc_context *rpc, const struct fh *dir, struct dirent_cb *sink,
                     long *pages_out)
{
        struct rdp p;
        long total = 0, pages = 0;
        READDIRPLUS3args a;

        memset(&p, 0, sizeof(p));
        p.sink = sink;
        for (;;) {
                if (pages >= MAX_DIR_PAGES) {
                        warnx_("READDIRPLUS: no eof after %ld replies", pages);
                        return -1;
                }
                memset(&a, 0, sizeof(a));
                a.dir = fh_arg(dir);
                a.cookie = p.cookie;
                memcpy(a.cookieverf, p.verf, sizeof(cookieverf3));
                a.dircount = opt.dircount;
                a.maxcount = opt.maxcount;
                p.s.done = 0;
                call_start(&p.s.c, "READDIRPLUS");
                if (rpc_nfs3_readdirplus_async(rpc, rdp_cb, &a, &p) != 0)
                        fatal("READDIRPLUS: cannot queue: %s", rpc_get_error(rpc));
                wait_flag(rpc, &p.s.done, "READDIRPLUS");
                pages++;
                if (p.s.nfs_status != NFS3_OK) {
                        warnx_("READDIRPLUS (cookie %" PRIu64 "): %s", a.cookie,
                               nfs_status_name(p.s.nfs_status));
                        return -1;
                }
                total += p.named;
                if (p.eof)
                        break;
                if (p.entries == 0) {
                        warnx_("READDIRPLUS: empty reply without eof (cookie %" PRIu64 ")", a.cookie);
                        return -1;
                }
        }
        if (pages_out)
                *pages_out = pages;
        return total;
}

struct count_ctx {
        long n;
};

static void count_entry(void *ctx, const entryplus3 *e)
{
        (void)e;
        ((struct count_ctx *)ctx)->n++;
}

static int run_readdirplus(void)
{
        struct fh root, dir;
        fattr3 attr;
        struct rpc_context *rpc;
        double t0, secs, best = 1e30, *pass_s;
        long entries = -1, pages = 0;
        int pass, errors = 0;

        if (!opt.dir)
                fatal("--dir is required");
        if (opt.repeat < 1 || opt.repeat > 100000)
                fatal("--repeat must be between 1 and 100000");
        rpc = setup(&root);
        resolve(rpc, &root, opt.dir, &dir, &attr);
        if (attr.type != NF3DIR)
                fatal("%s is not a directory", opt.dir);

        pass_s = calloc((size_t)opt.repeat, sizeof(double));
        if (!pass_s)
                fatal("out of memory");
        t0 = now();
        for (pass = 0; pass < opt.repeat; pass++) {
                struct count_ctx cc = { 0 };
                struct dirent_cb sink = { count_entry, &cc };
                double p0 = now(), pt;
                long n = list_dir(rpc, &dir, &sink, &pages);
                pt = now() - p0;
                pass_s[pass] = pt;
                if (pt < best)
                        best = pt;
                if (n < 0)
                        fatal("listing %s failed", opt.dir);
                if (entries >= 0 && cc.n != entries) {
                        warnx_("pass %d listed %ld entries, pass 1 listed %ld", pass + 1, cc.n, entries);
                        errors++;
                }
                entries = cc.n;
                if (opt.expect >= 0 && cc.n != opt.expect) {
                        warnx_("%s: listed %ld entries, expected %ld", opt.dir, cc.n, opt.expect);
                        errors++;
                }
        }
        secs = now() - t0;
        printf("{\"workload\":\"readdirplus\",\"dir\":");
        json_str(stdout, opt.dir);
        printf(",\"entries\":%ld,\"passes\":%d,\"replies_per_pass\":%ld,\"dircount\":%u,\"maxcount\":%u"
               ",\"seconds\":%.6f,\"entries_s\":%.1f,\"best_pass_s\":%.6f,\"errors\":%d"
               ",\"pass_seconds\":[",
               entries, opt.repeat, pages, opt.dircount, opt.maxcount, secs,
               (double)entries * opt.repeat / (secs > 0 ? secs : 1e-9), best, errors);
        for (pass = 0; pass < opt.repeat; pass++)
                printf("%s%.6f", pass ? "," : "", pass_s[pass]);
        printf("]}\n");
        fflush(stdout);
        free(pass_s);
        return errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* meta: LOOKUP + GETATTR + ACCESS over a tree                                */

struct item {
        uint32_t dir;      /* index into dirs */
        char *name;
        struct fh fh;
};

static struct {
        struct fh *dirs;
        long ndirs, capdirs;
        struct item *items;
        long nitems, capitems;
        long lookups_for_walk;
} T;

struct walk_entry {
        char *name;
        int type;          /* 0 = unknown */
        int have_fh;
        struct fh fh;
};

struct walk_ctx {
        struct walk_entry *v;
        long n, cap;
};

static void walk_collect(void *ctx, const entryplus3 *e)
{
        struct walk_ctx *w = ctx;
        struct walk_entry *we;

        if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 256;
                w->v = realloc(w->v, (size_t)w->cap * sizeof(*w->v));
                if (!w->v)
                        fatal("out of memory");
        }
        we = &w->v[w->n++];
        memset(we, 0, sizeof(*we));
        we->name = strdup(e->name);
        if (e->name_attributes.attributes_follow)
                we->type = e->name_attributes.post_op_attr_u.attributes.type;
        if (e->name_handle.handle_follows) {
                we->have_fh = 1;
                fh_set(&we->fh, e->name_handle.post_op_fh3_u.handle.data.data_val,
                       e->name_handle.post_op_fh3_u.handle.data.data_len);
        }
}

static void add_dir(const struct fh *f)
{
        if (T.ndirs >= MAX_TREE_DIRS)
                fatal("tree has more than %ld directories", MAX_TREE_DIRS);
        if (T.ndirs == T.capdirs) {
                T.capdirs = T.capdirs ? T.capdirs * 2 : 256;
                T.dirs = realloc(T.dirs, (size_t)T.capdirs * sizeof(*T.dirs));
                if (!T.dirs)
                        fatal("out of memory");
        }
        T.dirs[T.ndirs++] = *f;
}

static void add_item(uint32_t dir, char *name, const struct fh *f)
{
        if (T.nitems >= MAX_TREE_ITEMS)
                fatal("tree has more than %ld files", MAX_TREE_ITEMS);
        if (T.nitems == T.capitems) {
                T.capitems = T.capitems ? T.capitems * 2 : 1024;
                T.items = realloc(T.items, (size_t)T.capitems * sizeof(*T.items));
                if (!T.items)
                        fatal("out of memory");
        }
        T.items[T.nitems].dir = dir;
        T.items[T.nitems].name = name;
        T.items[T.nitems].fh = *f;
        T.nitems++;
}

/* Breadth-first walk: every directory is listed once with READDIRPLUS. */
static void walk_tree(struct rpc_context *rpc, const struct fh *top)
{
        long d;

        add_dir(top);
        for (d = 0; d < T.ndirs; d++) {
                struct walk_ctx w = { 0 };
                struct dirent_cb sink = { walk_collect, &w };
                struct fh dirfh = T.dirs[d];
                long i;

                if (list_dir(rpc, &dirfh, &sink, NULL) < 0)
                        fatal("walking the tree failed");
                for (i = 0; i < w.n; i++) {
                        struct walk_entry *we = &w.v[i];
                        if (!we->have_fh || we->type == 0) {
                                fattr3 at;
                                int have = 0, st;
                                st = nfs_lookup_sync(rpc, &dirfh, we->name, &we->fh, &at, &have);
                                T.lookups_for_walk++;
                                if (st != NFS3_OK)
                                        fatal("LOOKUP %s: %s", we->name, nfs_status_name(st));
                                we->have_fh = 1;
                                if (!have && nfs_getattr_sync(rpc, &we->fh, &at) == NFS3_OK)
                                        have = 1;
                                we->type = have ? (int)at.type : 0;
                        }
                        if (we->type == NF3DIR) {
                                add_dir(&we->fh);
                                free(we->name);
                        } else if (we->type == NF3REG) {
                                add_item((uint32_t)d, we->name, &we->fh);
                        } else {
                                free(we->name);
                        }
                }
                free(w.v);
        }
}

enum { OP_LOOKUP, OP_GETATTR, OP_ACCESS, OP_COUNT };
static const char *op_names[OP_COUNT] = { "LOOKUP", "GETATTR", "ACCESS" };

struct mslot {
        struct call c;
        long item;
        int op;
};

static struct {
        struct rpc_context *rpc;
        long next_item;
        double stop_at, last_done;
        uint64_t ops[OP_COUNT];
        double lat_sum[OP_COUNT];
        long errors, fh_mismatch;
        struct lat lat;
} M;

static void meta_issue(struct mslot *s);

static void meta_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct mslot *s = priv;
        struct item *it = &T.items[s->item];
        double lat;
        int st;
        (void)rpc;

        lat = call_end(&s->c);
        M.last_done = now();
        if (status != RPC_STATUS_SUCCESS)
                fatal("%s %s: RPC %s: %s", op_names[s->op], it->name, rpc_status_name(status),
                      data ? (char *)data : "");
        switch (s->op) {
        case OP_LOOKUP: {
                LOOKUP3res *res = data;
                st = res->status;
                if (st == NFS3_OK) {
                        nfs_fh3 *o = &res->LOOKUP3res_u.resok.object;
                        if (o->data.data_len != it->fh.len ||
                            memcmp(o->data.data_val, it->fh.data, it->fh.len) != 0)
                                M.fh_mismatch++;
                }
                break;
        }
        case OP_GETATTR:
                st = ((GETATTR3res *)data)->status;
                break;
        default:
                st = ((ACCESS3res *)data)->status;
                break;
        }
        if (st != NFS3_OK) {
                M.errors++;
                if (M.errors <= 20)
                        warnx_("%s %s: %s", op_names[s->op], it->name, nfs_status_name(st));
        } else {
                M.ops[s->op]++;
                M.lat_sum[s->op] += lat;
                lat_add(&M.lat, lat);
        }
        /* next op on the same file, or the next file */
        s->op++;
        if (s->op == OP_COUNT) {
                s->op = OP_LOOKUP;
                s->item = M.next_item++ % T.nitems;
        }
        meta_issue(s);
}

static void meta_issue(struct mslot *s)
{
        struct item *it;
        int rc;

        if (now() >= M.stop_at)
                return;
        it = &T.items[s->item];
        call_start(&s->c, op_names[s->op]);
        switch (s->op) {
        case OP_LOOKUP: {
                LOOKUP3args a;
                a.what.dir = fh_arg(&T.dirs[it->dir]);
                a.what.name = it->name;
                rc = rpc_nfs3_lookup_async(M.rpc, meta_cb, &a, s);
                break;
        }
        case OP_GETATTR: {
                GETATTR3args a;
                a.object = fh_arg(&it->fh);
                rc = rpc_nfs3_getattr_async(M.rpc, meta_cb, &a, s);
                break;
        }
        default: {
                ACCESS3args a;
                a.object = fh_arg(&it->fh);
                a.access = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_EXECUTE;
                rc = rpc_nfs3_access_async(M.rpc, meta_cb, &a, s);
                break;
        }
        }
        if (rc != 0)
                fatal("%s: cannot queue: %s", op_names[s->op], rpc_get_error(M.rpc));
}

static int run_meta(void)
{
        struct fh root, top;
        fattr3 attr;
        struct mslot *slots;
        double t0, tw, secs;
        uint64_t total;
        int i;

        if (!opt.tree)
                fatal("--tree is required");
        if (opt.inflight <= 0)
                opt.inflight = 32;
        if (opt.inflight > MAX_INFLIGHT)
                fatal("--inflight is limited to %d", MAX_INFLIGHT);
        memset(&M, 0, sizeof(M));
        M.rpc = setup(&root);
        resolve(M.rpc, &root, opt.tree, &top, &attr);
        if (attr.type != NF3DIR)
                fatal("%s is not a directory", opt.tree);
        tw = now();
        walk_tree(M.rpc, &top);
        tw = now() - tw;
        if (T.nitems == 0)
                fatal("no regular files under %s", opt.tree);

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                fatal("out of memory");
        t0 = now();
        M.stop_at = t0 + opt.seconds;
        M.last_done = t0;
        for (i = 0; i < opt.inflight; i++) {
                slots[i].item = M.next_item++ % T.nitems;
                slots[i].op = OP_LOOKUP;
                meta_issue(&slots[i]);
        }
        drain(M.rpc);
        secs = M.last_done - t0;
        if (secs <= 0)
                secs = 1e-9;
        total = M.ops[0] + M.ops[1] + M.ops[2];
        qsort(M.lat.v, (size_t)M.lat.n, sizeof(double), cmp_double);
        printf("{\"workload\":\"meta\",\"tree\":");
        json_str(stdout, opt.tree);
        printf(",\"files\":%ld,\"dirs\":%ld,\"walk_seconds\":%.3f,\"walk_lookups\":%ld"
               ",\"inflight\":%d,\"ops\":%" PRIu64 ",\"seconds\":%.6f,\"ops_s\":%.1f"
               ",\"lookup\":%" PRIu64 ",\"getattr\":%" PRIu64 ",\"access\":%" PRIu64
               ",\"lat_mean_us\":%.1f,\"lat_p99_us\":%.1f"
               ",\"lookup_fh_mismatch\":%ld,\"errors\":%ld,\"duration\":%.3f}\n",
               T.nitems, T.ndirs, tw, T.lookups_for_walk, opt.inflight, total, secs,
               (double)total / secs, M.ops[OP_LOOKUP], M.ops[OP_GETATTR], M.ops[OP_ACCESS],
               total ? M.lat.sum / (double)total * 1e6 : 0.0, lat_pct(&M.lat, 99) * 1e6,
               M.fh_mismatch, M.errors, opt.seconds);
        fflush(stdout);
        return M.errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* probe                                                                     */

static int run_probe(void)
{
        struct fh root;
        fattr3 attr;
        struct rpc_context *rpc = setup(&root);
        int st = nfs_getattr_sync(rpc, &root, &attr);
        if (st != NFS3_OK)
                fatal("GETATTR of the export root: %s", nfs_status_name(st));
        printf("{\"probe\":\"ok\",\"host\":");
        json_str(stdout, url.host);
        printf(",\"export\":");
        json_str(stdout, url.export_path);
        printf(",\"nfsport\":%d,\"mountport\":%d,\"root_fh_len\":%u,\"root_type\":%d}\n",
               url.nfsport, url.mountport, root.len, (int)attr.type);
        fflush(stdout);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* command line                                                              */

static void usage(int code)
{
        fprintf(code ? stderr : stdout,
"usage: nfsload COMMAND --url nfs://HOST[:PORT]/EXPORT[?nfsport=N&mountport=N] [options]\n"
"commands:\n"
"  probe\n"
"  seqread     --file PATH [--block 1048576] [--inflight 16] [--offset N] [--bytes N] [--verify SRC]\n"
"  randread    --file PATH [--block 4096] [--inflight 32] --seconds S [--seed N] [--verify SRC]\n"
"  meta        --tree DIR [--inflight 32] --seconds S\n"
"  readdirplus --dir DIR [--repeat N] [--dircount 65536] [--maxcount 1048576] [--expect N]\n"
"common options:\n"
"  --nfsport N --mountport N   skip the portmapper for that program\n"
"  --timeout S                 per-RPC timeout in seconds (default 30)\n"
"  --deadline S                abort the whole run after S seconds (default 900)\n");
        exit(code);
}

static uint64_t parse_u64(const char *s, const char *name)
{
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno || end == s)
                fatal("bad value for %s: %s", name, s);
        switch (*end) {
        case 'k': case 'K': v <<= 10; end++; break;
        case 'm': case 'M': v <<= 20; end++; break;
        case 'g': case 'G': v <<= 30; end++; break;
        default: break;
        }
        if (*end)
                fatal("bad value for %s: %s", name, s);
        return v;
}

static double parse_double(const char *s, const char *name)
{
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end || !(v >= 0))
                fatal("bad value for %s: %s", name, s);
        return v;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "url", required_argument, NULL, 'u' },
                { "file", required_argument, NULL, 'f' },
                { "tree", required_argument, NULL, 't' },
                { "dir", required_argument, NULL, 'd' },
                { "verify", required_argument, NULL, 'V' },
                { "block", required_argument, NULL, 'b' },
                { "inflight", required_argument, NULL, 'i' },
                { "bytes", required_argument, NULL, 'B' },
                { "offset", required_argument, NULL, 'O' },
                { "seconds", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "repeat", required_argument, NULL, 'r' },
                { "dircount", required_argument, NULL, 'c' },
                { "maxcount", required_argument, NULL, 'm' },
                { "expect", required_argument, NULL, 'e' },
                { "timeout", required_argument, NULL, 'T' },
                { "deadline", required_argument, NULL, 'D' },
                { "nfsport", required_argument, NULL, 'n' },
                { "mountport", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c, rc;

        if (argc < 2)
                usage(2);
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                usage(0);
        opt.cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
                switch (c) {
                case 'u': opt.url = optarg; break;
                case 'f': opt.file = optarg; break;
                case 't': opt.tree = optarg; break;
                case 'd': opt.dir = optarg; break;
                case 'V': opt.verify = optarg; break;
                case 'b': opt.block = parse_u64(optarg, "--block"); break;
                case 'i': opt.inflight = (int)parse_u64(optarg, "--inflight"); break;
                case 'B': opt.bytes = parse_u64(optarg, "--bytes"); break;
                case 'O': opt.offset = parse_u64(optarg, "--offset"); break;
                case 's': opt.seconds = parse_double(optarg, "--seconds"); break;
                case 'S': opt.seed = parse_u64(optarg, "--seed"); break;
                case 'r': opt.repeat = (int)parse_u64(optarg, "--repeat"); break;
                case 'c': opt.dircount = (uint32_t)parse_u64(optarg, "--dircount"); break;
                case 'm': opt.maxcount = (uint32_t)parse_u64(optarg, "--maxcount"); break;
                case 'e': opt.expect = (long)parse_u64(optarg, "--expect"); break;
                case 'T': opt.timeout = parse_double(optarg, "--timeout"); break;
                case 'D': opt.deadline = parse_double(optarg, "--deadline"); break;
                case 'n': opt.nfsport = (int)parse_u64(optarg, "--nfsport"); break;
                case 'M': opt.mountport = (int)parse_u64(optarg, "--mountport"); break;
                case 'h': usage(0); break;
                default: usage(2);
                }
        }
        if (optind != argc)
                fatal("unexpected argument %s", argv[optind]);
        if (!opt.url)
                fatal("--url is required");
        if (opt.timeout <= 0)
                fatal("--timeout must be positive");
        if (opt.block > UINT32_MAX)
                fatal("--block too large");
        if (opt.seconds > 86400)
                fatal("--seconds too large");

        signal(SIGPIPE, SIG_IGN);
        signal(SIGALRM, on_alarm);
        if (opt.deadline > 0)
                alarm((unsigned)ceil(opt.deadline));

        if (strcmp(opt.cmd, "probe") == 0)
                rc = run_probe();
        else if (strcmp(opt.cmd, "seqread") == 0)
                rc = run_read(0);
        else if (strcmp(opt.cmd, "randread") == 0)
                rc = run_read(1);
        else if (strcmp(opt.cmd, "meta") == 0)
                rc = run_meta();
        else if (strcmp(opt.cmd, "readdirplus") == 0)
                rc = run_readdirplus();
        else {
                warnx_("unknown command");
                usage(2);
        }
        /* Sockets close on exit; no UMNT is sent (the servers keep no
         * per-client mount state that matters for a benchmark). */
        return rc;
}
