/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Operator log on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static enum log_level log_level = LOG_LVL_INFO;

void
log_init(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void
log_vemit(enum log_level lvl, const char *tag, int err, const char *fmt,
          va_list ap)
{
	char ts[32];
	struct tm tm;
	time_t now;

	if (lvl > log_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One whole line at a time: the delivery lanes log at once. */
	flockfile(stderr);
	fprintf(stderr, "%s %s ", ts, tag);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	funlockfile(stderr);
}

#define LOG_BODY(lvl, tag, err)                                                \
	va_list ap;                                                            \
	va_start(ap, fmt);                                                     \
	log_vemit(lvl, tag, err, fmt, ap);                                     \
	va_end(ap)

void
log_warn(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY(LOG_LVL_WARN, "warn", err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warn", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, "info", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, "debug", 0);
}

void
fatal(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY(LOG_LVL_ERROR, "fatal", err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, "fatal", 0);
	exit(1);
}
