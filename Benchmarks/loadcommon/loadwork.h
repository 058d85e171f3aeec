/*
 * loadwork: the workloads of nfsload and nfs4load apart from the protocol —
 * which offsets a read asks for, what a reply counts as (short read, data
 * that differs from --verify, latency sample), the passes of a directory
 * listing, the rotation of the meta operations, and the one JSON line each
 * workload prints — so that an NFSv3 row and its NFSv4.1 counterpart are
 * measured and reported the same way.
 *
 * Reports take the tool's `protocol` (a "protocol" field after "workload",
 * or none when NULL) and `slots` (a "slots" field after "inflight", or none
 * when negative).
 */
#ifndef LOADWORK_H
#define LOADWORK_H

#include <stdint.h>
#include <stdio.h>

/* latency samples of successful calls, in seconds */
struct load_lat {
        double *v;
        long n, cap;
        double sum;
        long dropped;            /* samples past the limit (counted in sum only) */
};

void load_lat_add(struct load_lat *l, double s);
void load_lat_sort(struct load_lat *l);
/* The p-th percentile (nearest rank) of sorted samples; 0 with none. */
double load_lat_pct(const struct load_lat *l, double p);

void load_json_str(FILE *f, const char *s);

/* ---- seqread, randread ---- */

/* --file, the default block and inflight, the inflight limit. */
void load_read_options(int random, int max_inflight);
/* Maps the --verify source, if given. */
void load_read_open_verify(void);
/* Checks the file's size against --verify and --offset; seeds randread. */
void load_read_prepare(uint64_t file_size);
uint64_t load_read_file_size(void);
/* Starts the clock (and randread's --seconds). */
void load_read_start(void);
/* The next READ, or 0 when the workload wants no more. */
int load_read_next(uint64_t *off, uint32_t *len);
/* A reply arrived (the run lasts until the last one). */
void load_read_reply(void);
/* A READ that returned `got` bytes at `data` for `asked` at `off`: a short
 * read, a mismatch with --verify, or a sample. */
void load_read_done(uint64_t off, uint32_t asked, uint32_t got, uint32_t eof,
                    const void *data, double lat);
/* Counts an error; prints the first 20. */
void load_read_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the JSON line; returns the exit code (1 after errors). */
int load_read_report(const char *protocol, long slots);

/* ---- readdirplus, readdir: --repeat passes over one directory ---- */

/* --dir and --repeat. */
void load_dir_options(void);
void load_dir_start(void);
/* After a pass that started at p0 and listed n entries (-1: failed, fatal). */
void load_dir_timed(double p0, long n);
/* The entries the pass saw: each pass must see as many as the first (and
 * --expect). */
void load_dir_counted(long entries);
/* An error the tool found in the pass. */
void load_dir_error(void);
/* The replies a pass took, for the report. */
long *load_dir_pages(void);
int load_dir_report(const char *workload, const char *protocol, uint32_t maxcount);

/* ---- meta: LOOKUP, GETATTR, ACCESS on each file in turn ---- */

enum { LOAD_META_LOOKUP, LOAD_META_GETATTR, LOAD_META_ACCESS, LOAD_META_OPS };
extern const char *const load_meta_names[LOAD_META_OPS];

/* Where one request slot is: which file, which operation. */
struct load_meta_pos {
        long item;
        int op;
};

/* --tree, the default inflight and its limit. */
void load_meta_options(int max_inflight);
/* Starts the clock over `nitems` files. */
void load_meta_start(long nitems);
/* A reply arrived (the run lasts until the last one). */
void load_meta_reply(void);
/* The slot's first file, operation LOOKUP. */
void load_meta_first(struct load_meta_pos *p);
/* A reply for the slot's operation on file `name`: `error` is the status
 * name of a failure, NULL on success.  Moves the slot on. */
void load_meta_done(struct load_meta_pos *p, const char *name, const char *error, double lat);
void load_meta_fh_mismatch(void);
/* Whether to send another request (--seconds not over). */
int load_meta_more(void);
/* walk_lookups < 0: not reported. */
int load_meta_report(const char *protocol, long slots, long files, long dirs, double walk_seconds,
                     long walk_lookups);

#endif
