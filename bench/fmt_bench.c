/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Micro-benchmark for the file writers (src/fmt/): renders N synthetic
 * members as CSV, fixed width and X12 834 and prints the time and
 * throughput of each. Not part of the build; see docs/formats.md:
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -I. src/util/xmalloc.c \
 *       src/fmt/fmt*.c bench/fmt_bench.c -ljansson -o /tmp/fmt_bench
 *   /tmp/fmt_bench [-n MEMBERS] [-o DIR] [csv|fixed|834]...
 *
 * Output goes to /dev/null unless -o names a directory, in which case
 * bench.csv, bench.txt and bench.834 are written there (and kept).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt/fmt.h"

#define NPOOL 1024

static const char *const names[] = {
    "member_id",
    "relationship",
    "last_name",
    "first_name",
    "middle_name",
    "ssn",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "birth_date",
    "gender",
    "employment_status",
    "hire_date",
    "coverage_start",
    "coverage_end",
    "plan_code",
    "coverage_level",
    "email",
};
#define NCOLS (sizeof(names) / sizeof(names[0]))

/* A pool of varied members; the benchmark cycles through it. */
static char pool[NPOOL][NCOLS][40];

static void
fill_pool(void)
{
	static const char *const last[] = {"Smith", "O'Neil", "Nguyen",
	                                   "Garcia", "Johnson-Lee"};
	static const char *const first[] = {"Ann", "Bob", "Chen", "Dana",
	                                    "Eve"};
	size_t i;

	for (i = 0; i < NPOOL; i++) {
		bool dep = i % 4 == 3;
		char(*v)[40] = pool[i];

		snprintf(v[1], 40, "%s", dep ? "19" : "18");
		snprintf(v[2], 40, "%s", last[i % 5]);
		snprintf(v[3], 40, "%s", first[(i / 5) % 5]);
		snprintf(v[4], 40, "%s", i % 3 ? "" : "Q");
		snprintf(v[5], 40, "%s", dep ? "" : "123456789");
		snprintf(v[6], 40, "%zu Main St", 100 + i);
		snprintf(v[7], 40, "%s", i % 7 ? "" : "Apt 4, Unit \"B\"");
		snprintf(v[8], 40, "Springfield");
		snprintf(v[9], 40, "IL");
		snprintf(v[10], 40, "62%03zu", i % 1000);
		snprintf(v[11], 40, "19%02zu0%zu1%zu", 50 + i % 50, 1 + i % 9,
		         i % 10);
		snprintf(v[12], 40, "%s", i % 2 ? "F" : "M");
		snprintf(v[13], 40, "%s", dep ? "" : "FT");
		snprintf(v[14], 40, "%s", dep ? "" : "20200115");
		snprintf(v[15], 40, "20260101");
		snprintf(v[16], 40, "%s", i % 11 ? "" : "20261231");
		snprintf(v[17], 40, "PPO GOLD");
		snprintf(v[18], 40, "%s", dep ? "FAM" : "EMP");
		snprintf(v[19], 40, "%s",
		         i % 13 ? "a@example.com" : "=HYPERLINK()");
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench(const char *what, const struct fmt_opts *o, size_t n, const char *dir)
{
	static const struct fmt_run run = {"20260301", "0930", "BENCH-1",
	                                   1,          1,      "0001"};
	const char *vals[NCOLS];
	struct fmt_record rec = {.action = FMT_SAME, .values = vals};
	struct fmt_writer *w;
	char path[4096], id[24], *cause = NULL;
	double t0, t;
	size_t i, c;
	long bytes;
	FILE *f;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/bench.%s", dir,
		         o->kind == FMT_CSV     ? "csv"
		         : o->kind == FMT_FIXED ? "txt"
		                                : "834");
	else
		snprintf(path, sizeof(path), "/dev/null");
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return -1;
	}
	t0 = now();
	if ((w = fmt_writer_new(o, &run, f, &cause)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		for (c = 0; c < NCOLS; c++)
			vals[c] = pool[i % NPOOL][c];
		snprintf(id, sizeof(id), "E%09zu", i - i % 4);
		vals[0] = id;
		if (fmt_writer_add(w, &rec, &cause) == -1)
			goto fail;
	}
	if (fmt_writer_finish(w, &cause) == -1)
		goto fail;
	t = now() - t0;
	fmt_writer_free(w);
	bytes = dir != NULL ? ftell(f) : -1;
	fclose(f);
	printf("%-6s %zu members in %.3f s (%.0f members/s)", what, n, t,
	       (double)n / t);
	if (bytes > 0)
		printf(", %.1f MB, %.0f MB/s", bytes / 1e6, bytes / 1e6 / t);
	printf("\n");
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", what, cause);
	free(cause);
	fmt_writer_free(w);
	fclose(f);
	return -1;
}

int
main(int argc, char **argv)
{
	struct fmt_column cols[NCOLS];
	struct fmt_opts csv, fixed, x12;
	const char *dir = NULL;
	size_t n = 1000000, c;
	int ch, i, rc = 0;

	while ((ch = getopt(argc, argv, "n:o:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: fmt_bench [-n MEMBERS] [-o DIR] "
			        "[csv|fixed|834]...\n");
			return 2;
		}
	}
	fill_pool();
	memset(cols, 0, sizeof(cols));
	for (c = 0; c < NCOLS; c++) {
		cols[c].name = names[c];
		cols[c].width = c == 0 ? 10 : 16;
	}
	memset(&csv, 0, sizeof(csv));
	csv.kind = FMT_CSV;
	csv.delimiter = ',';
	csv.header = true;
	csv.formula_guard = true;
	csv.cols = cols;
	csv.ncols = NCOLS;
	fixed = csv;
	fixed.kind = FMT_FIXED;
	x12 = csv;
	x12.kind = FMT_X12_834;
	x12.full_file = true;
	x12.x12.isa06_sender_id = "ACMECORP";
	x12.x12.isa08_receiver_id = "VENDOR";
	x12.x12.isa15_usage = 'T';
	x12.x12.sponsor_name = "Acme";
	x12.x12.sponsor_id = "123456789";
	x12.x12.payer_name = "Vendor";
	x12.x12.payer_id = "987654321";
	x12.x12.policy_number = "GRP1";
	x12.x12.insurance_line = "HLT";
	x12.x12.newline_after_segment = true;

	for (i = optind; i < argc || i == optind; i++) {
		const char *what = i < argc ? argv[i] : NULL;

		if (what == NULL || strcmp(what, "csv") == 0)
			rc |= bench("csv", &csv, n, dir);
		if (what == NULL || strcmp(what, "fixed") == 0)
			rc |= bench("fixed", &fixed, n, dir);
		if (what == NULL || strcmp(what, "834") == 0)
			rc |= bench("834", &x12, n, dir);
	}
	return rc == 0 ? 0 : 1;
}
