/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* stub: HRIS import tables for SQLite (migration 2). */
#include "store/sqlite_priv.h"
#include "store/store_hris.h"

const char sqlite_hris_schema[] = "SELECT 1;";
const struct store_hris_ops sqlite_hris_ops = {0};
