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

/* Returns true when candidate is among the ntaken names of taken. */
static bool in_request(char *const *taken, size_t ntaken, const char *candidate)
{
    for (size_t i = 0; i < ntaken; i++)
        if (taken[i] != NULL && strcmp(taken[i], candidate) == 0)
            return true;
    return false;
}

/*
 * Returns true when an image of images other than exclude_id has
 * candidate as its file name or as the name of the upload it awaits.
 */
static bool in_group(const struct bp_image_list *images, const char *exclude_id,
                     const char *candidate)
{
    for (size_t i = 0; i < images->count; i++) {
        const struct bp_image *image = &images->items[i];
        if (exclude_id != NULL && strcmp(image->id, exclude_id) == 0)
            continue;
        if ((image->filename != NULL &&
             strcmp(image->filename, candidate) == 0) ||
            (image->upload_filename != NULL &&
             strcmp(image->upload_filename, candidate) == 0))
            return true;
    }
    return false;
}

/*
 * Sets *out when an image of group other than exclude_id has the file
 * name candidate (one indexed lookup: the common case, a free name).
 */
static enum bp_rc named_in_group(struct bp_store *store, const char *group,
                                 const char *exclude_id, const char *candidate,
                                 bool *out, struct bp_error *err)
{
    struct bp_image_query query = {.group = group, .filename = candidate};
    struct bp_image_list found = {0};
    enum bp_rc rc = bp_store_image_list(store, &query, &found, err);
    *out = rc == BP_OK && in_group(&found, exclude_id, candidate);
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
    bool grouped = group != NULL && group[0] != '\0';
    bool taken_in_group = false;
    enum bp_rc rc = grouped ? named_in_group(store, group, exclude_id, name,
                                             &taken_in_group, err)
                            : BP_OK;
    if (rc != BP_OK)
        return rc;
    /* Taken: read the group's names once, then find the first free
     * suffix among them (awaited uploads' names count too). */
    struct bp_image_list images = {0};
    if (grouped && (taken_in_group || in_request(taken, ntaken, name))) {
        struct bp_image_query query = {.group = group};
        rc = bp_store_image_list(store, &query, &images, err);
    }
    struct bp_buf candidate;
    bp_buf_init(&candidate, 4096);
    if (rc == BP_OK)
        rc = bp_buf_append_str(&candidate, name);
    for (long n = 1; rc == BP_OK; n++) {
        const char *text = candidate.data != NULL ? candidate.data : "";
        bool free_name =
            n == 1 ? !taken_in_group : !in_group(&images, exclude_id, text);
        if (free_name && !in_request(taken, ntaken, text))
            break;
        if (n > MAX_SUFFIX)
            rc = bp_error_set(err, BP_ECONFLICT,
                              "Too many files named '%.100s' in the group",
                              name);
        else
            rc = suffixed(name, n, &candidate);
    }
    bp_image_list_free(&images);
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
