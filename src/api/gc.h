/*
 * gc.h: the orphan sweep (bandpics-fcgi --gc). After crashes, storage
 * outages or failed deletes the blob store and the metadata store can
 * disagree; the sweep finds objects without a record (and removes
 * them), records whose files are missing (regenerating gallery sizes
 * from the original, or deleting a record whose original is gone),
 * stale received uploads and staging copies, and expired uploads.
 * Objects younger than a grace period are left alone: they may belong
 * to a request still in progress.
 */
#ifndef BP_GC_H
#define BP_GC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "api/app.h"

/* What a sweep found, and did unless it was a dry run. */
struct bp_gc_report {
    size_t objects;         /* objects listed */
    size_t orphan_objects;  /* objects without an image record */
    size_t stale_objects;   /* received uploads or staging copies no
                               longer needed */
    size_t unknown_objects; /* keys Bandpics does not write (kept) */
    size_t images;          /* image records read */
    size_t images_repaired; /* gallery sizes made again */
    size_t images_dropped;  /* records whose original is missing */
    size_t uploads_expired; /* awaited uploads ended */
    size_t temp_files;      /* temporary files left behind (of gone
                               processes, or over an hour old) removed */
    size_t failures;        /* actions that failed (see the log) */
};

/*
 * Sweeps ctx's stores once, reporting every finding and action to log.
 * With dry_run nothing is changed. Objects modified less than grace_ms
 * ago are never removed. Returns BP_OK when the sweep could run to the
 * end (single failed actions are counted in report->failures), or the
 * error that stopped it (BP_EUNAVAILABLE when a store is down).
 */
enum bp_rc bp_gc_run(struct bp_ctx *ctx, bool dry_run, int64_t grace_ms,
                     FILE *log, struct bp_gc_report *report,
                     struct bp_error *err);

#endif
