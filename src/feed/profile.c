/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Feed profiles: parsing and validating `feeds:`, hashes, file names. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libfyaml.h>
#include <sodium.h>

#include "feed/date.h"
#include "feed/jpath.h"
#include "feed/profile.h"
#include "fmt/fmt_x12.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* Parser state for one profile. */
struct pp {
	struct cfg *c;
	struct feed_profile *p;
	const char *prefix; /* "feeds.NAME" */
	int errors;
};

static void __attribute__((format(printf, 4, 5)))
perr(struct pp *pp, struct fy_node *n, const char *key, const char *fmt, ...)
{
	struct buf k, m;
	va_list ap;

	buf_init(&k, 0);
	buf_init(&m, 0);
	buf_addstr(&k, pp->prefix);
	if (key != NULL && *key != '\0')
		buf_addf(&k, "%s%s", key[0] == '[' ? "" : ".", key);
	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	cfg_error(pp->c, n, buf_str(&k), "%s", buf_str(&m));
	pp->errors++;
	buf_free(&k);
	buf_free(&m);
}

/* A string value, or NULL after reporting why not. */
static const char *
get_str(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key)
{
	const char *v;

	if (cfg_node_is_null(n)) {
		perr(pp, n != NULL ? n : at, key, "missing value");
		return NULL;
	}
	if (!fy_node_is_scalar(n) || (v = fy_node_get_scalar0(n)) == NULL) {
		perr(pp, n, key, "expected a string");
		return NULL;
	}
	if (cfg_has_ctl(v)) {
		perr(pp, n, key, "control characters are not allowed");
		return NULL;
	}
	return v;
}

static bool
get_bool(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key,
         bool *out)
{
	const char *v;

	if ((v = get_str(pp, n, at, key)) == NULL)
		return false;
	if (strcasecmp(v, "true") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0)
		*out = false;
	else {
		perr(pp, n, key, "expected true or false, not \"%s\"", v);
		return false;
	}
	return true;
}

static bool
get_long(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key,
         long min, long max, long *out)
{
	const char *v;
	char *end;
	long x;

	if ((v = get_str(pp, n, at, key)) == NULL)
		return false;
	errno = 0;
	x = strtol(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    x < min || x > max) {
		perr(pp, n, key,
		     "expected a whole number from %ld to %ld, "
		     "not \"%s\"",
		     min, max, v);
		return false;
	}
	*out = x;
	return true;
}

static bool
get_pct(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key,
        double *out)
{
	const char *v;
	char *end;
	double x;

	if ((v = get_str(pp, n, at, key)) == NULL)
		return false;
	errno = 0;
	x = strtod(v, &end);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    !isfinite(x) || x < 0 || x > 100) {
		perr(pp, n, key, "expected a number from 0 to 100, not \"%s\"",
		     v);
		return false;
	}
	*out = x;
	return true;
}

/* "a, b or c" */
static void
list_names(struct buf *b, const char *const *names)
{
	size_t i, n = 0;

	while (names[n] != NULL)
		n++;
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addstr(b, i == n - 1 ? " or " : ", ");
		buf_addstr(b, names[i]);
	}
}

/* The index of the value among names, or -1 after reporting it. */
static int
get_enum(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key,
         const char *const *names)
{
	const char *v;
	struct buf b;
	int i;

	if ((v = get_str(pp, n, at, key)) == NULL)
		return -1;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	buf_init(&b, 0);
	list_names(&b, names);
	perr(pp, n, key, "expected %s, not \"%s\"", buf_str(&b), v);
	buf_free(&b);
	return -1;
}

/*
 * Collect a mapping's values by key into v[] (indexes as in known[]),
 * reporting keys that are not known. prefix is put before each key in
 * messages ("columns[2]").
 */
static void
get_keys(struct pp *pp, struct fy_node *map, const char *prefix,
         const char *const *known, struct fy_node **v, struct fy_node **k)
{
	struct fy_node_pair *pair;
	void *iter = NULL;
	const char *name;
	struct buf b, kb;
	int i;

	while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL) {
		name = fy_node_get_scalar0(fy_node_pair_key(pair));
		for (i = 0; name != NULL && known[i] != NULL; i++)
			if (strcmp(known[i], name) == 0)
				break;
		if (name != NULL && known[i] != NULL) {
			v[i] = fy_node_pair_value(pair);
			if (k != NULL)
				k[i] = fy_node_pair_key(pair);
			continue;
		}
		buf_init(&b, 0);
		buf_init(&kb, 0);
		list_names(&b, known);
		buf_addf(&kb, "%s%s%s", prefix, *prefix ? "." : "",
		         name != NULL ? name : "?");
		perr(pp, fy_node_pair_key(pair), buf_str(&kb),
		     "unknown key (known: %s)", buf_str(&b));
		buf_free(&b);
		buf_free(&kb);
	}
}

static bool
name_ok(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return false;
	return true;
}

/* Abbreviations. */

static const struct scim_abbrev abbrevs[] = {
    {"eligibility:", SCIM_URN_ELIGIBILITY ":"},
    {"enterprise:", SCIM_URN_ENTERPRISE ":"},
    {NULL, NULL},
};

char *
feed_expand_abbrev(const char *t)
{
	struct buf b;
	bool quoted = false;
	size_t i, j, n;
	char prev = ' ';

	buf_init(&b, 0);
	for (i = 0; t[i] != '\0'; i++) {
		if (quoted) {
			buf_addch(&b, t[i]);
			if (t[i] == '\\' && t[i + 1] != '\0')
				buf_addch(&b, t[++i]);
			else if (t[i] == '"')
				quoted = false;
			prev = t[i];
			continue;
		}
		if (t[i] == '"')
			quoted = true;
		for (j = 0;
		     !isalnum((unsigned char)prev) &&
		     strchr("_:.$-", prev) == NULL && abbrevs[j].prefix != NULL;
		     j++) {
			n = strlen(abbrevs[j].prefix);
			if (strncmp(t + i, abbrevs[j].prefix, n) == 0) {
				buf_addstr(&b, abbrevs[j].urn);
				i += n;
				break;
			}
		}
		buf_addch(&b, t[i]);
		prev = t[i];
		if (t[i] == '\0')
			break;
	}
	return buf_detach(&b);
}

/* Hashes. */

static void
hash_hex(const struct buf *b, char out[FEED_HASH_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)buf_str(b), b->len);
	sodium_bin2hex(out, FEED_HASH_LEN + 1, h, sizeof(h));
}

static void
hash_field(struct buf *b, const char *name, const char *v)
{
	buf_addf(b, "%s=", name);
	if (v != NULL)
		buf_add_json_str(b, v);
	else
		buf_addstr(b, "null");
	buf_addch(b, '\n');
}

static void
profile_hashes(struct feed_profile *p)
{
	const struct feed_column *c;
	struct buf r, v, l, names;
	size_t i, j;

	buf_init(&r, 0);
	buf_init(&v, 0);
	buf_init(&l, 0);
	buf_init(&names, 0);
	hash_field(&r, "rule", p->eligibility);
	/*
	 * Joining or leaving a group, or its rename or deletion, gives the
	 * person a new version (docs/scim.md, ETags), so a rule on groups is
	 * cached like any other. State recorded by older releases, which did
	 * not, could miss a membership change: the marker makes the first
	 * plan of such a feed look at everyone once.
	 */
	if (p->rule_uses_groups)
		hash_field(&r, "groups", "versioned");
	hash_field(&r, "key", p->key_source);
	hash_field(&v, "key", p->key_source);
	hash_field(&v, "tenant", p->tenant);
	hash_field(&v, "feed", p->name);
	hash_field(&l, "format", p->format);
	buf_addf(&l, "delimiter=%d quote=%d header=%d eol=%s guard=%d\n",
	         p->fmt.delimiter, (int)p->fmt.quote, p->fmt.header, p->fmt.eol,
	         p->fmt.formula_guard);
	buf_addch(&names, '[');
	for (i = 0; i < p->ncols; i++) {
		c = &p->cols[i];
		hash_field(&v, "column", c->name);
		buf_addf(&v, "src=%d width=%zu truncate=%d case=%d\n", c->src,
		         c->width, c->truncate, (int)c->kase);
		hash_field(&v, "source", c->source);
		hash_field(&v, "const", c->konst);
		hash_field(&v, "date_format", c->date_format);
		hash_field(&v, "default", c->def);
		for (j = 0; j < c->nmap; j++) {
			hash_field(&v, "from", c->map[j].from);
			hash_field(&v, "to", c->map[j].to);
		}
		hash_field(&l, "column", c->name);
		hash_field(&l, "header", c->header);
		buf_addf(&l, "width=%zu right=%d pad=%d\n", c->width,
		         c->align_right, c->pad);
		if (i > 0)
			buf_addch(&names, ',');
		buf_add_json_str(&names, c->name);
	}
	buf_addch(&names, ']');
	hash_hex(&r, p->rule_hash);
	hash_hex(&v, p->values_hash);
	hash_hex(&l, p->layout_hash);
	p->layout = buf_detach(&names);
	buf_free(&r);
	buf_free(&v);
	buf_free(&l);
}

/* File names. */

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._-";

bool
feed_file_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= FEED_FILE_NAME_MAX && s[0] != '.' &&
	       strspn(s, name_chars) == n && strstr(s, "..") == NULL;
}

/* One placeholder "{...}" of length n at t: NULL when valid. */
static const char *
placeholder_check(const char *t, size_t n)
{
	const char *why;
	char *fmt;

	if (n == 8 && strncmp(t, "{tenant}", 8) == 0)
		return NULL;
	if (n == 6 &&
	    (strncmp(t, "{feed}", 6) == 0 || strncmp(t, "{date}", 6) == 0))
		return NULL;
	if (n == 5 && strncmp(t, "{seq}", 5) == 0)
		return NULL;
	if (n == 7 && strncmp(t, "{seq:", 5) == 0 && t[5] >= '1' &&
	    t[5] <= '9' && t[6] == '}')
		return NULL;
	if (n > 7 && strncmp(t, "{date:", 6) == 0) {
		fmt = xstrndup(t + 6, n - 7);
		why = feed_date_format_check(fmt, true);
		if (why == NULL && strspn(fmt, "%YymdjHMS._-") != strlen(fmt))
			why = "a date format in a file name may only use "
			      "conversions, '.', '_' and '-'";
		free(fmt);
		return why;
	}
	return "unknown placeholder (known: {tenant}, {feed}, {date}, "
	       "{date:FORMAT}, {seq}, {seq:WIDTH})";
}

const char *
feed_name_template_check(const char *t)
{
	const char *close, *why;
	size_t i;

	if (*t == '\0')
		return "must not be empty";
	if (*t == '.')
		return "must not start with '.'";
	for (i = 0; t[i] != '\0'; i++) {
		if (t[i] == '{') {
			if ((close = strchr(t + i, '}')) == NULL)
				return "'{' has no matching '}'";
			why = placeholder_check(t + i,
			                        (size_t)(close - t) - i + 1);
			if (why != NULL)
				return why;
			i = (size_t)(close - t);
			continue;
		}
		if (t[i] == '}')
			return "'}' has no matching '{'";
		if (strchr(name_chars, t[i]) == NULL || t[i] == '\0')
			return "only letters, digits, '.', '_' and '-' may "
			       "appear outside placeholders (a file name, "
			       "never a path)";
	}
	if (strstr(t, "..") != NULL)
		return "must not contain \"..\"";
	return NULL;
}

/* The longest a {date:FMT} expands to (FMT checked already). */
static size_t
date_fmt_max(const char *fmt, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		if (fmt[i] != '%' || i + 1 == n) {
			len++;
			continue;
		}
		switch (fmt[++i]) {
		case 'Y':
			len += 4;
			break;
		case 'j':
			len += 3;
			break;
		case '%':
			len += 1;
			break;
		default:
			len += 2;
		}
	}
	return len;
}

/*
 * The longest name the (checked) template can expand to for this tenant
 * and feed, counting a file number of up to 10 digits: what a render
 * would otherwise find too long only after recording its run.
 */
size_t
feed_name_template_max(const char *t, const char *tenant, const char *feed)
{
	const char *close;
	size_t i, len = 0, n;

	for (i = 0; t[i] != '\0'; i++) {
		if (t[i] != '{' || (close = strchr(t + i, '}')) == NULL) {
			len++;
			continue;
		}
		n = (size_t)(close - (t + i)) + 1;
		if (strncmp(t + i, "{tenant}", 8) == 0)
			len += tenant != NULL ? strlen(tenant) : 0;
		else if (strncmp(t + i, "{feed}", 6) == 0)
			len += feed != NULL ? strlen(feed) : 0;
		else if (strncmp(t + i, "{date}", 6) == 0)
			len += 8;
		else if (strncmp(t + i, "{seq", 4) == 0)
			len += 10; /* {seq:W} pads to W <= 9 digits */
		else if (n > 7)
			len += date_fmt_max(t + i + 6, n - 7);
		i += n - 1;
	}
	return len;
}

int
feed_file_name(const char *tmpl, const char *tenant, const char *feed,
               const char *date, const char *clock, int64_t seq, char **out,
               char **cause)
{
	struct feed_date d;
	const char *close, *why;
	struct buf b;
	size_t i;
	char *fmt;

	if ((why = feed_name_template_check(tmpl)) != NULL) {
		*cause = xasprintf("file_name template: %s", why);
		return -1;
	}
	if (feed_date_parse(date, &d) == -1) {
		*cause = xasprintf("bad run date \"%s\"", date);
		return -1;
	}
	if (clock != NULL && strlen(clock) >= 8) {
		d.hh = atoi(clock);
		d.mm = atoi(clock + 3);
		d.ss = atoi(clock + 6);
	}
	buf_init(&b, 1024);
	for (i = 0; tmpl[i] != '\0'; i++) {
		if (tmpl[i] != '{') {
			buf_addch(&b, tmpl[i]);
			continue;
		}
		close = strchr(tmpl + i, '}');
		if (strncmp(tmpl + i, "{tenant}", 8) == 0)
			buf_addstr(&b, tenant);
		else if (strncmp(tmpl + i, "{feed}", 6) == 0)
			buf_addstr(&b, feed);
		else if (strncmp(tmpl + i, "{date}", 6) == 0)
			feed_date_format("%Y%m%d", &d, &b);
		else if (strncmp(tmpl + i, "{seq}", 5) == 0)
			buf_addf(&b, "%lld", (long long)seq);
		else if (strncmp(tmpl + i, "{seq:", 5) == 0)
			buf_addf(&b, "%0*lld", tmpl[i + 5] - '0',
			         (long long)seq);
		else {
			fmt = xstrndup(tmpl + i + 6,
			               (size_t)(close - (tmpl + i)) - 6);
			feed_date_format(fmt, &d, &b);
			free(fmt);
		}
		i = (size_t)(close - tmpl);
	}
	if (b.failed || !feed_file_name_ok(buf_str(&b))) {
		*cause = xasprintf("file name \"%s\" is not a plain file name "
		                   "(only letters, digits, '.', '_' and '-'; "
		                   "no \"..\"; not starting with '.')",
		                   b.failed ? "(too long)" : buf_str(&b));
		buf_free(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}

/* Columns. */

enum {
	CK_NAME,
	CK_HEADER,
	CK_SOURCE,
	CK_CONST,
	CK_DATE_FORMAT,
	CK_CASE,
	CK_MAP,
	CK_DEFAULT,
	CK_WIDTH,
	CK_ALIGN,
	CK_PAD,
	CK_TRUNCATE,
	CK__N
};

static const char *const col_keys[] = {
    "name",    "header", "source", "const", "date_format", "case", "map",
    "default", "width",  "align",  "pad",   "truncate",    NULL};

static const struct {
	const char *name;
	enum feed_src src;
} computed[] = {
    {"$key", FEED_SRC_KEY},
    {"$relationship", FEED_SRC_RELATIONSHIP},
    {"$tenant", FEED_SRC_TENANT},
    {"$feed", FEED_SRC_FEED},
    {"$member_key", FEED_SRC_MEMBER_KEY},
    {"$dependent_key", FEED_SRC_DEP_KEY},
    {"$gender", FEED_SRC_GENDER},
    {"$action", FEED_SRC_ACTION},
    {"$term_date", FEED_SRC_TERM_DATE},
    {"$term_reason", FEED_SRC_TERM_REASON},
    {"$as_of", FEED_SRC_AS_OF},
};

#define NCOMPUTED (sizeof(computed) / sizeof(computed[0]))

/* The document path of an attribute column, as jpath names. */
static int
col_slot(struct feed_profile *p, const struct feed_column *c)
{
	const char *names[JPATH_DEPTH];
	size_t n = 0;

	if (c->path.ext)
		names[n++] = c->path.schema->id;
	names[n++] = c->path.attr->name;
	if (!c->path.attr->multi && c->path.sub != NULL)
		names[n++] = c->path.sub->name;
	return jpath_add(p->paths, names, n);
}

/* Can fast_setup() handle this value filter? */
static bool
fast_filter_ok(const struct scim_filter *f)
{
	const struct scim_attr *leaf;

	if (f == NULL)
		return true;
	switch (f->op) {
	case SCIM_F_AND:
	case SCIM_F_OR:
		return fast_filter_ok(f->left) && fast_filter_ok(f->right);
	case SCIM_F_NOT:
		return fast_filter_ok(f->left);
	case SCIM_F_PR:
		return f->path.sub != NULL;
	case SCIM_F_EQ:
	case SCIM_F_CO:
	case SCIM_F_SW:
	case SCIM_F_EW:
		if (f->path.sub == NULL || f->value == NULL)
			return false;
		leaf = f->path.sub;
		if (leaf->type == SCIM_T_BOOLEAN)
			return f->op == SCIM_F_EQ && json_is_boolean(f->value);
		return (leaf->type == SCIM_T_STRING ||
		        leaf->type == SCIM_T_REFERENCE) &&
		       json_is_string(f->value);
	default:
		return false;
	}
}

static bool
fast_name(struct feed_column *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nenames; i++)
		if (strcasecmp(c->enames[i], name) == 0)
			return true;
	if (c->nenames == sizeof(c->enames) / sizeof(c->enames[0]))
		return false;
	c->enames[c->nenames] = name;
	c->eslots[c->nenames++] = jpath_add(c->elem, &name, 1);
	return true;
}

static bool
fast_names(struct feed_column *c, const struct scim_filter *f)
{
	if (f == NULL)
		return true;
	if (f->op == SCIM_F_AND || f->op == SCIM_F_OR || f->op == SCIM_F_NOT)
		return fast_names(c, f->left) && fast_names(c, f->right);
	return fast_name(c, f->path.sub->name);
}

/* Prepare a complex multi-valued column for record.c's fast pick. */
static void
fast_setup(struct feed_column *c)
{
	const char *primary = "primary";

	if (!c->path.attr->multi || c->sub == NULL ||
	    c->path.attr->type != SCIM_T_COMPLEX || !fast_filter_ok(c->vfilter))
		return;
	c->elem = jpath_set_new();
	c->eslot_sub = jpath_add(c->elem, &c->sub->name, 1);
	c->eslot_primary = jpath_add(c->elem, &primary, 1);
	c->fast = fast_names(c, c->vfilter);
}

/* Check what an attribute path names; message or NULL. */
static const char *
attr_check(struct feed_column *c)
{
	const struct scim_attr *a = c->path.attr;

	if (a == NULL)
		return "names a whole extension; name one of its attributes";
	if (c->path.schema == NULL && !c->path.ext) {
		if (strcmp(a->name, "meta") == 0 && c->path.sub != NULL &&
		    (strcmp(c->path.sub->name, "created") == 0 ||
		     strcmp(c->path.sub->name, "lastModified") == 0))
			return NULL;
		if (strcmp(a->name, "meta") == 0)
			return "only meta.created and meta.lastModified can "
			       "be a column source";
		return NULL;
	}
	if (!c->path.ext && strcmp(a->name, "groups") == 0)
		return "groups is derived from Group membership and cannot "
		       "be a column source";
	if (a->mut == SCIM_M_WO)
		return "is write-only and never stored";
	if (a->multi) {
		if (c->sub == NULL)
			c->sub = c->path.sub;
		if (a->type == SCIM_T_COMPLEX && c->sub == NULL)
			return "is multi-valued; name a sub-attribute, e.g. "
			       "emails[type eq \"work\"].value";
		return NULL;
	}
	if (c->vfilter != NULL)
		return "is not multi-valued; a value filter does not apply";
	if (a->type == SCIM_T_COMPLEX && c->path.sub == NULL)
		return "is complex; name a sub-attribute, e.g. "
		       "name.familyName";
	return NULL;
}

static void
col_source(struct pp *pp, struct feed_column *c, const char *written,
           struct fy_node *n, const char *key)
{
	struct scim_err e;
	const char *why;
	size_t i;

	if (c->source[0] == '$') {
		for (i = 0; i < NCOMPUTED; i++)
			if (strcmp(computed[i].name, c->source) == 0)
				break;
		if (i == NCOMPUTED) {
			perr(pp, n, key,
			     "unknown computed source \"%s\" (known: $key, "
			     "$member_key, $dependent_key, $relationship, "
			     "$gender, $tenant, $feed, $action, $term_date, "
			     "$term_reason, $as_of)",
			     c->source);
			return;
		}
		c->src = computed[i].src;
		return;
	}
	c->src = FEED_SRC_ATTR;
	scim_err_init(&e);
	/* Parsed as written, so that messages quote the abbreviations. */
	if (scim_filter_parse_path_ab(scim_rtype_user(), written, abbrevs,
	                              &c->path, &c->vfilter, &c->sub,
	                              &e) == -1) {
		perr(pp, n, key, "%s", e.detail);
		return;
	}
	if ((why = attr_check(c)) != NULL) {
		perr(pp, n, key, "%s %s", written, why);
		return;
	}
	if (c->path.schema != NULL || c->path.ext ||
	    strcmp(c->path.attr->name, "externalId") == 0)
		c->slot = col_slot(pp->p, c);
	fast_setup(c);
}

static void
col_map(struct pp *pp, struct feed_column *c, struct fy_node *n,
        const char *key)
{
	struct fy_node_pair *pair;
	void *iter = NULL;
	const char *from, *to;
	size_t cap;

	if (!fy_node_is_mapping(n)) {
		perr(pp, n, key,
		     "expected a mapping of values, e.g. "
		     "{ male: M, female: F }");
		return;
	}
	cap = (size_t)fy_node_mapping_item_count(n);
	c->map = xcalloc(cap ? cap : 1, sizeof(*c->map));
	while ((pair = fy_node_mapping_iterate(n, &iter)) != NULL) {
		from = get_str(pp, fy_node_pair_key(pair), n, key);
		to = get_str(pp, fy_node_pair_value(pair),
		             fy_node_pair_key(pair), key);
		if (from == NULL || to == NULL)
			continue;
		c->map[c->nmap].from = xstrdup(from);
		c->map[c->nmap].to = xstrdup(to);
		c->nmap++;
	}
}

static char *
dup_str(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key)
{
	const char *v = get_str(pp, n, at, key);

	return v != NULL ? xstrdup(v) : NULL;
}

/* The formatting keys of a column. */
static void
col_layout(struct pp *pp, struct feed_column *c, struct fy_node **v,
           struct fy_node *at, const char *pre)
{
	static const char *const aligns[] = {"left", "right", NULL};
	static const char *const cases[] = {"upper", "lower", NULL};
	bool fixed = strcmp(pp->p->format, "fixed") == 0;
	struct buf k;
	const char *s;
	long w;
	int i;

	buf_init(&k, 0);
#define KEY(name) (buf_reset(&k), buf_addf(&k, "%s.%s", pre, name), buf_str(&k))
	if (v[CK_DATE_FORMAT] != NULL &&
	    (c->date_format = dup_str(pp, v[CK_DATE_FORMAT], at,
	                              KEY("date_format"))) != NULL &&
	    (s = feed_date_format_check(c->date_format, false)) != NULL)
		perr(pp, v[CK_DATE_FORMAT], KEY("date_format"), "%s", s);
	if (v[CK_CASE] != NULL &&
	    (i = get_enum(pp, v[CK_CASE], at, KEY("case"), cases)) != -1)
		c->kase = i == 0 ? FEED_CASE_UPPER : FEED_CASE_LOWER;
	if (v[CK_MAP] != NULL)
		col_map(pp, c, v[CK_MAP], KEY("map"));
	if (v[CK_DEFAULT] != NULL)
		c->def = dup_str(pp, v[CK_DEFAULT], at, KEY("default"));
	if (v[CK_WIDTH] != NULL &&
	    get_long(pp, v[CK_WIDTH], at, KEY("width"), 1, FEED_WIDTH_MAX, &w))
		c->width = (size_t)w;
	else if (v[CK_WIDTH] == NULL && fixed)
		perr(pp, at, KEY("width"),
		     "missing: every column of a fixed-width file needs one");
	if (v[CK_ALIGN] != NULL && !fixed)
		perr(pp, v[CK_ALIGN], KEY("align"),
		     "only applies to format fixed");
	else if (v[CK_ALIGN] != NULL &&
	         (i = get_enum(pp, v[CK_ALIGN], at, KEY("align"), aligns)) !=
	             -1)
		c->align_right = i == 1;
	c->pad = ' ';
	if (v[CK_PAD] != NULL && !fixed)
		perr(pp, v[CK_PAD], KEY("pad"), "only applies to format fixed");
	else if (v[CK_PAD] != NULL &&
	         (s = get_str(pp, v[CK_PAD], at, KEY("pad"))) != NULL) {
		if (strcmp(s, " ") != 0 && strcmp(s, "0") != 0)
			perr(pp, v[CK_PAD], KEY("pad"),
			     "expected \" \" or \"0\", not \"%s\"", s);
		else
			c->pad = s[0];
	}
	if (v[CK_TRUNCATE] != NULL &&
	    get_bool(pp, v[CK_TRUNCATE], at, KEY("truncate"), &c->truncate) &&
	    c->truncate && v[CK_WIDTH] == NULL)
		perr(pp, v[CK_TRUNCATE], KEY("truncate"),
		     "needs a width to truncate to");
#undef KEY
	buf_free(&k);
}

static void
col_parse(struct pp *pp, struct feed_column *c, struct fy_node *n, size_t idx)
{
	struct fy_node *v[CK__N] = {NULL};
	struct buf pre, k;
	const char *s;

	buf_init(&pre, 0);
	buf_init(&k, 0);
	buf_addf(&pre, "columns[%zu]", idx);
	c->slot = -1;
	if (!fy_node_is_mapping(n)) {
		perr(pp, n, buf_str(&pre),
		     "expected a mapping with name and "
		     "source");
		goto out;
	}
	get_keys(pp, n, buf_str(&pre), col_keys, v, NULL);
	buf_addf(&k, "%s.name", buf_str(&pre));
	if (v[CK_NAME] == NULL)
		perr(pp, n, buf_str(&k), "missing");
	else if ((s = get_str(pp, v[CK_NAME], n, buf_str(&k))) != NULL) {
		if (!name_ok(s, "_", 64))
			perr(pp, v[CK_NAME], buf_str(&k),
			     "\"%s\": use 1 to 64 letters, digits or '_', "
			     "starting with a letter or digit",
			     s);
		c->name = xstrdup(s);
	}
	buf_reset(&k);
	buf_addf(&k, "%s.header", buf_str(&pre));
	if (v[CK_HEADER] != NULL)
		c->header = dup_str(pp, v[CK_HEADER], n, buf_str(&k));
	buf_reset(&k);
	buf_addf(&k, "%s.source", buf_str(&pre));
	if (v[CK_SOURCE] != NULL && v[CK_CONST] != NULL)
		perr(pp, v[CK_CONST], buf_str(&k),
		     "give source or const, not both");
	else if (v[CK_SOURCE] == NULL && v[CK_CONST] == NULL)
		perr(pp, n, buf_str(&k), "missing: give source or const");
	else if (v[CK_CONST] != NULL) {
		c->src = FEED_SRC_CONST;
		buf_reset(&k);
		buf_addf(&k, "%s.const", buf_str(&pre));
		c->konst = dup_str(pp, v[CK_CONST], n, buf_str(&k));
	} else if ((s = get_str(pp, v[CK_SOURCE], n, buf_str(&k))) != NULL) {
		c->source = feed_expand_abbrev(s);
		col_source(pp, c, s, v[CK_SOURCE], buf_str(&k));
	}
	col_layout(pp, c, v, n, buf_str(&pre));
out:
	if (c->name == NULL)
		c->name = xstrdup("?");
	if (c->header == NULL)
		c->header = xstrdup(c->name);
	buf_free(&pre);
	buf_free(&k);
}

static void
cols_parse(struct pp *pp, struct fy_node *n, struct fy_node *at)
{
	struct feed_profile *p = pp->p;
	struct fy_node *item;
	void *iter = NULL;
	size_t i, j, count;

	if (n == NULL) {
		perr(pp, at, "columns",
		     "missing: a feed needs at least one "
		     "column");
		return;
	}
	if (!fy_node_is_sequence(n) ||
	    (count = (size_t)fy_node_sequence_item_count(n)) == 0) {
		perr(pp, n, "columns", "expected a list of columns");
		return;
	}
	if (count > FEED_COLS_MAX) {
		perr(pp, n, "columns", "at most %d columns", FEED_COLS_MAX);
		return;
	}
	p->cols = xcalloc(count, sizeof(*p->cols));
	for (i = 0; (item = fy_node_sequence_iterate(n, &iter)) != NULL; i++) {
		col_parse(pp, &p->cols[i], item, i);
		p->ncols++;
		if (p->cols[i].src >= FEED_SRC_ACTION)
			p->has_dynamic = true;
		for (j = 0; j < i; j++)
			if (strcmp(p->cols[j].name, p->cols[i].name) == 0 &&
			    strcmp(p->cols[i].name, "?") != 0) {
				struct buf k;

				buf_init(&k, 0);
				buf_addf(&k, "columns[%zu].name", i);
				perr(pp, item, buf_str(&k),
				     "\"%s\" is already the name of "
				     "columns[%zu]",
				     p->cols[i].name, j);
				buf_free(&k);
				break;
			}
	}
}

/* The profile's top level. */

enum {
	PK_TENANT,
	PK_VENDOR,
	PK_ELIGIBILITY,
	PK_KEY,
	PK_MODE,
	PK_TERMINATIONS,
	PK_LOOKBACK,
	PK_FORMAT,
	PK_QUOTE,
	PK_HEADER,
	PK_LINE_ENDING,
	PK_FORMULA_GUARD,
	PK_X12,
	PK_COLUMNS,
	PK_FILE_NAME,
	PK_APPROVAL,
	PK__N
};

static const char *const profile_keys[] = {
    "tenant", "vendor",       "eligibility",   "key",
    "mode",   "terminations", "lookback_days", "format",
    "quote",  "header",       "line_ending",   "formula_guard",
    "x12",    "columns",      "file_name",     "approval",
    NULL};

static const char *const formats[] = {"csv",   "pipe",    "tab",
                                      "fixed", "x12-834", NULL};

static bool
filter_uses_groups(const struct scim_filter *f)
{
	if (f == NULL)
		return false;
	if (f->path.attr != NULL && !f->path.ext && f->path.schema != NULL &&
	    strcmp(f->path.attr->name, "groups") == 0)
		return true;
	return filter_uses_groups(f->left) || filter_uses_groups(f->right);
}

static void
parse_rule(struct pp *pp, struct fy_node **v, struct fy_node *at)
{
	struct feed_profile *p = pp->p;
	struct scim_err e;
	const char *s;

	if (v[PK_ELIGIBILITY] == NULL) {
		perr(pp, at, "eligibility",
		     "missing: a SCIM filter saying who is eligible, e.g. "
		     "'active eq true'");
		return;
	}
	if ((s = get_str(pp, v[PK_ELIGIBILITY], at, "eligibility")) == NULL)
		return;
	p->eligibility = feed_expand_abbrev(s);
	p->rule_text = xstrdup(s);
	scim_err_init(&e);
	p->filter = scim_filter_parse_ab(scim_rtype_user(), s, abbrevs, &e);
	if (p->filter == NULL)
		perr(pp, v[PK_ELIGIBILITY], "eligibility", "%s", e.detail);
	p->rule_uses_groups = filter_uses_groups(p->filter);
}

static void
parse_key(struct pp *pp, struct fy_node **v, struct fy_node *at)
{
	struct feed_profile *p = pp->p;
	const struct scim_attr *leaf;
	const char *s = "externalId";

	if (v[PK_KEY] != NULL &&
	    (s = get_str(pp, v[PK_KEY], at, "key")) == NULL)
		return;
	p->key_source = feed_expand_abbrev(s);
	if (scim_attrpath_resolve(scim_rtype_user(), p->key_source,
	                          strlen(p->key_source), &p->key) == -1) {
		perr(pp, v[PK_KEY], "key", "unknown attribute %s", s);
		return;
	}
	leaf = scim_attrpath_leaf(&p->key);
	if (p->key.attr == NULL || leaf == NULL || p->key.attr->multi ||
	    leaf->type == SCIM_T_COMPLEX || leaf->type == SCIM_T_BOOLEAN ||
	    strcmp(p->key.attr->name, "meta") == 0 || leaf->mut == SCIM_M_WO)
		perr(pp, v[PK_KEY], "key",
		     "%s cannot identify a member: use a single-valued "
		     "string attribute such as externalId, userName or "
		     "enterprise:employeeNumber",
		     s);
}

const char *
feed_mode_name(enum feed_mode m)
{
	static const char *const names[] = {"full", "change", "both"};

	return names[m];
}

static void
parse_mode(struct pp *pp, struct fy_node **v, struct fy_node *at)
{
	static const char *const modes[] = {"full", "change", "both", NULL};
	static const char *const terms[] = {"explicit", "lookback", "omit",
	                                    NULL};
	struct feed_profile *p = pp->p;
	long days;
	int i;

	if (v[PK_MODE] != NULL &&
	    (i = get_enum(pp, v[PK_MODE], at, "mode", modes)) != -1)
		p->mode = (enum feed_mode)i;
	if (v[PK_TERMINATIONS] != NULL &&
	    (i = get_enum(pp, v[PK_TERMINATIONS], at, "terminations", terms)) !=
	        -1)
		p->terms = (enum feed_terms)i;
	if (p->terms == FEED_TERMS_LOOKBACK && v[PK_LOOKBACK] == NULL)
		perr(pp, v[PK_TERMINATIONS], "lookback_days",
		     "missing: terminations: lookback needs the number of "
		     "days terminated members stay in full files");
	else if (p->terms != FEED_TERMS_LOOKBACK && v[PK_LOOKBACK] != NULL)
		perr(pp, v[PK_LOOKBACK], "lookback_days",
		     "only applies to terminations: lookback");
	else if (v[PK_LOOKBACK] != NULL &&
	         get_long(pp, v[PK_LOOKBACK], at, "lookback_days", 1,
	                  FEED_LOOKBACK_MAX, &days))
		p->lookback_days = (int)days;
	if (p->terms == FEED_TERMS_OMIT && p->mode != FEED_MODE_FULL)
		perr(pp, v[PK_TERMINATIONS], "terminations",
		     "omit needs mode: full (a change file has no other way "
		     "to say that a member left)");
}

static void
parse_csv_opts(struct pp *pp, struct fy_node **v, struct fy_node *at, int fmt)
{
	static const char *const quotes[] = {"minimal", "all", "none", NULL};
	static const char *const eols[] = {"crlf", "lf", NULL};
	static const char delims[] = {',', '|', '\t'};
	struct fmt_opts *o = &pp->p->fmt;
	bool csv = fmt <= 2, b;
	int i;

	o->kind = csv ? FMT_CSV : fmt == 3 ? FMT_FIXED : FMT_X12_834;
	o->delimiter = csv ? delims[fmt] : ',';
	o->quote = FMT_QUOTE_MINIMAL;
	o->header = csv;
	o->eol = "\r\n";
	o->formula_guard = csv;
	if (v[PK_QUOTE] != NULL && !csv)
		perr(pp, v[PK_QUOTE], "quote",
		     "only applies to formats csv, pipe and tab");
	else if (v[PK_QUOTE] != NULL &&
	         (i = get_enum(pp, v[PK_QUOTE], at, "quote", quotes)) != -1)
		o->quote = (enum fmt_quote)i;
	if (v[PK_FORMULA_GUARD] != NULL && !csv)
		perr(pp, v[PK_FORMULA_GUARD], "formula_guard",
		     "only applies to formats csv, pipe and tab");
	else if (v[PK_FORMULA_GUARD] != NULL &&
	         get_bool(pp, v[PK_FORMULA_GUARD], at, "formula_guard", &b))
		o->formula_guard = b;
	if (v[PK_HEADER] != NULL && o->kind == FMT_X12_834)
		perr(pp, v[PK_HEADER], "header", "does not apply to x12-834");
	else if (v[PK_HEADER] != NULL &&
	         get_bool(pp, v[PK_HEADER], at, "header", &b))
		o->header = b;
	if (v[PK_LINE_ENDING] != NULL && o->kind == FMT_X12_834)
		perr(pp, v[PK_LINE_ENDING], "line_ending",
		     "does not apply to x12-834 (see x12.newline)");
	else if (v[PK_LINE_ENDING] != NULL &&
	         (i = get_enum(pp, v[PK_LINE_ENDING], at, "line_ending",
	                       eols)) != -1)
		o->eol = i == 0 ? "\r\n" : "\n";
}

enum {
	XK_SENDER_QUAL,
	XK_SENDER_ID,
	XK_RECEIVER_QUAL,
	XK_RECEIVER_ID,
	XK_GS_SENDER,
	XK_GS_RECEIVER,
	XK_SPONSOR_NAME,
	XK_SPONSOR_ID,
	XK_PAYER_NAME,
	XK_PAYER_ID,
	XK_POLICY,
	XK_LINE,
	XK_SPONSOR_QUAL,
	XK_PAYER_QUAL,
	XK_USAGE,
	XK_ELEMENT_SEP,
	XK_SEGMENT_TERM,
	XK_COMPONENT_SEP,
	XK_REPETITION_SEP,
	XK_NEWLINE,
	XK_TA1,
	XK__N
};

/* The keys before XK_USAGE are strings kept in x12_strings[]. */
_Static_assert(XK_USAGE == sizeof(((struct feed_profile *)0)->x12_strings) /
                               sizeof(char *),
               "x12_strings[] holds every string key");

static const char *const x12_keys[] = {"sender_qualifier",
                                       "sender_id",
                                       "receiver_qualifier",
                                       "receiver_id",
                                       "gs_sender",
                                       "gs_receiver",
                                       "sponsor_name",
                                       "sponsor_id",
                                       "payer_name",
                                       "payer_id",
                                       "policy_number",
                                       "insurance_line",
                                       "sponsor_id_qualifier",
                                       "payer_id_qualifier",
                                       "usage",
                                       "element_separator",
                                       "segment_terminator",
                                       "component_separator",
                                       "repetition_separator",
                                       "newline",
                                       "ta1_requested",
                                       NULL};

/* A one-character separator. */
static char
x12_sep(struct pp *pp, struct fy_node *n, struct fy_node *at, const char *key,
        char def)
{
	const char *s;

	if (n == NULL)
		return def;
	if ((s = get_str(pp, n, at, key)) == NULL)
		return def;
	if (strlen(s) != 1 || isalnum((unsigned char)*s) || *s == ' ') {
		perr(pp, n, key,
		     "expected one punctuation character, not "
		     "\"%s\"",
		     s);
		return def;
	}
	return *s;
}

/* A string element of the X12 header; required ones must be there. */
static const char *
x12_str(struct pp *pp, struct fy_node **v, struct fy_node *at, int i,
        const char *def, bool required)
{
	struct feed_profile *p = pp->p;
	struct buf k;
	const char *s = def;

	buf_init(&k, 0);
	buf_addf(&k, "x12.%s", x12_keys[i]);
	if (v[i] == NULL && required)
		perr(pp, at, buf_str(&k), "missing");
	else if (v[i] != NULL)
		s = get_str(pp, v[i], at, buf_str(&k));
	buf_free(&k);
	if (s == NULL)
		return NULL;
	p->x12_strings[i] = xstrdup(s);
	return p->x12_strings[i];
}

static void
x12_check_chars(struct pp *pp, struct fy_node **v, struct fy_node *at)
{
	struct fmt_x12 *x = &pp->p->fmt.x12;
	const char *seps[] = {&x->element_sep, &x->segment_term,
	                      &x->component_sep, &x->repetition_sep};
	size_t i, j;

	for (i = 0; i < XK_USAGE; i++) {
		const char *s = pp->p->x12_strings[i];

		for (j = 0; s != NULL && j < 4; j++)
			if (strchr(s, *seps[j]) != NULL) {
				struct buf k;

				buf_init(&k, 0);
				buf_addf(&k, "x12.%s", x12_keys[i]);
				perr(pp, v[i] != NULL ? v[i] : at, buf_str(&k),
				     "must not contain the separator '%c'",
				     *seps[j]);
				buf_free(&k);
				break;
			}
	}
}

static void
parse_x12(struct pp *pp, struct fy_node *n, struct fy_node *at)
{
	static const char *const usages[] = {"P", "T", NULL};
	struct fy_node *v[XK__N] = {NULL};
	struct feed_profile *p = pp->p;
	struct fmt_x12 *x = &p->fmt.x12;
	bool b;
	int i;

	if (n == NULL) {
		perr(pp, at, "x12",
		     "missing: format x12-834 needs the "
		     "envelope (sender_id, receiver_id, "
		     "sponsor and payer)");
		return;
	}
	if (!fy_node_is_mapping(n)) {
		perr(pp, n, "x12", "expected a mapping");
		return;
	}
	get_keys(pp, n, "x12", x12_keys, v, NULL);
	x->isa05_sender_qual = x12_str(pp, v, n, XK_SENDER_QUAL, "ZZ", false);
	x->isa06_sender_id = x12_str(pp, v, n, XK_SENDER_ID, NULL, true);
	x->isa07_receiver_qual =
	    x12_str(pp, v, n, XK_RECEIVER_QUAL, "ZZ", false);
	x->isa08_receiver_id = x12_str(pp, v, n, XK_RECEIVER_ID, NULL, true);
	x->gs02_sender_code =
	    x12_str(pp, v, n, XK_GS_SENDER, x->isa06_sender_id, false);
	x->gs03_receiver_code =
	    x12_str(pp, v, n, XK_GS_RECEIVER, x->isa08_receiver_id, false);
	x->sponsor_name = x12_str(pp, v, n, XK_SPONSOR_NAME, NULL, true);
	x->sponsor_id = x12_str(pp, v, n, XK_SPONSOR_ID, NULL, true);
	x->payer_name = x12_str(pp, v, n, XK_PAYER_NAME, NULL, true);
	x->payer_id = x12_str(pp, v, n, XK_PAYER_ID, NULL, true);
	x->policy_number = x12_str(pp, v, n, XK_POLICY, NULL, false);
	x->insurance_line = x12_str(pp, v, n, XK_LINE, "HLT", false);
	x->sponsor_id_qual = x12_str(pp, v, n, XK_SPONSOR_QUAL, "FI", false);
	x->payer_id_qual = x12_str(pp, v, n, XK_PAYER_QUAL, "FI", false);
	x->isa15_usage = 'P';
	if (v[XK_USAGE] != NULL &&
	    (i = get_enum(pp, v[XK_USAGE], n, "x12.usage", usages)) != -1)
		x->isa15_usage = usages[i][0];
	x->element_sep =
	    x12_sep(pp, v[XK_ELEMENT_SEP], n, "x12.element_separator", '*');
	x->segment_term =
	    x12_sep(pp, v[XK_SEGMENT_TERM], n, "x12.segment_terminator", '~');
	x->component_sep =
	    x12_sep(pp, v[XK_COMPONENT_SEP], n, "x12.component_separator", ':');
	x->repetition_sep = x12_sep(pp, v[XK_REPETITION_SEP], n,
	                            "x12.repetition_separator", '^');
	if (v[XK_NEWLINE] != NULL &&
	    get_bool(pp, v[XK_NEWLINE], n, "x12.newline", &b))
		x->newline_after_segment = b;
	if (v[XK_TA1] != NULL &&
	    get_bool(pp, v[XK_TA1], n, "x12.ta1_requested", &b))
		x->isa14_ta1 = b;
	x12_check_chars(pp, v, n);
	if (x->isa05_sender_qual != NULL && x->isa06_sender_id != NULL)
		p->x12_sender = xasprintf("%s:%s", x->isa05_sender_qual,
		                          x->isa06_sender_id);
}

enum { AK_FIRST_RUN, AK_MAX_TERMS, AK_MAX_CHANGES, AK_LAYOUT, AK__N };

static const char *const approval_keys[] = {
    "first_run", "max_terminations_percent", "max_changes", "layout_change",
    NULL};

static void
parse_approval(struct pp *pp, struct fy_node *n)
{
	struct fy_node *v[AK__N] = {NULL};
	struct feed_approval *a = &pp->p->approval;
	long x;

	a->first_run = true;
	a->layout_change = true;
	a->has_max_terms = true;
	a->max_terms_pct = 10;
	if (n == NULL)
		return;
	if (!fy_node_is_mapping(n)) {
		perr(pp, n, "approval", "expected a mapping");
		return;
	}
	get_keys(pp, n, "approval", approval_keys, v, NULL);
	if (v[AK_FIRST_RUN] != NULL)
		get_bool(pp, v[AK_FIRST_RUN], n, "approval.first_run",
		         &a->first_run);
	if (v[AK_LAYOUT] != NULL)
		get_bool(pp, v[AK_LAYOUT], n, "approval.layout_change",
		         &a->layout_change);
	if (v[AK_MAX_TERMS] != NULL && cfg_node_is_null(v[AK_MAX_TERMS]))
		a->has_max_terms = false;
	else if (v[AK_MAX_TERMS] != NULL)
		get_pct(pp, v[AK_MAX_TERMS], n,
		        "approval.max_terminations_percent", &a->max_terms_pct);
	if (v[AK_MAX_CHANGES] != NULL && !cfg_node_is_null(v[AK_MAX_CHANGES]) &&
	    get_long(pp, v[AK_MAX_CHANGES], n, "approval.max_changes", 0,
	             1000000000L, &x)) {
		a->has_max_changes = true;
		a->max_changes = x;
	}
}

static void
parse_file_name(struct pp *pp, struct fy_node *n, struct fy_node *at)
{
	static const char *const ext[] = {"csv", "txt", "txt", "txt", "edi"};
	struct feed_profile *p = pp->p;
	const char *s, *why;
	size_t i, len;

	if (n == NULL) {
		for (i = 0; formats[i] != NULL; i++)
			if (p->format != NULL &&
			    strcmp(formats[i], p->format) == 0)
				break;
		p->file_name = xasprintf("{tenant}-{feed}-{date:%%Y%%m%%d}-"
		                         "{seq}.%s",
		                         ext[formats[i] != NULL ? i : 0]);
		return;
	}
	if ((s = get_str(pp, n, at, "file_name")) == NULL)
		return;
	if ((why = feed_name_template_check(s)) != NULL)
		perr(pp, n, "file_name", "\"%s\": %s", s, why);
	else if ((len = feed_name_template_max(s, p->tenant, p->name)) >
	         FEED_FILE_NAME_MAX)
		perr(pp, n, "file_name",
		     "\"%s\": expands to up to %zu bytes (with a 10-digit "
		     "{seq}); a file name takes at most %d",
		     s, len, FEED_FILE_NAME_MAX);
	p->file_name = xstrdup(s);
}

/* The 834 writer's required columns, checked here rather than per run. */
static void
x12_columns(struct pp *pp, struct fy_node *n)
{
	const char *name, *elem;
	size_t i, k;

	for (k = 0; (name = fmt_x12_required(k, &elem)) != NULL; k++) {
		for (i = 0; i < pp->p->ncols; i++)
			if (strcmp(pp->p->cols[i].name, name) == 0)
				break;
		if (i == pp->p->ncols)
			perr(pp, n, "columns",
			     "format x12-834 needs a column named %s (%s)",
			     name, elem);
	}
}

/* The fmt_opts columns, pointing at the profile's strings. */
static void
profile_fmt_cols(struct feed_profile *p)
{
	size_t i;

	p->fcols = xcalloc(p->ncols ? p->ncols : 1, sizeof(*p->fcols));
	for (i = 0; i < p->ncols; i++) {
		p->fcols[i].name = p->cols[i].name;
		p->fcols[i].header = p->cols[i].header;
		p->fcols[i].width = p->cols[i].width;
		p->fcols[i].align_right = p->cols[i].align_right;
		p->fcols[i].pad = p->cols[i].pad;
	}
	p->fmt.cols = p->fcols;
	p->fmt.ncols = p->ncols;
}

/* Paths the plan itself reads from each document it looks at. */
static void
profile_plan_paths(struct feed_profile *p)
{
	const char *un[] = {"userName"};
	const char *st[] = {SCIM_URN_ELIGIBILITY, "employmentStatus"};
	const char *td[] = {SCIM_URN_ELIGIBILITY, "terminationDate"};

	p->slot_username = jpath_add(p->paths, un, 1);
	p->slot_status = jpath_add(p->paths, st, 2);
	p->slot_termdate = jpath_add(p->paths, td, 2);
}

static void
profile_body(struct pp *pp, struct fy_node *map, struct fy_node *at)
{
	struct fy_node *v[PK__N] = {NULL};
	struct feed_profile *p = pp->p;
	const char *s;
	int f;

	get_keys(pp, map, "", profile_keys, v, NULL);
	if (v[PK_TENANT] == NULL)
		perr(pp, at, "tenant",
		     "missing: the tenant whose people the "
		     "feed sends");
	else if ((s = get_str(pp, v[PK_TENANT], at, "tenant")) != NULL) {
		if (!name_ok(s, "._-", 64))
			perr(pp, v[PK_TENANT], "tenant",
			     "\"%s\" is not a tenant name", s);
		p->tenant = xstrdup(s);
	}
	if (v[PK_VENDOR] != NULL)
		p->vendor = dup_str(pp, v[PK_VENDOR], at, "vendor");
	parse_rule(pp, v, at);
	parse_key(pp, v, at);
	parse_mode(pp, v, at);
	if (v[PK_FORMAT] == NULL)
		perr(pp, at, "format",
		     "missing: csv, pipe, tab, fixed or "
		     "x12-834");
	else if ((f = get_enum(pp, v[PK_FORMAT], at, "format", formats)) !=
	         -1) {
		p->format = xstrdup(formats[f]);
		parse_csv_opts(pp, v, at, f);
		if (f == 4)
			parse_x12(pp, v[PK_X12], at);
		else if (v[PK_X12] != NULL)
			perr(pp, v[PK_X12], "x12",
			     "only applies to format x12-834");
	}
	if (p->format == NULL)
		p->format = xstrdup("csv");
	cols_parse(pp, v[PK_COLUMNS], at);
	if (strcmp(p->format, "x12-834") == 0 && v[PK_COLUMNS] != NULL)
		x12_columns(pp, v[PK_COLUMNS]);
	parse_file_name(pp, v[PK_FILE_NAME], at);
	parse_approval(pp, v[PK_APPROVAL]);
}

static void
profile_free(struct feed_profile *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->ncols; i++) {
		struct feed_column *c = &p->cols[i];

		free(c->name);
		free(c->header);
		free(c->source);
		free(c->konst);
		scim_filter_free(c->vfilter);
		jpath_set_free(c->elem);
		free(c->date_format);
		for (j = 0; j < c->nmap; j++) {
			free(c->map[j].from);
			free(c->map[j].to);
		}
		free(c->map);
		free(c->def);
	}
	free(p->cols);
	free(p->fcols);
	for (i = 0; i < XK_USAGE; i++)
		free(p->x12_strings[i]);
	free(p->name);
	free(p->tenant);
	free(p->vendor);
	free(p->eligibility);
	free(p->rule_text);
	scim_filter_free(p->filter);
	free(p->key_source);
	free(p->format);
	free(p->file_name);
	free(p->x12_sender);
	free(p->layout);
	jpath_set_free(p->paths);
	free(p);
}

static struct feed_profile *
profile_parse(struct cfg *c, struct fy_node *key, struct fy_node *val,
              const char *name)
{
	struct feed_profile *p = xcalloc(1, sizeof(*p));
	struct buf prefix;
	struct pp pp;

	buf_init(&prefix, 0);
	buf_addf(&prefix, "feeds.%s", name);
	pp.c = c;
	pp.p = p;
	pp.prefix = buf_str(&prefix);
	pp.errors = 0;
	p->name = xstrdup(name);
	p->paths = jpath_set_new();
	if (!name_ok(name, "._-", FEED_NAME_MAX))
		perr(&pp, key, "",
		     "a feed name is 1 to %d letters, digits, '.', '_' or "
		     "'-', starting with a letter or digit",
		     FEED_NAME_MAX);
	if (!fy_node_is_mapping(val))
		perr(&pp, val != NULL ? val : key, "",
		     "expected a mapping (tenant, eligibility, format, "
		     "columns, ...)");
	else
		profile_body(&pp, val, key);
	buf_free(&prefix);
	if (pp.errors > 0) {
		profile_free(p);
		return NULL;
	}
	profile_fmt_cols(p);
	profile_plan_paths(p);
	profile_hashes(p);
	return p;
}

struct feed_profiles *
feed_profiles_load(struct cfg *c)
{
	struct feed_profiles *ps = xcalloc(1, sizeof(*ps));
	struct fy_node *feeds = cfg_section(c, "feeds");
	struct fy_node_pair *pair;
	struct feed_profile *p;
	void *iter = NULL;
	const char *name;
	size_t n;

	if (feeds == NULL || cfg_node_is_null(feeds))
		return ps;
	if (!fy_node_is_mapping(feeds)) {
		cfg_error(c, feeds, "feeds",
		          "expected a mapping of feed names "
		          "to profiles");
		return ps;
	}
	if (sodium_init() == -1) {
		cfg_error(c, feeds, "feeds", "libsodium failed to start");
		return ps;
	}
	n = (size_t)fy_node_mapping_item_count(feeds);
	ps->v = xcalloc(n ? n : 1, sizeof(*ps->v));
	while ((pair = fy_node_mapping_iterate(feeds, &iter)) != NULL) {
		name = fy_node_get_scalar0(fy_node_pair_key(pair));
		if (name == NULL) {
			cfg_error(c, fy_node_pair_key(pair), "feeds",
			          "a feed name must be a string");
			continue;
		}
		p = profile_parse(c, fy_node_pair_key(pair),
		                  fy_node_pair_value(pair), name);
		if (p != NULL)
			ps->v[ps->n++] = p;
	}
	return ps;
}

void
feed_profiles_free(struct feed_profiles *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		profile_free(ps->v[i]);
	free(ps->v);
	free(ps);
}

const struct feed_profile *
feed_profiles_find(const struct feed_profiles *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i]->name, name) == 0)
			return ps->v[i];
	return NULL;
}
