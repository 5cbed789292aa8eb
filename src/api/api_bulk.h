/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* POST /Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits. */
#ifndef ROSTERD_API_BULK_H
#define ROSTERD_API_BULK_H

#include "http/server.h"

void api_bulk_post(struct req *);

#endif
