/*
 * jpeg_encode.c: RGB pixels to a JPEG file through libjpeg(-turbo).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#include "media/jpeg_encode.h"

struct encode_errors {
    struct jpeg_error_mgr pub;
    jmp_buf escape;
};

static void on_error(j_common_ptr cinfo)
{
    longjmp(((struct encode_errors *)cinfo->err)->escape, 1);
}

int bp_gallery_output_open(const char *path, bool create)
{
    return create ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)
                  : open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
}

enum bp_rc bp_jpeg_encode(const struct bp_rgb_image *image, int quality,
                          const unsigned char *icc, size_t icc_len,
                          const char *path, bool create, struct bp_error *err)
{
    int fd = bp_gallery_output_open(path, create);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (out == NULL) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                            "Cannot write a gallery image");
    }
    struct jpeg_compress_struct cinfo;
    struct encode_errors errors;
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = on_error;
    if (setjmp(errors.escape) != 0) {
        jpeg_destroy_compress(&cinfo);
        fclose(out);
        unlink(path);
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                            "Cannot write a gallery image");
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, out);
    cinfo.image_width = (JDIMENSION)image->width;
    cinfo.image_height = (JDIMENSION)image->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    if (icc != NULL)
        jpeg_write_icc_profile(&cinfo, icc, (unsigned int)icc_len);
    size_t row = image->width * 3;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW line = image->rgb + (size_t)cinfo.next_scanline * row;
        jpeg_write_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fflush(out) != 0 || ferror(out)) {
        fclose(out);
        unlink(path);
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                            "Cannot write a gallery image");
    }
    if (fclose(out) != 0) {
        unlink(path);
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                            "Cannot write a gallery image");
    }
    return BP_OK;
}
