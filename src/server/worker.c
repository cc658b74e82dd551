/*
 * worker.c: the worker loop. The worker waits with poll() on the
 * listening socket and on a signalfd, accepts connections itself (the
 * socket is non-blocking, so a sibling winning the race costs nothing)
 * and hands each one to libfcgi. Signals are only ever read from the
 * signalfd, so a stop request never interrupts a request in progress and
 * never slips in just before a blocking accept(). Between requests the
 * poll times out for the application's periodic work (expiring uploads).
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

/* Returns 1 when a signal read from sfd asks the worker to stop. */
static int stop_requested(int sfd)
{
    struct signalfd_siginfo info;
    int stop = 0;
    while (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT ||
            info.ssi_signo == SIGUSR1)
            stop = 1;
    }
    return stop;
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

/* Serves the FastCGI request on the accepted connection fd. */
static void serve_connection(struct bp_ctx *ctx, FCGX_Request *request, int fd)
{
    request->ipcFd = fd;
    /* FCGX_Accept_r first finishes the previous request and would close a
     * connection it was not told to keep; the begin record then sets
     * keepConnection from the web server's flags. */
    request->keepConnection = 1;
    if (FCGX_Accept_r(request) < 0) {
        /* A connection that sent no valid request: libfcgi has closed it
         * and tried its own accept on the (non-blocking) listening
         * socket, which found nothing or failed. */
        return;
    }
    bp_transport_fcgi_serve(ctx, request);
    /* One request per connection: the pool's sockets are never kept. */
    request->keepConnection = 0;
    FCGX_Finish_r(request);
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
    FCGX_InitRequest(&request, listen_fd, 0);
    long served = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = listen_fd, .events = POLLIN},
                                {.fd = sfd, .events = POLLIN}};
        if (poll(fds, 2, bp_app_maintain(&ctx)) < 0) {
            if (errno == EINTR)
                continue;
            perror("bandpics: poll");
            break;
        }
        if ((fds[1].revents & POLLIN) && stop_requested(sfd))
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept_connection(listen_fd, cfg->io_timeout_s);
        if (fd < 0)
            continue;
        serve_connection(&ctx, &request, fd);
        /* A stop asked for meanwhile is seen by the next poll, before
         * any other connection is taken. */
        if (supervised && cfg->max_requests > 0 &&
            ++served >= cfg->max_requests)
            break;
    }
    FCGX_Free(&request, 1);
    bp_app_close(&ctx);
    close(sfd);
    return 0;
}
