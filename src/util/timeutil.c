/* mailferry - clocks and date formats */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>

#include "util/timeutil.h"

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void time_rfc3339(char *out, size_t n, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_rfc3339_now(char *out, size_t n)
{
	time_rfc3339(out, n, time(NULL));
}

int time_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, consumed = 0, oh = 0, om = 0;
	long off = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
		return -1;
	p = s + consumed;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -1;
		off = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	return 0;
}

static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int parse_digits(const char **p, const char *end, int ndig, int *val)
{
	int v = 0;

	for (int i = 0; i < ndig; i++) {
		if (*p >= end || !isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*val = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int imap_date_parse(const char *s, size_t n, int64_t *epoch)
{
	const char *p = s, *end = s + n;
	struct tm tm = {0};
	int day, year, h, m, sec, oh, om, mon = -1;
	char sign;

	if (p < end && *p == ' ')
		p++;
	if (p < end && isdigit((unsigned char)*p) && (p + 1 >= end || p[1] == '-')) {
		if (parse_digits(&p, end, 1, &day))
			return -1;
	} else if (parse_digits(&p, end, 2, &day)) {
		return -1;
	}
	if (expect(&p, end, '-') || end - p < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (!strncasecmp(p, months[i], 3))
			mon = i;
	if (mon < 0)
		return -1;
	p += 3;
	if (expect(&p, end, '-') || parse_digits(&p, end, 4, &year) || expect(&p, end, ' ') ||
	    parse_digits(&p, end, 2, &h) || expect(&p, end, ':') || parse_digits(&p, end, 2, &m) ||
	    expect(&p, end, ':') || parse_digits(&p, end, 2, &sec) || expect(&p, end, ' '))
		return -1;
	if (p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++;
	if (parse_digits(&p, end, 2, &oh) || parse_digits(&p, end, 2, &om) || p != end)
		return -1;
	if (day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || om > 59)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*epoch = (int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60);
	return 0;
}

void imap_date_format(char *out, size_t n, int64_t epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void format_duration(char *out, size_t n, int64_t s)
{
	if (s < 0)
		snprintf(out, n, "--");
	else if (s >= 86400)
		snprintf(out, n, "%lldd %02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, n, "%lldh %02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, n, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, n, "%llds", (long long)s);
}

void format_bytes(char *out, size_t n, uint64_t b)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
	double v = (double)b;
	int u = 0;

	while (v >= 1000.0 && u < 4) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%llu B", (unsigned long long)b);
	else
		snprintf(out, n, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}
