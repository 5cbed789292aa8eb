/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* Cron expressions, next-fire computation and a TZif (RFC 8536) reader. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/cron.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define CRON_TEXT_MAX 1024
/* Instants we compute with: 0001-01-01 .. 9999-12-31T23:59:59 UTC. */
#define CRON_T_MIN (-62135596800LL)
#define CRON_T_MAX 253402300799LL
/* RFC 8536 §3.2 bounds UT offsets to -25h..+26h exclusive; be generous. */
#define TZ_OFF_MAX (26 * 3600)
#define TZ_ABBR_MAX 16
#define TZ_FILE_MAX (1024 * 1024)
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/*--- civil calendar (proleptic Gregorian, after Howard Hinnant) ---*/

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30,
	                           31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return (int)((days % 7 + 11) % 7);
}

/*--- expressions ---*/

struct cron_expr {
	uint64_t minute; /* bit n set: minute n matches */
	uint32_t hour;
	uint32_t dom;   /* bits 1..31 */
	uint16_t month; /* bits 1..12 */
	uint8_t dow;    /* bits 0..6, 0 = Sunday */
	/* The field began with '*': Vixie cron's DOM_STAR / DOW_STAR. */
	bool dom_star;
	bool dow_star;
	char *text;
};

struct cron_field {
	const char *name;
	int lo, hi;  /* values accepted */
	int star_hi; /* what '*' runs up to (day-of-week: 6, not 7) */
	const char *const *names; /* three-letter names, or NULL */
	int nnames;
	int names_base; /* the value of names[0] */
	const char *names_what;
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
                                          "MAY", "JUN", "JUL", "AUG",
                                          "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT"};

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

static const struct cron_field cron_fields[F_COUNT] = {
    {"minute", 0, 59, 59, NULL, 0, 0, NULL},
    {"hour", 0, 23, 23, NULL, 0, 0, NULL},
    {"day-of-month", 1, 31, 31, NULL, 0, 0, NULL},
    {"month", 1, 12, 12, month_names, 12, 1, "month name (JAN-DEC)"},
    {"day-of-week", 0, 7, 6, dow_names, 7, 0, "weekday name (SUN-SAT)"},
};

static const struct {
	const char *name;
	const char *expansion;
} cron_macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

struct cron_parser {
	const char *text;
	int field; /* index into cron_fields, or -1 */
	char **cause;
};

/* Hand out a message with control characters masked: it quotes input. */
static char *
detach_masked(struct buf *b)
{
	char *msg = buf_detach(b), *p;

	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return msg;
}

static void __attribute__((format(printf, 2, 3)))
parse_fail(struct cron_parser *p, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	if (p->cause == NULL || *p->cause != NULL)
		return;
	buf_init(&b, 0);
	buf_addf(&b, "cron \"%s\": ", p->text);
	if (p->field >= 0)
		buf_addf(&b, "field %d (%s): ", p->field + 1,
		         cron_fields[p->field].name);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	*p->cause = detach_masked(&b);
}

static bool
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* Decimal value of s[0..n), saturating far above any field's range. */
static int
digits_value(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > 1000000)
			return 1000000;
	}
	return v;
}

static int
parse_atom(struct cron_parser *p, const char *s, size_t n, int *out)
{
	const struct cron_field *f = &cron_fields[p->field];
	int v, i;

	if (all_digits(s, n)) {
		v = digits_value(s, n);
		if (v < f->lo || v > f->hi) {
			parse_fail(p, "%.*s is out of range %d-%d", (int)n, s,
			           f->lo, f->hi);
			return -1;
		}
		*out = v;
		return 0;
	}
	if (f->names != NULL && n == 3) {
		for (i = 0; i < f->nnames; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->names_base + i;
				return 0;
			}
		}
	}
	if (f->names != NULL)
		parse_fail(p, "\"%.*s\" is not a number or %s", (int)n, s,
		           f->names_what);
	else
		parse_fail(p, "\"%.*s\" is not a number", (int)n, s);
	return -1;
}

static int
parse_step(struct cron_parser *p, const char *item, size_t itemn, const char *s,
           size_t n, int *step)
{
	const struct cron_field *f = &cron_fields[p->field];
	int span = f->hi - f->lo + 1;

	if (n == 0) {
		parse_fail(p, "\"%.*s\" is missing a step after \"/\"",
		           (int)itemn, item);
		return -1;
	}
	if (!all_digits(s, n)) {
		parse_fail(p, "step \"%.*s\" is not a number", (int)n, s);
		return -1;
	}
	*step = digits_value(s, n);
	if (*step < 1 || *step > span) {
		parse_fail(p, "step %.*s is out of range 1-%d", (int)n, s,
		           span);
		return -1;
	}
	return 0;
}

/* The first and last value of a list item's base: "*", "a" or "a-b". */
static int
parse_base(struct cron_parser *p, const char *s, size_t n, bool stepped, int *a,
           int *b)
{
	const struct cron_field *f = &cron_fields[p->field];
	const char *dash;

	if (n == 1 && s[0] == '*') {
		*a = f->lo;
		*b = f->star_hi;
		return 0;
	}
	dash = memchr(s, '-', n);
	if (dash == NULL) {
		if (parse_atom(p, s, n, a) == -1)
			return -1;
		/* "a/n" means a through the end of the range, as cronie. */
		*b = stepped ? (*a > f->star_hi ? *a : f->star_hi) : *a;
		return 0;
	}
	if (dash == s || dash == s + n - 1) {
		parse_fail(p, "range \"%.*s\" is missing a value", (int)n, s);
		return -1;
	}
	if (parse_atom(p, s, (size_t)(dash - s), a) == -1 ||
	    parse_atom(p, dash + 1, (size_t)(s + n - dash - 1), b) == -1)
		return -1;
	/* FRI-SUN: Sunday closes a weekday range as 7. */
	if (p->field == F_DOW && *b == 0 && *a > 0)
		*b = 7;
	if (*a > *b) {
		parse_fail(p, "range \"%.*s\" is backwards", (int)n, s);
		return -1;
	}
	return 0;
}

static int
parse_item(struct cron_parser *p, const char *s, size_t n, uint64_t *bits)
{
	const char *slash = memchr(s, '/', n);
	size_t basen = slash != NULL ? (size_t)(slash - s) : n;
	int a, b, v, step = 1;

	if (n == 0) {
		parse_fail(p, "empty list item");
		return -1;
	}
	if (basen == 0) {
		parse_fail(p, "\"%.*s\" has no value before \"/\"", (int)n, s);
		return -1;
	}
	if (slash != NULL &&
	    parse_step(p, s, n, slash + 1, (size_t)(s + n - slash - 1),
	               &step) == -1)
		return -1;
	if (parse_base(p, s, basen, slash != NULL, &a, &b) == -1)
		return -1;
	for (v = a; v <= b; v += step)
		*bits |= (uint64_t)1 << (p->field == F_DOW ? v % 7 : v);
	return 0;
}

static int
parse_field(struct cron_parser *p, const char *s, size_t n, uint64_t *bits)
{
	const char *end = s + n, *comma;

	*bits = 0;
	for (;;) {
		comma = memchr(s, ',', (size_t)(end - s));
		if (parse_item(p, s, (size_t)((comma ? comma : end) - s),
		               bits) == -1)
			return -1;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

/* With day-of-month restricted and day-of-week not, some day must exist. */
static int
check_satisfiable(struct cron_parser *p, const struct cron_expr *e)
{
	int m, d;

	if (e->dom_star || !e->dow_star)
		return 0;
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= (m == 2 ? 29 : month_days(2001, m)); d++)
			if ((e->month >> m & 1) && (e->dom >> d & 1))
				return 0;
	p->field = F_DOM;
	parse_fail(p, "no selected day exists in the selected months");
	return -1;
}

static int
parse_fields(struct cron_parser *p, const char *text, struct cron_expr *e)
{
	const char *s = text, *start[F_COUNT];
	size_t len[F_COUNT];
	uint64_t bits[F_COUNT];
	int n = 0, i;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n < F_COUNT)
			start[n] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (n < F_COUNT)
			len[n] = (size_t)(s - start[n]);
		n++;
	}
	if (n != F_COUNT) {
		parse_fail(p,
		           "expected 5 fields (minute hour day-of-month month "
		           "day-of-week), found %d",
		           n);
		return -1;
	}
	for (i = 0; i < F_COUNT; i++) {
		p->field = i;
		if (parse_field(p, start[i], len[i], &bits[i]) == -1)
			return -1;
	}
	e->minute = bits[F_MIN];
	e->hour = (uint32_t)bits[F_HOUR];
	e->dom = (uint32_t)bits[F_DOM];
	e->month = (uint16_t)bits[F_MON];
	e->dow = (uint8_t)bits[F_DOW];
	e->dom_star = start[F_DOM][0] == '*';
	e->dow_star = start[F_DOW][0] == '*';
	p->field = -1;
	return check_satisfiable(p, e);
}

static const char *
expand_macro(struct cron_parser *p, const char *text)
{
	const char *s = text + strspn(text, " \t");
	size_t n = strcspn(s, " \t"), i;

	if (*s != '@')
		return text;
	if (s[n + strspn(s + n, " \t")] == '\0') {
		for (i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]);
		     i++)
			if (strlen(cron_macros[i].name) == n &&
			    strncasecmp(s, cron_macros[i].name, n) == 0)
				return cron_macros[i].expansion;
	}
	parse_fail(p, "unknown macro (use @yearly, @monthly, @weekly, @daily "
	              "or @hourly)");
	return NULL;
}

struct cron_expr *
cron_parse(const char *text, char **cause)
{
	struct cron_parser p = {text != NULL ? text : "", -1, cause};
	struct cron_expr *e;
	const char *fields;

	if (cause != NULL)
		*cause = NULL;
	if (text == NULL) {
		parse_fail(&p, "no expression");
		return NULL;
	}
	if (strlen(text) > CRON_TEXT_MAX) {
		if (cause != NULL)
			*cause = xasprintf("cron expression longer than %d "
			                   "characters",
			                   CRON_TEXT_MAX);
		return NULL;
	}
	if ((fields = expand_macro(&p, text)) == NULL)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	if (parse_fields(&p, fields, e) == -1) {
		free(e);
		return NULL;
	}
	e->text = xstrdup(text);
	return e;
}

void
cron_free(struct cron_expr *e)
{
	if (e == NULL)
		return;
	free(e->text);
	free(e);
}

const char *
cron_text(const struct cron_expr *e)
{
	return e->text;
}

/*--- matching local wall-clock minutes ---*/

/* The lowest set bit of bits at or above `from` and at most `hi`, or -1. */
static int
next_bit(uint64_t bits, int from, int hi)
{
	int i;

	for (i = from; i <= hi; i++)
		if (bits >> i & 1)
			return i;
	return -1;
}

static bool
day_matches(const struct cron_expr *e, int d, int64_t days)
{
	bool dom = e->dom >> d & 1, dow = e->dow >> weekday(days) & 1;

	/* Vixie cron: when either field is '*', both must match. */
	if (e->dom_star || e->dow_star)
		return dom && dow;
	return dom || dow;
}

/*
 * The first matching local minute at or after `from`, in local seconds
 * (wall-clock time counted as if it were UTC). -1 past year 9999.
 */
static int
next_local(const struct cron_expr *e, int64_t from, int64_t *out)
{
	int64_t t = floor_div(from + 59, 60) * 60, days, y;
	int m, d, h, mi, v;

	days = floor_div(t, 86400);
	h = (int)(t - days * 86400) / 3600;
	mi = (int)(t - days * 86400) % 3600 / 60;
	civil_from_days(days, &y, &m, &d);
	while (y <= 9999) {
		if (!(e->month >> m & 1) || d > month_days(y, m)) {
			if ((v = next_bit(e->month, m + 1, 12)) == -1) {
				y++;
				v = next_bit(e->month, 1, 12);
			}
			m = v;
			d = 1;
			h = mi = 0;
			continue;
		}
		days = days_from_civil(y, m, d);
		if (!day_matches(e, d, days) ||
		    (v = next_bit(e->hour, h, 23)) == -1) {
			d++;
			h = mi = 0;
			continue;
		}
		if (v != h) {
			h = v;
			mi = 0;
		}
		if ((v = next_bit(e->minute, mi, 59)) == -1) {
			h++;
			mi = 0;
			continue; /* h == 24 finds no hour and moves on a day */
		}
		*out = days * 86400 + h * 3600 + v * 60;
		return 0;
	}
	return -1;
}

/*--- time zones ---*/

struct tz_type {
	int32_t off; /* seconds east of UTC */
	bool isdst;
	char abbr[TZ_ABBR_MAX];
};

/* A POSIX TZ rule date: Jn, n or Mm.w.d, and a local time of day. */
struct tz_when {
	char kind; /* 'J', 'N' or 'M' */
	int a, b, c;
	int32_t time;
};

/* The TZif footer: governs instants after the last transition. */
struct tz_rule {
	bool present;
	bool has_dst;
	bool always_dst;
	struct tz_type std, dst;
	struct tz_when start, end;
};

struct cron_tz {
	char *name;
	int64_t *trans; /* ascending transition instants */
	uint8_t *idx;   /* type index in force from trans[i] */
	size_t ntrans;
	struct tz_type *types;
	size_t ntypes;
	struct tz_rule rule;
};

static void __attribute__((format(printf, 3, 4)))
tz_fail(char **cause, const char *name, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	if (cause == NULL)
		return;
	buf_init(&b, 0);
	buf_addf(&b, "time zone \"%s\": ", name);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	*cause = detach_masked(&b);
}

/* The UTC instant a rule date falls on in year y, read in offset `off`. */
static int64_t
rule_when_utc(const struct tz_when *w, int64_t y, int32_t off)
{
	int64_t days = days_from_civil(y, 1, 1);
	int d;

	switch (w->kind) {
	case 'J': /* 1..365, February 29 never counted */
		days += w->a - 1 + (is_leap(y) && w->a >= 60);
		break;
	case 'N': /* 0..365, February 29 counted */
		days += w->a;
		break;
	default: /* Mm.w.d: weekday d of week w (5 = last) of month m */
		days = days_from_civil(y, w->a, 1);
		d = (w->c - weekday(days) + 7) % 7 + 1 + (w->b - 1) * 7;
		while (d > month_days(y, w->a))
			d -= 7;
		days += d - 1;
		break;
	}
	return days * 86400 + w->time - off;
}

static int64_t
rule_start(const struct tz_rule *r, int64_t y)
{
	/* DST starts at a time given in standard time, ends in DST. */
	return rule_when_utc(&r->start, y, r->std.off);
}

static int64_t
rule_end(const struct tz_rule *r, int64_t y)
{
	return rule_when_utc(&r->end, y, r->dst.off);
}

static int64_t
rule_year(const struct tz_rule *r, int64_t t)
{
	int64_t y;
	int m, d;

	civil_from_days(floor_div(t + r->std.off, 86400), &y, &m, &d);
	return y;
}

static const struct tz_type *
rule_type_at(const struct tz_rule *r, int64_t t)
{
	const struct tz_type *best = &r->std;
	int64_t y, yy, s, e, best_t = INT64_MIN;

	if (!r->has_dst)
		return &r->std;
	if (r->always_dst)
		return &r->dst;
	y = rule_year(r, t);
	for (yy = y - 1; yy <= y + 1; yy++) {
		s = rule_start(r, yy);
		e = rule_end(r, yy);
		if (s <= t && s > best_t) {
			best_t = s;
			best = &r->dst;
		}
		if (e <= t && e > best_t) {
			best_t = e;
			best = &r->std;
		}
	}
	return best;
}

static int64_t
rule_next(const struct tz_rule *r, int64_t t)
{
	int64_t y, yy, s, e, best = INT64_MAX;

	if (!r->has_dst || r->always_dst)
		return INT64_MAX;
	y = rule_year(r, t);
	for (yy = y - 1; yy <= y + 2; yy++) {
		s = rule_start(r, yy);
		e = rule_end(r, yy);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	return best;
}

/* The index of the last transition at or before t; t >= trans[0]. */
static size_t
trans_floor(const struct cron_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntrans, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static const struct tz_type *
tz_type_at(const struct cron_tz *tz, int64_t t)
{
	if (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]) {
		if (tz->rule.present)
			return rule_type_at(&tz->rule, t);
		if (tz->ntrans == 0)
			return &tz->types[0];
		return &tz->types[tz->idx[tz->ntrans - 1]];
	}
	/* RFC 8536 §3.2: type 0 applies before the first transition. */
	if (t < tz->trans[0])
		return &tz->types[0];
	return &tz->types[tz->idx[trans_floor(tz, t)]];
}

/* The first instant after t at which the offset may change. */
static int64_t
tz_next_transition(const struct cron_tz *tz, int64_t t)
{
	if (tz->ntrans > 0 && t < tz->trans[tz->ntrans - 1]) {
		if (t < tz->trans[0])
			return tz->trans[0];
		return tz->trans[trans_floor(tz, t) + 1];
	}
	if (tz->rule.present)
		return rule_next(&tz->rule, t);
	return INT64_MAX;
}

/*
 * The instant a local wall-clock time L (local seconds) resolves to: the
 * smallest t with t + offset(t) >= L. That is the first occurrence of L
 * when the clocks went back, and the end of the gap when L was skipped.
 */
static int64_t
tz_resolve(const struct cron_tz *tz, int64_t L)
{
	int64_t t = L - TZ_OFF_MAX, end, c;
	int32_t off;
	int i;

	for (i = 0; i < 64; i++) {
		off = tz_type_at(tz, t)->off;
		if (t + off >= L)
			return t;
		c = L - off;
		end = tz_next_transition(tz, t);
		if (c < end)
			return c;
		t = end;
	}
	return L - tz_type_at(tz, L)->off; /* XXX unreachable in sane data */
}

int
cron_next(const struct cron_expr *e, const struct cron_tz *tz, time_t after,
          time_t *next)
{
	int64_t from, cand, fire;
	int i;

	if ((int64_t)after < CRON_T_MIN || (int64_t)after >= CRON_T_MAX)
		return -1;
	/*
	 * A local minute L resolves to an instant after `after` exactly when
	 * L is later than every local time shown up to `after`, so no earlier
	 * L than local(after) + 1 can. Resolution is monotonic in L: the
	 * first matching L that resolves past `after` gives the answer. Only
	 * inside a repeated hour does the loop skip a few candidates.
	 */
	from = (int64_t)after + tz_type_at(tz, after)->off + 1;
	for (i = 0; i < 100000; i++) {
		if (next_local(e, from, &cand) == -1)
			return -1;
		fire = tz_resolve(tz, cand);
		if (fire > (int64_t)after) {
			if (fire > CRON_T_MAX)
				return -1;
			*next = (time_t)fire;
			return 0;
		}
		from = cand + 60;
	}
	return -1;
}

int
cron_missed(const struct cron_expr *e, const struct cron_tz *tz,
            time_t last_run, time_t now)
{
	time_t next;

	if (now <= last_run || cron_next(e, tz, last_run, &next) == -1)
		return 0;
	return next <= now;
}

/*--- time zone construction ---*/

static struct cron_tz *
tz_alloc(const char *name, size_t ntrans, size_t ntypes)
{
	struct cron_tz *tz = xcalloc(1, sizeof(*tz));

	tz->name = xstrdup(name != NULL ? name : "");
	tz->ntrans = ntrans;
	tz->ntypes = ntypes;
	tz->trans = xcalloc(ntrans ? ntrans : 1, sizeof(*tz->trans));
	tz->idx = xcalloc(ntrans ? ntrans : 1, sizeof(*tz->idx));
	tz->types = xcalloc(ntypes, sizeof(*tz->types));
	return tz;
}

void
cron_tz_free(struct cron_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->idx);
	free(tz->types);
	free(tz);
}

static struct cron_tz *
tz_utc_named(const char *name)
{
	struct cron_tz *tz = tz_alloc(name, 0, 1);

	memcpy(tz->types[0].abbr, "UTC", 4);
	return tz;
}

struct cron_tz *
cron_tz_utc(void)
{
	return tz_utc_named("UTC");
}

struct cron_tz *
cron_tz_dup(const struct cron_tz *src)
{
	struct cron_tz *tz = tz_alloc(src->name, src->ntrans, src->ntypes);

	if (src->ntrans > 0) {
		memcpy(tz->trans, src->trans, src->ntrans * sizeof(*tz->trans));
		memcpy(tz->idx, src->idx, src->ntrans * sizeof(*tz->idx));
	}
	memcpy(tz->types, src->types, src->ntypes * sizeof(*tz->types));
	tz->rule = src->rule;
	return tz;
}

const char *
cron_tz_name(const struct cron_tz *tz)
{
	return tz->name;
}

/*--- POSIX TZ strings (the TZif footer) ---*/

static const char *
posix_name(const char *s, char *out)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s != '>'; s++) {
			if (!isalnum((unsigned char)*s) && *s != '+' &&
			    *s != '-')
				return NULL;
			if (n + 1 < TZ_ABBR_MAX)
				out[n++] = *s;
		}
		s++;
	} else {
		for (; isalpha((unsigned char)*s); s++)
			if (n + 1 < TZ_ABBR_MAX)
				out[n++] = *s;
	}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

static const char *
posix_num(const char *s, int max, int *v)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (*v = 0; isdigit((unsigned char)*s); s++) {
		*v = *v * 10 + (*s - '0');
		if (*v > max)
			return NULL;
	}
	return s;
}

/* [+-]hh[:mm[:ss]], hours up to maxh. */
static const char *
posix_hms(const char *s, int maxh, int32_t *secs)
{
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if ((s = posix_num(s, maxh, &h)) == NULL)
		return NULL;
	if (*s == ':' && (s = posix_num(s + 1, 59, &m)) != NULL && *s == ':')
		s = posix_num(s + 1, 59, &sec);
	if (s == NULL)
		return NULL;
	*secs = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *
posix_when(const char *s, struct tz_when *w)
{
	w->time = 7200;
	if (*s == 'J') {
		w->kind = 'J';
		if ((s = posix_num(s + 1, 365, &w->a)) == NULL || w->a < 1)
			return NULL;
	} else if (*s == 'M') {
		w->kind = 'M';
		if ((s = posix_num(s + 1, 12, &w->a)) == NULL || w->a < 1 ||
		    *s != '.' || (s = posix_num(s + 1, 5, &w->b)) == NULL ||
		    w->b < 1 || *s != '.' ||
		    (s = posix_num(s + 1, 6, &w->c)) == NULL)
			return NULL;
	} else {
		w->kind = 'N';
		if ((s = posix_num(s, 365, &w->a)) == NULL)
			return NULL;
	}
	if (*s == '/')
		s = posix_hms(s + 1, 167, &w->time);
	return s;
}

static int
posix_parse(const char *s, struct tz_rule *r)
{
	int32_t v;

	memset(r, 0, sizeof(*r));
	if (*s == '\0')
		return 0;
	if ((s = posix_name(s, r->std.abbr)) == NULL ||
	    (s = posix_hms(s, 24, &v)) == NULL)
		return -1;
	r->present = true;
	r->std.off = -v; /* POSIX counts west positive */
	if (*s == '\0')
		return 0;
	r->has_dst = true;
	r->dst.isdst = true;
	if ((s = posix_name(s, r->dst.abbr)) == NULL)
		return -1;
	r->dst.off = r->std.off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = posix_hms(s, 24, &v)) == NULL)
			return -1;
		r->dst.off = -v;
	}
	if (*s == '\0') /* POSIX leaves it open; glibc uses the US rule */
		s = ",M3.2.0,M11.1.0";
	if (*s != ',' || (s = posix_when(s + 1, &r->start)) == NULL ||
	    *s != ',' || (s = posix_when(s + 1, &r->end)) == NULL || *s != '\0')
		return -1;
	/* RFC 8536 §3.3.1: DST all year when it ends as the next begins. */
	r->always_dst = rule_end(r, 2003) >= rule_start(r, 2004) &&
	                rule_end(r, 2004) >= rule_start(r, 2005);
	return 0;
}

/*--- TZif ---*/

struct tzif_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

static size_t
tzif_block_len(const struct tzif_hdr *h, size_t tsize)
{
	return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 +
	       h->charcnt + (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
	       h->isutcnt;
}

static int
tzif_types(struct cron_tz *tz, const unsigned char *p, const struct tzif_hdr *h,
           const char **err)
{
	const unsigned char *chars = p + h->typecnt * 6;
	uint32_t i, ai;
	int32_t off;
	size_t n;

	for (i = 0; i < h->typecnt; i++, p += 6) {
		off = (int32_t)be32(p);
		ai = p[5];
		if (off <= -TZ_OFF_MAX || off >= TZ_OFF_MAX || p[4] > 1 ||
		    (h->charcnt > 0 && ai >= h->charcnt)) {
			*err = "corrupt TZif data (bad time type)";
			return -1;
		}
		tz->types[i].off = off;
		tz->types[i].isdst = p[4];
		n = 0;
		while (ai + n < h->charcnt && chars[ai + n] != '\0' &&
		       n + 1 < TZ_ABBR_MAX)
			n++;
		memcpy(tz->types[i].abbr, chars + ai, n);
	}
	return 0;
}

static int
tzif_data(struct cron_tz *tz, const unsigned char *p, const struct tzif_hdr *h,
          size_t tsize, const char **err)
{
	const unsigned char *ip = p + h->timecnt * tsize;
	uint32_t i;

	for (i = 0; i < h->timecnt; i++) {
		tz->trans[i] =
		    tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
		tz->idx[i] = ip[i];
		if (ip[i] >= h->typecnt ||
		    (i > 0 && tz->trans[i] <= tz->trans[i - 1])) {
			*err = "corrupt TZif data (bad transition)";
			return -1;
		}
	}
	return tzif_types(tz, ip + h->timecnt, h, err);
}

static int
tzif_check_counts(const struct tzif_hdr *h, const char **err)
{
	if (h->leapcnt != 0) {
		*err = "leap-second zone files are not supported";
		return -1;
	}
	if (h->typecnt == 0 || h->typecnt > 256 ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    h->timecnt > TZ_FILE_MAX || h->charcnt > TZ_FILE_MAX) {
		*err = "corrupt TZif data (bad counts)";
		return -1;
	}
	return 0;
}

/* Locate the data block and the footer to use; v2+ files use the second. */
static int
tzif_locate(const unsigned char *p, size_t len, struct tzif_hdr *h,
            size_t *data, size_t *tsize, char **footer, const char **err)
{
	size_t off, end;
	const unsigned char *nl;

	*footer = NULL;
	if (tzif_header(p, len, h) == -1) {
		*err = "not a TZif file";
		return -1;
	}
	*err = "truncated TZif data";
	*data = 44;
	*tsize = 4;
	if (h->version == '\0') {
		if (tzif_check_counts(h, err) == -1)
			return -1;
		return tzif_block_len(h, 4) <= len - 44 ? 0 : -1;
	}
	/* Version 2+: skip the 32-bit block, whatever it holds. */
	off = 44 + tzif_block_len(h, 4);
	if (off > len || tzif_header(p + off, len - off, h) == -1)
		return -1;
	if (tzif_check_counts(h, err) == -1)
		return -1;
	*err = "truncated TZif data";
	*data = off + 44;
	*tsize = 8;
	end = *data + tzif_block_len(h, 8);
	if (end >= len || p[end] != '\n' ||
	    (nl = memchr(p + end + 1, '\n', len - end - 1)) == NULL)
		return -1;
	*footer =
	    xstrndup((const char *)p + end + 1, (size_t)(nl - (p + end + 1)));
	return 0;
}

struct cron_tz *
cron_tz_from_tzif(const char *name, const void *data, size_t len, char **cause)
{
	const unsigned char *p = data;
	struct tzif_hdr h;
	struct cron_tz *tz;
	size_t off, tsize;
	char *footer;
	const char *err;

	if (cause != NULL)
		*cause = NULL;
	if (name == NULL)
		name = "";
	if (tzif_locate(p, len, &h, &off, &tsize, &footer, &err) == -1) {
		tz_fail(cause, name, "%s", err);
		return NULL;
	}
	tz = tz_alloc(name, h.timecnt, h.typecnt);
	if (tzif_data(tz, p + off, &h, tsize, &err) == -1) {
		tz_fail(cause, name, "%s", err);
		goto fail;
	}
	if (footer != NULL && posix_parse(footer, &tz->rule) == -1) {
		tz_fail(cause, name, "bad TZ rule \"%s\" in the TZif footer",
		        footer);
		goto fail;
	}
	free(footer);
	return tz;
fail:
	free(footer);
	cron_tz_free(tz);
	return NULL;
}

static bool
tz_name_ok(const char *name)
{
	const char *p, *comp = name;
	size_t n = strlen(name);

	if (n == 0 || n > 255 || name[0] == '/')
		return false;
	for (p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			n = (size_t)(p - comp);
			if (n == 0 || (comp[0] == '.' &&
			               (n == 1 || (n == 2 && comp[1] == '.'))))
				return false;
			if (*p == '\0')
				return true;
			comp = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '_' &&
		           *p != '+' && *p != '-' && *p != '.') {
			return false;
		}
	}
}

static bool
tz_is_utc_name(const char *name)
{
	static const char *const utc[] = {"UTC",  "Etc/UTC",  "GMT", "Etc/GMT",
	                                  "Zulu", "Etc/Zulu", "UCT"};
	size_t i;

	for (i = 0; i < sizeof(utc) / sizeof(utc[0]); i++)
		if (strcmp(name, utc[i]) == 0)
			return true;
	return false;
}

/* Read at most TZ_FILE_MAX bytes of a regular file; -1 with errno set. */
static int
read_small_file(const char *path, unsigned char **data, size_t *len)
{
	struct stat st;
	ssize_t r;
	size_t n = 0;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
		goto fail;
	}
	*data = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		r = read(fd, *data + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			xfree(*data);
			errno = r == 0 ? EIO : errno;
			goto fail;
		}
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

struct cron_tz *
cron_tz_load(const char *name, char **cause)
{
	const char *dir = getenv("TZDIR");
	struct cron_tz *tz;
	unsigned char *data;
	char *path, ebuf[128];
	size_t len;
	int err;

	if (cause != NULL)
		*cause = NULL;
	if (name == NULL || !tz_name_ok(name)) {
		tz_fail(cause, name != NULL ? name : "",
		        "not a valid zone name");
		return NULL;
	}
	if (dir == NULL || *dir == '\0')
		dir = TZ_DEFAULT_DIR;
	path = xasprintf("%s/%s", dir, name);
	tz = NULL;
	if (read_small_file(path, &data, &len) == 0) {
		tz = cron_tz_from_tzif(name, data, len, cause);
		free(data);
	} else if ((err = errno) == ENOENT && tz_is_utc_name(name)) {
		tz = tz_utc_named(name); /* tzdata not installed */
	} else if (err == ENOENT || err == ENOTDIR) {
		tz_fail(cause, name, "unknown zone (no %s)", path);
	} else if (err == EISDIR) {
		tz_fail(cause, name, "%s is a directory", path);
	} else {
		tz_fail(cause, name, "%s: %s", path,
		        strerror_r(err, ebuf, sizeof(ebuf)));
	}
	free(path);
	return tz;
}

/*--- local time ---*/

int32_t
cron_tz_offset(const struct cron_tz *tz, time_t t)
{
	return tz_type_at(tz, (int64_t)t)->off;
}

int64_t
cron_tz_day(const struct cron_tz *tz, time_t t)
{
	return floor_div((int64_t)t + cron_tz_offset(tz, t), 86400);
}

int
cron_tz_localtime(const struct cron_tz *tz, time_t t, struct tm *out)
{
	const struct tz_type *ty = tz_type_at(tz, (int64_t)t);
	int64_t local = (int64_t)t + ty->off, days, secs, y;
	int m, d;

	days = floor_div(local, 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (y - 1900 > INT32_MAX || y - 1900 < INT32_MIN)
		return -1;
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs % 3600 / 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = weekday(days);
	out->tm_yday = (int)(days - days_from_civil(y, 1, 1));
	out->tm_isdst = ty->isdst;
	out->tm_gmtoff = ty->off;
	out->tm_zone = ty->abbr;
	return 0;
}
