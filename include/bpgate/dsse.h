/*
 * bpgate — DSSE envelopes (secure-systems-lab/dsse v1) and in-toto
 * Statements v1: the building blocks of the release evidence package.
 *
 *  - PAE(type, body) = "DSSEv1 " len(type) " " type " " len(body) " " body;
 *    the Ed25519 signature covers the PAE, never the raw payload.
 *  - Keys are Ed25519 in formats people already have: public keys as an
 *    OpenSSH line ("ssh-ed25519 AAAA... comment"), a PEM SPKI block
 *    (openssl) or 64 hex digits; private keys as unencrypted PKCS#8 PEM
 *    (`openssl genpkey -algorithm ed25519`). A key's id is its OpenSSH
 *    fingerprint "SHA256:<base64>" (`ssh-keygen -lf` prints the same), and
 *    in an envelope it is only a hint: every trusted key is tried.
 *  - Verification returns exactly the payload bytes that were verified;
 *    callers parse those and never re-serialise.
 *
 * Ownership: keys from *_parse/_load/_generate are the caller's, freed with
 * bpg_dsse_key_free(). json_t objects follow jansson's rules: `out`
 * statements are new references the caller json_decref()s; "stolen"
 * arguments are consumed even on failure.
 */
#ifndef INCLUDE_bpgate_dsse_h__
#define INCLUDE_bpgate_dsse_h__

#include "common.h"
#include "buf.h"
#include <stdbool.h>
#include <jansson.h>

BPG_BEGIN_DECL

#define BPG_DSSE_INTOTO_TYPE "application/vnd.in-toto+json"
#define BPG_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
/**
 * predicateType of bpgate's release evidence (issue 7 item 4). A URI the
 * project controls is to replace this placeholder before the first release.
 */
#define BPG_EVIDENCE_PREDICATE_V1 "https://bpgate.invalid/release-evidence/v1"
/** Largest envelope read. */
#define BPG_DSSE_MAX_BYTES ((size_t)16 << 20)

typedef struct bpg_dsse_key bpg_dsse_key;

BPG_EXTERN(int) bpg_dsse_key_generate(bpg_dsse_key **out, bpg_error *err);
/** An OpenSSH public key line, a PEM "PUBLIC KEY" block, or 64 hex digits. */
BPG_EXTERN(int) bpg_dsse_key_parse_public(bpg_dsse_key **out, const char *text, size_t len,
	bpg_error *err);
/** An unencrypted PKCS#8 PEM "PRIVATE KEY" block (Ed25519). */
BPG_EXTERN(int) bpg_dsse_key_parse_private(bpg_dsse_key **out, const char *text, size_t len,
	bpg_error *err);
/** Read a key file of either kind (private key files must not be readable by others). */
BPG_EXTERN(int) bpg_dsse_key_load(bpg_dsse_key **out, const char *path, bpg_error *err);
/** PKCS#8 PEM of the private key (BPG_EINVALID for a public-only key). Secret. */
BPG_EXTERN(int) bpg_dsse_key_format_private(bpg_buf *out, const bpg_dsse_key *key,
	bpg_error *err);
/** "ssh-ed25519 <base64>" (no comment, no LF). */
BPG_EXTERN(int) bpg_dsse_key_format_public(bpg_buf *out, const bpg_dsse_key *key);
/** "SHA256:<base64 without padding>" (borrowed). */
BPG_EXTERN(const char *) bpg_dsse_key_id(const bpg_dsse_key *key);
BPG_EXTERN(bool) bpg_dsse_key_has_private(const bpg_dsse_key *key);
BPG_EXTERN(void) bpg_dsse_key_free(bpg_dsse_key *key);

/** Append PAE(type, body) to out. */
BPG_EXTERN(int) bpg_dsse_pae(bpg_buf *out, const char *type, size_t type_len, const void *body,
	size_t body_len);

/**
 * Sign `payload` of `type` with a private key and append the envelope as
 * compact JSON (no LF): {"payloadType","payload","signatures":[{"keyid","sig"}]}.
 */
BPG_EXTERN(int) bpg_dsse_sign(bpg_buf *out, const char *type, const void *payload, size_t len,
	const bpg_dsse_key *key, bpg_error *err);

/**
 * Verify an envelope: at least `threshold` (>= 1) distinct keys of `keys`
 * must each have a valid signature over PAE. Base64 in standard or URL-safe
 * alphabet, padded or not. On success the verified payload is appended to
 * `payload_out` and its type to `type_out` (either may be NULL).
 * BPG_EINVALID: malformed envelope; BPG_EVERIFY: not enough signatures.
 */
BPG_EXTERN(int) bpg_dsse_verify(bpg_buf *payload_out, bpg_buf *type_out, const char *envelope,
	size_t len, const bpg_dsse_key *const *keys, size_t nkeys, size_t threshold,
	bpg_error *err) BPG_WARN_UNUSED;

/* -------------------------------------------------------- in-toto v1 */

/** A new Statement {"_type", "subject": [], "predicateType"}. */
BPG_EXTERN(int) bpg_intoto_statement_new(json_t **out, const char *predicate_type,
	bpg_error *err);
/** Append a subject {"name", "digest": {alg: hex}}; hex is lower-case, checked. */
BPG_EXTERN(int) bpg_intoto_add_subject(json_t *stmt, const char *name, const char *alg,
	const char *hex_digest, bpg_error *err);
/** Set "predicate" (stolen). */
BPG_EXTERN(int) bpg_intoto_set_predicate(json_t *stmt, json_t *predicate, bpg_error *err);
/** Compact serialisation in member order (no LF): the bytes to sign. */
BPG_EXTERN(int) bpg_intoto_serialize(bpg_buf *out, const json_t *stmt, bpg_error *err);
/**
 * Parse and check a Statement (verified payload bytes): "_type" is
 * Statement v1, "subject" a non-empty array whose elements have a non-empty
 * "digest" object of hex strings, "predicateType" a string.
 */
BPG_EXTERN(int) bpg_intoto_parse(json_t **out, const char *payload, size_t len, bpg_error *err);
/** Does some subject carry this sha256 (lower-case hex)? */
BPG_EXTERN(bool) bpg_intoto_has_sha256(const json_t *stmt, const char *hex);

BPG_END_DECL

#endif
