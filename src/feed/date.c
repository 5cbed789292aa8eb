/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Calendar dates for feeds: parse, format, count days, read the clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed/date.h"

static bool
digits(const char *s, int n, int *out)
{
	int i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int y, int m)
{
	static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : n[m - 1];
}

static int
parse_time(const char *s, struct feed_date *d)
{
	if (strlen(s) < 8 || s[2] != ':' || s[5] != ':' ||
	    !digits(s, 2, &d->hh) || !digits(s + 3, 2, &d->mm) ||
	    !digits(s + 6, 2, &d->ss) || d->hh > 23 || d->mm > 59 || d->ss > 60)
		return -1;
	return 0;
}

int
feed_date_parse(const char *s, struct feed_date *d)
{
	memset(d, 0, sizeof(*d));
	if (s == NULL || strlen(s) < 10 || s[4] != '-' || s[7] != '-' ||
	    !digits(s, 4, &d->y) || !digits(s + 5, 2, &d->m) ||
	    !digits(s + 8, 2, &d->d))
		return -1;
	if (d->y < 1 || d->m < 1 || d->m > 12 || d->d < 1 ||
	    d->d > mdays(d->y, d->m))
		return -1;
	if (s[10] == '\0')
		return 0;
	if (s[10] != 'T' && s[10] != 't')
		return -1;
	return parse_time(s + 11, d);
}

const char *
feed_date_format_check(const char *fmt, bool clock)
{
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%')
			continue;
		fmt++;
		if (*fmt == '\0')
			return "a lone % ends the format";
		if (strchr("Yymdj%", *fmt) != NULL)
			continue;
		if (clock && strchr("HMS", *fmt) != NULL)
			continue;
		return clock ? "only %Y %y %m %d %j %H %M %S and %% are allowed"
		             : "only %Y %y %m %d %j and %% are allowed";
	}
	return NULL;
}

static int
yday(const struct feed_date *d)
{
	int m, n = d->d;

	for (m = 1; m < d->m; m++)
		n += mdays(d->y, m);
	return n;
}

/* n as exactly `width` digits (the low ones), without printf. */
static void
add_num(struct buf *out, int n, int width)
{
	char d[8];
	int i;

	if (n < 0)
		n = 0;
	for (i = width - 1; i >= 0; i--) {
		d[i] = (char)('0' + n % 10);
		n /= 10;
	}
	buf_add(out, d, (size_t)width);
}

void
feed_date_format(const char *fmt, const struct feed_date *d, struct buf *out)
{
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%' || fmt[1] == '\0') {
			buf_addch(out, *fmt);
			continue;
		}
		switch (*++fmt) {
		case 'Y':
			add_num(out, d->y, 4);
			break;
		case 'y':
			add_num(out, d->y % 100, 2);
			break;
		case 'm':
			add_num(out, d->m, 2);
			break;
		case 'd':
			add_num(out, d->d, 2);
			break;
		case 'j':
			add_num(out, yday(d), 3);
			break;
		case 'H':
			add_num(out, d->hh, 2);
			break;
		case 'M':
			add_num(out, d->mm, 2);
			break;
		case 'S':
			add_num(out, d->ss, 2);
			break;
		default:
			buf_addch(out, *fmt);
			break;
		}
	}
}

/* Howard Hinnant's days_from_civil. */
int64_t
feed_date_days(const struct feed_date *d)
{
	int64_t y = d->m <= 2 ? d->y - 1 : d->y;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (d->m + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d->d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int
feed_date_now(struct feed_date *out, const char **why)
{
	const char *env = getenv("ROSTERD_NOW");
	struct tm tm;
	time_t t;

	if (env != NULL && *env != '\0') {
		if (feed_date_parse(env, out) == -1) {
			*why = "ROSTERD_NOW must be a date-time, "
			       "YYYY-MM-DDTHH:MM:SSZ";
			return -1;
		}
		return 0;
	}
	t = time(NULL);
	gmtime_r(&t, &tm);
	out->y = tm.tm_year + 1900;
	out->m = tm.tm_mon + 1;
	out->d = tm.tm_mday;
	out->hh = tm.tm_hour;
	out->mm = tm.tm_min;
	out->ss = tm.tm_sec;
	return 0;
}

int
feed_date_clock(const char *as_of, struct feed_date *out, const char **why)
{
	if (as_of == NULL)
		return feed_date_now(out, why);
	if (strlen(as_of) != 10 || feed_date_parse(as_of, out) == -1) {
		*why = "--as-of is not a date (YYYY-MM-DD)";
		return -1;
	}
	return 0;
}

void
feed_date_str(const struct feed_date *d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", d->y, d->m, d->d);
}

void
feed_date_stamp(const struct feed_date *d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", d->y, d->m, d->d,
	         d->hh, d->mm, d->ss);
}
