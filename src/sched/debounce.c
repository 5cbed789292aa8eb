/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The off-cycle termination batcher: windows, daily caps, held events. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/debounce.h"
#include "util/xmalloc.h"

struct debounce_feed {
	char *name;
	unsigned window;
	unsigned daily_cap;
	struct cron_tz *tz;
	enum debounce_state state;
	time_t opened; /* when the pending batch was opened (IDLE: unused) */
	time_t due;    /* OPEN only */
	struct debounce_item *items;
	size_t nitems, itemcap;
	/* Open addressing over items by person: index + 1, 0 = empty. */
	size_t *slots;
	size_t nslots;   /* a power of two, more than twice nitems */
	int64_t cap_day; /* the local day cap_used counts */
	unsigned cap_used;
};

struct debounce {
	pthread_mutex_t lock;
	struct debounce_feed **feeds;
	size_t nfeeds, feedcap;
};

void
debounce_policy_init(struct debounce_policy *p)
{
	p->window = DEBOUNCE_WINDOW_DEFAULT;
	p->daily_cap = DEBOUNCE_DAILY_CAP_DEFAULT;
	p->tz = NULL;
}

/*--- the per-feed person index ---*/

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
index_rebuild(struct debounce_feed *f, size_t nslots)
{
	size_t i, j;

	free(f->slots);
	f->nslots = nslots;
	f->slots = xcalloc(nslots, sizeof(*f->slots));
	for (i = 0; i < f->nitems; i++) {
		j = hash_str(f->items[i].person) & (nslots - 1);
		while (f->slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		f->slots[j] = i + 1;
	}
}

static struct debounce_item *
item_find(const struct debounce_feed *f, const char *person)
{
	size_t j;

	if (f->nslots == 0)
		return NULL;
	j = hash_str(person) & (f->nslots - 1);
	for (; f->slots[j] != 0; j = (j + 1) & (f->nslots - 1))
		if (strcmp(f->items[f->slots[j] - 1].person, person) == 0)
			return &f->items[f->slots[j] - 1];
	return NULL;
}

static void
item_insert(struct debounce_feed *f, const char *person, time_t event_time,
            time_t now)
{
	struct debounce_item *it;
	size_t j;

	if (f->nitems == f->itemcap) {
		f->itemcap = f->itemcap ? f->itemcap * 2 : 8;
		f->items = xrealloc(f->items, f->itemcap * sizeof(*f->items));
	}
	it = &f->items[f->nitems++];
	it->person = xstrdup(person);
	it->event_time = event_time;
	it->seen = now;
	if (f->nitems * 2 >= f->nslots) {
		index_rebuild(f, f->nslots ? f->nslots * 2 : 16);
		return;
	}
	j = hash_str(person) & (f->nslots - 1);
	while (f->slots[j] != 0)
		j = (j + 1) & (f->nslots - 1);
	f->slots[j] = f->nitems;
}

/* Give up the pending items (the caller took or freed them). */
static void
items_forget(struct debounce_feed *f)
{
	f->items = NULL;
	f->nitems = f->itemcap = 0;
	xfree(f->slots);
	f->nslots = 0;
	f->state = DEBOUNCE_IDLE;
}

static void
items_free(struct debounce_feed *f)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		free(f->items[i].person);
	free(f->items);
	items_forget(f);
}

/*--- feeds and the cap ---*/

static struct debounce_feed *
feed_find(const struct debounce *d, const char *name, size_t *pos)
{
	size_t i;

	for (i = 0; i < d->nfeeds; i++) {
		if (strcmp(d->feeds[i]->name, name) == 0) {
			if (pos != NULL)
				*pos = i;
			return d->feeds[i];
		}
	}
	return NULL;
}

static void
feed_free(struct debounce_feed *f)
{
	items_free(f);
	cron_tz_free(f->tz);
	free(f->name);
	free(f);
}

static int64_t
feed_day(const struct debounce_feed *f, time_t t)
{
	return cron_tz_day(f->tz, t);
}

static unsigned
cap_left(const struct debounce_feed *f, int64_t day)
{
	if (day != f->cap_day)
		return f->daily_cap;
	return f->cap_used < f->daily_cap ? f->daily_cap - f->cap_used : 0;
}

/* Count one extra file on `day`; a day older than the one counted is
 * already over and is ignored. */
static void
cap_count(struct debounce_feed *f, int64_t day)
{
	if (day < f->cap_day)
		return;
	if (day > f->cap_day) {
		f->cap_day = day;
		f->cap_used = 0;
	}
	f->cap_used++;
}

static struct debounce_batch *
batch_take(struct debounce_feed *f, time_t due, int64_t day, unsigned nth)
{
	struct debounce_batch *b = xcalloc(1, sizeof(*b));

	b->feed = xstrdup(f->name);
	b->items = f->items;
	b->nitems = f->nitems;
	b->opened = f->opened;
	b->due = due;
	b->day = day;
	b->nth = nth;
	items_forget(f);
	return b;
}

/*--- the interface ---*/

struct debounce *
debounce_new(void)
{
	struct debounce *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void
debounce_free(struct debounce *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nfeeds; i++)
		feed_free(d->feeds[i]);
	free(d->feeds);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void
debounce_feed_set(struct debounce *d, const char *feed,
                  const struct debounce_policy *p)
{
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->name = xstrdup(feed);
		f->cap_day = INT64_MIN;
		if (d->nfeeds == d->feedcap) {
			d->feedcap = d->feedcap ? d->feedcap * 2 : 8;
			d->feeds =
			    xrealloc(d->feeds, d->feedcap * sizeof(*d->feeds));
		}
		d->feeds[d->nfeeds++] = f;
	}
	cron_tz_free(f->tz);
	f->tz = p->tz != NULL ? cron_tz_dup(p->tz) : cron_tz_utc();
	f->window = p->window;
	f->daily_cap = p->daily_cap;
	if (f->state == DEBOUNCE_OPEN)
		f->due = f->opened + (time_t)f->window;
	pthread_mutex_unlock(&d->lock);
}

bool
debounce_feed_remove(struct debounce *d, const char *feed)
{
	struct debounce_feed *f;
	size_t pos;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, &pos)) != NULL) {
		feed_free(f);
		d->feeds[pos] = d->feeds[--d->nfeeds];
	}
	pthread_mutex_unlock(&d->lock);
	return f != NULL;
}

int
debounce_add(struct debounce *d, const char *feed, const char *person,
             time_t event_time, time_t now)
{
	struct debounce_feed *f;
	struct debounce_item *it;
	time_t due;
	int state;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) == NULL) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	if ((it = item_find(f, person)) == NULL)
		item_insert(f, person, event_time, now);
	else if (event_time < it->event_time)
		it->event_time = event_time;
	/*
	 * An idle feed opens a batch, unless the day it would be due on has
	 * no cap left. A held feed reopens once such a day has cap again:
	 * the held events ride along at no extra cost.
	 */
	due = now + (time_t)f->window;
	if (f->state != DEBOUNCE_OPEN) {
		if (cap_left(f, feed_day(f, due)) > 0) {
			f->state = DEBOUNCE_OPEN;
			f->opened = now;
			f->due = due;
		} else if (f->state == DEBOUNCE_IDLE) {
			f->state = DEBOUNCE_HELD;
			f->opened = now;
		}
	}
	state = (int)f->state;
	pthread_mutex_unlock(&d->lock);
	return state;
}

bool
debounce_remove(struct debounce *d, const char *feed, const char *person)
{
	struct debounce_feed *f;
	struct debounce_item *it;
	bool found = false;
	size_t i;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL &&
	    (it = item_find(f, person)) != NULL) {
		found = true;
		i = (size_t)(it - f->items);
		free(it->person);
		memmove(it, it + 1, (f->nitems - i - 1) * sizeof(*it));
		/* An emptied batch is gone: IDLE, and no file for nobody. */
		if (--f->nitems == 0)
			items_free(f);
		else
			index_rebuild(f, f->nslots);
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* The open feed due first, or NULL. Called locked. */
static struct debounce_feed *
first_due(const struct debounce *d)
{
	struct debounce_feed *best = NULL;
	size_t i;

	for (i = 0; i < d->nfeeds; i++)
		if (d->feeds[i]->state == DEBOUNCE_OPEN &&
		    (best == NULL || d->feeds[i]->due < best->due))
			best = d->feeds[i];
	return best;
}

int
debounce_next_due(struct debounce *d, time_t *due)
{
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = first_due(d)) != NULL)
		*due = f->due;
	pthread_mutex_unlock(&d->lock);
	return f != NULL ? 0 : -1;
}

struct debounce_batch *
debounce_take(struct debounce *d, time_t now)
{
	struct debounce_batch *b = NULL;
	struct debounce_feed *f;
	int64_t day;

	pthread_mutex_lock(&d->lock);
	while (b == NULL && (f = first_due(d)) != NULL && f->due <= now) {
		day = feed_day(f, now);
		if (cap_left(f, day) == 0) {
			f->state = DEBOUNCE_HELD;
			continue;
		}
		cap_count(f, day);
		b = batch_take(f, f->due, day, f->cap_used);
	}
	pthread_mutex_unlock(&d->lock);
	return b;
}

struct debounce_batch *
debounce_take_all(struct debounce *d, const char *feed, time_t now)
{
	struct debounce_batch *b = NULL;
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL && f->nitems > 0)
		b = batch_take(f, now, feed_day(f, now), 0);
	pthread_mutex_unlock(&d->lock);
	return b;
}

void
debounce_count_extra(struct debounce *d, const char *feed, time_t when)
{
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL)
		cap_count(f, feed_day(f, when));
	pthread_mutex_unlock(&d->lock);
}

void
debounce_uncount(struct debounce *d, const char *feed, time_t when)
{
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL &&
	    feed_day(f, when) == f->cap_day && f->cap_used > 0)
		f->cap_used--;
	pthread_mutex_unlock(&d->lock);
}

enum debounce_state
debounce_state(struct debounce *d, const char *feed, size_t *npending)
{
	enum debounce_state st = DEBOUNCE_IDLE;
	struct debounce_feed *f;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL)
		st = f->state;
	if (npending != NULL)
		*npending = f != NULL ? f->nitems : 0;
	pthread_mutex_unlock(&d->lock);
	return st;
}

unsigned
debounce_cap_left(struct debounce *d, const char *feed, time_t now)
{
	struct debounce_feed *f;
	unsigned left = 0;

	pthread_mutex_lock(&d->lock);
	if ((f = feed_find(d, feed, NULL)) != NULL)
		left = cap_left(f, feed_day(f, now));
	pthread_mutex_unlock(&d->lock);
	return left;
}

void
debounce_batch_free(struct debounce_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nitems; i++)
		free(b->items[i].person);
	free(b->items);
	free(b->feed);
	free(b);
}
