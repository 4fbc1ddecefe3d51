/*
 * Ed25519 keys for DSSE in formats people already have: OpenSSH public key
 * lines, PEM SPKI and PKCS#8 (the fixed DER framings of RFC 8410), raw hex.
 */
#include "bpgate/dsse.h"
#include "bpgate/util.h"
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct bpg_dsse_key {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	bool has_sk;
	char id[64];
};

/* RFC 8410 DER: SubjectPublicKeyInfo and OneAsymmetricKey (v1) for Ed25519. */
static const unsigned char spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
	0x70, 0x03, 0x21, 0x00 };
static const unsigned char pkcs8_prefix[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
static const unsigned char ssh_type[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5',
	'5', '1', '9', 0, 0, 0, 32 };

static void ssh_blob(unsigned char out[51], const unsigned char pk[32])
{
	memcpy(out, ssh_type, sizeof(ssh_type));
	memcpy(out + sizeof(ssh_type), pk, 32);
}

static int key_new(bpg_dsse_key **out, const unsigned char pk[32], const unsigned char *seed,
	bpg_error *err)
{
	unsigned char blob[51], h[32];
	bpg_dsse_key *k;

	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium failed to initialise");
	if (!(k = calloc(1, sizeof(*k))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (seed) {
		crypto_sign_seed_keypair(k->pk, k->sk, seed);
		k->has_sk = true;
	} else {
		memcpy(k->pk, pk, 32);
	}
	ssh_blob(blob, k->pk);
	crypto_hash_sha256(h, blob, sizeof(blob));
	memcpy(k->id, "SHA256:", 7);
	sodium_bin2base64(k->id + 7, sizeof(k->id) - 7, h, 32, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	*out = k;
	return 0;
}

int bpg_dsse_key_generate(bpg_dsse_key **out, bpg_error *err)
{
	unsigned char seed[32];
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium failed to initialise");
	randombytes_buf(seed, sizeof(seed));
	rc = key_new(out, NULL, seed, err);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* The DER inside "-----BEGIN <label>-----" ... "-----END <label>-----". */
static int pem_decode(unsigned char *der, size_t max, size_t *der_len, const char *text, size_t len,
	const char *label)
{
	char begin[64], end[64];
	const char *b, *e;
	const char *bodyend;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if (!(b = memmem(text, len, begin, strlen(begin))))
		return BPG_ENOTFOUND;
	b += strlen(begin);
	if (!(e = memmem(b, len - (size_t)(b - text), end, strlen(end))))
		return BPG_EINVALID;
	bodyend = e;
	if (sodium_base642bin(der, max, b, (size_t)(bodyend - b), " \t\r\n", der_len, &e,
			sodium_base64_VARIANT_ORIGINAL) != 0 || e != bodyend)
		return BPG_EINVALID;
	return 0;
}

int bpg_dsse_key_parse_public(bpg_dsse_key **out, const char *text, size_t len, bpg_error *err)
{
	unsigned char der[128], pk[32];
	size_t n = 0;
	int rc;

	*out = NULL;
	rc = pem_decode(der, sizeof(der), &n, text, len, "PUBLIC KEY");
	if (rc == 0) {
		if (n != 44 || memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0)
			return bpg_error_set(err, BPG_EINVALID,
				"public key: the PEM block is not an Ed25519 SubjectPublicKeyInfo");
		return key_new(out, der + 12, NULL, err);
	}
	if (rc == BPG_EINVALID)
		return bpg_error_set(err, BPG_EINVALID, "public key: bad PEM base64");
	if (len >= 12 && memcmp(text, "ssh-ed25519 ", 12) == 0) {
		const char *b = text + 12, *e = b;
		while (e < text + len && *e != ' ' && *e != '\n' && *e != '\r')
			e++;
		if (bpg_audit__b64_decode(der, sizeof(der), &n, b, (size_t)(e - b), false) < 0 ||
		    n != 51 || memcmp(der, ssh_type, sizeof(ssh_type)) != 0)
			return bpg_error_set(err, BPG_EINVALID, "public key: bad ssh-ed25519 key blob");
		return key_new(out, der + sizeof(ssh_type), NULL, err);
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 64 && bpg_hex_decode(pk, 32, text, 64) == 0)
		return key_new(out, pk, NULL, err);
	return bpg_error_set(err, BPG_EINVALID,
		"public key: expected an OpenSSH ssh-ed25519 line, a PEM PUBLIC KEY block or 64 hex digits");
}

int bpg_dsse_key_parse_private(bpg_dsse_key **out, const char *text, size_t len, bpg_error *err)
{
	unsigned char der[128];
	size_t n = 0;
	int rc;

	*out = NULL;
	if (pem_decode(der, sizeof(der), &n, text, len, "PRIVATE KEY") < 0 || n != 48 ||
	    memcmp(der, pkcs8_prefix, sizeof(pkcs8_prefix)) != 0) {
		sodium_memzero(der, sizeof(der));
		return bpg_error_set(err, BPG_EINVALID,
			"private key: expected an unencrypted Ed25519 PKCS#8 PEM block (openssl genpkey -algorithm ed25519)");
	}
	rc = key_new(out, NULL, der + 16, err);
	sodium_memzero(der, sizeof(der));
	return rc;
}

int bpg_dsse_key_load(bpg_dsse_key **out, const char *path, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	struct stat st;
	int rc;

	*out = NULL;
	if ((rc = bpg_file_read(&b, path, 16384, err)) < 0)
		goto done;
	if (b.ptr && memmem(b.ptr, b.size, "PRIVATE KEY-----", 16)) {
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
			rc = bpg_error_set(err, BPG_EINVALID,
				"%s: the private key is readable by others; run chmod 600 %s", path, path);
			goto done;
		}
		rc = bpg_dsse_key_parse_private(out, b.ptr, b.size, err);
	} else {
		rc = bpg_dsse_key_parse_public(out, b.ptr ? b.ptr : "", b.size, err);
	}
	if (rc < 0)
		bpg_error_prefix(err, "%s: ", path);
done:
	if (b.ptr)
		sodium_memzero(b.ptr, b.size);
	bpg_buf_dispose(&b);
	return rc;
}

int bpg_dsse_key_format_private(bpg_buf *out, const bpg_dsse_key *key, bpg_error *err)
{
	unsigned char der[48];
	int rc;

	if (!key->has_sk)
		return bpg_error_set(err, BPG_EINVALID, "no private key");
	memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
	memcpy(der + 16, key->sk, 32); /* libsodium's sk = seed || pk */
	if ((rc = bpg_buf_puts(out, "-----BEGIN PRIVATE KEY-----\n")) == 0 &&
	    (rc = bpg_audit__b64_put(out, der, sizeof(der))) == 0)
		rc = bpg_buf_puts(out, "\n-----END PRIVATE KEY-----\n");
	sodium_memzero(der, sizeof(der));
	return rc < 0 ? bpg_error_set(err, rc, "out of memory") : 0;
}

int bpg_dsse_key_format_public(bpg_buf *out, const bpg_dsse_key *key)
{
	unsigned char blob[51];
	int rc;

	ssh_blob(blob, key->pk);
	if ((rc = bpg_buf_puts(out, "ssh-ed25519 ")) < 0)
		return rc;
	return bpg_audit__b64_put(out, blob, sizeof(blob));
}

const char *bpg_dsse_key_id(const bpg_dsse_key *key)
{
	return key->id;
}

bool bpg_dsse_key_has_private(const bpg_dsse_key *key)
{
	return key->has_sk;
}

void bpg_dsse_key_free(bpg_dsse_key *key)
{
	if (!key)
		return;
	sodium_memzero(key, sizeof(*key));
	free(key);
}

int bpg_audit__dsse_sign_raw(unsigned char sig[64], const unsigned char *m, size_t len,
	const bpg_dsse_key *key)
{
	if (!key->has_sk)
		return BPG_EINVALID;
	crypto_sign_detached(sig, NULL, m, len, key->sk);
	return 0;
}

int bpg_audit__dsse_verify_raw(const unsigned char sig[64], const unsigned char *m, size_t len,
	const bpg_dsse_key *key)
{
	return crypto_sign_verify_detached(sig, m, len, key->pk) == 0 ? 0 : BPG_EVERIFY;
}
