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

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
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
 * Serves one FastCGI request on the connection fd, counting it in
 * *served. Returns fd when the web server keeps the connection open for
 * further requests (FCGI_KEEP_CONN), -1 when it is closed: by the
 * server, or after a failed request.
 */
static int serve_connection(struct bp_ctx *ctx, FCGX_Request *request, int fd,
                            long *served)
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
    FCGX_Finish_r(request);
    return request->ipcFd;
}

/*
 * The connections a worker holds: the web server (nginx with
 * fastcgi_keep_conn and an upstream keepalive) sends further requests on
 * them, so no accept, socket set-up or close is paid per request. At
 * most KEPT_MAX; the worker accepts no new connection while it holds
 * that many.
 */
enum { KEPT_MAX = 64 };

struct kept_connections {
    int fd[KEPT_MAX];
    size_t count;
};

static void kept_close_all(struct kept_connections *kept)
{
    for (size_t i = 0; i < kept->count; i++)
        close(kept->fd[i]);
    kept->count = 0;
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

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
    FCGX_Init();
    FCGX_Request request;
    /* Connections are accepted here, never by libfcgi (no listening
     * socket of its own). */
    FCGX_InitRequest(&request, -1, 0);
    struct kept_connections kept = {.count = 0};
    long served = 0;
    /* Draining (a reload, or the quota served): no new connection is
     * accepted; those the web server keeps are served until it closes
     * them, or until drain_until on the monotonic clock. */
    double drain_until = 0;
    for (;;) {
        bool draining = drain_until > 0;
        if (draining && (kept.count == 0 || monotonic_s() >= drain_until))
            break;
        struct pollfd fds[2 + KEPT_MAX];
        size_t nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        bool accepting = !draining && kept.count < KEPT_MAX;
        fds[nfds++] =
            (struct pollfd){.fd = accepting ? listen_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < kept.count; i++)
            fds[nfds++] = (struct pollfd){.fd = kept.fd[i], .events = POLLIN};
        int timeout_ms = bp_app_maintain(&ctx);
        if (draining) {
            int left_ms = (int)((drain_until - monotonic_s()) * 1000.0) + 1;
            if (timeout_ms < 0 || left_ms < timeout_ms)
                timeout_ms = left_ms;
        }
        if (poll(fds, (nfds_t)nfds, timeout_ms) < 0) {
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
        /* Requests on kept connections first, then a new connection.
         * Entries are taken from the poll set, since serving changes the
         * kept list. */
        struct kept_connections still = {.count = 0};
        for (size_t i = 2; i < nfds; i++) {
            int fd = fds[i].fd;
            if (fds[i].revents != 0)
                fd = serve_connection(&ctx, &request, fd, &served);
            if (fd >= 0)
                still.fd[still.count++] = fd;
        }
        kept = still;
        if (accepting && (fds[1].revents & POLLIN) && drain_until == 0) {
            int fd = accept_connection(listen_fd, cfg->io_timeout_s);
            if (fd >= 0)
                fd = serve_connection(&ctx, &request, fd, &served);
            if (fd >= 0)
                kept.fd[kept.count++] = fd;
        }
        /* The quota served: the master starts a replacement now, while
         * this worker finishes the connections it holds. */
        if (supervised && cfg->max_requests > 0 &&
            served >= cfg->max_requests && drain_until == 0) {
            kill(getppid(), SIGUSR2);
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
