/*
 * image_child.h: bp_image_process in a decoder process of its own, so
 * that a decoder that crashes, runs away with memory or never ends costs
 * one request (a 4xx) and not the worker. The decoder process is forked
 * on first use and kept for the next images (its memory stays warm: a
 * fresh process per image paid about 17,000 page faults for a 12 MP
 * photo); it has an address-space limit and a CPU-time limit per image,
 * the worker a wall-clock one, and it is replaced after any failure of
 * its own.
 */
#ifndef BP_IMAGE_CHILD_H
#define BP_IMAGE_CHILD_H

#include <limits.h>
#include <sys/types.h>

#include "media/image_proc.h"

struct bp_image_child_limits {
    /* The one directory the decoder may create files in (its temporary
     * files, ImageMagick's pixel cache); borrowed. */
    const char *tmp_dir;
    long memory_bytes; /* RLIMIT_AS above the mapping at start (0: none) */
    long cpu_s;        /* CPU seconds for one image (0: none) */
    long wall_s;       /* the decoder is killed after this long (0: none) */
};

/* One worker's decoder process; zeroed by bp_image_child_init. */
struct bp_image_child {
    pid_t pid; /* 0: none running */
    int fd;    /* the worker's end of their socket pair, or -1 */
    /* Its ImageMagick cache directory, removed with it. */
    char cache_dir[PATH_MAX];
};

void bp_image_child_init(struct bp_image_child *child);

/* Stops the decoder process, if any. */
void bp_image_child_close(struct bp_image_child *child);

/*
 * As bp_image_process, in child's decoder process (started when there is
 * none) under child_limits. A decoder killed by a signal (a crash) is
 * BP_EINVAL "could not be decoded"; one over its CPU or wall-clock time,
 * or out of memory, is BP_ETOOBIG. On any failure the outputs are
 * removed. BP_EINTERNAL when no decoder could be started.
 */
enum bp_rc
bp_image_process_in_child(struct bp_image_child *child, const char *path,
                          const struct bp_image_limits *limits,
                          const struct bp_image_child_limits *child_limits,
                          const char *fullsize_path, const char *thumb_path,
                          struct bp_image_meta *meta, struct bp_error *err);

#endif
