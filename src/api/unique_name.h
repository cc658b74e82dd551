/*
 * unique_name.h: file names are unique within a group, as the earlier
 * version kept them (its web client finds pictures by group and name):
 * a second "DSCN0010.jpg" in a group becomes "DSCN0010-1.jpg", then
 * "-2", and so on, on upload, replace and move.
 */
#ifndef BP_UNIQUE_NAME_H
#define BP_UNIQUE_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"
#include "store/store.h"

/*
 * Writes to *out (a new string the caller frees) the first of name,
 * stem-1.ext, stem-2.ext, ... that no image of group has as its file
 * name (the image exclude_id aside; NULL for
 * none) and that is not among the ntaken names of taken (names already
 * given in the same request). The result stays within 255 bytes, cut at
 * a character boundary. group NULL or "": name itself. BP_ENOMEM, or the
 * store's error.
 */
enum bp_rc bp_unique_name(struct bp_store *store, const char *group,
                          const char *name, const char *exclude_id,
                          char *const *taken, size_t ntaken, char **out,
                          struct bp_error *err);

/*
 * bp_unique_name for images[i] among the images of a request: its file
 * name (or, with awaited, the name of the upload it awaits) made unique
 * in its group and among images[0..i). *out as bp_unique_name.
 */
enum bp_rc bp_unique_image_name(struct bp_store *store,
                                const struct bp_image *images, size_t i,
                                bool awaited, const char *exclude_id,
                                char **out, struct bp_error *err);

#endif
