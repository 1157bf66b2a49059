/* mailferry - clocks and date formats
 *
 * Rates, ETAs and timeouts use the monotonic clock (a stepped wall clock must
 * not disturb them); timestamps written anywhere are RFC 3339 in UTC.
 */
#ifndef MF_UTIL_TIMEUTIL_H
#define MF_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t mono_ms(void);
int64_t wall_ms(void);
void sleep_ms(long ms);
/* "2026-11-22T04:40:31Z"; out needs 21 bytes at least. */
void time_rfc3339(char *out, size_t n, time_t t);
void time_rfc3339_now(char *out, size_t n);
/* Parses RFC 3339 (UTC "Z" or +hh:mm offsets); -1 on error. */
int time_parse_rfc3339(const char *s, time_t *out);

/* IMAP date-time, RFC 3501: "01-Jan-2020 10:00:00 +0000" (day may be " 1").
 * Parses into seconds since the epoch (UTC).  0 or -1. */
int imap_date_parse(const char *s, size_t n, int64_t *epoch);
/* Formats epoch as an IMAP date-time in UTC; out needs 27 bytes. */
void imap_date_format(char *out, size_t n, int64_t epoch);

/* "1h 02m", "3m 05s", "12s" for durations; out needs 16 bytes. */
void format_duration(char *out, size_t n, int64_t seconds);
/* "1.2 GB", "340 KB", "12 B"; out needs 16 bytes. */
void format_bytes(char *out, size_t n, uint64_t bytes);

#endif
