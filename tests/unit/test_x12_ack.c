/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for the TA1/999/997 reader: what a payer's acknowledgment
 * says about each of our interchanges, groups and transaction sets, and
 * a precise message for every malformed one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmt/x12_ack.h"

#define ISA                                                                    \
	"ISA*00*          *00*          *ZZ*CARRIER        *ZZ*ACME          " \
	" "                                                                    \
	"*260305*1200*^*00501*000000417*0*P*:~\n"

/* A 999 rejecting one of two sets, as payers send it. */
static const char ack_999[] =
    ISA "GS*FA*CARRIER*ACME*20260305*1200*417*X*005010X231A1~\n"
        "ST*999*0001*005010X231A1~\n"
        "AK1*BE*12*005010X220A1~\n"
        "AK2*834*0001*005010X220A1~\n"
        "IK5*A~\n"
        "AK2*834*0002*005010X220A1~\n"
        "IK3*NM1*12*2100A*8~\n"
        "CTX*SITUATIONAL TRIGGER*INS*8**2~\n"
        "IK4*3*1035*7*XX~\n"
        "IK5*R*5~\n"
        "AK9*P*2*2*1~\n"
        "SE*11*0001~\n"
        "GE*1*417~\n"
        "IEA*1*000000417~\n";

static int
parse(const char *text, struct x12_ack *a, char **err)
{
	return x12_ack_parse(text, strlen(text), a, err);
}

static void
test_999_sets(void **state)
{
	struct x12_ack a;
	char *err;

	(void)state;
	assert_int_equal(parse(ack_999, &a, &err), 0);
	assert_null(err);
	assert_string_equal(a.sender, "CARRIER");
	assert_string_equal(a.receiver, "ACME");
	assert_int_equal(a.isa13, 417);
	assert_int_equal(a.nta1, 0);
	assert_int_equal(a.ngroups, 1);
	assert_string_equal(a.groups[0].fn, "BE");
	assert_int_equal(a.groups[0].ctrl, 12);
	assert_string_equal(a.groups[0].code, "P");
	assert_int_equal(a.groups[0].included, 2);
	assert_int_equal(a.groups[0].accepted, 1);
	assert_null(a.groups[0].errors);
	assert_int_equal(a.groups[0].nsets, 2);
	assert_string_equal(a.groups[0].sets[0].ctrl, "0001");
	assert_string_equal(a.groups[0].sets[0].code, "A");
	assert_null(a.groups[0].sets[0].errors);
	assert_string_equal(a.groups[0].sets[1].id, "834");
	assert_string_equal(a.groups[0].sets[1].ctrl, "0002");
	assert_string_equal(a.groups[0].sets[1].code, "R");
	assert_string_equal(a.groups[0].sets[1].errors,
	                    "NM1 at segment 12 in loop 2100A: 8 (segment has "
	                    "data element errors), element 3 (1035): 7 "
	                    "(invalid code value) \"XX\"; 5 (one or more "
	                    "segments in error)");
	assert_true(x12_ack_accepted(a.groups[0].sets[0].code));
	assert_false(x12_ack_accepted(a.groups[0].sets[1].code));
	assert_false(x12_ack_accepted(a.groups[0].code));
	x12_ack_free(&a);
}

static void
test_ta1_and_997(void **state)
{
	static const char text[] =
	    ISA "TA1*000000012*260305*1159*E*021~"
	        "GS*FA*CARRIER*ACME*20260305*1200*418*X*004010~"
	        "ST*997*0001~"
	        "AK1*BE*12~"
	        "AK2*834*0001~"
	        "AK5*A~"
	        "AK9*R*1*1*0*5~"
	        "SE*6*0001~"
	        "GE*1*418~"
	        "IEA*1*000000417~";
	struct x12_ack a;
	char *err;

	(void)state;
	assert_int_equal(parse(text, &a, &err), 0);
	assert_int_equal(a.nta1, 1);
	assert_int_equal(a.ta1[0].icn, 12);
	assert_string_equal(a.ta1[0].code, "E");
	assert_string_equal(a.ta1[0].note, "021");
	assert_true(x12_ack_accepted(a.ta1[0].code));
	assert_string_equal(a.groups[0].code, "R");
	assert_string_equal(a.groups[0].errors,
	                    "5 (number of included transaction sets does not "
	                    "match the count)");
	x12_ack_free(&a);
}

/* Payers batch interchanges: one file, one after the other. */
static void
test_two_interchanges(void **state)
{
	char text[4096];
	struct x12_ack a;
	char *err;

	(void)state;
	snprintf(text, sizeof(text), "%s%s", ack_999,
	         ISA "TA1*000000013*260305*1159*R*024~\nIEA*0*000000417~\n");
	assert_int_equal(parse(text, &a, &err), 0);
	assert_int_equal(a.ngroups, 1);
	assert_int_equal(a.nta1, 1);
	assert_int_equal(a.ta1[0].icn, 13);
	assert_string_equal(x12_ack_note_text(a.ta1[0].note),
	                    "invalid interchange content");
	x12_ack_free(&a);
}

/* Separators of the payer's choosing: '|', and CR (CRLF lines) or LF. */
static void
test_other_separators(void **state)
{
	static const char text[] =
	    "ISA|00|          |00|          |ZZ|CARRIER        |ZZ|ACME      "
	    "     |260305|1200|^|00501|000000417|0|P|>\r\n"
	    "GS|FA|CARRIER|ACME|20260305|1200|417|X|005010X231A1\r\n"
	    "ST|999|0001|005010X231A1\r\n"
	    "AK1|BE|12|005010X220A1\r\n"
	    "AK2|834|0001|005010X220A1\r\n"
	    "IK5|A\r\n"
	    "AK9|A|1|1|1\r\n"
	    "SE|6|0001\r\n"
	    "GE|1|417\r\n"
	    "IEA|1|000000417\r\n";
	struct x12_ack a;
	char *err, lf[sizeof(text)], *o;
	const char *i;

	(void)state;
	assert_int_equal(parse(text, &a, &err), 0);
	assert_string_equal(a.groups[0].code, "A");
	assert_int_equal(a.groups[0].ctrl, 12);
	x12_ack_free(&a);
	for (i = text, o = lf; *i != '\0'; i++)
		if (*i != '\r')
			*o++ = *i;
	*o = '\0';
	assert_int_equal(parse(lf, &a, &err), 0);
	assert_int_equal(a.groups[0].sets[0].code[0], 'A');
	x12_ack_free(&a);
}

/* Each malformed acknowledgment names its segment and problem. */
static void
test_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"ISA*00*short~", "not an X12 interchange"},
	    {"<html>not found</html>", "not an X12 interchange"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~AK2*834*0001~AK9*A*1*1*1~",
	     "segment 6 (AK9): the transaction set acknowledged by AK2 0001 "
	     "has no IK5"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~AK9*A*0*0*0~SE*5*0001~",
	     "segment 6 (SE): SE01 says 5 segments; the set has 4"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~AK9*A*0*0*0~SE*4*0001~GE*1*1~",
	     "the interchange ends without IEA (truncated file?)"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~ST*999*0001~AK1*B",
	     "segment 4 has no terminator '~' (truncated file?)"},
	    {ISA "GS*HP*C*A*20260305*1200*1*X*005010X231A1~",
	     "segment 2 (GS): GS01 is not FA"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~ST*835*0001~",
	     "segment 3 (ST): ST01 is 835: only 999 and 997"},
	    {ISA "TA1*12*260305*1159*Q*000~", "segment 2 (TA1): TA1-04 must"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~AK2*834*0001~IK5*Z~",
	     "segment 6 (IK5): IK5-01 must be A, E, M, R, W or X"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~NM1*IL~",
	     "segment 5 (NM1): not a segment of a 999 or 997"},
	    {ISA "TA1*12*260305*1159*A*0x1~", "TA1-05 must be a 3-digit"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	         "ST*999*0001~AK1*BE*12~AK2*834*00\x01~",
	     "segment 5 (AK2): AK2 needs a transaction set id and control "
	     "number"},
	    {ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~ST*8\xe9"
	         "3~",
	     "segment 3 (ST): ST01 is 8?3: only 999 and 997"},
	    {ISA "IEA*1*000000417~", "IEA01 says 1 groups; the interchange "
	                             "has 0"},
	    {ISA "IEA*0*000000417~GS*FA~", "segment 3 (GS): data after IEA"},
	};
	struct x12_ack a;
	char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		assert_int_equal(parse(cases[i].text, &a, &err), -1);
		assert_non_null(err);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			         cases[i].err);
		assert_int_equal(a.ngroups, 0);
		free(err);
	}
}

/* What the payer writes is shown only as printable ASCII. */
static void
test_hostile_values(void **state)
{
	static const char text[] =
	    ISA "GS*FA*C*A*20260305*1200*1*X*005010X231A1~"
	        "ST*999*0001~AK1*BE*12~AK2*834*0001~"
	        "IK3*N\x1bM1*12**8~"
	        "IK4*3**7*\x01\xff"
	        "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ~"
	        "IK5*R~AK9*R*1*1*0~SE*8*0001~GE*1*1~IEA*1*000000417~";
	struct x12_ack a;
	char *err;

	(void)state;
	assert_int_equal(parse(text, &a, &err), 0);
	assert_string_equal(a.groups[0].sets[0].errors,
	                    "N?M1 at segment 12: 8 (segment has data element "
	                    "errors), element 3: 7 (invalid code value) "
	                    "\"??ABCDEFGHIJABCDEFGHIJABCDEFGHIJABC...\"");
	x12_ack_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_999_sets),
	    cmocka_unit_test(test_ta1_and_997),
	    cmocka_unit_test(test_two_interchanges),
	    cmocka_unit_test(test_other_separators),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_hostile_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
