/*
 * nfs4load: NFSv4.1 load generator for the p2pfs benchmarks.
 *
 * The NFSv4.1 counterpart of nfsload.  Debian 12's libnfs speaks NFSv4.0
 * only (no SEQUENCE, EXCHANGE_ID or CREATE_SESSION), so this tool carries
 * its own minimal client: one TCP connection, ONC RPC record marking
 * (RFC 5531 §11), AUTH_SYS credentials, and XDR for the handful of
 * COMPOUND operations it needs (RFC 8881).  Many COMPOUNDs are in flight at
 * once, each on a session slot of its own, the way the kernel client
 * pipelines.
 *
 * Session: EXCHANGE_ID, CREATE_SESSION asking for one slot per request in
 * flight (fewer granted is a fatal error: the run would not be what was
 * asked), RECLAIM_COMPLETE.  Paths: PUTROOTFH + LOOKUP per component.
 *
 * Subcommands (each prints one JSON object on stdout, fields as nfsload's):
 *   probe     --url U                   session, PUTROOTFH + LOOKUP the export, GETATTR
 *   seqread   --url U --file P [--block B --inflight N --bytes N --offset N --verify SRC]
 *   randread  --url U --file P [--block B --inflight N --seconds S --seed N --verify SRC]
 *   meta      --url U --tree D [--inflight N --seconds S]
 *   readdir   --url U --dir D [--repeat N --dircount N --maxcount N --expect N]
 *
 * READ: SEQUENCE + PUTFH + READ with the anonymous stateid (all zeros,
 * RFC 8881 §8.2.3).  The figure is the READ path; the anonymous stateid
 * asks of the server what an NFSv3 READ does, so v3 and v4.1 rows compare.
 * meta: per file, SEQUENCE + PUTFH(dir) + LOOKUP + GETFH + GETATTR (the
 * kernel's lookup COMPOUND), SEQUENCE + PUTFH + GETATTR, SEQUENCE + PUTFH +
 * ACCESS, each COMPOUND one operation in the figures, as nfsload's LOOKUP,
 * GETATTR and ACCESS calls.  readdir: READDIR asking for the attributes
 * the Linux client asks for in `ls -l` (its READDIR bitmap), following
 * cookies until eof.
 *
 * URL: nfs://HOST[:PORT]/EXPORT[?nfsport=N]  (default port 2049; no
 * portmapper: NFSv4 has a fixed port).  EXPORT is looked up from the root
 * file handle; --file, --tree, --dir are relative to it.
 *
 * Every RPC has a timeout (--timeout, default 30 s), every loop is bounded by
 * a count or a duration, and the whole run is bounded by --deadline
 * (default 900 s).  Errors go to stderr with the NFS4 status name; the exit
 * code is 0 on success, 1 when the workload ran but saw errors, 2 on a fatal
 * error, 3 when the deadline expired.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../loadcommon/loadargs.h"
#include "../loadcommon/loadwork.h"

#define MAX_INFLIGHT 1000             /* session slots we may ask for; xid low bits */
#define MAX_PATH_DEPTH 64
#define MAX_DIR_PAGES 1000000L        /* READDIR calls per directory pass */
#define MAX_TREE_ITEMS 10000000L
#define MAX_TREE_DIRS 1000000L
#define NFS4_FHSIZE 128
#define MAX_RECORD (64u << 20)        /* largest reply record accepted */
#define MAX_BLOCK (1u << 20)

#define NFS_PROGRAM 100003
#define NFS_V4 4
#define NFSPROC4_COMPOUND 1

enum {
        OP_ACCESS = 3, OP_GETATTR = 9, OP_GETFH = 10, OP_LOOKUP = 15, OP_PUTFH = 22,
        OP_PUTROOTFH = 24, OP_READ = 25, OP_READDIR = 26, OP_EXCHANGE_ID = 42,
        OP_CREATE_SESSION = 43, OP_DESTROY_SESSION = 44, OP_SEQUENCE = 53,
        OP_DESTROY_CLIENTID = 57, OP_RECLAIM_COMPLETE = 58,
};

enum { NF4REG = 1, NF4DIR = 2 };

/* attribute numbers (RFC 8881 §5.6, §5.7) */
enum {
        A_TYPE = 1, A_CHANGE = 3, A_SIZE = 4, A_FSID = 8, A_RDATTR_ERROR = 11,
        A_FILEHANDLE = 19, A_FILEID = 20, A_MODE = 33, A_NUMLINKS = 35, A_OWNER = 36,
        A_OWNER_GROUP = 37, A_RAWDEV = 41, A_SPACE_USED = 45, A_TIME_ACCESS = 47,
        A_TIME_METADATA = 52, A_TIME_MODIFY = 53, A_MOUNTED_ON_FILEID = 55,
};
#define BIT(n) (1u << ((n) % 32))

/* ------------------------------------------------------------------------ */
/* options beyond the common ones (loadargs.h) and the URL                  */

static uint32_t minorversion = 1;   /* 1; others only to check a server's refusal */

static struct load_url url;

/* ------------------------------------------------------------------------ */
/* utilities                                                                */

static const char *nfs4_status_name(uint32_t st)
{
        switch (st) {
        case 0: return "NFS4_OK";
        case 1: return "NFS4ERR_PERM";
        case 2: return "NFS4ERR_NOENT";
        case 5: return "NFS4ERR_IO";
        case 6: return "NFS4ERR_NXIO";
        case 13: return "NFS4ERR_ACCESS";
        case 17: return "NFS4ERR_EXIST";
        case 20: return "NFS4ERR_NOTDIR";
        case 21: return "NFS4ERR_ISDIR";
        case 22: return "NFS4ERR_INVAL";
        case 30: return "NFS4ERR_ROFS";
        case 63: return "NFS4ERR_NAMETOOLONG";
        case 70: return "NFS4ERR_STALE";
        case 10001: return "NFS4ERR_BADHANDLE";
        case 10003: return "NFS4ERR_BAD_COOKIE";
        case 10004: return "NFS4ERR_NOTSUPP";
        case 10005: return "NFS4ERR_TOOSMALL";
        case 10006: return "NFS4ERR_SERVERFAULT";
        case 10008: return "NFS4ERR_DELAY";
        case 10009: return "NFS4ERR_SAME";
        case 10010: return "NFS4ERR_DENIED";
        case 10011: return "NFS4ERR_EXPIRED";
        case 10013: return "NFS4ERR_GRACE";
        case 10020: return "NFS4ERR_NOFILEHANDLE";
        case 10021: return "NFS4ERR_MINOR_VERS_MISMATCH";
        case 10022: return "NFS4ERR_STALE_CLIENTID";
        case 10023: return "NFS4ERR_STALE_STATEID";
        case 10024: return "NFS4ERR_OLD_STATEID";
        case 10025: return "NFS4ERR_BAD_STATEID";
        case 10026: return "NFS4ERR_BAD_SEQID";
        case 10027: return "NFS4ERR_NOT_SAME";
        case 10029: return "NFS4ERR_RESOURCE";
        case 10030: return "NFS4ERR_MOVED";
        case 10031: return "NFS4ERR_NOSPC";
        case 10032: return "NFS4ERR_ATTRNOTSUPP";
        case 10033: return "NFS4ERR_NO_GRACE";
        case 10036: return "NFS4ERR_BADXDR";
        case 10038: return "NFS4ERR_OP_ILLEGAL";
        case 10041: return "NFS4ERR_BADNAME";
        case 10044: return "NFS4ERR_OP_NOT_IN_SESSION";
        case 10048: return "NFS4ERR_WRONGSEC";
        case 10052: return "NFS4ERR_BADSESSION";
        case 10053: return "NFS4ERR_BADSLOT";
        case 10055: return "NFS4ERR_CONN_NOT_BOUND_TO_SESSION";
        case 10057: return "NFS4ERR_SEQ_FALSE_RETRY";
        case 10063: return "NFS4ERR_SEQ_MISORDERED";
        case 10064: return "NFS4ERR_SEQUENCE_POS";
        case 10065: return "NFS4ERR_REQ_TOO_BIG";
        case 10066: return "NFS4ERR_REP_TOO_BIG";
        case 10067: return "NFS4ERR_REP_TOO_BIG_TO_CACHE";
        case 10068: return "NFS4ERR_RETRY_UNCACHED_REP";
        case 10070: return "NFS4ERR_TOO_MANY_OPS";
        case 10071: return "NFS4ERR_OP_NOT_IN_SESSION";
        case 10074: return "NFS4ERR_CLIENTID_BUSY";
        case 10077: return "NFS4ERR_NOT_ONLY_OP";
        case 10084: return "NFS4ERR_COMPLETE_ALREADY";
        case 10088: return "NFS4ERR_DELEG_REVOKED";
        default: {
                static char buf[32];
                snprintf(buf, sizeof(buf), "NFS4ERR_%u", st);
                return buf;
        }
        }
}


/* ------------------------------------------------------------------------ */
/* XDR (RFC 4506): an encoder into a growing buffer, a bounded decoder        */

struct enc {
        uint8_t *b;
        size_t n, cap;
};

static void enc_room(struct enc *e, size_t k)
{
        if (e->n + k <= e->cap)
                return;
        while (e->n + k > e->cap)
                e->cap = e->cap ? e->cap * 2 : 4096;
        e->b = realloc(e->b, e->cap);
        if (!e->b)
                load_fatal("out of memory");
}

static void put_u32(struct enc *e, uint32_t v)
{
        enc_room(e, 4);
        v = htonl(v);
        memcpy(e->b + e->n, &v, 4);
        e->n += 4;
}

static void put_u64(struct enc *e, uint64_t v)
{
        put_u32(e, (uint32_t)(v >> 32));
        put_u32(e, (uint32_t)v);
}

static void put_fixed(struct enc *e, const void *p, size_t len)
{
        size_t pad = (4 - len % 4) % 4;
        enc_room(e, len + pad);
        memcpy(e->b + e->n, p, len);
        memset(e->b + e->n + len, 0, pad);
        e->n += len + pad;
}

static void put_opaque(struct enc *e, const void *p, size_t len)
{
        put_u32(e, (uint32_t)len);
        put_fixed(e, p, len);
}

struct dec {
        const uint8_t *p, *end;
        int bad;
};

static uint32_t get_u32(struct dec *d)
{
        uint32_t v;
        if (d->bad || d->end - d->p < 4) {
                d->bad = 1;
                return 0;
        }
        memcpy(&v, d->p, 4);
        d->p += 4;
        return ntohl(v);
}

static uint64_t get_u64(struct dec *d)
{
        uint64_t hi = get_u32(d);
        return hi << 32 | get_u32(d);
}

/* Returns a pointer to len bytes (padded to 4 in the stream), or NULL. */
static const uint8_t *get_fixed(struct dec *d, uint32_t len)
{
        const uint8_t *p;
        size_t padded = ((size_t)len + 3) & ~(size_t)3;
        if (d->bad || (size_t)(d->end - d->p) < padded) {
                d->bad = 1;
                return NULL;
        }
        p = d->p;
        d->p += padded;
        return p;
}

static const uint8_t *get_opaque(struct dec *d, uint32_t *len, uint32_t max)
{
        *len = get_u32(d);
        if (*len > max) {
                d->bad = 1;
                return NULL;
        }
        return get_fixed(d, *len);
}

/* ------------------------------------------------------------------------ */
/* file handles and attribute bitmaps                                        */

struct fh {
        uint32_t len;
        uint8_t data[NFS4_FHSIZE];
};

static int fh_get(struct dec *d, struct fh *f)
{
        uint32_t len;
        const uint8_t *p = get_opaque(d, &len, NFS4_FHSIZE);
        if (!p)
                return -1;
        f->len = len;
        memcpy(f->data, p, len);
        return 0;
}

struct bitmap {
        uint32_t n;
        uint32_t w[3];
};

static void put_bitmap(struct enc *e, const struct bitmap *b)
{
        put_u32(e, b->n);
        for (uint32_t i = 0; i < b->n; i++)
                put_u32(e, b->w[i]);
}

static int bm_has(const struct bitmap *b, int attr)
{
        uint32_t w = (uint32_t)attr / 32;
        return w < b->n && (b->w[w] & BIT(attr));
}

static int get_bitmap(struct dec *d, struct bitmap *b)
{
        uint32_t n = get_u32(d);
        if (n > 16) {
                d->bad = 1;
                return -1;
        }
        memset(b, 0, sizeof(*b));
        for (uint32_t i = 0; i < n; i++) {
                uint32_t v = get_u32(d);
                if (i < 3)
                        b->w[i] = v;
        }
        b->n = n < 3 ? n : 3;
        return d->bad ? -1 : 0;
}

/* What the Linux client asks READDIR for when listing with attributes
 * (nfs4_readdir_bitmap: nfs4_fattr_bitmap plus rdattr_error and
 * mounted_on_fileid): everything `ls -l` shows. */
static const struct bitmap readdir_attrs = {
        2,
        { BIT(A_TYPE) | BIT(A_CHANGE) | BIT(A_SIZE) | BIT(A_FSID) | BIT(A_RDATTR_ERROR) |
                  BIT(A_FILEHANDLE) | BIT(A_FILEID),
          BIT(A_MODE) | BIT(A_NUMLINKS) | BIT(A_OWNER) | BIT(A_OWNER_GROUP) | BIT(A_RAWDEV) |
                  BIT(A_SPACE_USED) | BIT(A_TIME_ACCESS) | BIT(A_TIME_METADATA) |
                  BIT(A_TIME_MODIFY) | BIT(A_MOUNTED_ON_FILEID), 0 },
};

/* What the Linux client's GETATTR asks for a stat() (nfs4_fattr_bitmap). */
static const struct bitmap stat_attrs = {
        2,
        { BIT(A_TYPE) | BIT(A_CHANGE) | BIT(A_SIZE) | BIT(A_FSID) | BIT(A_FILEID),
          BIT(A_MODE) | BIT(A_NUMLINKS) | BIT(A_OWNER) | BIT(A_OWNER_GROUP) | BIT(A_RAWDEV) |
                  BIT(A_SPACE_USED) | BIT(A_TIME_ACCESS) | BIT(A_TIME_METADATA) |
                  BIT(A_TIME_MODIFY) | BIT(A_MOUNTED_ON_FILEID), 0 },
};

static const struct bitmap type_size_attrs = { 1, { BIT(A_TYPE) | BIT(A_SIZE), 0, 0 } };

struct attrs {
        int have_type, have_size, have_fh;
        uint32_t type;
        uint64_t size;
        uint32_t rdattr_error;
        struct fh fh;
};

/* Decodes the attributes nfs4load needs from a fattr4 (they come first, in
 * attribute order: type, change, size, fsid, rdattr_error, filehandle) and
 * stops there.  Returns -1 when the fattr4 is malformed. */
static int get_fattr(struct dec *d, struct attrs *a)
{
        struct bitmap bm;
        uint32_t len;
        const uint8_t *vals;
        struct dec v;

        memset(a, 0, sizeof(*a));
        if (get_bitmap(d, &bm) < 0)
                return -1;
        vals = get_opaque(d, &len, MAX_RECORD);
        if (!vals)
                return -1;
        v.p = vals;
        v.end = vals + len;
        v.bad = 0;
        if (bm_has(&bm, 0) || bm_has(&bm, 2)) {
                /* supported_attrs (0) and fh_expire_type (2) are never asked for */
                return -1;
        }
        if (bm_has(&bm, A_TYPE)) {
                a->type = get_u32(&v);
                a->have_type = 1;
        }
        if (bm_has(&bm, A_CHANGE))
                (void)get_u64(&v);
        if (bm_has(&bm, A_SIZE)) {
                a->size = get_u64(&v);
                a->have_size = 1;
        }
        for (int attr = 5; attr <= 7; attr++)
                if (bm_has(&bm, attr))
                        (void)get_u32(&v);      /* booleans, never asked for */
        if (bm_has(&bm, A_FSID)) {
                (void)get_u64(&v);
                (void)get_u64(&v);
        }
        for (int attr = 9; attr <= 10; attr++)
                if (bm_has(&bm, attr))
                        (void)get_u32(&v);
        if (bm_has(&bm, A_RDATTR_ERROR))
                a->rdattr_error = get_u32(&v);
        for (int attr = 12; attr < A_FILEHANDLE; attr++)
                if (bm_has(&bm, attr))
                        return v.bad ? -1 : 0;  /* not asked for: stop decoding */
        if (bm_has(&bm, A_FILEHANDLE)) {
                if (fh_get(&v, &a->fh) == 0)
                        a->have_fh = 1;
        }
        return v.bad ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* the connection: record marking, calls in flight, timeouts                  */

typedef void (*reply_fn)(void *ctx, struct dec *d, double latency);

struct call {
        uint32_t xid;
        int active;
        double t0;
        const char *what;
        reply_fn fn;
        void *ctx;
};

static struct {
        int fd;
        struct enc out;          /* encoded, not yet sent */
        size_t out_off;
        uint8_t *in;
        size_t in_start, in_end, in_cap;
        uint32_t next_xid;
        struct call calls[MAX_INFLIGHT + 1];   /* index MAX_INFLIGHT: the synchronous call */
        int active;
        double last_scan;
        char peer[300];
} C;

static void conn_open(void)
{
        struct addrinfo hints, *res = NULL, *ai;
        char port[16];
        int rc, one = 1;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof(port), "%d", url.nfsport);
        snprintf(C.peer, sizeof(C.peer), "%s port %d", url.host, url.nfsport);
        rc = getaddrinfo(url.host, port, &hints, &res);
        if (rc != 0)
                load_fatal("cannot resolve %s: %s", url.host, gai_strerror(rc));
        C.fd = -1;
        for (ai = res; ai; ai = ai->ai_next) {
                int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
                struct pollfd pfd;
                int err = 0;
                socklen_t el = sizeof(err);
                if (fd < 0)
                        continue;
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
                        err = errno;
                } else {
                        pfd.fd = fd;
                        pfd.events = POLLOUT;
                        rc = poll(&pfd, 1, (int)(opt.timeout * 1000));
                        if (rc == 0)
                                load_fatal("connect to %s: no answer within %.0f s", C.peer, opt.timeout);
                        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                                err = errno;
                }
                if (err == 0) {
                        C.fd = fd;
                        break;
                }
                close(fd);
                if (!ai->ai_next)
                        load_fatal("connect to %s: %s", C.peer, strerror(err));
        }
        freeaddrinfo(res);
        if (C.fd < 0)
                load_fatal("connect to %s: no usable address", C.peer);
        setsockopt(C.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        C.in_cap = 4u << 20;
        C.in = malloc(C.in_cap);
        if (!C.in)
                load_fatal("out of memory");
        C.next_xid = (uint32_t)getpid() << 10;
}

/* Starts a call: RPC header with AUTH_SYS; the caller appends the COMPOUND
 * arguments, then calls call_send.  Returns the record start in C.out. */
static size_t call_begin(int slot, const char *what, reply_fn fn, void *ctx)
{
        struct call *c = &C.calls[slot];
        struct enc *e = &C.out;
        size_t start;
        static const char machine[] = "nfs4load";

        if (c->active)
                load_fatal("internal error: slot %d already in flight", slot);
        C.next_xid += 1u << 10;
        c->xid = (C.next_xid & ~0x3ffu) | (uint32_t)slot;
        c->active = 1;
        c->t0 = load_now();
        c->what = what;
        c->fn = fn;
        c->ctx = ctx;
        C.active++;

        start = e->n;
        put_u32(e, 0);                  /* record mark, filled in by call_send */
        put_u32(e, c->xid);
        put_u32(e, 0);                  /* CALL */
        put_u32(e, 2);                  /* RPC version */
        put_u32(e, NFS_PROGRAM);
        put_u32(e, NFS_V4);
        put_u32(e, NFSPROC4_COMPOUND);
        put_u32(e, 1);                  /* AUTH_SYS (RFC 5531 §14) */
        put_u32(e, 4 + 4 + 8 + 4 + 4 + 4);
        put_u32(e, 0);                  /* stamp */
        put_opaque(e, machine, sizeof(machine) - 1);
        put_u32(e, 0);                  /* uid root: both servers export with root squashing off */
        put_u32(e, 0);                  /* gid */
        put_u32(e, 0);                  /* no supplementary gids */
        put_u32(e, 0);                  /* verifier AUTH_NONE */
        put_u32(e, 0);
        return start;
}

static void compound_begin(int nops)
{
        put_u32(&C.out, 0);             /* tag: empty */
        put_u32(&C.out, minorversion);
        put_u32(&C.out, (uint32_t)nops);
}

static void call_send(size_t start)
{
        uint32_t mark = htonl(0x80000000u | (uint32_t)(C.out.n - start - 4));
        memcpy(C.out.b + start, &mark, 4);
}

static void flush_out(void)
{
        while (C.out_off < C.out.n) {
                ssize_t k = send(C.fd, C.out.b + C.out_off, C.out.n - C.out_off, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        load_fatal("send to %s: %s", C.peer, strerror(errno));
                }
                C.out_off += (size_t)k;
        }
        C.out.n = C.out_off = 0;
}

static void check_timeouts(void)
{
        double t = load_now();
        if (t - C.last_scan < 0.05)
                return;
        C.last_scan = t;
        for (int i = 0; i <= MAX_INFLIGHT; i++) {
                struct call *c = &C.calls[i];
                if (c->active && t - c->t0 > opt.timeout)
                        load_fatal("%s: no reply within %.0f s (%d calls in flight)", c->what,
                              opt.timeout, C.active);
        }
}

/* Checks the RPC reply header (RFC 5531 §9); on success leaves d at the
 * COMPOUND4res. */
static void rpc_reply_header(struct dec *d, const struct call *c)
{
        uint32_t stat, flavor, len;
        (void)get_u32(d);              /* xid, already matched */
        if (get_u32(d) != 1)
                load_fatal("%s: reply is not an RPC REPLY", c->what);
        stat = get_u32(d);
        if (stat == 1) {               /* MSG_DENIED */
                uint32_t why = get_u32(d);
                if (why == 0) {
                        uint32_t lo = get_u32(d), hi = get_u32(d);
                        load_fatal("%s: RPC_MISMATCH (server speaks RPC %u..%u)", c->what, lo, hi);
                }
                load_fatal("%s: AUTH_ERROR %u (credentials refused)", c->what, get_u32(d));
        }
        flavor = get_u32(d);
        (void)flavor;
        if (!get_opaque(d, &len, 400) && len)
                load_fatal("%s: malformed reply verifier", c->what);
        stat = get_u32(d);
        switch (stat) {
        case 0:
                break;
        case 1: load_fatal("%s: PROG_UNAVAIL (no NFS program at %s)", c->what, C.peer);
        case 2: {
                uint32_t lo = get_u32(d), hi = get_u32(d);
                load_fatal("%s: PROG_MISMATCH (%s serves NFS versions %u..%u, not 4)", c->what, C.peer, lo, hi);
        }
        case 3: load_fatal("%s: PROC_UNAVAIL", c->what);
        case 4: load_fatal("%s: GARBAGE_ARGS (the server could not decode the call)", c->what);
        case 5: load_fatal("%s: SYSTEM_ERR", c->what);
        default: load_fatal("%s: accept status %u", c->what, stat);
        }
        if (d->bad)
                load_fatal("%s: truncated RPC reply", c->what);
}

static void deliver(uint8_t *rec, size_t len)
{
        struct dec d = { rec, rec + len, 0 };
        uint32_t xid = get_u32(&d), slot = xid & 0x3ff;
        struct call *c;
        double lat;

        if (d.bad)
                load_fatal("reply record of %zu bytes from %s", len, C.peer);
        if (slot > MAX_INFLIGHT || !C.calls[slot].active || C.calls[slot].xid != xid)
                load_fatal("reply with unknown xid 0x%08x from %s", xid, C.peer);
        c = &C.calls[slot];
        d.p = rec;
        rpc_reply_header(&d, c);
        c->active = 0;
        C.active--;
        lat = load_now() - c->t0;
        c->fn(c->ctx, &d, lat);
}

/* Parses every complete record in the input buffer.  Fragments of a
 * multi-fragment record are joined in place. */
static void parse_input(void)
{
        for (;;) {
                size_t pos = C.in_start, total = 0, avail = C.in_end - C.in_start;
                int complete = 0, frags = 0;
                while (C.in_start + (pos - C.in_start) + 4 <= C.in_end) {
                        uint32_t mark;
                        size_t flen;
                        memcpy(&mark, C.in + pos, 4);
                        mark = ntohl(mark);
                        flen = mark & 0x7fffffffu;
                        if (total + flen > MAX_RECORD)
                                load_fatal("reply record larger than %u bytes from %s", MAX_RECORD, C.peer);
                        if (pos + 4 + flen > C.in_end) {
                                total += flen;
                                break;
                        }
                        total += flen;
                        frags++;
                        pos += 4 + flen;
                        if (mark & 0x80000000u) {
                                complete = 1;
                                break;
                        }
                }
                if (!complete) {
                        /* make room for the rest of this record */
                        size_t need = total + 4 * (size_t)(frags + 2);
                        if (C.in_start > 0 && C.in_cap - C.in_start < need + 65536) {
                                memmove(C.in, C.in + C.in_start, avail);
                                C.in_start = 0;
                                C.in_end = avail;
                        }
                        if (C.in_cap < need + 65536) {
                                C.in_cap = need + 65536;
                                C.in = realloc(C.in, C.in_cap);
                                if (!C.in)
                                        load_fatal("out of memory");
                        }
                        return;
                }
                {
                        /* join fragments: move each payload down over the marks */
                        size_t src = C.in_start, dst = C.in_start;
                        for (int f = 0; f < frags; f++) {
                                uint32_t mark;
                                size_t flen;
                                memcpy(&mark, C.in + src, 4);
                                flen = ntohl(mark) & 0x7fffffffu;
                                if (dst != src + 4)
                                        memmove(C.in + dst, C.in + src + 4, flen);
                                src += 4 + flen;
                                dst += flen;
                        }
                        C.in_start = pos;
                        deliver(C.in + (dst - total), total);
                }
                if (C.in_start == C.in_end)
                        C.in_start = C.in_end = 0;
        }
}

/* One round of poll, send, receive. */
static void pump(int wait_ms)
{
        struct pollfd pfd;
        int n;

        if (C.out_off < C.out.n)
                flush_out();
        pfd.fd = C.fd;
        pfd.events = POLLIN | (C.out_off < C.out.n ? POLLOUT : 0);
        pfd.revents = 0;
        n = poll(&pfd, 1, wait_ms);
        if (n < 0) {
                if (errno == EINTR)
                        return;
                load_fatal("poll: %s", strerror(errno));
        }
        if (n > 0 && (pfd.revents & POLLOUT))
                flush_out();
        if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
                for (int i = 0; i < 64; i++) {
                        ssize_t k;
                        if (C.in_cap - C.in_end < 65536) {
                                if (C.in_start > 0) {
                                        memmove(C.in, C.in + C.in_start, C.in_end - C.in_start);
                                        C.in_end -= C.in_start;
                                        C.in_start = 0;
                                } else {
                                        C.in_cap *= 2;
                                        C.in = realloc(C.in, C.in_cap);
                                        if (!C.in)
                                                load_fatal("out of memory");
                                }
                        }
                        k = recv(C.fd, C.in + C.in_end, C.in_cap - C.in_end, 0);
                        if (k == 0)
                                load_fatal("%s closed the connection (%d calls in flight)", C.peer, C.active);
                        if (k < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                load_fatal("receive from %s: %s", C.peer, strerror(errno));
                        }
                        C.in_end += (size_t)k;
                        parse_input();
                        if ((size_t)k < 65536)
                                break;
                }
        }
        check_timeouts();
}

static void wait_flag(volatile int *flag, const char *what)
{
        double limit = load_now() + opt.timeout;
        while (!*flag) {
                if (load_now() > limit)
                        load_fatal("%s: no answer within %.0f s", what, opt.timeout);
                pump(100);
        }
}

static void drain(void)
{
        while (C.active > 0)
                pump(100);
}

/* ------------------------------------------------------------------------ */
/* COMPOUND results                                                          */

/* Reads COMPOUND4res's status, tag and result count. */
static uint32_t compound_head(struct dec *d, uint32_t *nres)
{
        uint32_t st = get_u32(d), taglen;
        (void)get_opaque(d, &taglen, 4096);
        *nres = get_u32(d);
        return st;
}

/* Reads one result's opcode and status; a result for another operation than
 * expected is a protocol error. */
static uint32_t op_head(struct dec *d, uint32_t op, const char *what)
{
        uint32_t got = get_u32(d), st = get_u32(d);
        if (d->bad)
                load_fatal("%s: truncated COMPOUND reply", what);
        if (got == 10044)       /* OP_ILLEGAL */
                load_fatal("%s: the server does not know operation %u (OP_ILLEGAL, %s): "
                      "it does not serve minor version %u", what, op, nfs4_status_name(st),
                      minorversion);
        if (got != op)
                load_fatal("%s: result for operation %u where %u was expected", what, got, op);
        return st;
}

/* ------------------------------------------------------------------------ */
/* the session                                                                */

static struct {
        uint64_t clientid;
        uint32_t csr_seq;
        uint8_t sessionid[16];
        uint32_t nslots;
        uint32_t slot_seq[MAX_INFLIGHT];
        uint32_t maxreq, maxresp;
        uint32_t maxops;
        int have_session;
} S;

struct sync {
        volatile int done;
        uint8_t *copy;           /* the reply's COMPOUND4res, copied */
        size_t len;
};

static void sync_cb(void *ctx, struct dec *d, double lat)
{
        struct sync *s = ctx;
        (void)lat;
        s->len = (size_t)(d->end - d->p);
        s->copy = malloc(s->len ? s->len : 1);
        if (!s->copy)
                load_fatal("out of memory");
        memcpy(s->copy, d->p, s->len);
        s->done = 1;
}

/* Sends the call begun at `start` on the synchronous slot and waits. */
static struct dec sync_finish(size_t start, struct sync *s, const char *what)
{
        struct dec d;
        call_send(start);
        wait_flag(&s->done, what);
        d.p = s->copy;
        d.end = s->copy + s->len;
        d.bad = 0;
        return d;
}

static void put_sequence(int slot)
{
        put_u32(&C.out, OP_SEQUENCE);
        put_fixed(&C.out, S.sessionid, 16);
        put_u32(&C.out, ++S.slot_seq[slot]);
        put_u32(&C.out, (uint32_t)slot);
        put_u32(&C.out, S.nslots - 1);
        put_u32(&C.out, 0);             /* sa_cachethis: no */
}

/* Checks the SEQUENCE result; returns its status. */
static uint32_t get_sequence(struct dec *d, const char *what)
{
        uint32_t st = op_head(d, OP_SEQUENCE, what);
        if (st == 0) {
                (void)get_fixed(d, 16);
                (void)get_u32(d);       /* sequenceid */
                (void)get_u32(d);       /* slotid */
                (void)get_u32(d);       /* highest slotid */
                (void)get_u32(d);       /* target highest slotid */
                (void)get_u32(d);       /* status flags */
        }
        return st;
}

static void session_setup(void)
{
        struct sync s;
        struct dec d;
        size_t start;
        uint32_t st, nres, len;
        char owner[128];
        uint8_t verifier[8];
        uint64_t v = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
        int slot = MAX_INFLIGHT;
        uint32_t want = (uint32_t)(opt.inflight > 0 ? opt.inflight : 1);

        memcpy(verifier, &v, 8);
        snprintf(owner, sizeof(owner), "nfs4load-%d-%lld", (int)getpid(), (long long)time(NULL));

        /* EXCHANGE_ID */
        memset(&s, 0, sizeof(s));
        start = call_begin(slot, "EXCHANGE_ID", sync_cb, &s);
        compound_begin(1);
        put_u32(&C.out, OP_EXCHANGE_ID);
        put_fixed(&C.out, verifier, 8);
        put_opaque(&C.out, owner, strlen(owner));
        put_u32(&C.out, 0);             /* flags */
        put_u32(&C.out, 0);             /* SP4_NONE */
        put_u32(&C.out, 0);             /* no implementation id */
        d = sync_finish(start, &s, "EXCHANGE_ID");
        st = compound_head(&d, &nres);
        if (nres < 1)
                load_fatal("EXCHANGE_ID: %s", nfs4_status_name(st));
        st = op_head(&d, OP_EXCHANGE_ID, "EXCHANGE_ID");
        if (st != 0)
                load_fatal("EXCHANGE_ID: %s", nfs4_status_name(st));
        S.clientid = get_u64(&d);
        S.csr_seq = get_u32(&d);
        if (d.bad)
                load_fatal("EXCHANGE_ID: truncated reply");
        free(s.copy);

        /* CREATE_SESSION: one fore channel slot per request in flight */
        memset(&s, 0, sizeof(s));
        start = call_begin(slot, "CREATE_SESSION", sync_cb, &s);
        compound_begin(1);
        put_u32(&C.out, OP_CREATE_SESSION);
        put_u64(&C.out, S.clientid);
        put_u32(&C.out, S.csr_seq);
        put_u32(&C.out, 0);             /* flags: no persistence, no back channel */
        /* fore channel */
        put_u32(&C.out, 0);                         /* headerpadsize */
        put_u32(&C.out, MAX_BLOCK + 65536);         /* maxrequestsize */
        put_u32(&C.out, MAX_BLOCK + 65536);         /* maxresponsesize */
        put_u32(&C.out, 4096);                      /* maxresponsesize_cached */
        put_u32(&C.out, 16);                        /* maxoperations */
        put_u32(&C.out, want);                      /* maxrequests = slots */
        put_u32(&C.out, 0);                         /* no rdma_ird */
        /* back channel: unused, but must be valid */
        put_u32(&C.out, 0);
        put_u32(&C.out, 4096);
        put_u32(&C.out, 4096);
        put_u32(&C.out, 0);
        put_u32(&C.out, 2);
        put_u32(&C.out, 1);
        put_u32(&C.out, 0);
        put_u32(&C.out, 0x40000000);                /* cb_program */
        put_u32(&C.out, 1);                         /* one callback security parameter: */
        put_u32(&C.out, 0);                         /* AUTH_NONE */
        d = sync_finish(start, &s, "CREATE_SESSION");
        st = compound_head(&d, &nres);
        if (nres < 1)
                load_fatal("CREATE_SESSION: %s", nfs4_status_name(st));
        st = op_head(&d, OP_CREATE_SESSION, "CREATE_SESSION");
        if (st != 0)
                load_fatal("CREATE_SESSION: %s", nfs4_status_name(st));
        {
                const uint8_t *sid = get_fixed(&d, 16);
                if (!sid)
                        load_fatal("CREATE_SESSION: truncated reply");
                memcpy(S.sessionid, sid, 16);
        }
        (void)get_u32(&d);              /* sequence */
        (void)get_u32(&d);              /* flags */
        (void)get_u32(&d);              /* headerpadsize */
        S.maxreq = get_u32(&d);
        S.maxresp = get_u32(&d);
        (void)get_u32(&d);              /* maxresponsesize_cached */
        S.maxops = get_u32(&d);
        S.nslots = get_u32(&d);
        (void)get_opaque(&d, &len, 64);
        if (d.bad)
                load_fatal("CREATE_SESSION: truncated reply");
        free(s.copy);
        if (S.nslots < want)
                load_fatal("CREATE_SESSION: the server granted %u slots, --inflight %u needs one per request",
                      S.nslots, want);
        if (S.nslots > MAX_INFLIGHT)
                S.nslots = MAX_INFLIGHT;
        if (S.maxops < 5)
                load_fatal("CREATE_SESSION: the server allows %u operations per COMPOUND, nfs4load needs 5",
                      S.maxops);
        S.have_session = 1;

        /* RECLAIM_COMPLETE: nothing to reclaim (RFC 8881 §18.51) */
        memset(&s, 0, sizeof(s));
        start = call_begin(slot, "RECLAIM_COMPLETE", sync_cb, &s);
        compound_begin(2);
        put_sequence(0);
        put_u32(&C.out, OP_RECLAIM_COMPLETE);
        put_u32(&C.out, 0);             /* rca_one_fs: FALSE */
        d = sync_finish(start, &s, "RECLAIM_COMPLETE");
        st = compound_head(&d, &nres);
        if (nres < 1 || (st = get_sequence(&d, "RECLAIM_COMPLETE")) != 0)
                load_fatal("SEQUENCE (before RECLAIM_COMPLETE): %s", nfs4_status_name(st));
        st = op_head(&d, OP_RECLAIM_COMPLETE, "RECLAIM_COMPLETE");
        if (st != 0 && st != 10084)
                load_fatal("RECLAIM_COMPLETE: %s", nfs4_status_name(st));
        free(s.copy);
}

/* DESTROY_SESSION, then DESTROY_CLIENTID (each alone in its COMPOUND, as
 * RFC 8881 §18.37 and §18.50 allow), so that a run leaves no state behind.
 * Returns 0, or 1 after naming what the server refused. */
static int session_teardown(void)
{
        struct sync s;
        struct dec d;
        size_t start;
        uint32_t st, nres;
        int rc = 0;

        if (!S.have_session)
                return 0;
        drain();
        memset(&s, 0, sizeof(s));
        start = call_begin(MAX_INFLIGHT, "DESTROY_SESSION", sync_cb, &s);
        compound_begin(1);
        put_u32(&C.out, OP_DESTROY_SESSION);
        put_fixed(&C.out, S.sessionid, 16);
        d = sync_finish(start, &s, "DESTROY_SESSION");
        st = compound_head(&d, &nres);
        if (st != 0) {
                load_warn("DESTROY_SESSION: %s", nfs4_status_name(st));
                rc = 1;
        }
        free(s.copy);
        memset(&s, 0, sizeof(s));
        start = call_begin(MAX_INFLIGHT, "DESTROY_CLIENTID", sync_cb, &s);
        compound_begin(1);
        put_u32(&C.out, OP_DESTROY_CLIENTID);
        put_u64(&C.out, S.clientid);
        d = sync_finish(start, &s, "DESTROY_CLIENTID");
        st = compound_head(&d, &nres);
        if (st != 0) {
                load_warn("DESTROY_CLIENTID: %s", nfs4_status_name(st));
                rc = 1;
        }
        free(s.copy);
        S.have_session = 0;
        return rc;
}

/* ------------------------------------------------------------------------ */
/* synchronous path walks                                                     */

/* PUTROOTFH + LOOKUP of each component of `prefix` then `path`, + GETFH +
 * GETATTR(type, size), in one COMPOUND per path (at most 64 components). */
static void resolve(const char *path, struct fh *out, struct attrs *attr)
{
        char *comps[2 * MAX_PATH_DEPTH];
        char *copy1 = strdup(url.export_path), *copy2 = strdup(path ? path : "");
        char *save, *c;
        int n = 0;
        struct sync s;
        struct dec d;
        size_t start;
        uint32_t st, nres;
        int slot = MAX_INFLIGHT;

        for (char *src = copy1; src; src = (src == copy1 ? copy2 : NULL)) {
                save = NULL;
                for (c = strtok_r(src, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                        if (strcmp(c, ".") == 0)
                                continue;
                        if (n >= MAX_PATH_DEPTH)
                                load_fatal("path /%s/%s is too deep", url.export_path, path);
                        comps[n++] = c;
                }
        }
        if ((uint32_t)n + 4 > S.maxops)
                load_fatal("path %s has %d components; the session allows %u operations per COMPOUND",
                      path, n, S.maxops);
        memset(&s, 0, sizeof(s));
        start = call_begin(slot, "LOOKUP", sync_cb, &s);
        compound_begin(n + 4);
        put_sequence(0);
        put_u32(&C.out, OP_PUTROOTFH);
        for (int i = 0; i < n; i++) {
                put_u32(&C.out, OP_LOOKUP);
                put_opaque(&C.out, comps[i], strlen(comps[i]));
        }
        put_u32(&C.out, OP_GETFH);
        put_u32(&C.out, OP_GETATTR);
        put_bitmap(&C.out, &type_size_attrs);
        d = sync_finish(start, &s, "LOOKUP");
        st = compound_head(&d, &nres);
        if (nres < 1 || (st = get_sequence(&d, "LOOKUP")) != 0)
                load_fatal("SEQUENCE: %s", nfs4_status_name(st));
        st = op_head(&d, OP_PUTROOTFH, "PUTROOTFH");
        if (st != 0)
                load_fatal("PUTROOTFH: %s", nfs4_status_name(st));
        for (int i = 0; i < n; i++) {
                st = op_head(&d, OP_LOOKUP, "LOOKUP");
                if (st != 0)
                        load_fatal("LOOKUP %s (in %s%s%s): %s", comps[i], url.export_path,
                              path && *path ? "/" : "", path ? path : "", nfs4_status_name(st));
        }
        st = op_head(&d, OP_GETFH, "GETFH");
        if (st != 0 || fh_get(&d, out) < 0)
                load_fatal("GETFH %s: %s", path, st ? nfs4_status_name(st) : "malformed handle");
        st = op_head(&d, OP_GETATTR, "GETATTR");
        if (st != 0)
                load_fatal("GETATTR %s: %s", path, nfs4_status_name(st));
        if (get_fattr(&d, attr) < 0 || !attr->have_type)
                load_fatal("GETATTR %s: malformed attributes", path);
        free(s.copy);
        free(copy1);
        free(copy2);
}

/* ------------------------------------------------------------------------ */
/* URL                                                                        */

static void parse_url(const char *u)
{
        load_parse_url(u, &url, 2049);   /* a mountport argument is v3's: no MOUNT in v4 */
        if (url.nfsport <= 0 || url.nfsport > 65535)
                load_fatal("bad port in URL %s", u);
}

static void setup(void)
{
        parse_url(opt.url);
        conn_open();
        session_setup();
}


/* A SEQUENCE failure under load is a server bug (each request has a slot
 * of its own): fatal, named, with the slot. */
static void check_sequence(struct dec *d, int slot, const char *what, uint32_t *st_out)
{
        uint32_t st, nres;
        st = compound_head(d, &nres);
        if (nres < 1)
                load_fatal("%s on slot %d: COMPOUND failed before SEQUENCE: %s", what, slot,
                      nfs4_status_name(st));
        st = get_sequence(d, what);
        if (st != 0)
                load_fatal("%s: SEQUENCE on slot %d (seqid %u): %s", what, slot, S.slot_seq[slot],
                      nfs4_status_name(st));
        *st_out = st;
}

/* ------------------------------------------------------------------------ */
/* READ workloads (the offsets, checks and figures are loadwork's)           */

struct rd {
        int slot;
        uint64_t off;
        uint32_t len;
};

static struct fh read_fh;

static void read_issue(struct rd *r);

static void read_cb(void *ctx, struct dec *d, double lat)
{
        struct rd *r = ctx;
        uint32_t st;

        load_read_reply();
        check_sequence(d, r->slot, "READ", &st);
        st = op_head(d, OP_PUTFH, "READ");
        if (st == 0)
                st = op_head(d, OP_READ, "READ");
        if (st != 0) {
                load_read_error("READ offset %" PRIu64 " count %u: %s", r->off, r->len, nfs4_status_name(st));
        } else {
                uint32_t eof = get_u32(d), got;
                const uint8_t *data = get_opaque(d, &got, MAX_BLOCK);
                if (!data && got)
                        load_read_error("READ offset %" PRIu64 ": malformed reply (%u data bytes)", r->off, got);
                else
                        load_read_done(r->off, r->len, got, eof, data, lat);
        }
        read_issue(r);
}

static void read_issue(struct rd *r)
{
        size_t start;
        static const uint8_t anonymous[12];

        if (!load_read_next(&r->off, &r->len))
                return;
        start = call_begin(r->slot, "READ", read_cb, r);
        compound_begin(3);
        put_sequence(r->slot);
        put_u32(&C.out, OP_PUTFH);
        put_opaque(&C.out, read_fh.data, read_fh.len);
        put_u32(&C.out, OP_READ);
        put_u32(&C.out, 0);             /* anonymous stateid: seqid 0, other all zeros */
        put_fixed(&C.out, anonymous, 12);
        put_u64(&C.out, r->off);
        put_u32(&C.out, r->len);
        call_send(start);
}

static int run_read(int random)
{
        struct attrs attr;
        struct rd *slots;
        int i;

        load_read_options(random, MAX_INFLIGHT);
        if (opt.block > MAX_BLOCK)
                load_fatal("--block is limited to %u bytes (1 MiB, the largest READ either server answers)", MAX_BLOCK);
        load_read_open_verify();

        setup();
        if (opt.block + 1024 > S.maxresp)
                load_fatal("--block %" PRIu64 " does not fit the session's %u byte replies", opt.block, S.maxresp);
        resolve(opt.file, &read_fh, &attr);
        if (attr.type != NF4REG)
                load_fatal("%s is not a regular file", opt.file);
        if (!attr.have_size)
                load_fatal("GETATTR %s: no size", opt.file);
        load_read_prepare(attr.size);

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                load_fatal("out of memory");
        load_read_start();
        for (i = 0; i < opt.inflight; i++) {
                slots[i].slot = i;
                read_issue(&slots[i]);
        }
        drain();
        return load_read_report("nfs4.1", S.nslots);
}

/* ------------------------------------------------------------------------ */
/* READDIR                                                                   */

struct dirent_sink {
        void (*fn)(void *ctx, const char *name, uint32_t namelen, const struct attrs *a);
        void *ctx;
};

struct rdd {
        struct sync s;
};

/* Lists a whole directory with READDIR, following cookies until eof.
 * Returns the number of entries, or -1 after printing an error. */
static long list_dir(const struct fh *dir, struct dirent_sink *sink, long *pages_out)
{
        uint64_t cookie = 0;
        uint8_t verf[8] = { 0 };
        long total = 0, pages = 0;
        uint32_t maxcount = opt.maxcount;

        if (maxcount + 512 > S.maxresp)
                maxcount = S.maxresp - 512;      /* the session bounds the whole reply */
        for (;;) {
                struct sync s;
                struct dec d;
                size_t start;
                uint32_t st, eof;
                long in_reply = 0;

                if (pages >= MAX_DIR_PAGES) {
                        load_warn("READDIR: no eof after %ld replies", pages);
                        return -1;
                }
                memset(&s, 0, sizeof(s));
                start = call_begin(MAX_INFLIGHT, "READDIR", sync_cb, &s);
                compound_begin(3);
                put_sequence(0);
                put_u32(&C.out, OP_PUTFH);
                put_opaque(&C.out, dir->data, dir->len);
                put_u32(&C.out, OP_READDIR);
                put_u64(&C.out, cookie);
                put_fixed(&C.out, verf, 8);
                put_u32(&C.out, opt.dircount);
                put_u32(&C.out, maxcount);
                put_bitmap(&C.out, &readdir_attrs);
                d = sync_finish(start, &s, "READDIR");
                pages++;
                check_sequence(&d, 0, "READDIR", &st);
                st = op_head(&d, OP_PUTFH, "READDIR");
                if (st == 0)
                        st = op_head(&d, OP_READDIR, "READDIR");
                if (st != 0) {
                        load_warn("READDIR (cookie %" PRIu64 "): %s", cookie, nfs4_status_name(st));
                        free(s.copy);
                        return -1;
                }
                {
                        const uint8_t *v = get_fixed(&d, 8);
                        if (v)
                                memcpy(verf, v, 8);
                }
                while (get_u32(&d)) {        /* entry follows */
                        uint32_t namelen;
                        const uint8_t *name;
                        struct attrs a;
                        cookie = get_u64(&d);
                        name = get_opaque(&d, &namelen, 4096);
                        if (!name || get_fattr(&d, &a) < 0) {
                                load_warn("READDIR (cookie %" PRIu64 "): malformed entry", cookie);
                                free(s.copy);
                                return -1;
                        }
                        in_reply++;
                        if (sink)
                                sink->fn(sink->ctx, (const char *)name, namelen, &a);
                        if (in_reply > 10000000L)
                                break;
                }
                eof = get_u32(&d);
                free(s.copy);
                if (d.bad) {
                        load_warn("READDIR (cookie %" PRIu64 "): truncated reply", cookie);
                        return -1;
                }
                total += in_reply;
                if (eof)
                        break;
                if (in_reply == 0) {
                        load_warn("READDIR: empty reply without eof (cookie %" PRIu64 ")", cookie);
                        return -1;
                }
        }
        if (pages_out)
                *pages_out = pages;
        return total;
}

struct count_ctx {
        long n, attr_errors;
};

static void count_entry(void *ctx, const char *name, uint32_t namelen, const struct attrs *a)
{
        struct count_ctx *cc = ctx;
        (void)name;
        (void)namelen;
        cc->n++;
        if (a->rdattr_error || !a->have_type || !a->have_fh)
                cc->attr_errors++;
}

static int run_readdir(void)
{
        struct fh dir;
        struct attrs attr;
        int pass;

        load_dir_options();
        opt.inflight = 1;
        setup();
        resolve(opt.dir, &dir, &attr);
        if (attr.type != NF4DIR)
                load_fatal("%s is not a directory", opt.dir);

        load_dir_start();
        for (pass = 0; pass < opt.repeat; pass++) {
                struct count_ctx cc = { 0, 0 };
                struct dirent_sink sink = { count_entry, &cc };
                double p0 = load_now();
                load_dir_timed(p0, list_dir(&dir, &sink, load_dir_pages()));
                if (cc.attr_errors) {
                        load_warn("%s: %ld entries without type and handle (or with rdattr_error)", opt.dir,
                               cc.attr_errors);
                        load_dir_error();
                }
                load_dir_counted(cc.n);
        }
        return load_dir_report("readdir", "nfs4.1",
                               opt.maxcount + 512 > S.maxresp ? S.maxresp - 512 : opt.maxcount);
}

/* ------------------------------------------------------------------------ */
/* meta: LOOKUP + GETATTR + ACCESS over a tree                                */

struct item {
        uint32_t dir;
        char *name;
        struct fh fh;
};

static struct {
        struct fh *dirs;
        long ndirs, capdirs;
        struct item *items;
        long nitems, capitems;
        long current_dir;
        long untyped;
} T;

static void add_dir(const struct fh *f)
{
        if (T.ndirs >= MAX_TREE_DIRS)
                load_fatal("tree has more than %ld directories", MAX_TREE_DIRS);
        T.dirs = load_grow(T.dirs, &T.capdirs, T.ndirs, 256, sizeof(*T.dirs));
        T.dirs[T.ndirs++] = *f;
}

static void walk_collect(void *ctx, const char *name, uint32_t namelen, const struct attrs *a)
{
        (void)ctx;
        if (!a->have_type || !a->have_fh) {
                T.untyped++;
                return;
        }
        if (a->type == NF4DIR) {
                add_dir(&a->fh);
        } else if (a->type == NF4REG) {
                struct item *it;
                if (T.nitems >= MAX_TREE_ITEMS)
                        load_fatal("tree has more than %ld files", MAX_TREE_ITEMS);
                T.items = load_grow(T.items, &T.capitems, T.nitems, 1024, sizeof(*T.items));
                it = &T.items[T.nitems++];
                it->dir = (uint32_t)T.current_dir;
                it->name = strndup(name, namelen);
                it->fh = a->fh;
                if (!it->name)
                        load_fatal("out of memory");
        }
}

/* Breadth-first walk: every directory is listed once with READDIR, whose
 * entries carry type and file handle. */
static void walk_tree(const struct fh *top)
{
        add_dir(top);
        for (T.current_dir = 0; T.current_dir < T.ndirs; T.current_dir++) {
                struct dirent_sink sink = { walk_collect, NULL };
                struct fh dirfh = T.dirs[T.current_dir];
                if (list_dir(&dirfh, &sink, NULL) < 0)
                        load_fatal("walking the tree failed");
        }
        if (T.untyped)
                load_fatal("READDIR returned %ld entries without type or file handle", T.untyped);
}

struct mslot {
        int slot;
        struct load_meta_pos pos;
};

static void meta_issue(struct mslot *s);

static void meta_cb(void *ctx, struct dec *d, double lat)
{
        struct mslot *s = ctx;
        struct item *it = &T.items[s->pos.item];
        const char *what = load_meta_names[s->pos.op];
        uint32_t st;

        load_meta_reply();
        check_sequence(d, s->slot, what, &st);
        st = op_head(d, OP_PUTFH, what);
        if (st == 0) {
                switch (s->pos.op) {
                case LOAD_META_LOOKUP: {
                        struct fh got;
                        st = op_head(d, OP_LOOKUP, "LOOKUP");
                        if (st == 0)
                                st = op_head(d, OP_GETFH, "LOOKUP");
                        if (st == 0) {
                                if (fh_get(d, &got) < 0)
                                        load_fatal("LOOKUP %s: malformed handle", it->name);
                                if (got.len != it->fh.len || memcmp(got.data, it->fh.data, got.len) != 0)
                                        load_meta_fh_mismatch();
                                st = op_head(d, OP_GETATTR, "LOOKUP");
                        }
                        break;
                }
                case LOAD_META_GETATTR: {
                        struct attrs a;
                        st = op_head(d, OP_GETATTR, "GETATTR");
                        if (st == 0 && (get_fattr(d, &a) < 0 || !a.have_type || a.type != NF4REG))
                                load_fatal("GETATTR %s: malformed attributes or not a regular file", it->name);
                        break;
                }
                default:
                        st = op_head(d, OP_ACCESS, "ACCESS");
                        if (st == 0) {
                                (void)get_u32(d);      /* supported */
                                if (!(get_u32(d) & 1)) /* ACCESS4_READ */
                                        st = 13;
                        }
                        break;
                }
        }
        load_meta_done(&s->pos, it->name, st != 0 ? nfs4_status_name(st) : NULL, lat);
        meta_issue(s);
}

static void meta_issue(struct mslot *s)
{
        struct item *it;
        size_t start;

        if (!load_meta_more())
                return;
        it = &T.items[s->pos.item];
        start = call_begin(s->slot, load_meta_names[s->pos.op], meta_cb, s);
        switch (s->pos.op) {
        case LOAD_META_LOOKUP:
                compound_begin(5);
                put_sequence(s->slot);
                put_u32(&C.out, OP_PUTFH);
                put_opaque(&C.out, T.dirs[it->dir].data, T.dirs[it->dir].len);
                put_u32(&C.out, OP_LOOKUP);
                put_opaque(&C.out, it->name, strlen(it->name));
                put_u32(&C.out, OP_GETFH);
                put_u32(&C.out, OP_GETATTR);
                put_bitmap(&C.out, &stat_attrs);
                break;
        case LOAD_META_GETATTR:
                compound_begin(3);
                put_sequence(s->slot);
                put_u32(&C.out, OP_PUTFH);
                put_opaque(&C.out, it->fh.data, it->fh.len);
                put_u32(&C.out, OP_GETATTR);
                put_bitmap(&C.out, &stat_attrs);
                break;
        default:
                compound_begin(3);
                put_sequence(s->slot);
                put_u32(&C.out, OP_PUTFH);
                put_opaque(&C.out, it->fh.data, it->fh.len);
                put_u32(&C.out, OP_ACCESS);
                put_u32(&C.out, 0x01 | 0x02 | 0x20);   /* READ | LOOKUP | EXECUTE */
                break;
        }
        call_send(start);
}

static int run_meta(void)
{
        struct fh top;
        struct attrs attr;
        struct mslot *slots;
        double tw;
        int i;

        load_meta_options(MAX_INFLIGHT);
        setup();
        resolve(opt.tree, &top, &attr);
        if (attr.type != NF4DIR)
                load_fatal("%s is not a directory", opt.tree);
        tw = load_now();
        walk_tree(&top);
        tw = load_now() - tw;
        if (T.nitems == 0)
                load_fatal("no regular files under %s", opt.tree);

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                load_fatal("out of memory");
        load_meta_start(T.nitems);
        for (i = 0; i < opt.inflight; i++) {
                slots[i].slot = i;
                load_meta_first(&slots[i].pos);
                meta_issue(&slots[i]);
        }
        drain();
        return load_meta_report("nfs4.1", S.nslots, T.nitems, T.ndirs, tw, -1);
}

/* ------------------------------------------------------------------------ */
/* probe                                                                     */

static int run_probe(void)
{
        struct fh root;
        struct attrs attr;
        opt.inflight = 1;
        setup();
        resolve("", &root, &attr);
        printf("{\"probe\":\"ok\",\"protocol\":\"nfs4.1\",\"host\":");
        load_json_str(stdout, url.host);
        printf(",\"export\":");
        load_json_str(stdout, url.export_path);
        printf(",\"nfsport\":%d,\"slots\":%u,\"maxrequestsize\":%u,\"maxresponsesize\":%u"
               ",\"maxoperations\":%u,\"root_fh_len\":%u,\"root_type\":%u}\n",
               url.nfsport, S.nslots, S.maxreq, S.maxresp, S.maxops, root.len, attr.type);
        fflush(stdout);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* command line                                                              */

static const char usage_text[] =
"usage: nfs4load COMMAND --url nfs://HOST[:PORT]/EXPORT[?nfsport=N] [options]\n"
"commands:\n"
"  probe\n"
"  seqread   --file PATH [--block 1048576] [--inflight 16] [--offset N] [--bytes N] [--verify SRC]\n"
"  randread  --file PATH [--block 4096] [--inflight 32] --seconds S [--seed N] [--verify SRC]\n"
"  meta      --tree DIR [--inflight 32] --seconds S\n"
"  readdir   --dir DIR [--repeat N] [--dircount 65536] [--maxcount 1048576] [--expect N]\n"
"common options:\n"
"  --nfsport N                 server port (default: the URL's, else 2049)\n"
"  --minorversion N            COMPOUND minor version (default 1; to check that a server refuses others)\n"
LOAD_USAGE_COMMON;

static void extra_arg(int c, const char *arg)
{
        (void)c;        /* the one extra option */
        minorversion = (uint32_t)load_parse_u64(arg, "--minorversion");
}

static void check_options(void)
{
        if (opt.maxcount < 1024)
                load_fatal("--maxcount must be at least 1024");
}

int main(int argc, char **argv)
{
        static const struct option extra[] = {
                { "minorversion", required_argument, NULL, 'v' },
                { NULL, 0, NULL, 0 },
        };
        static const struct load_cli cli = {
                usage_text, extra, extra_arg, check_options, run_probe, run_read, run_meta, "readdir", run_readdir,
        };
        int rc;

        load_tool = "nfs4load";
        rc = load_main(argc, argv, &cli);
        if (session_teardown() && rc == 0)
                rc = 1;
        return rc;
}
