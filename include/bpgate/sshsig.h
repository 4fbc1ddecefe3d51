/*
 * bpgate — OpenSSH SSHSIG signatures (what `ssh-keygen -Y sign/verify` make
 * and check), allowed_signers files, and SSH-signed git commits and tags.
 *
 * Everything here is pure: no clock reads (the verification time is a
 * parameter), no I/O except the *_load helpers that read one named file.
 *
 * Ownership: objects returned through a pointer-to-pointer are the caller's
 * and are freed with their *_free() (NULL accepted). bpg_buf outputs are the
 * caller's buffers (bpg_buf_dispose). Getters return borrowed pointers,
 * valid while their object lives.
 *
 * Scope: ed25519 keys, and ed25519 OpenSSH user certificates signed by an
 * ed25519 CA listed with `cert-authority`. Other key types (RSA, ECDSA,
 * security keys) are refused with a message naming the type.
 */
#ifndef INCLUDE_bpgate_sshsig_h__
#define INCLUDE_bpgate_sshsig_h__

#include "common.h"
#include "buf.h"
#include "sshkey.h"
#include <stdbool.h>
#include <time.h>

BPG_BEGIN_DECL

/** Largest armored signature / allowed_signers file accepted. */
#define BPG_SSHSIG_ARMOR_MAX (64 * 1024)
#define BPG_ALLOWED_SIGNERS_MAX (4 * 1024 * 1024)
/** Longest principals field in an allowed_signers line. */
#define BPG_SSHSIG_PRINCIPAL_MAX 1024

typedef enum {
	BPG_SSHSIG_SHA512 = 0, /**< ssh-keygen's default */
	BPG_SSHSIG_SHA256 = 1,
} bpg_sshsig_hash;

/** Why a verification failed (BPG_SSHSIG_OK when it did not). */
typedef enum {
	BPG_SSHSIG_OK = 0,
	BPG_SSHSIG_MALFORMED,        /**< armor/blob does not parse (truncated, bad version, trailing data) */
	BPG_SSHSIG_UNSUPPORTED,      /**< key or signature type we do not verify */
	BPG_SSHSIG_WRONG_NAMESPACE,  /**< signed for another namespace than the one asked for */
	BPG_SSHSIG_BAD_SIGNATURE,    /**< the Ed25519 check fails (message or signature changed) */
	BPG_SSHSIG_NOT_ALLOWED,      /**< no allowed_signers line gives this key to this principal */
	BPG_SSHSIG_NAMESPACE_NOT_ALLOWED, /**< the line's namespaces= does not include the namespace */
	BPG_SSHSIG_EXPIRED,          /**< now > valid-before of the line, or >= the certificate's (as ssh) */
	BPG_SSHSIG_NOT_YET_VALID,    /**< now < valid-after (of the line or the certificate) */
	BPG_SSHSIG_BAD_CERTIFICATE,  /**< certificate invalid: CA signature, principal, type, options */
} bpg_sshsig_reason;

/** Outcome of bpg_sshsig_verify(), filled in on success and on failure. */
typedef struct {
	bpg_sshsig_reason reason;
	/** The principal: the one asked for, or (when none was asked for) the
	 * principals field of the allowed_signers line that matched. */
	char principal[BPG_SSHSIG_PRINCIPAL_MAX + 1];
	/** Fingerprint of the signing key ("SHA256:..."); for a certificate,
	 * of the certified key. Empty when the signature did not parse. */
	char fingerprint[BPG_SSH_FINGERPRINT_SIZE];
	/** allowed_signers line (1-based) that matched; 0 when none. */
	size_t line;
} bpg_sshsig_result;

/** Stable lower-case name of a reason ("bad-signature", ...). */
BPG_EXTERN(const char *) bpg_sshsig_reason_name(bpg_sshsig_reason reason);

/* ------------------------------------------------------------------ */
/* Parsed signatures                                                   */

typedef struct bpg_sshsig bpg_sshsig;

/** Dearmor ("-----BEGIN SSH SIGNATURE-----") and parse. BPG_EINVALID when malformed. */
BPG_EXTERN(int) bpg_sshsig_parse(bpg_sshsig **out, const char *armor, size_t len, bpg_error *err);
/** Parse a raw (dearmored) SSHSIG blob. */
BPG_EXTERN(int) bpg_sshsig_parse_blob(bpg_sshsig **out, const unsigned char *blob, size_t len,
	bpg_error *err);
BPG_EXTERN(void) bpg_sshsig_free(bpg_sshsig *sig);

/** The namespace inside the signature (borrowed, NUL-free, NUL-terminated). */
BPG_EXTERN(const char *) bpg_sshsig_namespace(const bpg_sshsig *sig);
BPG_EXTERN(bpg_sshsig_hash) bpg_sshsig_hashalg(const bpg_sshsig *sig);
/** The key that made the signature (for a certificate: the certified key). */
BPG_EXTERN(const bpg_ssh_pubkey *) bpg_sshsig_pubkey(const bpg_sshsig *sig);
/** True when the signature was made with an OpenSSH certificate. */
BPG_EXTERN(bool) bpg_sshsig_is_cert(const bpg_sshsig *sig);

/**
 * Cryptographic check only (`ssh-keygen -Y check-novalidate`): namespace
 * equal to `namespace`, and the Ed25519 signature over the SSHSIG signed
 * data of msg. No trust decision. BPG_EVERIFY on failure; *reason (when not
 * NULL) says which.
 */
BPG_EXTERN(int) bpg_sshsig_check(bpg_sshsig_reason *reason, const bpg_sshsig *sig,
	const void *msg, size_t msglen, const char *namespace, bpg_error *err) BPG_MUST_CHECK;

/**
 * Sign msg for `namespace` with an ed25519 key: appends the armored
 * signature (70-column base64, final LF) to armor_out, byte-identical to
 * `ssh-keygen -Y sign` with the same key.
 */
BPG_EXTERN(int) bpg_sshsig_sign(bpg_buf *armor_out, const bpg_ssh_seckey *key,
	const void *msg, size_t msglen, const char *namespace, bpg_sshsig_hash hash,
	bpg_error *err);

/* ------------------------------------------------------------------ */
/* allowed_signers                                                     */

typedef struct bpg_allowed_signers bpg_allowed_signers;

/**
 * Parse an allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS):
 * `principals [options] ssh-ed25519 base64 [comment]`, '#' comments and
 * blank lines skipped. Options: cert-authority, namespaces="...",
 * valid-after="...", valid-before="..." (YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z];
 * local time unless Z). Errors are "name:line: message". Unknown options and
 * key types other than ssh-ed25519 are errors (fail closed), so a file that
 * parses is a file that is understood entirely.
 */
BPG_EXTERN(int) bpg_allowed_signers_parse(bpg_allowed_signers **out, const char *data, size_t len,
	const char *name, bpg_error *err);
BPG_EXTERN(int) bpg_allowed_signers_load(bpg_allowed_signers **out, const char *path, bpg_error *err);
BPG_EXTERN(void) bpg_allowed_signers_free(bpg_allowed_signers *signers);
/** Number of key lines. */
BPG_EXTERN(size_t) bpg_allowed_signers_count(const bpg_allowed_signers *signers);

/**
 * Principals a key may sign as (map a pusher's key to a principal): appends
 * the principals field of every line that lists this key (not
 * cert-authority lines), is valid at `now`, and whose namespaces= allows
 * `namespace` (NULL: any), one per line (LF-terminated), in file order.
 * Returns the number of lines found (0 when none), or a negative code.
 */
BPG_EXTERN(int) bpg_allowed_signers_find_principals(bpg_buf *out,
	const bpg_allowed_signers *signers, const bpg_ssh_pubkey *key,
	const char *namespace, time_t now, bpg_error *err);

/**
 * Does `principal` match a principals pattern-list as ssh does
 * (comma-separated, `*` and `?` wildcards, a matching `!pattern` vetoes)?
 */
BPG_EXTERN(bool) bpg_ssh_pattern_list_match(const char *patterns, size_t plen,
	const char *name, size_t nlen);

/** Parse an allowed_signers / verify-time stamp (YYYYMMDD[HHMM[SS]][Z]). */
BPG_EXTERN(int) bpg_ssh_parse_time(time_t *out, const char *text, size_t len, bpg_error *err);

/* ------------------------------------------------------------------ */
/* Verification                                                        */

/**
 * Verify what `ssh-keygen -Y verify -f SIGNERS -I PRINCIPAL -n NAMESPACE`
 * verifies, at time `now`: the signature parses, was made for `namespace`,
 * is a good Ed25519 signature of msg, and some allowed_signers line whose
 * principals match `principal` lists the key (or, with cert-authority, the
 * CA of a certificate naming `principal`), allows the namespace and is valid
 * at `now`. principal NULL means "any principal" (find-principals + verify).
 * Returns 0, or BPG_EVERIFY with out->reason and a precise message in err.
 * out (optional) is filled either way.
 */
BPG_EXTERN(int) bpg_sshsig_verify(bpg_sshsig_result *out, const void *msg, size_t msglen,
	const char *armor, size_t armorlen, const char *namespace, const char *principal,
	const bpg_allowed_signers *signers, time_t now, bpg_error *err) BPG_MUST_CHECK;

/* ------------------------------------------------------------------ */
/* SSH-signed git commits and tags                                     */

typedef enum { BPG_GITSIG_COMMIT = 1, BPG_GITSIG_TAG = 2 } bpg_gitsig_kind;

/**
 * Split a raw git commit or tag object (as `git cat-file commit|tag`
 * prints it) into the signed payload and the armored signature, the way
 * git does: for a commit, the single `gpgsig` header (with its
 * space-prefixed continuation lines) in the header block, payload = the
 * object without any gpgsig* header; for a tag, the last line of the
 * message starting "-----BEGIN SSH SIGNATURE-----" to the end.
 * BPG_ENOTFOUND when unsigned (a signature block in a commit's message body
 * is NOT a signature: that commit is unsigned), BPG_EINVALID when the
 * object is malformed, has two gpgsig headers or a non-SSH (PGP/X.509)
 * signature. `when` (optional) gets the committer (tagger) time, 0 if absent.
 */
BPG_EXTERN(int) bpg_gitsig_extract(bpg_buf *payload, bpg_buf *signature, int64_t *when,
	bpg_gitsig_kind kind, const char *raw, size_t len, bpg_error *err);

/**
 * Extract and verify with namespace "git" against signers at time `now`
 * (git itself uses the committer time, which the signer chooses; the caller
 * decides), for any principal the key is allowed for, as git verify-commit
 * does. Returns 0; the extraction's code (BPG_ENOTFOUND unsigned,
 * BPG_EINVALID malformed or not SSH, out->reason MALFORMED); or BPG_EVERIFY
 * with out->reason.
 */
BPG_EXTERN(int) bpg_gitsig_verify(bpg_sshsig_result *out, bpg_gitsig_kind kind,
	const char *raw, size_t len, const bpg_allowed_signers *signers, time_t now,
	bpg_error *err) BPG_MUST_CHECK;

BPG_END_DECL

#endif
