/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * OpenPGP for feed and return files, through GPGME, with a GnuPG home that
 * belongs to rosterd alone (DATA/gnupg, mode 0700; ~/.gnupg is never used).
 *
 * The module owns that key ring: vendor public keys imported from the files
 * named in feed profiles, and rosterd's own key pair (no passphrase, used to
 * sign outgoing files and to decrypt vendor return files). Files are streamed
 * file to file; output is written 0600 under a temporary name in the target
 * directory, fsync'd and renamed into place, so a partial file is never
 * visible under the final name and no copy of the plaintext is made.
 *
 * Trust: encryption uses GPGME_ENCRYPT_ALWAYS_TRUST. The vendor key file
 * pinned in the profile (and the fingerprint it yields) is the trust
 * decision; GnuPG's web of trust plays no part.
 *
 * Every function that can fail returns -1 (or NULL) and, when cause is not
 * NULL, sets *cause to an allocated message the caller frees, naming what
 * failed and carrying GPGME's text ("encrypting to 3AA5...: Unusable public
 * key"). A struct pgp is not safe for concurrent use from two threads; use
 * one per thread (they may share a home directory).
 */
#ifndef ROSTERD_PGP_H
#define ROSTERD_PGP_H

#include <stdbool.h>
#include <stddef.h>

struct pgp;

/* Algorithms for rosterd's own key (primary signs, subkey encrypts). */
enum pgp_key_algo {
	PGP_KEY_ED25519 = 0, /* Ed25519 + Cv25519: small, fast, the default */
	PGP_KEY_RSA3072 = 1, /* RSA-3072 + RSA-3072: for old vendor software */
};

/* User ID given to rosterd's key when the caller passes NULL. */
#define PGP_DEFAULT_USERID "rosterd"

/*
 * Open the key ring in homedir (created 0700 if absent; an existing
 * directory owned by us is tightened to 0700; the parent must exist).
 * Returns a new context the caller frees with pgp_free, or NULL.
 */
struct pgp *pgp_new(const char *homedir, char **cause);
/* NULL-safe. Leaves gpg-agent running; see pgp_stop_agent. */
void pgp_free(struct pgp *);
/* The absolute home directory; borrowed, valid until pgp_free. */
const char *pgp_homedir(const struct pgp *);

/*
 * Stop the gpg-agent that GnuPG starts for this home (signing, decrypting
 * and key creation need one; it outlives the process otherwise). Call at
 * daemon shutdown or after a one-shot command. Returns 0 or -1.
 */
int pgp_stop_agent(struct pgp *, char **cause);

/*
 * A full fingerprint (40 or 64 hex digits; spaces ignored, any case) as an
 * allocated upper-case string the caller frees, or NULL when s is not one.
 * Short and long key IDs are refused: they are not unique.
 */
char *pgp_fpr_normalize(const char *s);

/*
 * Import one vendor public key from path (ASCII-armoured or binary). The
 * file must hold exactly one key, no secret key material, and the key must
 * be able to encrypt (not revoked, expired or sign-only); otherwise nothing
 * is imported. On success *fpr_out (if not NULL) gets the primary key's
 * fingerprint, allocated. Re-importing a key merges new signatures/subkeys.
 */
int pgp_import_key(struct pgp *, const char *path, char **fpr_out,
                   char **cause);

/*
 * Find rosterd's own key (a secret key that can sign) or create one without
 * passphrase and expiry: primary for signing, subkey for encryption (added
 * if an existing key lacks one). userid (NULL: PGP_DEFAULT_USERID) and algo
 * apply only to a new key. The key becomes this context's signer. On
 * success *fpr_out (if not NULL) gets its fingerprint, allocated.
 */
int pgp_ensure_signing_key(struct pgp *, const char *userid,
                           enum pgp_key_algo algo, char **fpr_out,
                           char **cause);

/*
 * Export the public key with fingerprint fpr (NULL: this context's signer,
 * created by pgp_ensure_signing_key if need be), armoured or binary. On
 * success *out is an allocated, NUL-terminated buffer of *outlen bytes (the
 * NUL not counted; outlen may be NULL) that the caller frees.
 */
int pgp_export_public(struct pgp *, const char *fpr, bool armor, char **out,
                      size_t *outlen, char **cause);

/*
 * Encrypt in_path to the key recipient_fpr (a full fingerprint of an
 * imported key), optionally signing with rosterd's key (created on first
 * use, see pgp_ensure_signing_key), ASCII-armoured or binary, into out_path
 * (replaced atomically, mode 0600). in_path is left alone; deleting the
 * plaintext is the caller's decision. On failure out_path is untouched.
 */
int pgp_encrypt_file(struct pgp *, const char *in_path, const char *out_path,
                     const char *recipient_fpr, bool sign, bool armor,
                     char **cause);

/*
 * Decrypt in_path (encrypted to rosterd's key) into out_path (replaced
 * atomically, mode 0600) and check any signature. A bad signature fails
 * and writes nothing. When signer_fpr is not NULL it is set to the primary
 * fingerprint of the key that made a good signature (allocated), or to
 * NULL when the file is unsigned or signed by a key not in the key ring
 * (which proves nothing: anyone can encrypt to rosterd's public key).
 */
int pgp_decrypt_file(struct pgp *, const char *in_path, const char *out_path,
                     char **signer_fpr, char **cause);

/*
 * Whether path looks like OpenPGP data: an armour header ("-----BEGIN PGP")
 * or a binary packet with a message or key tag. 1 yes, 0 no, -1 when the
 * file cannot be read (errno set).
 */
int pgp_is_pgp_file(const char *path);

/*
 * Report progress of the following encrypt/decrypt calls to fn(arg, done,
 * total) (same unit for both; total 0 when unknown). fn NULL turns it off.
 */
void pgp_set_progress(struct pgp *, void (*fn)(void *, long long, long long),
                      void *arg);

#endif
