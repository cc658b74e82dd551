/*
 * filename.h: making a client's file name safe to store and echo. The
 * result is never used as a storage path.
 */
#ifndef BP_FILENAME_H
#define BP_FILENAME_H

#include <stddef.h>

#define BP_FILENAME_MAX 255

/*
 * Writes into out the last path component of raw (after '/' or '\'),
 * with control characters and invalid UTF-8 bytes replaced by '_', cut
 * to at most BP_FILENAME_MAX bytes on a character boundary. When nothing
 * is left (NULL, "", ".", ".."), out is fallback.
 */
void bp_filename_sanitize(const char *raw, const char *fallback,
                          char out[BP_FILENAME_MAX + 1]);

#endif
