/*
 * principal.c: role names and the ownership rules of principal.h.
 */
#include <string.h>

#include "model/principal.h"

static const char *const role_names[] = {"anonymous", "reader", "contributor",
                                         "admin"};

bool bp_role_parse(const char *text, enum bp_role *out)
{
    for (int role = BP_ROLE_READER; role <= BP_ROLE_ADMIN; role++) {
        if (text != NULL && strcmp(text, role_names[role]) == 0) {
            *out = (enum bp_role)role;
            return true;
        }
    }
    return false;
}

const char *bp_role_name(enum bp_role role)
{
    if (role < BP_ROLE_ANONYMOUS || role > BP_ROLE_ADMIN)
        return "unknown";
    return role_names[role];
}

bool bp_principal_owns(const struct bp_principal *principal, const char *owner)
{
    return principal->id[0] != '\0' && owner != NULL && owner[0] != '\0' &&
           strcmp(principal->id, owner) == 0;
}

bool bp_principal_may_create(const struct bp_principal *principal)
{
    return principal->role >= BP_ROLE_CONTRIBUTOR;
}

bool bp_principal_may_change(const struct bp_principal *principal,
                             const char *owner)
{
    if (principal->role == BP_ROLE_ADMIN)
        return true;
    return principal->role == BP_ROLE_CONTRIBUTOR &&
           bp_principal_owns(principal, owner);
}

bool bp_principal_sees_private(const struct bp_principal *principal,
                               const char *owner)
{
    return principal->role == BP_ROLE_ADMIN ||
           (principal->role >= BP_ROLE_READER &&
            bp_principal_owns(principal, owner));
}
