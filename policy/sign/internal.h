/* Shared by the sign module's files: line splitting and base64 as minisign does them. */
#ifndef BPG_SIGN_INTERNAL_H
#define BPG_SIGN_INTERNAL_H

#include "bpgate/sign.h"
#include <sodium.h>

#define SIG_ALG_LEGACY "Ed"
#define SIG_ALG_HASHED "ED"
#define KDF_ALG "Sc"
#define CHK_ALG "B2"
#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define PUBKEY_BYTES 42
#define SECKEY_BYTES 158
#define SIGSTRUCT_BYTES 74

/* A line of a minisign file: [ptr, ptr+len), LF removed, then one CR. */
typedef struct {
	const char *ptr;
	size_t len;
} sign_line;

/*
 * Take the next line from [*p, end). Returns 1 with a line, 0 at the end of
 * the data, BPG_EINVALID for a CR inside the line or a line longer than max
 * (prefix and LF included, as minisign's fgets buffers).
 */
int sign_next_line(sign_line *line, const char **p, const char *end, size_t max, int lineno,
	const char *name, bpg_error *err);

/* Decode standard padded base64 of exactly want bytes; BPG_EINVALID otherwise. */
int sign_b64_decode(unsigned char *out, size_t want, const char *b64, size_t len);

/* Is text valid UTF-8 with no control character other than TAB? */
bool sign_comment_ok(const char *s, size_t len);

/* Ed25519 signature with a (possibly external) secret key. */
int sign_seckey_sign(unsigned char sig[64], const bpg_minisign_seckey *key, const void *msg, size_t len,
	bpg_error *err);
/* sodium_malloc after sodium_init(); NULL on failure. */
void *sign_secure_alloc(size_t size);
const unsigned char *sign_seckey_keynum(const bpg_minisign_seckey *key);

#endif
