/*
 * Internals of the sshsig module: a bounded reader for SSH wire data
 * (RFC 4251 strings and integers), writers onto bpg_buf, armor helpers and
 * the certificate model. Not installed; not API.
 */
#ifndef BPG_SSHSIG_INTERNAL_H
#define BPG_SSHSIG_INTERNAL_H

#include "bpgate/sshsig.h"
#include "bpgate/util.h"
#include <stdbool.h>
#include <stdint.h>

/* A read cursor over borrowed bytes. Every read checks the remaining
 * length first; a failed read leaves the cursor unchanged. */
typedef struct {
	const unsigned char *p;
	size_t left;
} ssh_reader;

static inline void ssh_reader_init(ssh_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
}

int ssh_get_u32(ssh_reader *r, uint32_t *out);
int ssh_get_u64(ssh_reader *r, uint64_t *out);
int ssh_get_bytes(ssh_reader *r, const unsigned char **out, size_t len);
/* string: u32 length (checked against what is left) then the bytes (borrowed). */
int ssh_get_string(ssh_reader *r, const unsigned char **out, size_t *len);
/* A string that must equal `want` exactly. */
int ssh_get_expect(ssh_reader *r, const char *want);
/* A string with no NUL byte, returned as a NUL-terminated malloc'd copy. */
int ssh_get_cstring(ssh_reader *r, char **out);
static inline bool ssh_reader_done(const ssh_reader *r) { return r->left == 0; }

int ssh_put_u32(bpg_buf *b, uint32_t v);
int ssh_put_string(bpg_buf *b, const void *data, size_t len);
int ssh_put_cstring(bpg_buf *b, const char *s);

/* Armor: find "-----BEGIN <label>-----" at the start (after optional
 * whitespace for keys? no: at byte 0), base64 up to "-----END <label>-----",
 * LFs/CRs ignored, anything after the footer ignored. *out is malloc'd, or
 * sodium_malloc'd when secure (free with ssh_armor_free). */
int ssh_dearmor(unsigned char **out, size_t *outlen, const char *text, size_t len,
	const char *label, bool secure, bpg_error *err);
void ssh_armor_free(unsigned char *p, size_t len, bool secure);
/* Append the armored form with base64 wrapped at `width` columns. */
int ssh_armor(bpg_buf *out, const unsigned char *blob, size_t len, const char *label,
	size_t width);

/* An OpenSSH ed25519 user certificate (ssh-ed25519-cert-v01@openssh.com),
 * parsed and its CA signature verified. */
typedef struct {
	bpg_ssh_pubkey key;      /* the certified key */
	bpg_ssh_pubkey ca;       /* the signing CA */
	uint32_t type;           /* 1 user, 2 host */
	uint64_t valid_after, valid_before;
	const unsigned char *principals; /* packed strings, borrowed from the blob */
	size_t principals_len;
	bool has_critical;       /* any critical option present */
} ssh_cert;

#define SSH_CERT_ED25519 "ssh-ed25519-cert-v01@openssh.com"

/* Parse a certificate blob and verify the CA's signature over it. */
int ssh_cert_parse(ssh_cert *out, const unsigned char *blob, size_t len, bpg_error *err);
/* Is `principal` one of the certificate's principals (exact match)? */
bool ssh_cert_has_principal(const ssh_cert *cert, const char *principal);

/* Parse with the reason of a failure (MALFORMED, UNSUPPORTED, BAD_CERTIFICATE). */
int ssh_sig_parse_blob(bpg_sshsig **out, bpg_sshsig_reason *why, const unsigned char *blob,
	size_t len, bpg_error *err);
int ssh_sig_parse(bpg_sshsig **out, bpg_sshsig_reason *why, const char *armor, size_t len,
	bpg_error *err);

/* Parsed signature. */
struct bpg_sshsig {
	bpg_ssh_pubkey key;
	bool is_cert;
	ssh_cert cert;
	unsigned char *blob;     /* owned copy; cert fields point into it */
	size_t blob_len;
	char *namespace;
	unsigned char *reserved;
	size_t reserved_len;
	bpg_sshsig_hash hash;
	unsigned char sig[BPG_SSH_ED25519_SIG_SIZE];
};

/* allowed_signers model. */
typedef struct {
	size_t line;
	char *principals;        /* the pattern-list, NUL-terminated */
	char *namespaces;        /* NULL when no namespaces= option */
	bool cert_authority;
	bool has_after, has_before;
	time_t valid_after, valid_before;
	bool supported;          /* false: a key type we never match (RSA, ECDSA, ...) */
	bpg_ssh_pubkey key;
} ssh_signer;

struct bpg_allowed_signers {
	char *name;              /* file name for messages */
	ssh_signer *v;
	size_t n, cap;
};

/* sodium_init() before any sodium_malloc (idempotent); 0 or BPG_ERROR. */
int ssh_sodium_ready(bpg_error *err);

/* Is the allowed_signers line valid at now (ssh: expired when now > valid-before)? */
bpg_sshsig_reason ssh_signer_time_check(const ssh_signer *sg, time_t now);

#endif
