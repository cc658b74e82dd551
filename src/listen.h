/*
 * listen.h: opening the pool's listening socket from an address in
 * configuration form: "unix:/path/to.sock" or "host:port".
 */
#ifndef BP_LISTEN_H
#define BP_LISTEN_H

#include "rc.h"

/*
 * Binds and listens on address. A stale Unix socket file is replaced; a
 * Unix socket is made accessible to all users (guard it with the mode
 * of its directory). On BP_OK *fd is the caller's to close.
 */
enum bp_rc bp_listen_open(const char *address, int *fd, struct bp_error *err);

/* Removes the socket file of a "unix:" address; others are ignored. */
void bp_listen_cleanup(const char *address);

#endif
