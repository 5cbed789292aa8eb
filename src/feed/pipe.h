/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * A pipe of file records from the thread that reads them (the store's
 * cursors) to a thread that formats and writes them, so that reading and
 * formatting a 1,000,000-member file use both cores. Records go in batches
 * of copied strings; a few batches circulate, so memory stays bounded
 * (about FEED_PIPE_NBATCH x FEED_PIPE_BATCH bytes) whatever the file size.
 *
 * The consumer callback runs on the pipe's thread and sees records in the
 * order they were pushed. When it fails (returns -1) the pipe drops
 * everything pushed after, and feed_pipe_push() starts failing. When no
 * thread can be started the pipe runs the callback in feed_pipe_push()
 * itself: the same records, the same order.
 *
 * The pipe owns its batches and thread; items handed to the callback are
 * borrowed for the call only.
 */
#ifndef ROSTERD_FEED_PIPE_H
#define ROSTERD_FEED_PIPE_H

#include <stddef.h>

#include "fmt/fmt.h"

#define FEED_PIPE_NBATCH 4
#define FEED_PIPE_BATCH (256u * 1024)

/* One record to write; strings may be NULL. */
struct feed_pipe_item {
	enum fmt_action act;
	const char *action; /* a static string: add, change, ... */
	const char *vals;
	const char *term_date;
	const char *term_reason;
};

struct feed_pipe;

/*
 * A pipe whose thread hands each record to fn(item, arg); fn returns 0,
 * or -1 to stop. arg is borrowed until feed_pipe_finish().
 */
struct feed_pipe *
feed_pipe_new(int (*fn)(const struct feed_pipe_item *, void *arg), void *arg);
/*
 * Queue a copy of the item (action is kept as a pointer). Returns 0, or
 * -1 once the consumer has failed.
 */
int feed_pipe_push(struct feed_pipe *, const struct feed_pipe_item *);
/*
 * Hand over what is queued, wait until the consumer has seen it and stop
 * the thread. Returns 0, or -1 when the consumer failed. Call once, from
 * the pushing thread, before feed_pipe_free().
 */
int feed_pipe_finish(struct feed_pipe *);
/* Free the pipe (finishing it first if needed); NULL is fine. */
void feed_pipe_free(struct feed_pipe *);

#endif
