/*
 * crash_point.c: the test builds' crash points (crash_point.h).
 */
#ifdef BP_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_point.h"

void bp_crash_point(const char *name)
{
    const char *wanted = getenv("BANDPICS_CRASH_AT");
    if (wanted != NULL && strcmp(wanted, name) == 0)
        raise(SIGKILL);
}

/* "ALLOWED" for a call that succeeded (result >= 0), else errno's name. */
static const char *outcome(long result)
{
    if (result >= 0)
        return "ALLOWED";
    return errno == EPERM    ? "EPERM"
           : errno == EACCES ? "EACCES"
           : errno == ENOSYS ? "ENOSYS"
                             : "other";
}

void bp_sandbox_probe(const char *near_path)
{
    if (getenv("BANDPICS_PROBE_SANDBOX") == NULL)
        return;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const char *sock = outcome(fd);
    if (fd >= 0)
        close(fd);
    /* In ImageMagick's temporary directory (MAGICK_TEMPORARY_PATH, the
     * decoder's cache), and beside near_path. */
    const char *create[2];
    const char *cache = getenv("MAGICK_TEMPORARY_PATH");
    for (int k = 0; k < 2; k++) {
        char path[4200];
        if (k == 0)
            snprintf(path, sizeof(path), "%s/probe-%d", cache ? cache : ".",
                     (int)getpid());
        else
            snprintf(path, sizeof(path), "%s.probe", near_path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        create[k] = outcome(fd);
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
    }
    char name[] = "true";
    char *const argv[] = {name, NULL};
    const char *exec = outcome(execve("/bin/true", argv, environ));
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    const char *spawned = outcome(pid);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    fprintf(stderr,
            "sandbox probe: socket=%s create_cache=%s create_elsewhere=%s "
            "exec=%s fork=%s\n",
            sock, create[0], create[1], exec, spawned);
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
