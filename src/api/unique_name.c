/*
 * unique_name.c: the first free "stem-N.ext" for a file name in a group.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/unique_name.h"
#include "buf.h"

/* The longest file name kept (filename.c cuts client names to it). */
#define NAME_MAX_BYTES 255
/* Suffixes tried before giving up (a group of that many equal names). */
#define MAX_SUFFIX 100000

/*
 * Sets *taken when an image of group other than exclude_id is named
 * candidate, or candidate is among the ntaken names of taken.
 */
static enum bp_rc name_taken(struct bp_store *store, const char *group,
                             const char *exclude_id, char *const *taken,
                             size_t ntaken, const char *candidate, bool *out,
                             struct bp_error *err)
{
    *out = false;
    for (size_t i = 0; i < ntaken && !*out; i++)
        *out = taken[i] != NULL && strcmp(taken[i], candidate) == 0;
    if (*out || group == NULL || group[0] == '\0')
        return BP_OK;
    struct bp_image_query query = {.group = group, .filename = candidate};
    struct bp_image_list found = {0};
    enum bp_rc rc = bp_store_image_list(store, &query, &found, err);
    for (size_t i = 0; rc == BP_OK && i < found.count && !*out; i++)
        *out = exclude_id == NULL || strcmp(found.items[i].id, exclude_id) != 0;
    bp_image_list_free(&found);
    return rc;
}

/*
 * Writes stem-n.ext of name to out, cutting the stem (at a character
 * boundary) so that it fits NAME_MAX_BYTES.
 */
static enum bp_rc suffixed(const char *name, long n, struct bp_buf *out)
{
    const char *dot = strrchr(name, '.');
    size_t stem_len =
        dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);
    const char *ext = name + stem_len;
    char suffix[24];
    int suffix_len = snprintf(suffix, sizeof(suffix), "-%ld", n);
    size_t room = NAME_MAX_BYTES - (size_t)suffix_len - strlen(ext);
    if (strlen(ext) + (size_t)suffix_len >= NAME_MAX_BYTES)
        room = 0;
    if (stem_len > room) {
        stem_len = room;
        /* Not inside a UTF-8 sequence: back off its continuation bytes. */
        while (stem_len > 0 && ((unsigned char)name[stem_len] & 0xc0) == 0x80)
            stem_len--;
    }
    bp_buf_reset(out);
    enum bp_rc rc = bp_buf_append(out, name, stem_len);
    if (rc == BP_OK)
        rc = bp_buf_append_str(out, suffix);
    if (rc == BP_OK)
        rc = bp_buf_append_str(out, ext);
    return rc;
}

enum bp_rc bp_unique_name(struct bp_store *store, const char *group,
                          const char *name, const char *exclude_id,
                          char *const *taken, size_t ntaken, char **out,
                          struct bp_error *err)
{
    struct bp_buf candidate;
    bp_buf_init(&candidate, 4096);
    enum bp_rc rc = bp_buf_append_str(&candidate, name);
    bool is_taken = true;
    for (long n = 0; rc == BP_OK; n++) {
        if (n > 0)
            rc = suffixed(name, n, &candidate);
        if (rc == BP_OK)
            rc = name_taken(store, group, exclude_id, taken, ntaken,
                            candidate.data != NULL ? candidate.data : "",
                            &is_taken, err);
        if (rc != BP_OK || !is_taken)
            break;
        if (n == MAX_SUFFIX)
            rc = bp_error_set(err, BP_ECONFLICT,
                              "Too many files named '%.100s' in the group",
                              name);
    }
    if (rc != BP_OK) {
        bp_buf_free(&candidate);
        return rc;
    }
    /* The buffer's string becomes the caller's. */
    *out = candidate.data != NULL ? candidate.data : strdup("");
    return *out != NULL ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_unique_image_name(struct bp_store *store,
                                const struct bp_image *images, size_t i,
                                bool awaited, const char *exclude_id,
                                char **out, struct bp_error *err)
{
    char **taken = calloc(i == 0 ? 1 : i, sizeof(char *));
    if (taken == NULL)
        return BP_ENOMEM;
    for (size_t k = 0; k < i; k++)
        taken[k] = awaited ? images[k].upload_filename : images[k].filename;
    const struct bp_image *image = &images[i];
    enum bp_rc rc = bp_unique_name(
        store, image->group, awaited ? image->upload_filename : image->filename,
        exclude_id, taken, i, out, err);
    free(taken);
    return rc;
}
