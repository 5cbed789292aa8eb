/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Local directory backend (dir:/path), the embedded default destination. It
 * keeps the SFTP guarantees with local system calls: the file is written
 * under a temporary name, fsynced, renamed into place with RENAME_NOREPLACE
 * (so an existing name is never replaced) and the directory is fsynced, so
 * a crash leaves either the whole file or none under the final name.
 */
#ifndef ROSTERD_XFER_DIR_H
#define ROSTERD_XFER_DIR_H

#include "xfer/xfer.h"

extern const struct xfer_ops xfer_dir_ops;

#endif
