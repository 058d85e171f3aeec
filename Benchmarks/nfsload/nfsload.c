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
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-portmap.h>

#include "../loadcommon/loadargs.h"
#include "../loadcommon/loadwork.h"

#define MAX_INFLIGHT 1024
#define MAX_PATH_DEPTH 64
#define MAX_DIR_PAGES 1000000L        /* READDIRPLUS calls per directory pass */
#define MAX_TREE_ITEMS 10000000L      /* files collected by the meta walk */
#define MAX_TREE_DIRS 1000000L

/* ------------------------------------------------------------------------ */
/* options beyond the common ones (loadargs.h) and the URL                  */

static int mountport_opt;        /* 0 = ask the portmapper */

static struct load_url url;

/* ------------------------------------------------------------------------ */
/* utilities                                                                */

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


/* ------------------------------------------------------------------------ */
/* file handles                                                             */

struct fh {
        uint32_t len;
        char data[NFS3_FHSIZE];
};

static void fh_set(struct fh *dst, const char *val, u_int len)
{
        if (len > NFS3_FHSIZE)
                load_fatal("server returned a %u byte file handle (limit %d)", len, NFS3_FHSIZE);
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
        c->t0 = load_now();
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
                load_fatal("internal error: reply for a call that is not in flight");
        c->prev->next = c->next;
        c->next->prev = c->prev;
        c->prev = c->next = NULL;
        c->active = 0;
        active_count--;
        return load_now() - c->t0;
}

static double last_timeout_scan;

static void check_timeouts(void)
{
        double t = load_now();
        if (t - last_timeout_scan < 0.05)
                return;
        last_timeout_scan = t;
        for (struct call *c = active_head.next; c != &active_head; c = c->next) {
                if (t - c->t0 > opt.timeout)
                        load_fatal("%s: no reply within %.0f s (%d calls in flight)",
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
                load_fatal("connection lost");
        n = poll(&pfd, 1, wait_ms);
        if (n < 0) {
                if (errno == EINTR)
                        return;
                load_fatal("poll: %s", strerror(errno));
        }
        if (rpc_service(rpc, n > 0 ? pfd.revents : 0) < 0)
                load_fatal("connection failed: %s", rpc_get_error(rpc));
        check_timeouts();
}

/* Run the loop until *flag becomes non-zero; bounded by the RPC timeout. */
static void wait_flag(struct rpc_context *rpc, volatile int *flag, const char *what)
{
        double limit = load_now() + opt.timeout;
        while (!*flag) {
                if (load_now() > limit)
                        load_fatal("%s: no answer within %.0f s", what, opt.timeout);
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
        load_parse_url(u, &url, 0);
        if (url.export_path[0] == 0)
                strcpy(url.export_path, "/");
        if (mountport_opt)
                url.mountport = mountport_opt;
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
                load_fatal("connect to %s failed: %s", connecting_to, data ? (char *)data : rpc_status_name(status));
        s->done = 1;
}

static struct rpc_context *connect_to(int port, const char *what)
{
        struct rpc_context *rpc = rpc_init_context();
        struct simple s;

        if (!rpc)
                load_fatal("rpc_init_context failed");
        memset(&s, 0, sizeof(s));
        snprintf(connecting_to, sizeof(connecting_to), "%s port %d (%s)", url.host, port, what);
        if (rpc_connect_async(rpc, url.host, port, connect_cb, &s) != 0)
                load_fatal("connect to %s:%d (%s): %s", url.host, port, what, rpc_get_error(rpc));
        wait_flag(rpc, &s.done, what);
        return rpc;
}

static void getport_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                load_fatal("portmapper GETPORT: %s", data ? (char *)data : rpc_status_name(status));
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
                load_fatal("GETPORT: %s", rpc_get_error(rpc));
        wait_flag(rpc, &s.done, "portmapper GETPORT");
        rpc_destroy_context(rpc);
        if (s.u32 == 0 || s.u32 > 65535)
                load_fatal("%s v%d over TCP is not registered with the portmapper on %s", name, version, url.host);
        return (int)s.u32;
}

static void mnt_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct simple *s = priv;
        mountres3 *res = data;
        (void)rpc;
        call_end(&s->c);
        if (status != RPC_STATUS_SUCCESS)
                load_fatal("MOUNT3 MNT %s: %s", url.export_path, data ? (char *)data : rpc_status_name(status));
        if (res->fhs_status != MNT3_OK)
                load_fatal("MOUNT3 MNT %s: %s", url.export_path, mountstat3_to_str(res->fhs_status));
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
                load_fatal("MNT: %s", rpc_get_error(rpc));
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
                load_fatal("LOOKUP: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
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
                load_fatal("LOOKUP %s: %s", name, rpc_get_error(rpc));
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
                load_fatal("GETATTR: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
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
                load_fatal("GETATTR: %s", rpc_get_error(rpc));
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
                        load_fatal("path %s is too deep", path);
                st = nfs_lookup_sync(rpc, &cur, comp, &next, NULL, NULL);
                if (st != NFS3_OK)
                        load_fatal("LOOKUP %s (in %s): %s", comp, path, nfs_status_name(st));
                cur = next;
        }
        free(copy);
        st = nfs_getattr_sync(rpc, &cur, attr);
        if (st != NFS3_OK)
                load_fatal("GETATTR %s: %s", path, nfs_status_name(st));
        *out = cur;
}


/* ------------------------------------------------------------------------ */
/* READ workloads (the offsets, checks and figures are loadwork's)           */

struct rd {
        struct call c;
        uint64_t off;
        uint32_t len;
};

static struct {
        struct rpc_context *rpc;
        struct fh fh;
} R;

static void read_issue(struct rd *r);

static void read_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct rd *r = priv;
        READ3res *res = data;
        double lat;
        (void)rpc;

        lat = call_end(&r->c);
        load_read_reply();
        if (status != RPC_STATUS_SUCCESS)
                load_fatal("READ offset %" PRIu64 ": RPC %s: %s", r->off, rpc_status_name(status),
                           data ? (char *)data : "");
        if (res->status != NFS3_OK) {
                load_read_error("READ offset %" PRIu64 " count %u: %s", r->off, r->len,
                                nfs_status_name(res->status));
        } else {
                READ3resok *ok = &res->READ3res_u.resok;
                if (ok->data.data_len != ok->count)
                        load_read_error("READ offset %" PRIu64 ": count %u but %u data bytes",
                                        r->off, ok->count, ok->data.data_len);
                else
                        load_read_done(r->off, r->len, ok->count, (uint32_t)ok->eof,
                                       ok->data.data_val, lat);
        }
        read_issue(r);
}

/* (Re)issues the slot if the workload wants more; otherwise leaves it idle. */
static void read_issue(struct rd *r)
{
        READ3args a;

        if (!load_read_next(&r->off, &r->len))
                return;
        memset(&a, 0, sizeof(a));
        a.file = fh_arg(&R.fh);
        a.offset = r->off;
        a.count = r->len;
        call_start(&r->c, "READ");
        if (rpc_nfs3_read_async(R.rpc, read_cb, &a, r) != 0)
                load_fatal("READ: cannot queue: %s", rpc_get_error(R.rpc));
}

static int run_read(int random)
{
        struct fh root;
        fattr3 attr;
        struct rd *slots;
        int i;

        load_read_options(random, MAX_INFLIGHT);
        if (opt.block > 16u * 1048576u)
                load_fatal("--block is limited to 16 MiB");
        load_read_open_verify();

        R.rpc = setup(&root);
        resolve(R.rpc, &root, opt.file, &R.fh, &attr);
        if (attr.type != NF3REG)
                load_fatal("%s is not a regular file", opt.file);
        load_read_prepare(attr.size);

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                load_fatal("out of memory");
        load_read_start();
        for (i = 0; i < opt.inflight; i++)
                read_issue(&slots[i]);
        drain(R.rpc);
        return load_read_report(NULL, -1);
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
                load_fatal("READDIRPLUS: RPC %s: %s", rpc_status_name(status), data ? (char *)data : "");
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
                        load_warn("READDIRPLUS: no eof after %ld replies", pages);
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
                        load_fatal("READDIRPLUS: cannot queue: %s", rpc_get_error(rpc));
                wait_flag(rpc, &p.s.done, "READDIRPLUS");
                pages++;
                if (p.s.nfs_status != NFS3_OK) {
                        load_warn("READDIRPLUS (cookie %" PRIu64 "): %s", a.cookie,
                               nfs_status_name(p.s.nfs_status));
                        return -1;
                }
                total += p.named;
                if (p.eof)
                        break;
                if (p.entries == 0) {
                        load_warn("READDIRPLUS: empty reply without eof (cookie %" PRIu64 ")", a.cookie);
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
        int pass;

        load_dir_options();
        rpc = setup(&root);
        resolve(rpc, &root, opt.dir, &dir, &attr);
        if (attr.type != NF3DIR)
                load_fatal("%s is not a directory", opt.dir);

        load_dir_start();
        for (pass = 0; pass < opt.repeat; pass++) {
                struct count_ctx cc = { 0 };
                struct dirent_cb sink = { count_entry, &cc };
                double p0 = load_now();
                load_dir_timed(p0, list_dir(rpc, &dir, &sink, load_dir_pages()));
                load_dir_counted(cc.n);
        }
        return load_dir_report("readdirplus", NULL, opt.maxcount);
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

        w->v = load_grow(w->v, &w->cap, w->n, 256, sizeof(*w->v));
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
                load_fatal("tree has more than %ld directories", MAX_TREE_DIRS);
        T.dirs = load_grow(T.dirs, &T.capdirs, T.ndirs, 256, sizeof(*T.dirs));
        T.dirs[T.ndirs++] = *f;
}

static void add_item(uint32_t dir, char *name, const struct fh *f)
{
        if (T.nitems >= MAX_TREE_ITEMS)
                load_fatal("tree has more than %ld files", MAX_TREE_ITEMS);
        T.items = load_grow(T.items, &T.capitems, T.nitems, 1024, sizeof(*T.items));
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
                        load_fatal("walking the tree failed");
                for (i = 0; i < w.n; i++) {
                        struct walk_entry *we = &w.v[i];
                        if (!we->have_fh || we->type == 0) {
                                fattr3 at;
                                int have = 0, st;
                                st = nfs_lookup_sync(rpc, &dirfh, we->name, &we->fh, &at, &have);
                                T.lookups_for_walk++;
                                if (st != NFS3_OK)
                                        load_fatal("LOOKUP %s: %s", we->name, nfs_status_name(st));
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

struct mslot {
        struct call c;
        struct load_meta_pos pos;
};

static struct rpc_context *meta_rpc;

static void meta_issue(struct mslot *s);

static void meta_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
        struct mslot *s = priv;
        struct item *it = &T.items[s->pos.item];
        double lat;
        int st;
        (void)rpc;

        lat = call_end(&s->c);
        load_meta_reply();
        if (status != RPC_STATUS_SUCCESS)
                load_fatal("%s %s: RPC %s: %s", load_meta_names[s->pos.op], it->name,
                           rpc_status_name(status), data ? (char *)data : "");
        switch (s->pos.op) {
        case LOAD_META_LOOKUP: {
                LOOKUP3res *res = data;
                st = res->status;
                if (st == NFS3_OK) {
                        nfs_fh3 *o = &res->LOOKUP3res_u.resok.object;
                        if (o->data.data_len != it->fh.len ||
                            memcmp(o->data.data_val, it->fh.data, it->fh.len) != 0)
                                load_meta_fh_mismatch();
                }
                break;
        }
        case LOAD_META_GETATTR:
                st = ((GETATTR3res *)data)->status;
                break;
        default:
                st = ((ACCESS3res *)data)->status;
                break;
        }
        load_meta_done(&s->pos, it->name, st != NFS3_OK ? nfs_status_name(st) : NULL, lat);
        meta_issue(s);
}

static void meta_issue(struct mslot *s)
{
        struct item *it;
        int rc;

        if (!load_meta_more())
                return;
        it = &T.items[s->pos.item];
        call_start(&s->c, load_meta_names[s->pos.op]);
        switch (s->pos.op) {
        case LOAD_META_LOOKUP: {
                LOOKUP3args a;
                a.what.dir = fh_arg(&T.dirs[it->dir]);
                a.what.name = it->name;
                rc = rpc_nfs3_lookup_async(meta_rpc, meta_cb, &a, s);
                break;
        }
        case LOAD_META_GETATTR: {
                GETATTR3args a;
                a.object = fh_arg(&it->fh);
                rc = rpc_nfs3_getattr_async(meta_rpc, meta_cb, &a, s);
                break;
        }
        default: {
                ACCESS3args a;
                a.object = fh_arg(&it->fh);
                a.access = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_EXECUTE;
                rc = rpc_nfs3_access_async(meta_rpc, meta_cb, &a, s);
                break;
        }
        }
        if (rc != 0)
                load_fatal("%s: cannot queue: %s", load_meta_names[s->pos.op], rpc_get_error(meta_rpc));
}

static int run_meta(void)
{
        struct fh root, top;
        fattr3 attr;
        struct mslot *slots;
        double tw;
        int i;

        load_meta_options(MAX_INFLIGHT);
        meta_rpc = setup(&root);
        resolve(meta_rpc, &root, opt.tree, &top, &attr);
        if (attr.type != NF3DIR)
                load_fatal("%s is not a directory", opt.tree);
        tw = load_now();
        walk_tree(meta_rpc, &top);
        tw = load_now() - tw;
        if (T.nitems == 0)
                load_fatal("no regular files under %s", opt.tree);

        slots = calloc((size_t)opt.inflight, sizeof(*slots));
        if (!slots)
                load_fatal("out of memory");
        load_meta_start(T.nitems);
        for (i = 0; i < opt.inflight; i++) {
                load_meta_first(&slots[i].pos);
                meta_issue(&slots[i]);
        }
        drain(meta_rpc);
        return load_meta_report(NULL, -1, T.nitems, T.ndirs, tw, T.lookups_for_walk);
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
                load_fatal("GETATTR of the export root: %s", nfs_status_name(st));
        printf("{\"probe\":\"ok\",\"host\":");
        load_json_str(stdout, url.host);
        printf(",\"export\":");
        load_json_str(stdout, url.export_path);
        printf(",\"nfsport\":%d,\"mountport\":%d,\"root_fh_len\":%u,\"root_type\":%d}\n",
               url.nfsport, url.mountport, root.len, (int)attr.type);
        fflush(stdout);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* command line                                                              */

static const char usage_text[] =
"usage: nfsload COMMAND --url nfs://HOST[:PORT]/EXPORT[?nfsport=N&mountport=N] [options]\n"
"commands:\n"
"  probe\n"
"  seqread     --file PATH [--block 1048576] [--inflight 16] [--offset N] [--bytes N] [--verify SRC]\n"
"  randread    --file PATH [--block 4096] [--inflight 32] --seconds S [--seed N] [--verify SRC]\n"
"  meta        --tree DIR [--inflight 32] --seconds S\n"
"  readdirplus --dir DIR [--repeat N] [--dircount 65536] [--maxcount 1048576] [--expect N]\n"
"common options:\n"
"  --nfsport N --mountport N   skip the portmapper for that program\n"
LOAD_USAGE_COMMON;

static void extra_arg(int c, const char *arg)
{
        (void)c;        /* the one extra option */
        mountport_opt = (int)load_parse_u64(arg, "--mountport");
}

int main(int argc, char **argv)
{
        static const struct option extra[] = {
                { "mountport", required_argument, NULL, 'M' },
                { NULL, 0, NULL, 0 },
        };
        static const struct load_cli cli = {
                usage_text, extra, extra_arg, NULL, run_probe, run_read, run_meta, "readdirplus", run_readdirplus,
        };

        load_tool = "nfsload";
        /* Sockets close on exit; no UMNT is sent (the servers keep no
         * per-client mount state that matters for a benchmark). */
        return load_main(argc, argv, &cli);
}
