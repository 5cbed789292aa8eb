/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* The `delivery` section: parsing and validating one entry per feed. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libfyaml.h>

#include "cfg/cfg.h"
#include "deliver/deliver.h"
#include "feed/profile.h"
#include "pgp/pgp.h"
#include "sched/cron.h"
#include "util/buf.h"
#include "util/xmalloc.h"
#include "xfer/xfer.h"

struct deliver_config {
	struct deliver_feed **v;
	size_t n;
	const char **names; /* NULL-terminated */
};

/* Parser state for one entry. */
struct dp {
	struct cfg *c;
	struct deliver_feed *f;
	const char *prefix; /* "delivery.NAME" */
	int errors;
};

static void __attribute__((format(printf, 4, 5)))
derr(struct dp *dp, struct fy_node *n, const char *key, const char *fmt, ...)
{
	struct buf k, m;
	va_list ap;

	buf_init(&k, 0);
	buf_init(&m, 0);
	buf_addstr(&k, dp->prefix);
	if (key != NULL && *key != '\0')
		buf_addf(&k, ".%s", key);
	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	cfg_error(dp->c, n, buf_str(&k), "%s", buf_str(&m));
	dp->errors++;
	buf_free(&k);
	buf_free(&m);
}

/* A string value, or NULL after reporting why not. */
static const char *
get_str(struct dp *dp, struct fy_node *n, struct fy_node *at, const char *key)
{
	const char *v;

	if (cfg_node_is_null(n)) {
		derr(dp, n != NULL ? n : at, key, "missing value");
		return NULL;
	}
	if (!fy_node_is_scalar(n) || (v = fy_node_get_scalar0(n)) == NULL) {
		derr(dp, n, key, "expected a string");
		return NULL;
	}
	if (cfg_has_ctl(v)) {
		derr(dp, n, key, "control characters are not allowed");
		return NULL;
	}
	return v;
}

static char *
dup_str(struct dp *dp, struct fy_node *n, struct fy_node *at, const char *key)
{
	const char *v = get_str(dp, n, at, key);

	return v != NULL ? xstrdup(v) : NULL;
}

static void
get_bool(struct dp *dp, struct fy_node *n, const char *key, bool *out)
{
	const char *v;

	if (n == NULL || (v = get_str(dp, n, n, key)) == NULL)
		return;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
		*out = false;
	else
		derr(dp, n, key, "expected true or false, not \"%s\"", v);
}

/* A whole number in [min, max] into *out; absent keeps the default. */
static void
get_long(struct dp *dp, struct fy_node *n, const char *key, long min, long max,
         long *out)
{
	const char *v;
	char *end;
	long x;

	if (n == NULL || (v = get_str(dp, n, n, key)) == NULL)
		return;
	errno = 0;
	x = strtol(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    x < min || x > max) {
		derr(dp, n, key,
		     "expected a whole number from %ld to %ld, not \"%s\"", min,
		     max, v);
		return;
	}
	*out = x;
}

static void
get_unsigned(struct dp *dp, struct fy_node *n, const char *key, long min,
             long max, unsigned *out)
{
	long x = *out;

	get_long(dp, n, key, min, max, &x);
	*out = (unsigned)x;
}

/*
 * Collect a mapping's values by key into v[] (indexes as in known[]),
 * reporting keys that are not known; sub is the key path of the mapping.
 */
static bool
get_keys(struct dp *dp, struct fy_node *map, struct fy_node *at,
         const char *sub, const char *const *known, struct fy_node **v)
{
	struct fy_node_pair *pair;
	void *iter = NULL;
	const char *name;
	struct buf b, kb;
	int i;

	if (map == NULL || !fy_node_is_mapping(map)) {
		derr(dp, map != NULL ? map : at, sub, "expected a mapping");
		return false;
	}
	while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL) {
		name = fy_node_get_scalar0(fy_node_pair_key(pair));
		for (i = 0; name != NULL && known[i] != NULL; i++)
			if (strcmp(known[i], name) == 0)
				break;
		if (name != NULL && known[i] != NULL) {
			v[i] = fy_node_pair_value(pair);
			continue;
		}
		buf_init(&b, 0);
		buf_init(&kb, 0);
		for (i = 0; known[i] != NULL; i++)
			buf_addf(&b, "%s%s", i > 0 ? ", " : "", known[i]);
		buf_addf(&kb, "%s%s%s", sub, *sub ? "." : "",
		         name != NULL ? name : "?");
		derr(dp, fy_node_pair_key(pair), buf_str(&kb),
		     "unknown key (known: %s)", buf_str(&b));
		buf_free(&b);
		buf_free(&kb);
	}
	return true;
}

/* "SHA256:" + 43 base64 characters ('=' padding optional). */
static bool
hostkey_ok(const char *s)
{
	size_t n = 0;

	if (strncmp(s, "SHA256:", 7) == 0)
		s += 7;
	for (; isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '/'; n++)
		;
	return n == 43 && (s[n] == '\0' || strcmp(s + n, "=") == 0);
}

static void
parse_destination(struct dp *dp, struct fy_node *n, struct fy_node *at)
{
	const char *v = get_str(dp, n, at, "destination");

	if (v == NULL)
		return;
	if (strncmp(v, "sftp://", 7) != 0 &&
	    (strncmp(v, "dir:", 4) != 0 || v[4] != '/')) {
		derr(dp, n, "destination",
		     "expected sftp://USER@HOST[:PORT]/DIR or dir:/PATH, not "
		     "\"%s\"",
		     v);
		return;
	}
	dp->f->destination = xstrdup(v);
}

static void
parse_mode(struct dp *dp, struct fy_node *n)
{
	const char *v;
	unsigned m = 0;
	size_t i;

	if (n == NULL || (v = get_str(dp, n, n, "remote_mode")) == NULL)
		return;
	for (i = 0; v[i] >= '0' && v[i] <= '7'; i++)
		m = m * 8 + (unsigned)(v[i] - '0');
	if (v[i] != '\0' || i < 3 || i > 4 || m > 0777 || (m & 0600) != 0600) {
		derr(dp, n, "remote_mode",
		     "expected an octal mode such as \"0600\" or \"0640\" "
		     "that lets the owner read and write, not \"%s\"",
		     v);
		return;
	}
	dp->f->remote_mode = m;
}

static void
parse_ssh(struct dp *dp, struct fy_node **v, struct fy_node *at)
{
	struct deliver_feed *f = dp->f;
	const char *fp;

	if (f->destination == NULL)
		return;
	if (strncmp(f->destination, "dir:", 4) == 0) {
		if (v[0] != NULL || v[1] != NULL || v[2] != NULL)
			derr(dp,
			     v[0]   ? v[0]
			     : v[1] ? v[1]
			            : v[2],
			     "",
			     "ssh_key, ssh_public_key and host_key_sha256 "
			     "apply only to an sftp:// destination");
		return;
	}
	f->ssh_key = dup_str(dp, v[0], at, "ssh_key");
	if (v[1] != NULL)
		f->ssh_public_key = dup_str(dp, v[1], at, "ssh_public_key");
	if (v[2] == NULL) {
		derr(dp, at, "host_key_sha256",
		     "required for an sftp:// destination: the server's host "
		     "key fingerprint (ssh-keyscan HOST | ssh-keygen -lf -); "
		     "rosterd never connects without one");
		return;
	}
	if ((fp = get_str(dp, v[2], at, "host_key_sha256")) == NULL)
		return;
	if (!hostkey_ok(fp))
		derr(
		    dp, v[2], "host_key_sha256",
		    "expected a SHA-256 fingerprint such as \"SHA256:q2Xq...\" "
		    "(43 base64 characters), not \"%s\"",
		    fp);
	else
		f->host_key_sha256 = xstrdup(fp);
}

static void
parse_pgp(struct dp *dp, struct fy_node *n)
{
	static const char *const known[] = {"recipient_key",  "fingerprint",
	                                    "sign",           "armor",
	                                    "keep_plaintext", NULL};
	struct fy_node *v[6] = {NULL};
	struct deliver_pgp *p = &dp->f->pgp;
	const char *fp;

	if (n == NULL || cfg_node_is_null(n))
		return;
	if (!get_keys(dp, n, n, "pgp", known, v))
		return;
	dp->f->has_pgp = true;
	p->recipient_key = dup_str(dp, v[0], n, "pgp.recipient_key");
	if (v[1] != NULL && (fp = get_str(dp, v[1], n, "pgp.fingerprint"))) {
		if ((p->fingerprint = pgp_fpr_normalize(fp)) == NULL)
			derr(dp, v[1], "pgp.fingerprint",
			     "expected a full key fingerprint (40 or 64 hex "
			     "digits), not \"%s\"",
			     fp);
	}
	get_bool(dp, v[2], "pgp.sign", &p->sign);
	get_bool(dp, v[3], "pgp.armor", &p->armor);
	get_bool(dp, v[4], "pgp.keep_plaintext", &p->keep_plaintext);
}

static void
parse_tz(struct dp *dp, struct fy_node *tz)
{
	struct deliver_feed *f = dp->f;
	char *cause = NULL;

	if (tz != NULL && (f->timezone = dup_str(dp, tz, tz, "timezone"))) {
		if ((f->tz = cron_tz_load(f->timezone, &cause)) == NULL) {
			derr(dp, tz, "timezone", "%s", cause);
			free(cause);
		}
	} else if (tz == NULL) {
		f->timezone = xstrdup("UTC");
		f->tz = cron_tz_utc();
	}
}

/* One cron expression into *text and *expr; nothing for null. */
static void
parse_cron(struct dp *dp, struct fy_node *n, const char *key, char **text,
           struct cron_expr **expr)
{
	char *cause = NULL;

	if (n == NULL || cfg_node_is_null(n))
		return;
	if ((*text = dup_str(dp, n, n, key)) == NULL)
		return;
	if ((*expr = cron_parse(*text, &cause)) == NULL) {
		derr(dp, n, key, "%s", cause);
		free(cause);
	}
}

/* The feed profile's mode as written, or NULL (the default, change). */
static const char *
profile_mode(struct dp *dp)
{
	struct fy_node *feeds = cfg_section(dp->c, "feeds"), *prof, *mode;

	if (feeds == NULL || !fy_node_is_mapping(feeds) ||
	    (prof = fy_node_mapping_lookup_by_string(feeds, dp->f->name,
	                                             FY_NT)) == NULL ||
	    !fy_node_is_mapping(prof) ||
	    (mode = fy_node_mapping_lookup_by_string(prof, "mode", FY_NT)) ==
	        NULL)
		return NULL;
	return fy_node_get_scalar0(mode);
}

static void
parse_schedule(struct dp *dp, struct fy_node **v)
{
	const char *mode;

	parse_tz(dp, v[2]);
	parse_cron(dp, v[0], "schedule", &dp->f->schedule, &dp->f->cron);
	if (v[1] == NULL || cfg_node_is_null(v[1]))
		return;
	mode = profile_mode(dp);
	if (mode == NULL || strcmp(mode, "both") != 0) {
		derr(dp, v[1], "full_schedule",
		     "needs mode: both in feeds.%s (change files on schedule, "
		     "full files on full_schedule)",
		     dp->f->name);
		return;
	}
	parse_cron(dp, v[1], "full_schedule", &dp->f->full_schedule,
	           &dp->f->full_cron);
}

static void
parse_offcycle(struct dp *dp, struct fy_node *n)
{
	static const char *const known[] = {"enabled", "window", "daily_cap",
	                                    NULL};
	struct fy_node *v[4] = {NULL};

	if (n == NULL || !get_keys(dp, n, n, "offcycle", known, v))
		return;
	dp->f->offcycle = true;
	get_bool(dp, v[0], "offcycle.enabled", &dp->f->offcycle);
	get_unsigned(dp, v[1], "offcycle.window", 1, 86400,
	             &dp->f->offcycle_window_s);
	get_unsigned(dp, v[2], "offcycle.daily_cap", 0, 1000,
	             &dp->f->offcycle_daily_cap);
}

static void
parse_retries(struct dp *dp, struct fy_node *n)
{
	static const char *const known[] = {"max", "base_ms", "cap_ms", NULL};
	struct fy_node *v[4] = {NULL};
	struct deliver_feed *f = dp->f;
	long base = f->retry_base_ms, cap = f->retry_cap_ms;

	if (n == NULL || !get_keys(dp, n, n, "retries", known, v))
		return;
	get_unsigned(dp, v[0], "retries.max", 0, 1000, &f->retries_max);
	get_long(dp, v[1], "retries.base_ms", 1, 3600000, &base);
	get_long(dp, v[2], "retries.cap_ms", 1, 86400000, &cap);
	if (cap < base)
		derr(dp, v[2] != NULL ? v[2] : n, "retries.cap_ms",
		     "must not be below retries.base_ms (%ld)", base);
	f->retry_base_ms = (uint32_t)base;
	f->retry_cap_ms = (uint32_t)cap;
}

static void
parse_timeouts(struct dp *dp, struct fy_node *n)
{
	static const char *const known[] = {"connect_ms", "stall_s", NULL};
	struct fy_node *v[3] = {NULL};

	if (n == NULL || !get_keys(dp, n, n, "timeouts", known, v))
		return;
	get_long(dp, v[0], "timeouts.connect_ms", 100, 600000,
	         &dp->f->connect_ms);
	get_long(dp, v[1], "timeouts.stall_s", 1, 3600, &dp->f->stall_s);
}

static void
parse_accepted(struct dp *dp, struct fy_node *n)
{
	struct deliver_returns_cfg *r = &dp->f->returns;
	struct fy_node *e;
	void *iter = NULL;
	const char *s;

	if (!fy_node_is_sequence(n) || fy_node_sequence_item_count(n) == 0) {
		derr(dp, n, "returns.accepted",
		     "expected a list of status values, e.g. [A, ACCEPTED]");
		return;
	}
	r->accepted =
	    xcalloc((size_t)fy_node_sequence_item_count(n) + 1, sizeof(char *));
	while ((e = fy_node_sequence_iterate(n, &iter)) != NULL) {
		if ((s = get_str(dp, e, n, "returns.accepted")) != NULL)
			r->accepted[r->naccepted++] = xstrdup(s);
	}
}

static void
parse_delimiter(struct dp *dp, struct fy_node *n)
{
	const char *s;

	if (n == NULL || (s = get_str(dp, n, n, "returns.delimiter")) == NULL)
		return;
	if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0)
		s = "\t";
	if (strlen(s) != 1 || *s == '"' || *s == '\n' || *s == '\r')
		derr(dp, n, "returns.delimiter",
		     "expected one character such as \",\", \"|\" or \"tab\"");
	else
		dp->f->returns.delimiter = *s;
}

/*
 * returns.format: csv (the default) or x12. 1 for x12, whose files name
 * their own columns: the CSV keys (v[3..7]) are refused with it.
 */
static int
parse_returns_format(struct dp *dp, struct fy_node **v)
{
	static const char *const csv_keys[] = {
	    "returns.key_column", "returns.status_column",
	    "returns.message_column", "returns.accepted", "returns.delimiter"};
	const char *s;
	size_t i;

	if (v[8] == NULL ||
	    (s = get_str(dp, v[8], v[8], "returns.format")) == NULL)
		return 0;
	if (strcmp(s, "csv") == 0)
		return 0;
	if (strcmp(s, "x12") != 0) {
		derr(dp, v[8], "returns.format",
		     "expected csv or x12 (TA1, 999 and 997 acknowledgments), "
		     "not \"%s\"",
		     s);
		return 0;
	}
	dp->f->returns.x12 = true;
	for (i = 0; i < 5; i++)
		if (v[3 + i] != NULL)
			derr(dp, v[3 + i], csv_keys[i],
			     "only for format csv: an x12 acknowledgment "
			     "names its own codes");
	return 1;
}

static void
parse_returns(struct dp *dp, struct fy_node *n)
{
	static const char *const known[] = {"dir",           "pattern",
	                                    "interval_s",    "key_column",
	                                    "status_column", "message_column",
	                                    "accepted",      "delimiter",
	                                    "format",        NULL};
	struct fy_node *v[10] = {NULL};
	struct deliver_returns_cfg *r = &dp->f->returns;

	if (n == NULL || cfg_node_is_null(n))
		return;
	if (!get_keys(dp, n, n, "returns", known, v))
		return;
	dp->f->has_returns = true;
	r->interval_s = DELIVER_RETURNS_INTERVAL_S_DEFAULT;
	r->delimiter = ',';
	if ((r->dir = dup_str(dp, v[0], n, "returns.dir")) != NULL &&
	    r->dir[0] != '/' && strncmp(r->dir, "sftp://", 7) != 0 &&
	    strncmp(r->dir, "dir:/", 5) != 0)
		derr(dp, v[0], "returns.dir",
		     "expected an absolute directory (\"/outbound\", "
		     "\"/~/outbound\") or a URL");
	r->pattern = v[1] != NULL ? dup_str(dp, v[1], n, "returns.pattern")
	                          : xstrdup("*");
	get_long(dp, v[2], "returns.interval_s", 10, 86400, &r->interval_s);
	if (parse_returns_format(dp, v) == 1)
		return;
	r->key_column = dup_str(dp, v[3], n, "returns.key_column");
	r->status_column = dup_str(dp, v[4], n, "returns.status_column");
	if (v[5] != NULL)
		r->message_column =
		    dup_str(dp, v[5], n, "returns.message_column");
	if (v[6] != NULL)
		parse_accepted(dp, v[6]);
	else {
		r->accepted = xcalloc(3, sizeof(char *));
		r->accepted[r->naccepted++] = xstrdup("A");
		r->accepted[r->naccepted++] = xstrdup("ACCEPTED");
	}
	parse_delimiter(dp, v[7]);
}

enum {
	K_DEST,
	K_SSH_KEY,
	K_SSH_PUB,
	K_HOSTKEY,
	K_MODE,
	K_PGP,
	K_SCHEDULE,
	K_FULL_SCHEDULE,
	K_TZ,
	K_OFFCYCLE,
	K_RETRIES,
	K_TIMEOUTS,
	K_RETURNS,
	K__COUNT
};

static void
entry_body(struct dp *dp, struct fy_node *map, struct fy_node *at)
{
	static const char *const known[] = {[K_DEST] = "destination",
	                                    [K_SSH_KEY] = "ssh_key",
	                                    [K_SSH_PUB] = "ssh_public_key",
	                                    [K_HOSTKEY] = "host_key_sha256",
	                                    [K_MODE] = "remote_mode",
	                                    [K_PGP] = "pgp",
	                                    [K_SCHEDULE] = "schedule",
	                                    [K_FULL_SCHEDULE] = "full_schedule",
	                                    [K_TZ] = "timezone",
	                                    [K_OFFCYCLE] = "offcycle",
	                                    [K_RETRIES] = "retries",
	                                    [K_TIMEOUTS] = "timeouts",
	                                    [K_RETURNS] = "returns",
	                                    [K__COUNT] = NULL};
	struct fy_node *v[K__COUNT + 1] = {NULL};

	if (!get_keys(dp, map, at, "", known, v))
		return;
	parse_destination(dp, v[K_DEST], at);
	parse_ssh(dp, v + K_SSH_KEY, at);
	parse_mode(dp, v[K_MODE]);
	parse_pgp(dp, v[K_PGP]);
	parse_schedule(dp, v + K_SCHEDULE);
	parse_offcycle(dp, v[K_OFFCYCLE]);
	parse_retries(dp, v[K_RETRIES]);
	parse_timeouts(dp, v[K_TIMEOUTS]);
	parse_returns(dp, v[K_RETURNS]);
}

static bool
name_ok(const char *s)
{
	size_t n = 0;

	if (!isalnum((unsigned char)*s))
		return false;
	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("._-", s[n]))
			return false;
	return n <= 64;
}

static void
feed_free(struct deliver_feed *f)
{
	size_t i;

	if (f == NULL)
		return;
	free(f->name);
	free(f->destination);
	free(f->ssh_key);
	free(f->ssh_public_key);
	free(f->host_key_sha256);
	free(f->pgp.recipient_key);
	free(f->pgp.fingerprint);
	free(f->schedule);
	cron_free(f->cron);
	free(f->full_schedule);
	cron_free(f->full_cron);
	free(f->timezone);
	cron_tz_free(f->tz);
	free(f->returns.dir);
	free(f->returns.pattern);
	free(f->returns.key_column);
	free(f->returns.status_column);
	free(f->returns.message_column);
	for (i = 0; i < f->returns.naccepted; i++)
		free(f->returns.accepted[i]);
	free(f->returns.accepted);
	free(f);
}

/* A scalar member of a YAML mapping, or NULL. */
static const char *
yaml_str(struct fy_node *map, const char *key)
{
	struct fy_node *n;

	if (map == NULL || !fy_node_is_mapping(map) ||
	    (n = fy_node_mapping_lookup_by_string(map, key, FY_NT)) == NULL ||
	    !fy_node_is_scalar(n))
		return NULL;
	return fy_node_get_scalar0(n);
}

/*
 * The feed's file names, with the PGP suffix, must fit the destination's
 * names (XFER_NAME_MAX): else every delivery of the feed would fail, after
 * its file was rendered.
 */
static void
entry_name_fits(struct dp *dp, struct fy_node *key, struct fy_node *feeds,
                const char *name)
{
	struct fy_node *feed =
	    fy_node_mapping_lookup_by_string(feeds, name, FY_NT);
	const char *tmpl = yaml_str(feed, "file_name");
	size_t max;

	if (tmpl == NULL || feed_name_template_check(tmpl) != NULL)
		return; /* the default fits; the feed reports a bad one */
	max = feed_name_template_max(tmpl, yaml_str(feed, "tenant"), name) +
	      (dp->f->has_pgp ? 4 : 0);
	if (max > XFER_NAME_MAX)
		derr(dp, key, "",
		     "feeds.%s.file_name can expand to %zu bytes%s, and a "
		     "delivered file name takes at most %d",
		     name, max, dp->f->has_pgp ? " with the PGP suffix" : "",
		     XFER_NAME_MAX);
}

static struct deliver_feed *
entry_parse(struct cfg *c, struct fy_node *key, struct fy_node *val,
            const char *name)
{
	struct deliver_feed *f = xcalloc(1, sizeof(*f));
	struct fy_node *feeds = cfg_section(c, "feeds");
	struct buf prefix;
	struct dp dp = {.c = c, .f = f};

	buf_init(&prefix, 0);
	buf_addf(&prefix, "delivery.%s", name);
	dp.prefix = buf_str(&prefix);
	f->name = xstrdup(name);
	f->remote_mode = 0600;
	f->offcycle_window_s = 60;
	f->offcycle_daily_cap = 4;
	f->retries_max = DELIVER_RETRIES_MAX_DEFAULT;
	f->retry_base_ms = DELIVER_RETRY_BASE_MS_DEFAULT;
	f->retry_cap_ms = DELIVER_RETRY_CAP_MS_DEFAULT;
	f->connect_ms = DELIVER_CONNECT_MS_DEFAULT;
	f->stall_s = DELIVER_STALL_S_DEFAULT;
	if (!name_ok(name))
		derr(&dp, key, "",
		     "a feed name is 1 to 64 letters, digits, '.', '_' or "
		     "'-', starting with a letter or digit");
	else if (feeds == NULL || !fy_node_is_mapping(feeds) ||
	         fy_node_mapping_lookup_by_string(feeds, name, FY_NT) == NULL)
		derr(&dp, key, "", "no feed profile named %s in feeds", name);
	entry_body(&dp, val, key);
	if (dp.errors == 0)
		entry_name_fits(&dp, key, feeds, name);
	buf_free(&prefix);
	if (dp.errors > 0) {
		feed_free(f);
		return NULL;
	}
	return f;
}

struct deliver_config *
deliver_config_load(struct cfg *c)
{
	struct fy_node *sec = cfg_section(c, "delivery");
	struct deliver_config *dc;
	struct fy_node_pair *pair;
	struct deliver_feed *f;
	void *iter = NULL;
	const char *name;
	size_t n;

	if (sec == NULL || cfg_node_is_null(sec))
		return NULL;
	dc = xcalloc(1, sizeof(*dc));
	if (!fy_node_is_mapping(sec)) {
		cfg_error(c, sec, "delivery",
		          "expected a mapping of feed names to delivery "
		          "entries");
		dc->names = xcalloc(1, sizeof(*dc->names));
		return dc;
	}
	n = (size_t)fy_node_mapping_item_count(sec);
	dc->v = xcalloc(n + 1, sizeof(*dc->v));
	dc->names = xcalloc(n + 1, sizeof(*dc->names));
	while ((pair = fy_node_mapping_iterate(sec, &iter)) != NULL) {
		name = fy_node_get_scalar0(fy_node_pair_key(pair));
		if (name == NULL) {
			cfg_error(c, fy_node_pair_key(pair), "delivery",
			          "a feed name must be a string");
			continue;
		}
		f = entry_parse(c, fy_node_pair_key(pair),
		                fy_node_pair_value(pair), name);
		if (f != NULL) {
			dc->names[dc->n] = f->name;
			dc->v[dc->n++] = f;
		}
	}
	return dc;
}

void
deliver_config_free(struct deliver_config *dc)
{
	size_t i;

	if (dc == NULL)
		return;
	for (i = 0; i < dc->n; i++)
		feed_free(dc->v[i]);
	free(dc->v);
	free(dc->names);
	free(dc);
}

const char *const *
deliver_feeds(const struct deliver_config *dc)
{
	static const char *const none[] = {NULL};

	return dc != NULL ? dc->names : none;
}

const struct deliver_feed *
deliver_feed_find(const struct deliver_config *dc, const char *feed)
{
	size_t i;

	for (i = 0; dc != NULL && feed != NULL && i < dc->n; i++)
		if (strcmp(dc->v[i]->name, feed) == 0)
			return dc->v[i];
	return NULL;
}
