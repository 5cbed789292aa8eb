/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Discovery endpoints (RFC 7644 §4): /ServiceProviderConfig,
 * /ResourceTypes and /Schemas, generated from the schema tables so they
 * always describe what the server does.
 */
#ifndef ROSTERD_API_DISCOVERY_H
#define ROSTERD_API_DISCOVERY_H

#include "http/server.h"

void api_discovery_spc(struct req *);
void api_discovery_rtypes(struct req *);
void api_discovery_schemas(struct req *);

#endif
