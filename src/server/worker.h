/*
 * worker.h: one FastCGI worker process: accepts connections on a
 * listening socket it shares with its siblings and serves their requests
 * one at a time until it is told to stop or has served its quota.
 */
#ifndef BP_WORKER_H
#define BP_WORKER_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"

/* What a pool worker that has served its quota sends its master (a
 * real-time signal: they queue, so none is lost). */
#define BP_WORKER_RETIRING_SIGNAL (SIGRTMIN + 1)

/*
 * Serves FastCGI requests on listen_fd with the per-process state for
 * cfg, created here (so after any fork), and on the connections the web
 * server keeps open (FCGI_KEEP_CONN). Stops after the request in
 * progress on SIGTERM or SIGINT, closing every connection. Drains on
 * SIGUSR1 or, when supervised (a pool master starts another), after
 * cfg->max_requests requests (0: no limit), telling the master with
 * BP_WORKER_RETIRING_SIGNAL: accepts no new connection and serves the
 * kept ones until the web server lets them go, for at most half of
 * cfg->graceful_timeout_s;
 * a worker started on fd 0 by spawn-fcgi or mod_fcgid has no one to
 * replace it and never retires itself. Returns the process exit status:
 * 0 on a normal stop, 1 when start-up failed.
 */
int bp_worker_run(const struct bp_config *cfg, int listen_fd, bool supervised);

/*
 * Blocks the signals that workers and the pool master take through a
 * signalfd, so none is lost between fork and the worker's start.
 */
void bp_worker_block_signals(void);

#endif
