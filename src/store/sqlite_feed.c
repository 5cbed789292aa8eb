/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* stub: feed tables for SQLite (migration 3). */
#include "store/sqlite_priv.h"
#include "store/store_feed.h"

const char sqlite_feed_schema[] = "SELECT 1;";
const struct store_feed_ops sqlite_feed_ops = {0};
