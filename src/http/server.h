/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The HTTP front end on libevent's evhttp: one event loop, one store
 * connection, a const route table, bearer-token authentication, per-token
 * rate limits, group commit of writes and the one place where an error
 * becomes a response (server_reply_error).
 *
 * Group commit: a write request opens (or joins) the loop's current
 * transaction, runs inside its own savepoint and queues its reply; a
 * lowest-priority event commits once the loop has run every request that
 * was ready, then sends the queued replies. One fsync acknowledges many
 * concurrent writes, and no reply announces a write before it is durable.
 */
#ifndef ROSTERD_SERVER_H
#define ROSTERD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "scim/error.h"
#include "store/store.h"
#include "util/buf.h"

/* Limits (docs/configuration.md). */
#define SERVER_MAX_BODY (1024 * 1024)           /* a resource request */
#define SERVER_BULK_MAX_PAYLOAD (1024 * 1024)   /* advertised maxPayloadSize */
#define SERVER_BULK_MAX_OPS 1000                /* advertised maxOperations */
#define SERVER_HARD_MAX_BODY (32 * 1024 * 1024) /* evhttp's own cut-off */
/*
 * A request's headers, all together. Unbounded by default in
 * evhttp: a client that never ends its headers (no token needed) would
 * grow the server's memory without limit. IdPs send well under 8 KiB.
 */
#define SERVER_MAX_HEADERS (64 * 1024)
#define SERVER_PAGE_DEFAULT 100
#define SERVER_PAGE_MAX 1000
#define SERVER_RATE_RPS_DEFAULT 50
#define SERVER_RATE_BURST_DEFAULT 100

struct server_config {
	const char *db;
	const char *listen;   /* "127.0.0.1:8080" */
	const char *base_url; /* public SCIM base URL, or NULL: from Host */
	const char *tls_cert; /* PEM files; both or neither */
	const char *tls_key;
};

struct server;
struct ratelimit;

/* Per-request context, alive until the reply is sent. */
struct req {
	struct server *srv;
	struct evhttp_request *ev;
	enum evhttp_cmd_type method;
	char *path;              /* decoded path, query removed */
	struct evkeyvalq *query; /* parsed query string */
	const char *seg[6];      /* path segments after /scim/v2 */
	size_t nseg;
	char *segbuf;
	struct store_token tok; /* the caller (scim routes) */
	struct store_actor actor;
	char *base_url;   /* SCIM base URL for locations */
	bool write;       /* inside a savepoint of the batch */
	bool head;        /* HEAD: answered as GET, without the body */
	struct req *next; /* pending-commit or write-lock queue */
	/* a write waiting for another process's write lock */
	void (*handler)(struct req *);
	double parked_at;
	/* reply */
	int status;
	struct buf out;
	struct evkeyvalq *hdrs; /* output headers (evhttp's) */
};

struct server *server_new(const struct server_config *, char **cause);
/* Run the loop until SIGTERM/SIGINT; 0 on clean shutdown. */
int server_run(struct server *);
void server_free(struct server *);

struct store *server_store(struct server *);

/* Query parameter (decoded) or NULL. */
const char *req_param(struct req *, const char *name);
/* Request header or NULL. */
const char *req_header(struct req *, const char *name);
/*
 * The request body parsed as JSON; NULL with *e set (400 invalidSyntax
 * for malformed JSON, 415 for a non-JSON content type, 413 over `max`).
 * Caller decrefs the result.
 */
json_t *req_body_json(struct req *, size_t max, struct scim_err *e);
size_t req_body_len(struct req *);

/*
 * Has the caller's tenant any group? Cached until another process commits
 * (data_version) or req_groups_changed(); user reads skip the groups
 * lookup when it has none.
 */
bool req_tenant_has_groups(struct req *);
/* A Group of the caller's tenant was written by this process. */
void req_groups_changed(struct req *);

/* Open this request's savepoint in the loop's batch transaction. */
int req_write_begin(struct req *);

/* Set a response header. */
void req_set_header(struct req *, const char *name, const char *value);
/* Send status with r->out as an application/scim+json body (or none for
 * 204/304). Writes are queued until their batch commits. */
void server_reply(struct req *, int status);
/* Send a SCIM error response for e (the only error renderer). */
void server_reply_error(struct req *, const struct scim_err *e);
void server_reply_json(struct req *, int status, json_t *body);

#endif
