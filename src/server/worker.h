/*
 * worker.h: one FastCGI worker process: accepts connections on a
 * listening socket it shares with its siblings and serves their requests
 * one at a time until it is told to stop or has served its quota.
 */
#ifndef BP_WORKER_H
#define BP_WORKER_H

#include <stdbool.h>

#include "config.h"

/*
 * Serves FastCGI requests on listen_fd with the per-process state for
 * cfg, created here (so after any fork), and on the connections the web
 * server keeps open (FCGI_KEEP_CONN). Stops after the request in
 * progress on SIGTERM or SIGINT, closing every connection. Drains on
 * SIGUSR1 or, when supervised (a pool master starts another), after
 * cfg->max_requests requests (0: no limit), telling the master with
 * SIGUSR2: accepts no new connection and serves the kept ones until the
 * web server closes them, for at most half of cfg->graceful_timeout_s;
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
