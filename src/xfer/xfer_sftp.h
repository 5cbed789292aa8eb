/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SFTP backend (sftp://user@host[:port]/dir) on libcurl with libssh2: public
 * key login as the URL's user, the host key pinned by its SHA-256
 * fingerprint (no fingerprint: no connection), upload under a temporary
 * name and rename. One handle keeps one libcurl easy handle, so successive
 * calls reuse one SSH connection. A path starting with "/~/" is relative to
 * the login directory.
 */
#ifndef ROSTERD_XFER_SFTP_H
#define ROSTERD_XFER_SFTP_H

#include "xfer/xfer.h"

extern const struct xfer_ops xfer_sftp_ops;

/*
 * Normalise a host key fingerprint ("SHA256:" prefix and '=' padding
 * optional) to the 43-character base64 form libcurl compares. Returns a
 * string the caller frees, or NULL when fp is not a SHA-256 fingerprint.
 */
char *xfer_sftp_fingerprint(const char *fp);

#endif
