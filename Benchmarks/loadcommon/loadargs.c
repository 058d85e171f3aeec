/* loadargs: options, URL, messages and deadline of the load tools (see loadargs.h). */
#define _GNU_SOURCE
#include "loadargs.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct load_opts opt = {
        .block = 0, .inflight = 0, .bytes = 0, .seconds = 10.0, .seed = 1,
        .repeat = 1, .dircount = 65536, .maxcount = 1048576, .expect = -1,
        .timeout = 30.0, .deadline = 900.0,
};

const char *load_tool = "load";

double load_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

void load_vwarn(const char *fmt, va_list ap)
{
        fprintf(stderr, "%s %s: ", load_tool, opt.cmd ? opt.cmd : "");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void load_warn(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        load_vwarn(fmt, ap);
        va_end(ap);
}

void load_fatal(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        load_vwarn(fmt, ap);
        va_end(ap);
        exit(2);
}

void *load_grow(void *p, long *cap, long n, long first, size_t size)
{
        if (n < *cap)
                return p;
        *cap = *cap ? *cap * 2 : first;
        p = realloc(p, (size_t)*cap * size);
        if (!p)
                load_fatal("out of memory");
        return p;
}

/* Written from the signal handler, so built before the alarm is armed. */
static char deadline_msg[128];
static size_t deadline_len;

static void on_alarm(int sig)
{
        (void)sig;
        if (write(2, deadline_msg, deadline_len) < 0) {
                /* nothing more to do */
        }
        _exit(3);
}

static void arm_deadline(double seconds)
{
        int n = snprintf(deadline_msg, sizeof(deadline_msg), "%s: deadline expired, aborting\n", load_tool);
        deadline_len = n > 0 && (size_t)n < sizeof(deadline_msg) ? (size_t)n : 0;
        signal(SIGPIPE, SIG_IGN);
        signal(SIGALRM, on_alarm);
        if (seconds > 0)
                alarm((unsigned)ceil(seconds));
}

int load_parse_size(const char *s, uint64_t *out)
{
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno || end == s)
                return -1;
        switch (*end) {
        case 'k': case 'K': v <<= 10; end++; break;
        case 'm': case 'M': v <<= 20; end++; break;
        case 'g': case 'G': v <<= 30; end++; break;
        default: break;
        }
        if (*end)
                return -1;
        *out = v;
        return 0;
}

uint64_t load_parse_u64(const char *s, const char *name)
{
        uint64_t v;
        if (load_parse_size(s, &v) < 0)
                load_fatal("bad value for %s: %s", name, s);
        return v;
}

double load_parse_double(const char *s, const char *name)
{
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end || !(v >= 0))
                load_fatal("bad value for %s: %s", name, s);
        return v;
}

void load_parse_url(const char *u, struct load_url *url, int default_port)
{
        const char *p, *host_end, *path_end;
        size_t n;

        if (strncmp(u, "nfs://", 6) != 0)
                load_fatal("URL must start with nfs:// (got %s)", u);
        p = u + 6;
        host_end = p + strcspn(p, "/?");
        n = (size_t)(host_end - p);
        if (n == 0 || n >= sizeof(url->host))
                load_fatal("bad host in URL %s", u);
        memcpy(url->host, p, n);
        url->host[n] = 0;
        url->nfsport = default_port;
        {
                char *colon = strchr(url->host, ':');
                if (colon) {
                        *colon = 0;
                        url->nfsport = atoi(colon + 1);
                }
        }
        p = host_end;
        path_end = p + strcspn(p, "?");
        n = (size_t)(path_end - p);
        if (n >= sizeof(url->export_path))
                load_fatal("export path too long");
        memcpy(url->export_path, p, n);
        url->export_path[n] = 0;
        if (*path_end == '?') {
                char *q = strdup(path_end + 1), *save = NULL, *kv;
                for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
                        char *eq = strchr(kv, '=');
                        if (!eq)
                                load_fatal("bad URL argument %s", kv);
                        *eq = 0;
                        if (strcmp(kv, "nfsport") == 0)
                                url->nfsport = atoi(eq + 1);
                        else if (strcmp(kv, "mountport") == 0)
                                url->mountport = atoi(eq + 1);
                        else
                                load_warn("ignoring URL argument %s", kv);
                }
                free(q);
        }
        if (opt.nfsport)
                url->nfsport = opt.nfsport;
}

static void usage(const struct load_cli *cli, int code) __attribute__((noreturn));
static void usage(const struct load_cli *cli, int code)
{
        fputs(cli->usage, code ? stderr : stdout);
        exit(code);
}

#define MAX_OPTIONS 32

int load_main(int argc, char **argv, const struct load_cli *cli)
{
        static const struct option common[] = {
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
                { "help", no_argument, NULL, 'h' },
        };
        struct option lo[MAX_OPTIONS];
        size_t nlo = 0;
        int c;

        for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
                lo[nlo++] = common[i];
        for (const struct option *x = cli->extra; x && x->name && nlo < MAX_OPTIONS - 1; x++)
                lo[nlo++] = *x;
        memset(&lo[nlo], 0, sizeof(lo[nlo]));

        if (argc < 2)
                usage(cli, 2);
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                usage(cli, 0);
        opt.cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
                switch (c) {
                case 'u': opt.url = optarg; break;
                case 'f': opt.file = optarg; break;
                case 't': opt.tree = optarg; break;
                case 'd': opt.dir = optarg; break;
                case 'V': opt.verify = optarg; break;
                case 'b': opt.block = load_parse_u64(optarg, "--block"); break;
                case 'i': opt.inflight = (int)load_parse_u64(optarg, "--inflight"); break;
                case 'B': opt.bytes = load_parse_u64(optarg, "--bytes"); break;
                case 'O': opt.offset = load_parse_u64(optarg, "--offset"); break;
                case 's': opt.seconds = load_parse_double(optarg, "--seconds"); break;
                case 'S': opt.seed = load_parse_u64(optarg, "--seed"); break;
                case 'r': opt.repeat = (int)load_parse_u64(optarg, "--repeat"); break;
                case 'c': opt.dircount = (uint32_t)load_parse_u64(optarg, "--dircount"); break;
                case 'm': opt.maxcount = (uint32_t)load_parse_u64(optarg, "--maxcount"); break;
                case 'e': opt.expect = (long)load_parse_u64(optarg, "--expect"); break;
                case 'T': opt.timeout = load_parse_double(optarg, "--timeout"); break;
                case 'D': opt.deadline = load_parse_double(optarg, "--deadline"); break;
                case 'n': opt.nfsport = (int)load_parse_u64(optarg, "--nfsport"); break;
                case 'h': usage(cli, 0); break;
                case '?': usage(cli, 2); break;
                default:
                        if (!cli->extra_arg)
                                usage(cli, 2);
                        cli->extra_arg(c, optarg);
                }
        }
        if (optind != argc)
                load_fatal("unexpected argument %s", argv[optind]);
        if (!opt.url)
                load_fatal("--url is required");
        if (opt.timeout <= 0)
                load_fatal("--timeout must be positive");
        if (opt.block > UINT32_MAX)
                load_fatal("--block too large");
        if (opt.seconds > 86400)
                load_fatal("--seconds too large");
        if (cli->check)
                cli->check();

        arm_deadline(opt.deadline);
        if (strcmp(opt.cmd, "probe") == 0)
                return cli->probe();
        if (strcmp(opt.cmd, "seqread") == 0)
                return cli->read(0);
        if (strcmp(opt.cmd, "randread") == 0)
                return cli->read(1);
        if (strcmp(opt.cmd, "meta") == 0)
                return cli->meta();
        if (strcmp(opt.cmd, cli->list_name) == 0)
                return cli->list();
        load_warn("unknown command");
        usage(cli, 2);
}
