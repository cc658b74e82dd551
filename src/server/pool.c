/*
 * pool.c: the master process of the worker pool: forking, reaping and
 * replacing workers (of two kinds: on the main socket and on the upload
 * socket), configuration reload and graceful shutdown. It only reads
 * signals from a signalfd, so its state changes in one loop.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "log.h"
#include "server/pool.h"
#include "server/worker.h"
#include "store/store.h"

/* The two kinds of worker: the same program on different sockets. */
enum kind { KIND_MAIN, KIND_UPLOAD, KIND_COUNT };

/* A worker the master knows about. */
struct child {
    pid_t pid;
    enum kind kind;
    int current;       /* 1: a slot of the current generation */
    double started;    /* monotonic seconds */
    double kill_after; /* draining: SIGKILL at this time; 0 while serving */
    int killed;        /* SIGKILL sent */
};

struct pool {
    struct bp_config cfg;
    const struct bp_config_source *src;
    int listen_fd[KIND_COUNT]; /* -1: no workers of that kind */
    struct child *children;
    size_t nchildren, cap;
    int stopping;
    double stop_deadline;
    double respawn_after; /* crash-loop back-off */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_current(const struct pool *pool, enum kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < pool->nchildren; i++)
        n += pool->children[i].current && pool->children[i].kind == kind;
    return n;
}

/* How many workers of kind the configuration asks for. */
static size_t wanted(const struct pool *pool, enum kind kind)
{
    if (pool->listen_fd[kind] < 0)
        return 0;
    return (size_t)(kind == KIND_MAIN ? pool->cfg.workers
                                      : pool->cfg.upload_workers);
}

/*
 * The scheduler's slice asked for by the workers that answer reads
 * (sched_attr.sched_runtime of a SCHED_OTHER task, Linux 6.12 and later;
 * earlier kernels ignore it): with a slice this short, a read worker
 * woken by a request preempts a task running out its longer slice (an
 * upload worker, nginx receiving a body) instead of waiting behind it.
 */
#define READ_SLICE_NS 100000ULL

/* struct sched_attr of <linux/sched/types.h>, which glibc does not wrap. */
struct sched_attr_v1 {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

/*
 * In a new worker of kind: upload workers run upload_nice nicer, so that
 * image processing yields the cores to reads; read workers ask for a
 * short slice. Neither failing stops the worker.
 */
static void set_cpu_priority(const struct bp_config *cfg, enum kind kind)
{
    if (kind == KIND_UPLOAD) {
        errno = 0;
        if (cfg->upload_nice > 0 && nice((int)cfg->upload_nice) == -1 &&
            errno != 0)
            bp_log_warn("upload worker: nice: %s", strerror(errno));
        return;
    }
    struct sched_attr_v1 attr = {.size = sizeof(attr),
                                 .sched_policy = SCHED_OTHER,
                                 .sched_nice = getpriority(PRIO_PROCESS, 0),
                                 .sched_runtime = READ_SLICE_NS};
    /* EINVAL or ENOSYS: a kernel without custom slices; nothing lost. */
    (void)syscall(SYS_sched_setattr, 0, &attr, 0);
}

/*
 * Forks one worker of kind for the current generation. Returns -1 on
 * failure.
 */
static int spawn(struct pool *pool, int signal_fd, enum kind kind)
{
    if (pool->nchildren == pool->cap) {
        size_t cap = pool->cap == 0 ? 8 : pool->cap * 2;
        struct child *grown = realloc(pool->children, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        pool->children = grown;
        pool->cap = cap;
    }
    fflush(NULL);
    pid_t master = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bandpics: fork");
        return -1;
    }
    if (pid == 0) {
        close(signal_fd);
        /* A master that dies (killed, out of memory) takes its workers
         * along, after their request in flight, so that a new pool can
         * take the socket at once. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
            _exit(0);
        set_cpu_priority(&pool->cfg, kind);
        int status = bp_worker_run(&pool->cfg, pool->listen_fd[kind], true);
        /* The worker's copy of the master's state goes with it. */
        free(pool->children);
        bp_config_free(&pool->cfg);
        mongoc_cleanup();
        exit(status);
    }
    pool->children[pool->nchildren++] = (struct child){
        .pid = pid, .kind = kind, .current = 1, .started = now_s()};
    return 0;
}

/* Starts workers until the current generation is complete. */
static void fill(struct pool *pool, int signal_fd)
{
    if (pool->stopping || now_s() < pool->respawn_after)
        return;
    for (enum kind kind = KIND_MAIN; kind < KIND_COUNT; kind++)
        while (count_current(pool, kind) < wanted(pool, kind))
            if (spawn(pool, signal_fd, kind) != 0)
                return;
}

/* Counts child out of the current generation: it stops, or finishes
 * the connections it holds, within the graceful timeout. */
static void retire(struct pool *pool, struct child *child)
{
    child->current = 0;
    child->kill_after = now_s() + (double)pool->cfg.graceful_timeout_s;
}

/* Asks child to drain (worker.h): no new connection, the kept ones
 * served until the web server closes them. */
static void drain(struct pool *pool, struct child *child)
{
    retire(pool, child);
    kill(child->pid, SIGUSR1);
}

/* A worker that has served its quota says so (BP_WORKER_RETIRING_SIGNAL)
 * as it starts draining, so that its replacement starts at once. */
static void note_retiring(struct pool *pool, pid_t pid)
{
    for (size_t i = 0; i < pool->nchildren; i++)
        if (pool->children[i].pid == pid && pool->children[i].current)
            retire(pool, &pool->children[i]);
}

/* Collects exited workers; notes crash loops. */
static void reap(struct pool *pool)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < pool->nchildren; i++) {
            struct child *c = &pool->children[i];
            if (c->pid != pid)
                continue;
            int failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            if (failed && !pool->stopping && c->current)
                bp_log_warn("worker %d %s %d; starting another", (int)pid,
                            WIFSIGNALED(status) ? "killed by signal"
                                                : "exited with status",
                            WIFSIGNALED(status) ? WTERMSIG(status)
                                                : WEXITSTATUS(status));
            if (failed && c->current && now_s() - c->started < 1.0)
                pool->respawn_after = now_s() + 1.0;
            pool->children[i] = pool->children[--pool->nchildren];
            break;
        }
    }
}

/* Re-reads the configuration and replaces every worker. */
static void reload(struct pool *pool, int signal_fd)
{
    struct bp_config fresh;
    struct bp_error err = {{0}};
    if (bp_config_load(&fresh, pool->src, &err) != BP_OK) {
        bp_log_warn("reload refused, keeping the running "
                    "configuration: %s",
                    err.detail);
        return;
    }
    enum bp_rc rc = bp_store_check(&fresh, &err);
    if (rc != BP_OK && rc != BP_EUNAVAILABLE) {
        bp_log_warn("reload refused, keeping the running "
                    "configuration: %s",
                    err.detail);
        bp_config_free(&fresh);
        return;
    }
    if (strcmp(fresh.listen, pool->cfg.listen) != 0 ||
        strcmp(fresh.upload_listen, pool->cfg.upload_listen) != 0)
        bp_log_warn("reload: a new listen or upload_listen address needs a "
                    "restart; keeping %s%s%s",
                    pool->cfg.listen, pool->cfg.upload_listen[0] ? " and " : "",
                    pool->cfg.upload_listen);
    bp_config_free(&pool->cfg);
    pool->cfg = fresh;
    for (size_t i = 0; i < pool->nchildren; i++)
        if (pool->children[i].current)
            drain(pool, &pool->children[i]);
    pool->respawn_after = 0;
    fill(pool, signal_fd);
    bp_log_info("reloaded; %zu new workers",
                wanted(pool, KIND_MAIN) + wanted(pool, KIND_UPLOAD));
}

static void begin_stop(struct pool *pool)
{
    if (pool->stopping)
        return;
    pool->stopping = 1;
    pool->stop_deadline = now_s() + (double)pool->cfg.graceful_timeout_s;
    for (size_t i = 0; i < pool->nchildren; i++)
        kill(pool->children[i].pid, SIGTERM);
}

/* Kills workers that overran their graceful stop. */
static void enforce_deadlines(struct pool *pool)
{
    double t = now_s();
    for (size_t i = 0; i < pool->nchildren; i++) {
        struct child *c = &pool->children[i];
        if (c->killed)
            continue;
        if ((pool->stopping && t >= pool->stop_deadline) ||
            (c->kill_after > 0 && t >= c->kill_after)) {
            c->killed = 1;
            bp_log_warn("worker %d did not stop in time", (int)c->pid);
            kill(c->pid, SIGKILL);
        }
    }
}

int bp_pool_run(const struct bp_config_source *src, struct bp_config *cfg,
                int listen_fd, int upload_fd)
{
    struct pool pool = {
        .cfg = *cfg, .src = src, .listen_fd = {listen_fd, upload_fd}};
    memset(cfg, 0, sizeof(*cfg));
    bp_worker_block_signals();
    sigset_t set;
    sigprocmask(SIG_BLOCK, NULL, &set);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        perror("bandpics: signalfd");
        bp_config_free(&pool.cfg);
        return 1;
    }
    char store_url[512];
    bp_config_redact_url(pool.cfg.database_url, store_url, sizeof(store_url));
    bp_log_info("pool of %ld workers on %s (store %s)", pool.cfg.workers,
                pool.cfg.listen, store_url);
    if (upload_fd >= 0)
        bp_log_info("and %ld upload worker(s) on %s", pool.cfg.upload_workers,
                    pool.cfg.upload_listen);
    fill(&pool, sfd);
    while (!pool.stopping || pool.nchildren > 0) {
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        int timeout_ms = pool.respawn_after > 0 || pool.stopping ? 200 : 1000;
        if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
            break;
        /* Read every pending signal first: a stop wins over a reload. */
        struct signalfd_siginfo info;
        int stop = 0, hup = 0;
        while (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
            stop |= info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT;
            hup |= info.ssi_signo == SIGHUP;
            if ((int)info.ssi_signo == BP_WORKER_RETIRING_SIGNAL)
                note_retiring(&pool, (pid_t)info.ssi_pid);
        }
        if (stop)
            begin_stop(&pool);
        else if (hup && !pool.stopping)
            reload(&pool, sfd);
        reap(&pool);
        enforce_deadlines(&pool);
        fill(&pool, sfd);
    }
    bp_log_info("pool stopped");
    close(sfd);
    free(pool.children);
    bp_config_free(&pool.cfg);
    return 0;
}
