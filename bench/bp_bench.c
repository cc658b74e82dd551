/*
 * bp_bench.c: the in-process timings of bench/images.py, linked against
 * the release build's libbandpics.a. It makes the camera-like test JPEGs
 * and times the library's own calls on them, printing one "key value"
 * pair a line for the script to read:
 *
 *   bp_bench make W H OUT.jpg     plasma clouds + sensor noise, q92 4:2:0
 *   bp_bench exif FILE N          bp_exif_read over FILE's bytes, N calls
 *   bp_bench proc FILE N DIR      bp_image_process, N calls, outputs in DIR
 *   bp_bench store FILE N DIR     SHA-256 + write + fsync of FILE's bytes
 *   bp_bench decsize FILE         size that JPEG DCT scaling decodes FILE at
 *   bp_bench gps FILE N DIR       bp_gps_strip_file into DIR, N calls, and
 *                                 the same copy without stripping (read,
 *                                 write, fsync, rename), N calls
 *
 * Times are medians of per-call wall-clock times (CLOCK_MONOTONIC).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <wand/MagickWand.h>

#include "media/exif_read.h"
#include "media/gps_strip.h"
#include "media/image_child.h"
#include "media/image_proc.h"

/* What a worker runs with by default (config.c, app.c). */
#define LIMIT_PIXELS 100000000L
#define LIMIT_EDGE 65500L
#define LIMIT_MEMORY (512L << 20)

/* Gaussian noise strength: a 12 MP file of about 4.6 MB, as a camera's. */
#define NOISE "0.25"

/* Longest timing run accepted, so that a typo cannot hang the script. */
#define MAX_RUNS 1000000L

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the n samples (n >= 1) and returns their median. */
static double median(double *samples, long n)
{
    qsort(samples, (size_t)n, sizeof(*samples), cmp_double);
    if (n % 2)
        return samples[n / 2];
    return (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

/* Parses a positive count up to max; returns 0 when it is not one. */
static long parse_count(const char *text, long max)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || n < 1 || n > max)
        return 0;
    return n;
}

/* Reads the whole file at path into *data (caller frees); 0 on success. */
static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        goto out_fail;
    if (fseek(in, 0, SEEK_END) != 0)
        goto out_close;
    long size = ftell(in);
    if (size < 0 || fseek(in, 0, SEEK_SET) != 0)
        goto out_close;
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL)
        goto out_close;
    if (fread(buf, 1, (size_t)size, in) != (size_t)size) {
        free(buf);
        goto out_close;
    }
    fclose(in);
    *data = buf;
    *len = (size_t)size;
    return 0;
out_close:
    fclose(in);
out_fail:
    fprintf(stderr, "bp_bench: cannot read %s: %s\n", path, strerror(errno));
    return -1;
}

/* Prints the wand's exception and returns 1 (the failing exit status). */
static int wand_fail(MagickWand *wand, const char *what)
{
    ExceptionType severity;
    char *message = MagickGetException(wand, &severity);
    fprintf(stderr, "bp_bench: %s: %s\n", what, message);
    MagickRelinquishMemory(message);
    return 1;
}

/*
 * Writes a width x height JPEG that compresses like a photo: plasma
 * clouds (a fixed seed, so every run gets the same file) plus Gaussian
 * sensor noise, quality 92 with 4:2:0 chroma as phones write (without
 * the factors ImageMagick would pick 4:4:4 at this quality). No
 * metadata; the script adds the EXIF block.
 */
static int cmd_make(long width, long height, const char *out)
{
    static const double sampling[] = {2.0, 2.0};
    char size[64];
    int status = 1;
    snprintf(size, sizeof(size), "%ldx%ld", width, height);
    SetRandomSecretKey(20240501);
    MagickWand *wand = NewMagickWand();
    if (MagickSetSize(wand, (size_t)width, (size_t)height) == MagickFalse ||
        MagickReadImage(wand, "plasma:#2a3550-#d8a060") == MagickFalse ||
        MagickSetImageArtifact(wand, "attenuate", NOISE) == MagickFalse ||
        MagickAddNoiseImage(wand, GaussianNoise) == MagickFalse ||
        MagickSetImageFormat(wand, "JPEG") == MagickFalse ||
        MagickSetImageCompressionQuality(wand, 92) == MagickFalse ||
        MagickSetSamplingFactors(wand, 2, sampling) == MagickFalse ||
        MagickStripImage(wand) == MagickFalse ||
        MagickWriteImage(wand, out) == MagickFalse) {
        status = wand_fail(wand, "make");
        goto out_destroy;
    }
    printf("size %s\n", size);
    status = 0;
out_destroy:
    DestroyMagickWand(wand);
    return status;
}

/* Times bp_exif_read over the bytes of path, n calls. */
static int cmd_exif(const char *path, long n)
{
    unsigned char *data;
    size_t len;
    if (read_file(path, &data, &len) != 0)
        return 1;
    double *samples = calloc((size_t)n, sizeof(*samples));
    int status = 1;
    if (samples == NULL)
        goto out_free_data;
    struct bp_exif_info info;
    struct bp_error err = {{0}};
    for (long i = 0; i < n; i++) {
        double t0 = now_s();
        enum bp_rc rc = bp_exif_read(data, len, &info, &err);
        samples[i] = now_s() - t0;
        if (rc != BP_OK) {
            fprintf(stderr, "bp_bench: bp_exif_read: %s\n", err.detail);
            goto out_free_samples;
        }
    }
    printf("calls %ld\n", n);
    printf("median_us %.3f\n", median(samples, n) * 1e6);
    printf("min_us %.3f\n", samples[0] * 1e6);
    printf("make %s\nmodel %s\n", info.make, info.model);
    printf("date_time_original %s\n", info.date_time_original);
    printf("offset_time_original %s\n", info.offset_time_original);
    printf("latitude %.7f\nlongitude %.7f\n", info.coords.latitude,
           info.coords.longitude);
    printf("altitude %.3f\n", info.coords.altitude);
    status = 0;
out_free_samples:
    free(samples);
out_free_data:
    free(data);
    return status;
}

/* Joins dir and name into out; 0 on success. */
static int join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Times bp_image_process on path, n calls, writing both sizes in dir. */
static int cmd_proc(const char *path, long n, const char *dir)
{
    const struct bp_image_limits limits = {.max_pixels = LIMIT_PIXELS,
                                           .max_edge = LIMIT_EDGE,
                                           .memory_bytes = LIMIT_MEMORY};
    char fullsize[4096], thumb[4096];
    if (join(fullsize, sizeof(fullsize), dir, "fullsize.jpg") != 0 ||
        join(thumb, sizeof(thumb), dir, "thumb.jpg") != 0)
        return 2;
    double *samples = calloc((size_t)n, sizeof(*samples));
    if (samples == NULL)
        return 1;
    bp_image_setup(&limits);
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    int status = 1;
    for (long i = 0; i < n; i++) {
        /* bp_image_process creates its outputs exclusively. */
        unlink(fullsize);
        unlink(thumb);
        double t0 = now_s();
        enum bp_rc rc =
            bp_image_process(path, &limits, fullsize, thumb, &meta, &err);
        samples[i] = now_s() - t0;
        if (rc != BP_OK) {
            fprintf(stderr, "bp_bench: bp_image_process: %s\n", err.detail);
            goto out_free_samples;
        }
        printf("run_ms %.1f\n", samples[i] * 1e3);
    }
    printf("calls %ld\n", n);
    printf("median_ms %.1f\n", median(samples, n) * 1e3);
    printf("width %ld\nheight %ld\n", meta.width, meta.height);
    printf("has_exif %d\n", meta.has_exif ? 1 : 0);
    status = 0;
out_free_samples:
    free(samples);
    return status;
}

/*
 * The cost of processing in the decoder process (media/image_child.c):
 * the same image n times directly and n times in the decoder with the
 * limits a worker uses, alternating, with 64 MB of this process's memory
 * touched first (about a worker's resident size, which fork copies the
 * page tables of). Prints both medians and their difference; the first
 * image in the decoder (its fork) counts in its median like the others.
 */
static int cmd_child(const char *path, long n, const char *dir)
{
    const struct bp_image_limits limits = {.max_pixels = LIMIT_PIXELS,
                                           .max_edge = LIMIT_EDGE,
                                           .memory_bytes = LIMIT_MEMORY};
    const struct bp_image_child_limits child = {
        .tmp_dir = dir, .memory_bytes = 1L << 30, .cpu_s = 60, .wall_s = 60};
    char fullsize[4096], thumb[4096];
    if (join(fullsize, sizeof(fullsize), dir, "fullsize.jpg") != 0 ||
        join(thumb, sizeof(thumb), dir, "thumb.jpg") != 0)
        return 2;
    struct bp_image_child decoder;
    bp_image_child_init(&decoder);
    size_t resident = 64u << 20;
    char *ballast = malloc(resident);
    double *direct = calloc((size_t)n, sizeof(*direct));
    double *in_child = calloc((size_t)n, sizeof(*in_child));
    int status = 1;
    if (ballast == NULL || direct == NULL || in_child == NULL)
        goto out_free;
    memset(ballast, 1, resident);
    bp_image_setup(&limits);
    for (long i = 0; i < n; i++) {
        for (int mode = 0; mode < 2; mode++) {
            struct bp_image_meta meta;
            struct bp_error err = {{0}};
            unlink(fullsize);
            unlink(thumb);
            double t0 = now_s();
            enum bp_rc rc =
                mode == 0
                    ? bp_image_process(path, &limits, fullsize, thumb, &meta,
                                       &err)
                    : bp_image_process_in_child(&decoder, path, &limits, &child,
                                                fullsize, thumb, &meta, &err);
            (mode == 0 ? direct : in_child)[i] = now_s() - t0;
            if (rc != BP_OK) {
                fprintf(stderr, "bp_bench: child: %s\n", err.detail);
                goto out_free;
            }
        }
    }
    printf("direct_ms %.3f\n", median(direct, n) * 1e3);
    printf("in_child_ms %.3f\n", median(in_child, n) * 1e3);
    printf("cost_ms %.3f\n", (median(in_child, n) - median(direct, n)) * 1e3);
    printf("ballast %d\n", ballast[resident - 1]);
    status = 0;
out_free:
    bp_image_child_close(&decoder);
    free(ballast);
    free(direct);
    free(in_child);
    return status;
}

/* Writes len bytes of data to fd; 0 on success. */
static int write_all(int fd, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, data, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        data += put;
        len -= (size_t)put;
    }
    return 0;
}

/*
 * One store of an original as the service pays for it, without the
 * network: SHA-256 of the bytes, then a new file written and fsynced.
 */
static int store_once(const unsigned char *data, size_t len, const char *path)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len;
    if (EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL) != 1)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    unlink(path);
    return rc;
}

/* Times store_once for path's bytes, n calls, in dir. */
static int cmd_store(const char *path, long n, const char *dir)
{
    char target[4096];
    unsigned char *data;
    size_t len;
    if (join(target, sizeof(target), dir, "store.tmp") != 0)
        return 2;
    if (read_file(path, &data, &len) != 0)
        return 1;
    double *samples = calloc((size_t)n, sizeof(*samples));
    int status = 1;
    if (samples == NULL)
        goto out_free_data;
    for (long i = 0; i < n; i++) {
        double t0 = now_s();
        if (store_once(data, len, target) != 0) {
            fprintf(stderr, "bp_bench: store: %s\n", strerror(errno));
            goto out_free_samples;
        }
        samples[i] = now_s() - t0;
    }
    printf("calls %ld\n", n);
    printf("median_ms %.2f\n", median(samples, n) * 1e3);
    status = 0;
out_free_samples:
    free(samples);
out_free_data:
    free(data);
    return status;
}

/*
 * Prints the size libjpeg decodes path at with the same "jpeg:size" hint
 * as image_proc.c gives (the image's shape, longer edge
 * BP_IMAGE_FULLSIZE_EDGE), read from the header alone.
 */
static int cmd_decsize(const char *path)
{
    MagickWand *wand = NewMagickWand();
    int status = 1;
    if (MagickPingImage(wand, path) == MagickFalse) {
        status = wand_fail(wand, "ping");
        goto out_destroy;
    }
    long w = (long)MagickGetImageWidth(wand);
    long h = (long)MagickGetImageHeight(wand);
    long edge = w > h ? w : h;
    printf("stored %ldx%ld\n", w, h);
    if (edge > BP_IMAGE_FULLSIZE_EDGE) {
        char hint[64];
        snprintf(hint, sizeof(hint), "%ldx%ld",
                 (w * BP_IMAGE_FULLSIZE_EDGE + edge - 1) / edge,
                 (h * BP_IMAGE_FULLSIZE_EDGE + edge - 1) / edge);
        ClearMagickWand(wand);
        MagickSetOption(wand, "jpeg:size", hint);
        if (MagickPingImage(wand, path) == MagickFalse) {
            status = wand_fail(wand, "ping");
            goto out_destroy;
        }
        printf("hint %s\n", hint);
    }
    printf("decoded %zux%zu\n", MagickGetImageWidth(wand),
           MagickGetImageHeight(wand));
    status = 0;
out_destroy:
    DestroyMagickWand(wand);
    return status;
}

/* Copies path to target as durably as the stripped copy is written. */
static int copy_once(const char *path, const char *target, const char *tmp)
{
    unsigned char *data;
    size_t len;
    if (read_file(path, &data, &len) != 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int status = fd < 0 ? -1 : 0;
    for (size_t done = 0; status == 0 && done < len;) {
        ssize_t put = write(fd, data + done, len - done);
        if (put <= 0)
            status = -1;
        else
            done += (size_t)put;
    }
    if (status == 0 && fsync(fd) != 0)
        status = -1;
    if (fd >= 0 && close(fd) != 0)
        status = -1;
    if (status == 0 && rename(tmp, target) != 0)
        status = -1;
    free(data);
    return status;
}

static int cmd_gps(const char *path, long n, const char *dir)
{
    char target[4096], tmp[4096];
    if (join(target, sizeof(target), dir, "gps.out") != 0 ||
        join(tmp, sizeof(tmp), dir, "gps.tmp") != 0)
        return 2;
    double *strip = calloc((size_t)n, sizeof(*strip));
    double *copy = calloc((size_t)n, sizeof(*copy));
    int status = 1;
    if (strip == NULL || copy == NULL)
        goto out_free;
    struct bp_gps_strip_report report = {0};
    for (long i = 0; i < n; i++) {
        double t0 = now_s();
        struct bp_error err = {{0}};
        if (bp_gps_strip_file(path, target, BP_IMAGE_JPEG, 0, &report, &err) !=
            BP_OK) {
            fprintf(stderr, "bp_bench: gps: %s\n", err.detail);
            goto out_free;
        }
        strip[i] = now_s() - t0;
        t0 = now_s();
        if (copy_once(path, target, tmp) != 0) {
            fprintf(stderr, "bp_bench: copy: %s\n", strerror(errno));
            goto out_free;
        }
        copy[i] = now_s() - t0;
    }
    if (report.gps_ifds == 0) {
        fprintf(stderr, "bp_bench: gps: %s has no GPS data\n", path);
        goto out_free;
    }
    printf("calls %ld\n", n);
    printf("gps_ifds %zu\n", report.gps_ifds);
    printf("strip_median_ms %.2f\n", median(strip, n) * 1e3);
    printf("copy_median_ms %.2f\n", median(copy, n) * 1e3);
    status = 0;
out_free:
    free(strip);
    free(copy);
    return status;
}

static int usage(void)
{
    fprintf(stderr, "usage: bp_bench make W H OUT.jpg | exif FILE N | "
                    "proc FILE N DIR | store FILE N DIR | decsize FILE | "
                    "gps FILE N DIR | child FILE N DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1];
    int status;
    MagickWandGenesis();
    if (strcmp(cmd, "make") == 0 && argc == 5) {
        long w = parse_count(argv[2], LIMIT_EDGE);
        long h = parse_count(argv[3], LIMIT_EDGE);
        status = w && h ? cmd_make(w, h, argv[4]) : usage();
    } else if (strcmp(cmd, "exif") == 0 && argc == 4) {
        long n = parse_count(argv[3], MAX_RUNS);
        status = n ? cmd_exif(argv[2], n) : usage();
    } else if (strcmp(cmd, "proc") == 0 && argc == 5) {
        long n = parse_count(argv[3], MAX_RUNS);
        status = n ? cmd_proc(argv[2], n, argv[4]) : usage();
    } else if (strcmp(cmd, "store") == 0 && argc == 5) {
        long n = parse_count(argv[3], MAX_RUNS);
        status = n ? cmd_store(argv[2], n, argv[4]) : usage();
    } else if (strcmp(cmd, "gps") == 0 && argc == 5) {
        long n = parse_count(argv[3], MAX_RUNS);
        status = n ? cmd_gps(argv[2], n, argv[4]) : usage();
    } else if (strcmp(cmd, "child") == 0 && argc == 5) {
        long n = parse_count(argv[3], MAX_RUNS);
        status = n ? cmd_child(argv[2], n, argv[4]) : usage();
    } else if (strcmp(cmd, "decsize") == 0 && argc == 3) {
        status = cmd_decsize(argv[2]);
    } else {
        status = usage();
    }
    MagickWandTerminus();
    return status;
}
