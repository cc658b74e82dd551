/*
 * image_child.h: bp_image_process in a short-lived child process, so that
 * a decoder that crashes, runs away with memory or never ends costs one
 * request (a 4xx) and not the worker. The child gets an address-space
 * and a CPU-time limit, the parent a wall-clock one.
 */
#ifndef BP_IMAGE_CHILD_H
#define BP_IMAGE_CHILD_H

#include "media/image_proc.h"

struct bp_image_child_limits {
    long memory_bytes; /* RLIMIT_AS of the child (0: none) */
    long cpu_s;        /* RLIMIT_CPU of the child (0: none) */
    long wall_s;       /* the child is killed after this long (0: none) */
};

/*
 * As bp_image_process, in a child process under child_limits. A child
 * killed by a signal (a decoder crash) is BP_EINVAL "could not be
 * decoded"; one over its CPU or wall-clock time, or out of memory, is
 * BP_ETOOBIG. On any failure the outputs are removed. BP_EINTERNAL when
 * no child could be started.
 */
enum bp_rc bp_image_process_in_child(
    const char *path, const struct bp_image_limits *limits,
    const struct bp_image_child_limits *child_limits, const char *fullsize_path,
    const char *thumb_path, struct bp_image_meta *meta, struct bp_error *err);

#endif
