/*
 * temp_files.c: owner-named temporary files and the sweep that removes
 * those of processes that are gone (temp_files.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "temp_files.h"

void bp_temp_prefix(char *out, size_t size)
{
    snprintf(out, size, "p%ld-", (long)getpid());
}

/* The owner pid named by a file's "p<pid>-" prefix, or 0 for none. */
static pid_t owner_of(const char *name)
{
    if (name[0] != 'p' || name[1] < '1' || name[1] > '9')
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(name + 1, &end, 10);
    if (errno != 0 || *end != '-' || pid <= 0 || pid > 0x3fffffff)
        return 0;
    return (pid_t)pid;
}

/* Whether process pid exists (EPERM: it does, under another account). */
static int alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

size_t bp_temp_sweep(const char *dir_path, long max_age_s)
{
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return 0;
    time_t cutoff = time(NULL) - max_age_s;
    size_t removed = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        pid_t owner = owner_of(entry->d_name);
        int orphaned = owner != 0 && owner != getpid() && !alive(owner);
        if ((orphaned || st.st_mtime < cutoff) &&
            unlinkat(dirfd(dir), entry->d_name, 0) == 0)
            removed++;
    }
    closedir(dir);
    return removed;
}
