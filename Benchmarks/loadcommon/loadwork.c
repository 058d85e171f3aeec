/* loadwork: the workloads' figures and reports, protocol apart (see loadwork.h). */
#define _GNU_SOURCE
#include "loadwork.h"
#include "loadargs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LAT_SAMPLES 50000000L

/* ------------------------------------------------------------------------ */
/* latency statistics and JSON                                              */

void load_lat_add(struct load_lat *l, double s)
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
                        load_fatal("out of memory for latency samples");
        }
        l->v[l->n++] = s;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

void load_lat_sort(struct load_lat *l)
{
        qsort(l->v, (size_t)l->n, sizeof(double), cmp_double);
}

double load_lat_pct(const struct load_lat *l, double p)
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

void load_json_str(FILE *f, const char *s)
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

/* The JSON line's head: workload, protocol, then the named string field. */
static void report_head(const char *workload, const char *protocol, const char *key, const char *value)
{
        printf("{\"workload\":\"%s\"", workload);
        if (protocol)
                printf(",\"protocol\":\"%s\"", protocol);
        printf(",\"%s\":", key);
        load_json_str(stdout, value);
}

static void report_slots(long slots)
{
        if (slots >= 0)
                printf(",\"slots\":%ld", slots);
}

/* ------------------------------------------------------------------------ */
/* READ workloads                                                            */

/* xorshift64*, seeded from --seed, so both tools read the same offsets */
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

/* the --verify source, mapped */
static const unsigned char *src_map;
static uint64_t src_size;

void load_read_open_verify(void)
{
        int fd;
        struct stat st;

        if (!opt.verify)
                return;
        fd = open(opt.verify, O_RDONLY);
        if (fd < 0)
                load_fatal("open %s: %s", opt.verify, strerror(errno));
        if (fstat(fd, &st) != 0)
                load_fatal("stat %s: %s", opt.verify, strerror(errno));
        src_size = (uint64_t)st.st_size;
        if (src_size > 0) {
                src_map = mmap(NULL, src_size, PROT_READ, MAP_SHARED, fd, 0);
                if (src_map == MAP_FAILED)
                        load_fatal("mmap %s: %s", opt.verify, strerror(errno));
        }
        close(fd);
}

static struct {
        uint64_t file_size;
        /* seqread */
        uint64_t next_off, end;
        /* randread */
        uint64_t nblocks;
        double t0, stop_at;
        /* results */
        uint64_t bytes, ops;
        long errors, short_reads, mismatches;
        double last_done;
        struct load_lat lat;
        int random;
} R;

void load_read_options(int random, int max_inflight)
{
        if (!opt.file)
                load_fatal("--file is required");
        if (opt.block == 0)
                opt.block = random ? 4096 : 1048576;
        if (opt.inflight <= 0)
                opt.inflight = random ? 32 : 16;
        if (opt.inflight > max_inflight)
                load_fatal("--inflight is limited to %d", max_inflight);
        R.random = random;
}

void load_read_prepare(uint64_t file_size)
{
        R.file_size = file_size;
        if (src_map && src_size != R.file_size)
                load_fatal("size of %s over NFS is %" PRIu64 ", local %s is %" PRIu64,
                           opt.file, R.file_size, opt.verify, src_size);
        if (R.random) {
                R.nblocks = R.file_size / opt.block;
                if (R.nblocks == 0)
                        load_fatal("%s (%" PRIu64 " bytes) is smaller than one block", opt.file, R.file_size);
                rng_state = opt.seed ? opt.seed * 0x9E3779B97F4A7C15ULL : 1;
        } else {
                if (opt.offset > R.file_size)
                        load_fatal("--offset %" PRIu64 " is past the end of %s (%" PRIu64 " bytes)",
                                   opt.offset, opt.file, R.file_size);
                R.next_off = opt.offset;
                R.end = R.file_size;
                if (opt.bytes && opt.bytes < R.end - opt.offset)
                        R.end = opt.offset + opt.bytes;
        }
}

uint64_t load_read_file_size(void)
{
        return R.file_size;
}

void load_read_start(void)
{
        R.t0 = load_now();
        R.last_done = R.t0;
        R.stop_at = R.t0 + opt.seconds;
}

int load_read_next(uint64_t *off, uint32_t *len)
{
        if (R.random) {
                if (load_now() >= R.stop_at)
                        return 0;
                *off = (rng_next() % R.nblocks) * opt.block;
                *len = (uint32_t)opt.block;
        } else {
                uint64_t left;
                if (R.next_off >= R.end)
                        return 0;
                left = R.end - R.next_off;
                *off = R.next_off;
                *len = (uint32_t)(left < opt.block ? left : opt.block);
                R.next_off += *len;
        }
        return 1;
}

void load_read_reply(void)
{
        R.last_done = load_now();
}

void load_read_error(const char *fmt, ...)
{
        va_list ap;
        R.errors++;
        if (R.errors > 20)
                return;
        va_start(ap, fmt);
        load_vwarn(fmt, ap);
        va_end(ap);
}

void load_read_done(uint64_t off, uint32_t asked, uint32_t got, uint32_t eof,
                    const void *data, double lat)
{
        if (got != asked && !(eof && off + got == R.file_size)) {
                R.short_reads++;
                load_read_error("READ offset %" PRIu64 ": asked %u bytes, got %u (eof=%u, file size %" PRIu64 ")",
                                off, asked, got, eof, R.file_size);
                return;
        }
        if (src_map) {
                if (off + got > src_size || memcmp(data, src_map + off, got) != 0) {
                        R.mismatches++;
                        load_read_error("READ offset %" PRIu64 " count %u: data differs from %s",
                                        off, got, opt.verify);
                }
        }
        R.bytes += got;
        R.ops++;
        load_lat_add(&R.lat, lat);
}

int load_read_report(const char *protocol, long slots)
{
        double secs = R.last_done - R.t0;

        if (secs <= 0)
                secs = 1e-9;
        if (!R.random && R.bytes != R.end - opt.offset && R.errors == 0)
                load_read_error("read %" PRIu64 " bytes, expected %" PRIu64, R.bytes, R.end - opt.offset);

        load_lat_sort(&R.lat);
        report_head(R.random ? "randread" : "seqread", protocol, "file", opt.file);
        printf(",\"file_size\":%" PRIu64 ",\"block\":%" PRIu64 ",\"inflight\":%d",
               R.file_size, opt.block, opt.inflight);
        report_slots(slots);
        printf(",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f"
               ",\"mib_s\":%.3f,\"ops_s\":%.1f"
               ",\"lat_mean_us\":%.1f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f"
               ",\"errors\":%ld,\"short_reads\":%ld,\"verified\":%s,\"mismatches\":%ld",
               R.ops, R.bytes, secs,
               (double)R.bytes / 1048576.0 / secs, (double)R.ops / secs,
               R.ops ? R.lat.sum / (double)R.ops * 1e6 : 0.0,
               load_lat_pct(&R.lat, 50) * 1e6, load_lat_pct(&R.lat, 99) * 1e6,
               R.lat.n ? R.lat.v[R.lat.n - 1] * 1e6 : 0.0,
               R.errors, R.short_reads, src_map ? "true" : "false", R.mismatches);
        if (R.random)
                printf(",\"seed\":%" PRIu64 ",\"duration\":%.3f", opt.seed, opt.seconds);
        printf("}\n");
        fflush(stdout);
        return R.errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* directory listing passes                                                  */

static struct {
        double t0, best, *pass_s;
        long entries, pages;
        int pass, errors;
} P;

void load_dir_options(void)
{
        if (!opt.dir)
                load_fatal("--dir is required");
        if (opt.repeat < 1 || opt.repeat > 100000)
                load_fatal("--repeat must be between 1 and 100000");
}

void load_dir_start(void)
{
        P.pass_s = calloc((size_t)opt.repeat, sizeof(double));
        if (!P.pass_s)
                load_fatal("out of memory");
        P.best = 1e30;
        P.entries = -1;
        P.t0 = load_now();
}

long *load_dir_pages(void)
{
        return &P.pages;
}

void load_dir_timed(double p0, long n)
{
        double pt = load_now() - p0;
        P.pass_s[P.pass] = pt;
        if (pt < P.best)
                P.best = pt;
        if (n < 0)
                load_fatal("listing %s failed", opt.dir);
}

void load_dir_error(void)
{
        P.errors++;
}

void load_dir_counted(long n)
{
        if (P.entries >= 0 && n != P.entries) {
                load_warn("pass %d listed %ld entries, pass 1 listed %ld", P.pass + 1, n, P.entries);
                P.errors++;
        }
        P.entries = n;
        if (opt.expect >= 0 && n != opt.expect) {
                load_warn("%s: listed %ld entries, expected %ld", opt.dir, n, opt.expect);
                P.errors++;
        }
        P.pass++;
}

int load_dir_report(const char *workload, const char *protocol, uint32_t maxcount)
{
        double secs = load_now() - P.t0;
        int pass;

        report_head(workload, protocol, "dir", opt.dir);
        printf(",\"entries\":%ld,\"passes\":%d,\"replies_per_pass\":%ld,\"dircount\":%u,\"maxcount\":%u"
               ",\"seconds\":%.6f,\"entries_s\":%.1f,\"best_pass_s\":%.6f,\"errors\":%d"
               ",\"pass_seconds\":[",
               P.entries, opt.repeat, P.pages, opt.dircount, maxcount, secs,
               (double)P.entries * opt.repeat / (secs > 0 ? secs : 1e-9), P.best, P.errors);
        for (pass = 0; pass < opt.repeat; pass++)
                printf("%s%.6f", pass ? "," : "", P.pass_s[pass]);
        printf("]}\n");
        fflush(stdout);
        free(P.pass_s);
        return P.errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* meta                                                                      */

const char *const load_meta_names[LOAD_META_OPS] = { "LOOKUP", "GETATTR", "ACCESS" };

static struct {
        long nitems, next_item;
        double t0, stop_at, last_done;
        uint64_t ops[LOAD_META_OPS];
        long errors, fh_mismatch;
        struct load_lat lat;
} M;

void load_meta_options(int max_inflight)
{
        if (!opt.tree)
                load_fatal("--tree is required");
        if (opt.inflight <= 0)
                opt.inflight = 32;
        if (opt.inflight > max_inflight)
                load_fatal("--inflight is limited to %d", max_inflight);
}

void load_meta_start(long nitems)
{
        M.nitems = nitems;
        M.t0 = load_now();
        M.stop_at = M.t0 + opt.seconds;
        M.last_done = M.t0;
}

void load_meta_first(struct load_meta_pos *p)
{
        p->item = M.next_item++ % M.nitems;
        p->op = LOAD_META_LOOKUP;
}

void load_meta_reply(void)
{
        M.last_done = load_now();
}

void load_meta_done(struct load_meta_pos *p, const char *name, const char *error, double lat)
{
        if (error) {
                M.errors++;
                if (M.errors <= 20)
                        load_warn("%s %s: %s", load_meta_names[p->op], name, error);
        } else {
                M.ops[p->op]++;
                load_lat_add(&M.lat, lat);
        }
        /* next op on the same file, or the next file */
        p->op++;
        if (p->op == LOAD_META_OPS)
                load_meta_first(p);
}

void load_meta_fh_mismatch(void)
{
        M.fh_mismatch++;
}

int load_meta_more(void)
{
        return load_now() < M.stop_at;
}

int load_meta_report(const char *protocol, long slots, long files, long dirs, double walk_seconds,
                     long walk_lookups)
{
        double secs = M.last_done - M.t0;
        uint64_t total = M.ops[0] + M.ops[1] + M.ops[2];

        if (secs <= 0)
                secs = 1e-9;
        load_lat_sort(&M.lat);
        report_head("meta", protocol, "tree", opt.tree);
        printf(",\"files\":%ld,\"dirs\":%ld,\"walk_seconds\":%.3f", files, dirs, walk_seconds);
        if (walk_lookups >= 0)
                printf(",\"walk_lookups\":%ld", walk_lookups);
        printf(",\"inflight\":%d", opt.inflight);
        report_slots(slots);
        printf(",\"ops\":%" PRIu64 ",\"seconds\":%.6f,\"ops_s\":%.1f"
               ",\"lookup\":%" PRIu64 ",\"getattr\":%" PRIu64 ",\"access\":%" PRIu64
               ",\"lat_mean_us\":%.1f,\"lat_p99_us\":%.1f"
               ",\"lookup_fh_mismatch\":%ld,\"errors\":%ld,\"duration\":%.3f}\n",
               total, secs, (double)total / secs,
               M.ops[LOAD_META_LOOKUP], M.ops[LOAD_META_GETATTR], M.ops[LOAD_META_ACCESS],
               total ? M.lat.sum / (double)total * 1e6 : 0.0, load_lat_pct(&M.lat, 99) * 1e6,
               M.fh_mismatch, M.errors, opt.seconds);
        fflush(stdout);
        return M.errors ? 1 : 0;
}
