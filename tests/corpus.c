/*
 * corpus.c: the corpus lookup and walk shared by the unit tests.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "corpus.h"

bool bp_test_corpus_find(char *dir, size_t cap)
{
    const char *env = getenv("BANDPICS_CORPUS");
#ifdef BANDPICS_SRCDIR
    const char *srcdir = BANDPICS_SRCDIR;
#else
    const char *srcdir = getenv("BANDPICS_SRCDIR");
#endif
    struct stat st;
    int n;
    if (env != NULL && env[0] != '\0')
        n = snprintf(dir, cap, "%s", env);
    else if (srcdir != NULL && srcdir[0] != '\0')
        n = snprintf(dir, cap, "%s/../shared/corpus", srcdir);
    else
        n = snprintf(dir, cap, "../shared/corpus");
    return n >= 0 && (size_t)n < cap && stat(dir, &st) == 0 &&
           S_ISDIR(st.st_mode);
}

size_t bp_test_corpus_walk(const char *dir, const char *rel,
                           void (*visit)(void *user, const char *path,
                                         const char *rel),
                           void *user)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 1;
    size_t failures = 0;
    for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
        char path[PATH_MAX], sub[PATH_MAX];
        struct stat st;
        if (ent->d_name[0] == '.')
            continue;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        int m = rel[0] == '\0'
                    ? snprintf(sub, sizeof(sub), "%s", ent->d_name)
                    : snprintf(sub, sizeof(sub), "%s/%s", rel, ent->d_name);
        if (n < 0 || (size_t)n >= sizeof(path) || m < 0 ||
            (size_t)m >= sizeof(sub) || stat(path, &st) != 0) {
            failures++;
            continue;
        }
        if (S_ISDIR(st.st_mode))
            failures += bp_test_corpus_walk(path, sub, visit, user);
        else if (S_ISREG(st.st_mode))
            visit(user, path, sub);
    }
    closedir(d);
    return failures;
}
