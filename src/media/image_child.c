/*
 * image_child.c: image processing in a child process with resource
 * limits (image_child.h). The child runs bp_image_process and writes its
 * result (code, metadata, detail) to a pipe; the parent waits for it
 * within the wall-clock limit and turns a death into a client error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_point.h"
#include "media/image_child.h"

/* What the child sends back. */
struct child_result {
    enum bp_rc rc;
    struct bp_image_meta meta;
    struct bp_error err;
};

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_limit(int resource, long value)
{
    if (value <= 0)
        return;
    struct rlimit lim = {.rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value};
    setrlimit(resource, &lim);
}

/*
 * The address space mapped now (/proc/self/statm's first field), to which
 * the child's memory allowance is added: libraries and the worker's own
 * state count against RLIMIT_AS too.
 */
static long mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    long pages = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

/* The child: limits, the work, the result on fd, and out. */
static void run_child(int fd, const char *path,
                      const struct bp_image_limits *limits,
                      const struct bp_image_child_limits *child_limits,
                      const char *fullsize_path, const char *thumb_path)
{
    /* Gone with the worker, whatever it was doing. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (child_limits->memory_bytes > 0)
        set_limit(RLIMIT_AS, mapped_bytes() + child_limits->memory_bytes);
    set_limit(RLIMIT_CPU, child_limits->cpu_s);
    bp_crash_point("decode:crash");
    bp_stall_point("decode:stall");
    struct child_result result;
    memset(&result, 0, sizeof(result));
    result.rc = bp_image_process(path, limits, fullsize_path, thumb_path,
                                 &result.meta, &result.err);
    const char *p = (const char *)&result;
    size_t left = sizeof(result);
    while (left > 0) {
        ssize_t put = write(fd, p, left);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            break;
        p += put;
        left -= (size_t)put;
    }
    _exit(0);
}

/* Reads the child's result from fd within the deadline (0: none). */
static int read_result(int fd, double deadline, struct child_result *out)
{
    char *p = (char *)out;
    size_t got = 0;
    while (got < sizeof(*out)) {
        int timeout_ms = -1;
        if (deadline > 0) {
            double left = deadline - monotonic_s();
            if (left <= 0)
                return -1;
            timeout_ms = (int)(left * 1000.0) + 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, timeout_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return -1;
        ssize_t n = read(fd, p + got, sizeof(*out) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

enum bp_rc bp_image_process_in_child(
    const char *path, const struct bp_image_limits *limits,
    const struct bp_image_child_limits *child_limits, const char *fullsize_path,
    const char *thumb_path, struct bp_image_meta *meta, struct bp_error *err)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return bp_error_set(err, BP_EINTERNAL, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return bp_error_set(err, BP_EINTERNAL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        run_child(pipe_fds[1], path, limits, child_limits, fullsize_path,
                  thumb_path);
    }
    close(pipe_fds[1]);
    double deadline = child_limits->wall_s > 0
                          ? monotonic_s() + (double)child_limits->wall_s
                          : 0;
    struct child_result result;
    memset(&result, 0, sizeof(result));
    int answered = read_result(pipe_fds[0], deadline, &result);
    close(pipe_fds[0]);
    if (answered != 0)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    enum bp_rc rc;
    if (answered == 0) {
        rc = result.rc;
        if (rc == BP_OK)
            *meta = result.meta;
        else if (rc == BP_ENOMEM)
            rc = bp_error_set(err, BP_ETOOBIG,
                              "Image is too large to decode (over the "
                              "decoder's memory limit)");
        else
            *err = result.err;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
        rc = bp_error_set(err, BP_ETOOBIG,
                          "Image takes too long to decode (over %ld s of CPU)",
                          child_limits->cpu_s);
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
               deadline > 0 && monotonic_s() >= deadline) {
        rc = bp_error_set(err, BP_ETOOBIG,
                          "Image takes too long to decode (over %ld s)",
                          child_limits->wall_s);
    } else {
        rc = bp_error_set(err, BP_EINVAL,
                          "Image could not be decoded (the decoder %s)",
                          WIFSIGNALED(status) ? "crashed" : "failed");
    }
    if (rc != BP_OK) {
        unlink(fullsize_path);
        unlink(thumb_path);
    }
    return rc;
}
