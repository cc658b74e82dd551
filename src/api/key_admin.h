/*
 * key_admin.h: the API key tasks of the command line (--key-create,
 * --key-list, --key-revoke): each opens the configured store, does its
 * one thing and reports on the streams it is given.
 */
#ifndef BP_KEY_ADMIN_H
#define BP_KEY_ADMIN_H

#include <stdio.h>

#include "config.h"
#include "rc.h"

/*
 * Creates a key named name with role ("reader", "contributor" or
 * "admin") that expires after expires_days (0: never), stores its
 * record, and prints the key itself, once, as the only line on out;
 * what was made goes to info. BP_EINVAL for a bad name, role or day
 * count; the store's error otherwise (err says why).
 */
enum bp_rc bp_key_admin_create(const struct bp_config *cfg, const char *name,
                               const char *role, long expires_days, FILE *out,
                               FILE *info, struct bp_error *err);

/*
 * Prints every key on out, one per line: id, role, state (active,
 * revoked or expired), creation and expiry times, name. Never a secret.
 */
enum bp_rc bp_key_admin_list(const struct bp_config *cfg, FILE *out,
                             struct bp_error *err);

/*
 * Revokes the key with id, so that the next request that sends it is
 * refused, and prints what was revoked on out (or that it was revoked
 * already, and when). BP_ENOTFOUND for an unknown id.
 */
enum bp_rc bp_key_admin_revoke(const struct bp_config *cfg, const char *id,
                               FILE *out, struct bp_error *err);

#endif
