/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * The acknowledgments a payer returns for an 834 interchange: TA1
 * (interchange acknowledgment, in the envelope) and the 999
 * implementation acknowledgment (005010X231A1), or the older 997 it
 * replaced. x12_ack_parse() reads the interchanges (one, or several one
 * after the other) of a file held in memory into a
 * struct x12_ack the caller releases with x12_ack_free(); everything in
 * it is owned by it. Nothing here does I/O.
 */
#ifndef ROSTERD_X12_ACK_H
#define ROSTERD_X12_ACK_H

#include <stddef.h>
#include <stdint.h>

/* A TA1: how the payer took one of our interchanges (by its ISA13). */
struct x12_ack_ta1 {
	int64_t icn;  /* TA1-01: our ISA13 */
	char code[2]; /* TA1-04: A accepted, E with errors, R rejected */
	char note[4]; /* TA1-05: the note code ("000" no error) */
};

/* One acknowledged transaction set: AK2 ... IK5 (AK5 in a 997). */
struct x12_ack_set {
	char id[4];    /* AK2-01: "834" */
	char ctrl[10]; /* AK2-02: our ST02 */
	char code[2];  /* IK5-01: A, E, M, R, W or X */
	char *errors;  /* IK3/IK4/IK5 codes, readable; NULL when none */
};

/* One acknowledged functional group: a 999 (or 997) transaction set. */
struct x12_ack_group {
	char fn[3];    /* AK1-01: "BE" for 834 */
	int64_t ctrl;  /* AK1-02: our GS06 */
	char code[2];  /* AK9-01: A, E, M, P, R, W or X */
	long included; /* AK9-02: sets in our group */
	long received; /* AK9-03 */
	long accepted; /* AK9-04 */
	char *errors;  /* AK9-05.. codes, readable; NULL when none */
	struct x12_ack_set *sets;
	size_t nsets;
};

struct x12_ack {
	char sender[16];   /* ISA06, trimmed: the payer */
	char receiver[16]; /* ISA08, trimmed: us */
	int64_t isa13;     /* of the acknowledgment itself (the last one,
	                      when the file holds several interchanges) */
	struct x12_ack_ta1 *ta1;
	size_t nta1;
	struct x12_ack_group *groups;
	size_t ngroups;
};

/*
 * Parse data[0..len) (one interchange; a trailing newline after each
 * segment terminator is allowed). 0, or -1 with *err (the caller frees)
 * saying which segment is wrong and why; the struct is then empty.
 */
int x12_ack_parse(const char *data, size_t len, struct x12_ack *, char **err);
void x12_ack_free(struct x12_ack *);

/* What a TA1-05 note code means ("unknown code" for one not listed). */
const char *x12_ack_note_text(const char *note);

/* Whether an acknowledgment code (TA1-04, IK5-01, AK9-01) means the
 * payer took what it acknowledges: A or E. */
int x12_ack_accepted(const char *code);

#endif
