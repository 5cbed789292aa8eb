/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Loading the store's side of an HRIS import on a second thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "import/hris_ahead.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One hris_people row as the load step would see it. */
struct ha_person {
	size_t key_off;
	int64_t rid;
	uint64_t row_hash, dep_hash;
	bool has_hash;
};

/* One live User with an externalId. */
struct ha_ext {
	size_t key_off;
	int64_t rid;
};

struct hris_ahead {
	pthread_t thread;
	bool running;
	struct store *rd; /* the thread's connection */
	int64_t tenant_id;
	bool want_ext;
	int64_t version; /* data_version of the importing connection */
	int rc;          /* the thread's store_rc */

	struct ha_person *people;
	size_t npeople, cappeople;
	struct ha_ext *ext;
	size_t next, capext;
	char *keys; /* arena of NUL-terminated keys */
	size_t keys_len, keys_cap;
	size_t match; /* people[] position of the last ext key shared */
};

static size_t
ha_key_store(struct hris_ahead *a, const char *key)
{
	size_t len = strlen(key), off = a->keys_len;

	if (a->keys_len + len + 1 > a->keys_cap) {
		a->keys_cap = a->keys_cap ? a->keys_cap * 2 : 65536;
		while (a->keys_len + len + 1 > a->keys_cap)
			a->keys_cap *= 2;
		a->keys = xrealloc_big(a->keys, a->keys_cap);
	}
	memcpy(a->keys + off, key, len + 1);
	a->keys_len += len + 1;
	return off;
}

static int
ha_person_cb(const struct store_hris_person *p, void *arg)
{
	struct hris_ahead *a = arg;
	struct ha_person *h;

	if (a->npeople == a->cappeople) {
		a->cappeople = a->cappeople ? a->cappeople * 2 : 1024;
		a->people =
		    xrealloc_big(a->people, a->cappeople * sizeof(*a->people));
	}
	h = &a->people[a->npeople++];
	h->key_off = ha_key_store(a, p->external_id);
	h->rid = p->rid;
	h->has_hash = p->has_hash;
	h->row_hash = p->row_hash;
	h->dep_hash = p->dep_hash;
	return 0;
}

/*
 * Both walks come in externalId order and mostly name the same people:
 * share the person's copy of the key when the next one is the same.
 */
static size_t
ha_ext_key(struct hris_ahead *a, const char *key)
{
	const char *k;

	if (a->match < a->npeople) {
		k = a->keys + a->people[a->match].key_off;
		if (strcmp(k, key) == 0)
			return a->people[a->match++].key_off;
	}
	return ha_key_store(a, key);
}

static int
ha_ext_cb(const char *key, int64_t rid, void *arg)
{
	struct hris_ahead *a = arg;
	struct ha_ext *e;

	if (a->next == a->capext) {
		a->capext = a->capext ? a->capext * 2 : 1024;
		a->ext = xrealloc_big(a->ext, a->capext * sizeof(*a->ext));
	}
	e = &a->ext[a->next++];
	e->key_off = ha_ext_key(a, key);
	e->rid = rid;
	return 0;
}

static void *
ha_main(void *arg)
{
	struct hris_ahead *a = arg;

	a->rc = store_hris_people_read(a->rd, a->tenant_id, ha_person_cb,
	                               a->want_ext ? ha_ext_cb : NULL, a);
	store_close(a->rd);
	a->rd = NULL;
	return NULL;
}

struct hris_ahead *
hris_ahead_start(struct store *st, int64_t tenant_id, bool ext)
{
	struct hris_ahead *a;
	int64_t v;

	/* Read first: a commit from here on makes the records stale. */
	if (store_data_version(st, &v) != STORE_OK)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->version = v;
	a->tenant_id = tenant_id;
	a->want_ext = ext;
	a->rc = STORE_ERR;
	if ((a->rd = store_open_reader(st)) == NULL) {
		free(a);
		return NULL;
	}
	if (pthread_create(&a->thread, NULL, ha_main, a) != 0) {
		log_warn("%s: pthread_create", __func__);
		store_close(a->rd);
		free(a);
		return NULL;
	}
	a->running = true;
	return a;
}

static void
ha_join(struct hris_ahead *a)
{
	if (!a->running)
		return;
	pthread_join(a->thread, NULL);
	a->running = false;
}

bool
hris_ahead_valid(struct hris_ahead *a, struct store *st)
{
	int64_t v;

	ha_join(a);
	if (a->rc != STORE_OK)
		return false;
	return store_data_version(st, &v) == STORE_OK && v == a->version;
}

int
hris_ahead_people(const struct hris_ahead *a,
                  int (*cb)(const struct store_hris_person *, void *),
                  void *arg)
{
	struct store_hris_person p;
	const struct ha_person *h;
	size_t i;

	for (i = 0; i < a->npeople; i++) {
		h = &a->people[i];
		p.external_id = a->keys + h->key_off;
		p.rid = h->rid;
		p.has_hash = h->has_hash;
		p.row_hash = h->row_hash;
		p.dep_hash = h->dep_hash;
		if (cb(&p, arg) != 0)
			break;
	}
	return STORE_OK;
}

bool
hris_ahead_has_ext(const struct hris_ahead *a)
{
	return a->want_ext;
}

int
hris_ahead_external(const struct hris_ahead *a,
                    int (*cb)(const char *, int64_t, void *), void *arg)
{
	size_t i;

	for (i = 0; i < a->next; i++)
		if (cb(a->keys + a->ext[i].key_off, a->ext[i].rid, arg) != 0)
			break;
	return STORE_OK;
}

void
hris_ahead_free(struct hris_ahead *a)
{
	if (a == NULL)
		return;
	ha_join(a);
	store_close(a->rd);
	free(a->people);
	free(a->ext);
	free(a->keys);
	free(a);
}
