/*
 * timeutil.h: wall-clock times as milliseconds since the Unix epoch, and
 * their ISO 8601 text form (UTC, milliseconds, 'Z').
 */
#ifndef BP_TIMEUTIL_H
#define BP_TIMEUTIL_H

#include <stdint.h>

#include "rc.h"

/* "2024-05-01T20:15:03.123Z" plus NUL. */
#define BP_TIME_ISO_LEN 25

/* Returns the current time in milliseconds since the epoch. */
int64_t bp_time_now_ms(void);

/* Formats ms as UTC ISO 8601 with milliseconds and 'Z' into out. */
void bp_time_format_iso(int64_t ms, char out[BP_TIME_ISO_LEN]);

/* Writes the UTC date of ms as "YYYY-MM-DD" into out. */
void bp_time_format_date(int64_t ms, char out[11]);

/*
 * Parses an ISO 8601 date-time ("2024-05-01T20:15:03", optional
 * fraction, optional 'Z' or +hh:mm offset; without one it is taken as
 * UTC) or a date ("2024-05-01") into milliseconds. Returns BP_EINVAL for
 * anything else.
 */
enum bp_rc bp_time_parse_iso(const char *text, int64_t *out_ms);

#endif
