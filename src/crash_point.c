/*
 * crash_point.c: the test builds' crash points (crash_point.h).
 */
#ifdef BP_TEST_HOOKS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_point.h"

void bp_crash_point(const char *name)
{
    const char *wanted = getenv("BANDPICS_CRASH_AT");
    if (wanted != NULL && strcmp(wanted, name) == 0)
        raise(SIGKILL);
}

void bp_stall_point(const char *name)
{
    const char *wanted = getenv("BANDPICS_STALL_AT");
    if (wanted != NULL && strcmp(wanted, name) == 0)
        for (;;)
            pause();
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int bp_crash_points_are_off;
#endif
