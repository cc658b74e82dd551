/*
 * test_image_sniff.c: format recognition by magic bytes, on crafted
 * headers and on the real camera files of the shared corpus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "media/image_sniff.h"

#define SNIFF(bytes)                                                           \
    bp_image_sniff((const unsigned char *)(bytes), sizeof(bytes) - 1)

static void test_bp_image_sniff_magic_numbers(void **state)
{
    assert_int_equal(SNIFF("\xff\xd8\xff\xe1\0\0Exif"), BP_IMAGE_JPEG);
    assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), BP_IMAGE_PNG);
    assert_int_equal(SNIFF("RIFF\x10\0\0\0WEBPVP8 "), BP_IMAGE_WEBP);
    assert_int_equal(SNIFF("II*\0\x08\0\0\0"), BP_IMAGE_TIFF);
    assert_int_equal(SNIFF("MM\0*\0\0\0\x08"), BP_IMAGE_TIFF);
    assert_int_equal(SNIFF("\0\0\0\x18"
                           "ftypheic\0\0\0\0heicmif1"),
                     BP_IMAGE_HEIC);
    assert_int_equal(SNIFF("\0\0\0\x18"
                           "ftypmif1\0\0\0\0mif1heic"),
                     BP_IMAGE_HEIC);
    assert_int_equal(SNIFF("\0\0\0\x14"
                           "ftypmif1\0\0\0\0mif1"),
                     BP_IMAGE_HEIF);
}

static void test_bp_image_sniff_refuses_others(void **state)
{
    assert_int_equal(SNIFF("GIF89a"), BP_IMAGE_UNKNOWN);
    assert_int_equal(SNIFF("%PDF-1.7"), BP_IMAGE_UNKNOWN);
    assert_int_equal(SNIFF("<svg xmlns="), BP_IMAGE_UNKNOWN);
    assert_int_equal(SNIFF("RIFF\x10\0\0\0WAVEfmt "), BP_IMAGE_UNKNOWN);
    /* An MP4 is ISO BMFF too, with video brands. */
    assert_int_equal(SNIFF("\0\0\0\x18"
                           "ftypisom\0\0\0\0isommp41"),
                     BP_IMAGE_UNKNOWN);
    /* AVIF is not among the accepted formats. */
    assert_int_equal(SNIFF("\0\0\0\x18"
                           "ftypavif\0\0\0\0avifmiaf"),
                     BP_IMAGE_UNKNOWN);
    /* Truncated headers. */
    assert_int_equal(SNIFF("\xff\xd8"), BP_IMAGE_UNKNOWN);
    assert_int_equal(SNIFF("\x89PNG"), BP_IMAGE_UNKNOWN);
    assert_int_equal(SNIFF("\0\0\0\x18"
                           "ftyp"),
                     BP_IMAGE_UNKNOWN);
    assert_int_equal(bp_image_sniff(NULL, 0), BP_IMAGE_UNKNOWN);
}

static void test_bp_image_mime_type_and_coder(void **state)
{
    assert_string_equal(bp_image_mime_type(BP_IMAGE_JPEG), "image/jpeg");
    assert_string_equal(bp_image_mime_type(BP_IMAGE_HEIC), "image/heic");
    assert_string_equal(bp_image_mime_type(BP_IMAGE_HEIF), "image/heif");
    assert_string_equal(bp_image_mime_type(BP_IMAGE_TIFF), "image/tiff");
    assert_null(bp_image_mime_type(BP_IMAGE_UNKNOWN));
    assert_string_equal(bp_image_coder(BP_IMAGE_WEBP), "WEBP");
    assert_string_equal(bp_image_coder(BP_IMAGE_HEIF), "HEIC");
    assert_null(bp_image_coder(BP_IMAGE_UNKNOWN));
}

/* Returns the corpus folder, or NULL when it is not there. */
static const char *corpus_dir(void)
{
    const char *dir = getenv("BANDPICS_CORPUS");
    if (dir == NULL)
        dir = BANDPICS_SRCDIR "/../shared/corpus";
    char probe[512];
    snprintf(probe, sizeof(probe), "%s/exif-samples.expected.json", dir);
    FILE *f = fopen(probe, "r");
    if (f == NULL)
        return NULL;
    fclose(f);
    return dir;
}

static void test_bp_image_sniff_corpus_files(void **state)
{
    const char *dir = corpus_dir();
    if (dir == NULL) {
        printf("# corpus not found (set BANDPICS_CORPUS or place it at "
               "../shared/corpus); corpus sniffing not checked\n");
        return;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/exif-samples.expected.json", dir);
    struct json_object *expected = json_object_from_file(path);
    assert_non_null(expected);
    int checked = 0;
    json_object_object_foreach(expected, name, entry)
    {
        struct json_object *mime;
        if (!json_object_object_get_ex(entry, "mime_type", &mime) ||
            json_object_get_type(mime) != json_type_string)
            continue;
        snprintf(path, sizeof(path), "%s/exif-samples/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue; /* listed but absent from this copy */
        unsigned char head[BP_IMAGE_SNIFF_LEN];
        size_t got = fread(head, 1, sizeof(head), f);
        fclose(f);
        const char *want = json_object_get_string(mime);
        const char *have = bp_image_mime_type(bp_image_sniff(head, got));
        if (have == NULL || strcmp(have, want) != 0)
            fail_msg("%s: sniffed %s, exiftool says %s", name,
                     have ? have : "nothing", want);
        checked++;
    }
    json_object_put(expected);
    printf("# sniffed %d corpus files\n", checked);
    assert_true(checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_image_sniff_magic_numbers),
        cmocka_unit_test(test_bp_image_sniff_refuses_others),
        cmocka_unit_test(test_bp_image_mime_type_and_coder),
        cmocka_unit_test(test_bp_image_sniff_corpus_files),
    };
    return cmocka_run_group_tests_name("image_sniff", tests, NULL, NULL);
}
