/*
 * filename.c: client file name sanitizing.
 */
#include <string.h>

#include "http/urldecode.h"
#include "model/filename.h"

/* Returns the length of the UTF-8 sequence at s (of len bytes), 0 if bad. */
static size_t sequence_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0 || n > len || !bp_utf8_valid((const char *)s, n))
        return 0;
    return n;
}

void bp_filename_sanitize(const char *raw, const char *fallback,
                          char out[BP_FILENAME_MAX + 1])
{
    size_t used = 0;
    if (raw != NULL) {
        const char *base = raw;
        for (const char *p = raw; *p; p++)
            if (*p == '/' || *p == '\\')
                base = p + 1;
        const unsigned char *s = (const unsigned char *)base;
        size_t left = strlen(base);
        while (left > 0) {
            size_t n = sequence_len(s, left);
            const unsigned char *piece = s;
            size_t piece_len = n;
            /* C0, DEL and C1 controls, and broken bytes, become '_'. */
            if (n == 0 || s[0] < 0x20 || s[0] == 0x7f ||
                (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
                piece = (const unsigned char *)"_";
                piece_len = 1;
                if (n == 0)
                    n = 1;
            }
            if (used + piece_len > BP_FILENAME_MAX)
                break;
            memcpy(out + used, piece, piece_len);
            used += piece_len;
            s += n;
            left -= n;
        }
    }
    out[used] = '\0';
    if (used == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
        size_t len = strlen(fallback);
        if (len > BP_FILENAME_MAX)
            len = BP_FILENAME_MAX;
        memcpy(out, fallback, len);
        out[len] = '\0';
    }
}
