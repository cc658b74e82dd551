/*
 * principal.h: who is making a request (nobody, a token's subject or an
 * API key), the role it holds, and the pure rules of what a role may do
 * to a record that has an owner. The api layer finds the principal; the
 * rules here only compare.
 */
#ifndef BP_PRINCIPAL_H
#define BP_PRINCIPAL_H

#include <stdbool.h>

/*
 * Longest principal id in bytes: a token's "sub", or "key:" and an API
 * key's id (no token's sub may start with "key:", so the two never
 * meet).
 */
#define BP_PRINCIPAL_ID_MAX 255
#define BP_PRINCIPAL_KEY_PREFIX "key:"

/* Roles, weakest first: each may do what the ones before it may. */
enum bp_role {
    BP_ROLE_ANONYMOUS = 0, /* no credential came */
    BP_ROLE_READER,        /* may read */
    BP_ROLE_CONTRIBUTOR,   /* may create, and change what it owns */
    BP_ROLE_ADMIN,         /* may change everything */
};

struct bp_principal {
    enum bp_role role;
    /* The token's "sub" or "key:<id>"; "" when anonymous. */
    char id[BP_PRINCIPAL_ID_MAX + 1];
    /* "jwt" or "key"; "" when anonymous (for the logs). */
    const char *kind;
};

/*
 * Parses "reader", "contributor" or "admin" into *out. Returns false
 * (and leaves *out) for anything else.
 */
bool bp_role_parse(const char *text, enum bp_role *out);

/* Returns the name of role ("anonymous", "reader", ...). */
const char *bp_role_name(enum bp_role role);

/* Returns true when principal is owner ("" owner: nobody owns it). */
bool bp_principal_owns(const struct bp_principal *principal, const char *owner);

/* Returns true when principal may create groups and images. */
bool bp_principal_may_create(const struct bp_principal *principal);

/*
 * Returns true when principal may change or delete a record of owner:
 * an admin always, a contributor when it owns the record. A record
 * without an owner (made before owners were kept) is an admin's.
 */
bool bp_principal_may_change(const struct bp_principal *principal,
                             const char *owner);

/*
 * Returns true when principal sees a record of owner as uploaded, GPS
 * included: its owner and admins.
 */
bool bp_principal_sees_private(const struct bp_principal *principal,
                               const char *owner);

#endif
