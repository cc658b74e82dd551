/*
 * image.h: the image record as the store keeps it, and the changes a
 * metadata update asks for.
 */
#ifndef BP_IMAGE_H
#define BP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/exif_info.h"
#include "model/ids.h"
#include "model/principal.h"

#define BP_SHA256_HEX_LEN 64

struct bp_image {
    char id[BP_ID_LEN + 1];
    char group[BP_ID_LEN + 1]; /* "" is JSON null */
    char *filename;            /* owned; sanitized client name */
    char *description;         /* owned; NULL is JSON null */
    char *content_type;        /* owned; "image/jpeg", ... */
    int64_t size;              /* bytes of the original */
    char sha256[BP_SHA256_HEX_LEN + 1];
    long width, height;                  /* of the stored pixels */
    char taken_at[BP_EXIF_TAKEN_AT_LEN]; /* "" is JSON null */
    bool has_taken_at_ms;
    int64_t taken_at_ms; /* taken_at as UTC ms (local time when no offset) */
    char *data_json;     /* owned; the "data" object as JSON text */
    bool has_position;   /* latitude/longitude set */
    double latitude, longitude;
    int64_t created_at, updated_at;
    /* An upload awaited through a presigned URL (status "pending"): the
     * name of the file to come and when the wait ends (Unix ms). None:
     * NULL and 0. A pending image without a file has no stored files,
     * size 0 and sha256 "". */
    char *upload_filename; /* owned */
    int64_t upload_expires_at;
    /* Who uploaded it (a principal id); "" for images made before owners
     * were kept, which only admins change. JSON null. */
    char owner[BP_PRINCIPAL_ID_MAX + 1];
};

/* A page of images and how many match in all. */
struct bp_image_list {
    struct bp_image *items; /* owned; count entries */
    size_t count;
    long long total;
    size_t cap; /* entries allocated (bp_image_list_add) */
};

/* The metadata fields an update sets; strings are borrowed. */
struct bp_image_patch {
    bool set_description;
    const char *description; /* NULL clears */
    bool set_group;
    char group[BP_ID_LEN + 1]; /* "" clears */
    bool set_filename;         /* a new name (unique in its new group) */
    const char *filename;
    bool set_upload;             /* await an upload, or stop awaiting */
    const char *upload_filename; /* NULL stops (upload_expires_at 0) */
    int64_t upload_expires_at;
    /* Apply only while the image awaits the upload that expires at
     * if_upload_expires_at (0: awaits none); else BP_ECONFLICT. */
    bool if_upload;
    int64_t if_upload_expires_at;
};

/* Returns true while an upload is awaited for image (status "pending"). */
bool bp_image_upload_awaited(const struct bp_image *image);

/* Returns true when image has stored files (it was uploaded once). */
bool bp_image_has_file(const struct bp_image *image);

/* Frees the strings of image and zeroes it; image may be NULL. */
void bp_image_clear(struct bp_image *image);

/*
 * Appends a zeroed image to list and returns it for the caller to fill;
 * it is counted at once, so bp_image_list_free releases whatever was
 * filled. NULL when out of memory (list unchanged).
 */
struct bp_image *bp_image_list_add(struct bp_image_list *list);

/* Frees the images of list and empties it; list may be NULL. */
void bp_image_list_free(struct bp_image_list *list);

#endif
