/* OpenSSH ed25519 public keys (lines, blobs, fingerprints) and unencrypted
 * openssh-key-v1 private key files. Secret bytes live only in
 * sodium_malloc'd memory and are wiped when released. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAGIC "openssh-key-v1"   /* followed by a NUL byte: 15 bytes */
#define KEY_LABEL "OPENSSH PRIVATE KEY"

struct bpg_ssh_seckey {
	bpg_ssh_pubkey pub;
	unsigned char *sk; /* sodium_malloc'd 64 bytes: seed || pk */
	char *comment;
};

/* ------------------------------------------------------------------ */
/* public keys                                                         */

int bpg_ssh_pubkey_from_blob(bpg_ssh_pubkey *out, const unsigned char *blob, size_t len,
	bpg_error *err)
{
	ssh_reader r;
	const unsigned char *type, *pk;
	size_t tlen, pklen;

	ssh_reader_init(&r, blob, len);
	if (ssh_get_string(&r, &type, &tlen) < 0)
		return bpg_error_set(err, BPG_EINVALID, "public key blob is truncated");
	if (tlen != 11 || memcmp(type, "ssh-ed25519", 11) != 0) {
		bpg_buf t = BPG_BUF_INIT;
		bpg_safe_put(&t, (const char *)type, tlen, 64);
		bpg_error_set(err, BPG_EINVALID, "key type '%s' is not supported: bpgate handles ssh-ed25519 keys only",
			t.ptr ? t.ptr : "");
		bpg_buf_dispose(&t);
		return BPG_EINVALID;
	}
	if (ssh_get_string(&r, &pk, &pklen) < 0 || pklen != BPG_SSH_ED25519_PK_SIZE)
		return bpg_error_set(err, BPG_EINVALID, "ssh-ed25519 public key is not 32 bytes");
	if (!ssh_reader_done(&r))
		return bpg_error_set(err, BPG_EINVALID, "public key blob has trailing data");
	memcpy(out->pk, pk, BPG_SSH_ED25519_PK_SIZE);
	return 0;
}

void bpg_ssh_pubkey_blob(unsigned char out[BPG_SSH_PUBKEY_BLOB_SIZE], const bpg_ssh_pubkey *key)
{
	static const unsigned char head[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5',
		'1', '9', 0, 0, 0, 32 };
	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), key->pk, BPG_SSH_ED25519_PK_SIZE);
}

void bpg_ssh_pubkey_fingerprint(char out[BPG_SSH_FINGERPRINT_SIZE], const bpg_ssh_pubkey *key)
{
	unsigned char blob[BPG_SSH_PUBKEY_BLOB_SIZE], h[crypto_hash_sha256_BYTES];

	bpg_ssh_pubkey_blob(blob, key);
	crypto_hash_sha256(h, blob, sizeof(blob));
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, BPG_SSH_FINGERPRINT_SIZE - 7, h, sizeof(h),
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

int bpg_ssh_pubkey_format(bpg_buf *out, const bpg_ssh_pubkey *key, const char *comment)
{
	unsigned char blob[BPG_SSH_PUBKEY_BLOB_SIZE];
	char b64[sodium_base64_ENCODED_LEN(BPG_SSH_PUBKEY_BLOB_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	int rc;

	bpg_ssh_pubkey_blob(blob, key);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	if ((rc = bpg_buf_printf(out, "ssh-ed25519 %s", b64)) < 0)
		return rc;
	if (comment && *comment)
		rc = bpg_buf_printf(out, " %s", comment);
	return rc;
}

bool bpg_ssh_pubkey_equal(const bpg_ssh_pubkey *a, const bpg_ssh_pubkey *b)
{
	return sodium_memcmp(a->pk, b->pk, BPG_SSH_ED25519_PK_SIZE) == 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int bpg_ssh_pubkey_parse(bpg_ssh_pubkey *out, bpg_buf *comment, const char *line, size_t len,
	bpg_error *err)
{
	const char *p = line, *end = line + len, *tok;
	unsigned char blob[256];
	size_t blen = 0;
	const char *b64_end;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end && is_blank(*p))
		p++;
	tok = p;
	while (p < end && !is_blank(*p))
		p++;
	if ((size_t)(p - tok) != 11 || memcmp(tok, "ssh-ed25519", 11) != 0) {
		bpg_buf t = BPG_BUF_INIT;
		bpg_safe_put(&t, tok, (size_t)(p - tok), 64);
		bpg_error_set(err, BPG_EINVALID,
			"expected an 'ssh-ed25519 AAAA...' public key, found '%s' (bpgate handles ssh-ed25519 keys only)",
			t.ptr ? t.ptr : "");
		bpg_buf_dispose(&t);
		return BPG_EINVALID;
	}
	while (p < end && is_blank(*p))
		p++;
	tok = p;
	while (p < end && !is_blank(*p))
		p++;
	if (sodium_base642bin(blob, sizeof(blob), tok, (size_t)(p - tok), NULL, &blen, &b64_end,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || b64_end != p)
		return bpg_error_set(err, BPG_EINVALID, "the ssh-ed25519 key is not valid base64");
	if (bpg_ssh_pubkey_from_blob(out, blob, blen, err) < 0)
		return BPG_EINVALID;
	while (p < end && is_blank(*p))
		p++;
	if (comment && bpg_buf_put(comment, p, (size_t)(end - p)) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

/* ------------------------------------------------------------------ */
/* private keys                                                        */

static int seckey_new(bpg_ssh_seckey **out, const unsigned char seed[32], const char *comment,
	size_t clen, bpg_error *err)
{
	bpg_ssh_seckey *k;

	*out = NULL;
	if (ssh_sodium_ready(err) < 0)
		return BPG_ERROR;
	k = calloc(1, sizeof(*k));
	if (!k || !(k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) ||
	    !(k->comment = malloc(clen + 1))) {
		bpg_ssh_seckey_free(k);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	crypto_sign_seed_keypair(k->pub.pk, k->sk, seed);
	memcpy(k->comment, comment, clen);
	k->comment[clen] = '\0';
	*out = k;
	return 0;
}

int bpg_ssh_seckey_from_seed(bpg_ssh_seckey **out, const unsigned char seed[32],
	const char *comment, bpg_error *err)
{
	if (!comment)
		comment = "";
	return seckey_new(out, seed, comment, strlen(comment), err);
}

/* Read the outer (public) part of an openssh-key-v1 blob and locate the
 * private section. *encrypted tells whether the private section is ciphered
 * (the public blob is readable either way). */
static int key_outer(ssh_reader *r, bool *encrypted, const unsigned char **priv, size_t *privlen,
	const unsigned char **pubblob, size_t *publen, bpg_error *err)
{
	const unsigned char *magic, *cipher, *kdf, *kdfopts;
	size_t clen, klen, kolen;
	uint32_t nkeys;

	if (ssh_get_bytes(r, &magic, sizeof(KEY_MAGIC)) < 0 ||
	    memcmp(magic, KEY_MAGIC, sizeof(KEY_MAGIC)) != 0)
		return bpg_error_set(err, BPG_EINVALID, "not an openssh-key-v1 private key");
	if (ssh_get_string(r, &cipher, &clen) < 0 || ssh_get_string(r, &kdf, &klen) < 0 ||
	    ssh_get_string(r, &kdfopts, &kolen) < 0)
		return bpg_error_set(err, BPG_EINVALID, "key file is truncated");
	*encrypted = !(clen == 4 && memcmp(cipher, "none", 4) == 0);
	if (!*encrypted && (klen != 4 || memcmp(kdf, "none", 4) != 0 || kolen != 0))
		return bpg_error_set(err, BPG_EINVALID, "cipher 'none' with a key derivation function: malformed key");
	if (ssh_get_u32(r, &nkeys) < 0 || nkeys != 1)
		return bpg_error_set(err, BPG_EINVALID, "the key file must hold exactly one key");
	/* an AEAD cipher's tag may follow an encrypted section */
	if (ssh_get_string(r, pubblob, publen) < 0 || ssh_get_string(r, priv, privlen) < 0 ||
	    (!*encrypted && !ssh_reader_done(r)))
		return bpg_error_set(err, BPG_EINVALID, "key file is truncated or has trailing data");
	return 0;
}

bool bpg_ssh_seckey_is_encrypted(const char *data, size_t len)
{
	unsigned char *blob = NULL;
	size_t blen = 0;
	const unsigned char *priv, *pub;
	size_t privlen, publen;
	bool enc = false;
	ssh_reader r;

	if (ssh_dearmor(&blob, &blen, data, len, KEY_LABEL, true, NULL) < 0)
		return false;
	ssh_reader_init(&r, blob, blen);
	if (key_outer(&r, &enc, &priv, &privlen, &pub, &publen, NULL) < 0)
		enc = false;
	ssh_armor_free(blob, blen, true);
	return enc;
}

int bpg_ssh_seckey_public(bpg_ssh_pubkey *out, const char *data, size_t len, const char *name, bpg_error *err)
{
	unsigned char *blob = NULL;
	size_t blen = 0, privlen, publen;
	const unsigned char *priv, *pub;
	bool enc;
	ssh_reader r;
	int rc;

	if ((rc = ssh_dearmor(&blob, &blen, data, len, KEY_LABEL, true, err)) < 0) {
		bpg_error_prefix(err, "%s: ", name);
		return rc;
	}
	ssh_reader_init(&r, blob, blen);
	if ((rc = key_outer(&r, &enc, &priv, &privlen, &pub, &publen, err)) < 0 ||
	    (rc = bpg_ssh_pubkey_from_blob(out, pub, publen, err)) < 0)
		bpg_error_prefix(err, "%s: ", name);
	ssh_armor_free(blob, blen, true);
	return rc;
}

bool bpg_ssh_seckey_is_foreign(const char *data, size_t len)
{
	unsigned char *blob = NULL;
	size_t blen = 0;
	const unsigned char *priv, *pub;
	size_t privlen, publen;
	bool enc = false, foreign = false;
	ssh_reader r;

	if (ssh_dearmor(&blob, &blen, data, len, KEY_LABEL, true, NULL) < 0)
		return false;
	ssh_reader_init(&r, blob, blen);
	if (key_outer(&r, &enc, &priv, &privlen, &pub, &publen, NULL) == 0) {
		if (enc) {
			foreign = true;
		} else {
			ssh_reader pr;
			ssh_reader_init(&pr, pub, publen);
			foreign = ssh_get_expect(&pr, "ssh-ed25519") < 0;
		}
	}
	ssh_armor_free(blob, blen, true);
	return foreign;
}

static int key_private(bpg_ssh_seckey **out, const unsigned char *priv, size_t privlen,
	const bpg_ssh_pubkey *outer, bpg_error *err)
{
	ssh_reader r;
	uint32_t c1, c2;
	const unsigned char *pk, *sk, *comment;
	size_t pklen, sklen, clen;
	bpg_ssh_seckey *k = NULL;

	if (privlen % 8 != 0)
		return bpg_error_set(err, BPG_EINVALID, "private section is not a multiple of 8 bytes");
	ssh_reader_init(&r, priv, privlen);
	if (ssh_get_u32(&r, &c1) < 0 || ssh_get_u32(&r, &c2) < 0 || c1 != c2)
		return bpg_error_set(err, BPG_EINVALID, "check integers differ: corrupt key");
	if (ssh_get_expect(&r, "ssh-ed25519") < 0)
		return bpg_error_set(err, BPG_EINVALID, "private key is not ssh-ed25519");
	if (ssh_get_string(&r, &pk, &pklen) < 0 || pklen != 32 ||
	    ssh_get_string(&r, &sk, &sklen) < 0 || sklen != 64 ||
	    ssh_get_string(&r, &comment, &clen) < 0)
		return bpg_error_set(err, BPG_EINVALID, "private key fields are truncated");
	for (size_t i = 0; i < r.left; i++)
		if (r.p[i] != (unsigned char)(i + 1))
			return bpg_error_set(err, BPG_EINVALID, "bad padding after the private key");
	/* OpenSSH pads to its 8-byte block; libssh to 16. Either is the 1, 2, 3...
	 * sequence checked above; more than a block of it is not a key file. */
	if (r.left >= 16)
		return bpg_error_set(err, BPG_EINVALID, "too much padding after the private key");
	if (memchr(comment, 0, clen))
		return bpg_error_set(err, BPG_EINVALID, "key comment contains a NUL byte");
	if (seckey_new(&k, sk, (const char *)comment, clen, err) < 0)
		return BPG_ENOMEM;
	/* The public key three times: outer section, private section, and the
	 * one derived from the seed; all must agree. */
	if (memcmp(k->pub.pk, pk, 32) != 0 || memcmp(k->pub.pk, outer->pk, 32) != 0 ||
	    sodium_memcmp(k->sk + 32, sk + 32, 32) != 0) {
		bpg_ssh_seckey_free(k);
		return bpg_error_set(err, BPG_EINVALID, "public and private halves of the key do not match");
	}
	*out = k;
	return 0;
}

int bpg_ssh_seckey_parse(bpg_ssh_seckey **out, const char *data, size_t len, const char *name,
	bpg_error *err)
{
	unsigned char *blob = NULL;
	size_t blen = 0;
	const unsigned char *priv = NULL, *pub = NULL;
	size_t privlen = 0, publen = 0;
	bpg_ssh_pubkey outer;
	bool enc = false;
	ssh_reader r;
	int rc;

	*out = NULL;
	if (!name)
		name = "private key";
	if ((rc = ssh_dearmor(&blob, &blen, data, len, KEY_LABEL, true, err)) < 0)
		goto done;
	ssh_reader_init(&r, blob, blen);
	if ((rc = key_outer(&r, &enc, &priv, &privlen, &pub, &publen, err)) < 0)
		goto done;
	if (enc) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"the key is protected by a passphrase; bpgate does not decrypt OpenSSH keys: "
			"sign through ssh-keygen/ssh-agent (`bpgate sshsig sign` runs `ssh-keygen -Y sign` for such keys)");
		goto done;
	}
	if ((rc = bpg_ssh_pubkey_from_blob(&outer, pub, publen, err)) < 0)
		goto done;
	rc = key_private(out, priv, privlen, &outer, err);
done:
	ssh_armor_free(blob, blen, true);
	if (rc < 0)
		bpg_error_prefix(err, "%s: ", name);
	return rc;
}

int bpg_ssh_seckey_load(bpg_ssh_seckey **out, const char *path, bpg_error *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO,
			"%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: not a regular file", path);
		goto done;
	}
	/* As ssh does (but for every owner): a private key others can read
	 * may already be in someone else's hands. */
	if ((st.st_mode & 077) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: permissions 0%03o are too open: a private key must not be readable by group or others; run 'chmod 600 %s'",
			path, (unsigned)(st.st_mode & 0777), path);
		goto done;
	}
	if (st.st_size > BPG_SSH_KEYFILE_MAX) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %d bytes: not an ed25519 key file",
			path, BPG_SSH_KEYFILE_MAX);
		goto done;
	}
	if (ssh_sodium_ready(err) < 0) {
		rc = BPG_ERROR;
		goto done;
	}
	if (!(data = sodium_malloc(BPG_SSH_KEYFILE_MAX + 1))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, data + len, BPG_SSH_KEYFILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot read: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > BPG_SSH_KEYFILE_MAX) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %d bytes", path, BPG_SSH_KEYFILE_MAX);
			goto done;
		}
	}
	rc = bpg_ssh_seckey_parse(out, data, len, path, err);
done:
	if (data)
		sodium_free(data);
	close(fd);
	return rc;
}

int bpg_ssh_seckey_format(bpg_buf *out, const bpg_ssh_seckey *key, uint32_t checkint, bpg_error *err)
{
	bpg_buf blob = BPG_BUF_INIT, priv = BPG_BUF_INIT;
	unsigned char pub[BPG_SSH_PUBKEY_BLOB_SIZE];
	size_t clen = strlen(key->comment);
	int rc;

	/* Size the buffers once so that no realloc leaves secret copies behind. */
	if (clen > 4096)
		return bpg_error_set(err, BPG_EINVALID, "key comment longer than 4096 bytes");
	if ((rc = bpg_buf_grow(&priv, 256 + clen)) < 0 || (rc = bpg_buf_grow(&blob, 512 + clen)) < 0 ||
	    (rc = bpg_buf_grow(out, 1024 + 2 * clen)) < 0)
		goto done;
	bpg_ssh_pubkey_blob(pub, &key->pub);
	if ((rc = ssh_put_u32(&priv, checkint)) < 0 || (rc = ssh_put_u32(&priv, checkint)) < 0 ||
	    (rc = ssh_put_cstring(&priv, "ssh-ed25519")) < 0 ||
	    (rc = ssh_put_string(&priv, key->pub.pk, 32)) < 0 ||
	    (rc = ssh_put_string(&priv, key->sk, 64)) < 0 ||
	    (rc = ssh_put_string(&priv, key->comment, clen)) < 0)
		goto done;
	for (unsigned char i = 1; priv.size % 8 != 0; i++)
		if ((rc = bpg_buf_putc(&priv, (char)i)) < 0)
			goto done;
	if ((rc = bpg_buf_put(&blob, KEY_MAGIC, sizeof(KEY_MAGIC))) < 0 ||
	    (rc = ssh_put_cstring(&blob, "none")) < 0 || (rc = ssh_put_cstring(&blob, "none")) < 0 ||
	    (rc = ssh_put_string(&blob, "", 0)) < 0 || (rc = ssh_put_u32(&blob, 1)) < 0 ||
	    (rc = ssh_put_string(&blob, pub, sizeof(pub))) < 0 ||
	    (rc = ssh_put_string(&blob, priv.ptr, priv.size)) < 0)
		goto done;
	rc = ssh_armor(out, (unsigned char *)blob.ptr, blob.size, KEY_LABEL, 70);
done:
	if (priv.ptr)
		sodium_memzero(priv.ptr, priv.asize);
	if (blob.ptr)
		sodium_memzero(blob.ptr, blob.asize);
	bpg_buf_dispose(&priv);
	bpg_buf_dispose(&blob);
	if (rc < 0)
		return bpg_error_set(err, rc, "cannot format the private key: out of memory");
	return 0;
}

const bpg_ssh_pubkey *bpg_ssh_seckey_pubkey(const bpg_ssh_seckey *key)
{
	return &key->pub;
}

const char *bpg_ssh_seckey_comment(const bpg_ssh_seckey *key)
{
	return key->comment;
}

int bpg_ssh_seckey_sign_raw(unsigned char sig[BPG_SSH_ED25519_SIG_SIZE], const bpg_ssh_seckey *key,
	const void *msg, size_t len, bpg_error *err)
{
	if (crypto_sign_detached(sig, NULL, msg, len, key->sk) != 0)
		return bpg_error_set(err, BPG_ERROR, "Ed25519 signing failed");
	return 0;
}

void bpg_ssh_seckey_free(bpg_ssh_seckey *key)
{
	if (!key)
		return;
	if (key->sk)
		sodium_free(key->sk);
	free(key->comment);
	free(key);
}
