/*
 * jpeg_decode.c: a JPEG decoded by libjpeg(-turbo) at an M/8 scale into
 * RGB pixels, with its ICC profile and EXIF block kept.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "media/jpeg_decode.h"

/* libjpeg's error manager, with a way out and what its warnings said. */
struct decode_errors {
    struct jpeg_error_mgr pub;
    jmp_buf escape;
    int truncated; /* the scan data ended early (libjpeg fills in grey) */
};

static void on_error(j_common_ptr cinfo)
{
    struct decode_errors *errors = (struct decode_errors *)cinfo->err;
    longjmp(errors->escape, 1);
}

/*
 * Of the corrupt-data warnings two mean missing pixels, which libjpeg
 * fills in with grey: the file ends early (JWRN_JPEG_EOF), or the scan
 * data ends before the declared size is covered (JWRN_HIT_MARKER, the
 * next marker comes too soon: a header that claims more pixels than the
 * data holds). The others (extraneous bytes before a marker) leave a
 * whole picture and are common in camera files.
 */
static void on_message(j_common_ptr cinfo, int level)
{
    struct decode_errors *errors = (struct decode_errors *)cinfo->err;
    if (level < 0 && (cinfo->err->msg_code == JWRN_JPEG_EOF ||
                      cinfo->err->msg_code == JWRN_HIT_MARKER))
        errors->truncated = 1;
}

/* The numerator of the smallest scale M/8 keeping edge at least min_edge. */
static unsigned scale_for(long edge, long min_edge)
{
    if (edge <= min_edge)
        return 8;
    for (unsigned num = 1; num < 8; num++)
        if (((long long)edge * num + 7) / 8 >= min_edge)
            return num;
    return 8;
}

/* Copies the first EXIF APP1 segment's body into out, if there is one. */
static enum bp_rc keep_exif(const struct jpeg_decompress_struct *cinfo,
                            struct bp_jpeg_image *out)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length <= 6 ||
            memcmp(m->data, "Exif\0\0", 6) != 0)
            continue;
        out->exif = malloc(m->data_length);
        if (out->exif == NULL)
            return BP_ENOMEM;
        memcpy(out->exif, m->data, m->data_length);
        out->exif_len = m->data_length;
        return BP_OK;
    }
    return BP_OK;
}

enum bp_rc bp_jpeg_decode(FILE *in, long min_edge, struct bp_jpeg_image *out,
                          struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (fseek(in, 0, SEEK_SET) != 0)
        return bp_error_set(err, BP_EIO, "Cannot read the image");
    struct jpeg_decompress_struct cinfo;
    struct decode_errors errors;
    memset(&errors, 0, sizeof(errors));
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = on_error;
    errors.pub.emit_message = on_message;
    if (setjmp(errors.escape) != 0) {
        jpeg_destroy_decompress(&cinfo);
        bp_jpeg_image_free(out);
        return bp_error_set(err, BP_EINVAL, "Image is truncated or corrupt");
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, in);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK ||
        cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return bp_error_set(err, BP_EUNSUPPORTED, "CMYK JPEG");
    }
    long edge =
        (long)(cinfo.image_width > cinfo.image_height ? cinfo.image_width
                                                      : cinfo.image_height);
    cinfo.scale_num = scale_for(edge, min_edge);
    cinfo.scale_denom = 8;
    cinfo.out_color_space = JCS_RGB;
    enum bp_rc rc = keep_exif(&cinfo, out);
    JOCTET *icc = NULL;
    unsigned int icc_len = 0;
    if (rc == BP_OK && jpeg_read_icc_profile(&cinfo, &icc, &icc_len)) {
        out->icc = icc;
        out->icc_len = icc_len;
    }
    if (rc != BP_OK) {
        jpeg_destroy_decompress(&cinfo);
        bp_jpeg_image_free(out);
        return bp_error_set(err, rc, "Out of memory");
    }
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * 3;
    if (cinfo.output_height > 0 && row > SIZE_MAX / cinfo.output_height)
        rc = BP_ENOMEM;
    else if ((out->rgb = malloc(row * cinfo.output_height + 1)) == NULL)
        rc = BP_ENOMEM;
    if (rc != BP_OK) {
        jpeg_destroy_decompress(&cinfo);
        bp_jpeg_image_free(out);
        return bp_error_set(err, rc, "Image is too large to decode");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW line = out->rgb + (size_t)cinfo.output_scanline * row;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    out->width = cinfo.output_width;
    out->height = cinfo.output_height;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (errors.truncated) {
        bp_jpeg_image_free(out);
        return bp_error_set(err, BP_EINVAL, "Image is truncated or corrupt");
    }
    return BP_OK;
}

void bp_jpeg_image_free(struct bp_jpeg_image *image)
{
    free(image->rgb);
    free(image->icc);
    free(image->exif);
    memset(image, 0, sizeof(*image));
}
