/*
 * urldecode.c: percent-decoding and hex digits for text that comes from
 * URLs (UTF-8 checks are in utf8.c).
 */
#include <string.h>

#include "http/urldecode.h"

int bp_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void bp_hex_encode(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

enum bp_rc bp_url_decode(const char *text, size_t len, bool plus_is_space,
                         struct bp_buf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%') {
            if (len - i < 3)
                return BP_EINVAL;
            int hi = bp_hex_value(text[i + 1]), lo = bp_hex_value(text[i + 2]);
            if (hi < 0 || lo < 0)
                return BP_EINVAL;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f)
            return BP_EINVAL;
        enum bp_rc rc = bp_buf_append(out, &c, 1);
        if (rc != BP_OK)
            return rc;
    }
    if (out->data == NULL)
        return bp_buf_append(out, "", 0);
    return bp_utf8_valid(out->data + start, out->len - start) ? BP_OK
                                                              : BP_EINVAL;
}
