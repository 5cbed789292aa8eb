/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* TA1, 999 and 997 acknowledgments: a hand-written reader (x12_ack.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/x12_ack.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define ACK_MAX_ELEMS 32
#define ACK_ISA_LEN 106 /* the fixed-length ISA, its terminator included */

struct elem {
	const char *p;
	size_t n;
};

/* The segment being read, split at the element separator. */
struct seg {
	struct elem e[ACK_MAX_ELEMS]; /* e[0] is the segment id */
	size_t n;
	size_t no; /* 1-based position in the interchange */
};

enum ack_where { IN_TOP, IN_GROUP, IN_SET, AFTER_IEA };

struct ackp {
	struct x12_ack *a;
	enum ack_where where;
	char es, ss;
	size_t ngs;      /* GS segments */
	size_t nst;      /* ST segments in the current group */
	int64_t gs06;    /* of the current group */
	char st02[10];   /* of the current set */
	size_t set_segs; /* segments of the current set, ST included */
	bool have_ak1, have_ak9;
	struct x12_ack_set *open; /* an AK2 waiting for its IK5 */
	struct buf err;
};

/* Codes of 005010X231A1 and X12 envelopes, for people to read. */
struct code {
	const char *code, *text;
};

static const struct code ta1_notes[] = {
    {"000", "no error"},
    {"001", "interchange control numbers in ISA and IEA differ"},
    {"004", "invalid segment terminator"},
    {"005", "invalid sender id qualifier"},
    {"006", "invalid sender id"},
    {"007", "invalid receiver id qualifier"},
    {"008", "invalid receiver id"},
    {"009", "unknown receiver id"},
    {"014", "invalid interchange date"},
    {"015", "invalid interchange time"},
    {"017", "invalid interchange version"},
    {"018", "invalid interchange control number"},
    {"020", "invalid test indicator"},
    {"021", "invalid number of included groups"},
    {"022", "invalid control structure"},
    {"023", "premature end of file"},
    {"024", "invalid interchange content"},
    {"025", "duplicate interchange control number"},
    {"026", "invalid data element separator"},
    {"027", "invalid component element separator"},
    {NULL, NULL}};

static const struct code seg_errors[] = {
    {"1", "unrecognized segment ID"},
    {"2", "unexpected segment"},
    {"3", "required segment missing"},
    {"4", "loop occurs over maximum times"},
    {"5", "segment exceeds maximum use"},
    {"6", "segment not in defined transaction set"},
    {"7", "segment not in proper sequence"},
    {"8", "segment has data element errors"},
    {"I4", "implementation \"not used\" segment present"},
    {"I6", "implementation dependent segment missing"},
    {"I7", "implementation loop occurs under minimum times"},
    {"I8", "implementation segment below minimum use"},
    {"I9", "implementation dependent \"not used\" segment present"},
    {NULL, NULL}};

static const struct code elem_errors[] = {
    {"1", "required data element missing"},
    {"2", "conditional required data element missing"},
    {"3", "too many data elements"},
    {"4", "data element too short"},
    {"5", "data element too long"},
    {"6", "invalid character in data element"},
    {"7", "invalid code value"},
    {"8", "invalid date"},
    {"9", "invalid time"},
    {"10", "exclusion condition violated"},
    {"12", "too many repetitions"},
    {"13", "too many components"},
    {"I6", "code value not used in implementation"},
    {"I9", "implementation dependent data element missing"},
    {"I10", "implementation \"not used\" data element present"},
    {"I11", "implementation too few repetitions"},
    {"I12", "implementation pattern match failure"},
    {"I13", "implementation dependent \"not used\" data element present"},
    {NULL, NULL}};

static const struct code set_errors[] = {
    {"1", "transaction set not supported"},
    {"2", "transaction set trailer missing"},
    {"3", "control numbers in ST and SE differ"},
    {"4", "number of included segments does not match the count"},
    {"5", "one or more segments in error"},
    {"6", "missing or invalid transaction set identifier"},
    {"7", "missing or invalid transaction set control number"},
    {"18", "transaction set not in functional group"},
    {"19", "invalid implementation convention reference"},
    {"23", "transaction set control number not unique in the group"},
    {"I5", "implementation one or more segments in error"},
    {"I6", "implementation convention not supported"},
    {NULL, NULL}};

static const struct code group_errors[] = {
    {"1", "functional group not supported"},
    {"2", "functional group version not supported"},
    {"3", "functional group trailer missing"},
    {"4", "control numbers in GS and GE differ"},
    {"5", "number of included transaction sets does not match the count"},
    {"6", "group control number violates syntax"},
    {NULL, NULL}};

static const char *
code_text(const struct code *t, const struct elem *e)
{
	for (; t->code != NULL; t++)
		if (strlen(t->code) == e->n && memcmp(t->code, e->p, e->n) == 0)
			return t->text;
	return "unknown code";
}

const char *
x12_ack_note_text(const char *note)
{
	struct elem e = {note, strlen(note)};

	return code_text(ta1_notes, &e);
}

int
x12_ack_accepted(const char *code)
{
	return code[0] != '\0' && code[1] == '\0' &&
	       (code[0] == 'A' || code[0] == 'E');
}

static void ack_fail(struct ackp *p, const struct seg *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ack_fail(struct ackp *p, const struct seg *s, const char *fmt, ...)
{
	va_list ap;

	if (p->err.len > 0)
		return; /* the first problem is the one to fix */
	if (s != NULL)
		buf_addf(&p->err, "segment %zu (%.*s): ", s->no,
		         (int)(s->e[0].n > 3 ? 3 : s->e[0].n), s->e[0].p);
	va_start(ap, fmt);
	buf_vaddf(&p->err, fmt, ap);
	va_end(ap);
}

static const struct elem *
el(const struct seg *s, size_t i)
{
	static const struct elem none = {"", 0};

	return i < s->n ? &s->e[i] : &none;
}

static bool
is(const struct seg *s, const char *id)
{
	return s->e[0].n == strlen(id) && memcmp(s->e[0].p, id, s->e[0].n) == 0;
}

/* Element i as a number of 1 to 18 digits; -1 when it is not one. */
static int64_t
el_num(const struct seg *s, size_t i)
{
	const struct elem *e = el(s, i);
	int64_t v = 0;
	size_t k;

	if (e->n == 0 || e->n > 18)
		return -1;
	for (k = 0; k < e->n; k++) {
		if (e->p[k] < '0' || e->p[k] > '9')
			return -1;
		v = v * 10 + (e->p[k] - '0');
	}
	return v;
}

static bool
alnum(const char *v)
{
	for (; *v != '\0'; v++)
		if (!((*v >= '0' && *v <= '9') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= 'a' && *v <= 'z')))
			return false;
	return true;
}

/* Copy element i, trimmed of spaces, into out[size]; false when longer. */
static bool
el_copy(const struct seg *s, size_t i, char *out, size_t size)
{
	const struct elem *e = el(s, i);
	size_t a = 0, b = e->n;

	while (a < b && e->p[a] == ' ')
		a++;
	while (b > a && e->p[b - 1] == ' ')
		b--;
	if (b - a >= size)
		return false;
	memcpy(out, e->p + a, b - a);
	out[b - a] = '\0';
	return true;
}

/* Text from the payer, safe to store and show: printable ASCII, cut. */
static void
add_text(struct buf *b, const struct elem *e)
{
	size_t k;

	for (k = 0; k < e->n && k < 35; k++)
		buf_addch(b, e->p[k] >= 0x20 && e->p[k] < 0x7f ? e->p[k] : '?');
	if (e->n > 35)
		buf_addstr(b, "...");
}

static void
add_value(struct buf *b, const struct elem *e)
{
	buf_addch(b, '"');
	add_text(b, e);
	buf_addch(b, '"');
}

/* A code and what it means: `8 (segment has data element errors)`. */
static void
add_code(struct buf *b, const struct elem *code, const struct code *table)
{
	add_text(b, code);
	buf_addf(b, " (%s)", code_text(table, code));
}

static char *
detach_or_null(struct buf *b)
{
	if (b->len == 0) {
		buf_free(b);
		return NULL;
	}
	return buf_detach(b);
}

/* Append to the open set's error text. */
static struct buf
set_errors_buf(struct x12_ack_set *set)
{
	struct buf b;

	buf_init(&b, 0);
	if (set->errors != NULL) {
		buf_addstr(&b, set->errors);
		free(set->errors);
		set->errors = NULL;
	}
	return b;
}

static void
seg_isa(struct ackp *p, const struct seg *s)
{
	if (s->n != 17) {
		ack_fail(p, s, "ISA has %zu elements, not 16", s->n - 1);
		return;
	}
	el_copy(s, 6, p->a->sender, sizeof(p->a->sender));
	el_copy(s, 8, p->a->receiver, sizeof(p->a->receiver));
	if ((p->a->isa13 = el_num(s, 13)) < 0)
		ack_fail(p, s, "ISA13 is not a control number");
}

static void
seg_ta1(struct ackp *p, const struct seg *s)
{
	struct x12_ack_ta1 t;

	memset(&t, 0, sizeof(t));
	if (p->where != IN_TOP) {
		ack_fail(p, s, "TA1 belongs after ISA, outside a group");
		return;
	}
	if ((t.icn = el_num(s, 1)) < 0)
		ack_fail(p, s, "TA1-01 is not an interchange control number");
	else if (!el_copy(s, 4, t.code, sizeof(t.code)) ||
	         strchr("AER", t.code[0]) == NULL || t.code[0] == '\0')
		ack_fail(p, s, "TA1-04 must be A, E or R");
	else if (!el_copy(s, 5, t.note, sizeof(t.note)) ||
	         strspn(t.note, "0123456789") != 3)
		ack_fail(p, s, "TA1-05 must be a 3-digit note code");
	else {
		p->a->ta1 =
		    xrealloc(p->a->ta1, (p->a->nta1 + 1) * sizeof(*p->a->ta1));
		p->a->ta1[p->a->nta1++] = t;
	}
}

static void
seg_gs(struct ackp *p, const struct seg *s)
{
	if (p->where != IN_TOP) {
		ack_fail(p, s, "GS inside a group");
		return;
	}
	if (el(s, 1)->n != 2 || memcmp(el(s, 1)->p, "FA", 2) != 0) {
		ack_fail(p, s,
		         "GS01 is not FA: not a functional "
		         "acknowledgment group");
		return;
	}
	if ((p->gs06 = el_num(s, 6)) < 0)
		ack_fail(p, s, "GS06 is not a control number");
	p->where = IN_GROUP;
	p->ngs++;
	p->nst = 0;
}

static void
seg_st(struct ackp *p, const struct seg *s)
{
	struct x12_ack_group *g;

	if (p->where != IN_GROUP) {
		ack_fail(p, s, "ST outside a group");
		return;
	}
	if (el(s, 1)->n != 3 || (memcmp(el(s, 1)->p, "999", 3) != 0 &&
	                         memcmp(el(s, 1)->p, "997", 3) != 0)) {
		ack_fail(p, s,
		         "ST01 is %.*s: only 999 and 997 "
		         "acknowledgments are read",
		         (int)(el(s, 1)->n > 8 ? 8 : el(s, 1)->n), el(s, 1)->p);
		return;
	}
	if (!el_copy(s, 2, p->st02, sizeof(p->st02)) || p->st02[0] == '\0') {
		ack_fail(p, s, "ST02 is not a control number");
		return;
	}
	p->a->groups =
	    xrealloc(p->a->groups, (p->a->ngroups + 1) * sizeof(*p->a->groups));
	g = &p->a->groups[p->a->ngroups++];
	memset(g, 0, sizeof(*g));
	p->where = IN_SET;
	p->set_segs = 1;
	p->have_ak1 = p->have_ak9 = false;
	p->open = NULL;
	p->nst++;
}

static struct x12_ack_group *
cur_group(struct ackp *p)
{
	return &p->a->groups[p->a->ngroups - 1];
}

static void
seg_ak1(struct ackp *p, const struct seg *s)
{
	struct x12_ack_group *g = cur_group(p);

	if (p->have_ak1) {
		ack_fail(p, s, "a second AK1 in the transaction set");
		return;
	}
	p->have_ak1 = true;
	if (!el_copy(s, 1, g->fn, sizeof(g->fn)) || g->fn[0] == '\0')
		ack_fail(p, s, "AK1-01 is not a functional identifier code");
	else if ((g->ctrl = el_num(s, 2)) < 0)
		ack_fail(p, s, "AK1-02 is not a group control number");
}

/* The AK2 before this one (or before AK9) must have had its IK5. */
static bool
set_closed(struct ackp *p, const struct seg *s)
{
	if (p->open == NULL)
		return true;
	ack_fail(p, s,
	         "the transaction set acknowledged by AK2 %s has no "
	         "IK5",
	         p->open->ctrl);
	return false;
}

static void
seg_ak2(struct ackp *p, const struct seg *s)
{
	struct x12_ack_group *g = cur_group(p);
	struct x12_ack_set *set;

	if (!p->have_ak1 || p->have_ak9) {
		ack_fail(p, s, "AK2 belongs between AK1 and AK9");
		return;
	}
	if (!set_closed(p, s))
		return;
	g->sets = xrealloc(g->sets, (g->nsets + 1) * sizeof(*g->sets));
	set = &g->sets[g->nsets++];
	memset(set, 0, sizeof(*set));
	if (!el_copy(s, 1, set->id, sizeof(set->id)) ||
	    !el_copy(s, 2, set->ctrl, sizeof(set->ctrl)) ||
	    set->ctrl[0] == '\0' || !alnum(set->ctrl) || !alnum(set->id))
		ack_fail(p, s,
		         "AK2 needs a transaction set id and control "
		         "number (letters and digits)");
	p->open = set;
}

/* IK3 (AK3): a segment in error. */
static void
seg_ik3(struct ackp *p, const struct seg *s)
{
	struct buf b;

	if (p->open == NULL) {
		ack_fail(p, s, "a segment error outside AK2 ... IK5");
		return;
	}
	b = set_errors_buf(p->open);
	if (b.len > 0)
		buf_addstr(&b, "; ");
	add_text(&b, el(s, 1));
	buf_addstr(&b, " at segment ");
	add_text(&b, el(s, 2));
	if (el(s, 3)->n > 0) {
		buf_addstr(&b, " in loop ");
		add_text(&b, el(s, 3));
	}
	if (el(s, 4)->n > 0) {
		buf_addstr(&b, ": ");
		add_code(&b, el(s, 4), seg_errors);
	}
	p->open->errors = buf_detach(&b);
}

/* IK4 (AK4): an element in error, in the segment IK3 named. */
static void
seg_ik4(struct ackp *p, const struct seg *s)
{
	struct buf b;

	if (p->open == NULL) {
		ack_fail(p, s, "an element error outside AK2 ... IK5");
		return;
	}
	b = set_errors_buf(p->open);
	if (b.len > 0)
		buf_addstr(&b, ", ");
	buf_addstr(&b, "element ");
	add_text(&b, el(s, 1));
	if (el(s, 2)->n > 0) {
		buf_addstr(&b, " (");
		add_text(&b, el(s, 2));
		buf_addch(&b, ')');
	}
	buf_addstr(&b, ": ");
	add_code(&b, el(s, 3), elem_errors);
	if (el(s, 4)->n > 0) {
		buf_addch(&b, ' ');
		add_value(&b, el(s, 4));
	}
	p->open->errors = buf_detach(&b);
}

/* IK5 (AK5): the verdict on the set. */
static void
seg_ik5(struct ackp *p, const struct seg *s)
{
	struct buf b;
	size_t i;

	if (p->open == NULL) {
		ack_fail(p, s, "IK5 without an AK2");
		return;
	}
	if (!el_copy(s, 1, p->open->code, sizeof(p->open->code)) ||
	    strchr("AEMRWX", p->open->code[0]) == NULL ||
	    p->open->code[0] == '\0') {
		ack_fail(p, s, "IK5-01 must be A, E, M, R, W or X");
		return;
	}
	b = set_errors_buf(p->open);
	for (i = 2; i <= 6 && i < s->n; i++)
		if (el(s, i)->n > 0) {
			if (b.len > 0)
				buf_addstr(&b, "; ");
			add_code(&b, el(s, i), set_errors);
		}
	p->open->errors = detach_or_null(&b);
	p->open = NULL;
}

static void
seg_ak9(struct ackp *p, const struct seg *s)
{
	struct x12_ack_group *g = cur_group(p);
	struct buf b;
	size_t i;

	if (!p->have_ak1 || p->have_ak9) {
		ack_fail(p, s, "AK9 belongs once, after AK1");
		return;
	}
	if (!set_closed(p, s))
		return;
	p->have_ak9 = true;
	if (!el_copy(s, 1, g->code, sizeof(g->code)) ||
	    strchr("AEMPRWX", g->code[0]) == NULL || g->code[0] == '\0') {
		ack_fail(p, s, "AK9-01 must be A, E, M, P, R, W or X");
		return;
	}
	g->included = (long)el_num(s, 2);
	g->received = (long)el_num(s, 3);
	g->accepted = (long)el_num(s, 4);
	if (g->included < 0 || g->received < 0 || g->accepted < 0) {
		ack_fail(p, s, "AK9-02, AK9-03 and AK9-04 must be counts");
		return;
	}
	buf_init(&b, 0);
	for (i = 5; i <= 9 && i < s->n; i++)
		if (el(s, i)->n > 0) {
			if (b.len > 0)
				buf_addstr(&b, "; ");
			add_code(&b, el(s, i), group_errors);
		}
	g->errors = detach_or_null(&b);
}

static void
seg_se(struct ackp *p, const struct seg *s)
{
	char ctrl[10];

	if (!p->have_ak1 || !p->have_ak9) {
		ack_fail(p, s, "the transaction set has no %s",
		         !p->have_ak1 ? "AK1" : "AK9");
		return;
	}
	if (el_num(s, 1) != (int64_t)p->set_segs)
		ack_fail(p, s, "SE01 says %.*s segments; the set has %zu",
		         (int)el(s, 1)->n, el(s, 1)->p, p->set_segs);
	else if (!el_copy(s, 2, ctrl, sizeof(ctrl)) ||
	         strcmp(ctrl, p->st02) != 0)
		ack_fail(p, s, "SE02 differs from ST02 %s", p->st02);
	p->where = IN_GROUP;
}

static void
seg_ge(struct ackp *p, const struct seg *s)
{
	if (p->where != IN_GROUP) {
		ack_fail(p, s, "GE outside a group");
		return;
	}
	if (el_num(s, 1) != (int64_t)p->nst)
		ack_fail(p, s,
		         "GE01 says %.*s transaction sets; the group has "
		         "%zu",
		         (int)el(s, 1)->n, el(s, 1)->p, p->nst);
	else if (el_num(s, 2) != p->gs06)
		ack_fail(p, s, "GE02 differs from GS06");
	p->where = IN_TOP;
}

static void
seg_iea(struct ackp *p, const struct seg *s)
{
	if (p->where != IN_TOP) {
		ack_fail(p, s, "IEA inside a group");
		return;
	}
	if (el_num(s, 1) != (int64_t)p->ngs)
		ack_fail(p, s,
		         "IEA01 says %.*s groups; the interchange has %zu",
		         (int)el(s, 1)->n, el(s, 1)->p, p->ngs);
	else if (el_num(s, 2) != p->a->isa13)
		ack_fail(p, s, "IEA02 differs from ISA13");
	p->where = AFTER_IEA;
}

/* One segment inside a 999/997 transaction set. */
static void
seg_in_set(struct ackp *p, const struct seg *s)
{
	p->set_segs++;
	if (is(s, "AK1"))
		seg_ak1(p, s);
	else if (is(s, "AK2"))
		seg_ak2(p, s);
	else if (is(s, "IK3") || is(s, "AK3"))
		seg_ik3(p, s);
	else if (is(s, "IK4") || is(s, "AK4"))
		seg_ik4(p, s);
	else if (is(s, "IK5") || is(s, "AK5"))
		seg_ik5(p, s);
	else if (is(s, "AK9"))
		seg_ak9(p, s);
	else if (is(s, "SE"))
		seg_se(p, s);
	else if (!is(s, "CTX"))
		ack_fail(p, s, "not a segment of a 999 or 997");
}

static void
seg_one(struct ackp *p, const struct seg *s)
{
	if (p->where == AFTER_IEA && is(s, "ISA")) {
		/* Payers batch interchanges into one file. */
		seg_isa(p, s);
		p->where = IN_TOP;
		p->ngs = 0;
	} else if (p->where == AFTER_IEA)
		ack_fail(p, s, "data after IEA");
	else if (p->where == IN_SET)
		seg_in_set(p, s);
	else if (is(s, "TA1"))
		seg_ta1(p, s);
	else if (is(s, "GS"))
		seg_gs(p, s);
	else if (is(s, "ST"))
		seg_st(p, s);
	else if (is(s, "GE"))
		seg_ge(p, s);
	else if (is(s, "IEA"))
		seg_iea(p, s);
	else
		ack_fail(p, s, "unexpected here");
}

static void
seg_split(struct ackp *p, const char *b, size_t n, struct seg *s)
{
	const char *q, *end = b + n;

	s->n = 0;
	for (q = b; s->n < ACK_MAX_ELEMS; q++) {
		const char *sep = memchr(q, p->es, (size_t)(end - q));

		s->e[s->n].p = q;
		s->e[s->n].n = (size_t)((sep != NULL ? sep : end) - q);
		s->n++;
		if (sep == NULL)
			break;
		q = sep;
	}
}

/* Check the envelope's fixed ISA and take its separators. */
static int
ack_envelope(struct ackp *p, const char *data, size_t len)
{
	static const char *const ok = "!\"&'()*+,./:;<=>?@[]^_`{|}~\\";

	if (len < ACK_ISA_LEN || memcmp(data, "ISA", 3) != 0) {
		ack_fail(p, NULL,
		         "not an X12 interchange: it does not start "
		         "with a 106-character ISA segment");
		return -1;
	}
	p->es = data[3];
	p->ss = data[ACK_ISA_LEN - 1];
	if (strchr(ok, p->es) == NULL ||
	    (strchr(ok, p->ss) == NULL && p->ss != '\n' && p->ss != '\r') ||
	    p->es == p->ss) {
		ack_fail(p, NULL,
		         "ISA: separators '%c' and '%c' are not usable", p->es,
		         p->ss);
		return -1;
	}
	return 0;
}

int
x12_ack_parse(const char *data, size_t len, struct x12_ack *a, char **err)
{
	struct ackp p;
	struct seg s;
	const char *q = data, *end = data + len, *t;
	size_t no = 0;
	char *c;

	memset(a, 0, sizeof(*a));
	memset(&p, 0, sizeof(p));
	p.a = a;
	buf_init(&p.err, 0);
	if (ack_envelope(&p, data, len) == 0) {
		while (p.err.len == 0) {
			/* A line break after each terminator is customary. */
			while (q < end && (*q == '\r' || *q == '\n'))
				q++;
			if (q == end)
				break;
			if ((t = memchr(q, p.ss, (size_t)(end - q))) == NULL) {
				ack_fail(&p, NULL,
				         "segment %zu has no terminator '%c' "
				         "(truncated file?)",
				         no + 1, p.ss);
				break;
			}
			seg_split(&p, q, (size_t)(t - q), &s);
			s.no = ++no;
			if (no == 1)
				seg_isa(&p, &s);
			else
				seg_one(&p, &s);
			q = t + 1;
		}
		if (p.err.len == 0 && p.where != AFTER_IEA)
			ack_fail(&p, NULL,
			         "the interchange ends without IEA "
			         "(truncated file?)");
	}
	if (p.err.len > 0) {
		*err = buf_detach(&p.err);
		/* It may quote the payer's bytes: printable ASCII only. */
		for (c = *err; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 ||
			    (unsigned char)*c >= 0x7f)
				*c = '?';
		x12_ack_free(a);
		return -1;
	}
	buf_free(&p.err);
	*err = NULL;
	return 0;
}

void
x12_ack_free(struct x12_ack *a)
{
	size_t i, j;

	for (i = 0; i < a->ngroups; i++) {
		for (j = 0; j < a->groups[i].nsets; j++)
			free(a->groups[i].sets[j].errors);
		free(a->groups[i].sets);
		free(a->groups[i].errors);
	}
	free(a->groups);
	free(a->ta1);
	memset(a, 0, sizeof(*a));
}
