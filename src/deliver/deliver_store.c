/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The store_deliver_* front end: dispatch to the backend's delivery tables. */
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#include "store/store_deliver.h"
#include "util/xmalloc.h"

int
store_deliver_create(struct store *st, struct store_delivery *d, char **cause)
{
	return st->ops->deliver->create(st, d, cause);
}

int
store_deliver_get(struct store *st, const char *run_id,
                  struct store_delivery *d)
{
	return st->ops->deliver->get(st, run_id, d);
}

int
store_deliver_advance(struct store *st, const struct store_delivery *d,
                      const char *from, const char *note)
{
	return st->ops->deliver->advance(st, d, from, note);
}

int
store_deliver_attempt_begin(struct store *st, const char *run_id, int64_t *n)
{
	return st->ops->deliver->attempt_begin(st, run_id, n);
}

int
store_deliver_attempt_end(struct store *st, const char *run_id, int64_t n,
                          const char *outcome, const char *error)
{
	return st->ops->deliver->attempt_end(st, run_id, n, outcome, error);
}

int
store_deliver_attempts(struct store *st, const char *run_id,
                       int (*cb)(const struct store_delivery_attempt *, void *),
                       void *arg)
{
	return st->ops->deliver->attempts(st, run_id, cb, arg);
}

int
store_deliver_list(struct store *st, const char *feed,
                   int (*cb)(const struct store_delivery *, void *), void *arg)
{
	return st->ops->deliver->list(st, feed, cb, arg);
}

int
store_deliver_pending(struct store *st,
                      int (*cb)(const char *, const char *, void *), void *arg)
{
	return st->ops->deliver->pending(st, cb, arg);
}

void
store_delivery_clear(struct store_delivery *d)
{
	char **s[] = {&d->run_id,          &d->feed,         &d->state,
	              &d->failed_from,     &d->destination,  &d->plain_path,
	              &d->enc_path,        &d->remote_name,  &d->sha256,
	              &d->next_attempt_at, &d->last_error,   &d->created,
	              &d->updated,         &d->encrypted_at, &d->delivered_at,
	              &d->acknowledged_at};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(d, 0, sizeof(*d));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
store_delivery_copy(struct store_delivery *dst,
                    const struct store_delivery *src)
{
	*dst = *src;
	dst->run_id = dup_or_null(src->run_id);
	dst->feed = dup_or_null(src->feed);
	dst->state = dup_or_null(src->state);
	dst->failed_from = dup_or_null(src->failed_from);
	dst->destination = dup_or_null(src->destination);
	dst->plain_path = dup_or_null(src->plain_path);
	dst->enc_path = dup_or_null(src->enc_path);
	dst->remote_name = dup_or_null(src->remote_name);
	dst->sha256 = dup_or_null(src->sha256);
	dst->next_attempt_at = dup_or_null(src->next_attempt_at);
	dst->last_error = dup_or_null(src->last_error);
	dst->created = dup_or_null(src->created);
	dst->updated = dup_or_null(src->updated);
	dst->encrypted_at = dup_or_null(src->encrypted_at);
	dst->delivered_at = dup_or_null(src->delivered_at);
	dst->acknowledged_at = dup_or_null(src->acknowledged_at);
}

bool
store_deliver_state_active(const char *state)
{
	return state != NULL && (strcmp(state, STORE_DELIVER_RENDERED) == 0 ||
	                         strcmp(state, STORE_DELIVER_ENCRYPTED) == 0 ||
	                         strcmp(state, STORE_DELIVER_UPLOADING) == 0);
}

int
store_deliver_run_by_x12(struct store *st, const char *feed, int64_t gs06,
                         int64_t isa13, char **run_id)
{
	return st->ops->deliver->run_by_x12(st, feed, gs06, isa13, run_id);
}

int
store_return_latest(struct store *st, const char *feed, const char *name,
                    struct store_return_file *f)
{
	return st->ops->deliver->return_latest(st, feed, name, f);
}

int
store_return_add(struct store *st, struct store_return_file *f)
{
	return st->ops->deliver->return_add(st, f);
}

int
store_return_records_add(struct store *st, const struct store_return_record *r,
                         size_t n)
{
	if (n == 0)
		return STORE_OK;
	return st->ops->deliver->return_records_add(st, r, n);
}

int
store_return_finish(struct store *st, int64_t id, int64_t records,
                    int64_t rejected, const char *error)
{
	return st->ops->deliver->return_finish(st, id, records, rejected,
	                                       error);
}

int
store_return_list(struct store *st, const char *feed,
                  int (*cb)(const struct store_return_file *, void *),
                  void *arg)
{
	return st->ops->deliver->return_list(st, feed, cb, arg);
}

int
store_return_records(struct store *st, const char *run_id, bool rejected_only,
                     int (*cb)(const struct store_return_record *, void *),
                     void *arg)
{
	return st->ops->deliver->return_records(st, run_id, rejected_only, cb,
	                                        arg);
}

void
store_return_file_clear(struct store_return_file *f)
{
	free(f->feed);
	free(f->name);
	free(f->downloaded_at);
	free(f->archive_path);
	free(f->run_id);
	free(f->signer);
	free(f->error);
	memset(f, 0, sizeof(*f));
}
