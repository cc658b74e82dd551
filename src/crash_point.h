/*
 * crash_point.h: named points where a test build can kill its own
 * process (SIGKILL), to prove that every step of a write leaves data that
 * --gc brings back to wholly old or wholly new, and points where it
 * stalls for ever (a decoder that never ends). Only a build configured
 * with --enable-test-hooks has them; elsewhere they compile to nothing.
 */
#ifndef BP_CRASH_POINT_H
#define BP_CRASH_POINT_H

#ifdef BP_TEST_HOOKS
/* Kills the process when BANDPICS_CRASH_AT names this point. */
void bp_crash_point(const char *name);
/* Never returns when BANDPICS_STALL_AT names this point. */
void bp_stall_point(const char *name);
#else
static inline void bp_crash_point(const char *name)
{
    (void)name;
}
static inline void bp_stall_point(const char *name)
{
    (void)name;
}
#endif

#endif
