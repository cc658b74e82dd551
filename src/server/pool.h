/*
 * pool.h: the pool master. It owns the listening socket, keeps the
 * configured number of workers alive, replaces them on SIGHUP with
 * workers that run a re-read configuration, and stops them gracefully
 * on SIGTERM or SIGINT.
 */
#ifndef BP_POOL_H
#define BP_POOL_H

#include "config.h"

/*
 * Runs the pool until it is told to stop: cfg->workers workers on
 * listen_fd and, when upload_fd is not -1, cfg->upload_workers workers on
 * upload_fd (the same program: the web server decides which requests go
 * where). cfg becomes the pool's (it is freed here); src says where a
 * reload reads from. Returns the process exit status.
 */
int bp_pool_run(const struct bp_config_source *src, struct bp_config *cfg,
                int listen_fd, int upload_fd);

#endif
