/*
 * temp_files.h: temporary files that name their owner. Every file a
 * process makes in the data directory's tmp/ folder starts with
 * "p<pid>-", so that what a killed worker left behind can be told from
 * what a live one is using, and removed at once, whatever its age.
 */
#ifndef BP_TEMP_FILES_H
#define BP_TEMP_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* The prefix "p<pid>-" of this process's temporary files, into out. */
void bp_temp_prefix(char *out, size_t size);

/*
 * Removes from dir the regular files whose owner process is gone, and
 * any (owned or not) older than max_age_s, which no request outlives
 * and which covers a pid taken again by an unrelated process; and the
 * owned directories (a decoder's ImageMagick cache) of gone processes,
 * with the files in them. Counts what it removed, or with dry_run would
 * remove, and changes nothing then.
 */
size_t bp_temp_sweep(const char *dir, long max_age_s, bool dry_run);

/* Removes the directory at path and the files directly in it. */
void bp_temp_remove_dir(const char *path);

#endif
