/*
 * bpgate — minisign-compatible Ed25519 keys and signatures (libsodium).
 *
 * Byte formats are minisign's (shared/specs/signing-formats.md section 1):
 * a public key is "Ed" || keynum(8) || pk(32); a secret key file holds 158
 * bytes, optionally encrypted with scrypt (crypto_pwhash_scryptsalsa208sha256)
 * and checked with BLAKE2b-256; a .minisig file has four lines (untrusted
 * comment, "ED"/"Ed" || keynum || Ed25519 signature, trusted comment, global
 * signature over signature || trusted comment). Anything minisign 0.11/0.12
 * verifies is accepted; anything we write minisign verifies.
 *
 * signify signatures (two lines, no trusted comment) are refused, as
 * minisign refuses them: the trusted comment is part of what we check.
 * signify public keys are accepted (same 42-byte format).
 *
 * Ownership:
 *  - bpg_minisign_pubkey is a plain value; copy it freely.
 *  - bpg_minisign_seckey and bpg_minisign_sig are opaque and the caller's,
 *    freed by their *_free() (accept NULL). Secret key bytes live in
 *    sodium_malloc'd guarded memory and are wiped on free.
 *  - Strings returned by getters are borrowed from their object.
 *  - Passphrases are NUL-terminated strings the caller keeps (read them with
 *    bpg_passphrase_read(), which returns guarded memory).
 */
#ifndef INCLUDE_bpgate_sign_h__
#define INCLUDE_bpgate_sign_h__

#include "common.h"
#include "buf.h"
#include <stdbool.h>

BPG_BEGIN_DECL

#define BPG_MINISIGN_KEYNUM_SIZE 8
#define BPG_MINISIGN_PK_SIZE 32
#define BPG_MINISIGN_SIG_SIZE 64
/** Key id as minisign prints it: 16 upper-case hex digits + NUL. */
#define BPG_MINISIGN_KEYID_SIZE 17
/** base64 of the 42-byte public key (56 characters) + NUL. */
#define BPG_MINISIGN_PUBKEY_B64_SIZE 57
/** Largest trusted comment text accepted or written (minisign's 8192-byte line less prefix and LF). */
#define BPG_MINISIGN_TRUSTED_MAX 8174
/** Largest untrusted comment text (minisign's 1024-byte line less prefix and LF). */
#define BPG_MINISIGN_UNTRUSTED_MAX 1004
/** Largest key or signature file read. */
#define BPG_MINISIGN_FILE_MAX 65536

/** A minisign public key (also a signify public key). */
typedef struct {
	unsigned char keynum[BPG_MINISIGN_KEYNUM_SIZE]; /**< key id, raw bytes as stored */
	unsigned char pk[BPG_MINISIGN_PK_SIZE];         /**< Ed25519 public key */
} bpg_minisign_pubkey;

typedef struct bpg_minisign_seckey bpg_minisign_seckey;
typedef struct bpg_minisign_sig bpg_minisign_sig;

/** scrypt cost of an encrypted secret key. minisign writes the SENSITIVE limits. */
typedef struct {
	unsigned long long opslimit;
	size_t memlimit;
} bpg_minisign_kdf;
/** crypto_pwhash_scryptsalsa208sha256_{OPS,MEM}LIMIT_SENSITIVE, as minisign. */
#define BPG_MINISIGN_KDF_DEFAULT { 33554432ULL, (size_t)1073741824 }

/* ---- public keys ------------------------------------------------------ */

/**
 * Parse a public key: either a minisign/signify public key file
 * ("untrusted comment: ...\n<base64>\n") or the bare base64 string that
 * `minisign -P` takes (surrounding blanks ignored). BPG_EINVALID with the
 * reason otherwise.
 */
BPG_EXTERN(int) bpg_minisign_pubkey_parse(bpg_minisign_pubkey *out, const char *data, size_t len,
	const char *name, bpg_error *err);
/** Read a public key file (at most BPG_MINISIGN_FILE_MAX bytes) and parse it. */
BPG_EXTERN(int) bpg_minisign_pubkey_load(bpg_minisign_pubkey *out, const char *path, bpg_error *err);
/** The key id as minisign prints it ("EFA250982BA1E92B": keynum read as le64). */
BPG_EXTERN(void) bpg_minisign_keyid(char out[BPG_MINISIGN_KEYID_SIZE], const unsigned char keynum[8]);
/** base64 of the 42 public key bytes (the `-P` form). */
BPG_EXTERN(void) bpg_minisign_pubkey_base64(char out[BPG_MINISIGN_PUBKEY_B64_SIZE],
	const bpg_minisign_pubkey *key);
/** Append the public key file text ("untrusted comment: minisign public key <ID>\n<base64>\n"). */
BPG_EXTERN(int) bpg_minisign_pubkey_format(bpg_buf *out, const bpg_minisign_pubkey *key);
/** Are the two keys the same (key id and Ed25519 key)? */
BPG_EXTERN(bool) bpg_minisign_pubkey_equal(const bpg_minisign_pubkey *a, const bpg_minisign_pubkey *b);
/**
 * The key id bpgate gives an Ed25519 key that has none of its own (an
 * OpenSSH key used to make minisign signatures): the first 8 bytes of
 * BLAKE2b-256("bpgate-minisign-keynum-v1" || pk). Stable, so the public
 * key file made from an ssh key verifies every signature made with it.
 */
BPG_EXTERN(void) bpg_minisign_keynum_for(unsigned char out[8], const unsigned char pk[32]);

/* ---- secret keys ------------------------------------------------------ */

/** A new random key pair (crypto_sign_keypair, random key id). */
BPG_EXTERN(int) bpg_minisign_seckey_generate(bpg_minisign_seckey **out, bpg_error *err);
/** A key pair from a 32-byte seed and a key id (deterministic; tests). */
BPG_EXTERN(int) bpg_minisign_seckey_from_seed(bpg_minisign_seckey **out, const unsigned char seed[32],
	const unsigned char keynum[8], bpg_error *err);

/**
 * A key whose signatures are made elsewhere (an OpenSSH key, a token):
 * fn(sig, msg, len, payload, err) must write the Ed25519 signature of msg
 * by the key whose public half is pk. payload stays the caller's and must
 * outlive the key.
 */
typedef int (*bpg_sign_fn)(unsigned char sig[64], const void *msg, size_t len, void *payload,
	bpg_error *err);
BPG_EXTERN(int) bpg_minisign_seckey_external(bpg_minisign_seckey **out, const unsigned char keynum[8],
	const unsigned char pk[32], bpg_sign_fn fn, void *payload, bpg_error *err);

/** Does this secret key file need a passphrase (kdf "Sc")? BPG_EINVALID if it is no secret key. */
BPG_EXTERN(int) bpg_minisign_seckey_is_encrypted(bool *out, const char *data, size_t len,
	const char *name, bpg_error *err);

/**
 * Parse a minisign secret key file. An encrypted key needs passphrase (else
 * BPG_EINVALID "passphrase needed"); a wrong passphrase gives BPG_EVERIFY.
 * The stored scrypt limits are used (bounded: memlimit <= 2 GiB, opslimit
 * <= 4 * SENSITIVE, else BPG_ETOOBIG). The embedded public key must match
 * the one derived from the seed.
 */
BPG_EXTERN(int) bpg_minisign_seckey_parse(bpg_minisign_seckey **out, const char *data, size_t len,
	const char *passphrase, const char *name, bpg_error *err);

/**
 * Refuse a secret key file that group or others may access, as ssh does:
 * BPG_EINVALID "permissions 0644 for 'x' are too open ...".
 */
BPG_EXTERN(int) bpg_seckey_file_check_mode(const char *path, bpg_error *err) BPG_MUST_CHECK;

/**
 * Supplies a passphrase when a key turns out to be encrypted: *out must be
 * a NUL-terminated string in sodium_malloc'd memory (bpg_passphrase_read()
 * gives one); the loader wipes and frees it.
 */
typedef int (*bpg_passphrase_fn)(char **out, const char *key_path, void *payload, bpg_error *err);

/**
 * Check the mode, read into guarded memory, ask get_pass (may be NULL: an
 * encrypted key is then an error) only if the key is encrypted, parse, wipe.
 */
BPG_EXTERN(int) bpg_minisign_seckey_load(bpg_minisign_seckey **out, const char *path,
	bpg_passphrase_fn get_pass, void *payload, bpg_error *err);

/**
 * Write the secret key file atomically with mode 0600: encrypted with
 * passphrase and kdf (NULL: BPG_MINISIGN_KDF_DEFAULT) when passphrase is
 * not NULL, else unencrypted (kdf "\0\0", as `minisign -G -W`; the BLAKE2b
 * checksum is still written). The file text is built in guarded memory.
 */
BPG_EXTERN(int) bpg_minisign_seckey_write(const char *path, const bpg_minisign_seckey *key,
	const char *passphrase, const bpg_minisign_kdf *kdf, const char *comment, bpg_error *err);

/** The public half of the key (for `keygen` and `keygen -R`). */
BPG_EXTERN(void) bpg_minisign_seckey_pubkey(bpg_minisign_pubkey *out, const bpg_minisign_seckey *key);

/** Wipe and free (accepts NULL). */
BPG_EXTERN(void) bpg_minisign_seckey_free(bpg_minisign_seckey *key);

/* ---- signatures ------------------------------------------------------- */

typedef struct {
	const char *trusted_comment;   /**< NULL: "timestamp:<now>\tfile:<file_name>\thashed" */
	const char *untrusted_comment; /**< NULL: "signature from bpgate secret key" */
	const char *file_name;         /**< basename used in the default trusted comment */
	bool legacy;                   /**< "Ed" over the raw message (signify-verifiable) instead of "ED" */
	long long timestamp;           /**< for the default trusted comment; < 0 means now */
} bpg_minisign_sign_opts;
#define BPG_MINISIGN_SIGN_OPTS_INIT { NULL, NULL, NULL, false, -1 }

/**
 * Sign msg and append the four-line .minisig text to out. The trusted
 * comment must be valid UTF-8 without control characters other than TAB
 * (minisign 0.12's rule) and at most BPG_MINISIGN_TRUSTED_MAX bytes.
 */
BPG_EXTERN(int) bpg_minisign_sign(bpg_buf *out, const bpg_minisign_seckey *key, const void *msg,
	size_t len, const bpg_minisign_sign_opts *opts, bpg_error *err);

/** Same, reading the message from a file; prehashed signing streams it. */
BPG_EXTERN(int) bpg_minisign_sign_file(bpg_buf *out, const bpg_minisign_seckey *key, const char *path,
	const bpg_minisign_sign_opts *opts, bpg_error *err);

/**
 * Parse a .minisig file as minisign does (lines trimmed of LF then one CR;
 * lengths checked; lines after the fourth ignored). BPG_EINVALID naming
 * the line otherwise.
 */
BPG_EXTERN(int) bpg_minisign_sig_parse(bpg_minisign_sig **out, const char *data, size_t len,
	const char *name, bpg_error *err);
BPG_EXTERN(void) bpg_minisign_sig_free(bpg_minisign_sig *sig);

BPG_EXTERN(const char *) bpg_minisign_sig_trusted_comment(const bpg_minisign_sig *sig);
BPG_EXTERN(const char *) bpg_minisign_sig_untrusted_comment(const bpg_minisign_sig *sig);
/** True for "ED" (prehashed BLAKE2b-512), false for legacy "Ed". */
BPG_EXTERN(bool) bpg_minisign_sig_prehashed(const bpg_minisign_sig *sig);
/** The key id the signature claims (not authenticated). */
BPG_EXTERN(const unsigned char *) bpg_minisign_sig_keynum(const bpg_minisign_sig *sig);

enum { BPG_MINISIGN_REQUIRE_PREHASH = 1 << 0 };

/**
 * Verify as `minisign -V`: key id, then the signature over the message (or
 * its BLAKE2b-512), then the global signature over the trusted comment.
 * 0 when valid; BPG_EVERIFY with the reason otherwise.
 */
BPG_EXTERN(int) bpg_minisign_sig_verify(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key,
	const void *msg, size_t len, unsigned flags, bpg_error *err) BPG_MUST_CHECK;
/** Same, reading the message from a file (streamed when prehashed). */
BPG_EXTERN(int) bpg_minisign_sig_verify_file(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key,
	const char *path, unsigned flags, bpg_error *err) BPG_MUST_CHECK;

/* ---- passphrases ------------------------------------------------------ */

/**
 * Read a passphrase: from file descriptor fd when fd >= 0 (one line, the
 * LF/CRLF removed), else from /dev/tty with echo off, printing prompt
 * there (and asking twice when confirm). *out is sodium_malloc'd and
 * NUL-terminated; free it with bpg_passphrase_free(). At most 1023 bytes.
 */
BPG_EXTERN(int) bpg_passphrase_read(char **out, int fd, const char *prompt, bool confirm, bpg_error *err);
BPG_EXTERN(void) bpg_passphrase_free(char *pass);

BPG_END_DECL

#endif
