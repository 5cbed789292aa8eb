/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * evhttp front end: routing, authentication, rate limits, replies and the
 * group commit of writes.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/api_bulk.h"
#include "api/api_discovery.h"
#include "api/api_scim.h"
#include "http/auth.h"
#include "http/ratelimit.h"
#include "http/server.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SCIM_PREFIX "/scim/v2"
#define PRIO_COUNT 3
#define PRIO_COMMIT 2
#define BATCH_MAX 512
/*
 * How long a write waits for another process's write lock (an HRIS import,
 * a feed render) before 503, and how often it looks. The event loop keeps
 * serving meanwhile: reads never wait for the lock.
 */
#define WRITE_WAIT_S 10.0
#define WRITE_RETRY_MS 10
#define WRITE_RETRY_AFTER "5"
#define AUTH_CACHE 64

enum route_flags {
	ROUTE_PUBLIC = 1, /* no token needed (discovery, health) */
};

struct route {
	const char
	    *pattern; /* segments after /scim/v2; {type} = Users|Groups */
	unsigned methods;
	void (*fn)(struct req *);
	unsigned flags;
};

static void server_me(struct req *);

static const struct route routes[] = {
    {"ServiceProviderConfig", EVHTTP_REQ_GET, api_discovery_spc, ROUTE_PUBLIC},
    {"ResourceTypes", EVHTTP_REQ_GET, api_discovery_rtypes, ROUTE_PUBLIC},
    {"ResourceTypes/*", EVHTTP_REQ_GET, api_discovery_rtypes, ROUTE_PUBLIC},
    {"Schemas", EVHTTP_REQ_GET, api_discovery_schemas, ROUTE_PUBLIC},
    {"Schemas/*", EVHTTP_REQ_GET, api_discovery_schemas, ROUTE_PUBLIC},
    {"Bulk", EVHTTP_REQ_POST, api_bulk_post, 0},
    {"Me", ~0u, server_me, 0},
    {".search", EVHTTP_REQ_POST, api_scim_search, 0},
    {"{type}/.search", EVHTTP_REQ_POST, api_scim_search, 0},
    {"{type}", EVHTTP_REQ_GET | EVHTTP_REQ_POST, api_scim_collection, 0},
    {"{type}/*",
     EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE,
     api_scim_resource, 0},
};

/* Whether a tenant has groups, so user reads can skip the lookup. */
struct tenant_groups {
	int64_t tenant_id;
	bool has;
};

struct server {
	struct server_config cfg;
	struct event_base *base;
	struct evhttp *http;
	struct store *st;
	struct ratelimit *rl;
	SSL_CTX *ssl;
	struct event *commit_ev;
	struct event *sigterm, *sigint;
	char addr[128];            /* the bound address, for messages */
	struct auth_cached *auth;  /* AUTH_CACHE entries */
	struct tenant_groups *tg;  /* per tenant: has it any group? */
	bool read_tx;              /* a read request's transaction is open */
	struct auth_cached *touch; /* last_used to write once it ends */
	size_t ntg;
	int64_t auth_ver;
	struct req *pending; /* replies waiting for the batch commit */
	struct req **pending_tail;
	struct req *parked; /* writes waiting for the write lock, in order */
	struct req **parked_tail;
	struct event *park_ev;
	size_t batch;
	double batch_started;
};

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct store *
server_store(struct server *srv)
{
	return srv->st;
}

bool
req_tenant_has_groups(struct req *r)
{
	struct server *srv = r->srv;
	int64_t n = 1;
	size_t i;

	for (i = 0; i < srv->ntg; i++)
		if (srv->tg[i].tenant_id == r->tok.tenant_id)
			return srv->tg[i].has;
	if (store_res_count(srv->st, r->tok.tenant_id, STORE_GROUP, &n) !=
	    STORE_OK)
		return true;
	srv->tg = xrealloc(srv->tg, (srv->ntg + 1) * sizeof(*srv->tg));
	srv->tg[srv->ntg].tenant_id = r->tok.tenant_id;
	srv->tg[srv->ntg].has = n > 0;
	return srv->tg[srv->ntg++].has;
}

void
req_groups_changed(struct req *r)
{
	r->srv->ntg = 0;
}

const char *
req_param(struct req *r, const char *name)
{
	return r->query != NULL ? evhttp_find_header(r->query, name) : NULL;
}

const char *
req_header(struct req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev),
	                          name);
}

void
req_set_header(struct req *r, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);

	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

size_t
req_body_len(struct req *r)
{
	return evbuffer_get_length(evhttp_request_get_input_buffer(r->ev));
}

static bool
content_type_ok(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return true; /* lenient: some clients omit it */
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return (n == 21 && strncasecmp(ct, "application/scim+json", n) == 0) ||
	       (n == 16 && strncasecmp(ct, "application/json", n) == 0);
}

/* A media range's q parameter is zero: "not acceptable" (RFC 9110 §12.4.2). */
static bool
range_refused(const char *params, size_t n)
{
	const char *p = params, *end = params + n;

	while (p < end && (p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') &&
		    p[1] == '=') {
			for (p += 2; p < end && (*p == '0' || *p == '.'); p++)
				;
			return p == end || *p == ' ' || *p == ';' || *p == '\t';
		}
	}
	return false;
}

/*
 * Whether an Accept header admits a JSON answer. SCIM answers only
 * application/scim+json (RFC 7644 §8.1), which application/json and the
 * wildcards also admit; a missing or empty header admits anything.
 */
static bool
accept_ok(const char *accept)
{
	static const char *const ok[] = {"*/*", "application/*",
	                                 "application/scim+json",
	                                 "application/json"};
	const char *p = accept, *item;
	size_t n, tn, i;
	bool any = false;

	if (accept == NULL)
		return true;
	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		item = p;
		n = strcspn(item, ",");
		p += n;
		tn = strcspn(item, "; \t");
		if (tn > n)
			tn = n;
		any = true;
		if (range_refused(item + tn, n - tn))
			continue;
		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			if (strlen(ok[i]) == tn &&
			    strncasecmp(item, ok[i], tn) == 0)
				return true;
	}
	return !any;
}

json_t *
req_body_json(struct req *r, size_t max, struct scim_err *e)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);
	json_error_t je;
	json_t *j;

	if (len > max) {
		scim_err_set(
		    e, 413, NULL,
		    "request body of %zu bytes exceeds the limit of %zu", len,
		    max);
		return NULL;
	}
	if (!content_type_ok(req_header(r, "Content-Type"))) {
		scim_err_set(e, 415, NULL,
		             "Content-Type must be application/scim+json or "
		             "application/json");
		return NULL;
	}
	if (len == 0) {
		scim_err_set(
		    e, 400, SCIM_ET_INVALID_SYNTAX,
		    "the request body is empty; a JSON object is required");
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	               JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "malformed JSON at line %d, column %d: %s",
		             je.line, je.column, je.text);
		return NULL;
	}
	return j;
}

/* ---- replies and group commit ---- */

static void reply_status(struct req *, int, const char *, const char *);

static void
req_free(struct req *r)
{
	if (r->query != NULL) {
		evhttp_clear_headers(r->query);
		free(r->query);
	}
	store_token_clear(&r->tok);
	buf_free(&r->out);
	free(r->path);
	free(r->segbuf);
	free(r->base_url);
	free(r);
}

static void
body_free(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

static void
req_send(struct req *r)
{
	struct evbuffer *ob;
	size_t len;
	char *body;

	if (r->ev == NULL) /* the client went away */
		goto out;
	if (r->status == 204 || r->status == 304) {
		evhttp_send_reply(r->ev, r->status, NULL, NULL);
		goto out;
	}
	req_set_header(r, "Content-Type", "application/scim+json");
	if (r->head) {
		/* evhttp would send a body given one, but no length. */
		char n[32];

		snprintf(n, sizeof(n), "%zu", r->out.len);
		req_set_header(r, "Content-Length", n);
		evhttp_send_reply(r->ev, r->status, NULL, NULL);
		goto out;
	}
	ob = evbuffer_new();
	/* Lend the body to libevent rather than copy a 50 KB page. */
	len = r->out.len;
	body = buf_detach(&r->out);
	if (evbuffer_add_reference(ob, body, len, body_free, NULL) == -1) {
		free(body);
		evbuffer_free(ob);
		evhttp_send_error(r->ev, 500, NULL);
		goto out;
	}
	evhttp_send_reply(r->ev, r->status, NULL, ob);
	evbuffer_free(ob);
out:
	req_free(r);
}

static void
server_commit(struct server *srv)
{
	struct req *r, *next;
	int rc;

	if (!store_in_tx(srv->st))
		return;
	rc = store_commit(srv->st);
	if (rc != STORE_OK) {
		log_warnx("%s: batch commit failed; rolling back", __func__);
		store_rollback(srv->st);
	}
	for (r = srv->pending; r != NULL; r = next) {
		next = r->next;
		if (rc != STORE_OK) {
			struct scim_err e;

			scim_err_init(&e);
			scim_err_set(&e, 500, NULL,
			             "the change could not be committed");
			buf_reset(&r->out);
			r->write = false;
			server_reply_error(r, &e);
			continue;
		}
		req_send(r);
	}
	srv->pending = NULL;
	srv->pending_tail = &srv->pending;
	srv->batch = 0;
}

static void
server_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	server_commit(arg);
}

static void
server_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct server *srv = arg;
	struct req *lists[2] = {srv->pending, srv->parked}, *r;
	size_t i;

	for (i = 0; i < 2; i++)
		for (r = lists[i]; r != NULL; r = r->next)
			if (r->ev != NULL &&
			    evhttp_request_get_connection(r->ev) == evcon)
				r->ev = NULL;
}

/* The open batch takes no more writes: 512 of them, or 5 ms old. */
static bool
batch_full(const struct server *srv)
{
	return srv->batch >= BATCH_MAX ||
	       (srv->batch > 0 && now_mono() - srv->batch_started > 0.005);
}

/* A transaction was just begun: commit it once the loop turn ends. */
static void
batch_opened(struct server *srv)
{
	srv->batch_started = now_mono();
	event_active(srv->commit_ev, 0, 0);
}

/*
 * The write lock for a write about to run: the open batch when it can take
 * one more, else a new transaction if no other process holds the lock.
 * -1 when it does; the caller waits rather than block the loop.
 */
static int
write_lock_try(struct server *srv)
{
	if (store_in_tx(srv->st)) {
		if (!batch_full(srv))
			return 0;
		server_commit(srv);
	}
	if (store_begin_nowait(srv->st) != STORE_OK)
		return -1;
	batch_opened(srv);
	return 0;
}

static void
park_arm(struct server *srv)
{
	struct timeval tv = {0, WRITE_RETRY_MS * 1000};

	if (!evtimer_pending(srv->park_ev, NULL))
		evtimer_add(srv->park_ev, &tv);
}

static struct req *
park_pop(struct server *srv)
{
	struct req *r = srv->parked;

	if ((srv->parked = r->next) == NULL)
		srv->parked_tail = &srv->parked;
	r->next = NULL;
	return r;
}

static void
park_expire(struct req *r)
{
	req_set_header(r, "Retry-After", WRITE_RETRY_AFTER);
	reply_status(r, 503, NULL,
	             "the store is busy with another writer (an import or "
	             "a feed run); retry later");
}

/* Run the parked writes, in order, while the lock can be had. */
static void
server_park_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct req *r;

	while ((r = srv->parked) != NULL) {
		if (r->ev == NULL) { /* the client went away */
			req_free(park_pop(srv));
			continue;
		}
		if (write_lock_try(srv) == 0) {
			park_pop(srv);
			r->handler(r);
		} else if (now_mono() - r->parked_at > WRITE_WAIT_S)
			park_expire(park_pop(srv));
		else
			break;
	}
	if (srv->parked != NULL)
		park_arm(srv);
}

/*
 * Run a write now, or queue it behind the writes already waiting while
 * another process holds the write lock.
 */
static void
req_run_write(struct req *r, void (*fn)(struct req *))
{
	struct server *srv = r->srv;

	if (srv->parked == NULL && write_lock_try(srv) == 0) {
		fn(r);
		return;
	}
	r->handler = fn;
	r->parked_at = now_mono();
	r->next = NULL;
	*srv->parked_tail = r;
	srv->parked_tail = &r->next;
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->ev),
	                              server_conn_closed, srv);
	park_arm(srv);
}

int
req_write_begin(struct req *r)
{
	struct server *srv = r->srv;

	/* Normally write_lock_try() opened it; a Bulk request's later
	 * operations may find the batch full and wait for the lock here. */
	if (batch_full(srv))
		server_commit(srv);
	if (!store_in_tx(srv->st)) {
		if (store_begin(srv->st) != STORE_OK)
			return -1;
		batch_opened(srv);
	}
	if (store_savepoint(srv->st) != STORE_OK)
		return -1;
	r->write = true;
	srv->batch++;
	return 0;
}

void
server_reply(struct req *r, int status)
{
	struct server *srv = r->srv;

	r->status = status;
	if (!r->write) {
		req_send(r);
		return;
	}
	if (status >= 400) {
		store_rollback_savepoint(srv->st);
		req_send(r);
		return;
	}
	store_release(srv->st);
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->ev),
	                              server_conn_closed, srv);
	r->next = NULL;
	*srv->pending_tail = r;
	srv->pending_tail = &r->next;
}

void
server_reply_json(struct req *r, int status, json_t *body)
{
	char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

	buf_reset(&r->out);
	if (s == NULL) {
		/* Never a body-less reply, whatever went wrong building it. */
		log_warnx("%s: cannot serialise the reply", __func__);
		buf_addstr(&r->out,
		           "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
		           "2.0:Error\"],\"status\":\"500\",\"detail\":"
		           "\"internal error\"}");
		status = 500;
	} else
		buf_addstr(&r->out, s);
	free(s);
	server_reply(r, status);
}

void
server_reply_error(struct req *r, const struct scim_err *e)
{
	json_t *j = scim_err_json(e);
	int status = e->status ? e->status : 500;

	server_reply_json(r, status, j);
	json_decref(j);
}

static void
reply_status(struct req *r, int status, const char *scim_type, const char *msg)
{
	struct scim_err e;

	scim_err_init(&e);
	scim_err_set(&e, status, scim_type, "%s", msg);
	server_reply_error(r, &e);
}

/* ---- routing ---- */

/* RFC 7644 §3.11: /Me is optional; say so rather than "no such endpoint". */
static void
server_me(struct req *r)
{
	reply_status(r, 501, NULL,
	             "/Me is not supported: rosterd authenticates API tokens, "
	             "not users");
}

static int
req_split_path(struct req *r)
{
	char *p, *save = NULL, *tok;

	r->segbuf = xstrdup(r->path + strlen(SCIM_PREFIX));
	for (p = r->segbuf; (tok = strtok_r(p, "/", &save)) != NULL; p = NULL) {
		if (r->nseg == sizeof(r->seg) / sizeof(r->seg[0]))
			return -1;
		r->seg[r->nseg++] = tok;
	}
	return 0;
}

static bool
route_match(const struct route *rt, struct req *r)
{
	char pat[64], *p, *save = NULL, *tok;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "%s", rt->pattern);
	for (p = pat; (tok = strtok_r(p, "/", &save)) != NULL; p = NULL, i++) {
		if (i >= r->nseg)
			return false;
		if (strcmp(tok, "*") == 0)
			continue;
		if (strcmp(tok, "{type}") == 0) {
			if (strcasecmp(r->seg[i], "Users") != 0 &&
			    strcasecmp(r->seg[i], "Groups") != 0)
				return false;
			continue;
		}
		if (strcasecmp(tok, r->seg[i]) != 0)
			return false;
	}
	return i == r->nseg;
}

static void
req_set_base_url(struct req *r)
{
	const char *host = req_header(r, "Host");

	if (r->srv->cfg.base_url != NULL)
		r->base_url = xstrdup(r->srv->cfg.base_url);
	else
		r->base_url =
		    xasprintf("%s://%s" SCIM_PREFIX,
		              r->srv->ssl != NULL ? "https" : "http",
		              host != NULL ? host : r->srv->cfg.listen);
}

/* Decimal digits of v ending at end (exclusive); returns the start. */
static char *
long_digits(char *end, long v)
{
	bool neg = v < 0;
	unsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;

	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (neg)
		*--end = '-';
	return end;
}

/* Append a header whose value is a number; no printf on the hot path. */
static void
add_num_header(struct evkeyvalq *h, const char *name, long v)
{
	char b[24];

	b[sizeof(b) - 1] = '\0';
	evhttp_add_header(h, name, long_digits(b + sizeof(b) - 1, v));
}

/*
 * Both the IETF draft's RateLimit/RateLimit-Policy pair and the widely
 * parsed RateLimit-Limit/-Remaining/-Reset trio, on every response.
 */
static void
rate_headers(struct req *r, const struct ratelimit_state *st)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	long w = (long)(st->limit / st->rps > 1 ? st->limit / st->rps : 1);
	char v[96];

	snprintf(v, sizeof(v), "\"default\";q=%ld;w=%ld", st->limit, w);
	evhttp_add_header(h, "RateLimit-Policy", v);
	snprintf(v, sizeof(v), "\"default\";r=%ld;t=%ld", st->remaining,
	         st->reset);
	evhttp_add_header(h, "RateLimit", v);
	add_num_header(h, "RateLimit-Limit", st->limit);
	add_num_header(h, "RateLimit-Remaining", st->remaining);
	add_num_header(h, "RateLimit-Reset", st->reset);
}

/*
 * Authenticated tokens, direct-mapped by hash, with their tenant's rate.
 * Valid while no other process has committed (store_data_version), so a
 * revoke from the CLI is seen by the next request.
 */
struct auth_cached {
	bool used;
	uint8_t hash[AUTH_HASH_LEN];
	struct store_token tok;
	double rps, burst;
	double touched; /* now_mono() of the last last_used write, or 0 */
};

/* last_used is kept to the minute: one write per token and minute at most. */
#define AUTH_TOUCH_S 60.0

static void
auth_cache_purge(struct server *srv)
{
	srv->ntg = 0;
	size_t i;

	for (i = 0; i < AUTH_CACHE; i++) {
		if (srv->auth[i].used)
			store_token_clear(&srv->auth[i].tok);
		srv->auth[i].used = false;
	}
}

static void
token_copy(struct store_token *dst, const struct store_token *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->id = xstrdup(src->id);
	dst->tenant_id = src->tenant_id;
	dst->tenant_name = xstrdup(src->tenant_name ? src->tenant_name : "");
	dst->name = xstrdup(src->name ? src->name : "");
	dst->scopes = xstrdup(src->scopes ? src->scopes : "");
	dst->created = xstrdup(src->created ? src->created : "");
	dst->revoked = src->revoked;
}

static void
auth_rate(struct server *srv, int64_t tenant_id, double *rps, double *burst)
{
	struct store_tenant t;

	*rps = SERVER_RATE_RPS_DEFAULT;
	*burst = SERVER_RATE_BURST_DEFAULT;
	memset(&t, 0, sizeof(t));
	if (store_tenant_get_id(srv->st, tenant_id, &t) == STORE_OK) {
		if (t.rate_rps > 0)
			*rps = *burst = t.rate_rps;
		if (t.rate_burst > 0)
			*burst = t.rate_burst;
	}
	store_tenant_clear(&t);
}

/* The cached entry for hash, looked up or loaded; NULL if not valid. */
static struct auth_cached *
auth_lookup(struct server *srv, const uint8_t *hash)
{
	struct auth_cached *a = &srv->auth[hash[0] % AUTH_CACHE];
	struct store_token tok;
	int64_t v = 0;

	if (store_data_version(srv->st, &v) != STORE_OK || v != srv->auth_ver) {
		auth_cache_purge(srv);
		srv->auth_ver = v;
	}
	if (a->used && auth_hash_equal(a->hash, hash))
		return a;
	memset(&tok, 0, sizeof(tok));
	if (store_token_find(srv->st, hash, &tok) != STORE_OK || tok.revoked) {
		store_token_clear(&tok);
		return NULL;
	}
	if (a->used)
		store_token_clear(&a->tok);
	/* A purge keeps the hash: the same token keeps its last touch. */
	if (!auth_hash_equal(a->hash, hash))
		a->touched = 0;
	a->used = true;
	memcpy(a->hash, hash, AUTH_HASH_LEN);
	a->tok = tok;
	auth_rate(srv, tok.tenant_id, &a->rps, &a->burst);
	return a;
}

/* Record the token's use; a busy store is tried again by a later request. */
static void
auth_touch(struct server *srv, struct auth_cached *a)
{
	double now = now_mono();

	if (a->touched != 0 && now - a->touched < AUTH_TOUCH_S)
		return;
	if (srv->read_tx) {
		srv->touch = a; /* a write: after the read (req_read_end) */
		return;
	}
	if (store_token_touch(srv->st, a->tok.id) == STORE_OK)
		a->touched = now;
}

static int
req_rate_limit(struct req *r, const struct auth_cached *a)
{
	struct ratelimit_state st;
	char v[32];

	if (ratelimit_take(r->srv->rl, r->tok.id, a->rps, a->burst, now_mono(),
	                   &st)) {
		rate_headers(r, &st);
		return 0;
	}
	rate_headers(r, &st);
	snprintf(v, sizeof(v), "%ld", st.retry_after);
	req_set_header(r, "Retry-After", v);
	reply_status(r, 429, NULL, "rate limit exceeded; retry later");
	return -1;
}

static int
req_authenticate(struct req *r)
{
	const char *h = req_header(r, "Authorization");
	uint8_t hash[AUTH_HASH_LEN];
	struct auth_cached *a;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		req_set_header(r, "WWW-Authenticate",
		               "Bearer realm=\"rosterd\"");
		reply_status(
		    r, 401, NULL,
		    "authentication required: send Authorization: Bearer "
		    "<token>");
		return -1;
	}
	for (h += 7; *h == ' '; h++)
		;
	auth_token_hash(h, strlen(h), hash);
	if ((a = auth_lookup(r->srv, hash)) == NULL) {
		req_set_header(
		    r, "WWW-Authenticate",
		    "Bearer realm=\"rosterd\", error=\"invalid_token\"");
		reply_status(r, 401, NULL, "the bearer token is not valid");
		return -1;
	}
	token_copy(&r->tok, &a->tok);
	auth_touch(r->srv, a); /* also when the scope refuses it */
	if (!auth_scope_has(r->tok.scopes, "scim")) {
		req_set_header(
		    r, "WWW-Authenticate",
		    "Bearer realm=\"rosterd\", error=\"insufficient_scope\", "
		    "scope=\"scim\"");
		reply_status(r, 403, NULL,
		             "the token lacks the \"scim\" scope");
		return -1;
	}
	r->actor.token_id = r->tok.id;
	r->actor.source = "scim";
	return req_rate_limit(r, a);
}

/* Everything but reads and searches may write. */
static bool
req_is_write(const struct req *r)
{
	if (r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD ||
	    r->method == EVHTTP_REQ_OPTIONS)
		return false;
	return r->nseg == 0 || strcmp(r->seg[r->nseg - 1], ".search") != 0;
}

/*
 * The Allow header value for a set of route methods, in a fixed order;
 * HEAD goes with GET (RFC 9110 §9.3.2).
 */
static void
allow_value(unsigned methods, char *dst, size_t len)
{
	static const struct {
		unsigned m;
		const char *name;
	} names[] = {
	    {EVHTTP_REQ_GET, "GET, HEAD"}, {EVHTTP_REQ_POST, "POST"},
	    {EVHTTP_REQ_PUT, "PUT"},       {EVHTTP_REQ_PATCH, "PATCH"},
	    {EVHTTP_REQ_DELETE, "DELETE"},
	};
	size_t i, n = 0;

	dst[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((methods & names[i].m) == 0)
			continue;
		n += (size_t)snprintf(dst + n, len - n, "%s%s",
		                      n > 0 ? ", " : "", names[i].name);
		if (n >= len)
			fatalx("%s: Allow value too long", __func__);
	}
}

/*
 * A method the target does not support. RFC 9110 §15.5.6: 405 when the
 * server knows the method (it serves it elsewhere), with Allow listing
 * what the target does support; §15.6.2: 501 for a method no resource
 * supports (OPTIONS). Both carry Allow and a SCIM error (RFC 7644 §3.12).
 */
static void
reply_method(struct req *r, unsigned methods)
{
	char allow[64];

	allow_value(methods, allow, sizeof(allow));
	req_set_header(r, "Allow", allow);
	if (r->method == EVHTTP_REQ_OPTIONS)
		reply_status(r, 501, NULL,
		             "OPTIONS is not supported; the Allow header lists "
		             "the methods this endpoint supports");
	else
		reply_status(r, 405, NULL,
		             "this method is not allowed on this endpoint; the "
		             "Allow header lists the methods it supports");
}

/*
 * A read request runs in one read transaction: PRAGMA data_version for
 * the token cache and the reads see one snapshot, and SQLite takes its
 * WAL read lock once (two fcntl calls) rather than per statement.
 */
static void
req_read_begin(struct server *srv)
{
	srv->read_tx =
	    !store_in_tx(srv->st) && store_begin_read(srv->st) == STORE_OK;
}

static void
req_read_end(struct server *srv)
{
	struct auth_cached *a = srv->touch;

	if (srv->read_tx)
		store_commit(srv->st);
	srv->read_tx = false;
	srv->touch = NULL;
	if (a != NULL)
		auth_touch(srv, a);
}

static void
req_dispatch(struct req *r)
{
	struct server *srv = r->srv;
	const struct route *rt;
	bool write;
	size_t i;

	/*
	 * A read must not see a write that is not yet durable: close the
	 * open batch first. Writes join it through req_write_begin().
	 */
	if (req_split_path(r) == -1) {
		reply_status(r, 404, NULL, "no such endpoint");
		return;
	}
	if ((r->method == EVHTTP_REQ_GET ||
	     (r->nseg > 0 && strcmp(r->seg[r->nseg - 1], ".search") == 0)) &&
	    store_in_tx(r->srv->st))
		server_commit(r->srv);
	/* The first route whose pattern matches names the resource. */
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rt = &routes[i];
		if (!route_match(rt, r))
			continue;
		if ((rt->methods & r->method) == 0) {
			reply_method(r, rt->methods);
			return;
		}
		if (!accept_ok(req_header(r, "Accept"))) {
			reply_status(
			    r, 406, NULL,
			    "this endpoint answers only "
			    "application/scim+json (or application/json); "
			    "the Accept header admits neither");
			return;
		}
		/* r may be gone once answered: decide before. */
		if (!(write = req_is_write(r)))
			req_read_begin(srv);
		if ((rt->flags & ROUTE_PUBLIC) || req_authenticate(r) == 0) {
			if (write)
				req_run_write(r, rt->fn);
			else
				rt->fn(r);
		}
		req_read_end(srv);
		return;
	}
	reply_status(r, 404, NULL, "no such endpoint");
}

/*
 * Split a query string into decoded pairs. Unlike evhttp_parse_query_str
 * this accepts a key without "=", as RFC 9865 writes "?cursor&count=10".
 */
static int
req_parse_query(const char *q, struct evkeyvalq *out)
{
	char *dup = xstrdup(q), *p, *save = NULL, *pair, *eq, *k, *v;
	int rc = 0;

	for (p = dup; (pair = strtok_r(p, "&", &save)) != NULL; p = NULL) {
		eq = strchr(pair, '=');
		if (eq != NULL)
			*eq = '\0';
		k = evhttp_uridecode(pair, 1, NULL);
		v = evhttp_uridecode(eq != NULL ? eq + 1 : "", 1, NULL);
		if (k == NULL || v == NULL || *k == '\0')
			rc = -1;
		else
			evhttp_add_header(out, k, v);
		free(k);
		free(v);
		if (rc == -1)
			break;
	}
	free(dup);
	return rc;
}

static void
server_request_cb(struct evhttp_request *ev, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = evhttp_uri_get_path(uri);
	const char *q = evhttp_uri_get_query(uri);
	struct req *r;

	r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->ev = ev;
	r->method = evhttp_request_get_command(ev);
	/* HEAD is GET without the body (RFC 9110 §9.3.2): see req_send(). */
	if (r->method == EVHTTP_REQ_HEAD) {
		r->method = EVHTTP_REQ_GET;
		r->head = true;
	}
	buf_init(&r->out, 0);
	r->path = evhttp_uridecode(path != NULL ? path : "/", 0, NULL);
	if (q != NULL) {
		r->query = xcalloc(1, sizeof(*r->query));
		TAILQ_INIT(r->query);
		if (req_parse_query(q, r->query) == -1) {
			reply_status(r, 400, SCIM_ET_INVALID_SYNTAX,
			             "malformed query string");
			return;
		}
	}
	req_set_base_url(r);
	if (strcmp(r->path, "/healthz") == 0) {
		if (r->method != EVHTTP_REQ_GET) {
			reply_method(r, EVHTTP_REQ_GET);
			return;
		}
		buf_addstr(&r->out, "{\"status\":\"ok\"}");
		server_reply(r, 200);
		return;
	}
	if (strncmp(r->path, SCIM_PREFIX, strlen(SCIM_PREFIX)) != 0 ||
	    (r->path[strlen(SCIM_PREFIX)] != '/' &&
	     r->path[strlen(SCIM_PREFIX)] != '\0')) {
		reply_status(r, 404, NULL, "no such endpoint");
		return;
	}
	req_dispatch(r);
}

/* ---- set-up ---- */

static struct bufferevent *
server_ssl_bev(struct event_base *base, void *arg)
{
	struct server *srv = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(srv->ssl),
	                                      BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static int
server_tls(struct server *srv, char **cause)
{
	if (srv->cfg.tls_cert == NULL && srv->cfg.tls_key == NULL)
		return 0;
	if (srv->cfg.tls_cert == NULL || srv->cfg.tls_key == NULL) {
		*cause = xstrdup("--tls-cert and --tls-key go together");
		return -1;
	}
	srv->ssl = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(srv->ssl, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl, srv->cfg.tls_cert) !=
	        1 ||
	    SSL_CTX_use_PrivateKey_file(srv->ssl, srv->cfg.tls_key,
	                                SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ssl) != 1) {
		*cause = xasprintf("cannot load TLS certificate/key: %s",
		                   ERR_reason_error_string(ERR_get_error()));
		return -1;
	}
	evhttp_set_bevcb(srv->http, server_ssl_bev, srv);
	return 0;
}

/* How long accepting pauses when the process is out of descriptors. */
#define SERVER_ACCEPT_PAUSE_MS 250

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/*
 * accept() failing with EMFILE leaves the connection queued, so the
 * listener is readable again at once: libevent would retry in a busy
 * loop and log a line each time (millions a second). Stop accepting for
 * a moment instead, with one line; open connections keep being served
 * and close, and the queued ones are taken when descriptors free.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	static time_t next_log;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, SERVER_ACCEPT_PAUSE_MS * 1000};

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_warnx("accept: %s", evutil_socket_error_to_string(err));
		return;
	}
	/* arg is evhttp's: the listener's base runs the one-shot timer. */
	if (evconnlistener_disable(l) == -1 ||
	    event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT,
	                    server_accept_resume_cb, l, &tv) == -1) {
		evconnlistener_enable(l);
		return;
	}
	/* One line a minute is enough to say it goes on. */
	if (time(NULL) >= next_log) {
		next_log = time(NULL) + 60;
		log_warnx("accept: %s: pausing new connections %d ms at a "
		          "time (raise the open files limit: ulimit -n, or "
		          "systemd's LimitNOFILE)",
		          evutil_socket_error_to_string(err),
		          SERVER_ACCEPT_PAUSE_MS);
	}
}

/*
 * Every connection is a descriptor, and the soft limit is often 1024:
 * raise it to the hard limit, as the kernel allows without privilege.
 */
static void
server_raise_nofile(void)
{
	/* An "unlimited" hard limit still stops at the kernel's nr_open. */
	static const rlim_t tries[] = {1 << 20, 1 << 16};
	struct rlimit rl;
	size_t i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct rlimit want = rl;

		want.rlim_cur = rl.rlim_max < tries[i] ? rl.rlim_max : tries[i];
		if (want.rlim_cur <= rl.rlim_cur ||
		    setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	/* Left as it was: the accept pause says what to raise. */
}

/* libevent's own messages, in rosterd's log format. */
static void
server_event_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
}

/*
 * Resolve the listen address first: libevent would only log a warning of
 * its own and leave errno unset ("cannot listen on X: Success").
 */
static int
server_resolve(const char *listen, const char *host, const char *port,
               char **cause)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (host[0] == '\0') {
		*cause =
		    xasprintf("--listen \"%s\": no address (0.0.0.0:%s "
		              "listens on every IPv4 interface, [::]:%s on "
		              "every IPv6 one)",
		              listen, port, port);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		*cause = xasprintf("--listen \"%s\": cannot resolve \"%s\": %s",
		                   listen, host, gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static int
server_bind(struct server *srv, char **cause)
{
	char host[256];
	const char *colon = strrchr(srv->cfg.listen, ':');
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	int one = 1;
	socklen_t sl = sizeof(ss);
	char h[NI_MAXHOST], p[NI_MAXSERV];
	char *end;
	long port;

	if (colon == NULL ||
	    (size_t)(colon - srv->cfg.listen) >= sizeof(host)) {
		*cause = xasprintf("--listen \"%s\": expected ADDR:PORT",
		                   srv->cfg.listen);
		return -1;
	}
	memcpy(host, srv->cfg.listen, (size_t)(colon - srv->cfg.listen));
	host[colon - srv->cfg.listen] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 0 || port > 65535) {
		*cause =
		    xasprintf("--listen \"%s\": bad port", srv->cfg.listen);
		return -1;
	}
	if (server_resolve(srv->cfg.listen, host, colon + 1, cause) == -1)
		return -1;
	errno = 0;
	bound = evhttp_bind_socket_with_handle(srv->http, host,
	                                       (unsigned short)port);
	if (bound == NULL) {
		*cause = xasprintf("cannot listen on %s: %s", srv->cfg.listen,
		                   errno != 0 ? strerror(errno)
		                              : "the address cannot be bound");
		return -1;
	}
	/*
	 * Accepted sockets inherit TCP_NODELAY from the listener on Linux.
	 * Without it a 50 KB list page written in several segments waits on
	 * Nagle plus the client's delayed ACK: 40 ms per response.
	 */
	setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY,
	           &one, sizeof(one));
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound),
	                            server_accept_error_cb);
	/* With port 0 the kernel picks one: report the real address. */
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	                (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(srv->addr, sizeof(srv->addr),
		         ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	return 0;
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	log_info("received signal %d, shutting down", (int)sig);
	event_base_loopexit(srv->base, NULL);
}

static struct event_base *
server_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	/*
	 * evhttp toggles read and write interest several times per request;
	 * the changelist folds those into one epoll_ctl per loop turn.
	 */
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

struct server *
server_new(const struct server_config *cfg, char **cause)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->cfg = *cfg;
	snprintf(srv->addr, sizeof(srv->addr), "%s", cfg->listen);
	srv->pending_tail = &srv->pending;
	srv->parked_tail = &srv->parked;
	srv->auth = xcalloc(AUTH_CACHE, sizeof(*srv->auth));
	srv->st = store_open(cfg->db, cause);
	if (srv->st == NULL)
		goto fail;
	server_raise_nofile();
	event_set_log_callback(server_event_log_cb);
	srv->base = server_base_new();
	event_base_priority_init(srv->base, PRIO_COUNT);
	srv->http = evhttp_new(srv->base);
	evhttp_set_max_body_size(srv->http, SERVER_HARD_MAX_BODY);
	evhttp_set_max_headers_size(srv->http, SERVER_MAX_HEADERS);
	evhttp_set_allowed_methods(
	    srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                   EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	                   EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_timeout(srv->http, 60);
	evhttp_set_gencb(srv->http, server_request_cb, srv);
	if (server_tls(srv, cause) == -1 || server_bind(srv, cause) == -1)
		goto fail;
	srv->rl = ratelimit_new();
	srv->commit_ev = event_new(srv->base, -1, 0, server_commit_cb, srv);
	event_priority_set(srv->commit_ev, PRIO_COMMIT);
	srv->park_ev = evtimer_new(srv->base, server_park_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	srv->sigint = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	event_add(srv->sigterm, NULL);
	event_add(srv->sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
	return srv;
fail:
	server_free(srv);
	return NULL;
}

int
server_run(struct server *srv)
{
	log_info("rosterd listening on %s://%s" SCIM_PREFIX,
	         srv->ssl != NULL ? "https" : "http", srv->addr);
	event_base_dispatch(srv->base);
	server_commit(srv);
	return 0;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->commit_ev != NULL)
		event_free(srv->commit_ev);
	if (srv->park_ev != NULL)
		event_free(srv->park_ev);
	/* Writes still waiting at shutdown: evhttp_free() drops the
	 * connections; the clients see them close and retry. */
	while (srv->parked != NULL)
		req_free(park_pop(srv));
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	if (srv->http != NULL)
		evhttp_free(srv->http);
	if (srv->base != NULL)
		event_base_free(srv->base);
	if (srv->ssl != NULL)
		SSL_CTX_free(srv->ssl);
	ratelimit_free(srv->rl);
	if (srv->auth != NULL) {
		auth_cache_purge(srv);
		free(srv->auth);
	}
	free(srv->tg);
	store_close(srv->st);
	free(srv);
}
