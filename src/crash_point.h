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
/*
 * When BANDPICS_PROBE_SANDBOX is set: tries what a confined decoder must
 * not do (open a TCP socket, create a file beside near_path, exec, fork)
 * and what it may (create a file in MAGICK_TEMPORARY_PATH), and prints
 * one line "sandbox probe: socket=E create_cache=E create_elsewhere=E
 * exec=E fork=E" to stderr, each E the errno name of the refusal or
 * "ALLOWED".
 */
void bp_sandbox_probe(const char *near_path);
#else
static inline void bp_crash_point(const char *name)
{
    (void)name;
}
static inline void bp_stall_point(const char *name)
{
    (void)name;
}
static inline void bp_sandbox_probe(const char *near_path)
{
    (void)near_path;
}
#endif

#endif
