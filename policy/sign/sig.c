/* minisign signatures: make, parse and verify ("ED" prehashed and legacy "Ed"). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bpg_minisign_sig {
	unsigned char alg[2];
	unsigned char keynum[BPG_MINISIGN_KEYNUM_SIZE];
	unsigned char sig[BPG_MINISIGN_SIG_SIZE];
	unsigned char global[BPG_MINISIGN_SIG_SIZE];
	char *untrusted;
	char *trusted;
	size_t trusted_len;
};

#define HASH_CHUNK 65536
#define LEGACY_FILE_MAX ((size_t)1 << 30)

/* ---- hashing ---------------------------------------------------------- */

static int prehash_fd(unsigned char h[64], int fd, const char *path, bpg_error *err)
{
	crypto_generichash_state st;
	unsigned char *chunk = malloc(HASH_CHUNK);
	int rc = 0;

	if (!chunk)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	crypto_generichash_init(&st, NULL, 0, 64);
	for (;;) {
		ssize_t n = read(fd, chunk, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot read: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&st, chunk, (size_t)n);
	}
	crypto_generichash_final(&st, h, 64);
done:
	free(chunk);
	return rc;
}

static int prehash_file(unsigned char h[64], const char *path, bpg_error *err)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return prehash_fd(h, STDIN_FILENO, "<stdin>", err);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO, "%s: cannot open: %s",
			path, strerror(errno));
	rc = prehash_fd(h, fd, path, err);
	close(fd);
	return rc;
}

/* ---- signing ---------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Sign m (the message, or its BLAKE2b-512) and append the .minisig text. */
static int sign_core(bpg_buf *out, const bpg_minisign_seckey *key, const unsigned char *m, size_t mlen,
	const bpg_minisign_sign_opts *opts, bpg_error *err)
{
	static const bpg_minisign_sign_opts defaults = BPG_MINISIGN_SIGN_OPTS_INIT;
	unsigned char sigstruct[SIGSTRUCT_BYTES], global[64], *gm = NULL;
	char b64s[sodium_base64_ENCODED_LEN(SIGSTRUCT_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char b64g[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	bpg_buf tc = BPG_BUF_INIT;
	const char *untrusted;
	int rc = 0;

	if (!opts)
		opts = &defaults;
	untrusted = opts->untrusted_comment ? opts->untrusted_comment : "signature from bpgate secret key";
	if (strlen(untrusted) > BPG_MINISIGN_UNTRUSTED_MAX || !sign_comment_ok(untrusted, strlen(untrusted))) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"the untrusted comment must be one printable line of at most %d bytes",
			BPG_MINISIGN_UNTRUSTED_MAX);
		goto done;
	}
	if (opts->trusted_comment) {
		rc = bpg_buf_puts(&tc, opts->trusted_comment);
	} else {
		long long ts = opts->timestamp >= 0 ? opts->timestamp : (long long)time(NULL);
		rc = bpg_buf_printf(&tc, "timestamp:%lld\tfile:%s%s", ts,
			opts->file_name ? base_name(opts->file_name) : "-", opts->legacy ? "" : "\thashed");
	}
	if (rc < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (tc.size > BPG_MINISIGN_TRUSTED_MAX || !sign_comment_ok(tc.ptr, tc.size)) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"the trusted comment must be valid UTF-8 without control characters other than TAB, "
			"at most %d bytes", BPG_MINISIGN_TRUSTED_MAX);
		goto done;
	}
	memcpy(sigstruct, opts->legacy ? SIG_ALG_LEGACY : SIG_ALG_HASHED, 2);
	memcpy(sigstruct + 2, sign_seckey_keynum(key), 8);
	if ((rc = sign_seckey_sign(sigstruct + 10, key, m, mlen, err)) < 0)
		goto done;
	/* The global signature covers sig || trusted comment: nothing else. */
	if (!(gm = malloc(64 + tc.size))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(gm, sigstruct + 10, 64);
	memcpy(gm + 64, tc.ptr, tc.size);
	if ((rc = sign_seckey_sign(global, key, gm, 64 + tc.size, err)) < 0)
		goto done;
	sodium_bin2base64(b64s, sizeof(b64s), sigstruct, sizeof(sigstruct), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b64g, sizeof(b64g), global, sizeof(global), sodium_base64_VARIANT_ORIGINAL);
	if (bpg_buf_printf(out, UNTRUSTED_PREFIX "%s\n%s\n" TRUSTED_PREFIX "%s\n%s\n", untrusted, b64s,
		    tc.ptr, b64g) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(gm);
	bpg_buf_dispose(&tc);
	return rc;
}

int bpg_minisign_sign(bpg_buf *out, const bpg_minisign_seckey *key, const void *msg, size_t len,
	const bpg_minisign_sign_opts *opts, bpg_error *err)
{
	unsigned char h[64];

	if (opts && opts->legacy)
		return sign_core(out, key, msg, len, opts, err);
	crypto_generichash(h, sizeof(h), msg, len, NULL, 0);
	return sign_core(out, key, h, sizeof(h), opts, err);
}

int bpg_minisign_sign_file(bpg_buf *out, const bpg_minisign_seckey *key, const char *path,
	const bpg_minisign_sign_opts *opts, bpg_error *err)
{
	bpg_minisign_sign_opts o = BPG_MINISIGN_SIGN_OPTS_INIT;
	unsigned char h[64];
	bpg_buf msg = BPG_BUF_INIT;
	int rc;

	if (opts)
		o = *opts;
	if (!o.file_name)
		o.file_name = path;
	if (!o.legacy) {
		if ((rc = prehash_file(h, path, err)) < 0)
			return rc;
		return sign_core(out, key, h, sizeof(h), &o, err);
	}
	if ((rc = bpg_file_read(&msg, path, LEGACY_FILE_MAX, err)) == 0)
		rc = sign_core(out, key, (const unsigned char *)(msg.ptr ? msg.ptr : ""), msg.size, &o, err);
	bpg_buf_dispose(&msg);
	return rc;
}

/* ---- parsing ---------------------------------------------------------- */

void bpg_minisign_sig_free(bpg_minisign_sig *sig)
{
	if (!sig)
		return;
	free(sig->untrusted);
	free(sig->trusted);
	free(sig);
}

static char *dup_text(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

int bpg_minisign_sig_parse(bpg_minisign_sig **out, const char *data, size_t len, const char *name,
	bpg_error *err)
{
	const size_t up = sizeof(UNTRUSTED_PREFIX) - 1, tp = sizeof(TRUSTED_PREFIX) - 1;
	unsigned char sigstruct[SIGSTRUCT_BYTES];
	const char *p = data, *end = data + len;
	bpg_minisign_sig *s = NULL;
	sign_line l[4];
	int rc = 0;

	*out = NULL;
	if (!name)
		name = "signature";
	if (!(s = calloc(1, sizeof(*s))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	for (int i = 0; i < 4; i++) {
		size_t max = i == 2 ? 8192 : 1024;
		if ((rc = sign_next_line(&l[i], &p, end, max, i + 1, name, err)) < 0)
			goto done;
		if (rc == 0) {
			rc = i == 2 ? bpg_error_set(err, BPG_EINVALID,
					      "%s: trusted comment not present (a signify signature? bpgate, like "
					      "minisign, needs the four-line minisign format)", name)
				    : bpg_error_set(err, BPG_EINVALID, "%s: line %d missing: not a minisign signature",
					      name, i + 1);
			goto done;
		}
	}
	if (l[0].len < up || memcmp(l[0].ptr, UNTRUSTED_PREFIX, up) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: line 1: expected \"untrusted comment:\"", name);
		goto done;
	}
	if (sign_b64_decode(sigstruct, sizeof(sigstruct), l[1].ptr, l[1].len) < 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: line 2: not base64 of a 74-byte signature", name);
		goto done;
	}
	if (memcmp(sigstruct, SIG_ALG_HASHED, 2) != 0 && memcmp(sigstruct, SIG_ALG_LEGACY, 2) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: line 2: unsupported signature algorithm", name);
		goto done;
	}
	if (l[2].len < tp || memcmp(l[2].ptr, TRUSTED_PREFIX, tp) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: line 3: trusted comment not present (expected \"trusted comment:\")", name);
		goto done;
	}
	if (!sign_comment_ok(l[2].ptr + tp, l[2].len - tp)) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: line 3: the trusted comment has control characters or invalid UTF-8", name);
		goto done;
	}
	if (sign_b64_decode(s->global, sizeof(s->global), l[3].ptr, l[3].len) < 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: line 4: not base64 of a 64-byte global signature", name);
		goto done;
	}
	memcpy(s->alg, sigstruct, 2);
	memcpy(s->keynum, sigstruct + 2, 8);
	memcpy(s->sig, sigstruct + 10, 64);
	s->untrusted = dup_text(l[0].ptr + up, l[0].len - up);
	s->trusted = dup_text(l[2].ptr + tp, l[2].len - tp);
	s->trusted_len = l[2].len - tp;
	if (!s->untrusted || !s->trusted) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	*out = s;
	s = NULL;
	rc = 0;
done:
	bpg_minisign_sig_free(s);
	return rc;
}

const char *bpg_minisign_sig_trusted_comment(const bpg_minisign_sig *sig)
{
	return sig->trusted;
}

const char *bpg_minisign_sig_untrusted_comment(const bpg_minisign_sig *sig)
{
	return sig->untrusted;
}

bool bpg_minisign_sig_prehashed(const bpg_minisign_sig *sig)
{
	return memcmp(sig->alg, SIG_ALG_HASHED, 2) == 0;
}

const unsigned char *bpg_minisign_sig_keynum(const bpg_minisign_sig *sig)
{
	return sig->keynum;
}

/* ---- verification ----------------------------------------------------- */

/* Steps 5 and 7 of minisign -V around the message check done by the caller. */
static int check_keyid(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key, unsigned flags,
	bpg_error *err)
{
	char a[BPG_MINISIGN_KEYID_SIZE], b[BPG_MINISIGN_KEYID_SIZE];

	if ((flags & BPG_MINISIGN_REQUIRE_PREHASH) && !bpg_minisign_sig_prehashed(sig))
		return bpg_error_set(err, BPG_EVERIFY,
			"legacy (non-prehashed) signature refused: a prehashed signature is required");
	if (memcmp(sig->keynum, key->keynum, 8) != 0) {
		bpg_minisign_keyid(a, sig->keynum);
		bpg_minisign_keyid(b, key->keynum);
		return bpg_error_set(err, BPG_EVERIFY,
			"signature key id is %s but the key id in the public key is %s", a, b);
	}
	return 0;
}

static int check_global(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key, bpg_error *err)
{
	unsigned char *gm = malloc(64 + sig->trusted_len);
	int rc = 0;

	if (!gm)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	memcpy(gm, sig->sig, 64);
	memcpy(gm + 64, sig->trusted, sig->trusted_len);
	if (crypto_sign_verify_detached(sig->global, gm, 64 + sig->trusted_len, key->pk) != 0)
		rc = bpg_error_set(err, BPG_EVERIFY,
			"the trusted comment does not verify (it was changed after signing)");
	free(gm);
	return rc;
}

static int verify_m(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key, const unsigned char *m,
	size_t mlen, bpg_error *err)
{
	if (crypto_sign_verify_detached(sig->sig, m, mlen, key->pk) != 0)
		return bpg_error_set(err, BPG_EVERIFY, "signature verification failed: the file or the "
							"signature was changed, or another key signed it");
	return check_global(sig, key, err);
}

int bpg_minisign_sig_verify(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key, const void *msg,
	size_t len, unsigned flags, bpg_error *err)
{
	unsigned char h[64];
	int rc;

	if ((rc = check_keyid(sig, key, flags, err)) < 0)
		return rc;
	if (!bpg_minisign_sig_prehashed(sig))
		return verify_m(sig, key, msg, len, err);
	crypto_generichash(h, sizeof(h), msg, len, NULL, 0);
	return verify_m(sig, key, h, sizeof(h), err);
}

int bpg_minisign_sig_verify_file(const bpg_minisign_sig *sig, const bpg_minisign_pubkey *key,
	const char *path, unsigned flags, bpg_error *err)
{
	unsigned char h[64];
	bpg_buf msg = BPG_BUF_INIT;
	int rc;

	if ((rc = check_keyid(sig, key, flags, err)) < 0)
		return rc;
	if (bpg_minisign_sig_prehashed(sig)) {
		if ((rc = prehash_file(h, path, err)) < 0)
			return rc;
		return verify_m(sig, key, h, sizeof(h), err);
	}
	if ((rc = bpg_file_read(&msg, path, LEGACY_FILE_MAX, err)) == 0)
		rc = verify_m(sig, key, (const unsigned char *)(msg.ptr ? msg.ptr : ""), msg.size, err);
	bpg_buf_dispose(&msg);
	return rc;
}
