/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The store_hris_* front end: dispatch to the backend's HRIS table. */
#include <stdlib.h>

#include "store/store_backend.h"
#include "store/store_hris.h"

int
store_hris_bulk_begin(struct store *st, struct store_hris_bulk *b)
{
	return st->ops->hris->bulk_begin(st, b);
}

int
store_hris_bulk_end(struct store *st, const struct store_hris_bulk *b)
{
	return st->ops->hris->bulk_end(st, b);
}

int
store_hris_invalidate(struct store *st, int64_t tenant_id)
{
	return st->ops->hris->invalidate(st, tenant_id);
}

int
store_hris_people_walk(struct store *st, int64_t tenant_id,
                       int (*cb)(const struct store_hris_person *, void *),
                       void *arg)
{
	return st->ops->hris->people_walk(st, tenant_id, cb, arg);
}

int
store_hris_people_read(struct store *st, int64_t tenant_id,
                       int (*cb)(const struct store_hris_person *, void *),
                       int (*ext)(const char *, int64_t, void *), void *arg)
{
	return st->ops->hris->people_read(st, tenant_id, cb, ext, arg);
}

int
store_hris_person_put(struct store *st, int64_t tenant_id,
                      const struct store_hris_person *p, int64_t run_id)
{
	return st->ops->hris->person_put(st, tenant_id, p, run_id);
}

int
store_hris_res_by_rid(struct store *st, int64_t tenant_id, int64_t rid,
                      struct store_res *r)
{
	return st->ops->hris->res_by_rid(st, tenant_id, rid, r);
}

int
store_hris_res_by_external(struct store *st, int64_t tenant_id,
                           const char *external_id, struct store_res *r)
{
	if (external_id == NULL)
		return STORE_NOTFOUND;
	return st->ops->hris->res_by_external(st, tenant_id, external_id, r);
}

int
store_hris_external_walk(struct store *st, int64_t tenant_id,
                         int (*cb)(const char *, int64_t, void *), void *arg)
{
	return st->ops->hris->external_walk(st, tenant_id, cb, arg);
}

int
store_hris_dep_put(struct store *st, const struct store_hris_dependent *d,
                   int64_t run_id, int *change)
{
	if (d->key == NULL || d->relationship == NULL || d->employee_rid <= 0)
		return STORE_INVALID;
	return st->ops->hris->dep_put(st, d, run_id, change);
}

int
store_hris_dep_prune(struct store *st, int64_t employee_rid, int64_t run_id,
                     int64_t *removed)
{
	return st->ops->hris->dep_prune(st, employee_rid, run_id, removed);
}

int
store_hris_dep_walk(struct store *st, int64_t tenant_id, int64_t employee_rid,
                    int (*cb)(const struct store_hris_dependent *, void *),
                    void *arg)
{
	return st->ops->hris->dep_walk(st, tenant_id, employee_rid, cb, arg);
}

void
store_hris_dep_clear(struct store_hris_dependent *d)
{
	if (d == NULL)
		return;
	free(d->key);
	free(d->dep_id);
	free(d->relationship);
	free(d->first_name);
	free(d->middle_name);
	free(d->last_name);
	free(d->birth_date);
	free(d->gender);
	free(d->created);
	free(d->modified);
	d->key = d->dep_id = d->relationship = d->first_name = NULL;
	d->middle_name = d->last_name = d->birth_date = d->gender = NULL;
	d->created = d->modified = NULL;
}

int
store_hris_run_begin(struct store *st, struct store_hris_run *r)
{
	return st->ops->hris->run_begin(st, r);
}

int
store_hris_run_end(struct store *st, struct store_hris_run *r)
{
	return st->ops->hris->run_end(st, r);
}

int
store_hris_run_last(struct store *st, int64_t tenant_id,
                    struct store_hris_run *r)
{
	return st->ops->hris->run_last(st, tenant_id, r);
}

void
store_hris_run_clear(struct store_hris_run *r)
{
	if (r == NULL)
		return;
	free(r->mapping);
	free(r->file);
	free(r->started);
	free(r->finished);
	r->mapping = r->file = r->started = r->finished = NULL;
}

const char *
store_hris_status_name(enum store_hris_status s)
{
	switch (s) {
	case STORE_HRIS_APPLIED:
		return "applied";
	case STORE_HRIS_PARTIAL:
		return "partial";
	case STORE_HRIS_REJECTED:
		return "rejected";
	case STORE_HRIS_REFUSED:
		return "refused";
	default:
		return "running";
	}
}
