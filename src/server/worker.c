/*
 * worker.c: the worker loop. The worker waits with poll() on the
 * listening socket, on a signalfd and on the connections the web server
 * keeps open to it (FastCGI's FCGI_KEEP_CONN), accepts connections
 * itself (the socket is non-blocking, so a sibling winning the race costs
 * nothing) and hands each request to libfcgi. Signals are only ever read
 * from the signalfd, so a stop request never interrupts a request in
 * progress and never slips in just before a blocking accept(). Between
 * requests the poll times out for the application's periodic work
 * (expiring uploads).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api/app.h"
#include "log.h"
#include "server/transport.h"
#include "server/worker.h"
#include "temp_files.h"

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, BP_WORKER_RETIRING_SIGNAL);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

void bp_worker_block_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*
 * Returns 1 when the peer at addr may talk to us: Unix sockets always;
 * TCP peers when FCGI_WEB_SERVER_ADDRS (libfcgi's comma-separated list of
 * web server IPv4 addresses, honoured here as libfcgi's own accept does)
 * is unset or lists them.
 */
static int peer_allowed(const struct sockaddr_storage *addr)
{
    const char *allowed = getenv("FCGI_WEB_SERVER_ADDRS");
    if (allowed == NULL || addr->ss_family == AF_UNIX)
        return 1;
    if (addr->ss_family != AF_INET)
        return 0;
    char peer[INET_ADDRSTRLEN];
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    if (inet_ntop(AF_INET, &in->sin_addr, peer, sizeof(peer)) == NULL)
        return 0;
    size_t len = strlen(peer);
    for (const char *p = allowed; *p != '\0';) {
        size_t item = strcspn(p, ",");
        while (item > 0 && p[item - 1] == ' ')
            item--;
        if (item == len && strncmp(p, peer, len) == 0)
            return 1;
        p += strcspn(p, ",");
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

/*
 * Accepts one pending connection and gives it I/O timeouts, so that a
 * peer that goes silent cannot hold the worker. Returns -1 when none is
 * there (a sibling took it) or the peer is refused.
 */
static int accept_connection(int listen_fd, long timeout_s)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof(addr);
    int fd =
        accept4(listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_CLOEXEC);
    if (fd >= 0) {
        if (!peer_allowed(&addr)) {
            close(fd);
            return -1;
        }
        struct timeval tv = {.tv_sec = timeout_s};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        return fd;
    }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM) {
        bp_log_error("accept: %s", strerror(errno));
        usleep(100 * 1000);
    }
    return -1;
}

/*
 * Reads what is left of the request's body, so that the connection's
 * next request starts at a record boundary (a handler may answer without
 * reading the body; and the end-of-stream record may still be unread).
 * Returns false when more than limit bytes were left or the stream
 * failed: the connection is then not kept.
 */
static bool finish_reading(FCGX_Stream *in, long long limit)
{
    char chunk[16384];
    long long left_over = 0;
    for (;;) {
        int got = FCGX_GetStr(chunk, (int)sizeof(chunk), in);
        if (got <= 0)
            return FCGX_GetError(in) == 0;
        left_over += got;
        if (left_over > limit)
            return false;
    }
}

/*
 * Serves one FastCGI request on the connection fd, counting it in
 * *served. Returns fd when the web server keeps the connection open for
 * further requests (FCGI_KEEP_CONN) and keep is true, -1 when it is
 * closed: by the server, after a failed request, or because keep is
 * false.
 */
static int serve_connection(struct bp_ctx *ctx, FCGX_Request *request, int fd,
                            bool keep, long *served)
{
    request->ipcFd = fd;
    /* FCGX_Accept_r first finishes the previous request and would close a
     * connection it was not told to keep; the begin record then sets
     * keepConnection from the web server's flags. */
    request->keepConnection = 1;
    if (FCGX_Accept_r(request) < 0) {
        /* The peer closed the connection or sent no valid request:
         * libfcgi has closed it (and found no listening socket of its
         * own to accept on). */
        return -1;
    }
    bp_transport_fcgi_serve(ctx, request);
    (*served)++;
    if (request->keepConnection &&
        (!keep || !finish_reading(request->in,
                                  ctx->config->max_body_bytes + (1LL << 20))))
        request->keepConnection = 0;
    FCGX_Finish_r(request);
    return request->ipcFd;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The connections a worker holds: the web server (nginx with
 * fastcgi_keep_conn and an upstream keepalive) sends further requests on
 * them, so no accept, socket set-up or close is paid per request. At
 * most KEPT_MAX: past that, a new connection is served and closed. One
 * silent for io_timeout_s is closed (nginx drops its idle ones sooner:
 * keepalive_timeout).
 */
enum { KEPT_MAX = 64 };

struct kept_connections {
    int fd[KEPT_MAX];
    double last_used_s[KEPT_MAX]; /* monotonic_s() of its last request */
    size_t count;
};

static void kept_add(struct kept_connections *kept, int fd, double now)
{
    kept->fd[kept->count] = fd;
    kept->last_used_s[kept->count] = now;
    kept->count++;
}

static void kept_close_all(struct kept_connections *kept)
{
    for (size_t i = 0; i < kept->count; i++)
        close(kept->fd[i]);
    kept->count = 0;
}

/*
 * Serves every kept connection that has a request waiting, within
 * timeout_ms; keep false closes each after its answer. Connections idle
 * past idle_s are closed.
 */
static void serve_kept(struct bp_ctx *ctx, FCGX_Request *request,
                       struct kept_connections *kept,
                       const struct pollfd *polled, bool keep, double idle_s,
                       long *served)
{
    struct kept_connections still = {.count = 0};
    double now = monotonic_s();
    for (size_t i = 0; i < kept->count; i++) {
        int fd = kept->fd[i];
        double last = kept->last_used_s[i];
        if (polled[i].revents != 0) {
            fd = serve_connection(ctx, request, fd, keep, served);
            last = now = monotonic_s();
        } else if (now - last > idle_s) {
            close(fd);
            fd = -1;
        }
        if (fd >= 0) {
            still.fd[still.count] = fd;
            still.last_used_s[still.count++] = last;
        }
    }
    *kept = still;
}

/* What the signals read from the signalfd ask for. */
enum stop_request { RUN_ON, DRAIN, STOP_NOW };

static enum stop_request read_stop_request(int sfd)
{
    struct signalfd_siginfo info;
    enum stop_request wanted = RUN_ON;
    while (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
            wanted = STOP_NOW;
        else if (info.ssi_signo == SIGUSR1 && wanted == RUN_ON)
            wanted = DRAIN;
    }
    return wanted;
}

int bp_worker_run(const struct bp_config *cfg, int listen_fd, bool supervised)
{
    sigset_t set;
    stop_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        perror("bandpics: signalfd");
        return 1;
    }
    int flags = fcntl(listen_fd, F_GETFL);
    if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        perror("bandpics: listening socket");
        close(sfd);
        return 1;
    }
    struct bp_ctx ctx;
    struct bp_error err = {{0}};
    if (bp_app_open(&ctx, cfg, &err) != BP_OK) {
        bp_log_error("worker start-up failed: %s", err.detail);
        close(sfd);
        return 1;
    }
    /* What killed workers left behind, at any age (no request lives an
     * hour, which covers a pid taken again). */
    bp_temp_sweep(ctx.tmp_dir, 3600, false);
    FCGX_Init();
    FCGX_Request request;
    /* Connections are accepted here, never by libfcgi (no listening
     * socket of its own). */
    FCGX_InitRequest(&request, -1, 0);
    struct kept_connections kept = {.count = 0};
    long served = 0;
    double idle_s = (double)cfg->io_timeout_s;
    /* Draining (a reload, or the quota served): no new connection is
     * accepted; the kept ones are served until the web server lets them
     * go (nginx: keepalive_requests, keepalive_timeout), since closing
     * one itself could race a request nginx is sending on it. At
     * drain_until (monotonic) the requests already waiting are served
     * and the rest closed. */
    double drain_until = 0;
    for (;;) {
        bool draining = drain_until > 0;
        if (draining && kept.count == 0)
            break;
        struct pollfd fds[2 + KEPT_MAX];
        fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        fds[1] =
            (struct pollfd){.fd = draining ? -1 : listen_fd, .events = POLLIN};
        for (size_t i = 0; i < kept.count; i++)
            fds[2 + i] = (struct pollfd){.fd = kept.fd[i], .events = POLLIN};
        int timeout_ms = bp_app_maintain(&ctx);
        if (kept.count > 0 && (timeout_ms < 0 || timeout_ms > 1000))
            timeout_ms = 1000; /* to close connections gone idle */
        bool last_round = false;
        if (draining) {
            double left_s = drain_until - monotonic_s();
            last_round = left_s <= 0;
            int left_ms = last_round ? 0 : (int)(left_s * 1000.0) + 1;
            if (timeout_ms < 0 || left_ms < timeout_ms)
                timeout_ms = left_ms;
        }
        if (poll(fds, (nfds_t)(2 + kept.count), timeout_ms) < 0) {
            if (errno == EINTR)
                continue;
            perror("bandpics: poll");
            break;
        }
        if (fds[0].revents & POLLIN) {
            enum stop_request wanted = read_stop_request(sfd);
            if (wanted == STOP_NOW)
                break;
            if (wanted == DRAIN && !draining)
                drain_until =
                    monotonic_s() + (double)cfg->graceful_timeout_s / 2;
        }
        /* Requests on kept connections first, then a new connection. */
        serve_kept(&ctx, &request, &kept, fds + 2, !last_round, idle_s,
                   &served);
        if (last_round)
            break;
        if (!draining && (fds[1].revents & POLLIN)) {
            int fd = accept_connection(listen_fd, cfg->io_timeout_s);
            if (fd >= 0)
                fd = serve_connection(&ctx, &request, fd, kept.count < KEPT_MAX,
                                      &served);
            if (fd >= 0)
                kept_add(&kept, fd, monotonic_s());
        }
        /* The quota served: the master starts a replacement now (a
         * queued signal, so that two workers retiring at once are both
         * seen), while this worker finishes the connections it holds. */
        if (supervised && cfg->max_requests > 0 &&
            served >= cfg->max_requests && drain_until == 0) {
            sigqueue(getppid(), BP_WORKER_RETIRING_SIGNAL,
                     (union sigval){.sival_int = 0});
            drain_until = monotonic_s() + (double)cfg->graceful_timeout_s / 2;
        }
    }
    kept_close_all(&kept);
    request.ipcFd = -1;
    FCGX_Free(&request, 1);
    bp_app_close(&ctx);
    close(sfd);
    return 0;
}
