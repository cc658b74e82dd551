/*
 * corpus.h: finding and walking the shared camera corpus
 * (../shared/corpus) from the unit tests that compare with it.
 */
#ifndef BP_TEST_CORPUS_H
#define BP_TEST_CORPUS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the corpus folder into dir (cap bytes): $BANDPICS_CORPUS, else
 * ../shared/corpus next to the source tree (BANDPICS_SRCDIR, compiled in
 * or from the environment), else ../shared/corpus from the working
 * directory. Returns true when that folder exists.
 */
bool bp_test_corpus_find(char *dir, size_t cap);

/*
 * Calls visit(user, path, rel) for every regular file under dir, where
 * rel is the file's name relative to the walk's start (pass rel "" at
 * the top). Returns the number of entries that could not be read.
 */
size_t bp_test_corpus_walk(const char *dir, const char *rel,
                           void (*visit)(void *user, const char *path,
                                         const char *rel),
                           void *user);

#endif
