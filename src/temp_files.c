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

/* Removes the directory name in dir and the files directly in it. */
static void remove_dir_at(int dir, const char *name)
{
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *inner = fd >= 0 ? fdopendir(fd) : NULL;
    if (inner == NULL) {
        if (fd >= 0)
            close(fd);
    } else {
        for (struct dirent *e; (e = readdir(inner)) != NULL;)
            if (e->d_name[0] != '.')
                unlinkat(dirfd(inner), e->d_name, 0);
        closedir(inner);
    }
    unlinkat(dir, name, AT_REMOVEDIR);
}

void bp_temp_remove_dir(const char *path)
{
    remove_dir_at(AT_FDCWD, path);
}

size_t bp_temp_sweep(const char *dir_path, long max_age_s, bool dry_run)
{
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return 0;
    time_t cutoff = time(NULL) - max_age_s;
    size_t removed = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        pid_t owner = owner_of(entry->d_name);
        int orphaned = owner != 0 && owner != getpid() && !alive(owner);
        if (S_ISDIR(st.st_mode) && owner != 0 && orphaned) {
            if (!dry_run)
                remove_dir_at(dirfd(dir), entry->d_name);
            removed++;
        } else if (S_ISREG(st.st_mode) && (orphaned || st.st_mtime < cutoff) &&
                   (dry_run || unlinkat(dirfd(dir), entry->d_name, 0) == 0)) {
            removed++;
        }
    }
    closedir(dir);
    return removed;
}
