/* minisign public and secret keys: parse, encrypt/decrypt (scrypt), write. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bpg_minisign_seckey {
	unsigned char keynum[BPG_MINISIGN_KEYNUM_SIZE];
	unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* seed || pk; unused when external */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	bpg_sign_fn fn; /* external signer, or NULL */
	void *payload;
};

/* The 158-byte secret key layout (signing-formats.md 1.4). */
enum {
	SK_SIG_ALG = 0, SK_KDF_ALG = 2, SK_CHK_ALG = 4, SK_SALT = 6, SK_OPS = 38, SK_MEM = 46,
	SK_KEYNUM = 54, SK_SK = 62, SK_CHK = 126, SK_ENC_LEN = 104,
};

#define SECKEY_FILE_MAX 4096
#define KDF_OPS_MAX (4ULL * crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE)
#define KDF_MEM_MAX ((size_t)2 << 30)

void bpg_minisign_keyid(char out[BPG_MINISIGN_KEYID_SIZE], const unsigned char keynum[8])
{
	static const char hex[] = "0123456789ABCDEF";

	/* minisign prints le64(keynum): the bytes reversed. */
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[keynum[7 - i] >> 4];
		out[2 * i + 1] = hex[keynum[7 - i] & 15];
	}
	out[16] = '\0';
}

void bpg_minisign_keynum_for(unsigned char out[8], const unsigned char pk[32])
{
	static const char domain[] = "bpgate-minisign-keynum-v1";
	crypto_generichash_state st;
	unsigned char h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain) - 1);
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, 8);
}

static int pubkey_from_bytes(bpg_minisign_pubkey *out, const unsigned char raw[PUBKEY_BYTES],
	const char *name, bpg_error *err)
{
	if (memcmp(raw, SIG_ALG_LEGACY, 2) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"%s: unsupported public key algorithm (expected \"Ed\")", name);
	memcpy(out->keynum, raw + 2, 8);
	memcpy(out->pk, raw + 10, 32);
	return 0;
}

int bpg_minisign_pubkey_parse(bpg_minisign_pubkey *out, const char *data, size_t len,
	const char *name, bpg_error *err)
{
	unsigned char raw[PUBKEY_BYTES];
	const char *p = data, *end = data + len;
	sign_line l1, l2;
	int rc;

	if (!name)
		name = "public key";
	if (len < sizeof(UNTRUSTED_PREFIX) - 1 ||
	    memcmp(data, UNTRUSTED_PREFIX, sizeof(UNTRUSTED_PREFIX) - 1) != 0) {
		/* The bare base64 form given to -P: trim blanks around it. */
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
			end--;
		if (sign_b64_decode(raw, sizeof(raw), p, (size_t)(end - p)) < 0)
			return bpg_error_set(err, BPG_EINVALID,
				"%s: not a minisign public key (expected a file starting with \"untrusted comment:\" "
				"or 56 characters of base64)", name);
		return pubkey_from_bytes(out, raw, name, err);
	}
	if ((rc = sign_next_line(&l1, &p, end, 1024, 1, name, err)) < 0)
		return rc;
	if ((rc = sign_next_line(&l2, &p, end, 1024, 2, name, err)) <= 0)
		return rc < 0 ? rc : bpg_error_set(err, BPG_EINVALID, "%s: line 2: public key missing", name);
	if (sign_b64_decode(raw, sizeof(raw), l2.ptr, l2.len) < 0)
		return bpg_error_set(err, BPG_EINVALID,
			"%s: line 2: not base64 of a 42-byte public key", name);
	return pubkey_from_bytes(out, raw, name, err);
}

int bpg_minisign_pubkey_load(bpg_minisign_pubkey *out, const char *path, bpg_error *err)
{
	bpg_buf buf = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_file_read(&buf, path, BPG_MINISIGN_FILE_MAX, err)) == 0)
		rc = bpg_minisign_pubkey_parse(out, buf.ptr ? buf.ptr : "", buf.size, path, err);
	bpg_buf_dispose(&buf);
	return rc;
}

void bpg_minisign_pubkey_base64(char out[BPG_MINISIGN_PUBKEY_B64_SIZE], const bpg_minisign_pubkey *key)
{
	unsigned char raw[PUBKEY_BYTES];

	memcpy(raw, SIG_ALG_LEGACY, 2);
	memcpy(raw + 2, key->keynum, 8);
	memcpy(raw + 10, key->pk, 32);
	sodium_bin2base64(out, BPG_MINISIGN_PUBKEY_B64_SIZE, raw, sizeof(raw),
		sodium_base64_VARIANT_ORIGINAL);
}

int bpg_minisign_pubkey_format(bpg_buf *out, const bpg_minisign_pubkey *key)
{
	char id[BPG_MINISIGN_KEYID_SIZE], b64[BPG_MINISIGN_PUBKEY_B64_SIZE];

	bpg_minisign_keyid(id, key->keynum);
	bpg_minisign_pubkey_base64(b64, key);
	return bpg_buf_printf(out, UNTRUSTED_PREFIX "minisign public key %s\n%s\n", id, b64);
}

bool bpg_minisign_pubkey_equal(const bpg_minisign_pubkey *a, const bpg_minisign_pubkey *b)
{
	return memcmp(a->keynum, b->keynum, 8) == 0 && memcmp(a->pk, b->pk, 32) == 0;
}

/* ---- secret keys ------------------------------------------------------ */

static bpg_minisign_seckey *seckey_alloc(void)
{
	bpg_minisign_seckey *k = sign_secure_alloc(sizeof(*k));

	if (k) {
		sodium_memzero(k, sizeof(*k));
		k->fn = NULL;
		k->payload = NULL;
	}
	return k;
}

void bpg_minisign_seckey_free(bpg_minisign_seckey *key)
{
	if (key)
		sodium_free(key); /* sodium_free wipes before unmapping */
}

int bpg_minisign_seckey_from_seed(bpg_minisign_seckey **out, const unsigned char seed[32],
	const unsigned char keynum[8], bpg_error *err)
{
	bpg_minisign_seckey *k = seckey_alloc();

	*out = NULL;
	if (!k)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory for a secret key");
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	memcpy(k->keynum, keynum, 8);
	*out = k;
	return 0;
}

int bpg_minisign_seckey_generate(bpg_minisign_seckey **out, bpg_error *err)
{
	bpg_minisign_seckey *k = seckey_alloc();

	*out = NULL;
	if (!k)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory for a secret key");
	crypto_sign_keypair(k->pk, k->sk);
	randombytes_buf(k->keynum, sizeof(k->keynum));
	*out = k;
	return 0;
}

int bpg_minisign_seckey_external(bpg_minisign_seckey **out, const unsigned char keynum[8],
	const unsigned char pk[32], bpg_sign_fn fn, void *payload, bpg_error *err)
{
	bpg_minisign_seckey *k;

	*out = NULL;
	if (!fn)
		return bpg_error_set(err, BPG_EINVALID, "external key without a signing function");
	if (!(k = seckey_alloc()))
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory for a secret key");
	memcpy(k->keynum, keynum, 8);
	memcpy(k->pk, pk, 32);
	k->fn = fn;
	k->payload = payload;
	*out = k;
	return 0;
}

void bpg_minisign_seckey_pubkey(bpg_minisign_pubkey *out, const bpg_minisign_seckey *key)
{
	memcpy(out->keynum, key->keynum, 8);
	memcpy(out->pk, key->pk, 32);
}

const unsigned char *sign_seckey_keynum(const bpg_minisign_seckey *key)
{
	return key->keynum;
}

int sign_seckey_sign(unsigned char sig[64], const bpg_minisign_seckey *key, const void *msg, size_t len,
	bpg_error *err)
{
	if (key->fn)
		return key->fn(sig, msg, len, key->payload, err);
	if (crypto_sign_detached(sig, NULL, msg, len, key->sk) != 0)
		return bpg_error_set(err, BPG_ERROR, "Ed25519 signing failed");
	return 0;
}

/* BLAKE2b-256("Ed" || keynum || sk), minisign's secret key checksum. */
static void seckey_checksum(unsigned char chk[32], const unsigned char *raw)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, raw + SK_SIG_ALG, 2);
	crypto_generichash_update(&st, raw + SK_KEYNUM, 8);
	crypto_generichash_update(&st, raw + SK_SK, 64);
	crypto_generichash_final(&st, chk, 32);
	sodium_memzero(&st, sizeof(st));
}

static uint64_t le64_load(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void le64_store(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* XOR keynum || sk || chk with the scrypt stream of the passphrase. */
static int seckey_xor(unsigned char *raw, const char *passphrase, uint64_t ops, uint64_t mem,
	const char *name, bpg_error *err)
{
	unsigned char *stream = sign_secure_alloc(SK_ENC_LEN);
	int rc = 0;

	if (!stream)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
	if (crypto_pwhash_scryptsalsa208sha256(stream, SK_ENC_LEN, passphrase, strlen(passphrase),
		    raw + SK_SALT, ops, (size_t)mem) != 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "%s: scrypt key derivation failed (out of memory?)", name);
		goto done;
	}
	for (size_t i = 0; i < SK_ENC_LEN; i++)
		raw[SK_KEYNUM + i] ^= stream[i];
done:
	sodium_free(stream);
	return rc;
}

/* Decode line 2 of a secret key file into raw (SECKEY_BYTES, guarded). */
static int seckey_decode(unsigned char *raw, const char *data, size_t len, const char *name, bpg_error *err)
{
	const char *p = data, *end = data + len;
	sign_line l1, l2;
	int rc;

	if ((rc = sign_next_line(&l1, &p, end, 1024, 1, name, err)) <= 0)
		return rc < 0 ? rc : bpg_error_set(err, BPG_EINVALID, "%s: empty secret key file", name);
	if (l1.len < sizeof(UNTRUSTED_PREFIX) - 1 ||
	    memcmp(l1.ptr, UNTRUSTED_PREFIX, sizeof(UNTRUSTED_PREFIX) - 1) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"%s: line 1: not a minisign secret key (expected \"untrusted comment:\")", name);
	if ((rc = sign_next_line(&l2, &p, end, 1024, 2, name, err)) <= 0)
		return rc < 0 ? rc : bpg_error_set(err, BPG_EINVALID, "%s: line 2: secret key missing", name);
	if (sign_b64_decode(raw, SECKEY_BYTES, l2.ptr, l2.len) < 0)
		return bpg_error_set(err, BPG_EINVALID, "%s: line 2: not base64 of a 158-byte secret key", name);
	if (memcmp(raw + SK_SIG_ALG, SIG_ALG_LEGACY, 2) != 0)
		return bpg_error_set(err, BPG_EINVALID, "%s: unsupported signature algorithm", name);
	if (memcmp(raw + SK_KDF_ALG, KDF_ALG, 2) != 0 && memcmp(raw + SK_KDF_ALG, "\0\0", 2) != 0)
		return bpg_error_set(err, BPG_EINVALID, "%s: unsupported key derivation (expected scrypt)", name);
	if (memcmp(raw + SK_CHK_ALG, CHK_ALG, 2) != 0)
		return bpg_error_set(err, BPG_EINVALID, "%s: unsupported checksum algorithm", name);
	return 0;
}

int bpg_minisign_seckey_is_encrypted(bool *out, const char *data, size_t len, const char *name,
	bpg_error *err)
{
	unsigned char *raw = sign_secure_alloc(SECKEY_BYTES);
	int rc;

	if (!raw)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
	if ((rc = seckey_decode(raw, data, len, name ? name : "secret key", err)) == 0)
		*out = memcmp(raw + SK_KDF_ALG, KDF_ALG, 2) == 0;
	sodium_free(raw);
	return rc;
}

int bpg_minisign_seckey_parse(bpg_minisign_seckey **out, const char *data, size_t len,
	const char *passphrase, const char *name, bpg_error *err)
{
	unsigned char *raw = sign_secure_alloc(SECKEY_BYTES);
	unsigned char chk[32], seed[32];
	bpg_minisign_seckey *k = NULL;
	static const unsigned char zero[32];
	bool encrypted;
	int rc;

	*out = NULL;
	if (!name)
		name = "secret key";
	if (!raw)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
	if ((rc = seckey_decode(raw, data, len, name, err)) < 0)
		goto done;
	encrypted = memcmp(raw + SK_KDF_ALG, KDF_ALG, 2) == 0;
	if (encrypted) {
		uint64_t ops = le64_load(raw + SK_OPS), mem = le64_load(raw + SK_MEM);
		if (!passphrase) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: the key is encrypted: a passphrase is needed", name);
			goto done;
		}
		if (ops > KDF_OPS_MAX || mem > KDF_MEM_MAX) {
			rc = bpg_error_set(err, BPG_ETOOBIG,
				"%s: scrypt limits too high (opslimit %llu, memlimit %llu): refused", name,
				(unsigned long long)ops, (unsigned long long)mem);
			goto done;
		}
		if ((rc = seckey_xor(raw, passphrase, ops, mem, name, err)) < 0)
			goto done;
	}
	seckey_checksum(chk, raw);
	/* minisign -W leaves the checksum all zero; any other value must match. */
	if ((encrypted || sodium_memcmp(raw + SK_CHK, zero, 32) != 0) &&
	    sodium_memcmp(chk, raw + SK_CHK, 32) != 0) {
		rc = encrypted ? bpg_error_set(err, BPG_EVERIFY, "%s: wrong passphrase for this key", name)
			       : bpg_error_set(err, BPG_EINVALID, "%s: secret key checksum mismatch (corrupted key)", name);
		goto done;
	}
	memcpy(seed, raw + SK_SK, 32);
	if ((rc = bpg_minisign_seckey_from_seed(&k, seed, raw + SK_KEYNUM, err)) < 0)
		goto done;
	if (memcmp(k->pk, raw + SK_SK + 32, 32) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: the public half stored in the secret key does not match its seed (corrupted key)", name);
		goto done;
	}
	*out = k;
	k = NULL;
done:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(chk, sizeof(chk));
	sodium_free(raw);
	bpg_minisign_seckey_free(k);
	return rc;
}

int bpg_seckey_file_check_mode(const char *path, bpg_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO, "%s: cannot read: %s",
			path, strerror(errno));
	if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"permissions 0%03o for '%s' are too open: a secret key file must not be accessible "
			"by others; this key is ignored (run: chmod 600 '%s')",
			(unsigned)(st.st_mode & 0777), path, path);
	return 0;
}

int bpg_minisign_seckey_load(bpg_minisign_seckey **out, const char *path, bpg_passphrase_fn get_pass,
	void *payload, bpg_error *err)
{
	char *text = NULL, *passphrase = NULL;
	bool encrypted = false;
	size_t len = 0;
	int fd = -1, rc;

	*out = NULL;
	if ((rc = bpg_seckey_file_check_mode(path, err)) < 0)
		return rc;
	if (!(text = sign_secure_alloc(SECKEY_FILE_MAX)))
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot open: %s", path, strerror(errno));
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, SECKEY_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot read: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == SECKEY_FILE_MAX) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s: too large for a secret key file", path);
			goto done;
		}
	}
	if ((rc = bpg_minisign_seckey_is_encrypted(&encrypted, text, len, path, err)) < 0)
		goto done;
	if (encrypted && get_pass && (rc = get_pass(&passphrase, path, payload, err)) < 0)
		goto done;
	rc = bpg_minisign_seckey_parse(out, text, len, passphrase, path, err);
done:
	if (fd >= 0)
		close(fd);
	if (passphrase)
		sodium_free(passphrase);
	sodium_free(text);
	return rc;
}

int bpg_minisign_seckey_write(const char *path, const bpg_minisign_seckey *key, const char *passphrase,
	const bpg_minisign_kdf *kdf, const char *comment, bpg_error *err)
{
	static const bpg_minisign_kdf kdf_default = BPG_MINISIGN_KDF_DEFAULT;
	size_t b64len = sodium_base64_ENCODED_LEN(SECKEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
	size_t cap = sizeof(UNTRUSTED_PREFIX) + BPG_MINISIGN_UNTRUSTED_MAX + b64len + 2;
	unsigned char *raw = sign_secure_alloc(SECKEY_BYTES);
	char *text = sign_secure_alloc(cap);
	uint64_t ops, mem;
	int rc = 0, n;

	if (!raw || !text) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
		goto done;
	}
	if (key->fn) {
		rc = bpg_error_set(err, BPG_EINVALID, "this key is held elsewhere and cannot be written out");
		goto done;
	}
	if (!comment)
		comment = passphrase ? "minisign encrypted secret key" : "minisign secret key (unencrypted)";
	if (strlen(comment) > BPG_MINISIGN_UNTRUSTED_MAX || !sign_comment_ok(comment, strlen(comment))) {
		rc = bpg_error_set(err, BPG_EINVALID, "the key comment must be one printable line");
		goto done;
	}
	memset(raw, 0, SECKEY_BYTES);
	memcpy(raw + SK_SIG_ALG, SIG_ALG_LEGACY, 2);
	memcpy(raw + SK_CHK_ALG, CHK_ALG, 2);
	memcpy(raw + SK_KEYNUM, key->keynum, 8);
	memcpy(raw + SK_SK, key->sk, 64);
	seckey_checksum(raw + SK_CHK, raw);
	if (passphrase) {
		if (!kdf)
			kdf = &kdf_default;
		memcpy(raw + SK_KDF_ALG, KDF_ALG, 2);
		randombytes_buf(raw + SK_SALT, crypto_pwhash_scryptsalsa208sha256_SALTBYTES);
		ops = kdf->opslimit;
		mem = kdf->memlimit;
		le64_store(raw + SK_OPS, ops);
		le64_store(raw + SK_MEM, mem);
		if ((rc = seckey_xor(raw, passphrase, ops, mem, path, err)) < 0)
			goto done;
	}
	n = snprintf(text, cap, UNTRUSTED_PREFIX "%s\n", comment);
	if (n < 0 || (size_t)n + b64len + 1 > cap) {
		rc = bpg_error_set(err, BPG_ERROR, "secret key text does not fit");
		goto done;
	}
	sodium_bin2base64(text + n, b64len, raw, SECKEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
	n += (int)(b64len - 1);
	text[n++] = '\n';
	rc = bpg_file_write_atomic(path, text, (size_t)n, 0600, err);
done:
	sodium_free(raw);
	sodium_free(text);
	return rc;
}
