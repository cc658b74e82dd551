/*
 * image_child.c: the decoder process (image_child.h). The worker sends
 * one job (paths and limits) over a SOCK_SEQPACKET pair, the decoder
 * runs bp_image_process and answers with the result (code, metadata,
 * detail); the worker waits for it within the wall-clock limit and turns
 * the decoder's death into a client error.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>
#include <sys/syscall.h>

#include "crash_point.h"
#include "log.h"
#include "media/image_child.h"
#include "temp_files.h"

/* What the worker asks for. */
struct job {
    char path[PATH_MAX], fullsize_path[PATH_MAX], thumb_path[PATH_MAX];
    struct bp_image_limits limits;
    long cpu_s;
};

/* What the decoder answers. */
struct result {
    enum bp_rc rc;
    struct bp_image_meta meta;
    struct bp_error err;
};

/* The decoder's end of the pair, after every other descriptor closed. */
#define DECODER_FD 3

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The decoder pid's ImageMagick cache directory in tmp_dir, into out. */
static void decoder_cache_dir(const char *tmp_dir, pid_t pid,
                              char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/p%ld-magick", tmp_dir, (long)pid);
}

/* The address space mapped now (/proc/self/statm's first field). */
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

/* CPU seconds this process has used so far. */
static long cpu_used_s(void)
{
    struct rusage use;
    if (getrusage(RUSAGE_SELF, &use) != 0)
        return 0;
    return (long)(use.ru_utime.tv_sec + use.ru_stime.tv_sec) + 1;
}

static void set_limit(int resource, long value)
{
    struct rlimit lim = {.rlim_cur = (rlim_t)value, .rlim_max = RLIM_INFINITY};
    if (getrlimit(resource, &lim) == 0)
        lim.rlim_cur = (rlim_t)value;
    setrlimit(resource, &lim);
}

/* Adds a rule that fails syscall with EPERM; false when it cannot. */
static bool deny(scmp_filter_ctx filter, int syscall, unsigned count,
                 const struct scmp_arg_cmp *args)
{
    return seccomp_rule_add_array(filter, SCMP_ACT_ERRNO(EPERM), syscall, count,
                                  args) == 0;
}

/*
 * Landlock: the decoder may create files (and directories, links, ...)
 * only beneath tmp_dir, where ImageMagick puts its pixel cache past
 * Debian's 256 MiB memory policy; reading and writing existing files is
 * not restricted. Returns 1 when it is on, 0 when the kernel has no
 * Landlock (logged by the caller), -1 on failure.
 */
static int confine_files(const char *tmp_dir)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
                       LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return 0;
    const __u64 making =
        LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
        LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
        LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
        LANDLOCK_ACCESS_FS_MAKE_SYM;
    struct landlock_ruleset_attr ruleset = {.handled_access_fs = making};
    int rules =
        (int)syscall(SYS_landlock_create_ruleset, &ruleset, sizeof(ruleset), 0);
    if (rules < 0)
        return -1;
    int dir = open(tmp_dir, O_PATH | O_CLOEXEC);
    struct landlock_path_beneath_attr beneath = {
        .allowed_access = LANDLOCK_ACCESS_FS_MAKE_REG, .parent_fd = dir};
    int rc = dir >= 0 &&
                     syscall(SYS_landlock_add_rule, rules,
                             LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) == 0 &&
                     prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
                     syscall(SYS_landlock_restrict_self, rules, 0) == 0
                 ? 1
                 : -1;
    if (dir >= 0)
        close(dir);
    close(rules);
    return rc;
}

/*
 * The decoder's seccomp filter: no network (no new socket, connect,
 * bind, listen, accept), no exec, no new process (clone only for
 * threads), no ptrace; everything else as before (file creation is
 * Landlock's, above). The job's outputs are made by the worker. Returns
 * 0 when it is on.
 */
static int confine(void)
{
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (filter == NULL)
        return -1;
    static const int denied[] = {
        SCMP_SYS(socket),  SCMP_SYS(socketpair), SCMP_SYS(connect),
        SCMP_SYS(bind),    SCMP_SYS(listen),     SCMP_SYS(accept),
        SCMP_SYS(accept4), SCMP_SYS(execve),     SCMP_SYS(execveat),
        SCMP_SYS(fork),    SCMP_SYS(vfork),      SCMP_SYS(ptrace),
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        ok = ok && deny(filter, denied[i], 0, NULL);
    /* clone for a thread only; clone3 hides its flags: glibc then falls
     * back to clone. */
    struct scmp_arg_cmp not_thread =
        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
    ok = ok && deny(filter, SCMP_SYS(clone), 1, &not_thread) &&
         seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
                          0) == 0;
    int rc = ok ? seccomp_load(filter) : -1;
    seccomp_release(filter);
    return rc;
}

/* The decoder process: jobs until the worker goes away. */
static void serve_jobs(const char *tmp_dir, long memory_bytes)
{
    /* Gone with the worker, whatever it was doing. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (memory_bytes > 0)
        set_limit(RLIMIT_AS, mapped_bytes() + memory_bytes);
    /* ImageMagick's temporary files (its pixel cache past the memory
     * policy) go in a directory named by this process, which the worker
     * removes when it ends the decoder and a sweep removes once this
     * process is gone; the decoder may create files only there. */
    char cache_dir[PATH_MAX];
    decoder_cache_dir(tmp_dir, getpid(), cache_dir);
    if (mkdir(cache_dir, 0700) != 0 && errno != EEXIST)
        _exit(1);
    setenv("MAGICK_TEMPORARY_PATH", cache_dir, 1);
    int files = confine_files(cache_dir);
    if (files == 0)
        fprintf(stderr, "bandpics: decoder: this kernel has no Landlock: it "
                        "may create files anywhere it may write\n");
    if (files < 0) {
        fprintf(stderr, "bandpics: decoder: Landlock failed: %s\n",
                strerror(errno));
        _exit(1);
    }
    if (confine() != 0) {
        fprintf(stderr, "bandpics: decoder: no seccomp filter: %s\n",
                strerror(errno));
        _exit(1);
    }
    for (;;) {
        struct job job;
        ssize_t got = recv(DECODER_FD, &job, sizeof(job), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != (ssize_t)sizeof(job))
            _exit(0);
        /* RLIMIT_CPU counts the whole process: this image's share. */
        if (job.cpu_s > 0)
            set_limit(RLIMIT_CPU, cpu_used_s() + job.cpu_s);
        bp_crash_point("decode:crash");
        bp_stall_point("decode:stall");
        bp_sandbox_probe(job.thumb_path);
        struct result result;
        memset(&result, 0, sizeof(result));
        result.rc = bp_image_process(job.path, &job.limits, job.fullsize_path,
                                     job.thumb_path, &result.meta, &result.err);
        while (send(DECODER_FD, &result, sizeof(result), MSG_NOSIGNAL) < 0 &&
               errno == EINTR)
            ;
    }
}

void bp_image_child_init(struct bp_image_child *child)
{
    child->pid = 0;
    child->fd = -1;
    child->cache_dir[0] = '\0';
}

void bp_image_child_close(struct bp_image_child *child)
{
    if (child->fd >= 0)
        close(child->fd);
    if (child->pid > 0) {
        kill(child->pid, SIGKILL);
        while (waitpid(child->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        bp_temp_remove_dir(child->cache_dir);
    }
    bp_image_child_init(child);
}

/* Forks the decoder process. */
static enum bp_rc start(struct bp_image_child *child, const char *tmp_dir,
                        long memory_bytes, struct bp_error *err)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return bp_error_set(err, BP_EINTERNAL, "socketpair: %s",
                            strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pair[0]);
        close(pair[1]);
        return bp_error_set(err, BP_EINTERNAL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Nothing of the worker's but its log (stdout, stderr): a kept
         * web server connection held here would never close. */
        if (dup2(pair[1], DECODER_FD) != DECODER_FD)
            _exit(1);
        close_range(DECODER_FD + 1, ~0U, 0);
        serve_jobs(tmp_dir, memory_bytes);
        _exit(0);
    }
    close(pair[1]);
    child->pid = pid;
    child->fd = pair[0];
    decoder_cache_dir(tmp_dir, pid, child->cache_dir);
    return BP_OK;
}

/* Reads the result within the deadline (0: none); 0 when it came. */
static int await_result(int fd, double deadline, struct result *out)
{
    for (;;) {
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
        ssize_t got = recv(fd, out, sizeof(*out), 0);
        if (got < 0 && errno == EINTR)
            continue;
        return got == (ssize_t)sizeof(*out) ? 0 : -1;
    }
}

/* Ends a decoder that failed or overran; the error for its request. */
static enum bp_rc decoder_failed(struct bp_image_child *child,
                                 const struct bp_image_child_limits *lim,
                                 bool overran, struct bp_error *err)
{
    if (overran)
        kill(child->pid, SIGKILL);
    int status = 0;
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(child->fd);
    /* Its ImageMagick cache files (hundreds of MB for a large image). */
    bp_temp_remove_dir(child->cache_dir);
    bp_log_warn("image decoder %d %s; a new one starts with the next image",
                (int)child->pid,
                overran               ? "overran its time"
                : WIFSIGNALED(status) ? "was killed"
                                      : "exited");
    bp_image_child_init(child);
    if (overran)
        return bp_error_set(err, BP_ETOOBIG,
                            "Image takes too long to decode (over %ld s)",
                            lim->wall_s);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
        return bp_error_set(err, BP_ETOOBIG,
                            "Image takes too long to decode (over %ld s of "
                            "CPU)",
                            lim->cpu_s);
    return bp_error_set(err, BP_EINVAL,
                        "Image could not be decoded (the decoder %s)",
                        WIFSIGNALED(status) ? "crashed" : "failed");
}

enum bp_rc
bp_image_process_in_child(struct bp_image_child *child, const char *path,
                          const struct bp_image_limits *limits,
                          const struct bp_image_child_limits *child_limits,
                          const char *fullsize_path, const char *thumb_path,
                          struct bp_image_meta *meta, struct bp_error *err)
{
    struct job job;
    memset(&job, 0, sizeof(job));
    if (snprintf(job.path, sizeof(job.path), "%s", path) >=
            (int)sizeof(job.path) ||
        snprintf(job.fullsize_path, sizeof(job.fullsize_path), "%s",
                 fullsize_path) >= (int)sizeof(job.fullsize_path) ||
        snprintf(job.thumb_path, sizeof(job.thumb_path), "%s", thumb_path) >=
            (int)sizeof(job.thumb_path))
        return bp_error_set(err, BP_EINTERNAL, "path too long");
    job.limits = *limits;
    job.limits.outputs_exist = true;
    job.cpu_s = child_limits->cpu_s;
    /* The decoder may create no file: its outputs are made here. */
    for (int k = 0; k < 2; k++) {
        const char *out = k == 0 ? fullsize_path : thumb_path;
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0 || close(fd) != 0) {
            enum bp_rc failed = bp_rc_for_write_errno(errno, BP_EIO);
            if (k == 1)
                unlink(fullsize_path);
            return bp_error_set(err, failed, "Cannot write a gallery image");
        }
    }
    enum bp_rc rc = BP_OK;
    if (child->pid == 0)
        rc = start(child, child_limits->tmp_dir, child_limits->memory_bytes,
                   err);
    if (rc != BP_OK) {
        unlink(fullsize_path);
        unlink(thumb_path);
        return rc;
    }
    double deadline = child_limits->wall_s > 0
                          ? monotonic_s() + (double)child_limits->wall_s
                          : 0;
    struct result result;
    memset(&result, 0, sizeof(result));
    bool sent = send(child->fd, &job, sizeof(job), MSG_NOSIGNAL) ==
                (ssize_t)sizeof(job);
    if (!sent || await_result(child->fd, deadline, &result) != 0) {
        bool overran = sent && deadline > 0 && monotonic_s() >= deadline;
        rc = decoder_failed(child, child_limits, overran, err);
    } else if (result.rc == BP_OK) {
        *meta = result.meta;
    } else if (result.rc == BP_ENOMEM || result.rc == BP_EINTERNAL) {
        /* Out of memory, or ImageMagick failing for want of it: under
         * decode_memory_bytes nothing else fails that way. */
        rc = bp_error_set(err, BP_ETOOBIG,
                          "Image is too large to decode within the "
                          "decoder's limits (decode_memory_bytes)");
    } else {
        rc = result.rc;
        *err = result.err;
    }
    if (rc != BP_OK) {
        unlink(fullsize_path);
        unlink(thumb_path);
    }
    return rc;
}
