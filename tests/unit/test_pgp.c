/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for src/pgp/pgp.c against real gpg: vendor keys are made with
 * the gpg command line in their own homes, files encrypted by the module are
 * decrypted by the vendor's gpg and compared byte for byte. Everything lives
 * under one mkdtemp directory, HOME included, so ~/.gnupg is never used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgp/pgp.h"
#include "util/buf.h"
#include "util/xmalloc.h"

struct fx {
	char base[64];
	char *home;  /* rosterd's GnuPG home, DATA/gnupg */
	char *vhome; /* the vendor's gpg home (RSA key) */
	char *whome; /* a second vendor (Ed25519 key), revoked later */
	char *shome; /* a signer unknown to rosterd, sign-only key */
	char *vfpr;  /* vendor primary fingerprint */
	char *wfpr;
	char *sfpr;
	char *plain;      /* sample plaintext */
	char *plain_data; /* its bytes */
	size_t plain_len;
	struct pgp *pgp;
};

static struct fx fx;

static char *
path(const char *name)
{
	return xasprintf("%s/%s", fx.base, name);
}

/* Run a shell command; gpg's chatter goes to base/gpg.log. */
static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("(%s) >>%s/gpg.log 2>&1", cmd, fx.base);
	rc = system(full);
	free(cmd);
	free(full);
	return rc;
}

static char *
slurp(const char *p, size_t *len)
{
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *f;

	if ((f = fopen(p, "rb")) == NULL)
		return NULL;
	buf_init(&b, 0);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static void
spew(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int
file_mode(const char *p)
{
	struct stat st;

	if (stat(p, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Temporary files left in a directory (dot-files other than . and ..). */
static int
dotfiles(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* The first fingerprint gpg lists in home for pattern. */
static char *
gpg_fpr(const char *home, const char *pattern)
{
	char *cmd, line[512], *fpr = NULL, *f;
	FILE *p;
	int field;

	cmd = xasprintf("gpg --homedir %s --with-colons --list-keys '%s' "
	                "2>/dev/null",
	                home, pattern);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fpr == NULL && fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "fpr:", 4) != 0)
			continue;
		/* fpr:::::::::FINGERPRINT: -- field 10 */
		for (f = line, field = 1; field < 10 && f != NULL; field++)
			f = strchr(f, ':') != NULL ? strchr(f, ':') + 1 : NULL;
		assert_non_null(f);
		fpr = xstrndup(f, strcspn(f, ":"));
	}
	pclose(p);
	free(cmd);
	assert_non_null(fpr);
	return fpr;
}

static char *
make_home(const char *name)
{
	char *h = path(name);

	assert_int_equal(mkdir(h, 0700), 0);
	return h;
}

static void
make_plaintext(void)
{
	struct buf b;
	int i;

	/* CRLF rows, UTF-8, a NUL byte and no final newline: exact bytes. */
	buf_init(&b, 0);
	buf_addstr(&b, "member_id,first_name,last_name,email,status\r\n");
	for (i = 0; i < 4000; i++)
		buf_addf(&b, "M%07d,Zoë,O'Brien-%d,m%d@example.com,active\r\n",
		         i, i, i);
	buf_add(&b, "tail\0end", 8);
	fx.plain_len = b.len;
	fx.plain_data = buf_detach(&b);
	fx.plain = path("members.csv");
	spew(fx.plain, fx.plain_data, fx.plain_len);
}

static int
group_setup(void **state)
{
	char *home, *cause = NULL;

	snprintf(fx.base, sizeof(fx.base), "/tmp/rosterd-pgp-XXXXXX");
	assert_non_null(mkdtemp(fx.base));
	/* Nothing may read or create the real ~/.gnupg. */
	home = path("user");
	assert_int_equal(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	unsetenv("GNUPGHOME");
	free(home);

	fx.vhome = make_home("vendor");
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-gen-key "
	                     "'Vendor <v@example.com>' rsa2048 default never",
	                     fx.vhome),
	                 0);
	fx.vfpr = gpg_fpr(fx.vhome, "v@example.com");
	/* rsa2048 "default" gives a sign-only primary: add the subkey. */
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-add-key %s "
	                     "rsa2048 encr never",
	                     fx.vhome, fx.vfpr),
	                 0);
	assert_int_equal(run("gpg --homedir %s --armor --export %s > "
	                     "%s/vendor.asc && gpg --homedir %s --export %s > "
	                     "%s/vendor.gpg",
	                     fx.vhome, fx.vfpr, fx.base, fx.vhome, fx.vfpr,
	                     fx.base),
	                 0);
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --armor "
	                     "--export-secret-keys %s > %s/vendor-secret.asc",
	                     fx.vhome, fx.vfpr, fx.base),
	                 0);

	fx.whome = make_home("vendor2");
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-gen-key "
	                     "'Other <w@example.com>' future-default default "
	                     "never && gpg --homedir %s --armor --export "
	                     "w@example.com > %s/w.asc",
	                     fx.whome, fx.whome, fx.base),
	                 0);
	fx.wfpr = gpg_fpr(fx.whome, "w@example.com");

	fx.shome = make_home("signer");
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-gen-key "
	                     "'Signer <s@example.com>' ed25519 sign never && "
	                     "gpg --homedir %s --armor --export s@example.com "
	                     "> %s/signonly.asc",
	                     fx.shome, fx.shome, fx.base),
	                 0);
	fx.sfpr = gpg_fpr(fx.shome, "s@example.com");
	assert_int_equal(run("cat %s/vendor.asc %s/w.asc > %s/two.asc", fx.base,
	                     fx.base, fx.base),
	                 0);
	make_plaintext();

	fx.home = path("data");
	assert_int_equal(mkdir(fx.home, 0700), 0);
	free(fx.home);
	fx.home = path("data/gnupg");
	fx.pgp = pgp_new(fx.home, &cause);
	assert_null(cause);
	assert_non_null(fx.pgp);
	*state = &fx;
	return 0;
}

static void
kill_agent(const char *home)
{
	run("gpgconf --homedir %s --kill all", home);
}

static int
group_teardown(void **state)
{
	char *cause = NULL;

	if (pgp_stop_agent(fx.pgp, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
	}
	pgp_free(fx.pgp);
	kill_agent(fx.vhome);
	kill_agent(fx.whome);
	kill_agent(fx.shome);
	run("rm -rf %s", fx.base);
	free(fx.home);
	free(fx.vhome);
	free(fx.whome);
	free(fx.shome);
	free(fx.vfpr);
	free(fx.wfpr);
	free(fx.sfpr);
	free(fx.plain);
	free(fx.plain_data);
	return 0;
}

/* Assert that *cause exists and contains each NULL-terminated needle. */
static void
assert_cause(char **cause, ...)
{
	const char *needle;
	va_list ap;

	assert_non_null(*cause);
	va_start(ap, cause);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		if (strstr(*cause, needle) == NULL)
			fail_msg("cause \"%s\" lacks \"%s\"", *cause, needle);
	}
	va_end(ap);
	xfree(*cause);
}

static void
assert_same_as_plain(const char *p)
{
	size_t len;
	char *got = slurp(p, &len);

	assert_non_null(got);
	assert_int_equal(len, fx.plain_len);
	assert_memory_equal(got, fx.plain_data, len);
	free(got);
}

static void
import_vendor(void)
{
	char *p = path("vendor.asc"), *fpr = NULL, *cause = NULL;

	assert_int_equal(pgp_import_key(fx.pgp, p, &fpr, &cause), 0);
	assert_null(cause);
	assert_string_equal(fpr, fx.vfpr);
	free(fpr);
	free(p);
}

/* Give the vendor rosterd's public key, as an operator would. */
static char *
vendor_knows_rosterd(const char *vhome)
{
	char *fpr = NULL, *cause = NULL, *pub = NULL, *p;
	size_t len;

	assert_int_equal(
	    pgp_ensure_signing_key(fx.pgp, NULL, PGP_KEY_ED25519, &fpr, &cause),
	    0);
	assert_int_equal(
	    pgp_export_public(fx.pgp, NULL, true, &pub, &len, &cause), 0);
	p = path("rosterd.asc");
	spew(p, pub, len);
	assert_int_equal(run("gpg --homedir %s --batch --import %s", vhome, p),
	                 0);
	free(p);
	free(pub);
	return fpr;
}

/* A home of exactly len bytes: base/hhhh... */
static char *
home_of_len(size_t len, char c)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addf(&b, "%s/", fx.base);
	while (b.len < len)
		buf_addch(&b, c);
	return buf_detach(&b);
}

/*
 * gpg-agent's sockets must fit in sun_path unless GnuPG uses /run/user/UID:
 * 86 bytes work with a real agent, 87 are refused up front.
 */
static void
test_home_length_limit(void)
{
	char rundir[64], *ok = home_of_len(86, 'k'), *cause = NULL;
	char *bad = home_of_len(87, 'b');
	struct pgp *p;

	snprintf(rundir, sizeof(rundir), "/run/user/%u", (unsigned)geteuid());
	if (!exists(rundir)) {
		assert_null(pgp_new(bad, &cause));
		assert_cause(&cause, bad, "too long for gpg-agent's socket",
		             NULL);
	}
	p = pgp_new(ok, &cause);
	assert_non_null(p);
	assert_int_equal(
	    pgp_ensure_signing_key(p, NULL, PGP_KEY_ED25519, NULL, &cause), 0);
	assert_int_equal(pgp_stop_agent(p, &cause), 0);
	pgp_free(p);
	free(ok);
	free(bad);
}

static void
test_new_private_home(void **state)
{
	char *loose = path("loose"), *nested = path("nope/gnupg");
	char *file = path("members.csv"), *cause = NULL, *real;
	struct pgp *p;

	assert_int_equal(file_mode(fx.home), 0700);
	real = realpath(fx.home, NULL);
	assert_string_equal(pgp_homedir(fx.pgp), real);
	free(real);

	/* An existing home that others can read is made private. */
	assert_int_equal(mkdir(loose, 0755), 0);
	assert_int_equal(chmod(loose, 0755), 0);
	p = pgp_new(loose, &cause);
	assert_non_null(p);
	assert_null(cause);
	assert_int_equal(file_mode(loose), 0700);
	pgp_free(p);

	assert_null(pgp_new(nested, &cause));
	assert_cause(&cause, "creating GnuPG home", nested,
	             "No such file or directory", NULL);
	assert_null(pgp_new(file, &cause));
	assert_cause(&cause, "not a directory", NULL);
	test_home_length_limit();
	pgp_free(NULL);
	free(loose);
	free(nested);
	free(file);
}

static void
test_fpr_normalize(void **state)
{
	char *s;

	s = pgp_fpr_normalize("3aa5 c34e 1c2a 0d8f 58e0  1b1b 8c9d 7ea2 "
	                      "0f3b 64c1");
	assert_string_equal(s, "3AA5C34E1C2A0D8F58E01B1B8C9D7EA20F3B64C1");
	free(s);
	s = pgp_fpr_normalize("0123456789abcdef0123456789abcdef0123456789ab"
	                      "cdef0123456789abcdef");
	assert_non_null(s);
	assert_int_equal(strlen(s), 64);
	free(s);
	assert_null(pgp_fpr_normalize("8C9D7EA20F3B64C1")); /* long key ID */
	assert_null(pgp_fpr_normalize("0F3B64C1"));
	assert_null(pgp_fpr_normalize("v@example.com"));
	assert_null(pgp_fpr_normalize("0x3AA5C34E1C2A0D8F58E01B1B8C9D7EA20F3B"
	                              "64C1"));
	assert_null(pgp_fpr_normalize("3AA5C34E1C2A0D8F58E01B1B8C9D7EA20F3B"
	                              "64CG"));
	assert_null(pgp_fpr_normalize(""));
	assert_null(pgp_fpr_normalize(NULL));
}

static void
test_import_armored_and_binary(void **state)
{
	char *bin = path("vendor.gpg"), *fpr = NULL, *cause = NULL;

	import_vendor();
	/* Binary form of the same key: already there, same fingerprint. */
	assert_int_equal(pgp_import_key(fx.pgp, bin, &fpr, &cause), 0);
	assert_null(cause);
	assert_string_equal(fpr, fx.vfpr);
	free(fpr);
	/* fpr_out is optional. */
	assert_int_equal(pgp_import_key(fx.pgp, bin, NULL, &cause), 0);
	assert_int_equal(
	    run("gpg --homedir %s --list-keys %s", fx.home, fx.vfpr), 0);
	free(bin);
}

static void
test_import_missing_file(void **state)
{
	char *p = path("no-such-key.asc"), *fpr = NULL, *cause = NULL;

	assert_int_equal(pgp_import_key(fx.pgp, p, &fpr, &cause), -1);
	assert_null(fpr);
	assert_cause(&cause, "reading key file", p, "No such file", NULL);
	assert_int_equal(pgp_import_key(fx.pgp, fx.base, &fpr, &cause), -1);
	assert_cause(&cause, "not a regular file", NULL);
	free(p);
}

static void
test_import_garbage(void **state)
{
	char *text = path("garbage.asc"), *bin = path("garbage.bin");
	char *empty = path("empty.asc"), *fpr = NULL, *cause = NULL;
	unsigned char noise[2048];
	size_t i;

	spew(text, "this is not a key\n", 18);
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)(i * 7919 + 13);
	spew(bin, noise, sizeof(noise));
	spew(empty, "", 0);
	assert_int_equal(pgp_import_key(fx.pgp, text, &fpr, &cause), -1);
	assert_cause(&cause, text, "no OpenPGP public key", NULL);
	assert_int_equal(pgp_import_key(fx.pgp, bin, &fpr, &cause), -1);
	assert_cause(&cause, bin, NULL);
	assert_int_equal(pgp_import_key(fx.pgp, empty, &fpr, &cause), -1);
	assert_cause(&cause, empty, "no OpenPGP public key", NULL);
	assert_null(fpr);
	free(text);
	free(bin);
	free(empty);
}

static void
test_import_secret_refused(void **state)
{
	char *p = path("vendor-secret.asc"), *fpr = NULL, *cause = NULL;

	assert_int_equal(pgp_import_key(fx.pgp, p, &fpr, &cause), -1);
	assert_null(fpr);
	assert_cause(&cause, p, "secret key", NULL);
	/* Nothing secret reached rosterd's ring. */
	assert_int_not_equal(
	    run("gpg --homedir %s --list-secret-keys %s", fx.home, fx.vfpr), 0);
	free(p);
}

static void
test_import_sign_only_refused(void **state)
{
	char *p = path("signonly.asc"), *fpr = NULL, *cause = NULL;

	assert_int_equal(pgp_import_key(fx.pgp, p, &fpr, &cause), -1);
	assert_cause(&cause, fx.sfpr, "no usable encryption subkey", NULL);
	assert_int_not_equal(
	    run("gpg --homedir %s --list-keys %s", fx.home, fx.sfpr), 0);
	free(p);
}

static void
test_import_two_keys_refused(void **state)
{
	char *p = path("two.asc"), *fpr = NULL, *cause = NULL;

	assert_int_equal(pgp_import_key(fx.pgp, p, &fpr, &cause), -1);
	assert_cause(&cause, p, "holds 2 keys", NULL);
	assert_int_not_equal(
	    run("gpg --homedir %s --list-keys %s", fx.home, fx.wfpr), 0);
	free(p);
}

/* Encrypt the sample to the vendor and decrypt it with the vendor's gpg. */
static void
vendor_round_trip(bool sign, bool armor, const char *signer)
{
	char *out = path("out/report.csv.pgp"), *dec = path("report.dec");
	char *status = path("report.status"), *cause = NULL, *st, *want;
	unsigned char head[32];
	size_t len;
	FILE *f;

	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.vfpr, sign,
	                                  armor, &cause),
	                 0);
	assert_null(cause);
	assert_int_equal(file_mode(out), 0600);
	assert_int_equal(pgp_is_pgp_file(out), 1);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	if (armor)
		assert_memory_equal(head, "-----BEGIN PGP MESSAGE-----", 27);
	else
		assert_true((head[0] & 0x80) != 0);
	unlink(dec);
	assert_int_equal(run("gpg --homedir %s --batch --status-file %s "
	                     "--output %s --decrypt %s",
	                     fx.vhome, status, dec, out),
	                 0);
	assert_same_as_plain(dec);
	st = slurp(status, &len);
	assert_non_null(st);
	assert_non_null(strstr(st, "DECRYPTION_OKAY"));
	/* The literal packet carries the vendor-facing name. */
	assert_non_null(strstr(st, "PLAINTEXT 62 "));
	assert_non_null(strstr(st, " report.csv"));
	if (sign) {
		want = xasprintf("VALIDSIG %s", signer);
		assert_non_null(strstr(st, want));
		free(want);
	} else
		assert_null(strstr(st, "SIG"));
	free(st);
	/* Only the final file is left behind, no temporary. */
	free(dec);
	dec = path("out");
	assert_int_equal(dotfiles(dec), 0);
	free(dec);
	free(status);
	free(out);
}

static void
test_encrypt_vendor_matrix(void **state)
{
	char *out = path("out"), *me;

	import_vendor();
	me = vendor_knows_rosterd(fx.vhome);
	assert_int_equal(mkdir(out, 0755), 0);
	vendor_round_trip(false, false, NULL);
	vendor_round_trip(false, true, NULL);
	vendor_round_trip(true, false, me);
	vendor_round_trip(true, true, me);
	free(out);
	free(me);
}

static void
test_encrypt_replaces_existing(void **state)
{
	char *out = path("old.pgp"), *cause = NULL;

	spew(out, "old", 3);
	assert_int_equal(chmod(out, 0644), 0);
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.vfpr, false,
	                                  true, &cause),
	                 0);
	assert_int_equal(file_mode(out), 0600);
	assert_int_equal(pgp_is_pgp_file(out), 1);
	free(out);
}

static void
test_encrypt_unknown_recipient(void **state)
{
	const char *nobody = "0123456789ABCDEF0123456789ABCDEF01234567";
	char *out = path("nobody.pgp"), *cause = NULL;

	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, nobody, false,
	                                  false, &cause),
	                 -1);
	assert_cause(&cause, "encrypting to ", nobody, "no such public key",
	             NULL);
	assert_false(exists(out));
	assert_int_equal(dotfiles(fx.base), 0);
	free(out);
}

static void
test_encrypt_bad_fingerprint(void **state)
{
	char *out = path("bad.pgp"), *cause = NULL;

	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out,
	                                  "v@example.com", false, false,
	                                  &cause),
	                 -1);
	assert_cause(&cause, "v@example.com", "not a full key fingerprint",
	             NULL);
	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, fx.plain, out, NULL, false, false, &cause),
	    -1);
	assert_cause(&cause, "not a full key fingerprint", NULL);
	assert_false(exists(out));
	free(out);
}

static void
test_encrypt_missing_input(void **state)
{
	char *in = path("absent.csv"), *out = path("absent.pgp"), *cause = NULL;

	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, in, out, fx.vfpr, false, false, &cause),
	    -1);
	assert_cause(&cause, in, "No such file", NULL);
	assert_false(exists(out));
	assert_int_equal(dotfiles(fx.base), 0);
	free(in);
	free(out);
}

static void
test_encrypt_revoked_key(void **state)
{
	char *key = path("w.asc"), *out = path("w.pgp"), *dec = path("w.dec");
	char *fpr = NULL, *cause = NULL, *before, *after;
	size_t blen, alen;

	/* An Ed25519/Cv25519 vendor key works... */
	assert_int_equal(pgp_import_key(fx.pgp, key, &fpr, &cause), 0);
	assert_string_equal(fpr, fx.wfpr);
	xfree(fpr);
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.wfpr, false,
	                                  false, &cause),
	                 0);
	assert_int_equal(run("gpg --homedir %s --batch --output %s --decrypt "
	                     "%s",
	                     fx.whome, dec, out),
	                 0);
	assert_same_as_plain(dec);
	before = slurp(out, &blen);

	/* ...until the vendor revokes it and the revocation reaches us. */
	assert_int_equal(run("sed 's/^:-----/-----/' "
	                     "%s/openpgp-revocs.d/%s.rev | gpg --homedir %s "
	                     "--batch --import",
	                     fx.whome, fx.wfpr, fx.home),
	                 0);
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.wfpr, false,
	                                  false, &cause),
	                 -1);
	assert_cause(&cause, "encrypting to ", fx.wfpr, "revoked", NULL);
	/* The earlier output is untouched and no temporary is left. */
	after = slurp(out, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, alen);
	assert_int_equal(dotfiles(fx.base), 0);
	/* Importing the revoked key again is refused. */
	assert_int_equal(run("gpg --homedir %s --armor --export %s > %s",
	                     fx.home, fx.wfpr, key),
	                 0);
	assert_int_equal(pgp_import_key(fx.pgp, key, &fpr, &cause), -1);
	assert_cause(&cause, fx.wfpr, "is revoked", NULL);
	free(before);
	free(after);
	free(key);
	free(out);
	free(dec);
}

static void
test_own_key_round_trip(void **state)
{
	char *a = NULL, *b = NULL, *signer = NULL, *cause = NULL;
	char *enc = path("self.pgp"), *dec = path("self.csv");

	assert_int_equal(pgp_ensure_signing_key(fx.pgp, "Acme rosterd",
	                                        PGP_KEY_ED25519, &a, &cause),
	                 0);
	assert_int_equal(
	    pgp_ensure_signing_key(fx.pgp, NULL, PGP_KEY_RSA3072, &b, &cause),
	    0);
	assert_string_equal(a, b); /* found, not created again */

	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, fx.plain, enc, a, true, false, &cause), 0);
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, &signer, &cause),
	                 0);
	assert_null(cause);
	assert_same_as_plain(dec);
	assert_int_equal(file_mode(dec), 0600);
	assert_non_null(signer);
	assert_string_equal(signer, a);
	xfree(signer);

	/* Unsigned: no signer; signer_fpr is optional. */
	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, fx.plain, enc, a, false, true, &cause), 0);
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, &signer, &cause),
	                 0);
	assert_null(signer);
	assert_same_as_plain(dec);
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, NULL, &cause), 0);
	free(a);
	free(b);
	free(enc);
	free(dec);
}

static void
test_decrypt_vendor_return_file(void **state)
{
	char *me = vendor_knows_rosterd(fx.vhome), *signer = NULL;
	char *ret = path("ack.csv.pgp"), *dec = path("ack.csv"), *cause = NULL;

	import_vendor();
	assert_int_equal(run("gpg --homedir %s --batch --trust-model always "
	                     "--sign --encrypt -r %s --output %s %s",
	                     fx.vhome, me, ret, fx.plain),
	                 0);
	assert_int_equal(pgp_is_pgp_file(ret), 1);
	assert_int_equal(pgp_decrypt_file(fx.pgp, ret, dec, &signer, &cause),
	                 0);
	assert_null(cause);
	assert_same_as_plain(dec);
	/* The signing subkey resolves to the vendor's primary fingerprint. */
	assert_string_equal(signer, fx.vfpr);
	xfree(signer);

	unlink(ret);
	assert_int_equal(run("gpg --homedir %s --batch --trust-model always "
	                     "--armor --encrypt -r %s --output %s %s",
	                     fx.vhome, me, ret, fx.plain),
	                 0);
	assert_int_equal(pgp_decrypt_file(fx.pgp, ret, dec, &signer, &cause),
	                 0);
	assert_null(signer);
	assert_same_as_plain(dec);
	free(me);
	free(ret);
	free(dec);
}

static void
test_decrypt_unknown_signer(void **state)
{
	char *me = vendor_knows_rosterd(fx.shome), *signer = NULL;
	char *ret = path("stranger.pgp"), *dec = path("stranger.csv");
	char *cause = NULL;

	assert_int_equal(run("gpg --homedir %s --batch --trust-model always "
	                     "--sign --encrypt -r %s --output %s %s",
	                     fx.shome, me, ret, fx.plain),
	                 0);
	/* Decrypts, but a signature nobody can check names no one. */
	assert_int_equal(pgp_decrypt_file(fx.pgp, ret, dec, &signer, &cause),
	                 0);
	assert_null(signer);
	assert_same_as_plain(dec);
	free(me);
	free(ret);
	free(dec);
}

static void
test_decrypt_not_for_us(void **state)
{
	char *enc = path("to-vendor.pgp"), *dec = path("to-vendor.csv");
	char *cause = NULL, *signer = NULL;

	import_vendor();
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, enc, fx.vfpr, false,
	                                  false, &cause),
	                 0);
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, &signer, &cause),
	                 -1);
	assert_cause(&cause, "decrypting ", enc, "No secret key",
	             "encrypted to key ID", NULL);
	assert_null(signer);
	assert_false(exists(dec));
	assert_int_equal(dotfiles(fx.base), 0);
	free(enc);
	free(dec);
}

static void
test_decrypt_tampered(void **state)
{
	char *enc = path("tamper.pgp"), *dec = path("tamper.csv");
	char *cause = NULL, *me = NULL, *data;
	size_t len;

	assert_int_equal(
	    pgp_ensure_signing_key(fx.pgp, NULL, PGP_KEY_ED25519, &me, &cause),
	    0);
	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, fx.plain, enc, me, true, false, &cause),
	    0);
	data = slurp(enc, &len);
	data[len / 2] ^= 0x20;
	spew(enc, data, len);
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, NULL, &cause), -1);
	assert_cause(&cause, "decrypting ", enc, "tampered", NULL);
	/* No partial plaintext, not even under a temporary name. */
	assert_false(exists(dec));
	assert_int_equal(dotfiles(fx.base), 0);
	free(data);
	free(me);
	free(enc);
	free(dec);
}

static void
test_decrypt_plain_file(void **state)
{
	char *dec = path("plain.out"), *cause = NULL;

	assert_int_equal(pgp_decrypt_file(fx.pgp, fx.plain, dec, NULL, &cause),
	                 -1);
	assert_cause(&cause, "decrypting ", fx.plain,
	             "not an OpenPGP encrypted file", NULL);
	assert_false(exists(dec));
	free(dec);
}

static void
test_export_public(void **state)
{
	char *pub = NULL, *cause = NULL, *me = NULL;
	size_t len = 0;

	assert_int_equal(
	    pgp_ensure_signing_key(fx.pgp, NULL, PGP_KEY_ED25519, &me, &cause),
	    0);
	assert_int_equal(
	    pgp_export_public(fx.pgp, me, true, &pub, &len, &cause), 0);
	assert_true(len > 100);
	assert_int_equal(strlen(pub), len);
	assert_memory_equal(pub, "-----BEGIN PGP PUBLIC KEY BLOCK-----", 36);
	assert_null(strstr(pub, "PRIVATE"));
	xfree(pub);
	assert_int_equal(
	    pgp_export_public(fx.pgp, fx.vfpr, false, &pub, &len, &cause), 0);
	/* A binary public-key packet: old format 0x99 or new format 0xc6. */
	assert_true((unsigned char)pub[0] == 0x99 ||
	            (unsigned char)pub[0] == 0xc6);
	xfree(pub);
	assert_int_equal(pgp_export_public(
	                     fx.pgp, "0123456789ABCDEF0123456789ABCDEF01234567",
	                     true, &pub, NULL, &cause),
	                 -1);
	assert_null(pub);
	assert_cause(&cause, "no such key", NULL);
	assert_int_equal(
	    pgp_export_public(fx.pgp, "rosterd", true, &pub, NULL, &cause), -1);
	assert_cause(&cause, "not a full key fingerprint", NULL);
	free(me);
}

static void
test_is_pgp_file(void **state)
{
	char *p = path("sniff"), *cause = NULL;
	static const unsigned char bom[] = {0xef, 0xbb, 0xbf, 'i', 'd', '\n'};
	static const unsigned char utf16[] = {0xff, 0xfe, 'i', 0, 'd', 0};
	static const unsigned char pkesk_old[] = {0x85, 0x01, 0x0c, 0x03};
	static const unsigned char pkesk_new[] = {0xc1, 0xc0, 0x4c, 0x03};

	spew(p, "member_id,name\n1,Ann\n", 21);
	assert_int_equal(pgp_is_pgp_file(p), 0);
	spew(p, bom, sizeof(bom));
	assert_int_equal(pgp_is_pgp_file(p), 0);
	spew(p, utf16, sizeof(utf16));
	assert_int_equal(pgp_is_pgp_file(p), 0);
	spew(p, "", 0);
	assert_int_equal(pgp_is_pgp_file(p), 0);
	spew(p, "ISA*00*          *00*", 20);
	assert_int_equal(pgp_is_pgp_file(p), 0);
	spew(p, pkesk_old, sizeof(pkesk_old));
	assert_int_equal(pgp_is_pgp_file(p), 1);
	spew(p, pkesk_new, sizeof(pkesk_new));
	assert_int_equal(pgp_is_pgp_file(p), 1);
	spew(p, "\r\n\nSome preamble\n-----BEGIN PGP MESSAGE-----\n", 45);
	assert_int_equal(pgp_is_pgp_file(p), 1);
	/* Not at the start of a line: just text that mentions it. */
	spew(p, "note: -----BEGIN PGP MESSAGE-----\n", 34);
	assert_int_equal(pgp_is_pgp_file(p), 0);
	free(p);
	p = path("vendor.asc");
	assert_int_equal(pgp_is_pgp_file(p), 1);
	free(p);
	p = path("vendor.gpg");
	assert_int_equal(pgp_is_pgp_file(p), 1);
	free(p);
	p = path("absent");
	assert_int_equal(pgp_is_pgp_file(p), -1);
	free(p);
	assert_null(cause);
}

struct progress {
	int calls;
	long long last_done;
	long long total;
};

static void
on_progress(void *arg, long long done, long long total)
{
	struct progress *pr = arg;

	pr->calls++;
	pr->last_done = done;
	if (total > pr->total)
		pr->total = total;
}

static void
test_progress(void **state)
{
	struct progress pr = {0};
	char *out = path("progress.pgp"), *cause = NULL;

	import_vendor();
	pgp_set_progress(fx.pgp, on_progress, &pr);
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.vfpr, false,
	                                  false, &cause),
	                 0);
	pgp_set_progress(fx.pgp, NULL, NULL);
	assert_true(pr.calls >= 1);
	assert_true(pr.total > 0);
	assert_int_equal(pr.last_done, pr.total);
	/* Turned off: no more calls. */
	pr.calls = 0;
	assert_int_equal(pgp_encrypt_file(fx.pgp, fx.plain, out, fx.vfpr, false,
	                                  false, &cause),
	                 0);
	assert_int_equal(pr.calls, 0);
	free(out);
}

/* A second rosterd home: own RSA-3072 key, encrypt to self, decrypt. */
static void
test_rsa3072_own_key(void **state)
{
	char *home = path("data-rsa"), *fpr = NULL, *cause = NULL;
	char *enc = path("rsa.pgp"), *dec = path("rsa.csv"), *signer = NULL;
	struct pgp *p;

	p = pgp_new(home, &cause);
	assert_non_null(p);
	assert_int_equal(pgp_ensure_signing_key(p, "rosterd RSA <r@example>",
	                                        PGP_KEY_RSA3072, &fpr, &cause),
	                 0);
	assert_null(cause);
	/* pub and sub are both RSA (algo 1), 3072 bits. */
	assert_int_equal(run("test \"$(gpg --homedir %s --with-colons "
	                     "--list-keys %s | grep -c -E '^(pub|sub):u?:3072:"
	                     "1:')\" = 2",
	                     home, fpr),
	                 0);
	assert_int_equal(
	    pgp_encrypt_file(p, fx.plain, enc, fpr, true, true, &cause), 0);
	assert_int_equal(pgp_decrypt_file(p, enc, dec, &signer, &cause), 0);
	assert_string_equal(signer, fpr);
	assert_same_as_plain(dec);
	assert_int_equal(pgp_ensure_signing_key(p, NULL, 7, NULL, &cause), -1);
	assert_cause(&cause, "unknown key algorithm", NULL);
	assert_int_equal(pgp_stop_agent(p, &cause), 0);
	pgp_free(p);
	free(signer);
	free(fpr);
	free(home);
	free(enc);
	free(dec);
}

/* A key left without its encryption subkey (crash mid-creation). */
static void
test_missing_subkey_repaired(void **state)
{
	char *home = path("data-half"), *fpr = NULL, *cause = NULL, *gfpr;
	char *enc = path("half.pgp"), *dec = path("half.csv"), *signer = NULL;
	struct pgp *p;

	p = pgp_new(home, &cause);
	assert_non_null(p);
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-gen-key "
	                     "'Half <h@example.com>' ed25519 sign,cert never",
	                     home),
	                 0);
	gfpr = gpg_fpr(home, "h@example.com");
	assert_int_equal(
	    pgp_ensure_signing_key(p, NULL, PGP_KEY_ED25519, &fpr, &cause), 0);
	assert_string_equal(fpr, gfpr);
	assert_int_equal(run("gpg --homedir %s --with-colons --list-keys %s | "
	                     "grep -q '^sub:u:255:18:.*:e:'",
	                     home, fpr),
	                 0);
	assert_int_equal(
	    pgp_encrypt_file(p, fx.plain, enc, fpr, true, false, &cause), 0);
	assert_int_equal(pgp_decrypt_file(p, enc, dec, &signer, &cause), 0);
	assert_string_equal(signer, fpr);
	assert_same_as_plain(dec);
	assert_int_equal(pgp_stop_agent(p, &cause), 0);
	pgp_free(p);
	free(gfpr);
	free(signer);
	free(fpr);
	free(home);
	free(enc);
	free(dec);
}

/* A key with a passphrase fails at once instead of waiting for pinentry. */
static void
test_protected_key_fails_fast(void **state)
{
	char *home = path("data-locked"), *fpr = NULL, *cause = NULL;
	char *enc = path("locked.pgp");
	struct pgp *p;

	p = pgp_new(home, &cause);
	assert_non_null(p);
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase 'secret' --quick-gen-key "
	                     "'Locked <l@example.com>' future-default default "
	                     "never",
	                     home),
	                 0);
	assert_int_equal(
	    pgp_ensure_signing_key(p, NULL, PGP_KEY_ED25519, &fpr, &cause), 0);
	assert_int_equal(
	    pgp_encrypt_file(p, fx.plain, enc, fpr, true, false, &cause), -1);
	assert_cause(&cause, "signing with ", fpr, "no passphrase", NULL);
	assert_false(exists(enc));
	assert_int_equal(pgp_stop_agent(p, &cause), 0);
	pgp_free(p);
	free(fpr);
	free(home);
	free(enc);
}

static void
test_stop_agent(void **state)
{
	char *cause = NULL, *me = NULL, *enc = path("agent.pgp");
	char *dec = path("agent.csv");

	assert_int_equal(
	    pgp_ensure_signing_key(fx.pgp, NULL, PGP_KEY_ED25519, &me, &cause),
	    0);
	assert_int_equal(
	    pgp_encrypt_file(fx.pgp, fx.plain, enc, me, true, false, &cause),
	    0);
	assert_int_equal(pgp_stop_agent(fx.pgp, &cause), 0);
	assert_null(cause);
	/* The next operation that needs the agent simply starts it again. */
	assert_int_equal(pgp_decrypt_file(fx.pgp, enc, dec, NULL, &cause), 0);
	assert_same_as_plain(dec);
	free(me);
	free(enc);
	free(dec);
}

static void
test_user_gnupg_untouched(void **state)
{
	char *p = path("user/.gnupg");

	assert_false(exists(p));
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_private_home),
	    cmocka_unit_test(test_fpr_normalize),
	    cmocka_unit_test(test_import_armored_and_binary),
	    cmocka_unit_test(test_import_missing_file),
	    cmocka_unit_test(test_import_garbage),
	    cmocka_unit_test(test_import_secret_refused),
	    cmocka_unit_test(test_import_sign_only_refused),
	    cmocka_unit_test(test_import_two_keys_refused),
	    cmocka_unit_test(test_encrypt_vendor_matrix),
	    cmocka_unit_test(test_encrypt_replaces_existing),
	    cmocka_unit_test(test_encrypt_unknown_recipient),
	    cmocka_unit_test(test_encrypt_bad_fingerprint),
	    cmocka_unit_test(test_encrypt_missing_input),
	    cmocka_unit_test(test_encrypt_revoked_key),
	    cmocka_unit_test(test_own_key_round_trip),
	    cmocka_unit_test(test_decrypt_vendor_return_file),
	    cmocka_unit_test(test_decrypt_unknown_signer),
	    cmocka_unit_test(test_decrypt_not_for_us),
	    cmocka_unit_test(test_decrypt_tampered),
	    cmocka_unit_test(test_decrypt_plain_file),
	    cmocka_unit_test(test_export_public),
	    cmocka_unit_test(test_is_pgp_file),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_rsa3072_own_key),
	    cmocka_unit_test(test_missing_subkey_repaired),
	    cmocka_unit_test(test_protected_key_fails_fast),
	    cmocka_unit_test(test_stop_agent),
	    cmocka_unit_test(test_user_gnupg_untouched),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
