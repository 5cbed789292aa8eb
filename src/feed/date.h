/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Calendar dates for feeds: parsing YYYY-MM-DD and xsd:dateTime values,
 * formatting with a small strftime subset that does not depend on the
 * locale or the time zone, day arithmetic for look-back windows, and the
 * run clock (--as-of, ROSTERD_NOW, else the real time in UTC).
 */
#ifndef ROSTERD_FEED_DATE_H
#define ROSTERD_FEED_DATE_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "util/buf.h"

struct feed_date {
	int y, m, d;
	int hh, mm, ss;
};

/*
 * Parse "YYYY-MM-DD", optionally followed by "T" and a time (the
 * dateTime's own calendar date is taken, whatever its offset). Returns 0,
 * or -1 for anything else or an impossible date.
 */
int feed_date_parse(const char *s, struct feed_date *out);

/*
 * Which conversions a format may use: %Y %y %m %d %j (and with `clock`
 * %H %M %S) and %%. NULL when fmt is valid, else a static message.
 */
const char *feed_date_format_check(const char *fmt, bool clock);
/* Append d formatted by fmt (already checked) to out. */
void feed_date_format(const char *fmt, const struct feed_date *d,
                      struct buf *out);

/* Days since 1970-01-01. */
int64_t feed_date_days(const struct feed_date *);

/*
 * Wall time: $ROSTERD_NOW (an RFC 3339 date-time, or a date) when set,
 * else now in UTC. Returns 0, or -1 with *why (static).
 */
int feed_date_now(struct feed_date *out, const char **why);

/*
 * The run clock, the only time that enters a file: as_of (YYYY-MM-DD)
 * at 00:00:00 when given, else the wall time. Returns 0, or -1 with
 * *why (static) for a bad as_of or ROSTERD_NOW.
 */
int feed_date_clock(const char *as_of, struct feed_date *out, const char **why);

/* "YYYY-MM-DD" into buf (>= 11 bytes); "YYYY-MM-DDTHH:MM:SSZ" (>= 21). */
void feed_date_str(const struct feed_date *, char *buf, size_t len);
void feed_date_stamp(const struct feed_date *, char *buf, size_t len);

#endif
