/*
 * Signed notes (c2sp.org/signed-note) with Ed25519 keys in Go's text key
 * formats, so that golang.org/x/mod/sumdb/note and this code agree byte for
 * byte. Keys: key id = SHA-256(name || LF || 0x01 || pk)[0:4], big-endian.
 */
#include "internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ALG_ED25519 0x01
#define EM_DASH_SP "\xe2\x80\x94 "

struct bpg_note_signer {
	char name[BPG_NOTE_NAME_MAX + 1];
	uint32_t keyid;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

struct bpg_note_verifier {
	char name[BPG_NOTE_NAME_MAX + 1];
	uint32_t keyid;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
};

int bpg_audit__b64_put(bpg_buf *out, const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	int rc;

	if ((rc = bpg_buf_grow(out, n)) < 0)
		return rc;
	sodium_bin2base64(out->ptr + out->size, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	out->size += n - 1;
	return 0;
}

static int b64_try(unsigned char *out, size_t outmax, size_t *outlen, const char *text,
	size_t textlen, int variant)
{
	const char *end = NULL;

	if (sodium_base642bin(out, outmax, text, textlen, NULL, outlen, &end, variant) != 0)
		return -1;
	return end == text + textlen ? 0 : -1;
}

int bpg_audit__b64_decode(unsigned char *out, size_t outmax, size_t *outlen,
	const char *text, size_t textlen, bool urlsafe_too)
{
	static const int more[] = { sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE_NO_PADDING };

	if (b64_try(out, outmax, outlen, text, textlen, sodium_base64_VARIANT_ORIGINAL) == 0)
		return 0;
	if (urlsafe_too)
		for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
			if (b64_try(out, outmax, outlen, text, textlen, more[i]) == 0)
				return 0;
	return BPG_EINVALID;
}

/* Go's isValidName: non-empty, no Unicode space (we allow printable ASCII and UTF-8), no '+'. */
static bool name_valid(const char *name, size_t len)
{
	if (len == 0 || len > BPG_NOTE_NAME_MAX || !bpg_utf8_valid(name, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f || c == '+')
			return false;
		/* U+0085, U+00A0 and U+2000.. spaces: refuse any multi-byte space-like rune cheaply. */
		if (c == 0xc2 && i + 1 < len && ((unsigned char)name[i + 1] == 0x85 ||
			(unsigned char)name[i + 1] == 0xa0))
			return false;
		if (c == 0xe2 && i + 2 < len && (unsigned char)name[i + 1] == 0x80 &&
			(((unsigned char)name[i + 2] >= 0x80 && (unsigned char)name[i + 2] <= 0x8a) ||
			 (unsigned char)name[i + 2] == 0xa8 || (unsigned char)name[i + 2] == 0xa9 ||
			 (unsigned char)name[i + 2] == 0xaf))
			return false;
		if (c == 0xe3 && i + 2 < len && (unsigned char)name[i + 1] == 0x80 &&
			(unsigned char)name[i + 2] == 0x80)
			return false;
	}
	return true;
}

static uint32_t key_id(const char *name, const unsigned char pk[32])
{
	crypto_hash_sha256_state st;
	unsigned char h[32];
	const unsigned char sep[2] = { '\n', ALG_ED25519 };

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
	crypto_hash_sha256_update(&st, sep, 2);
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

int bpg_note_signer_from_seed(bpg_note_signer **out, const char *name,
	const unsigned char seed[32], bpg_error *err)
{
	bpg_note_signer *s;

	*out = NULL;
	if (!name_valid(name, strlen(name)))
		return bpg_error_set(err, BPG_EINVALID,
			"key name '%s' is invalid: use a non-empty name without spaces or '+', e.g. git.example.com/audit",
			name);
	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium failed to initialise");
	if (!(s = calloc(1, sizeof(*s))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	memcpy(s->name, name, strlen(name) + 1);
	memcpy(s->seed, seed, 32);
	crypto_sign_seed_keypair(s->pk, s->sk, s->seed);
	s->keyid = key_id(s->name, s->pk);
	*out = s;
	return 0;
}

int bpg_note_signer_generate(bpg_note_signer **out, const char *name, bpg_error *err)
{
	unsigned char seed[32];
	int rc;

	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium failed to initialise");
	randombytes_buf(seed, sizeof(seed));
	rc = bpg_note_signer_from_seed(out, name, seed, err);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/*
 * Split "<name>+<8 hex>+<b64>" into its parts and decode the key (0x01 || 32
 * bytes). `what` names the key kind in messages.
 */
static int key_text_parse(char name[BPG_NOTE_NAME_MAX + 1], uint32_t *keyid, unsigned char key[32],
	const char *text, size_t len, const char *what, bpg_error *err)
{
	const char *p1, *p2;
	unsigned char idb[4], raw[33];
	size_t rawlen = 0;
	int rc = 0;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	p1 = memchr(text, '+', len);
	p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - text)) : NULL;
	if (!p2 || !name_valid(text, (size_t)(p1 - text)) || p2 - p1 - 1 != 8) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: expected <name>+<8 hex digits>+<base64 key>", what);
		goto done;
	}
	if (bpg_hex_decode(idb, 4, p1 + 1, 8) < 0 || bpg_audit__b64_decode(raw, sizeof(raw), &rawlen,
			p2 + 1, len - (size_t)(p2 + 1 - text), false) < 0 || rawlen != 33) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: bad key hash or key encoding", what);
		goto done;
	}
	if (raw[0] != ALG_ED25519) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: algorithm %u is not supported (only 1, Ed25519)", what, raw[0]);
		goto done;
	}
	memcpy(name, text, (size_t)(p1 - text));
	name[p1 - text] = '\0';
	*keyid = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	memcpy(key, raw + 1, 32);
done:
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int bpg_note_signer_parse(bpg_note_signer **out, const char *text, size_t len, bpg_error *err)
{
	static const char prefix[] = "PRIVATE+KEY+";
	char name[BPG_NOTE_NAME_MAX + 1];
	unsigned char seed[32];
	uint32_t keyid = 0;
	int rc;

	*out = NULL;
	if (len < sizeof(prefix) - 1 || memcmp(text, prefix, sizeof(prefix) - 1) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"signer key: expected PRIVATE+KEY+<name>+<hash>+<base64>");
	rc = key_text_parse(name, &keyid, seed, text + sizeof(prefix) - 1, len - (sizeof(prefix) - 1),
		"signer key", err);
	if (rc == 0 && (rc = bpg_note_signer_from_seed(out, name, seed, err)) == 0 &&
	    (*out)->keyid != keyid) {
		bpg_note_signer_free(*out);
		*out = NULL;
		rc = bpg_error_set(err, BPG_EINVALID,
			"signer key: key hash %08x does not match the key (damaged key file)", keyid);
	}
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int bpg_note_signer_load(bpg_note_signer **out, const char *path, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"%s: the signer key is readable by others; run chmod 600 %s", path, path);
	if ((rc = bpg_file_read(&b, path, 4096, err)) == 0 &&
	    (rc = bpg_note_signer_parse(out, b.ptr ? b.ptr : "", b.size, err)) < 0)
		bpg_error_prefix(err, "%s: ", path);
	if (b.ptr)
		sodium_memzero(b.ptr, b.size);
	bpg_buf_dispose(&b);
	return rc;
}

static int key_text_format(bpg_buf *out, const char *prefix, const char *name, uint32_t keyid,
	const unsigned char key[32])
{
	unsigned char raw[33];
	int rc;

	raw[0] = ALG_ED25519;
	memcpy(raw + 1, key, 32);
	if ((rc = bpg_buf_printf(out, "%s%s+%08x+", prefix, name, keyid)) == 0)
		rc = bpg_audit__b64_put(out, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int bpg_note_signer_format(bpg_buf *out, const bpg_note_signer *s)
{
	return key_text_format(out, "PRIVATE+KEY+", s->name, s->keyid, s->seed);
}

int bpg_note_signer_vkey(bpg_buf *out, const bpg_note_signer *s)
{
	return key_text_format(out, "", s->name, s->keyid, s->pk);
}

const char *bpg_note_signer_name(const bpg_note_signer *s)
{
	return s->name;
}

void bpg_note_signer_free(bpg_note_signer *s)
{
	if (!s)
		return;
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int bpg_note_verifier_parse(bpg_note_verifier **out, const char *text, size_t len, bpg_error *err)
{
	bpg_note_verifier v;

	*out = NULL;
	if (key_text_parse(v.name, &v.keyid, v.pk, text, len, "verifier key", err) < 0)
		return BPG_EINVALID;
	if (key_id(v.name, v.pk) != v.keyid)
		return bpg_error_set(err, BPG_EINVALID,
			"verifier key: key hash %08x does not match the key (damaged key)", v.keyid);
	if (!(*out = malloc(sizeof(v))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	**out = v;
	return 0;
}

int bpg_note_verifier_load(bpg_note_verifier **out, const char *path, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = bpg_file_read(&b, path, 4096, err)) == 0 &&
	    (rc = bpg_note_verifier_parse(out, b.ptr ? b.ptr : "", b.size, err)) < 0)
		bpg_error_prefix(err, "%s: ", path);
	bpg_buf_dispose(&b);
	return rc;
}

int bpg_note_verifier_from_signer(bpg_note_verifier **out, const bpg_note_signer *s, bpg_error *err)
{
	if (!(*out = malloc(sizeof(**out))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	memcpy((*out)->name, s->name, sizeof(s->name));
	(*out)->keyid = s->keyid;
	memcpy((*out)->pk, s->pk, sizeof(s->pk));
	return 0;
}

int bpg_note_verifier_format(bpg_buf *out, const bpg_note_verifier *v)
{
	return key_text_format(out, "", v->name, v->keyid, v->pk);
}

const char *bpg_note_verifier_name(const bpg_note_verifier *v)
{
	return v->name;
}

uint32_t bpg_note_verifier_keyid(const bpg_note_verifier *v)
{
	return v->keyid;
}

void bpg_note_verifier_free(bpg_note_verifier *v)
{
	free(v);
}

/* Valid UTF-8 and no control byte except LF (Go's rule for the whole note). */
static bool note_chars_ok(const char *s, size_t len)
{
	if (!bpg_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\n')
			return false;
	return true;
}

int bpg_note_sign(bpg_buf *out, const char *text, size_t len, const bpg_note_signer *s,
	bpg_error *err)
{
	unsigned char sig[4 + crypto_sign_BYTES];
	int rc;

	if (len == 0 || text[len - 1] != '\n' || !note_chars_ok(text, len) ||
	    (len >= 2 && text[len - 2] == '\n'))
		return bpg_error_set(err, BPG_EINVALID,
			"note text must be non-empty UTF-8 ending in one LF, without control characters");
	sig[0] = (unsigned char)(s->keyid >> 24);
	sig[1] = (unsigned char)(s->keyid >> 16);
	sig[2] = (unsigned char)(s->keyid >> 8);
	sig[3] = (unsigned char)s->keyid;
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, len, s->sk);
	if ((rc = bpg_buf_put(out, text, len)) < 0 ||
	    (rc = bpg_buf_printf(out, "\n" EM_DASH_SP "%s ", s->name)) < 0 ||
	    (rc = bpg_audit__b64_put(out, sig, sizeof(sig))) < 0 ||
	    (rc = bpg_buf_putc(out, '\n')) < 0)
		return bpg_error_set(err, rc, "out of memory");
	return 0;
}

/* Last "\n\n" in the note: text ends after its first LF, signatures start after it. */
static const char *last_blank_line(const char *note, size_t len)
{
	for (size_t i = len; i >= 2; i--)
		if (note[i - 1] == '\n' && note[i - 2] == '\n')
			return note + i - 2;
	return NULL;
}

/* Check one signature line against the verifiers; *verified counts distinct known keys. */
static int note_check_sig(const char *line, size_t ll, const char *text, size_t tlen,
	const bpg_note_verifier *const *vs, size_t nv, bool *seen, size_t *verified,
	size_t lineno, bpg_error *err)
{
	const char *sp;
	size_t nlen;
	unsigned char sig[4 + crypto_sign_BYTES + 1];
	size_t siglen = 0;
	uint32_t id;

	if (ll < 4 || memcmp(line, EM_DASH_SP, 4) != 0)
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: signature line %zu does not start with an em dash (U+2014) and a space",
			lineno);
	line += 4;
	ll -= 4;
	sp = memchr(line, ' ', ll);
	if (!sp || !name_valid(line, (size_t)(sp - line)))
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: signature line %zu has no valid key name", lineno);
	nlen = (size_t)(sp - line);
	if (bpg_audit__b64_decode(sig, sizeof(sig), &siglen, sp + 1, ll - nlen - 1, false) < 0 ||
	    siglen < 5)
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: signature line %zu: bad base64 or too short (truncated?)", lineno);
	id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
	for (size_t k = 0; k < nv; k++) {
		const bpg_note_verifier *v = vs[k];

		if (v->keyid != id || strlen(v->name) != nlen || memcmp(v->name, line, nlen) != 0)
			continue;
		if (seen[k])
			return 0; /* duplicate signature by one key: ignored */
		if (siglen != 4 + crypto_sign_BYTES)
			return bpg_error_set(err, BPG_EVERIFY,
				"note signature by key %s+%08x has %zu bytes instead of 64: truncated or forged",
				v->name, v->keyid, siglen - 4);
		if (crypto_sign_verify_detached(sig + 4, (const unsigned char *)text, tlen, v->pk) != 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"note signature by key %s+%08x does not verify: forged or altered note",
				v->name, v->keyid);
		seen[k] = true;
		(*verified)++;
	}
	return 0;
}

int bpg_note_open(bpg_buf *text_out, const char *note, size_t len,
	const bpg_note_verifier *const *verifiers, size_t nverifiers, bpg_error *err)
{
	const char *split, *p, *end = note + len;
	size_t tlen, verified = 0, lineno = 0;
	bool *seen = NULL;
	int rc = 0;

	if (len > BPG_NOTE_MAX_BYTES)
		return bpg_error_set(err, BPG_ETOOBIG, "note larger than %zu bytes", BPG_NOTE_MAX_BYTES);
	if (!note_chars_ok(note, len))
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: invalid UTF-8 or a control character other than LF");
	if (!(split = last_blank_line(note, len)))
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: no blank line between the text and the signatures");
	tlen = (size_t)(split - note) + 1;
	p = split + 2;
	if (p == end || end[-1] != '\n')
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: the signature block is empty or does not end with LF");
	if (!(seen = calloc(nverifiers ? nverifiers : 1, sizeof(*seen))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (++lineno > BPG_NOTE_MAX_SIGS) {
			rc = bpg_error_set(err, BPG_EINVALID, "malformed note: more than %d signatures",
				BPG_NOTE_MAX_SIGS);
			goto done;
		}
		if ((rc = note_check_sig(p, (size_t)(nl - p), note, tlen, verifiers, nverifiers, seen,
				&verified, lineno, err)) < 0)
			goto done;
		p = nl + 1;
	}
	if (verified == 0) {
		if (nverifiers)
			rc = bpg_error_set(err, BPG_EVERIFY,
				"note not signed by the expected key %s+%08x: forged, or signed by another key",
				verifiers[0]->name, verifiers[0]->keyid);
		else
			rc = bpg_error_set(err, BPG_EVERIFY, "note not signed by a known key: no key given");
		goto done;
	}
	if (bpg_buf_put(text_out, note, tlen) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(seen);
	return rc;
}

int bpg_audit__note_sig_line(const char **b64, size_t *b64_len, const char *note, size_t len,
	const char *name)
{
	const char *split = last_blank_line(note, len), *p, *end = note + len;
	size_t nlen = strlen(name);

	if (!split)
		return BPG_EINVALID;
	for (p = split + 2; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		if ((size_t)(nl - p) > 4 + nlen + 1 && memcmp(p, EM_DASH_SP, 4) == 0 &&
		    memcmp(p + 4, name, nlen) == 0 && p[4 + nlen] == ' ') {
			*b64 = p + 5 + nlen;
			*b64_len = (size_t)(nl - *b64);
			return 0;
		}
		p = nl + 1;
	}
	return BPG_ENOTFOUND;
}

int bpg_audit__note_text(const char **text, size_t *tlen, const char *note, size_t len,
	bpg_error *err)
{
	const char *split;

	if (len > BPG_NOTE_MAX_BYTES)
		return bpg_error_set(err, BPG_ETOOBIG, "note larger than %zu bytes", BPG_NOTE_MAX_BYTES);
	if (!note_chars_ok(note, len) || !(split = last_blank_line(note, len)) ||
	    split + 2 == note + len || note[len - 1] != '\n')
		return bpg_error_set(err, BPG_EINVALID,
			"malformed note: expected text, a blank line and signature lines");
	*text = note;
	*tlen = (size_t)(split - note) + 1;
	return 0;
}
