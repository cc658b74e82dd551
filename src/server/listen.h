/*
 * listen.h: opening the pool's listening socket from an address in
 * configuration form: "unix:/path/to.sock" or "host:port".
 */
#ifndef BP_LISTEN_H
#define BP_LISTEN_H

#include "rc.h"

/*
 * Binds and listens on address. A stale Unix socket file is replaced, a
 * live one (another pool) is refused; a Unix socket gets mode 0660, so
 * the web server must run as the pool's user or group. On BP_OK *fd is the
 * caller's to close.
 */
enum bp_rc bp_listen_open(const char *address, int *fd, struct bp_error *err);

/* Removes the socket file of a "unix:" address; others are ignored. */
void bp_listen_cleanup(const char *address);

#endif
