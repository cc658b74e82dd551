/*
 * listen.c: Unix and TCP listening sockets for the worker pool.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/listen.h"

#define BACKLOG 1024

/* Returns 1 when something accepts connections at the Unix address. */
static int socket_in_use(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int in_use = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
    close(fd);
    return in_use;
}

static enum bp_rc open_unix(const char *path, int *out, struct bp_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path) || path[0] == '\0')
        return bp_error_set(err, BP_EINVAL, "listen: bad socket path '%s'",
                            path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return bp_error_set(err, BP_EINVAL,
                                "listen: %s exists and is not a socket", path);
        if (socket_in_use(&addr))
            return bp_error_set(err, BP_EINVAL,
                                "listen: another server is listening on %s",
                                path);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return bp_error_set(err, BP_EIO, "listen: socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        chmod(path, 0660) != 0 || listen(fd, BACKLOG) != 0) {
        int saved = errno;
        close(fd);
        return bp_error_set(err, BP_EIO, "listen: %s: %s", path,
                            strerror(saved));
    }
    *out = fd;
    return BP_OK;
}

static enum bp_rc open_tcp(const char *address, int *out, struct bp_error *err)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || colon[1] == '\0')
        return bp_error_set(err, BP_EINVAL,
                            "listen: expected unix:/path or host:port, got "
                            "'%s'",
                            address);
    char host[256];
    size_t host_len = (size_t)(colon - address);
    if (host_len >= sizeof(host))
        return bp_error_set(err, BP_EINVAL, "listen: host name too long");
    memcpy(host, address, host_len);
    host[host_len] = '\0';
    /* "[::1]:9000" */
    char *h = host;
    if (h[0] == '[' && host_len > 2 && h[host_len - 1] == ']') {
        h[host_len - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int gai = getaddrinfo(h, colon + 1, &hints, &res);
    if (gai != 0)
        return bp_error_set(err, BP_EINVAL, "listen: %s: %s", address,
                            gai_strerror(gai));
    enum bp_rc rc =
        bp_error_set(err, BP_EIO, "listen: %s: no address", address);
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, BACKLOG) == 0) {
            *out = fd;
            rc = BP_OK;
            break;
        }
        rc = bp_error_set(err, BP_EIO, "listen: %s: %s", address,
                          strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

enum bp_rc bp_listen_open(const char *address, int *fd, struct bp_error *err)
{
    if (strncmp(address, "unix:", 5) == 0)
        return open_unix(address + 5, fd, err);
    return open_tcp(address, fd, err);
}

void bp_listen_cleanup(const char *address)
{
    if (strncmp(address, "unix:", 5) == 0)
        unlink(address + 5);
}
