/*
 * timeutil.c: clock reading and ISO 8601 formatting and parsing.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model/timeutil.h"

int64_t bp_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void split(int64_t ms, struct tm *tm, int *millis)
{
    int64_t secs = ms / 1000;
    int rem = (int)(ms % 1000);
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
    *millis = rem;
}

/* Writes value as width decimal digits at out; returns the end. */
static char *put_digits(char *out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

void bp_time_format_iso(int64_t ms, char out[BP_TIME_ISO_LEN])
{
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        /* Outside what four digits hold: the slow, general way. */
        size_t len = strftime(out, BP_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + len, BP_TIME_ISO_LEN - len, ".%03uZ",
                 (unsigned)millis % 1000u);
        return;
    }
    /* Written digit by digit: this runs for every time in every answer
     * and log line, and strftime costs a locale lookup each call. */
    char *p = put_digits(out, (unsigned)year, 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)millis % 1000u, 3);
    *p++ = 'Z';
    *p = '\0';
}

void bp_time_format_date(int64_t ms, char out[11])
{
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    if (strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        out[0] = '\0';
}

/* Reads exactly n digits at *p into *out and advances *p. */
static int digits(const char **p, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 ? 28 + leap : days[month - 1];
}

enum bp_rc bp_time_parse_iso(const char *text, int64_t *out_ms)
{
    const char *p = text;
    int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
    if (digits(&p, 4, &year) || *p++ != '-' || digits(&p, 2, &month) ||
        *p++ != '-' || digits(&p, 2, &day))
        return BP_EINVAL;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return BP_EINVAL;
    int offset_min = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &hour) || *p++ != ':' || digits(&p, 2, &minute))
            return BP_EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &second))
                return BP_EINVAL;
            if (*p == '.') {
                p++;
                int scale = 100, n = 0;
                while (isdigit((unsigned char)*p)) {
                    if (n++ < 3)
                        millis += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
                if (n == 0)
                    return BP_EINVAL;
            }
        }
        if (hour > 23 || minute > 59 || second > 60)
            return BP_EINVAL;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh))
                return BP_EINVAL;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 23 || om > 59)
                return BP_EINVAL;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return BP_EINVAL;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second};
    int64_t secs = (int64_t)timegm(&tm) - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + millis;
    return BP_OK;
}
