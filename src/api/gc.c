/*
 * gc.c: the orphan sweep: listing the blob store, matching its objects
 * with image records in both directions, and repairing what disagrees.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/direct_upload.h"
#include "api/gc.h"
#include "api/image_files.h"
#include "api/ingest.h"
#include "api/upload.h"
#include "model/timeutil.h"
#include "temp_files.h"

/* Records read per page when checking records against objects. */
#define PAGE 500

/* One listed object. */
struct object {
    char *key; /* owned */
    int64_t modified_ms;
};

/* All listed objects, sorted by key once complete. */
struct object_set {
    struct object *items; /* owned */
    size_t count, cap;
};

/* The kinds of key Bandpics writes. */
enum key_kind {
    KEY_FILE,     /* original/<id>, fullsize/<id>.jpg, thumb/<id>.jpg,
                     public/<id> */
    KEY_INCOMING, /* incoming/<id>/<upload_expires_at> */
    KEY_STAGING,  /* staging/<id>/<name> */
    KEY_UNKNOWN,
};

static enum bp_rc add_object(void *arg, const struct bp_blob_entry *entry)
{
    struct object_set *set = arg;
    if (set->count == set->cap) {
        size_t cap = set->cap < 256 ? 256 : set->cap * 2;
        struct object *grown = realloc(set->items, cap * sizeof(*grown));
        if (grown == NULL)
            return BP_ENOMEM;
        set->items = grown;
        set->cap = cap;
    }
    char *key = strdup(entry->key);
    if (key == NULL)
        return BP_ENOMEM;
    set->items[set->count++] = (struct object){key, entry->modified_ms};
    return BP_OK;
}

static int compare_objects(const void *a, const void *b)
{
    return strcmp(((const struct object *)a)->key,
                  ((const struct object *)b)->key);
}

static void free_objects(struct object_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        free(set->items[i].key);
    free(set->items);
    memset(set, 0, sizeof(*set));
}

static bool has_object(const struct object_set *set, const char *key)
{
    size_t low = 0, high = set->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = strcmp(set->items[mid].key, key);
        if (order == 0)
            return true;
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return false;
}

/* Reads the image id out of key and says what kind of key it is. */
static enum key_kind parse_key(const char *key, char id[BP_ID_LEN + 1])
{
    static const struct {
        const char *prefix, *suffix;
        enum key_kind kind;
    } layouts[] = {
        {"original/", "", KEY_FILE},       {"fullsize/", ".jpg", KEY_FILE},
        {"thumb/", ".jpg", KEY_FILE},      {"public/", "", KEY_FILE},
        {"incoming/", "/*", KEY_INCOMING}, {"staging/", "/*", KEY_STAGING},
    };
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        size_t plen = strlen(layouts[i].prefix);
        if (strncmp(key, layouts[i].prefix, plen) != 0 ||
            strlen(key) < plen + BP_ID_LEN)
            continue;
        char text[BP_ID_LEN + 1];
        memcpy(text, key + plen, BP_ID_LEN);
        text[BP_ID_LEN] = '\0';
        const char *rest = key + plen + BP_ID_LEN;
        bool tail_ok = strcmp(layouts[i].suffix, "/*") == 0
                           ? rest[0] == '/' && rest[1] != '\0'
                           : strcmp(rest, layouts[i].suffix) == 0;
        if (tail_ok && bp_id_parse(text, id))
            return layouts[i].kind;
    }
    return KEY_UNKNOWN;
}

/*
 * The files of a replacement attempt under staging/<id>/<attempt>/, in
 * the order a move into place takes them (the original last, as
 * api/image_files.c does).
 */
static const struct {
    const char *name;
    enum bp_image_variant variant;
} staged[] = {
    {"public", BP_VARIANT_LOCATIONLESS},
    {"fullsize.jpg", BP_VARIANT_FULLSIZE},
    {"thumb.jpg", BP_VARIANT_THUMB},
    {"original", BP_VARIANT_ORIGINAL},
};
#define STAGED_COUNT (sizeof(staged) / sizeof(staged[0]))

/*
 * Returns the image's own key for the staging key of set->items[i]
 * ("staging/<id>/<attempt>/thumb.jpg" → "thumb/<id>.jpg") in own, when
 * that key is missing from the listing and no later attempt staged the
 * same file: a move into place that failed, to be finished. Else false.
 */
static bool unfinished_move(const struct object_set *set, size_t i,
                            const char *id, char own[BP_IMAGE_KEY_LEN])
{
    const char *key = set->items[i].key;
    const char *name = strrchr(key, '/') + 1;
    size_t n = 0;
    while (n < STAGED_COUNT && strcmp(name, staged[n].name) != 0)
        n++;
    if (n == STAGED_COUNT)
        return false;
    bp_image_key(id, staged[n].variant, own);
    if (has_object(set, own))
        return false;
    /* The attempts of one image are neighbours in the sorted listing. */
    size_t block = strlen("staging/") + BP_ID_LEN + 1;
    for (size_t k = 0; k < set->count; k++) {
        const struct object *other = &set->items[k];
        if (k != i && strncmp(other->key, key, block) == 0 &&
            strcmp(strrchr(other->key, '/') + 1, name) == 0 &&
            other->modified_ms > set->items[i].modified_ms)
            return false;
    }
    return true;
}

/*
 * The attempt prefix "staging/<id>/<attempt>/" of a staging key into
 * prefix; false when key has no such form.
 */
static bool attempt_prefix(const char *key, char prefix[BP_IMAGE_KEY_LEN])
{
    const char *last = strrchr(key, '/');
    size_t len = last == NULL ? 0 : (size_t)(last - key) + 1;
    if (len == 0 || len >= BP_IMAGE_KEY_LEN ||
        len <= strlen("staging/") + BP_ID_LEN + 1)
        return false;
    memcpy(prefix, key, len);
    prefix[len] = '\0';
    return true;
}

/*
 * Whether the replacement attempt under prefix was interrupted after the
 * record took its file: its staged original is still there (the move
 * puts the original last) and holds the record's sha256.
 */
static bool attempt_is_current(struct bp_ctx *ctx, const struct object_set *set,
                               const char *prefix, const struct bp_image *image)
{
    char key[BP_IMAGE_KEY_LEN + 16];
    snprintf(key, sizeof(key), "%soriginal", prefix);
    if (!has_object(set, key))
        return false;
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    limits.max_body_bytes = (size_t)-1;
    limits.min_free_bytes = 0;
    struct bp_upload up;
    struct bp_error why = {{0}};
    bool same = bp_upload_read_blob(ctx->blobs, key, &limits, ctx->tmp_dir,
                                    "original", &up, &why) == BP_OK &&
                up.nfiles == 1 &&
                strcmp(up.files[0].sha256, image->sha256) == 0;
    bp_upload_free(&up);
    return same;
}

/*
 * Finishes the interrupted replacement under prefix: moves each of its
 * staged files over the image's own, the original last (as the request
 * would have). Returns false when a move failed (logged, counted).
 */
static bool finish_attempt(struct bp_ctx *ctx, const struct object_set *set,
                           const char *prefix, const char *id, bool dry_run,
                           FILE *log, struct bp_gc_report *report)
{
    fprintf(log, "bandpics: gc: %s the interrupted replacement %s*\n",
            dry_run ? "would finish" : "finishing", prefix);
    report->images_repaired++;
    for (size_t n = 0; n < STAGED_COUNT; n++) {
        char from[BP_IMAGE_KEY_LEN + 16], to[BP_IMAGE_KEY_LEN];
        snprintf(from, sizeof(from), "%s%s", prefix, staged[n].name);
        if (!has_object(set, from))
            continue;
        bp_image_key(id, staged[n].variant, to);
        struct bp_error why = {{0}};
        if (!dry_run && bp_blob_move(ctx->blobs, from, to, &why) != BP_OK) {
            fprintf(log, "bandpics: gc: cannot move %s: %s\n", from,
                    why.detail);
            report->failures++;
            return false;
        }
    }
    return true;
}

/* Orphans --gc removes when the database has no record at all: what a
 * crash during a first batch could leave, and not more. */
#define GC_ORPHANS_WITHOUT_RECORDS 16

/* Removes key unless dry_run, counting a failure in report. */
static void remove_object(struct bp_ctx *ctx, const char *key, bool dry_run,
                          FILE *log, struct bp_gc_report *report)
{
    if (dry_run)
        return;
    struct bp_error why = {{0}};
    if (bp_blob_remove(ctx->blobs, key, &why) != BP_OK) {
        fprintf(log, "bandpics: gc: cannot remove %s: %s\n", key, why.detail);
        report->failures++;
    }
}

/*
 * Finds objects that no record needs, and removes the old ones. Orphans
 * are removed only when some object does belong to a record (or there
 * are no records): a listing in which nothing matches is more likely a
 * wrong blob_url or database_url than a store of orphans.
 */
static enum bp_rc sweep_objects(struct bp_ctx *ctx, struct bp_store *store,
                                const struct object_set *set, bool dry_run,
                                int64_t cutoff_ms, FILE *log,
                                struct bp_gc_report *report,
                                struct bp_error *err)
{
    const char *verb = dry_run ? "would remove" : "removing";
    size_t *orphans = calloc(set->count + 1, sizeof(*orphans));
    if (orphans == NULL)
        return BP_ENOMEM;
    size_t matched = 0;
    enum bp_rc rc = BP_OK;
    /* The replacement attempt finished last, whose other keys are done. */
    char finished[BP_IMAGE_KEY_LEN] = "";
    for (size_t i = 0; i < set->count; i++) {
        const struct object *object = &set->items[i];
        char id[BP_ID_LEN + 1];
        if (finished[0] != '\0' &&
            strncmp(object->key, finished, strlen(finished)) == 0)
            continue;
        enum key_kind kind = parse_key(object->key, id);
        if (kind == KEY_UNKNOWN) {
            fprintf(log, "bandpics: gc: unknown object %s (kept)\n",
                    object->key);
            report->unknown_objects++;
            continue;
        }
        struct bp_image image;
        rc = bp_store_image_get(store, id, &image, err);
        if (rc == BP_ENOTFOUND) {
            rc = BP_OK;
            if (object->modified_ms <= cutoff_ms)
                orphans[report->orphan_objects++] = i;
            continue;
        }
        if (rc != BP_OK)
            goto out_free;
        matched++;
        char current[BP_IMAGE_KEY_LEN];
        bp_image_incoming_key(&image, current);
        bool stale =
            kind == KEY_STAGING ||
            (kind == KEY_INCOMING && (!bp_image_upload_awaited(&image) ||
                                      strcmp(object->key, current) != 0));
        /* A replacement killed while its files moved into place: the
         * record is new, some files may be old. Finished, never removed
         * (removing made the mix permanent). */
        char prefix[BP_IMAGE_KEY_LEN];
        if (kind == KEY_STAGING && bp_image_has_file(&image) &&
            object->modified_ms <= cutoff_ms &&
            attempt_prefix(object->key, prefix) &&
            attempt_is_current(ctx, set, prefix, &image)) {
            bp_image_clear(&image);
            finish_attempt(ctx, set, prefix, id, dry_run, log, report);
            memcpy(finished, prefix, sizeof(finished));
            continue;
        }
        char own[BP_IMAGE_KEY_LEN];
        bool finish_move = kind == KEY_STAGING && bp_image_has_file(&image) &&
                           object->modified_ms <= cutoff_ms &&
                           unfinished_move(set, i, id, own);
        bp_image_clear(&image);
        if (finish_move) {
            fprintf(log, "bandpics: gc: %s %s to %s: its move failed\n",
                    dry_run ? "would move" : "moving", object->key, own);
            report->images_repaired++;
            struct bp_error why = {{0}};
            if (!dry_run &&
                bp_blob_move(ctx->blobs, object->key, own, &why) != BP_OK) {
                fprintf(log, "bandpics: gc: cannot move %s: %s\n", object->key,
                        why.detail);
                report->failures++;
            }
            continue;
        }
        if (stale && object->modified_ms <= cutoff_ms) {
            fprintf(log, "bandpics: gc: %s %s: no longer needed\n", verb,
                    object->key);
            report->stale_objects++;
            remove_object(ctx, object->key, dry_run, log, report);
        }
    }
    if (report->orphan_objects > 0 && matched == 0) {
        struct bp_image_query any = {.limit = 1};
        struct bp_image_list list;
        rc = bp_store_image_list(store, &any, &list, err);
        if (rc != BP_OK)
            goto out_free;
        bool has_records = list.total > 0;
        bp_image_list_free(&list);
        if (has_records) {
            rc = bp_error_set(err, BP_EINVAL,
                              "no object in the %s blob store belongs to an "
                              "image record: is blob_url (or database_url) "
                              "right? Nothing was removed",
                              bp_blob_store_name(ctx->blobs));
            goto out_free;
        }
        /* No record at all, and more objects than a crashed first upload
         * leaves: more likely an empty or wrong database (a mistyped
         * SQLite path makes a new one) than a store of orphans. */
        if (report->orphan_objects > GC_ORPHANS_WITHOUT_RECORDS) {
            rc = bp_error_set(err, BP_EINVAL,
                              "the database has no image record but the %s "
                              "blob store holds %zu image objects: is "
                              "database_url right? Nothing was removed",
                              bp_blob_store_name(ctx->blobs),
                              report->orphan_objects);
            goto out_free;
        }
    }
    for (size_t n = 0; n < report->orphan_objects; n++) {
        const char *key = set->items[orphans[n]].key;
        fprintf(log, "bandpics: gc: %s %s: no image record\n", verb, key);
        remove_object(ctx, key, dry_run, log, report);
    }
out_free:
    free(orphans);
    return rc;
}

/* Makes the missing gallery sizes of image again from its original. */
static enum bp_rc regenerate(struct bp_ctx *ctx, const struct bp_image *image,
                             bool need_fullsize, bool need_thumb,
                             struct bp_error *err)
{
    char key[BP_IMAGE_KEY_LEN];
    bp_image_key(image->id, BP_VARIANT_ORIGINAL, key);
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    limits.max_body_bytes = (size_t)-1;
    struct bp_upload up;
    struct bp_ingest in = {0};
    enum bp_rc rc = bp_upload_read_blob(ctx->blobs, key, &limits, ctx->tmp_dir,
                                        image->filename, &up, err);
    if (rc == BP_OK)
        rc =
            bp_ingest_prepare(ctx, &up, NULL, NULL, bp_time_now_ms(), &in, err);
    if (rc == BP_OK && need_fullsize) {
        bp_image_key(image->id, BP_VARIANT_FULLSIZE, key);
        rc = bp_blob_put_file(ctx->blobs, key, in.fullsize_paths[0],
                              "image/jpeg", err);
    }
    if (rc == BP_OK && need_thumb) {
        bp_image_key(image->id, BP_VARIANT_THUMB, key);
        rc = bp_blob_put_file(ctx->blobs, key, in.thumb_paths[0], "image/jpeg",
                              err);
    }
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

/* Checks one image record against the listed objects and repairs it. */
static void check_image(struct bp_ctx *ctx, struct bp_store *store,
                        const struct object_set *set,
                        const struct bp_image *image, bool dry_run,
                        int64_t cutoff_ms, FILE *log,
                        struct bp_gc_report *report)
{
    /* A record changed since the listing began may have files the
     * listing did not see. */
    if (!bp_image_has_file(image) || image->updated_at > cutoff_ms)
        return;
    bool present[3];
    for (int v = BP_VARIANT_ORIGINAL; v <= BP_VARIANT_THUMB; v++) {
        char key[BP_IMAGE_KEY_LEN];
        bp_image_key(image->id, (enum bp_image_variant)v, key);
        present[v] = has_object(set, key);
    }
    if (present[BP_VARIANT_ORIGINAL] && present[BP_VARIANT_FULLSIZE] &&
        present[BP_VARIANT_THUMB])
        return;
    struct bp_error why = {{0}};
    char original[BP_IMAGE_KEY_LEN];
    bp_image_key(image->id, BP_VARIANT_ORIGINAL, original);
    struct bp_blob_entry entry;
    if (!present[BP_VARIANT_ORIGINAL] &&
        bp_blob_stat(ctx->blobs, original, &entry, &why) != BP_ENOTFOUND)
        return; /* It is there after all, or storage cannot tell now. */
    if (!present[BP_VARIANT_ORIGINAL]) {
        fprintf(log,
                "bandpics: gc: image %s: original missing, %s the record\n",
                image->id, dry_run ? "would delete" : "deleting");
        report->images_dropped++;
        struct bp_image gone;
        if (dry_run)
            return;
        if (bp_store_image_delete(store, image->id, &gone, &why) == BP_OK) {
            bp_image_clear(&gone);
            if (bp_image_files_remove(ctx->blobs, image, &why) == BP_OK)
                return;
        }
    } else {
        fprintf(log, "bandpics: gc: image %s: %s%s%s missing, %s\n", image->id,
                present[BP_VARIANT_FULLSIZE] ? "" : "fullsize",
                !present[BP_VARIANT_FULLSIZE] && !present[BP_VARIANT_THUMB]
                    ? " and "
                    : "",
                present[BP_VARIANT_THUMB] ? "" : "thumb",
                dry_run ? "would make again" : "making again");
        report->images_repaired++;
        if (dry_run || regenerate(ctx, image, !present[BP_VARIANT_FULLSIZE],
                                  !present[BP_VARIANT_THUMB], &why) == BP_OK)
            return;
    }
    fprintf(log, "bandpics: gc: image %s: %s\n", image->id, why.detail);
    report->failures++;
}

/*
 * Checks every record against the listed objects. Records are read in
 * pages first and repaired after, so that deletions do not shift pages.
 */
static enum bp_rc sweep_records(struct bp_ctx *ctx, struct bp_store *store,
                                const struct object_set *set, bool dry_run,
                                int64_t cutoff_ms, FILE *log,
                                struct bp_gc_report *report,
                                struct bp_error *err)
{
    struct bp_image_list all = {0};
    enum bp_rc rc = BP_OK;
    for (long offset = 0;; offset += PAGE) {
        struct bp_image_query query = {.limit = PAGE, .offset = offset};
        struct bp_image_list page;
        rc = bp_store_image_list(store, &query, &page, err);
        if (rc != BP_OK)
            goto out_free;
        for (size_t i = 0; i < page.count; i++) {
            struct bp_image *slot = bp_image_list_add(&all);
            if (slot == NULL) {
                bp_image_list_free(&page);
                rc = BP_ENOMEM;
                goto out_free;
            }
            /* Move the record: the page gives up its strings. */
            *slot = page.items[i];
            memset(&page.items[i], 0, sizeof(page.items[i]));
        }
        size_t got = page.count;
        bp_image_list_free(&page);
        if (got < PAGE)
            break;
    }
    report->images = all.count;
    /* Records with files but not one original in the listing: more
     * likely a wrong blob_url than a store that lost everything. */
    size_t with_files = 0;
    bool any_original = false;
    for (size_t i = 0; i < all.count; i++)
        with_files += bp_image_has_file(&all.items[i]);
    for (size_t i = 0; i < set->count && !any_original; i++) {
        const char *key = set->items[i].key;
        size_t len = strlen(key);
        any_original = strncmp(key, "original/", 9) == 0 ||
                       (strncmp(key, "staging/", 8) == 0 && len > 9 &&
                        strcmp(key + len - 9, "/original") == 0);
    }
    if (with_files > 0 && !any_original) {
        rc = bp_error_set(err, BP_EINVAL,
                          "%zu images have files but the %s blob store "
                          "holds no original: is blob_url right? No record "
                          "was changed",
                          with_files, bp_blob_store_name(ctx->blobs));
        goto out_free;
    }
    for (size_t i = 0; i < all.count; i++)
        check_image(ctx, store, set, &all.items[i], dry_run, cutoff_ms, log,
                    report);
out_free:
    bp_image_list_free(&all);
    return rc;
}

enum bp_rc bp_gc_run(struct bp_ctx *ctx, bool dry_run, int64_t grace_ms,
                     FILE *log, struct bp_gc_report *report,
                     struct bp_error *err)
{
    memset(report, 0, sizeof(*report));
    /* Those of killed workers at any age, any older than an hour. */
    report->temp_files = bp_temp_sweep(ctx->tmp_dir, 3600, dry_run);
    struct bp_store *store;
    enum bp_rc rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    int64_t now = bp_time_now_ms();
    struct bp_direct_upload_sweep expired;
    rc = bp_direct_upload_expire(ctx, store, now, 0, dry_run, log, &expired,
                                 err);
    if (rc != BP_OK)
        return rc;
    report->uploads_expired =
        expired.completed + expired.dropped + expired.reverted;
    report->failures += expired.failed;
    struct object_set set = {0};
    rc = bp_blob_list(ctx->blobs, "", add_object, &set, err);
    if (rc == BP_OK) {
        report->objects = set.count;
        if (set.count > 0)
            qsort(set.items, set.count, sizeof(*set.items), compare_objects);
        rc = sweep_objects(ctx, store, &set, dry_run, now - grace_ms, log,
                           report, err);
    }
    if (rc == BP_OK)
        rc = sweep_records(ctx, store, &set, dry_run, now - grace_ms, log,
                           report, err);
    free_objects(&set);
    return rc;
}
