/*
 * worker.h: one FastCGI worker process: accepts connections on a
 * listening socket it shares with its siblings and serves them one at a
 * time until it is told to stop or has served its quota.
 */
#ifndef BP_WORKER_H
#define BP_WORKER_H

#include <stdbool.h>

#include "config.h"

/*
 * Serves FastCGI requests on listen_fd with the per-process state for
 * cfg, created here (so after any fork). Stops after the request in
 * progress on SIGTERM, SIGINT or SIGUSR1, or, when supervised (a pool
 * master starts another), after cfg->max_requests requests (0: no
 * limit); a worker started on fd 0 by spawn-fcgi or mod_fcgid has no
 * one to replace it and never retires itself. Returns the process exit
 * status: 0 on a normal stop, 1 when start-up failed.
 */
int bp_worker_run(const struct bp_config *cfg, int listen_fd, bool supervised);

/*
 * Blocks the signals that workers and the pool master take through a
 * signalfd, so none is lost between fork and the worker's start.
 */
void bp_worker_block_signals(void);

#endif
