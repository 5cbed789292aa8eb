/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Unit tests for the off-cycle termination batcher in src/sched/debounce.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sched/cron.h"
#include "sched/debounce.h"
#include "util/buf.h"

/* "YYYY-MM-DD HH:MM[:SS]" read as UTC. */
static time_t
utc(const char *s)
{
	struct tm tm;
	int sec = 0;

	memset(&tm, 0, sizeof(tm));
	assert_true(sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon,
	                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec) >= 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* A batcher with one feed "spring": window, cap, zone (NULL: UTC). */
static struct debounce *
new_with_feed(unsigned window, unsigned cap, const char *zone)
{
	struct debounce *d = debounce_new();
	struct debounce_policy p;
	struct cron_tz *tz = NULL;
	char *cause = NULL;

	if (zone != NULL && (tz = cron_tz_load(zone, &cause)) == NULL)
		fail_msg("%s", cause);
	debounce_policy_init(&p);
	p.window = window;
	p.daily_cap = cap;
	p.tz = tz;
	debounce_feed_set(d, "spring", &p);
	cron_tz_free(tz); /* the batcher keeps its own copy */
	return d;
}

/* The batch's persons joined with ",". */
static void
assert_persons(const struct debounce_batch *b, const char *want)
{
	struct buf s;
	size_t i;

	assert_non_null(b);
	buf_init(&s, 0);
	for (i = 0; i < b->nitems; i++)
		buf_addf(&s, "%s%s", i ? "," : "", b->items[i].person);
	assert_string_equal(buf_str(&s), want);
	buf_free(&s);
}

static void
test_policy_defaults(void **state)
{
	struct debounce_policy p;

	memset(&p, 0xff, sizeof(p));
	debounce_policy_init(&p);
	assert_int_equal(p.window, 60);
	assert_int_equal(p.daily_cap, DEBOUNCE_DAILY_CAP_DEFAULT);
	assert_null(p.tz);
}

static void
test_events_in_window_one_batch(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due = 0;
	struct debounce_batch *b;
	size_t n;

	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_IDLE);
	assert_int_equal(n, 0);
	assert_int_equal(debounce_next_due(d, &due), -1);
	assert_int_equal(debounce_add(d, "spring", "u1", t0 - 5, t0),
	                 DEBOUNCE_OPEN);
	assert_int_equal(debounce_add(d, "spring", "u2", t0 + 8, t0 + 10),
	                 DEBOUNCE_OPEN);
	assert_int_equal(debounce_add(d, "spring", "u3", t0 + 59, t0 + 59),
	                 DEBOUNCE_OPEN);
	/* Due 60 s after the first event, however many follow. */
	assert_int_equal(debounce_next_due(d, &due), 0);
	assert_int_equal(due, t0 + 60);
	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_OPEN);
	assert_int_equal(n, 3);
	assert_null(debounce_take(d, t0 + 59));
	b = debounce_take(d, t0 + 60);
	assert_persons(b, "u1,u2,u3");
	assert_string_equal(b->feed, "spring");
	assert_int_equal(b->opened, t0);
	assert_int_equal(b->due, t0 + 60);
	assert_int_equal(b->nth, 1);
	assert_int_equal(b->day, t0 / 86400); /* UTC feed */
	/* Event times (for the lag) and arrival times are kept. */
	assert_int_equal(b->items[0].event_time, t0 - 5);
	assert_int_equal(b->items[0].seen, t0);
	assert_int_equal(b->items[1].event_time, t0 + 8);
	assert_int_equal(b->items[1].seen, t0 + 10);
	debounce_batch_free(b);
	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_IDLE);
	assert_int_equal(n, 0);
	assert_null(debounce_take(d, t0 + 3600));
	assert_int_equal(debounce_next_due(d, &due), -1);
	debounce_free(d);
}

static void
test_later_event_starts_new_batch(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	struct debounce_batch *b;

	debounce_add(d, "spring", "u1", t0, t0);
	b = debounce_take(d, t0 + 60);
	assert_persons(b, "u1");
	debounce_batch_free(b);
	/* After the batch was handed out: a new batch, its own window. */
	assert_int_equal(debounce_add(d, "spring", "u2", t0 + 61, t0 + 61),
	                 DEBOUNCE_OPEN);
	assert_int_equal(debounce_next_due(d, &due), 0);
	assert_int_equal(due, t0 + 121);
	assert_null(debounce_take(d, t0 + 120));
	b = debounce_take(d, t0 + 200); /* a late timer still takes it */
	assert_persons(b, "u2");
	assert_int_equal(b->opened, t0 + 61);
	assert_int_equal(b->due, t0 + 121);
	assert_int_equal(b->nth, 2);
	debounce_batch_free(b);
	debounce_free(d);
}

static void
test_same_person_once(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00");
	struct debounce_batch *b;
	size_t n;

	/* PATCH active:false, then DELETE of the same user; then an HRIS
	 * import reporting an earlier effective time. */
	debounce_add(d, "spring", "u1", t0, t0);
	debounce_add(d, "spring", "u2", t0 + 1, t0 + 1);
	debounce_add(d, "spring", "u1", t0 + 5, t0 + 5);
	debounce_add(d, "spring", "u1", t0 - 100, t0 + 6);
	debounce_state(d, "spring", &n);
	assert_int_equal(n, 2);
	b = debounce_take(d, t0 + 60);
	assert_persons(b, "u1,u2");
	assert_int_equal(b->items[0].event_time, t0 - 100);
	assert_int_equal(b->items[0].seen, t0);
	debounce_batch_free(b);
	debounce_free(d);
}

static void
test_remove_reactivated(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	struct debounce_batch *b;

	debounce_add(d, "spring", "u1", t0, t0);
	debounce_add(d, "spring", "u2", t0, t0 + 1);
	debounce_add(d, "spring", "u3", t0, t0 + 2);
	assert_true(debounce_remove(d, "spring", "u2"));
	assert_false(debounce_remove(d, "spring", "u2"));
	assert_false(debounce_remove(d, "spring", "nobody"));
	assert_false(debounce_remove(d, "other-feed", "u1"));
	/* u3 is still found after the index was rebuilt. */
	debounce_add(d, "spring", "u3", t0, t0 + 3);
	b = debounce_take(d, t0 + 60);
	assert_persons(b, "u1,u3");
	debounce_batch_free(b);
	/* A batch that empties is gone: no file for nobody. */
	debounce_add(d, "spring", "u4", t0 + 100, t0 + 100);
	assert_true(debounce_remove(d, "spring", "u4"));
	assert_int_equal(debounce_state(d, "spring", NULL), DEBOUNCE_IDLE);
	assert_int_equal(debounce_next_due(d, &due), -1);
	assert_null(debounce_take(d, t0 + 1000));
	/* And it did not count against the cap. */
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 1000), 3);
	debounce_free(d);
}

static void
test_daily_cap_holds_until_scheduled_run(void **state)
{
	struct debounce *d = new_with_feed(60, 2, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	struct debounce_batch *b;
	size_t n;

	assert_int_equal(debounce_cap_left(d, "spring", t0), 2);
	debounce_add(d, "spring", "u1", t0, t0);
	debounce_batch_free(debounce_take(d, t0 + 60));
	debounce_add(d, "spring", "u2", t0 + 100, t0 + 100);
	b = debounce_take(d, t0 + 160);
	assert_int_equal(b->nth, 2);
	debounce_batch_free(b);
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 200), 0);
	/* The cap is used: new events wait, no timer is needed. */
	assert_int_equal(debounce_add(d, "spring", "u3", t0 + 200, t0 + 200),
	                 DEBOUNCE_HELD);
	assert_int_equal(debounce_add(d, "spring", "u4", t0 + 300, t0 + 300),
	                 DEBOUNCE_HELD);
	assert_int_equal(debounce_next_due(d, &due), -1);
	assert_null(debounce_take(d, t0 + 5000));
	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_HELD);
	assert_int_equal(n, 2);
	/* The scheduled run (same day) takes them over, uncounted. */
	b = debounce_take_all(d, "spring", t0 + 6000);
	assert_persons(b, "u3,u4");
	assert_int_equal(b->nth, 0);
	assert_int_equal(b->opened, t0 + 200);
	assert_int_equal(b->due, t0 + 6000);
	assert_int_equal(b->items[1].event_time, t0 + 300);
	debounce_batch_free(b);
	assert_int_equal(debounce_state(d, "spring", NULL), DEBOUNCE_IDLE);
	assert_null(debounce_take_all(d, "spring", t0 + 6001));
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 6001), 0);
	debounce_free(d);
}

static void
test_cap_reached_while_open(void **state)
{
	struct debounce *d = new_with_feed(60, 1, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	size_t n;

	assert_int_equal(debounce_add(d, "spring", "u1", t0, t0),
	                 DEBOUNCE_OPEN);
	/* Meanwhile a restart restored today's extra file from history. */
	debounce_count_extra(d, "spring", t0 - 3600);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 0);
	assert_null(debounce_take(d, t0 + 60));
	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_HELD);
	assert_int_equal(n, 1);
	assert_int_equal(debounce_next_due(d, &due), -1);
	debounce_free(d);
}

static void
test_zero_cap_and_zero_window(void **state)
{
	struct debounce *d = new_with_feed(60, 0, NULL);
	time_t t0 = utc("2026-05-04 10:00:00");
	struct debounce_batch *b;
	struct debounce_policy p;

	/* No extra files allowed: everything waits for the schedule. */
	assert_int_equal(debounce_add(d, "spring", "u1", t0, t0),
	                 DEBOUNCE_HELD);
	assert_int_equal(debounce_add(d, "spring", "u2", t0, t0 + 86400 * 3),
	                 DEBOUNCE_HELD);
	assert_null(debounce_take(d, t0 + 86400 * 4));
	/* A window of 0 sends at once. */
	debounce_policy_init(&p);
	p.window = 0;
	debounce_feed_set(d, "now", &p);
	assert_int_equal(debounce_add(d, "now", "u9", t0, t0), DEBOUNCE_OPEN);
	b = debounce_take(d, t0);
	assert_persons(b, "u9");
	debounce_batch_free(b);
	debounce_free(d);
}

static void
test_day_rollover_in_feed_zone(void **state)
{
	struct debounce *d = new_with_feed(60, 1, "America/New_York");
	/* 2026-03-10 23:00 EDT = 2026-03-11 03:00 UTC. */
	time_t t0 = utc("2026-03-11 03:00:00"), due;
	struct debounce_batch *b;
	size_t n;

	debounce_add(d, "spring", "u1", t0, t0);
	b = debounce_take(d, t0 + 60);
	assert_int_equal(b->day, 20522); /* 2026-03-10, local */
	debounce_batch_free(b);
	/* 23:30 EDT: a new UTC day already, but not a new local day. */
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 1800), 0);
	assert_int_equal(debounce_add(d, "spring", "u2", t0 + 1800, t0 + 1800),
	                 DEBOUNCE_HELD);
	assert_int_equal(debounce_next_due(d, &due), -1);
	/* 00:10 EDT on 03-11: the cap is back; a new event reopens, and the
	 * held one rides along in the same file. */
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 4200), 1);
	assert_int_equal(debounce_add(d, "spring", "u3", t0 + 4200, t0 + 4200),
	                 DEBOUNCE_OPEN);
	assert_int_equal(debounce_next_due(d, &due), 0);
	assert_int_equal(due, t0 + 4260);
	b = debounce_take(d, t0 + 4260);
	assert_persons(b, "u2,u3");
	assert_int_equal(b->opened, t0 + 4200);
	assert_int_equal(b->day, 20523);
	assert_int_equal(b->nth, 1);
	debounce_batch_free(b);
	assert_int_equal(debounce_state(d, "spring", &n), DEBOUNCE_IDLE);
	debounce_free(d);
}

static void
test_day_rollover_utc_contrast(void **state)
{
	/* The same instants in a UTC feed: 03:00 UTC is already the next
	 * day, so the day boundary falls elsewhere. */
	struct debounce *d = new_with_feed(60, 1, NULL);
	time_t t0 = utc("2026-03-10 23:00:00");

	debounce_add(d, "spring", "u1", t0, t0);
	debounce_batch_free(debounce_take(d, t0 + 60));
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 1800), 0);
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 3600), 1);
	debounce_free(d);
}

static void
test_window_across_midnight(void **state)
{
	struct debounce *d = new_with_feed(60, 1, "Europe/Berlin");
	/* 2026-06-01 23:00 CEST = 21:00 UTC. */
	time_t t0 = utc("2026-06-01 21:00:00"), late;
	struct debounce_batch *b;

	debounce_add(d, "spring", "u1", t0, t0);
	debounce_batch_free(debounce_take(d, t0 + 60));
	/* 23:59:30 local with today's cap used: due 00:00:30, tomorrow,
	 * which has cap, so the batch opens rather than being held. */
	late = t0 + 3570;
	assert_int_equal(debounce_add(d, "spring", "u2", late, late),
	                 DEBOUNCE_OPEN);
	assert_null(debounce_take(d, late + 59));
	b = debounce_take(d, late + 60);
	assert_persons(b, "u2");
	assert_int_equal(b->day, 20606); /* 2026-06-02 */
	debounce_batch_free(b);
	debounce_free(d);
}

static void
test_feeds_are_independent(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	struct debounce_batch *b;
	struct debounce_policy p;

	debounce_policy_init(&p);
	p.window = 30;
	debounce_feed_set(d, "lyra", &p);
	assert_int_equal(debounce_add(d, "nope", "u1", t0, t0), -1);
	assert_null(debounce_take_all(d, "nope", t0));
	assert_int_equal(debounce_state(d, "nope", NULL), DEBOUNCE_IDLE);
	assert_int_equal(debounce_cap_left(d, "nope", t0), 0);
	debounce_count_extra(d, "nope", t0);
	/* The same person leaves two feeds. */
	debounce_add(d, "spring", "u1", t0, t0);
	debounce_add(d, "lyra", "u1", t0, t0 + 10);
	debounce_add(d, "lyra", "u2", t0, t0 + 11);
	assert_int_equal(debounce_next_due(d, &due), 0);
	assert_int_equal(due, t0 + 40);
	/* Earliest due first, then the next; then nothing. */
	b = debounce_take(d, t0 + 100);
	assert_string_equal(b->feed, "lyra");
	assert_persons(b, "u1,u2");
	debounce_batch_free(b);
	b = debounce_take(d, t0 + 100);
	assert_string_equal(b->feed, "spring");
	assert_persons(b, "u1");
	debounce_batch_free(b);
	assert_null(debounce_take(d, t0 + 100));
	assert_int_equal(debounce_cap_left(d, "lyra", t0), 3);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 3);
	/* Removing a feed drops its pending events. */
	debounce_add(d, "lyra", "u3", t0 + 200, t0 + 200);
	assert_true(debounce_feed_remove(d, "lyra"));
	assert_false(debounce_feed_remove(d, "lyra"));
	assert_int_equal(debounce_add(d, "lyra", "u4", t0, t0), -1);
	assert_int_equal(debounce_next_due(d, &due), -1);
	debounce_free(d);
	debounce_free(NULL);
	debounce_batch_free(NULL);
}

static void
test_reconfigure_window(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00"), due;
	struct debounce_policy p;

	debounce_add(d, "spring", "u1", t0, t0);
	debounce_policy_init(&p);
	p.window = 120;
	debounce_feed_set(d, "spring", &p);
	assert_int_equal(debounce_next_due(d, &due), 0);
	assert_int_equal(due, t0 + 120);
	assert_null(debounce_take(d, t0 + 60));
	debounce_batch_free(debounce_take(d, t0 + 120));
	debounce_free(d);
}

static void
test_count_extra_restores_today(void **state)
{
	struct debounce *d = new_with_feed(60, 3, NULL);
	time_t t0 = utc("2026-05-04 10:00:00");

	/* Yesterday's files do not count today; today's do. */
	debounce_count_extra(d, "spring", t0 - 86400);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 3);
	debounce_count_extra(d, "spring", t0 - 60);
	debounce_count_extra(d, "spring", t0 - 30);
	/* An older day reported late changes nothing. */
	debounce_count_extra(d, "spring", t0 - 86400);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 1);
	assert_int_equal(debounce_cap_left(d, "spring", t0 + 86400), 3);
	debounce_free(d);
}

static void
test_uncount_gives_back(void **state)
{
	struct debounce *d = new_with_feed(60, 2, NULL);
	time_t t0 = utc("2026-05-04 10:00:00");

	debounce_count_extra(d, "spring", t0);
	debounce_count_extra(d, "spring", t0);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 0);
	debounce_uncount(d, "spring", t0 + 60);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 1);
	/* Another day, an unknown feed, nothing counted: no change. */
	debounce_uncount(d, "spring", t0 + 86400);
	debounce_uncount(d, "nope", t0);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 1);
	debounce_uncount(d, "spring", t0);
	debounce_uncount(d, "spring", t0);
	assert_int_equal(debounce_cap_left(d, "spring", t0), 2);
	debounce_free(d);
}

static void
test_many_persons(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	time_t t0 = utc("2026-05-04 10:00:00");
	struct debounce_batch *b;
	char key[32];
	size_t i, n;

	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "person-%zu", i % 10000);
		debounce_add(d, "spring", key, t0 + (time_t)i,
		             t0 + (time_t)(i / 1000));
	}
	debounce_state(d, "spring", &n);
	assert_int_equal(n, 10000);
	b = debounce_take(d, t0 + 60);
	assert_int_equal(b->nitems, 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "person-%zu", i);
		assert_string_equal(b->items[i].person, key);
		assert_int_equal(b->items[i].event_time, t0 + (time_t)i);
	}
	debounce_batch_free(b);
	debounce_free(d);
}

struct adder {
	struct debounce *d;
	int id;
};

static void *
adder_run(void *p)
{
	struct adder *a = p;
	char key[32];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "t%d-%d", a->id, i);
		debounce_add(a->d, "spring", key, 1000, 1000);
		if (i % 10 == 0)
			debounce_remove(a->d, "spring", key);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct debounce *d = new_with_feed(60, 4, NULL);
	struct adder a[4];
	pthread_t th[4];
	struct debounce_batch *b;
	int i;

	for (i = 0; i < 4; i++) {
		a[i].d = d;
		a[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, adder_run, &a[i]),
		                 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	b = debounce_take(d, 1060);
	assert_non_null(b);
	assert_int_equal(b->nitems, 4 * 1800);
	debounce_batch_free(b);
	debounce_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_defaults),
	    cmocka_unit_test(test_events_in_window_one_batch),
	    cmocka_unit_test(test_later_event_starts_new_batch),
	    cmocka_unit_test(test_same_person_once),
	    cmocka_unit_test(test_remove_reactivated),
	    cmocka_unit_test(test_daily_cap_holds_until_scheduled_run),
	    cmocka_unit_test(test_uncount_gives_back),
	    cmocka_unit_test(test_cap_reached_while_open),
	    cmocka_unit_test(test_zero_cap_and_zero_window),
	    cmocka_unit_test(test_day_rollover_in_feed_zone),
	    cmocka_unit_test(test_day_rollover_utc_contrast),
	    cmocka_unit_test(test_window_across_midnight),
	    cmocka_unit_test(test_feeds_are_independent),
	    cmocka_unit_test(test_reconfigure_window),
	    cmocka_unit_test(test_count_extra_restores_today),
	    cmocka_unit_test(test_many_persons),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
