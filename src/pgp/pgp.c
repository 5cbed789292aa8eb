/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* OpenPGP keys, encryption and decryption of files through GPGME. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpgme.h>

#include "pgp/pgp.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * Oldest GPGME with what is required here (keylist from data, keys without
 * expiry); the "io-buffer-size" and "sensitive" data flags (1.16) are used
 * when present.
 */
#define PGP_GPGME_MIN "1.9.0"

/*
 * GPGME copies between our file descriptors and gpg's pipes through a
 * buffer of 4 KiB by default; 64 KiB matches the pipe capacity and cuts the
 * number of system calls sixteenfold.
 */
#define PGP_IO_BUFFER "65536"

/*
 * Longest home path whose agent sockets still fit in sockaddr_un.sun_path
 * (108 bytes on Linux); found by trying GnuPG 2.2: 86 works, 87 fails.
 */
#define PGP_HOME_MAX 86

/* How far into a file pgp_is_pgp_file looks for an armour header. */
#define PGP_SNIFF_LEN 4096

extern char **environ;

struct pgp {
	gpgme_ctx_t ctx;
	char *homedir;
	gpgme_key_t signer; /* rosterd's own key, once known */
	void (*progress_fn)(void *, long long, long long);
	void *progress_arg;
};

/* An input file and an output written under a temporary name. */
struct pgp_io {
	int in_fd;
	int out_fd;
	char *tmp; /* unlinked by pgp_io_close unless committed */
	const char *out;
	gpgme_data_t in;
	gpgme_data_t outd;
};

static const struct {
	const char *primary;
	const char *sub;
} pgp_algos[] = {
    [PGP_KEY_ED25519] = {"ed25519", "cv25519"},
    [PGP_KEY_RSA3072] = {"rsa3072", "rsa3072"},
};

static pthread_once_t pgp_once = PTHREAD_ONCE_INIT;
static const char *pgp_gpgme_version;

/* Set *cause to "what: GPGME's text for err" (err 0: just "what"). */
static int __attribute__((format(printf, 3, 4)))
pgp_fail(char **cause, gpgme_error_t err, const char *fmt, ...)
{
	struct buf b;
	char msg[256];
	va_list ap;

	if (cause == NULL)
		return -1;
	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (err != 0) {
		gpgme_strerror_r(err, msg, sizeof(msg));
		buf_addf(&b, ": %s", msg);
	}
	*cause = buf_detach(&b);
	return -1;
}

static void
pgp_init_once(void)
{
	/* Also sets SIGPIPE to SIG_IGN, so a dying gpg cannot kill us. */
	pgp_gpgme_version = gpgme_check_version(PGP_GPGME_MIN);
}

/* rosterd's keys have no passphrase; never let gpg wait for one. */
static gpgme_error_t
pgp_no_passphrase(void *hook, const char *uid_hint, const char *info,
                  int prev_bad, int fd)
{
	return gpgme_error(GPG_ERR_NO_PASSPHRASE);
}

static void
pgp_progress(void *opaque, const char *what, int type, int cur, int total)
{
	struct pgp *p = opaque;

	if (p->progress_fn != NULL)
		p->progress_fn(p->progress_arg, cur, total);
}

/* Create homedir 0700 or check that the existing one is ours and private. */
static int
pgp_home_prepare(const char *dir, char **cause)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "creating GnuPG home %s", dir);
	if (stat(dir, &st) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "GnuPG home %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pgp_fail(cause, 0, "GnuPG home %s is not a directory",
		                dir);
	if (st.st_uid != geteuid())
		return pgp_fail(
		    cause, 0,
		    "GnuPG home %s belongs to uid %u, not to rosterd (uid %u)",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "making GnuPG home %s private", dir);
	return 0;
}

/*
 * gpg-agent listens on DIR/S.gpg-agent.browser (the longest of its socket
 * names) unless GnuPG can use /run/user/UID. Past PGP_HOME_MAX bytes the
 * name does not fit in sockaddr_un and the agent fails with an obscure
 * error ("can't connect to the agent"), so refuse such a home up front.
 */
static int
pgp_home_socket_check(const char *abs, char **cause)
{
	char rundir[64];
	struct stat st;

	snprintf(rundir, sizeof(rundir), "/run/user/%u", (unsigned)geteuid());
	if (stat(rundir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid())
		return 0;
	if (strlen(abs) > PGP_HOME_MAX)
		return pgp_fail(
		    cause, 0,
		    "GnuPG home %s: path too long for gpg-agent's socket (at "
		    "most %d bytes); use a shorter data directory",
		    abs, PGP_HOME_MAX);
	return 0;
}

static int
pgp_ctx_setup(struct pgp *p, char **cause)
{
	gpgme_error_t err;

	err = gpgme_new(&p->ctx);
	if (err == 0)
		err = gpgme_set_protocol(p->ctx, GPGME_PROTOCOL_OpenPGP);
	if (err == 0)
		err = gpgme_ctx_set_engine_info(p->ctx, GPGME_PROTOCOL_OpenPGP,
		                                NULL, p->homedir);
	if (err == 0)
		err = gpgme_set_pinentry_mode(p->ctx,
		                              GPGME_PINENTRY_MODE_LOOPBACK);
	if (err == 0)
		err = gpgme_set_keylist_mode(p->ctx, GPGME_KEYLIST_MODE_LOCAL);
	if (err != 0)
		return pgp_fail(cause, err, "setting up GPGME for %s",
		                p->homedir);
	/* No key servers, no dirmngr: the pinned key files are the truth. */
	gpgme_set_offline(p->ctx, 1);
	gpgme_set_passphrase_cb(p->ctx, pgp_no_passphrase, NULL);
	return 0;
}

struct pgp *
pgp_new(const char *homedir, char **cause)
{
	struct pgp *p;
	gpgme_error_t err;
	char *abs;

	pthread_once(&pgp_once, pgp_init_once);
	if (pgp_gpgme_version == NULL) {
		pgp_fail(cause, 0, "GPGME %s or later is required (have %s)",
		         PGP_GPGME_MIN, gpgme_check_version(NULL));
		return NULL;
	}
	err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (err != 0) {
		pgp_fail(cause, err, "gpg is not usable (is gnupg installed?)");
		return NULL;
	}
	if (pgp_home_prepare(homedir, cause) == -1)
		return NULL;
	if ((abs = realpath(homedir, NULL)) == NULL) {
		pgp_fail(cause, gpgme_error_from_syserror(), "GnuPG home %s",
		         homedir);
		return NULL;
	}
	if (pgp_home_socket_check(abs, cause) == -1) {
		free(abs);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->homedir = abs;
	if (pgp_ctx_setup(p, cause) == -1) {
		pgp_free(p);
		return NULL;
	}
	return p;
}

void
pgp_free(struct pgp *p)
{
	if (p == NULL)
		return;
	if (p->signer != NULL)
		gpgme_key_unref(p->signer);
	if (p->ctx != NULL)
		gpgme_release(p->ctx);
	free(p->homedir);
	free(p);
}

const char *
pgp_homedir(const struct pgp *p)
{
	return p->homedir;
}

void
pgp_set_progress(struct pgp *p, void (*fn)(void *, long long, long long),
                 void *arg)
{
	p->progress_fn = fn;
	p->progress_arg = arg;
	/* A callback makes gpg emit PROGRESS lines; only ask when wanted. */
	gpgme_set_progress_cb(p->ctx, fn != NULL ? pgp_progress : NULL, p);
}

int
pgp_stop_agent(struct pgp *p, char **cause)
{
	const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
	char *argv[] = {(char *)"gpgconf", (char *)"--homedir", p->homedir,
	                (char *)"--kill",  (char *)"all",       NULL};
	pid_t pid;
	int rc, status;

	if (gpgconf == NULL)
		return pgp_fail(cause, 0, "stopping gpg-agent: no gpgconf");
	rc = posix_spawn(&pid, gpgconf, NULL, NULL, argv, environ);
	if (rc != 0)
		return pgp_fail(cause, gpgme_error_from_errno(rc),
		                "stopping gpg-agent: %s", gpgconf);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return pgp_fail(
			    cause, gpgme_error_from_syserror(),
			    "stopping gpg-agent: waiting for gpgconf");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return pgp_fail(cause, 0, "stopping gpg-agent: gpgconf failed");
	return 0;
}

char *
pgp_fpr_normalize(const char *s)
{
	struct buf b;

	if (s == NULL)
		return NULL;
	buf_init(&b, 128);
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			buf_free(&b);
			return NULL;
		}
		buf_addch(&b, (char)toupper((unsigned char)*s));
	}
	if (b.failed || (b.len != 40 && b.len != 64)) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Open a regular file for reading. */
static int
pgp_open_in(const char *path, const char *what, off_t *size, char **cause)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(), "%s %s",
		                what, path);
	if (fstat(fd, &st) == -1) {
		pgp_fail(cause, gpgme_error_from_syserror(), "%s %s", what,
		         path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		pgp_fail(cause, 0, "%s %s: not a regular file", what, path);
		close(fd);
		return -1;
	}
	if (size != NULL)
		*size = st.st_size;
	return fd;
}

static int
pgp_key_usable_why(gpgme_key_t key, const char **why)
{
	if (key->revoked)
		*why = "is revoked";
	else if (key->expired)
		*why = "has expired";
	else if (key->disabled)
		*why = "is disabled";
	else if (key->invalid)
		*why = "is invalid";
	else if (!key->can_encrypt)
		*why = "has no usable encryption subkey";
	else
		return 0;
	return -1;
}

static int
pgp_key_has_secret(gpgme_key_t key)
{
	gpgme_subkey_t sk;

	if (key->secret)
		return 1;
	for (sk = key->subkeys; sk != NULL; sk = sk->next)
		if (sk->secret)
			return 1;
	return 0;
}

/*
 * List the keys in d without importing them: exactly one public key that
 * can encrypt, or an error. *fpr gets its fingerprint.
 */
static int
pgp_key_file_check(struct pgp *p, gpgme_data_t d, const char *path, char **fpr,
                   char **cause)
{
	gpgme_key_t key, first = NULL;
	gpgme_error_t err;
	const char *why;
	int n = 0, secret = 0, rc = -1;

	err = gpgme_op_keylist_from_data_start(p->ctx, d, 0);
	while (err == 0 && (err = gpgme_op_keylist_next(p->ctx, &key)) == 0) {
		n++;
		secret |= pgp_key_has_secret(key);
		if (first == NULL)
			first = key;
		else
			gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(p->ctx);
	if (gpgme_err_code(err) != GPG_ERR_EOF)
		pgp_fail(cause, err, "reading key file %s", path);
	else if (secret)
		pgp_fail(
		    cause, 0,
		    "key file %s holds a secret key; refused (rosterd needs "
		    "only the vendor's public key, gpg --export)",
		    path);
	else if (n == 0)
		pgp_fail(cause, 0, "key file %s holds no OpenPGP public key",
		         path);
	else if (n > 1)
		pgp_fail(cause, 0, "key file %s holds %d keys; expected one",
		         path, n);
	else if (pgp_key_usable_why(first, &why) == -1)
		pgp_fail(cause, 0, "key %s in %s %s", first->fpr, path, why);
	else {
		*fpr = xstrdup(first->fpr);
		rc = 0;
	}
	if (first != NULL)
		gpgme_key_unref(first);
	return rc;
}

/* After the import: the key must be in the ring and able to encrypt. */
static int
pgp_import_check(struct pgp *p, const char *fpr, const char *path, char **cause)
{
	gpgme_import_result_t res = gpgme_op_import_result(p->ctx);
	gpgme_key_t key = NULL;
	gpgme_error_t err;
	const char *why;
	int rc = -1;

	if (res == NULL || res->considered == 0 || res->not_imported > 0)
		return pgp_fail(cause, 0,
		                "importing key %s from %s: rejected "
		                "by gpg",
		                fpr, path);
	err = gpgme_get_key(p->ctx, fpr, &key, 0);
	if (err != 0)
		pgp_fail(cause, err, "importing key %s from %s", fpr, path);
	else if (pgp_key_usable_why(key, &why) == -1)
		pgp_fail(cause, 0, "key %s in %s %s", fpr, path, why);
	else
		rc = 0;
	if (key != NULL)
		gpgme_key_unref(key);
	return rc;
}

int
pgp_import_key(struct pgp *p, const char *path, char **fpr_out, char **cause)
{
	gpgme_data_t d = NULL;
	gpgme_error_t err;
	char *fpr = NULL;
	int fd, rc = -1;

	if (fpr_out != NULL)
		*fpr_out = NULL;
	if ((fd = pgp_open_in(path, "reading key file", NULL, cause)) == -1)
		return -1;
	if ((err = gpgme_data_new_from_fd(&d, fd)) != 0) {
		pgp_fail(cause, err, "reading key file %s", path);
		goto out;
	}
	if (pgp_key_file_check(p, d, path, &fpr, cause) == -1)
		goto out;
	if (gpgme_data_seek(d, 0, SEEK_SET) == -1) {
		pgp_fail(cause, gpgme_error_from_syserror(),
		         "reading key file %s", path);
		goto out;
	}
	if ((err = gpgme_op_import(p->ctx, d)) != 0) {
		pgp_fail(cause, err, "importing key %s from %s", fpr, path);
		goto out;
	}
	if (pgp_import_check(p, fpr, path, cause) == -1)
		goto out;
	if (fpr_out != NULL) {
		*fpr_out = fpr;
		fpr = NULL;
	}
	rc = 0;
out:
	if (d != NULL)
		gpgme_data_release(d);
	close(fd);
	free(fpr);
	return rc;
}

static int
pgp_key_can_be_signer(gpgme_key_t key)
{
	return !key->revoked && !key->expired && !key->disabled &&
	       !key->invalid && key->can_sign && pgp_key_has_secret(key);
}

/* The first usable secret key in the ring, or *out NULL when none. */
static int
pgp_find_own_key(struct pgp *p, gpgme_key_t *out, char **cause)
{
	gpgme_key_t key;
	gpgme_error_t err;

	*out = NULL;
	err = gpgme_op_keylist_start(p->ctx, NULL, 1);
	while (err == 0 && (err = gpgme_op_keylist_next(p->ctx, &key)) == 0) {
		if (*out == NULL && pgp_key_can_be_signer(key))
			*out = key;
		else
			gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(p->ctx);
	if (gpgme_err_code(err) == GPG_ERR_EOF)
		return 0;
	if (*out != NULL) {
		gpgme_key_unref(*out);
		*out = NULL;
	}
	return pgp_fail(cause, err, "listing secret keys in %s", p->homedir);
}

/* Re-read key (by fingerprint) so its capabilities are current. */
static int
pgp_reload_key(struct pgp *p, const char *fpr, gpgme_key_t *key, char **cause)
{
	gpgme_error_t err;

	if ((err = gpgme_get_key(p->ctx, fpr, key, 1)) != 0) {
		*key = NULL;
		return pgp_fail(cause, err, "reading back key %s", fpr);
	}
	return 0;
}

static int
pgp_create_own_key(struct pgp *p, const char *userid, enum pgp_key_algo algo,
                   gpgme_key_t *key, char **cause)
{
	gpgme_genkey_result_t res;
	gpgme_error_t err;
	unsigned flags = GPGME_CREATE_SIGN | GPGME_CREATE_CERT |
	                 GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE |
	                 GPGME_CREATE_FORCE;

	if (userid == NULL)
		userid = PGP_DEFAULT_USERID;
	err = gpgme_op_createkey(p->ctx, userid, pgp_algos[algo].primary, 0, 0,
	                         NULL, flags);
	res = gpgme_op_genkey_result(p->ctx);
	if (err == 0 && (res == NULL || res->fpr == NULL))
		err = gpgme_error(GPG_ERR_GENERAL);
	if (err != 0)
		return pgp_fail(cause, err, "creating rosterd's %s key in %s",
		                pgp_algos[algo].primary, p->homedir);
	log_info("pgp: created signing key %s (%s) in %s", res->fpr,
	         pgp_algos[algo].primary, p->homedir);
	return pgp_reload_key(p, res->fpr, key, cause);
}

/* Give rosterd's key an encryption subkey that matches its primary. */
static int
pgp_add_enc_subkey(struct pgp *p, gpgme_key_t *key, char **cause)
{
	gpgme_error_t err;
	const char *algo;
	char *fpr;
	int rc;

	switch ((*key)->subkeys->pubkey_algo) {
	case GPGME_PK_EDDSA:
		algo = pgp_algos[PGP_KEY_ED25519].sub;
		break;
	case GPGME_PK_RSA:
		algo = pgp_algos[PGP_KEY_RSA3072].sub;
		break;
	default:
		algo = "default";
	}
	err = gpgme_op_createsubkey(p->ctx, *key, algo, 0, 0,
	                            GPGME_CREATE_ENCR | GPGME_CREATE_NOPASSWD |
	                                GPGME_CREATE_NOEXPIRE);
	if (err != 0)
		return pgp_fail(cause, err,
		                "adding a %s encryption subkey to "
		                "%s",
		                algo, (*key)->fpr);
	fpr = xstrdup((*key)->fpr);
	gpgme_key_unref(*key);
	rc = pgp_reload_key(p, fpr, key, cause);
	free(fpr);
	return rc;
}

int
pgp_ensure_signing_key(struct pgp *p, const char *userid,
                       enum pgp_key_algo algo, char **fpr_out, char **cause)
{
	gpgme_key_t key;

	if (fpr_out != NULL)
		*fpr_out = NULL;
	if ((unsigned)algo >= sizeof(pgp_algos) / sizeof(pgp_algos[0]))
		return pgp_fail(cause, 0, "unknown key algorithm %d", algo);
	if (pgp_find_own_key(p, &key, cause) == -1)
		return -1;
	if (key == NULL &&
	    pgp_create_own_key(p, userid, algo, &key, cause) == -1)
		return -1;
	/* A crash between primary and subkey creation leaves no subkey. */
	if (!key->can_encrypt && pgp_add_enc_subkey(p, &key, cause) == -1) {
		if (key != NULL)
			gpgme_key_unref(key);
		return -1;
	}
	if (p->signer != NULL)
		gpgme_key_unref(p->signer);
	p->signer = key;
	if (fpr_out != NULL)
		*fpr_out = xstrdup(key->fpr);
	return 0;
}

static int
pgp_signer(struct pgp *p, char **cause)
{
	if (p->signer != NULL)
		return 0;
	return pgp_ensure_signing_key(p, NULL, PGP_KEY_ED25519, NULL, cause);
}

int
pgp_export_public(struct pgp *p, const char *fpr, bool armor, char **out,
                  size_t *outlen, char **cause)
{
	gpgme_data_t d;
	gpgme_error_t err;
	char *want, *mem;
	size_t len;
	int rc = -1;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (fpr == NULL && pgp_signer(p, cause) == -1)
		return -1;
	want = pgp_fpr_normalize(fpr != NULL ? fpr : p->signer->fpr);
	if (want == NULL)
		return pgp_fail(cause, 0,
		                "exporting \"%s\": not a full key "
		                "fingerprint",
		                fpr != NULL ? fpr : "");
	if ((err = gpgme_data_new(&d)) != 0) {
		pgp_fail(cause, err, "exporting %s", want);
		goto out;
	}
	gpgme_set_armor(p->ctx, armor);
	err = gpgme_op_export(p->ctx, want, 0, d);
	mem = gpgme_data_release_and_get_mem(d, &len);
	if (err != 0 || mem == NULL || len == 0)
		pgp_fail(cause, err, "exporting %s%s", want,
		         err != 0 ? "" : ": no such key in the key ring");
	else {
		*out = xmalloc(len + 1);
		memcpy(*out, mem, len);
		(*out)[len] = '\0';
		if (outlen != NULL)
			*outlen = len;
		rc = 0;
	}
	gpgme_free(mem);
out:
	free(want);
	return rc;
}

/* "dir/.base.XXXXXX" for mkostemp, next to path so rename is atomic. */
static char *
pgp_tmp_template(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	struct buf b;

	buf_init(&b, 0);
	buf_add(&b, path, (size_t)(base - path));
	buf_addch(&b, '.');
	buf_addstr(&b, base);
	buf_addstr(&b, ".XXXXXX");
	return buf_detach(&b);
}

static int
pgp_fsync_dir(const char *path, char **cause)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = 0;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1)
		rc = pgp_fail(cause, gpgme_error_from_syserror(),
		              "syncing directory %s", dir);
	if (fd != -1)
		close(fd);
	free(dir);
	return rc;
}

/* The literal-data file name: the output's name without .pgp/.gpg/.asc. */
static char *
pgp_literal_name(const char *out_path)
{
	static const char *const exts[] = {".pgp", ".gpg", ".asc"};
	const char *slash = strrchr(out_path, '/');
	const char *base = slash != NULL ? slash + 1 : out_path;
	size_t len = strlen(base), i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (len > 4 && strcmp(base + len - 4, exts[i]) == 0)
			return xstrndup(base, len - 4);
	}
	return xstrdup(base);
}

static void
pgp_data_flags(gpgme_data_t d, int sensitive)
{
	/* Optional tuning; an older GPGME just ignores it. */
	gpgme_data_set_flag(d, "io-buffer-size", PGP_IO_BUFFER);
	if (sensitive)
		gpgme_data_set_flag(d, "sensitive", "1");
}

/*
 * Open in_path and a temporary file next to out_path (0600), each wrapped
 * in a GPGME data object. plain_in says which side holds plaintext.
 */
static int
pgp_io_open(struct pgp_io *io, const char *in_path, const char *out_path,
            int plain_in, char **cause)
{
	gpgme_error_t err;
	char hint[32];
	off_t size;

	memset(io, 0, sizeof(*io));
	io->out_fd = -1;
	io->out = out_path;
	io->in_fd = pgp_open_in(in_path, "reading", &size, cause);
	if (io->in_fd == -1)
		return -1;
	io->tmp = pgp_tmp_template(out_path);
	if ((io->out_fd = mkostemp(io->tmp, O_CLOEXEC)) == -1) {
		pgp_fail(cause, gpgme_error_from_syserror(),
		         "creating a temporary file for %s", out_path);
		xfree(io->tmp);
		return -1;
	}
	if (fchmod(io->out_fd, 0600) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "creating %s", io->tmp);
	err = gpgme_data_new_from_fd(&io->in, io->in_fd);
	if (err == 0)
		err = gpgme_data_new_from_fd(&io->outd, io->out_fd);
	if (err != 0)
		return pgp_fail(cause, err, "reading %s", in_path);
	pgp_data_flags(io->in, plain_in);
	pgp_data_flags(io->outd, !plain_in);
	/* Lets gpg report progress against the real total. */
	snprintf(hint, sizeof(hint), "%lld", (long long)size);
	gpgme_data_set_flag(io->in, "size-hint", hint);
	return 0;
}

static void
pgp_io_release_data(struct pgp_io *io)
{
	if (io->in != NULL)
		gpgme_data_release(io->in);
	if (io->outd != NULL)
		gpgme_data_release(io->outd);
	io->in = io->outd = NULL;
}

/* Make the output durable and visible under its final name. */
static int
pgp_io_commit(struct pgp_io *io, char **cause)
{
	int fd = io->out_fd;

	pgp_io_release_data(io);
	io->out_fd = -1;
	if (fsync(fd) == -1) {
		pgp_fail(cause, gpgme_error_from_syserror(), "writing %s",
		         io->tmp);
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "writing %s", io->tmp);
	if (rename(io->tmp, io->out) == -1)
		return pgp_fail(cause, gpgme_error_from_syserror(),
		                "renaming %s to %s", io->tmp, io->out);
	xfree(io->tmp);
	return pgp_fsync_dir(io->out, cause);
}

/* Release everything; an uncommitted temporary file is removed. */
static void
pgp_io_close(struct pgp_io *io)
{
	pgp_io_release_data(io);
	if (io->in_fd != -1)
		close(io->in_fd);
	if (io->out_fd != -1)
		close(io->out_fd);
	if (io->tmp != NULL)
		unlink(io->tmp);
	xfree(io->tmp);
	io->in_fd = io->out_fd = -1;
}

static int
pgp_recipient(struct pgp *p, const char *fpr, gpgme_key_t *key, char **cause)
{
	gpgme_error_t err = gpgme_get_key(p->ctx, fpr, key, 0);

	if (err == 0)
		return 0;
	*key = NULL;
	if (gpgme_err_code(err) == GPG_ERR_EOF)
		return pgp_fail(
		    cause, 0,
		    "encrypting to %s: no such public key in %s (import the "
		    "vendor's key first)",
		    fpr, p->homedir);
	return pgp_fail(cause, err, "encrypting to %s", fpr);
}

/* Say which key gpg refused, if it said so, else what failed. */
static int
pgp_encrypt_fail(struct pgp *p, const char *in_path, const char *fpr, bool sign,
                 gpgme_error_t err, char **cause)
{
	gpgme_encrypt_result_t er = gpgme_op_encrypt_result(p->ctx);
	gpgme_sign_result_t sr = gpgme_op_sign_result(p->ctx);

	if (er != NULL && er->invalid_recipients != NULL)
		return pgp_fail(cause, er->invalid_recipients->reason,
		                "encrypting to %s", fpr);
	if (sr != NULL && sr->invalid_signers != NULL)
		return pgp_fail(cause, sr->invalid_signers->reason,
		                "signing with %s", p->signer->fpr);
	/* gpg asked for a passphrase that rosterd's key must not have. */
	if (sign && gpgme_err_code(err) == GPG_ERR_NO_PASSPHRASE)
		return pgp_fail(cause, err,
		                "signing with %s (rosterd's key "
		                "must have no passphrase)",
		                p->signer->fpr);
	return pgp_fail(cause, err, "encrypting %s to %s", in_path, fpr);
}

int
pgp_encrypt_file(struct pgp *p, const char *in_path, const char *out_path,
                 const char *recipient_fpr, bool sign, bool armor, char **cause)
{
	gpgme_key_t rcpt[2] = {NULL, NULL};
	struct pgp_io io = {.in_fd = -1, .out_fd = -1};
	gpgme_error_t err;
	char *fpr, *name = NULL;
	int rc = -1;

	if ((fpr = pgp_fpr_normalize(recipient_fpr)) == NULL)
		return pgp_fail(cause, 0,
		                "encrypting to \"%s\": not a full "
		                "key fingerprint",
		                recipient_fpr != NULL ? recipient_fpr : "");
	if (pgp_recipient(p, fpr, &rcpt[0], cause) == -1)
		goto out;
	if (sign && pgp_signer(p, cause) == -1)
		goto out;
	if (pgp_io_open(&io, in_path, out_path, 1, cause) == -1)
		goto out;
	name = pgp_literal_name(out_path);
	gpgme_data_set_file_name(io.in, name);
	gpgme_set_armor(p->ctx, armor);
	gpgme_signers_clear(p->ctx);
	if (sign) {
		gpgme_signers_add(p->ctx, p->signer);
		err = gpgme_op_encrypt_sign(
		    p->ctx, rcpt, GPGME_ENCRYPT_ALWAYS_TRUST, io.in, io.outd);
	} else
		err = gpgme_op_encrypt(p->ctx, rcpt, GPGME_ENCRYPT_ALWAYS_TRUST,
		                       io.in, io.outd);
	gpgme_signers_clear(p->ctx);
	if (err != 0)
		pgp_encrypt_fail(p, in_path, fpr, sign, err, cause);
	else
		rc = pgp_io_commit(&io, cause);
out:
	pgp_io_close(&io);
	if (rcpt[0] != NULL)
		gpgme_key_unref(rcpt[0]);
	free(name);
	free(fpr);
	return rc;
}

/* The primary fingerprint of the key that made a signature. */
static char *
pgp_primary_fpr(struct pgp *p, const char *fpr)
{
	gpgme_key_t key;
	char *s;

	if (gpgme_get_key(p->ctx, fpr, &key, 0) != 0)
		return xstrdup(fpr);
	s = xstrdup(key->fpr);
	gpgme_key_unref(key);
	return s;
}

/* A bad signature fails; a good one names its key in *signer. */
static int
pgp_check_signatures(struct pgp *p, const char *in_path, char **signer,
                     char **cause)
{
	gpgme_verify_result_t vr = gpgme_op_verify_result(p->ctx);
	gpgme_signature_t sig;
	char msg[256];

	*signer = NULL;
	for (sig = vr != NULL ? vr->signatures : NULL; sig; sig = sig->next) {
		switch (gpgme_err_code(sig->status)) {
		case GPG_ERR_NO_ERROR:
			if (*signer == NULL)
				*signer = pgp_primary_fpr(p, sig->fpr);
			break;
		case GPG_ERR_BAD_SIGNATURE:
			xfree(*signer);
			return pgp_fail(
			    cause, sig->status,
			    "decrypting %s: signature by %s", in_path,
			    sig->fpr != NULL ? sig->fpr : "unknown key");
		default:
			gpgme_strerror_r(sig->status, msg, sizeof(msg));
			log_warnx("pgp: %s: signature by %s not verified: %s",
			          in_path, sig->fpr != NULL ? sig->fpr : "?",
			          msg);
		}
	}
	return 0;
}

/* Explain a failed decryption: not encrypted, not to us, or damaged. */
static int
pgp_decrypt_fail(struct pgp *p, const char *in_path, gpgme_error_t err,
                 char **cause)
{
	gpgme_decrypt_result_t dr = gpgme_op_decrypt_result(p->ctx);
	gpgme_err_code_t code = gpgme_err_code(err);
	gpgme_recipient_t r;
	struct buf b;
	int rc;

	if (dr == NULL || dr->recipients == NULL) {
		if (code == GPG_ERR_NO_DATA)
			return pgp_fail(cause, err,
			                "decrypting %s (not an "
			                "OpenPGP encrypted file?)",
			                in_path);
		return pgp_fail(cause, err, "decrypting %s", in_path);
	}
	if (code != GPG_ERR_NO_SECKEY)
		return pgp_fail(cause, err,
		                "decrypting %s (damaged or "
		                "tampered with?)",
		                in_path);
	buf_init(&b, 0);
	for (r = dr->recipients; r != NULL; r = r->next)
		buf_addf(&b, "%s%s", r == dr->recipients ? "" : ", ", r->keyid);
	rc = pgp_fail(cause, err,
	              "decrypting %s (encrypted to key ID %s, "
	              "not to a key of rosterd's)",
	              in_path, buf_str(&b));
	buf_free(&b);
	return rc;
}

int
pgp_decrypt_file(struct pgp *p, const char *in_path, const char *out_path,
                 char **signer_fpr, char **cause)
{
	struct pgp_io io = {.in_fd = -1, .out_fd = -1};
	gpgme_error_t err;
	char *signer = NULL;
	int rc = -1;

	if (signer_fpr != NULL)
		*signer_fpr = NULL;
	if (pgp_io_open(&io, in_path, out_path, 0, cause) == -1)
		goto out;
	err = gpgme_op_decrypt_verify(p->ctx, io.in, io.outd);
	if (err != 0) {
		pgp_decrypt_fail(p, in_path, err, cause);
		goto out;
	}
	if (pgp_check_signatures(p, in_path, &signer, cause) == -1)
		goto out;
	if ((rc = pgp_io_commit(&io, cause)) == 0 && signer_fpr != NULL) {
		*signer_fpr = signer;
		signer = NULL;
	}
out:
	pgp_io_close(&io);
	free(signer);
	return rc;
}

/* A packet tag that can start an OpenPGP message or key file. */
static int
pgp_packet_tag_ok(unsigned char c)
{
	int tag;

	if ((c & 0x80) == 0)
		return 0;
	tag = (c & 0x40) ? (c & 0x3f) : ((c >> 2) & 0x0f);
	switch (tag) {
	case 1:  /* public-key encrypted session key */
	case 2:  /* signature */
	case 3:  /* symmetric-key encrypted session key */
	case 4:  /* one-pass signature */
	case 5:  /* secret key */
	case 6:  /* public key */
	case 8:  /* compressed data */
	case 9:  /* symmetrically encrypted data */
	case 10: /* marker */
	case 11: /* literal data */
	case 18: /* symmetrically encrypted and integrity protected */
	case 20: /* AEAD encrypted data */
		return 1;
	}
	return 0;
}

/* An armour header line in b, at the start or after a newline. */
static int
pgp_has_armor(const unsigned char *b, size_t n)
{
	static const char hdr[] = "-----BEGIN PGP ";
	const size_t hlen = sizeof(hdr) - 1;
	size_t i;

	for (i = 0; i + hlen <= n; i++) {
		if ((i == 0 || b[i - 1] == '\n') &&
		    memcmp(b + i, hdr, hlen) == 0)
			return 1;
	}
	return 0;
}

int
pgp_is_pgp_file(const char *path)
{
	unsigned char b[PGP_SNIFF_LEN];
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (n < sizeof(b)) {
		r = read(fd, b + n, sizeof(b) - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > 0 && pgp_packet_tag_ok(b[0]))
		return 1;
	return pgp_has_armor(b, n);
}
