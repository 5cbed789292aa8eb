/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The store front end: backend choice, validation, dispatch and helpers. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "store/store.h"
#include "store/store_backend.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STORE_TENANT_NAME_MAX 64
#define STORE_CURSOR_MAX 128 /* encoded length; ours are far shorter */

/*
 * URL schemes. A backend that is known but not compiled in has ops NULL,
 * so the operator gets "not built" rather than a SQLite file named
 * "postgres://...". A PostgreSQL backend adds `&store_pg_ops` here under
 * its HAVE_ macro. Anything without a known prefix is a SQLite path.
 */
static const struct store_scheme {
	const char *prefix;
	const char *what;
	const struct store_ops *ops;
	bool strip; /* hand the backend the text after the prefix */
} store_schemes[] = {
    {"sqlite:", "SQLite", &store_sqlite_ops, true},
    {"postgres://", "PostgreSQL", NULL, false},
    {"postgresql://", "PostgreSQL", NULL, false},
};

static pthread_once_t store_sodium_once = PTHREAD_ONCE_INIT;

static void
store_sodium_init_once(void)
{
	if (sodium_init() == -1)
		fatalx("%s: sodium_init failed", __func__);
}

static void
store_sodium_init(void)
{
	pthread_once(&store_sodium_once, store_sodium_init_once);
}

void
store_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

struct store *
store_open(const char *path, char **cause)
{
	const struct store_scheme *sc;
	const struct store_ops *ops = &store_sqlite_ops;
	const char *arg = path;
	struct store *st;
	size_t i, n;

	if (path == NULL || *path == '\0') {
		store_set_cause(cause, "no database path given");
		return NULL;
	}
	for (i = 0; i < sizeof(store_schemes) / sizeof(store_schemes[0]); i++) {
		sc = &store_schemes[i];
		n = strlen(sc->prefix);
		if (strncmp(path, sc->prefix, n) != 0)
			continue;
		if (sc->ops == NULL) {
			store_set_cause(cause, "%s backend not built",
			                sc->what);
			return NULL;
		}
		ops = sc->ops;
		arg = sc->strip ? path + n : path;
		break;
	}
	if (*arg == '\0') {
		store_set_cause(cause, "no database path given");
		return NULL;
	}
	store_sodium_init();
	if ((st = ops->open(arg, cause)) != NULL)
		st->ops = ops;
	return st;
}

struct store *
store_open_reader(struct store *st)
{
	struct store *rd = st->ops->open_reader(st);

	if (rd != NULL)
		rd->ops = st->ops;
	return rd;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int
store_migrate(struct store *st, char **cause)
{
	return st->ops->migrate(st, cause);
}

int
store_begin(struct store *st)
{
	return st->ops->begin(st);
}

int
store_begin_nowait(struct store *st)
{
	return st->ops->begin_nowait(st);
}

int
store_begin_read(struct store *st)
{
	return st->ops->begin_read(st);
}

int
store_commit(struct store *st)
{
	return st->ops->commit(st);
}

int
store_rollback(struct store *st)
{
	return st->ops->rollback(st);
}

bool
store_in_tx(struct store *st)
{
	return st->ops->in_tx(st);
}

int
store_savepoint(struct store *st)
{
	return st->ops->savepoint(st);
}

int
store_release(struct store *st)
{
	return st->ops->release(st);
}

int
store_rollback_savepoint(struct store *st)
{
	return st->ops->rollback_savepoint(st);
}

/* 1..64 characters of [A-Za-z0-9._-]: safe in URLs, paths and logs. */
static bool
store_tenant_name_ok(const char *name)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "abcdefghijklmnopqrstuvwxyz"
	                         "0123456789._-";
	size_t n;

	if (name == NULL)
		return false;
	n = strlen(name);
	return n >= 1 && n <= STORE_TENANT_NAME_MAX && strspn(name, ok) == n;
}

int
store_tenant_create(struct store *st, const char *name,
                    struct store_tenant *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (!store_tenant_name_ok(name))
		return STORE_INVALID;
	return st->ops->tenant_create(st, name, out);
}

int
store_tenant_get(struct store *st, const char *name, struct store_tenant *t)
{
	memset(t, 0, sizeof(*t));
	if (name == NULL)
		return STORE_NOTFOUND;
	return st->ops->tenant_get(st, name, t);
}

int
store_tenant_get_id(struct store *st, int64_t id, struct store_tenant *t)
{
	memset(t, 0, sizeof(*t));
	return st->ops->tenant_get_id(st, id, t);
}

int
store_tenant_set_rate(struct store *st, int64_t id, int rps, int burst)
{
	if (rps < 0 || burst < 0)
		return STORE_INVALID;
	return st->ops->tenant_set_rate(st, id, rps, burst);
}

int
store_tenant_list(struct store *st,
                  int (*cb)(const struct store_tenant *, void *), void *arg)
{
	return st->ops->tenant_list(st, cb, arg);
}

void
store_tenant_clear(struct store_tenant *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->created);
	memset(t, 0, sizeof(*t));
}

void
store_token_id(char *buf, size_t len)
{
	uint8_t rnd[(STORE_TOKEN_ID_LEN - 4) / 2];
	char hex[sizeof(rnd) * 2 + 1];

	store_sodium_init();
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(buf, len, "tok_%s", hex);
}

int
store_token_create(struct store *st, int64_t tenant_id, const char *name,
                   const char *scopes, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                   char **id_out)
{
	char id[STORE_TOKEN_ID_LEN + 1];
	int rc;

	if (id_out != NULL)
		*id_out = NULL;
	if (scopes == NULL || hash == NULL)
		return STORE_INVALID;
	store_token_id(id, sizeof(id));
	rc = st->ops->token_create(st, id, tenant_id, name ? name : "", scopes,
	                           hash);
	if (rc == STORE_OK && id_out != NULL)
		*id_out = xstrdup(id);
	return rc;
}

int
store_token_find(struct store *st, const uint8_t hash[STORE_TOKEN_HASH_LEN],
                 struct store_token *t)
{
	memset(t, 0, sizeof(*t));
	return st->ops->token_find(st, hash, t);
}

int
store_token_list(struct store *st, int64_t tenant_id,
                 int (*cb)(const struct store_token *, void *), void *arg)
{
	return st->ops->token_list(st, tenant_id, cb, arg);
}

int
store_token_revoke(struct store *st, const char *id)
{
	if (id == NULL)
		return STORE_NOTFOUND;
	return st->ops->token_revoke(st, id);
}

int
store_token_touch(struct store *st, const char *id)
{
	if (id == NULL)
		return STORE_NOTFOUND;
	return st->ops->token_touch(st, id);
}

void
store_token_clear(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->tenant_name);
	free(t->name);
	free(t->scopes);
	free(t->created);
	free(t->last_used);
	memset(t, 0, sizeof(*t));
}

static bool
store_rtype_ok(enum store_rtype type)
{
	return type == STORE_USER || type == STORE_GROUP;
}

const char *
store_rtype_name(enum store_rtype type)
{
	return type == STORE_GROUP ? "Group" : "User";
}

int
store_res_get(struct store *st, int64_t tenant_id, enum store_rtype type,
              const char *id, struct store_res *res)
{
	memset(res, 0, sizeof(*res));
	if (id == NULL || !store_rtype_ok(type))
		return STORE_NOTFOUND;
	return st->ops->res_get(st, tenant_id, type, id, res);
}

/*
 * Callers set id and timestamps; the CLI and importer may leave them to
 * the store, which then fills them in (and res owns the new strings).
 */
static void
store_res_defaults(struct store_res *res)
{
	char buf[40];

	if (res->id == NULL) {
		store_uuid(buf, sizeof(buf));
		res->id = xstrdup(buf);
	}
	if (res->created == NULL) {
		store_now(buf, sizeof(buf));
		res->created = xstrdup(buf);
	}
	if (res->modified == NULL)
		res->modified = xstrdup(res->created);
}

int
store_res_insert(struct store *st, struct store_res *res,
                 const struct store_actor *actor)
{
	if (!store_rtype_ok(res->type) || res->name == NULL || res->doc == NULL)
		return STORE_INVALID;
	store_res_defaults(res);
	return st->ops->res_insert(st, res, actor);
}

int
store_res_update(struct store *st, struct store_res *res,
                 const struct store_actor *actor, const char *members_delta)
{
	char now[32];

	if (res->name == NULL || res->doc == NULL)
		return STORE_INVALID;
	if (res->modified == NULL) {
		store_now(now, sizeof(now));
		res->modified = xstrdup(now);
	}
	return st->ops->res_update(st, res, actor, members_delta);
}

int
store_res_delete(struct store *st, const struct store_res *res,
                 const struct store_actor *actor)
{
	return st->ops->res_delete(st, res, actor);
}

int
store_res_list(struct store *st, const struct store_query *q,
               int (*cb)(const struct store_res *, void *), void *arg,
               struct store_page *page, char **cause)
{
	struct store_query nq = *q;
	struct store_page scratch;
	int rc;

	if (page == NULL)
		page = &scratch;
	memset(page, 0, sizeof(*page));
	if (!store_rtype_ok(q->type)) {
		store_set_cause(cause, "unknown resource type");
		return STORE_INVALID;
	}
	/* RFC 7644 §3.4.2.4: below 1 means 1; a negative count means 0. */
	if (nq.start_index < 1)
		nq.start_index = 1;
	if (nq.count < 0)
		nq.count = 0;
	if (page != &scratch)
		return st->ops->res_list(st, &nq, cb, arg, page, cause);
	nq.want_total = false;
	rc = st->ops->res_list(st, &nq, cb, arg, page, cause);
	store_page_clear(&scratch);
	return rc;
}

void
store_res_clear(struct store_res *res)
{
	if (res == NULL)
		return;
	free(res->id);
	free(res->name);
	free(res->external_id);
	free(res->doc);
	free(res->created);
	free(res->modified);
	free(res->deleted_at);
	memset(res, 0, sizeof(*res));
}

void
store_page_clear(struct store_page *page)
{
	if (page == NULL)
		return;
	free(page->next_cursor);
	memset(page, 0, sizeof(*page));
}

int
store_members_list(struct store *st, int64_t group_rid,
                   int (*cb)(const struct store_member *, void *), void *arg)
{
	return st->ops->members_list(st, group_rid, cb, arg);
}

int
store_members_add(struct store *st, const struct store_res *group,
                  const char *const *ids, size_t n, char **cause)
{
	if (group->type != STORE_GROUP) {
		store_set_cause(cause, "resource \"%s\" is not a group",
		                group->id ? group->id : "");
		return STORE_INVALID;
	}
	if (n == 0)
		return STORE_OK;
	return st->ops->members_add(st, group, ids, n, cause);
}

int
store_members_present(struct store *st, int64_t group_rid,
                      const char *const *ids, size_t n, size_t *present)
{
	*present = 0;
	if (n == 0)
		return STORE_OK;
	return st->ops->members_present(st, group_rid, ids, n, present);
}

int
store_members_remove(struct store *st, int64_t group_rid,
                     const char *const *ids, size_t n)
{
	if (n == 0)
		return STORE_OK;
	return st->ops->members_remove(st, group_rid, ids, n);
}

int
store_members_set(struct store *st, const struct store_res *group,
                  const char *const *ids, size_t n, char **cause)
{
	if (group->type != STORE_GROUP) {
		store_set_cause(cause, "resource \"%s\" is not a group",
		                group->id ? group->id : "");
		return STORE_INVALID;
	}
	return st->ops->members_set(st, group, ids, n, cause);
}

int
store_user_groups(struct store *st, int64_t user_rid,
                  int (*cb)(const struct store_member *, void *), void *arg)
{
	return st->ops->user_groups(st, user_rid, cb, arg);
}

int
store_res_count(struct store *st, int64_t tenant_id, enum store_rtype type,
                int64_t *n)
{
	return st->ops->res_count(st, tenant_id, type, n);
}

int
store_data_version(struct store *st, int64_t *v)
{
	return st->ops->data_version(st, v);
}

void
store_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char out[32];
	size_t n;
	int ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, sizeof(out) - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	ms = (int)(ts.tv_nsec / 1000000) % 1000;
	out[n++] = '.';
	out[n++] = (char)('0' + ms / 100);
	out[n++] = (char)('0' + ms / 10 % 10);
	out[n++] = (char)('0' + ms % 10);
	out[n++] = 'Z';
	out[n] = '\0';
	snprintf(buf, len, "%s", out);
}

void
store_uuid(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	char out[37];
	size_t i, o = 0;

	struct timespec ts;
	uint64_t ms;

	/*
	 * Version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74
	 * random bits. Time-ordered ids land at the end of the id index, so
	 * a million inserts do not scatter writes over the whole B-tree.
	 */
	store_sodium_init();
	randombytes_buf(b, sizeof(b));
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	b[6] = (b[6] & 0x0f) | 0x70; /* version 7 */
	b[8] = (b[8] & 0x3f) | 0x80; /* variant 10 */
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

static void
store_cursor_text(char *buf, size_t len, char kind, int64_t tenant_id,
                  enum store_rtype type, int64_t count, int64_t pos)
{
	snprintf(buf, len, "%c:%" PRId64 ":%d:%" PRId64 ":%" PRId64, kind,
	         tenant_id, (int)type, count, pos);
}

char *
store_cursor_encode(char kind, int64_t tenant_id, enum store_rtype type,
                    int64_t count, int64_t pos)
{
	char text[96];
	char out[sodium_base64_ENCODED_LEN(
	    sizeof(text), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	store_cursor_text(text, sizeof(text), kind, tenant_id, type, count,
	                  pos);
	sodium_bin2base64(out, sizeof(out), (const unsigned char *)text,
	                  strlen(text),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return xstrdup(out);
}

int
store_cursor_decode(const char *cursor, char kind, int64_t tenant_id,
                    enum store_rtype type, int64_t *count, int64_t *pos)
{
	char text[96], want[96];
	size_t n;
	long long c, p;
	char *end;
	const char *colon, *prev;

	if (cursor == NULL || strlen(cursor) > STORE_CURSOR_MAX)
		return -1;
	if (sodium_base642bin((unsigned char *)text, sizeof(text) - 1, cursor,
	                      strlen(cursor), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	text[n] = '\0';
	if (strlen(text) != n || (colon = strrchr(text, ':')) == NULL)
		return -1;
	for (prev = colon - 1; prev > text && *prev != ':'; prev--)
		;
	if (prev == text)
		return -1;
	p = strtoll(colon + 1, &end, 10);
	if (*end != '\0' || p < 0)
		return -1;
	c = strtoll(prev + 1, &end, 10);
	if (end != colon || c < 0)
		return -1;
	/* Only the exact text we would have written is accepted. */
	store_cursor_text(want, sizeof(want), kind, tenant_id, type, c, p);
	if (strcmp(text, want) != 0)
		return -1;
	*count = c;
	*pos = p;
	return 0;
}
