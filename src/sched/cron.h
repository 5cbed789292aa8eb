/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Five-field cron expressions evaluated in an IANA time zone, and the small
 * time zone reader they need.
 *
 * A schedule is a set of local wall-clock minutes. Each matching local
 * minute fires exactly once: at its first occurrence when the clocks go
 * back, and at the first valid instant after the gap when the clocks go
 * forward (several slots inside one gap fire once). See docs/scheduling.md.
 *
 * Time zones are read from TZif files (RFC 8536) under $TZDIR or
 * /usr/share/zoneinfo by our own reader rather than through setenv("TZ") +
 * localtime_r, which would change the zone of every thread in the process.
 * Both struct cron_expr and struct cron_tz are immutable once built, so one
 * object may be used from any number of threads at once; every function here
 * is reentrant and keeps no global state.
 */
#ifndef ROSTERD_SCHED_CRON_H
#define ROSTERD_SCHED_CRON_H

#include <stdint.h>
#include <time.h>

struct cron_expr;
struct cron_tz;

/*
 * Parse a five-field expression "minute hour day-of-month month
 * day-of-week" (or @yearly, @annually, @monthly, @weekly, @daily,
 * @midnight, @hourly). Returns the expression, which the caller frees with
 * cron_free(), or NULL with *cause set to an allocated message naming the
 * field, e.g. `cron "0 25 * * *": field 2 (hour): 25 is out of range 0-23`
 * (the caller frees *cause; cause may be NULL).
 */
struct cron_expr *cron_parse(const char *text, char **cause);
void cron_free(struct cron_expr *);
/* The expression as given to cron_parse(); borrowed. */
const char *cron_text(const struct cron_expr *);

/*
 * The first fire time strictly after `after` in zone tz. Returns 0 and sets
 * *next, or -1 when there is none representable (beyond year 9999).
 */
int cron_next(const struct cron_expr *, const struct cron_tz *, time_t after,
              time_t *next);

/*
 * Whether at least one slot fell in (last_run, now] - the job was missed
 * (or is due right now) and should run once, however many slots passed.
 * Returns 1 or 0; 0 when now <= last_run.
 */
int cron_missed(const struct cron_expr *, const struct cron_tz *,
                time_t last_run, time_t now);

/*
 * Load an IANA zone ("America/New_York", "UTC") from $TZDIR or
 * /usr/share/zoneinfo. Returns the zone (free with cron_tz_free()) or NULL
 * with an allocated *cause. Names with "..", a leading "/" or characters
 * outside [A-Za-z0-9/_+.-] are refused. "UTC", "Etc/UTC" and "GMT" work
 * even without tzdata installed.
 */
struct cron_tz *cron_tz_load(const char *name, char **cause);
/* Parse TZif bytes (v1 to v4; leap-second files are refused). */
struct cron_tz *cron_tz_from_tzif(const char *name, const void *data,
                                  size_t len, char **cause);
/* A new UTC zone. */
struct cron_tz *cron_tz_utc(void);
/* A deep copy, owned by the caller. */
struct cron_tz *cron_tz_dup(const struct cron_tz *);
void cron_tz_free(struct cron_tz *);
/* The name given at load time; borrowed. */
const char *cron_tz_name(const struct cron_tz *);

/* The UTC offset in seconds (east positive) in force at instant t. */
int32_t cron_tz_offset(const struct cron_tz *, time_t t);

/*
 * Break t down into local time: tm_year..tm_sec, tm_wday, tm_yday,
 * tm_isdst, tm_gmtoff and tm_zone (the abbreviation, borrowed from the
 * zone). Returns 0, or -1 when the year does not fit in an int.
 */
int cron_tz_localtime(const struct cron_tz *, time_t t, struct tm *out);

/* The local calendar date of t as days since 1970-01-01 (may be < 0). */
int64_t cron_tz_day(const struct cron_tz *, time_t t);

#endif
