/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Feed tables (stub until the feed engine lands). */
#ifndef ROSTERD_STORE_FEED_H
#define ROSTERD_STORE_FEED_H

struct store_feed_ops {
	int reserved;
};

#endif
