/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * Unit tests for src/deliver/: the `delivery` config section, the run
 * state machine against local `dir:` destinations and a closed SFTP port,
 * crash and resume at every state (the ROSTERD_TEST_CRASH_AT hook in a
 * forked child), one active delivery per feed, the feed lock, pending
 * runs and return files. Encryption uses real gpg: a vendor key made with
 * the gpg command line, and files decrypted by the vendor's gpg compared
 * byte for byte. Rendered runs are rows written straight into feed_runs
 * (what the feed engine records) plus the file in the outbox. Everything
 * lives under one mkdtemp directory, HOME included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cfg/cfg.h"
#include "deliver/deliver.h"
#include "deliver/deliver_util.h"
#include "pgp/pgp.h"
#include "store/store.h"
#include "store/store_deliver.h"
#include "store/store_feed.h"
#include "util/buf.h"
#include "util/xmalloc.h"

struct fx {
	char base[64];
	char *db;
	char *outbox;
	char *vhome; /* the vendor's gpg home */
	char *vfpr;
	char *other_fpr; /* a valid fingerprint of no key we have */
	char *key;       /* a dummy SSH key file */
	int closed_port;
	struct cfg *cfg;
	struct deliver_config *dc;
	struct deliver_env env;
	struct store *st;
	int64_t tenant_id;
};

static struct fx fx;

static char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
path(const char *fmt, ...)
{
	va_list ap;
	char *rel, *p;

	va_start(ap, fmt);
	rel = xvasprintf(fmt, ap);
	va_end(ap);
	p = xasprintf("%s/%s", fx.base, rel);
	free(rel);
	return p;
}

/* Run a shell command; chatter goes to base/cmd.log. */
static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("(%s) >>%s/cmd.log 2>&1", cmd, fx.base);
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
	if (len != NULL)
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

static bool
exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Entries of a directory (dot files included, . and .. not). */
static int
entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A fresh destination directory for a test. */
static char *
dest(const char *name)
{
	char *d = path("%s", name);

	assert_int_equal(run("rm -rf %s && mkdir -p %s", d, d), 0);
	return d;
}

static char *
gpg_fpr(const char *home)
{
	char *cmd, line[512], *fpr = NULL, *f;
	FILE *p;
	int field;

	cmd = xasprintf("gpg --homedir %s --with-colons --list-keys "
	                "2>/dev/null",
	                home);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fpr == NULL && fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "fpr:", 4) != 0)
			continue;
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

/* A loopback port nothing listens on. */
static int
closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* A failed delivery blocks its feed: tests that fail one use their own. */
static const char *const feed_names[] = {
    "plain", "enc",   "asc",   "badfpr",  "down",  "crash", "busy", "ret",
    "lock",  "nodir", "other", "changed", "taken", "twin",  NULL};

static void
write_config(void)
{
	struct buf b;
	char *p, *cause = NULL;
	int i;

	buf_init(&b, 0);
	buf_addf(&b, "server:\n  outbox: %s\nfeeds:\n", fx.outbox);
	for (i = 0; feed_names[i] != NULL; i++)
		buf_addf(&b, "  %s: {}\n", feed_names[i]);
	buf_addstr(&b, "delivery:\n");
	buf_addf(&b, "  plain: {destination: 'dir:%s/d/plain'}\n", fx.base);
	buf_addf(&b,
	         "  enc:\n    destination: 'dir:%s/d/enc'\n"
	         "    pgp: {recipient_key: %s/vendor.asc, fingerprint: '%s',"
	         " sign: true}\n",
	         fx.base, fx.base, fx.vfpr);
	buf_addf(&b,
	         "  asc:\n    destination: 'dir:%s/d/asc'\n"
	         "    remote_mode: '0640'\n"
	         "    pgp: {recipient_key: %s/vendor.asc, armor: true, "
	         "keep_plaintext: true}\n",
	         fx.base, fx.base);
	buf_addf(&b,
	         "  badfpr:\n    destination: 'dir:%s/d/badfpr'\n"
	         "    pgp: {recipient_key: %s/vendor.asc, fingerprint: '%s'}\n",
	         fx.base, fx.base, fx.other_fpr);
	buf_addf(&b,
	         "  down:\n    destination: 'sftp://u@127.0.0.1:%d/in'\n"
	         "    ssh_key: %s\n"
	         "    host_key_sha256: "
	         "'SHA256:q2XqrY+FNGwJVxKsTBacAfJ4DQtPKU8n+8ErOFMrwO8'\n"
	         "    retries: {max: 2, base_ms: 40, cap_ms: 60}\n"
	         "    timeouts: {connect_ms: 2000}\n",
	         fx.closed_port, fx.key);
	buf_addf(&b,
	         "  crash:\n    destination: 'dir:%s/d/crash'\n"
	         "    pgp: {recipient_key: %s/vendor.asc}\n",
	         fx.base, fx.base);
	buf_addf(&b, "  busy: {destination: 'dir:%s/d/busy'}\n", fx.base);
	buf_addf(&b, "  changed: {destination: 'dir:%s/d/changed'}\n", fx.base);
	buf_addf(&b, "  taken: {destination: 'dir:%s/d/taken'}\n", fx.base);
	buf_addf(&b, "  twin: {destination: 'dir:%s/d/twin'}\n", fx.base);
	buf_addf(&b,
	         "  ret:\n    destination: 'dir:%s/d/ret'\n"
	         "    returns: {dir: %s/d/retin, pattern: '*.ack*', "
	         "key_column: Member ID, status_column: Status, "
	         "message_column: Message, accepted: [A, ok]}\n",
	         fx.base, fx.base);
	buf_addf(&b, "  lock: {destination: 'dir:%s/d/lock'}\n", fx.base);
	buf_addf(&b, "  nodir: {destination: 'dir:%s/d/missing'}\n", fx.base);
	p = path("rosterd.yaml");
	spew(p, b.data, b.len);
	buf_free(&b);
	fx.cfg = cfg_load(p, &cause);
	free(p);
	assert_null(cause);
	assert_non_null(fx.cfg);
	fx.dc = deliver_config_load(fx.cfg);
	if (fx.cfg->nerrors > 0)
		fail_msg("%s", buf_str(&fx.cfg->errors));
	assert_non_null(fx.dc);
}

static int
group_setup(void **state)
{
	struct store_tenant t;
	char *home, *cause = NULL;

	snprintf(fx.base, sizeof(fx.base), "/tmp/rdt-XXXXXX");
	assert_non_null(mkdtemp(fx.base));
	home = path("user");
	assert_int_equal(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	unsetenv("GNUPGHOME");
	unsetenv("ROSTERD_TEST_CRASH_AT");
	free(home);
	fx.vhome = path("vendor");
	assert_int_equal(mkdir(fx.vhome, 0700), 0);
	assert_int_equal(run("gpg --homedir %s --batch --pinentry-mode "
	                     "loopback --passphrase '' --quick-gen-key "
	                     "'Vendor <v@example.com>' future-default default "
	                     "never && gpg --homedir %s --armor --export > "
	                     "%s/vendor.asc",
	                     fx.vhome, fx.vhome, fx.base),
	                 0);
	fx.vfpr = gpg_fpr(fx.vhome);
	fx.other_fpr = xstrdup("0123456789ABCDEF0123456789ABCDEF01234567");
	fx.key = path("id_dummy");
	spew(fx.key, "not a key\n", 10);
	fx.closed_port = closed_port();
	fx.outbox = path("outbox");
	assert_int_equal(mkdir(fx.outbox, 0700), 0);
	assert_int_equal(run("mkdir -p %s/d/retin", fx.base), 0);
	write_config();
	fx.db = path("r.db");
	fx.st = store_open(fx.db, &cause);
	assert_null(cause);
	assert_non_null(fx.st);
	assert_int_equal(store_tenant_create(fx.st, "acme", &t), STORE_OK);
	fx.tenant_id = t.id;
	store_tenant_clear(&t);
	fx.env.data_dir = fx.base;
	fx.env.outbox = fx.outbox;
	*state = &fx;
	return 0;
}

static int
group_teardown(void **state)
{
	deliver_stop_agent(&fx.env);
	run("gpgconf --homedir %s --kill all", fx.vhome);
	store_close(fx.st);
	deliver_config_free(fx.dc);
	cfg_free(fx.cfg);
	if (getenv("ROSTERD_TEST_KEEP") == NULL)
		run("rm -rf %s", fx.base);
	free(fx.db);
	free(fx.outbox);
	free(fx.vhome);
	free(fx.vfpr);
	free(fx.other_fpr);
	free(fx.key);
	return 0;
}

/* Close and reopen the store (around fork, and to see other writers). */
static void
reopen(void)
{
	char *cause = NULL;

	store_close(fx.st);
	fx.st = store_open(fx.db, &cause);
	assert_null(cause);
	assert_non_null(fx.st);
}

/* A side connection for what the store API does not offer. */
static sqlite3 *
side_db(void)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
sql_int(const char *sql, const char *arg)
{
	sqlite3 *db = side_db();
	sqlite3_stmt *s;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static char *
sql_text(const char *sql, const char *arg)
{
	sqlite3 *db = side_db();
	sqlite3_stmt *s;
	char *v = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Sample rendered bytes: CRLF rows, UTF-8, no final newline. */
static char *
sample(int rows, size_t *len)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	buf_addstr(&b, "Member ID,First Name,Last Name\r\n");
	for (i = 0; i < rows; i++)
		buf_addf(&b, "M%06d,Zoë,O'Brien-%d\r\n", i, i);
	buf_addstr(&b, "END");
	*len = b.len;
	return buf_detach(&b);
}

/*
 * A run of feed in state `state` whose file (bytes) is in the outbox,
 * recorded as the feed engine records a rendered run. Returns its id.
 */
static char *
make_run_state(const char *feed, const char *state, const char *bytes,
               size_t len)
{
	static int counter;
	char hex[DELIVER_SHA256_HEX], id[32], *name, *file, *cause = NULL;
	char now[32];
	int64_t size, seq;
	sqlite3_stmt *s;
	sqlite3 *db;

	seq = sql_int("SELECT coalesce(max(seq), 0) + 1 FROM feed_runs WHERE "
	              "feed = ?1",
	              feed);
	snprintf(id, sizeof(id), "run_%016x", ++counter * 7919 + 0x1000);
	name = xasprintf("acme_%s_%03lld.csv", feed, (long long)seq);
	file = xasprintf("%s/%s", fx.outbox, name);
	spew(file, bytes, len);
	assert_int_equal(deliver_hash_file(file, hex, &size, &cause), 0);
	store_now(now, sizeof(now));
	db = side_db();
	assert_int_equal(
	    sqlite3_prepare_v2(
	        db,
	        "INSERT INTO feed_runs (id, feed, tenant_id, seq, state, mode, "
	        "as_of, clock, created, updated, rule_hash, values_hash, "
	        "layout_hash, layout, out_dir, file_seq, file_name, "
	        "file_sha256, file_size) VALUES (?1, ?2, ?3, ?4, ?5, 'full', "
	        "'2026-12-04', '2026-12-04T00:00:00Z', ?6, ?6, 'r', 'v', 'l', "
	        "'[]', ?7, ?4, ?8, ?9, ?10)",
	        -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, feed, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, fx.tenant_id);
	sqlite3_bind_int64(s, 4, seq);
	sqlite3_bind_text(s, 5, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, fx.outbox, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 10, size);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(name);
	free(file);
	return xstrdup(id);
}

static char *
make_run(const char *feed, const char *bytes, size_t len)
{
	return make_run_state(feed, STORE_FEED_RENDERED, bytes, len);
}

static int
deliver(const char *run_id, int64_t *wait, char **cause)
{
	int64_t w;

	*cause = NULL;
	return deliver_run(fx.st, fx.dc, &fx.env, run_id, wait ? wait : &w,
	                   cause);
}

static void
get_delivery(const char *run_id, struct store_delivery *d)
{
	assert_int_equal(store_deliver_get(fx.st, run_id, d), STORE_OK);
}

/* gpg (vendor home) decrypts p to exactly want. */
static void
assert_decrypts_to(const char *p, const char *want, size_t want_len)
{
	char out[128], *got, *cmd;
	size_t len;

	snprintf(out, sizeof(out), "%s/decrypted.out", fx.base);
	unlink(out);
	cmd = xasprintf("gpg --homedir %s --batch --decrypt -o %s %s", fx.vhome,
	                out, p);
	assert_int_equal(run("%s", cmd), 0);
	free(cmd);
	got = slurp(out, &len);
	assert_non_null(got);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
	unlink(out);
}

/* The vendor imports rosterd's public key (to check signatures, or to
 * encrypt return files to it). */
static void
vendor_imports_rosterd_key(void)
{
	char *home = path("gnupg"), *p = path("rosterd.pub.asc"), *pub;
	char *cause = NULL;
	struct pgp *pgp;
	size_t publen;

	pgp = pgp_new(home, &cause);
	assert_non_null(pgp);
	assert_int_equal(
	    pgp_ensure_signing_key(pgp, NULL, PGP_KEY_ED25519, NULL, &cause),
	    0);
	assert_int_equal(
	    pgp_export_public(pgp, NULL, true, &pub, &publen, &cause), 0);
	pgp_free(pgp);
	spew(p, pub, publen);
	free(pub);
	assert_int_equal(
	    run("gpg --homedir %s --batch --import %s", fx.vhome, p), 0);
	free(p);
	free(home);
}

/* --- configuration ---------------------------------------------------- */

static void
test_config_loaded(void **state)
{
	const struct deliver_feed *f;
	const char *const *names = deliver_feeds(fx.dc);
	int n = 0;

	while (names[n] != NULL)
		n++;
	assert_int_equal(n, 13);
	f = deliver_feed_find(fx.dc, "enc");
	assert_non_null(f);
	assert_true(f->has_pgp);
	assert_true(f->pgp.sign);
	assert_false(f->pgp.armor);
	assert_string_equal(f->pgp.fingerprint, fx.vfpr);
	assert_int_equal(f->remote_mode, 0600);
	assert_int_equal(f->retries_max, DELIVER_RETRIES_MAX_DEFAULT);
	f = deliver_feed_find(fx.dc, "asc");
	assert_int_equal(f->remote_mode, 0640);
	assert_true(f->pgp.keep_plaintext);
	f = deliver_feed_find(fx.dc, "down");
	assert_int_equal(f->retries_max, 2);
	assert_int_equal(f->retry_base_ms, 40);
	assert_int_equal(f->connect_ms, 2000);
	f = deliver_feed_find(fx.dc, "ret");
	assert_true(f->has_returns);
	assert_string_equal(f->returns.key_column, "Member ID");
	assert_int_equal(f->returns.naccepted, 2);
	assert_int_equal(f->returns.delimiter, ',');
	assert_null(deliver_feed_find(fx.dc, "other"));
	assert_null(deliver_feed_find(NULL, "plain"));
}

static const char bad_config[] = "feeds:\n"
                                 "  a: {}\n"
                                 "  b: {}\n"
                                 "  c: {}\n"
                                 "  d: {mode: both}\n"
                                 "delivery:\n"
                                 "  a:\n"
                                 "    destination: sftp://u@h/in\n"
                                 "    ssh_key: /k\n"
                                 "    remote_mode: '0644x'\n"
                                 "    schedule: '0 25 * * *'\n"
                                 "    timezone: Mars/Olympus\n"
                                 "    retries: {base_ms: 500, cap_ms: 100}\n"
                                 "    colour: blue\n"
                                 "  b:\n"
                                 "    destination: ftp://h/in\n"
                                 "    pgp: {fingerprint: ABCD}\n"
                                 "    returns: {dir: relative, accepted: []}\n"
                                 "  c:\n"
                                 "    destination: dir:/tmp\n"
                                 "    host_key_sha256: 'MD5:16:27'\n"
                                 "    full_schedule: '0 6 * * 1'\n"
                                 "  d:\n"
                                 "    destination: dir:/tmp\n"
                                 "    full_schedule: '0 6 * * 8'\n"
                                 "  zzz: {destination: 'dir:/tmp'}\n";

static void
test_config_errors(void **state)
{
	char *p = path("bad.yaml"), *cause = NULL;
	struct deliver_config *dc;
	const char *e;
	struct cfg *c;

	spew(p, bad_config, sizeof(bad_config) - 1);
	c = cfg_load(p, &cause);
	assert_non_null(c);
	dc = deliver_config_load(c);
	e = buf_str(&c->errors);
	assert_non_null(strstr(e, "bad.yaml:7:3: delivery.a.host_key_sha256: "
	                          "required for an sftp:// destination"));
	assert_non_null(strstr(e, "delivery.a.remote_mode: expected an octal "
	                          "mode"));
	assert_non_null(strstr(e, "delivery.a.schedule: cron \"0 25 * * *\": "
	                          "field 2 (hour)"));
	assert_non_null(strstr(e, "delivery.a.timezone: "));
	assert_non_null(strstr(e, "delivery.a.retries.cap_ms: must not be "
	                          "below retries.base_ms (500)"));
	assert_non_null(strstr(e, "delivery.a.colour: unknown key"));
	assert_non_null(strstr(e, "delivery.c.full_schedule: needs mode: both "
	                          "in feeds.c (change files on schedule, full "
	                          "files on full_schedule)"));
	assert_non_null(strstr(e, "delivery.d.full_schedule: cron "));
	assert_non_null(strstr(e, "delivery.b.destination: expected "
	                          "sftp://USER@HOST[:PORT]/DIR or dir:/PATH"));
	assert_non_null(strstr(e, "delivery.b.pgp.recipient_key: missing "
	                          "value"));
	assert_non_null(strstr(e, "delivery.b.pgp.fingerprint: expected a "
	                          "full key fingerprint"));
	assert_non_null(strstr(e, "delivery.b.returns.dir: expected an "
	                          "absolute directory"));
	assert_non_null(strstr(e, "delivery.b.returns.key_column: missing"));
	assert_non_null(strstr(e, "delivery.b.returns.accepted: expected a "
	                          "list"));
	assert_non_null(strstr(e, "delivery.c: ssh_key, ssh_public_key and "
	                          "host_key_sha256 apply only to an sftp://"));
	assert_non_null(strstr(e, "bad.yaml:26:3: delivery.zzz: no feed "
	                          "profile named zzz in feeds"));
	assert_int_equal(c->nerrors, 17);
	assert_non_null(dc);
	assert_null(deliver_feed_find(dc, "a"));
	deliver_config_free(dc);
	cfg_free(c);
	free(p);
}

/* Names that every delivery would refuse are a configuration error. */
static void
test_config_name_too_long(void **state)
{
	char *p = path("long.yaml"), *cause = NULL, *yaml;
	char big[192];
	struct deliver_config *dc;
	struct cfg *c;
	const char *e;

	memset(big, 'a', 190);
	big[190] = '\0';
	/* 190 + "-" + a 10-digit {seq} = 201; 197 + ".pgp" = 201. */
	yaml = xasprintf("feeds:\n"
	                 "  long: {tenant: acme, file_name: '%s-{seq}'}\n"
	                 "  pgp: {tenant: acme, file_name: '%.186s-{seq}'}\n"
	                 "  fits: {tenant: acme, file_name: '%.185s-{seq}'}\n"
	                 "delivery:\n"
	                 "  long: {destination: 'dir:/tmp'}\n"
	                 "  pgp:\n"
	                 "    destination: dir:/tmp\n"
	                 "    pgp: {recipient_key: /k.asc}\n"
	                 "  fits:\n"
	                 "    destination: dir:/tmp\n"
	                 "    pgp: {recipient_key: /k.asc}\n",
	                 big, big, big);
	spew(p, yaml, strlen(yaml));
	c = cfg_load(p, &cause);
	assert_non_null(c);
	dc = deliver_config_load(c);
	e = buf_str(&c->errors);
	assert_non_null(strstr(e, "long.yaml:6:3: delivery.long: "
	                          "feeds.long.file_name can expand to 201 "
	                          "bytes, and a delivered file name takes at "
	                          "most 200"));
	assert_non_null(strstr(e, "long.yaml:7:3: delivery.pgp: "
	                          "feeds.pgp.file_name can expand to 201 bytes "
	                          "with the PGP suffix, and a delivered file "
	                          "name takes at most 200"));
	assert_int_equal(c->nerrors, 2);
	assert_non_null(deliver_feed_find(dc, "fits"));
	deliver_config_free(dc);
	cfg_free(c);
	free(yaml);
	free(p);
}

static void
test_config_absent(void **state)
{
	struct cfg *c = cfg_default();

	assert_null(deliver_config_load(c));
	assert_int_equal(c->nerrors, 0);
	assert_null(deliver_feeds(NULL)[0]);
	cfg_free(c);
}

/* --- delivering ------------------------------------------------------- */

static void
test_plain_dir_delivery(void **state)
{
	char *d = dest("d/plain"), *run_id, *cause, *got, *target, *st;
	struct store_delivery dl;
	size_t len, glen;
	char *bytes = sample(50, &len);

	run_id = make_run("plain", bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_null(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	assert_int_equal(dl.attempts, 1);
	assert_int_equal(dl.size, (int64_t)len);
	assert_null(dl.enc_path);
	assert_non_null(dl.delivered_at);
	target = xasprintf("%s/%s", d, dl.remote_name);
	got = slurp(target, &glen);
	assert_int_equal(glen, len);
	assert_memory_equal(got, bytes, len);
	assert_int_equal(file_mode(target), 0600);
	assert_int_equal(entries(d), 1);
	/* The plaintext stays when nothing was encrypted. */
	assert_true(exists(dl.plain_path));
	/* Again: already delivered, nothing sent. */
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_int_equal(entries(d), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM delivery_attempts "
	                         "WHERE run_id = ?1",
	                         run_id),
	                 1);
	/* The feed run tells the same story. */
	st = sql_text("SELECT state FROM feed_runs WHERE id = ?1", run_id);
	assert_string_equal(st, "delivered");
	free(st);
	st = sql_text("SELECT group_concat(to_state, ' ') FROM (SELECT "
	              "to_state FROM feed_run_events WHERE run_id = ?1 ORDER "
	              "BY id)",
	              run_id);
	assert_string_equal(st, "uploading delivered");
	free(st);
	store_delivery_clear(&dl);
	free(got);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_pgp_delivery(void **state)
{
	char *d = dest("d/enc"), *run_id, *cause, *target;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(3000, &len), hdr[16];
	FILE *f;

	run_id = make_run("enc", bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_null(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	assert_non_null(dl.encrypted_at);
	assert_non_null(strstr(dl.remote_name, ".csv.pgp"));
	target = xasprintf("%s/%s", d, dl.remote_name);
	assert_int_equal(entries(d), 1);
	assert_int_equal(file_mode(target), 0600);
	/* Binary OpenPGP, not armour. */
	f = fopen(target, "rb");
	assert_non_null(f);
	assert_int_equal(fread(hdr, 1, 5, f), 5);
	fclose(f);
	assert_true((unsigned char)hdr[0] & 0x80);
	/* Signed by rosterd: gpg checks it once the vendor has our key. */
	vendor_imports_rosterd_key();
	assert_decrypts_to(target, bytes, len);
	/* The manifest is the encrypted file's. */
	{
		char hex[DELIVER_SHA256_HEX];
		int64_t size;

		assert_int_equal(deliver_hash_file(target, hex, &size, &cause),
		                 0);
		assert_string_equal(hex, dl.sha256);
		assert_int_equal(size, dl.size);
	}
	/* Plaintext gone, spool cleaned. */
	assert_false(exists(dl.plain_path));
	assert_false(exists(dl.enc_path));
	{
		char *spool = path("spool");

		assert_int_equal(entries(spool), 0);
		free(spool);
	}
	store_delivery_clear(&dl);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_armor_keep_plaintext(void **state)
{
	char *d = dest("d/asc"), *run_id, *cause, *target, *got;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(10, &len);

	run_id = make_run("asc", bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	get_delivery(run_id, &dl);
	assert_non_null(strstr(dl.remote_name, ".csv.asc"));
	target = xasprintf("%s/%s", d, dl.remote_name);
	got = slurp(target, NULL);
	assert_non_null(got);
	assert_memory_equal(got, "-----BEGIN PGP MESSAGE-----", 27);
	assert_int_equal(file_mode(target), 0640);
	assert_decrypts_to(target, bytes, len);
	assert_true(exists(dl.plain_path));
	store_delivery_clear(&dl);
	free(got);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_wrong_vendor_key(void **state)
{
	char *d = dest("d/badfpr"), *run_id, *cause;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(5, &len);

	run_id = make_run("badfpr", bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "as the profile says; refusing to "
	                              "encrypt to it"));
	free(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_FAILED);
	assert_string_equal(dl.failed_from, STORE_DELIVER_RENDERED);
	assert_int_equal(entries(d), 0);
	assert_true(exists(dl.plain_path));
	/* A failed run stays failed; deliver_run says why. */
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "refusing to encrypt"));
	free(cause);
	store_delivery_clear(&dl);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_missing_destination_dir(void **state)
{
	char *run_id, *cause;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(5, &len);

	run_id = make_run("nodir", bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "d/missing"));
	free(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_FAILED);
	assert_int_equal(dl.attempts, 1);
	assert_int_equal(sql_int("SELECT count(*) FROM delivery_attempts WHERE "
	                         "run_id = ?1 AND outcome = 'failed'",
	                         run_id),
	                 1);
	store_delivery_clear(&dl);
	free(run_id);
	free(bytes);
}

/* A later run waits while an earlier one failed; a discarded one not. */
static void
test_failed_blocks_later_runs(void **state)
{
	const char *discard = "UPDATE feed_runs SET state = 'discarded' WHERE "
	                      "feed = 'nodir' AND state = 'failed'";
	struct store_delivery dl;
	char *a, *b, *cause;
	int64_t wait;
	sqlite3 *db;
	size_t len;
	char *bytes = sample(5, &len);

	db = side_db(); /* earlier tests' failures */
	assert_int_equal(sqlite3_exec(db, discard, NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	a = make_run("nodir", bytes, len);
	b = make_run("nodir", bytes, len);
	assert_int_equal(deliver(a, NULL, &cause), -1);
	free(cause);
	assert_int_equal(deliver(b, &wait, &cause), 1);
	assert_int_equal(wait, DELIVER_RETRY_CAP_MS_DEFAULT); /* not 1 s */
	assert_non_null(strstr(cause, "came before run"));
	assert_non_null(strstr(cause, a));
	assert_non_null(strstr(cause, "feed discard"));
	free(cause);
	assert_int_equal(
	    sql_int("SELECT count(*) FROM deliveries WHERE run_id = ?1", b), 0);
	db = side_db();
	assert_int_equal(sqlite3_exec(db, discard, NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(deliver_retry(fx.st, a, &cause), -1);
	assert_non_null(strstr(cause, "is discarded"));
	free(cause);
	/* A retry that read the run before the discard still cannot move it. */
	get_delivery(a, &dl);
	assert_int_equal(store_deliver_advance(fx.st, &dl, STORE_DELIVER_FAILED,
	                                       "retry after failure"),
	                 STORE_CONFLICT);
	store_delivery_clear(&dl);
	/* b goes ahead now (and fails on its own: the directory is missing). */
	assert_int_equal(deliver(b, NULL, &cause), -1);
	assert_null(strstr(cause, "came before run"));
	assert_non_null(strstr(cause, "d/missing"));
	free(cause);
	free(a);
	free(b);
	free(bytes);
}

static void
test_collision_not_overwritten(void **state)
{
	char *d = dest("d/taken"), *run_id, *cause, *target, *got;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(20, &len);

	run_id = make_run("taken", bytes, len);
	/* Someone else's file already has the name. */
	target = xasprintf("%s/acme_taken_%03lld.csv", d,
	                   (long long)sql_int("SELECT seq FROM feed_runs WHERE "
	                                      "id = ?1",
	                                      run_id));
	spew(target, "theirs\n", 7);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "already exists"));
	assert_non_null(strstr(cause, "refusing to overwrite it"));
	free(cause);
	got = slurp(target, NULL);
	assert_string_equal(got, "theirs\n");
	assert_int_equal(entries(d), 1);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_FAILED);
	assert_string_equal(dl.failed_from, STORE_DELIVER_UPLOADING);
	store_delivery_clear(&dl);
	free(got);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

/* Someone else's file of exactly our size under the name (a fixed-width
 * file with as many records, a sequence reused after a restore): the hash
 * tells it apart; it is neither overwritten nor taken for ours. */
static void
test_collision_same_size(void **state)
{
	char *d = dest("d/twin"), *run_id, *cause, *target, *got, *theirs;
	struct store_delivery dl;
	size_t len, n;
	char *bytes = sample(20, &len);

	run_id = make_run("twin", bytes, len);
	target = xasprintf("%s/acme_twin_%03lld.csv", d,
	                   (long long)sql_int("SELECT seq FROM feed_runs WHERE "
	                                      "id = ?1",
	                                      run_id));
	theirs = xstrdup(bytes);
	theirs[len - 2] ^= 1;
	spew(target, theirs, len);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "another SHA-256"));
	assert_non_null(strstr(cause, "refusing to overwrite it"));
	free(cause);
	got = slurp(target, &n);
	assert_int_equal(n, len);
	assert_memory_equal(got, theirs, len);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_FAILED);
	store_delivery_clear(&dl);
	free(got);
	free(theirs);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_rendered_file_changed(void **state)
{
	char *run_id, *cause;
	size_t len;
	char *bytes = sample(5, &len);

	run_id = make_run("changed", bytes, len);
	bytes[10] ^= 1; /* the file changes after it was rendered */
	{
		char *name = sql_text("SELECT file_name FROM feed_runs WHERE "
		                      "id = ?1",
		                      run_id);
		char *file = xasprintf("%s/%s", fx.outbox, name);

		spew(file, bytes, len);
		free(name);
		free(file);
	}
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "rendered file"));
	assert_non_null(strstr(cause, "changed"));
	free(cause);
	free(run_id);
	free(bytes);
}

static void
test_not_rendered(void **state)
{
	char *run_id, *cause;
	size_t len;
	char *bytes = sample(5, &len);

	run_id = make_run_state("other", STORE_FEED_PENDING, bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "no entry in the delivery section"));
	free(cause);
	free(run_id);
	run_id = make_run_state("plain", STORE_FEED_PENDING, bytes, len);
	assert_int_equal(deliver(run_id, NULL, &cause), -1);
	assert_non_null(strstr(cause, "is pending_approval; only a rendered "
	                              "run can be delivered"));
	free(cause);
	assert_int_equal(deliver("run_0000000000000000", NULL, &cause), -1);
	assert_string_equal(cause, "no run run_0000000000000000");
	free(cause);
	free(run_id);
	free(bytes);
}

static void
test_retry_backoff_then_give_up(void **state)
{
	char *run_id, *cause, *outcomes;
	struct store_delivery dl;
	int64_t wait;
	size_t len;
	char *bytes = sample(5, &len);

	run_id = make_run("down", bytes, len);
	/* Attempt 1: connection refused, retry within base_ms. */
	assert_int_equal(deliver(run_id, &wait, &cause), 1);
	assert_non_null(strstr(cause, "attempt 1 of 3 failed"));
	assert_non_null(strstr(cause, "connect"));
	assert_in_range(wait, 0, 40);
	free(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_UPLOADING);
	assert_int_equal(dl.attempts, 1);
	assert_non_null(dl.next_attempt_at);
	assert_non_null(dl.last_error);
	store_delivery_clear(&dl);
	/* Attempt 2: capped at cap_ms (60 < 2 * 40). */
	assert_int_equal(deliver(run_id, &wait, &cause), 1);
	assert_in_range(wait, 0, 60);
	free(cause);
	/* Attempt 3 of 1 + max 2: gives up. */
	assert_int_equal(deliver(run_id, &wait, &cause), -1);
	assert_non_null(strstr(cause, "gave up after 3 attempts: "));
	free(cause);
	outcomes = sql_text("SELECT group_concat(outcome, ' ') FROM (SELECT "
	                    "outcome FROM delivery_attempts WHERE run_id = ?1 "
	                    "ORDER BY n)",
	                    run_id);
	assert_string_equal(outcomes, "retry retry failed");
	free(outcomes);
	/* An operator retry starts the count again where it stopped. */
	assert_int_equal(deliver_retry(fx.st, run_id, &cause), 0);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_UPLOADING);
	assert_int_equal(dl.attempts, 0);
	store_delivery_clear(&dl);
	assert_int_equal(deliver(run_id, &wait, &cause), 1);
	assert_non_null(strstr(cause, "attempt 1 of 3"));
	free(cause);
	assert_int_equal(sql_int("SELECT max(n) FROM delivery_attempts WHERE "
	                         "run_id = ?1",
	                         run_id),
	                 4);
	assert_int_equal(deliver_retry(fx.st, run_id, &cause), -1);
	assert_non_null(strstr(cause, "is uploading, not failed"));
	free(cause);
	/* Leave the feed idle for the other tests. */
	assert_int_equal(deliver(run_id, &wait, &cause), 1);
	free(cause);
	assert_int_equal(deliver(run_id, &wait, &cause), -1);
	free(cause);
	free(run_id);
	free(bytes);
}

/* deliver_run in a child that the hook kills at `point`; its status. */
static int
crash_child(const char *run_id, const char *point)
{
	int64_t wait;
	char *cause = NULL;
	struct store *st;
	pid_t pid;
	int status;

	store_close(fx.st);
	fx.st = NULL;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		setenv("ROSTERD_TEST_CRASH_AT", point, 1);
		st = store_open(fx.db, &cause);
		if (st == NULL)
			_exit(2);
		deliver_run(st, fx.dc, &fx.env, run_id, &wait, &cause);
		_exit(3); /* the hook should have ended us */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	reopen();
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
crash_at(const char *point, const char *state_after)
{
	char *d = dest("d/crash"), *run_id, *cause, *target;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(200, &len);

	run_id = make_run("crash", bytes, len);
	assert_int_equal(crash_child(run_id, point), 137);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, state_after);
	target = xasprintf("%s/%s", d, dl.remote_name);
	if (strcmp(point, "after_rename") == 0)
		assert_true(exists(target)); /* renamed, not recorded */
	else
		assert_int_equal(entries(d), 0);
	store_delivery_clear(&dl);
	/* Restarted: it ends delivered, with exactly one file. */
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_null(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	assert_int_equal(entries(d), 1);
	assert_decrypts_to(target, bytes, len);
	assert_false(exists(dl.plain_path));
	if (strcmp(point, "after_rename") == 0) {
		char *o = sql_text("SELECT group_concat(outcome, ' ') FROM "
		                   "(SELECT outcome FROM delivery_attempts "
		                   "WHERE run_id = ?1 ORDER BY n)",
		                   run_id);

		assert_string_equal(o, "interrupted found");
		free(o);
	}
	store_delivery_clear(&dl);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_crash_at_rendered(void **state)
{
	crash_at("rendered", STORE_DELIVER_RENDERED);
}

static void
test_crash_at_encrypted(void **state)
{
	crash_at("encrypted", STORE_DELIVER_ENCRYPTED);
}

static void
test_crash_at_uploading(void **state)
{
	crash_at("uploading", STORE_DELIVER_UPLOADING);
}

static void
test_crash_after_rename(void **state)
{
	crash_at("after_rename", STORE_DELIVER_UPLOADING);
}

/* The outcomes of a run's attempts, oldest first ("interrupted found"). */
static char *
outcomes(const char *run_id)
{
	return sql_text("SELECT group_concat(outcome, ' ') FROM "
	                "(SELECT outcome FROM delivery_attempts "
	                "WHERE run_id = ?1 ORDER BY n)",
	                run_id);
}

/*
 * Killed after the rename, and the vendor's pickup job took the file away
 * before rosterd came back: the final name is gone, and the run must not
 * send the file a second time.
 */
static void
test_crash_after_rename_then_taken(void **state)
{
	char *d = dest("d/crash"), *run_id, *cause, *target, *o;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(30, &len);

	run_id = make_run("crash", bytes, len);
	assert_int_equal(crash_child(run_id, "after_rename"), 137);
	get_delivery(run_id, &dl);
	target = xasprintf("%s/%s", d, dl.remote_name);
	assert_int_equal(entries(d), 1);
	assert_int_equal(unlink(target), 0); /* picked up by the vendor */
	store_delivery_clear(&dl);
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_null(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	assert_int_equal(entries(d), 0); /* not sent again */
	o = outcomes(run_id);
	assert_string_equal(o, "interrupted found");
	free(o);
	store_delivery_clear(&dl);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

/* Killed with the complete file staged, before the rename: the staged
 * file is renamed, not uploaded again, and nothing else is left. */
static void
test_crash_after_upload(void **state)
{
	char *d = dest("d/crash"), *run_id, *cause, *target, *o;
	struct store_delivery dl;
	size_t len;
	char *bytes = sample(40, &len);

	run_id = make_run("crash", bytes, len);
	assert_int_equal(crash_child(run_id, "uploaded"), 137);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_UPLOADING);
	target = xasprintf("%s/%s", d, dl.remote_name);
	assert_int_equal(entries(d), 1); /* the staged file only */
	assert_false(exists(target));
	store_delivery_clear(&dl);
	assert_int_equal(deliver(run_id, NULL, &cause), 0);
	assert_null(cause);
	get_delivery(run_id, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	assert_int_equal(entries(d), 1);
	assert_decrypts_to(target, bytes, len);
	o = outcomes(run_id);
	assert_string_equal(o, "interrupted sent");
	free(o);
	store_delivery_clear(&dl);
	free(target);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_one_active_per_feed(void **state)
{
	char *d = dest("d/busy"), *a, *b, *cause;
	int64_t wait;
	size_t len;
	char *bytes = sample(5, &len);

	a = make_run("busy", bytes, len);
	b = make_run("busy", bytes, len);
	/* a stops in uploading: the feed's active delivery. */
	assert_int_equal(crash_child(a, "uploading"), 137);
	assert_int_equal(deliver(b, &wait, &cause), 1);
	assert_non_null(strstr(cause, "is already delivering run"));
	assert_non_null(strstr(cause, a));
	assert_true(wait > 0);
	free(cause);
	assert_int_equal(
	    sql_int("SELECT count(*) FROM deliveries WHERE run_id = ?1", b), 0);
	assert_int_equal(deliver(a, NULL, &cause), 0);
	assert_int_equal(deliver(b, NULL, &cause), 0);
	assert_int_equal(entries(d), 2);
	free(a);
	free(b);
	free(bytes);
	free(d);
}

static void
test_feed_lock(void **state)
{
	char *d = dest("d/lock"), *run_id, *cause = NULL;
	int64_t wait;
	size_t len;
	char *bytes = sample(5, &len);
	int fd;

	run_id = make_run("lock", bytes, len);
	fd = deliver_lock(&fx.env, "lock", &cause);
	assert_true(fd >= 0);
	assert_int_equal(deliver_lock(&fx.env, "lock", &cause), -2);
	assert_int_equal(deliver(run_id, &wait, &cause), 1);
	assert_non_null(strstr(cause, "being delivered by another worker"));
	free(cause);
	assert_int_equal(entries(d), 0);
	deliver_unlock(fd);
	assert_int_equal(deliver(run_id, &wait, &cause), 0);
	assert_int_equal(entries(d), 1);
	free(run_id);
	free(bytes);
	free(d);
}

static void
test_pending(void **state)
{
	char *a, *b, *c, *cause, **v, *d = dest("d/plain");
	size_t len, i, ia = 99, ib = 99;
	char *bytes = sample(5, &len);

	a = make_run("plain", bytes, len);
	b = make_run("lock", bytes, len);
	c = make_run("other", bytes, len); /* no delivery entry */
	v = deliver_pending(fx.st, fx.dc);
	assert_non_null(v);
	for (i = 0; v[i] != NULL; i++) {
		assert_string_not_equal(v[i], c);
		if (strcmp(v[i], a) == 0)
			ia = i;
		if (strcmp(v[i], b) == 0)
			ib = i;
	}
	assert_true(ia < ib && ib < i);
	deliver_list_free(v);
	assert_int_equal(deliver(a, NULL, &cause), 0);
	v = deliver_pending(fx.st, fx.dc);
	for (i = 0; v[i] != NULL; i++)
		assert_string_not_equal(v[i], a);
	deliver_list_free(v);
	assert_int_equal(deliver(b, NULL, &cause), 0);
	free(a);
	free(b);
	free(c);
	free(bytes);
	free(d);
}

/* --- return files ----------------------------------------------------- */

struct recs {
	int n, rejected;
	struct buf b;
};

static int
rec_cb(const struct store_return_record *r, void *arg)
{
	struct recs *x = arg;

	x->n++;
	x->rejected += !r->accepted;
	buf_addf(&x->b, "%lld:%s:%s:%s:%d;", (long long)r->row, r->key,
	         r->status, r->message != NULL ? r->message : "-", r->accepted);
	return 0;
}

static void
test_returns(void **state)
{
	char *in = path("d/retin"), *r1, *r2, *r3, *cause, *p, *s;
	struct store_delivery dl;
	struct recs x = {0};
	size_t len;
	char *bytes = sample(3, &len);

	free(dest("d/ret"));
	r1 = make_run("ret", bytes, len);
	r2 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r1, NULL, &cause), 0);
	assert_int_equal(deliver(r2, NULL, &cause), 0);
	/* Names run 1's file: attached to run 1. */
	p = xasprintf("%s/acme_ret_%03lld.ack.csv", in,
	              (long long)sql_int("SELECT seq FROM feed_runs WHERE id "
	                                 "= ?1",
	                                 r1));
	s = "\xef\xbb\xbfMember ID,Status,Message\r\n"
	    "M000000,A,\r\n"
	    "M000001, R ,\"bad date, of birth\"\r\n"
	    "M000002,ok,fine\r\n";
	spew(p, s, strlen(s));
	free(p);
	/* Names no run: the newest delivered, unacknowledged one (run 2). */
	p = xasprintf("%s/vendor-errors.ack", in);
	spew(p, "Member ID,Status\nM000009,E\n", 27);
	free(p);
	/* Not matching the pattern: ignored. */
	p = xasprintf("%s/notes.txt", in);
	spew(p, "hello\n", 6);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 2);
	assert_null(cause);
	get_delivery(r1, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_ACKNOWLEDGED);
	assert_non_null(dl.acknowledged_at);
	store_delivery_clear(&dl);
	get_delivery(r2, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_ACKNOWLEDGED);
	store_delivery_clear(&dl);
	buf_init(&x.b, 0);
	assert_int_equal(store_return_records(fx.st, r1, false, rec_cb, &x),
	                 STORE_OK);
	assert_int_equal(x.n, 3);
	assert_int_equal(x.rejected, 1);
	assert_string_equal(buf_str(&x.b), "2:M000000:A:-:1;"
	                                   "3:M000001:R:bad date, of birth:0;"
	                                   "4:M000002:ok:fine:1;");
	buf_reset(&x.b);
	x.n = x.rejected = 0;
	assert_int_equal(store_return_records(fx.st, r2, true, rec_cb, &x),
	                 STORE_OK);
	assert_string_equal(buf_str(&x.b), "2:M000009:E:-:0;");
	buf_free(&x.b);
	/* Archived 0600 as downloaded; each file is collected once. */
	p = path("returns/ret/vendor-errors.ack");
	assert_int_equal(file_mode(p), 0600);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);
	/* A file without the status column: kept with its error. */
	p = xasprintf("%s/broken.ack.csv", in);
	spew(p, "Member ID,Result\nM1,A\n", 22);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	s = sql_text("SELECT error FROM return_files WHERE name = "
	             "'broken.ack.csv'",
	             NULL);
	assert_non_null(s);
	assert_string_equal(s, "no column \"Status\" (columns: Member ID, "
	                       "Result)");
	free(s);
	/* A header of junk is shown bounded, and as valid UTF-8. */
	p = xasprintf("%s/junk.ack.csv", in);
	spew(p,
	     "Member ID,R\xe9sult,0123456789012345678901234567890123456789"
	     "TAIL\nM1,A,x\n",
	     69);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	s = sql_text("SELECT error FROM return_files WHERE name = "
	             "'junk.ack.csv'",
	             NULL);
	assert_non_null(s);
	assert_string_equal(s,
	                    "no column \"Status\" (columns: Member ID, "
	                    "R?sult, 0123456789012345678901234567890123456789"
	                    "...)");
	free(s);
	/* A row too short for its status: the row and column, no ack. */
	r3 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r3, NULL, &cause), 0);
	p = xasprintf("%s/short.ack.csv", in);
	spew(p, "Member ID,Message,Status\nM1,ok,A\nM2\nM3,x,A\n", 43);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	s = sql_text("SELECT error FROM return_files WHERE name = "
	             "'short.ack.csv'",
	             NULL);
	assert_non_null(s);
	assert_string_equal(s, "row 3, column 3 (Status): missing; the row "
	                       "has 1 field, the header 3");
	free(s);
	get_delivery(r3, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_DELIVERED);
	store_delivery_clear(&dl);
	assert_int_equal(sql_int("SELECT count(*) FROM return_records WHERE "
	                         "key = ''",
	                         NULL),
	                 0);
	free(r3);
	assert_int_equal(
	    deliver_returns(fx.st, fx.dc, &fx.env, "plain", &cause), -1);
	assert_string_equal(cause, "feed plain has no returns section");
	free(cause);
	free(r1);
	free(r2);
	free(in);
	free(bytes);
}

static void
test_returns_pgp(void **state)
{
	char *in = path("d/retin"), *r, *cause = NULL, *p, *arch;
	struct store_delivery dl;
	struct recs x = {0};
	size_t len;
	char *bytes = sample(3, &len);

	free(dest("d/ret"));
	r = make_run("ret", bytes, len);
	assert_int_equal(deliver(r, NULL, &cause), 0);
	/* The vendor encrypts to rosterd's public key. */
	vendor_imports_rosterd_key();
	p = path("plain-ack.csv");
	spew(p, "Member ID,Status,Message\nM000001,R,no such plan\n", 48);
	arch = xasprintf("%s/acme_ret_%03lld.ack.csv.pgp", in,
	                 (long long)sql_int("SELECT seq FROM feed_runs WHERE "
	                                    "id = ?1",
	                                    r));
	assert_int_equal(run("gpg --homedir %s --batch --trust-model always "
	                     "-r rosterd --sign --encrypt -o %s %s",
	                     fx.vhome, arch, p),
	                 0);
	free(p);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	assert_null(cause);
	get_delivery(r, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_ACKNOWLEDGED);
	store_delivery_clear(&dl);
	buf_init(&x.b, 0);
	store_return_records(fx.st, r, false, rec_cb, &x);
	assert_string_equal(buf_str(&x.b), "2:M000001:R:no such plan:0;");
	buf_free(&x.b);
	/* The archive is the encrypted file; no plaintext is left. */
	free(arch);
	arch = path("returns/ret");
	assert_int_equal(run("ls -A %s | grep -q '^acme_ret_.*\\.pgp$'", arch),
	                 0);
	assert_int_not_equal(run("ls -A %s | grep -q plain", arch), 0);
	free(arch);
	free(r);
	free(in);
	free(bytes);
}

/* Rewrite p with s and set its modification time to mtime. */
static void
rewrite(const char *p, const char *s, time_t mtime)
{
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};

	spew(p, s, strlen(s));
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void
sql_exec(const char *sql)
{
	sqlite3 *db = side_db();

	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The records answering run, as rec_cb writes them (caller frees). */
static char *
records_of(const char *run)
{
	struct recs x = {0};

	buf_init(&x.b, 0);
	assert_int_equal(store_return_records(fx.st, run, false, rec_cb, &x),
	                 STORE_OK);
	buf_add(&x.b, "", 0);
	return buf_detach(&x.b);
}

static void
assert_acknowledged(const char *run)
{
	struct store_delivery dl;

	get_delivery(run, &dl);
	assert_string_equal(dl.state, STORE_DELIVER_ACKNOWLEDGED);
	store_delivery_clear(&dl);
}

/*
 * A vendor that writes the same name every day: each change on the server
 * (size, or mtime alone) is a new version, archived on its own, parsed
 * and attached to a run like a new file; an unchanged file is not.
 */
static void
test_returns_versions(void **state)
{
	char *in = path("d/retin"), *f, *r1, *r2, *r3, *r4, *cause = NULL;
	char *s, *v1, *v2, *v3;
	const time_t t0 = 1767225600; /* 2026-01-01 */
	size_t len;
	char *bytes = sample(3, &len);

	free(dest("d/ret"));
	f = xasprintf("%s/eligibility_results.ack.csv", in);
	v1 = path("returns/ret/eligibility_results.ack.csv");
	v2 = path("returns/ret/.v2/eligibility_results.ack.csv");
	v3 = path("returns/ret/.v3/eligibility_results.ack.csv");
	r1 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r1, NULL, &cause), 0);
	rewrite(f, "Member ID,Status\nM000001,A\nM000002,R\n", t0);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	assert_null(cause);
	assert_acknowledged(r1);
	s = sql_text("SELECT version || ' ' || remote_size || ' ' || "
	             "remote_mtime || ' ' || archive_path FROM return_files "
	             "WHERE name = 'eligibility_results.ack.csv'",
	             NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "1 37 1767225600 "));
	assert_non_null(strstr(s, "/returns/ret/eligibility_results.ack.csv"));
	free(s);
	/* Unchanged: nothing new, whatever the other files listed. */
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);

	/* Rewritten with other content and size: version 2. */
	r2 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r2, NULL, &cause), 0);
	rewrite(f, "Member ID,Status,Message\nM000003,R,no such plan\n", t0);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	assert_null(cause);
	assert_acknowledged(r2);
	s = records_of(r2);
	assert_string_equal(s, "2:M000003:R:no such plan:0;");
	free(s);
	s = records_of(r1);
	assert_string_equal(s, "2:M000001:A:-:1;3:M000002:R:-:0;");
	free(s);
	/* Version 1's archive is kept as it was; version 2 has its own. */
	s = slurp(v1, NULL);
	assert_string_equal(s, "Member ID,Status\nM000001,A\nM000002,R\n");
	free(s);
	s = slurp(v2, NULL);
	assert_string_equal(
	    s, "Member ID,Status,Message\nM000003,R,no such plan\n");
	free(s);
	assert_int_equal(file_mode(v2), 0600);
	assert_int_equal(sql_int("SELECT version FROM return_files WHERE "
	                         "archive_path = ?1",
	                         v2),
	                 2);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);

	/* The same size, another modification time: version 3. */
	r3 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r3, NULL, &cause), 0);
	rewrite(f, "Member ID,Status,Message\nM000004,R,no such plan\n",
	        t0 + 3600);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	assert_acknowledged(r3);
	s = records_of(r3);
	assert_string_equal(s, "2:M000004:R:no such plan:0;");
	free(s);
	assert_true(exists(v3));
	s = slurp(v2, NULL);
	assert_string_equal(
	    s, "Member ID,Status,Message\nM000003,R,no such plan\n");
	free(s);

	/* A server that gives no mtime (or a row from before migration 9):
	 * the size alone tells. */
	sql_exec("UPDATE return_files SET remote_mtime = -1 WHERE version = 3 "
	         "AND name = 'eligibility_results.ack.csv'");
	rewrite(f, "Member ID,Status,Message\nM000005,R,no such plan\n",
	        t0 + 7200);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);
	r4 = make_run("ret", bytes, len);
	assert_int_equal(deliver(r4, NULL, &cause), 0);
	rewrite(f, "Member ID,Status\nM000006,A\n", t0 + 7200);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 1);
	assert_acknowledged(r4);
	assert_int_equal(sql_int("SELECT max(version) FROM return_files WHERE "
	                         "name = ?1",
	                         "eligibility_results.ack.csv"),
	                 4);

	/* Gone from the server: no change, no error. */
	unlink(f);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);
	assert_null(cause);
	/* Nothing left behind but the archives. */
	s = path("returns/ret");
	assert_int_not_equal(run("ls -A %s | grep -Eq '[.](get|plain)$'", s),
	                     0);
	/* What a crash leaves is swept once it is an hour old, not before. */
	assert_int_equal(run("touch -d '2 hours ago' %s/.x.csv.0badc0de.get "
	                     "%s/.x.csv.0badc0de.plain && touch "
	                     "%s/.y.csv.01234567.get",
	                     s, s, s),
	                 0);
	assert_int_equal(deliver_returns(fx.st, fx.dc, &fx.env, "ret", &cause),
	                 0);
	assert_int_equal(run("ls -A %s | grep -E '[.](get|plain)$' | tr '\\n' "
	                     "' ' | grep -qx '.y.csv.01234567.get '",
	                     s),
	                 0);
	free(s);
	free(r1);
	free(r2);
	free(r3);
	free(r4);
	free(v1);
	free(v2);
	free(v3);
	free(f);
	free(in);
	free(bytes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_loaded),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_config_name_too_long),
	    cmocka_unit_test(test_config_absent),
	    cmocka_unit_test(test_plain_dir_delivery),
	    cmocka_unit_test(test_pgp_delivery),
	    cmocka_unit_test(test_armor_keep_plaintext),
	    cmocka_unit_test(test_wrong_vendor_key),
	    cmocka_unit_test(test_missing_destination_dir),
	    cmocka_unit_test(test_collision_not_overwritten),
	    cmocka_unit_test(test_collision_same_size),
	    cmocka_unit_test(test_rendered_file_changed),
	    cmocka_unit_test(test_not_rendered),
	    cmocka_unit_test(test_retry_backoff_then_give_up),
	    cmocka_unit_test(test_crash_at_rendered),
	    cmocka_unit_test(test_crash_at_encrypted),
	    cmocka_unit_test(test_crash_at_uploading),
	    cmocka_unit_test(test_crash_after_rename),
	    cmocka_unit_test(test_crash_after_rename_then_taken),
	    cmocka_unit_test(test_crash_after_upload),
	    cmocka_unit_test(test_one_active_per_feed),
	    cmocka_unit_test(test_feed_lock),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_failed_blocks_later_runs),
	    cmocka_unit_test(test_returns),
	    cmocka_unit_test(test_returns_pgp),
	    cmocka_unit_test(test_returns_versions),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
