/*
 * mkimage.c: a test tool that writes a small synthetic image with
 * MagickWand, so that the integration tests need no image files of their
 * own: mkimage WIDTH HEIGHT OUTPUT (the format follows OUTPUT's
 * extension: .jpg, .png, .webp, .tif, .gif).
 */
#include <stdio.h>
#include <stdlib.h>

#include <wand/MagickWand.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mkimage WIDTH HEIGHT OUTPUT\n");
        return 2;
    }
    char *end;
    long width = strtol(argv[1], &end, 10);
    long height = strtol(argv[2], &end, 10);
    if (width <= 0 || height <= 0)
        return 2;
    MagickWandGenesis();
    MagickWand *wand = NewMagickWand();
    int status = 1;
    /* A gradient, so that encoders have something to encode. */
    if (MagickReadImage(wand, "gradient:#3060c0-#f0d020") == MagickFalse)
        goto out_destroy;
    if (MagickResizeImage(wand, (size_t)width, (size_t)height, LanczosFilter,
                          1.0) == MagickFalse ||
        MagickStripImage(wand) == MagickFalse ||
        MagickWriteImage(wand, argv[3]) == MagickFalse)
        goto out_destroy;
    status = 0;
out_destroy:
    if (status != 0) {
        ExceptionType severity;
        char *message = MagickGetException(wand, &severity);
        fprintf(stderr, "mkimage: %s\n", message);
        MagickRelinquishMemory(message);
    }
    DestroyMagickWand(wand);
    MagickWandTerminus();
    return status;
}
