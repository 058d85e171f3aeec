/*
 * tcpceiling: raw loopback TCP throughput, the ceiling that the NFS read
 * figures of the p2pfs benchmarks are compared against.
 *
 * A receiver (the parent) listens on 127.0.0.1, a sender (a forked child)
 * connects and writes --bytes bytes with --buffer sized send() calls; the
 * receiver reads them with the same buffer size.  The time runs from the
 * accepted connection to the last byte received.  Prints one JSON object.
 *
 *   tcpceiling [--bytes 4G] [--buffer 1M] [--sockbuf 0] [--timeout 120]
 *
 * --sockbuf sets SO_SNDBUF/SO_RCVBUF (0 keeps the kernel's autotuning).
 * Exit code: 0 on success, 2 on error, 3 when --timeout expired.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../loadcommon/loadargs.h"

static pid_t child = -1;

static void die(const char *what)
{
        fprintf(stderr, "tcpceiling: %s: %s\n", what, strerror(errno));
        if (child > 0)
                kill(child, SIGKILL);
        exit(2);
}

static void on_alarm(int sig)
{
        static const char msg[] = "tcpceiling: timeout expired\n";
        (void)sig;
        if (child > 0)
                kill(child, SIGKILL);
        if (write(2, msg, sizeof(msg) - 1) < 0) {
                /* nothing more to do */
        }
        _exit(3);
}

static uint64_t parse_size(const char *s)
{
        uint64_t v;
        if (load_parse_size(s, &v) < 0) {
                fprintf(stderr, "tcpceiling: bad size %s\n", s);
                exit(2);
        }
        return v;
}

static void set_bufs(int fd, int sockbuf)
{
        if (sockbuf > 0) {
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof(sockbuf));
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof(sockbuf));
        }
}

static void sender(uint16_t port, uint64_t bytes, size_t bufsize, int sockbuf)
{
        struct sockaddr_in sa;
        char *buf = malloc(bufsize);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        uint64_t left = bytes;

        if (!buf || fd < 0)
                _exit(2);
        memset(buf, 0x5a, bufsize);
        set_bufs(fd, sockbuf);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                perror("tcpceiling: connect");
                _exit(2);
        }
        while (left > 0) {
                size_t n = left < bufsize ? (size_t)left : bufsize;
                ssize_t w = send(fd, buf, n, 0);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("tcpceiling: send");
                        _exit(2);
                }
                left -= (uint64_t)w;
        }
        close(fd);
        _exit(0);
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "bytes", required_argument, NULL, 'b' },
                { "buffer", required_argument, NULL, 'B' },
                { "sockbuf", required_argument, NULL, 's' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        uint64_t bytes = 4ULL << 30, got = 0;
        size_t bufsize = 1 << 20;
        int sockbuf = 0, timeout = 120, c, lfd, fd, status;
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        char *buf;
        double t0, secs;

        while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
                switch (c) {
                case 'b': bytes = parse_size(optarg); break;
                case 'B': bufsize = (size_t)parse_size(optarg); break;
                case 's': sockbuf = (int)parse_size(optarg); break;
                case 't': timeout = atoi(optarg); break;
                case 'h':
                        printf("usage: tcpceiling [--bytes 4G] [--buffer 1M] [--sockbuf 0] [--timeout 120]\n");
                        return 0;
                default:
                        return 2;
                }
        }
        if (bufsize == 0 || bufsize > (256u << 20) || bytes == 0 || timeout <= 0) {
                fprintf(stderr, "tcpceiling: bad arguments\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGALRM, on_alarm);
        alarm((unsigned)timeout);

        buf = malloc(bufsize);
        if (!buf)
                die("malloc");
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (lfd < 0)
                die("socket");
        set_bufs(lfd, sockbuf);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
                die("bind 127.0.0.1");
        if (listen(lfd, 1) != 0)
                die("listen");
        if (getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
                die("getsockname");

        child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                close(lfd);
                sender(ntohs(sa.sin_port), bytes, bufsize, sockbuf);
        }
        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
                die("accept");
        close(lfd);
        t0 = load_now();
        for (;;) {
                ssize_t r = recv(fd, buf, bufsize, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        die("recv");
                }
                if (r == 0)
                        break;
                got += (uint64_t)r;
        }
        secs = load_now() - t0;
        close(fd);
        if (waitpid(child, &status, 0) < 0)
                die("waitpid");
        child = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "tcpceiling: sender failed\n");
                return 2;
        }
        if (got != bytes) {
                fprintf(stderr, "tcpceiling: received %" PRIu64 " of %" PRIu64 " bytes\n", got, bytes);
                return 2;
        }
        printf("{\"workload\":\"tcpceiling\",\"bytes\":%" PRIu64 ",\"buffer\":%zu,\"sockbuf\":%d"
               ",\"seconds\":%.6f,\"mib_s\":%.3f}\n",
               got, bufsize, sockbuf, secs, (double)got / 1048576.0 / (secs > 0 ? secs : 1e-9));
        return 0;
}
