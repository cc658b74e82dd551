/*
 * buf.c: the capped growable byte buffer.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void bp_buf_init(struct bp_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max == 0 ? SIZE_MAX - 1 : max;
}

void bp_buf_free(struct bp_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void bp_buf_reset(struct bp_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL terminator. */
static enum bp_rc reserve(struct bp_buf *buf, size_t extra)
{
    if (extra > buf->max - buf->len)
        return BP_ETOOBIG;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return BP_OK;
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *grown = realloc(buf->data, cap);
    if (grown == NULL)
        return BP_ENOMEM;
    buf->data = grown;
    buf->cap = cap;
    return BP_OK;
}

enum bp_rc bp_buf_append(struct bp_buf *buf, const void *bytes, size_t len)
{
    enum bp_rc rc = reserve(buf, len);
    if (rc != BP_OK)
        return rc;
    if (len > 0)
        memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return BP_OK;
}

enum bp_rc bp_buf_append_str(struct bp_buf *buf, const char *str)
{
    return bp_buf_append(buf, str, strlen(str));
}

enum bp_rc bp_buf_printf(struct bp_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int needed = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (needed < 0)
        return BP_EINTERNAL;
    enum bp_rc rc = reserve(buf, (size_t)needed);
    if (rc != BP_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)needed + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)needed;
    return BP_OK;
}

enum bp_rc bp_buf_append_uri_component(struct bp_buf *buf, const char *str)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        enum bp_rc rc;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            rc = bp_buf_append(buf, p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = bp_buf_append(buf, enc, sizeof(enc));
        }
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}
