/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* HRIS import tables (stub until the importer lands). */
#ifndef ROSTERD_STORE_HRIS_H
#define ROSTERD_STORE_HRIS_H

struct store_hris_ops {
	int reserved;
};

#endif
