/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for cron expressions and time zones in src/sched/cron.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched/cron.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define ZONEINFO "/usr/share/zoneinfo"

/* "YYYY-MM-DD HH:MM[:SS]" read as UTC. */
static time_t
utc(const char *s)
{
	struct tm tm;
	int n, sec = 0;

	memset(&tm, 0, sizeof(tm));
	n = sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &sec);
	assert_true(n >= 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	return timegm(&tm);
}

static void
add_local(struct buf *b, const struct cron_tz *tz, time_t t)
{
	struct tm tm;

	assert_int_equal(cron_tz_localtime(tz, t, &tm), 0);
	buf_addf(b, "%04d-%02d-%02d %02d:%02d %s", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_zone);
}

/*
 * The next n fire times of expr in zone after the UTC instant `after`, as
 * local times ("2026-03-08 03:00 EDT"), joined with ", ". Caller frees.
 */
static char *
fires(const char *expr, const char *zone, const char *after, int n)
{
	struct cron_expr *e;
	struct cron_tz *tz;
	struct buf b;
	char *cause = NULL;
	time_t t = utc(after);
	int i;

	e = cron_parse(expr, &cause);
	if (e == NULL)
		fail_msg("%s", cause);
	tz = cron_tz_load(zone, &cause);
	if (tz == NULL)
		fail_msg("%s", cause);
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(cron_next(e, tz, t, &t), 0);
		if (i > 0)
			buf_addstr(&b, ", ");
		add_local(&b, tz, t);
	}
	cron_free(e);
	cron_tz_free(tz);
	return buf_detach(&b);
}

#define assert_fires(expr, zone, after, n, want)                               \
	do {                                                                   \
		char *got_ = fires(expr, zone, after, n);                      \
		assert_string_equal(got_, want);                               \
		free(got_);                                                    \
	} while (0)

/* The UTC instant of the next fire, "YYYY-MM-DD HH:MM" UTC. */
static void
assert_next_utc(const char *expr, const char *zone, const char *after,
                const char *want)
{
	char *cause = NULL;
	struct cron_expr *e = cron_parse(expr, &cause);
	struct cron_tz *tz = cron_tz_load(zone, &cause);
	time_t t;

	assert_non_null(e);
	assert_non_null(tz);
	assert_int_equal(cron_next(e, tz, utc(after), &t), 0);
	assert_int_equal(t, utc(want));
	cron_free(e);
	cron_tz_free(tz);
}

static void
assert_parse_error(const char *expr, const char *want)
{
	char *cause = NULL;
	struct cron_expr *e = cron_parse(expr, &cause);

	assert_null(e);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

static int
setup(void **state)
{
	/* Every zone below comes from the system's tzdata. */
	setenv("TZDIR", ZONEINFO, 1);
	return 0;
}

/*--- parsing ---*/

static void
test_parse_steps_ranges_lists(void **state)
{
	assert_fires("*/15 * * * *", "UTC", "2026-01-01 00:00", 5,
	             "2026-01-01 00:15 UTC, 2026-01-01 00:30 UTC, "
	             "2026-01-01 00:45 UTC, 2026-01-01 01:00 UTC, "
	             "2026-01-01 01:15 UTC");
	assert_fires("1-5/2 * * * *", "UTC", "2026-01-01 00:00", 4,
	             "2026-01-01 00:01 UTC, 2026-01-01 00:03 UTC, "
	             "2026-01-01 00:05 UTC, 2026-01-01 01:01 UTC");
	assert_fires("5,10-12,*/30 * * * *", "UTC", "2026-01-01 00:00", 7,
	             "2026-01-01 00:05 UTC, 2026-01-01 00:10 UTC, "
	             "2026-01-01 00:11 UTC, 2026-01-01 00:12 UTC, "
	             "2026-01-01 00:30 UTC, 2026-01-01 01:00 UTC, "
	             "2026-01-01 01:05 UTC");
	/* A step restarts every hour: 56 is followed by :00, not :03. */
	assert_fires("*/7 * * * *", "UTC", "2026-01-01 00:55", 2,
	             "2026-01-01 00:56 UTC, 2026-01-01 01:00 UTC");
	assert_fires("0 */5 * * *", "UTC", "2026-01-01 00:00", 5,
	             "2026-01-01 05:00 UTC, 2026-01-01 10:00 UTC, "
	             "2026-01-01 15:00 UTC, 2026-01-01 20:00 UTC, "
	             "2026-01-02 00:00 UTC");
	/* "a/n" runs from a to the end of the range. */
	assert_fires("0 12 1/10 * *", "UTC", "2026-01-01 13:00", 4,
	             "2026-01-11 12:00 UTC, 2026-01-21 12:00 UTC, "
	             "2026-01-31 12:00 UTC, 2026-02-01 12:00 UTC");
	/* Extra blanks and tabs around fields are fine. */
	assert_fires(" \t0  0\t1 1 *  ", "UTC", "2026-01-01 00:00", 1,
	             "2027-01-01 00:00 UTC");
}

static void
test_parse_names(void **state)
{
	/* 2026-01-01 is a Thursday. */
	assert_fires("0 9 * * MON-FRI", "UTC", "2026-01-01 00:00", 4,
	             "2026-01-01 09:00 UTC, 2026-01-02 09:00 UTC, "
	             "2026-01-05 09:00 UTC, 2026-01-06 09:00 UTC");
	assert_fires("0 0 1 jan,Jul *", "UTC", "2026-01-01 00:00", 2,
	             "2026-07-01 00:00 UTC, 2027-01-01 00:00 UTC");
	assert_fires("0 0 1 MAR-MAY/2 *", "UTC", "2026-01-01 00:00", 3,
	             "2026-03-01 00:00 UTC, 2026-05-01 00:00 UTC, "
	             "2027-03-01 00:00 UTC");
}

static void
test_parse_sunday_0_and_7(void **state)
{
	const char *want = "2026-01-04 00:00 UTC, 2026-01-11 00:00 UTC";

	assert_fires("0 0 * * 0", "UTC", "2026-01-01 00:00", 2, want);
	assert_fires("0 0 * * 7", "UTC", "2026-01-01 00:00", 2, want);
	assert_fires("0 0 * * SUN", "UTC", "2026-01-01 00:00", 2, want);
	assert_fires("0 0 * * sun,7", "UTC", "2026-01-01 00:00", 2, want);
	/* Sunday closes a range as 7. */
	assert_fires("0 0 * * FRI-SUN", "UTC", "2026-01-01 00:00", 4,
	             "2026-01-02 00:00 UTC, 2026-01-03 00:00 UTC, "
	             "2026-01-04 00:00 UTC, 2026-01-09 00:00 UTC");
	assert_fires("0 0 * * 5-7", "UTC", "2026-01-01 00:00", 3,
	             "2026-01-02 00:00 UTC, 2026-01-03 00:00 UTC, "
	             "2026-01-04 00:00 UTC");
	assert_fires("0 0 * * 5-0", "UTC", "2026-01-01 00:00", 3,
	             "2026-01-02 00:00 UTC, 2026-01-03 00:00 UTC, "
	             "2026-01-04 00:00 UTC");
}

static void
test_parse_macros(void **state)
{
	assert_fires("@hourly", "UTC", "2026-01-01 00:30", 1,
	             "2026-01-01 01:00 UTC");
	assert_fires("@daily", "UTC", "2026-01-01 00:30", 1,
	             "2026-01-02 00:00 UTC");
	assert_fires("@midnight", "UTC", "2026-01-01 00:30", 1,
	             "2026-01-02 00:00 UTC");
	assert_fires("@weekly", "UTC", "2026-01-01 00:30", 1,
	             "2026-01-04 00:00 UTC");
	assert_fires("@monthly", "UTC", "2026-01-01 00:30", 1,
	             "2026-02-01 00:00 UTC");
	assert_fires("  @Yearly ", "UTC", "2026-01-01 00:30", 1,
	             "2027-01-01 00:00 UTC");
	assert_fires("@annually", "UTC", "2026-01-01 00:30", 1,
	             "2027-01-01 00:00 UTC");
}

static void
test_parse_keeps_text(void **state)
{
	struct cron_expr *e = cron_parse("@daily", NULL);

	assert_non_null(e);
	assert_string_equal(cron_text(e), "@daily");
	cron_free(e);
	cron_free(NULL);
	/* A NULL cause is allowed on failure too. */
	assert_null(cron_parse("0 25 * * *", NULL));
}

static void
test_parse_errors_range(void **state)
{
	assert_parse_error("0 25 * * *",
	                   "cron \"0 25 * * *\": field 2 (hour): 25 is out of "
	                   "range 0-23");
	assert_parse_error(
	    "60 * * * *", "cron \"60 * * * *\": field 1 (minute): 60 is out of "
	                  "range 0-59");
	assert_parse_error("* * 0 * *",
	                   "cron \"* * 0 * *\": field 3 (day-of-month): 0 is "
	                   "out of range 1-31");
	assert_parse_error("* * 1-32 * *",
	                   "cron \"* * 1-32 * *\": field 3 (day-of-month): 32 "
	                   "is out of range 1-31");
	assert_parse_error("* * * 13 *",
	                   "cron \"* * * 13 *\": field 4 (month): 13 is out of "
	                   "range 1-12");
	assert_parse_error("* * * 0 *",
	                   "cron \"* * * 0 *\": field 4 (month): 0 is out of "
	                   "range 1-12");
	assert_parse_error(
	    "* * * * 8", "cron \"* * * * 8\": field 5 (day-of-week): 8 is out "
	                 "of range 0-7");
	assert_parse_error("99999999999 * * * *",
	                   "cron \"99999999999 * * * *\": field 1 (minute): "
	                   "99999999999 is out of range 0-59");
}

static void
test_parse_errors_syntax(void **state)
{
	assert_parse_error("* x * * *", "cron \"* x * * *\": field 2 (hour): "
	                                "\"x\" is not a number");
	assert_parse_error("* * * FOO *",
	                   "cron \"* * * FOO *\": field 4 (month): \"FOO\" is "
	                   "not a number or month name (JAN-DEC)");
	assert_parse_error("* * * MON *",
	                   "cron \"* * * MON *\": field 4 (month): \"MON\" is "
	                   "not a number or month name (JAN-DEC)");
	assert_parse_error("* * * * MONDAY",
	                   "cron \"* * * * MONDAY\": field 5 (day-of-week): "
	                   "\"MONDAY\" is not a number or weekday name "
	                   "(SUN-SAT)");
	assert_parse_error("* * JAN * *",
	                   "cron \"* * JAN * *\": field 3 (day-of-month): "
	                   "\"JAN\" is not a number");
	assert_parse_error("1,,2 * * * *", "cron \"1,,2 * * * *\": field 1 "
	                                   "(minute): empty list item");
	assert_parse_error("* 1, * * *", "cron \"* 1, * * *\": field 2 (hour): "
	                                 "empty list item");
	assert_parse_error("5-1 * * * *", "cron \"5-1 * * * *\": field 1 "
	                                  "(minute): range \"5-1\" is "
	                                  "backwards");
	assert_parse_error("* * * * SAT-MON",
	                   "cron \"* * * * SAT-MON\": field 5 (day-of-week): "
	                   "range \"SAT-MON\" is backwards");
	assert_parse_error("-5 * * * *", "cron \"-5 * * * *\": field 1 "
	                                 "(minute): range \"-5\" is missing a "
	                                 "value");
	assert_parse_error("* 5- * * *", "cron \"* 5- * * *\": field 2 (hour): "
	                                 "range \"5-\" is missing a value");
	assert_parse_error("*-5 * * * *", "cron \"*-5 * * * *\": field 1 "
	                                  "(minute): \"*\" is not a number");
	assert_parse_error("0\x01 * * * *", "cron \"0? * * * *\": field 1 "
	                                    "(minute): \"0?\" is not a number");
}

static void
test_parse_errors_steps(void **state)
{
	assert_parse_error("*/0 * * * *", "cron \"*/0 * * * *\": field 1 "
	                                  "(minute): step 0 is out of range "
	                                  "1-60");
	assert_parse_error("* */25 * * *", "cron \"* */25 * * *\": field 2 "
	                                   "(hour): step 25 is out of range "
	                                   "1-24");
	assert_parse_error("*/ * * * *", "cron \"*/ * * * *\": field 1 "
	                                 "(minute): \"*/\" is missing a step "
	                                 "after \"/\"");
	assert_parse_error("*/x * * * *", "cron \"*/x * * * *\": field 1 "
	                                  "(minute): step \"x\" is not a "
	                                  "number");
	assert_parse_error("*/2/3 * * * *", "cron \"*/2/3 * * * *\": field 1 "
	                                    "(minute): step \"2/3\" is not a "
	                                    "number");
	assert_parse_error("/5 * * * *", "cron \"/5 * * * *\": field 1 "
	                                 "(minute): \"/5\" has no value before "
	                                 "\"/\"");
}

static void
test_parse_errors_shape(void **state)
{
	char *cause = NULL;

	assert_parse_error("* * * *", "cron \"* * * *\": expected 5 fields "
	                              "(minute hour day-of-month month "
	                              "day-of-week), found 4");
	assert_parse_error("* * * * * *", "cron \"* * * * * *\": expected 5 "
	                                  "fields (minute hour day-of-month "
	                                  "month day-of-week), found 6");
	assert_parse_error("", "cron \"\": expected 5 fields (minute hour "
	                       "day-of-month month day-of-week), found 0");
	assert_parse_error("@often", "cron \"@often\": unknown macro (use "
	                             "@yearly, @monthly, @weekly, @daily or "
	                             "@hourly)");
	assert_parse_error("@daily 5", "cron \"@daily 5\": unknown macro (use "
	                               "@yearly, @monthly, @weekly, @daily or "
	                               "@hourly)");
	assert_parse_error(NULL, "cron \"\": no expression");
	assert_parse_error("0 0 30 2 *",
	                   "cron \"0 0 30 2 *\": field 3 (day-of-month): no "
	                   "selected day exists in the selected months");
	assert_parse_error("0 0 31 APR,JUN,SEP,NOV *",
	                   "cron \"0 0 31 APR,JUN,SEP,NOV *\": field 3 "
	                   "(day-of-month): no selected day exists in the "
	                   "selected months");
	/* The same days with a weekday are satisfiable (either matches). */
	assert_fires("0 0 30 2 MON", "UTC", "2026-01-01 00:00", 2,
	             "2026-02-02 00:00 UTC, 2026-02-09 00:00 UTC");
	{
		char *longexpr = xmalloc(2000);

		memset(longexpr, '1', 1999);
		longexpr[1999] = '\0';
		assert_null(cron_parse(longexpr, &cause));
		assert_string_equal(cause, "cron expression longer than "
		                           "1024 characters");
		free(cause);
		free(longexpr);
	}
}

/*--- next fire: calendar ---*/

static void
test_next_end_of_month(void **state)
{
	assert_fires("0 0 31 * *", "UTC", "2026-01-01 00:00", 4,
	             "2026-01-31 00:00 UTC, 2026-03-31 00:00 UTC, "
	             "2026-05-31 00:00 UTC, 2026-07-31 00:00 UTC");
	assert_fires("0 0 30 * *", "UTC", "2026-01-30 00:00", 2,
	             "2026-03-30 00:00 UTC, 2026-04-30 00:00 UTC");
	assert_fires("59 23 31 12 *", "UTC", "2026-06-01 00:00", 2,
	             "2026-12-31 23:59 UTC, 2027-12-31 23:59 UTC");
	assert_fires("0 0 * * *", "UTC", "2026-12-31 12:00", 1,
	             "2027-01-01 00:00 UTC");
	/* Strictly after: a fire time itself is not returned again. */
	assert_fires("0 0 * * *", "UTC", "2027-01-01 00:00", 1,
	             "2027-01-02 00:00 UTC");
	assert_fires("0 0 * * *", "UTC", "2026-12-31 23:59:59", 1,
	             "2027-01-01 00:00 UTC");
}

static void
test_next_leap_day(void **state)
{
	assert_fires("0 0 29 2 *", "UTC", "2026-01-01 00:00", 2,
	             "2028-02-29 00:00 UTC, 2032-02-29 00:00 UTC");
	/* 2100 is not a leap year; 2000 was. */
	assert_fires("0 0 29 2 *", "UTC", "2096-03-01 00:00", 1,
	             "2104-02-29 00:00 UTC");
	assert_fires("0 0 29 2 *", "UTC", "1999-01-01 00:00", 1,
	             "2000-02-29 00:00 UTC");
	assert_fires("0 0 29 2 *", "Europe/Berlin", "2027-06-01 00:00", 1,
	             "2028-02-29 00:00 CET");
}

static void
test_next_dom_dow_or_rule(void **state)
{
	/* Both restricted: the 13th or any Friday. */
	assert_fires("0 0 13 * FRI", "UTC", "2026-01-01 00:00", 5,
	             "2026-01-02 00:00 UTC, 2026-01-09 00:00 UTC, "
	             "2026-01-13 00:00 UTC, 2026-01-16 00:00 UTC, "
	             "2026-01-23 00:00 UTC");
	assert_fires("0 0 1,15 * MON", "UTC", "2026-01-01 00:00", 4,
	             "2026-01-05 00:00 UTC, 2026-01-12 00:00 UTC, "
	             "2026-01-15 00:00 UTC, 2026-01-19 00:00 UTC");
	/* Day-of-month restricted, weekday '*': only the day of month. */
	assert_fires("0 0 13 * *", "UTC", "2026-01-01 00:00", 2,
	             "2026-01-13 00:00 UTC, 2026-02-13 00:00 UTC");
	/* Weekday restricted, day-of-month '*': only the weekday. */
	assert_fires("0 0 * * FRI", "UTC", "2026-01-01 00:00", 2,
	             "2026-01-02 00:00 UTC, 2026-01-09 00:00 UTC");
	/*
	 * Vixie: a field starting with '*' counts as unrestricted even with a
	 * step, so "*\/2" and FRI must both match: Fridays on odd days.
	 */
	assert_fires("0 0 */2 * FRI", "UTC", "2026-01-01 00:00", 3,
	             "2026-01-09 00:00 UTC, 2026-01-23 00:00 UTC, "
	             "2026-02-13 00:00 UTC");
	/* With a month too: February's Fridays, or 13 February. */
	assert_fires("0 0 13 2 FRI", "UTC", "2026-01-01 00:00", 3,
	             "2026-02-06 00:00 UTC, 2026-02-13 00:00 UTC, "
	             "2026-02-20 00:00 UTC");
}

static void
test_next_out_of_range(void **state)
{
	struct cron_expr *e = cron_parse("0 0 1 1 *", NULL);
	struct cron_tz *tz = cron_tz_utc();
	time_t t = 0;

	assert_int_equal(cron_next(e, tz, utc("9999-06-01 00:00"), &t), -1);
	assert_int_equal(cron_next(e, tz, utc("9998-06-01 00:00"), &t), 0);
	assert_int_equal(t, utc("9999-01-01 00:00"));
	assert_int_equal(cron_next(e, tz, (time_t)INT64_MAX, &t), -1);
	assert_int_equal(cron_next(e, tz, (time_t)INT64_MIN, &t), -1);
	/* Before 1970 works too. */
	assert_int_equal(cron_next(e, tz, utc("1901-06-01 00:00"), &t), 0);
	assert_int_equal(t, utc("1902-01-01 00:00"));
	cron_free(e);
	cron_tz_free(tz);
}

/*--- next fire: daylight saving time ---*/

static void
test_dst_spring_forward_new_york(void **state)
{
	/* 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC). */
	assert_fires("30 2 * * *", "America/New_York", "2026-03-07 00:00", 3,
	             "2026-03-07 02:30 EST, 2026-03-08 03:00 EDT, "
	             "2026-03-09 02:30 EDT");
}

static void
test_dst_spring_forward_new_york_utc(void **state)
{
	/* The skipped 02:30 fires once, at the first minute after the gap. */
	assert_next_utc("30 2 * * *", "America/New_York", "2026-03-07 12:00",
	                "2026-03-08 07:00");
	assert_next_utc("30 2 * * *", "America/New_York", "2026-03-08 07:00",
	                "2026-03-09 06:30");
	/* Four slots inside the gap still fire once. */
	assert_fires("*/15 2 * * *", "America/New_York", "2026-03-08 05:00", 3,
	             "2026-03-08 03:00 EDT, 2026-03-09 02:00 EDT, "
	             "2026-03-09 02:15 EDT");
	/* A real 03:00 slot and a skipped 02:30 slot coincide: once. */
	assert_fires("0,30 2,3 * * *", "America/New_York", "2026-03-08 05:00",
	             3,
	             "2026-03-08 03:00 EDT, 2026-03-08 03:30 EDT, "
	             "2026-03-09 02:00 EDT");
	/* Every minute: 01:59 EST is followed by 03:00 EDT, then 03:01. */
	assert_fires("* * * * *", "America/New_York", "2026-03-08 06:58", 3,
	             "2026-03-08 01:59 EST, 2026-03-08 03:00 EDT, "
	             "2026-03-08 03:01 EDT");
	/* Far beyond the file's table (2037), from its TZ rule. */
	assert_fires("30 2 * * *", "America/New_York", "2100-03-13 12:00", 2,
	             "2100-03-14 03:00 EDT, 2100-03-15 02:30 EDT");
}

static void
test_dst_fall_back_new_york(void **state)
{
	/* 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00 UTC). */
	assert_next_utc("30 1 * * *", "America/New_York", "2026-10-31 12:00",
	                "2026-11-01 05:30");
	assert_next_utc("30 1 * * *", "America/New_York", "2026-11-01 05:30",
	                "2026-11-02 06:30");
	assert_fires("30 1 * * *", "America/New_York", "2026-10-31 12:00", 2,
	             "2026-11-01 01:30 EDT, 2026-11-02 01:30 EST");
	/* The repeated hour is not run a second time. */
	assert_fires("*/30 * * * *", "America/New_York", "2026-11-01 04:50", 4,
	             "2026-11-01 01:00 EDT, 2026-11-01 01:30 EDT, "
	             "2026-11-01 02:00 EST, 2026-11-01 02:30 EST");
	assert_next_utc("*/30 * * * *", "America/New_York", "2026-11-01 05:30",
	                "2026-11-01 07:00");
	/* Even when asked from inside the second 01:xx. */
	assert_next_utc("*/30 * * * *", "America/New_York", "2026-11-01 06:10",
	                "2026-11-01 07:00");
	assert_fires("0 2 * * *", "America/New_York", "2026-10-31 12:00", 2,
	             "2026-11-01 02:00 EST, 2026-11-02 02:00 EST");
}

static void
test_dst_berlin(void **state)
{
	/* 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC). */
	assert_next_utc("30 2 * * *", "Europe/Berlin", "2026-03-28 12:00",
	                "2026-03-29 01:00");
	assert_fires("30 2 * * *", "Europe/Berlin", "2026-03-28 12:00", 2,
	             "2026-03-29 03:00 CEST, 2026-03-30 02:30 CEST");
	/* 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00 UTC). */
	assert_next_utc("30 2 * * *", "Europe/Berlin", "2026-10-24 12:00",
	                "2026-10-25 00:30");
	assert_next_utc("30 2 * * *", "Europe/Berlin", "2026-10-25 00:30",
	                "2026-10-26 01:30");
	assert_fires("30 2 * * *", "Europe/Berlin", "2026-10-24 12:00", 2,
	             "2026-10-25 02:30 CEST, 2026-10-26 02:30 CET");
	assert_fires("0 * * * *", "Europe/Berlin", "2026-10-24 22:30", 4,
	             "2026-10-25 01:00 CEST, 2026-10-25 02:00 CEST, "
	             "2026-10-25 03:00 CET, 2026-10-25 04:00 CET");
	/* 2100 comes from the footer rule: last Sunday of March is the 28th. */
	assert_fires("30 2 * * SUN", "Europe/Berlin", "2100-03-20 00:00", 2,
	             "2100-03-21 02:30 CET, 2100-03-28 03:00 CEST");
}

static void
test_dst_half_hour_and_south(void **state)
{
	/* Lord Howe moves by 30 minutes: 02:00 -> 02:30 on 2026-10-04. */
	assert_fires("15 2 * * *", "Australia/Lord_Howe", "2026-10-02 00:00", 3,
	             "2026-10-03 02:15 +1030, 2026-10-04 02:30 +11, "
	             "2026-10-05 02:15 +11");
	/* Sydney: clocks go back on 2026-04-05 03:00 AEDT -> 02:00 AEST. */
	assert_fires("30 2 * * *", "Australia/Sydney", "2026-04-03 00:00", 3,
	             "2026-04-04 02:30 AEDT, 2026-04-05 02:30 AEDT, "
	             "2026-04-06 02:30 AEST");
}

/*--- missed runs ---*/

static void
test_missed(void **state)
{
	struct cron_expr *e = cron_parse("0 2 * * *", NULL);
	struct cron_tz *tz = cron_tz_load("America/New_York", NULL);
	time_t last = utc("2026-03-01 07:00"), next; /* 02:00 EST */

	assert_non_null(e);
	assert_non_null(tz);
	assert_int_equal(cron_missed(e, tz, last, utc("2026-03-01 12:00")), 0);
	assert_int_equal(cron_missed(e, tz, last, utc("2026-03-02 06:59")), 0);
	/* A slot exactly at `now` is due. */
	assert_int_equal(cron_missed(e, tz, last, utc("2026-03-02 07:00")), 1);
	/* Four days down: one answer, run once... */
	assert_int_equal(cron_missed(e, tz, last, utc("2026-03-05 12:00")), 1);
	/* ...then schedule from now, not from each missed slot. */
	assert_int_equal(cron_next(e, tz, utc("2026-03-05 12:00"), &next), 0);
	assert_int_equal(next, utc("2026-03-06 07:00"));
	assert_int_equal(cron_missed(e, tz, last, last), 0);
	assert_int_equal(cron_missed(e, tz, last, last - 86400), 0);
	/* A slot skipped by DST counts: 02:30 on 2026-03-08 ran at 03:00. */
	cron_free(e);
	e = cron_parse("30 2 * * *", NULL);
	assert_int_equal(cron_missed(e, tz, utc("2026-03-07 07:30"),
	                             utc("2026-03-08 06:59")),
	                 0);
	assert_int_equal(cron_missed(e, tz, utc("2026-03-07 07:30"),
	                             utc("2026-03-08 07:00")),
	                 1);
	cron_free(e);
	cron_tz_free(tz);
}

/*--- time zones ---*/

static void
test_tz_load_errors(void **state)
{
	char *cause = NULL;

	assert_null(cron_tz_load("Mars/Olympus", &cause));
	assert_string_equal(cause, "time zone \"Mars/Olympus\": unknown zone "
	                           "(no " ZONEINFO "/Mars/Olympus)");
	free(cause);
	assert_null(cron_tz_load("../etc/passwd", &cause));
	assert_string_equal(
	    cause, "time zone \"../etc/passwd\": not a valid zone name");
	free(cause);
	assert_null(cron_tz_load("/etc/passwd", &cause));
	assert_string_equal(cause,
	                    "time zone \"/etc/passwd\": not a valid zone name");
	free(cause);
	assert_null(cron_tz_load("America/../../etc", &cause));
	assert_string_equal(
	    cause, "time zone \"America/../../etc\": not a valid zone name");
	free(cause);
	assert_null(cron_tz_load("America//New_York", &cause));
	free(cause);
	assert_null(cron_tz_load("New York", &cause));
	assert_string_equal(cause,
	                    "time zone \"New York\": not a valid zone name");
	free(cause);
	assert_null(cron_tz_load("", &cause));
	assert_string_equal(cause, "time zone \"\": not a valid zone name");
	free(cause);
	assert_null(cron_tz_load(NULL, &cause));
	free(cause);
	assert_null(cron_tz_load("America", &cause));
	assert_string_equal(cause, "time zone \"America\": " ZONEINFO
	                           "/America is a directory");
	free(cause);
	assert_null(cron_tz_load("Mars/Olympus", NULL));
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
test_tz_tzdir_and_builtin_utc(void **state)
{
	char dir[] = "/tmp/rosterd-tz-XXXXXX", path[256];
	char *cause = NULL;
	struct cron_tz *tz;

	assert_non_null(mkdtemp(dir));
	setenv("TZDIR", dir, 1);
	/* Without tzdata, the UTC names still load. */
	tz = cron_tz_load("Etc/UTC", &cause);
	assert_non_null(tz);
	assert_string_equal(cron_tz_name(tz), "Etc/UTC");
	assert_int_equal(cron_tz_offset(tz, utc("2026-07-01 00:00")), 0);
	cron_tz_free(tz);
	assert_null(cron_tz_load("Europe/Berlin", &cause));
	free(cause);
	/* A file that is not TZif. */
	snprintf(path, sizeof(path), "%s/Bogus", dir);
	write_file(path, "hello, world\n", 13);
	assert_null(cron_tz_load("Bogus", &cause));
	assert_string_equal(cause, "time zone \"Bogus\": not a TZif file");
	free(cause);
	unlink(path);
	rmdir(dir);
	setenv("TZDIR", ZONEINFO, 1);
}

/* Offsets in seconds east of UTC from glibc for zone at t. */
static long
glibc_offset(time_t t)
{
	struct tm tm;

	assert_non_null(localtime_r(&t, &tm));
	return tm.tm_gmtoff;
}

static void
test_tz_offsets_match_glibc(void **state)
{
	static const char *zones[] = {
	    "America/New_York",    "Europe/Berlin",    "Australia/Sydney",
	    "Australia/Lord_Howe", "Asia/Kolkata",     "Pacific/Apia",
	    "America/Sao_Paulo",   "Europe/Dublin",    "Africa/Casablanca",
	    "America/St_Johns",    "Pacific/Chatham",  "Asia/Tehran",
	    "America/Santiago",    "Antarctica/Troll", "UTC",
	};
	char *saved = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	time_t t, lo = utc("1890-01-01 00:00"), hi = utc("2200-01-01 00:00");
	struct cron_tz *tz;
	char *cause = NULL;
	size_t i;
	unsigned n = 0;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		tz = cron_tz_load(zones[i], &cause);
		if (tz == NULL)
			fail_msg("%s", cause);
		/* This test is single-threaded: setenv("TZ") is safe here. */
		setenv("TZ", zones[i], 1);
		tzset();
		for (t = lo; t < hi; t += 86400 * 3 + 3607) {
			if (cron_tz_offset(tz, t) != glibc_offset(t))
				fail_msg("%s at %lld: %ld, glibc %ld", zones[i],
				         (long long)t,
				         (long)cron_tz_offset(tz, t),
				         glibc_offset(t));
			n++;
		}
		cron_tz_free(tz);
	}
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	assert_true(n > 500000);
}

static void
test_tz_localtime(void **state)
{
	struct cron_tz *tz = cron_tz_load("America/New_York", NULL), *dup;
	struct tm tm;

	assert_non_null(tz);
	assert_string_equal(cron_tz_name(tz), "America/New_York");
	/* 2026-07-04 16:05:09 UTC is 12:05:09 EDT, a Saturday. */
	assert_int_equal(cron_tz_localtime(tz, utc("2026-07-04 16:05:09"), &tm),
	                 0);
	assert_int_equal(tm.tm_year, 126);
	assert_int_equal(tm.tm_mon, 6);
	assert_int_equal(tm.tm_mday, 4);
	assert_int_equal(tm.tm_hour, 12);
	assert_int_equal(tm.tm_min, 5);
	assert_int_equal(tm.tm_sec, 9);
	assert_int_equal(tm.tm_wday, 6);
	assert_int_equal(tm.tm_yday, 184);
	assert_int_equal(tm.tm_isdst, 1);
	assert_int_equal(tm.tm_gmtoff, -4 * 3600);
	assert_string_equal(tm.tm_zone, "EDT");
	/* Local day: 03:00 UTC on 1 Jan 2026 is still 31 Dec 2025 there. */
	assert_int_equal(cron_tz_day(tz, utc("2026-01-01 03:00")), 20453);
	assert_int_equal(cron_tz_day(tz, utc("2026-01-01 05:00")), 20454);
	assert_int_equal(cron_tz_day(tz, utc("1969-12-31 12:00")), -1);
	dup = cron_tz_dup(tz);
	cron_tz_free(tz);
	assert_string_equal(cron_tz_name(dup), "America/New_York");
	assert_int_equal(cron_tz_offset(dup, utc("2026-01-15 00:00")),
	                 -5 * 3600);
	assert_int_equal(cron_tz_offset(dup, utc("2090-07-15 00:00")),
	                 -4 * 3600);
	cron_tz_free(dup);
}

/* A TZif v2 file with no transitions and only a footer rule. */
static size_t
make_tzif(unsigned char *out, const char *abbr, int32_t off, const char *footer)
{
	unsigned char *p = out;
	size_t alen = strlen(abbr) + 1;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		memset(p, 0, 44);
		memcpy(p, "TZif2", 5);
		p[39] = 1;                   /* typecnt */
		p[43] = (unsigned char)alen; /* charcnt */
		p += 44;
		p[0] = (unsigned char)((uint32_t)off >> 24);
		p[1] = (unsigned char)((uint32_t)off >> 16);
		p[2] = (unsigned char)((uint32_t)off >> 8);
		p[3] = (unsigned char)off;
		p[4] = 0;
		p[5] = 0;
		p += 6;
		memcpy(p, abbr, alen);
		p += alen;
	}
	*p++ = '\n';
	memcpy(p, footer, strlen(footer));
	p += strlen(footer);
	*p++ = '\n';
	return (size_t)(p - out);
}

static void
test_tz_footer_rules(void **state)
{
	unsigned char data[256];
	struct cron_tz *tz, *ref;
	char *cause = NULL;
	time_t t;
	size_t n;

	/* The US rule alone reproduces New York for 2020..2040. */
	n = make_tzif(data, "EST", -5 * 3600, "EST5EDT,M3.2.0,M11.1.0");
	tz = cron_tz_from_tzif("Rule/US", data, n, &cause);
	if (tz == NULL)
		fail_msg("%s", cause);
	ref = cron_tz_load("America/New_York", NULL);
	for (t = utc("2020-01-01 00:00"); t < utc("2040-01-01 00:00");
	     t += 3571)
		assert_int_equal(cron_tz_offset(tz, t), cron_tz_offset(ref, t));
	cron_tz_free(ref);
	/* And the cron semantics follow it. */
	{
		struct cron_expr *e = cron_parse("30 2 * * *", NULL);

		assert_int_equal(cron_next(e, tz, utc("2026-03-07 12:00"), &t),
		                 0);
		assert_int_equal(t, utc("2026-03-08 07:00"));
		cron_free(e);
	}
	cron_tz_free(tz);

	/* Southern hemisphere, end time given: Sydney. */
	n = make_tzif(data, "AEST", 10 * 3600, "AEST-10AEDT,M10.1.0,M4.1.0/3");
	tz = cron_tz_from_tzif("Rule/Sydney", data, n, &cause);
	assert_non_null(tz);
	ref = cron_tz_load("Australia/Sydney", NULL);
	for (t = utc("2010-01-01 00:00"); t < utc("2040-01-01 00:00");
	     t += 3571)
		assert_int_equal(cron_tz_offset(tz, t), cron_tz_offset(ref, t));
	cron_tz_free(ref);
	cron_tz_free(tz);

	/* DST all year (RFC 8536 §3.3.1) and a quoted numeric name. */
	n = make_tzif(data, "EST", -5 * 3600, "EST5EDT,0/0,J365/25");
	tz = cron_tz_from_tzif("Rule/AllYear", data, n, &cause);
	assert_non_null(tz);
	assert_int_equal(cron_tz_offset(tz, utc("2026-01-01 00:00")),
	                 -4 * 3600);
	assert_int_equal(cron_tz_offset(tz, utc("2026-12-31 23:00")),
	                 -4 * 3600);
	cron_tz_free(tz);
	n = make_tzif(data, "+0330", 12600, "<+0330>-3:30");
	tz = cron_tz_from_tzif("Rule/Fixed", data, n, &cause);
	assert_non_null(tz);
	assert_int_equal(cron_tz_offset(tz, utc("2026-06-01 00:00")), 12600);
	cron_tz_free(tz);

	n = make_tzif(data, "EST", -5 * 3600, "EST5EDT,M13.1.0,M11.1.0");
	assert_null(cron_tz_from_tzif("Rule/Bad", data, n, &cause));
	assert_string_equal(cause, "time zone \"Rule/Bad\": bad TZ rule "
	                           "\"EST5EDT,M13.1.0,M11.1.0\" in the TZif "
	                           "footer");
	free(cause);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *data;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	data = xmalloc((size_t)st.st_size);
	assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

static void
test_tz_corrupt_files(void **state)
{
	size_t len, i, bad = 0;
	unsigned char *data = slurp(ZONEINFO "/Europe/Berlin", &len), *copy;
	struct cron_tz *tz;
	char *cause = NULL;
	unsigned seed = 1;

	/* Every truncation is refused with a message, never a crash. */
	for (i = 0; i < len; i++) {
		tz = cron_tz_from_tzif("Europe/Berlin", data, i, &cause);
		assert_null(tz);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
	assert_null(cron_tz_from_tzif("x", data, 30, &cause));
	assert_string_equal(cause, "time zone \"x\": not a TZif file");
	free(cause);
	assert_null(cron_tz_from_tzif("x", data, 100, &cause));
	assert_string_equal(cause, "time zone \"x\": truncated TZif data");
	free(cause);
	/* Random byte damage: refused or accepted, always memory-safe. */
	copy = xmalloc(len);
	for (i = 0; i < 3000; i++) {
		memcpy(copy, data, len);
		copy[rand_r(&seed) % len] ^=
		    (unsigned char)(1 + rand_r(&seed) % 255);
		copy[rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
		tz = cron_tz_from_tzif("fuzz", copy, len, &cause);
		if (tz != NULL) {
			struct tm tm;

			(void)cron_tz_offset(tz, utc("2026-06-01 00:00"));
			(void)cron_tz_localtime(tz, utc("2200-06-01 00:00"),
			                        &tm);
			cron_tz_free(tz);
		} else {
			bad++;
			free(cause);
		}
		cause = NULL;
	}
	assert_true(bad > 0);
	free(copy);
	free(data);
}

/*--- cross-checks against a brute-force reference ---*/

struct ref_expr {
	char text[128];
	uint64_t bits[5];
	int dom_star, dow_star;
};

/*
 * A random field: "*", "*\/n", "a-b/n" or a list, as text and as bits.
 * dense: 0 any kind, else only the first `dense` kinds.
 */
static void
gen_field(unsigned *seed, int lo, int hi, int dense, uint64_t *bits,
          struct buf *b, int *star)
{
	int kind = (int)(rand_r(seed) % (unsigned)(dense ? dense : 6));
	int a, c, n, v, i;

	*bits = 0;
	*star = 0;
	if (kind == 0) {
		buf_addch(b, '*');
		*star = 1;
		for (v = lo; v <= hi; v++)
			*bits |= 1ULL << v;
	} else if (kind == 1) {
		n = 1 + (int)(rand_r(seed) % 4);
		buf_addf(b, "*/%d", n);
		*star = 1;
		for (v = lo; v <= hi; v += n)
			*bits |= 1ULL << v;
	} else if (kind <= 3) {
		a = lo + (int)(rand_r(seed) % (unsigned)(hi - lo + 1));
		c = a + (int)(rand_r(seed) % (unsigned)(hi - a + 1));
		n = 1 + (int)(rand_r(seed) % 3);
		buf_addf(b, "%d-%d/%d", a, c, n);
		for (v = a; v <= c; v += n)
			*bits |= 1ULL << v;
	} else {
		n = 1 + (int)(rand_r(seed) % 3);
		for (i = 0; i < n; i++) {
			v = lo + (int)(rand_r(seed) % (unsigned)(hi - lo + 1));
			buf_addf(b, "%s%d", i ? "," : "", v);
			*bits |= 1ULL << v;
		}
	}
}

static void
gen_expr(unsigned *seed, struct ref_expr *r)
{
	static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 6};
	struct buf b;
	int i, star;

	buf_init(&b, 0);
	for (i = 0; i < 5; i++) {
		if (i > 0)
			buf_addch(&b, ' ');
		/* Day fields mostly wide, months all: fires within days. */
		gen_field(seed, lo[i], hi[i],
		          i == 3   ? 1
		          : i >= 2 ? 3
		                   : 0,
		          &r->bits[i], &b, &star);
		if (i == 2)
			r->dom_star = star;
		if (i == 4)
			r->dow_star = star;
	}
	snprintf(r->text, sizeof(r->text), "%s", buf_str(&b));
	buf_free(&b);
}

static int
ref_matches(const struct ref_expr *r, const struct tm *tm)
{
	int dom = (int)(r->bits[2] >> tm->tm_mday & 1);
	int dow = (int)(r->bits[4] >> tm->tm_wday & 1);
	int day = r->dom_star || r->dow_star ? dom && dow : dom || dow;

	return (r->bits[0] >> tm->tm_min & 1) &&
	       (r->bits[1] >> tm->tm_hour & 1) &&
	       (r->bits[3] >> (tm->tm_mon + 1) & 1) && day;
}

/*
 * Reference: a local minute L fires at the first instant t with local(t)
 * >= L, i.e. t fires when some matching L lies in (max local before t,
 * local(t)]. Walk minute by minute with glibc's localtime_r.
 */
static time_t
ref_next(const struct ref_expr *r, time_t after, time_t horizon)
{
	time_t t = after - 2 * 86400, L, Lm, high = INT64_MIN;
	struct tm tm;

	t -= ((t % 60) + 60) % 60;
	for (; t <= horizon; t += 60) {
		assert_non_null(localtime_r(&t, &tm));
		L = t + tm.tm_gmtoff;
		if (t > after && L > high) {
			/* Every local minute in (high, L]. */
			for (Lm = high == INT64_MIN ? L : high + 60; Lm <= L;
			     Lm += 60) {
				struct tm lt;
				time_t x = Lm;

				gmtime_r(&x, &lt);
				if (ref_matches(r, &lt))
					return t;
			}
		}
		if (L > high)
			high = L;
	}
	return 0;
}

static void
cross_check_zone(const char *zone, const char *const *around, size_t n,
                 unsigned *seed, int cases)
{
	struct cron_tz *tz = cron_tz_load(zone, NULL);
	struct ref_expr r;
	struct cron_expr *e;
	char *cause = NULL;
	time_t after, got, want, horizon;
	int i, found = 0;

	assert_non_null(tz);
	setenv("TZ", zone, 1);
	tzset();
	for (i = 0; i < cases; i++) {
		gen_expr(seed, &r);
		e = cron_parse(r.text, &cause);
		if (e == NULL) {
			/* Only impossible dates are refused. */
			assert_non_null(strstr(cause, "no selected day"));
			free(cause);
			cause = NULL;
			continue;
		}
		after = utc(around[(unsigned)i % n]) +
		        (time_t)(rand_r(seed) % (4 * 86400)) - 2 * 86400;
		horizon = after + 8 * 86400;
		want = ref_next(&r, after, horizon);
		assert_int_equal(cron_next(e, tz, after, &got), 0);
		if (want == 0 ? got <= horizon : got != want)
			fail_msg("%s in %s after %lld: got %lld, want %lld",
			         r.text, zone, (long long)after, (long long)got,
			         (long long)want);
		found += want != 0;
		cron_free(e);
	}
	/* Most cases must have compared a real fire time. */
	assert_true(found > cases / 2);
	unsetenv("TZ");
	tzset();
	cron_tz_free(tz);
}

static void
test_next_matches_reference(void **state)
{
	static const char *const ny[] = {"2026-03-08 07:00", "2026-11-01 06:00",
	                                 "2027-06-15 12:00", "2100-03-14 07:00",
	                                 "2100-11-07 06:00"};
	static const char *const berlin[] = {
	    "2026-03-29 01:00", "2026-10-25 01:00", "2099-10-25 01:00"};
	static const char *const lhi[] = {"2026-10-03 15:00",
	                                  "2026-04-04 15:00"};
	static const char *const utcs[] = {"2026-02-27 00:00",
	                                   "2028-02-28 00:00"};
	unsigned seed = 42;

	cross_check_zone("America/New_York", ny, 5, &seed, 150);
	cross_check_zone("Europe/Berlin", berlin, 3, &seed, 100);
	cross_check_zone("Australia/Lord_Howe", lhi, 2, &seed, 60);
	cross_check_zone("UTC", utcs, 2, &seed, 60);
}

/*--- threads ---*/

struct thread_arg {
	const struct cron_expr *e;
	const struct cron_tz *tz;
	time_t start;
	time_t last;
};

static void *
thread_run(void *p)
{
	struct thread_arg *a = p;
	time_t t = a->start;
	int i;

	for (i = 0; i < 3000; i++)
		if (cron_next(a->e, a->tz, t, &t) == -1)
			return NULL;
	a->last = t;
	return NULL;
}

static void
test_shared_between_threads(void **state)
{
	struct cron_expr *e = cron_parse("*/7 1-3 * * *", NULL);
	struct cron_tz *tz = cron_tz_load("Europe/Berlin", NULL);
	struct thread_arg args[4], solo;
	pthread_t th[4];
	int i;

	memset(&solo, 0, sizeof(solo));
	solo.e = e;
	solo.tz = tz;
	solo.start = utc("2026-01-01 00:00");
	thread_run(&solo);
	assert_true(solo.last > solo.start);
	for (i = 0; i < 4; i++) {
		args[i] = solo;
		args[i].last = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_run, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].last, solo.last);
	}
	cron_free(e);
	cron_tz_free(tz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_steps_ranges_lists),
	    cmocka_unit_test(test_parse_names),
	    cmocka_unit_test(test_parse_sunday_0_and_7),
	    cmocka_unit_test(test_parse_macros),
	    cmocka_unit_test(test_parse_keeps_text),
	    cmocka_unit_test(test_parse_errors_range),
	    cmocka_unit_test(test_parse_errors_syntax),
	    cmocka_unit_test(test_parse_errors_steps),
	    cmocka_unit_test(test_parse_errors_shape),
	    cmocka_unit_test(test_next_end_of_month),
	    cmocka_unit_test(test_next_leap_day),
	    cmocka_unit_test(test_next_dom_dow_or_rule),
	    cmocka_unit_test(test_next_out_of_range),
	    cmocka_unit_test(test_dst_spring_forward_new_york),
	    cmocka_unit_test(test_dst_spring_forward_new_york_utc),
	    cmocka_unit_test(test_dst_fall_back_new_york),
	    cmocka_unit_test(test_dst_berlin),
	    cmocka_unit_test(test_dst_half_hour_and_south),
	    cmocka_unit_test(test_missed),
	    cmocka_unit_test(test_tz_load_errors),
	    cmocka_unit_test(test_tz_tzdir_and_builtin_utc),
	    cmocka_unit_test(test_tz_offsets_match_glibc),
	    cmocka_unit_test(test_tz_localtime),
	    cmocka_unit_test(test_tz_footer_rules),
	    cmocka_unit_test(test_tz_corrupt_files),
	    cmocka_unit_test(test_next_matches_reference),
	    cmocka_unit_test(test_shared_between_threads),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
