/*
 * loadargs: what nfsload and nfs4load share as command-line tools — the
 * options and their parsing, the nfs:// URL, messages prefixed with the tool
 * and subcommand, the clock and the --deadline alarm — so that both accept
 * the same arguments and say the same things about them.
 */
#ifndef LOADARGS_H
#define LOADARGS_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The options every load tool takes (each tool keeps its own extras). */
struct load_opts {
        const char *cmd;
        const char *url;
        const char *file;
        const char *tree;
        const char *dir;
        const char *verify;
        uint64_t block;          /* 0 = the workload's default */
        int inflight;            /* 0 = the workload's default */
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
        int nfsport;             /* 0 = not given */
};

extern struct load_opts opt;

/* The tool's name, the first word of every message ("nfsload"). */
extern const char *load_tool;

/* The last lines of every tool's usage text. */
#define LOAD_USAGE_COMMON \
"  --timeout S                 per-RPC timeout in seconds (default 30)\n" \
"  --deadline S                abort the whole run after S seconds (default 900)\n"

struct load_cli {
        const char *usage;                       /* the whole usage text */
        const struct option *extra;              /* the tool's own options, zero-terminated */
        void (*extra_arg)(int c, const char *arg);
        void (*check)(void);                     /* the tool's own checks, or NULL */
        /* The subcommands every load tool has: probe, seqread and randread
         * (read with random 0 and 1), meta, and the directory listing,
         * named after the protocol's operation. */
        int (*probe)(void);
        int (*read)(int random);
        int (*meta)(void);
        const char *list_name;
        int (*list)(void);
};

/* Parses argv (COMMAND then options), checks the common options, arms the
 * deadline and runs the command; returns its exit code.  Bad arguments
 * print a message or the usage and exit with 2. */
int load_main(int argc, char **argv, const struct load_cli *cli);

/* "TOOL COMMAND: message" on stderr; load_fatal then exits with 2. */
void load_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void load_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void load_vwarn(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Seconds on the monotonic clock. */
double load_now(void);

/* A number with an optional k/m/g (binary) suffix; -1 when s is not one. */
int load_parse_size(const char *s, uint64_t *out);
uint64_t load_parse_u64(const char *s, const char *name);
double load_parse_double(const char *s, const char *name);

/* Returns p (an array of *cap elements of size bytes), reallocated to twice
 * the room (`first` elements the first time) when n has reached *cap; out of
 * memory is fatal. */
void *load_grow(void *p, long *cap, long n, long first, size_t size);

/* nfs://HOST[:PORT]/EXPORT[?nfsport=N&mountport=N] */
struct load_url {
        char host[256];
        char export_path[1024];  /* as written, "" when the URL has none */
        int nfsport;             /* default_port unless the URL or --nfsport gives one */
        int mountport;           /* 0 unless the URL gives one */
};

void load_parse_url(const char *u, struct load_url *url, int default_port);

#endif
