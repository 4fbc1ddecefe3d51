/* Bounded SSH wire-format reading and writing (RFC 4251 section 5), and the
 * "-----BEGIN X-----" armor shared by signatures and private keys. */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int ssh_get_u32(ssh_reader *r, uint32_t *out)
{
	if (r->left < 4)
		return BPG_EINVALID;
	*out = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
		((uint32_t)r->p[2] << 8) | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

int ssh_get_u64(ssh_reader *r, uint64_t *out)
{
	uint32_t hi, lo;
	ssh_reader save = *r;

	if (ssh_get_u32(r, &hi) < 0 || ssh_get_u32(r, &lo) < 0) {
		*r = save;
		return BPG_EINVALID;
	}
	*out = ((uint64_t)hi << 32) | lo;
	return 0;
}

int ssh_get_bytes(ssh_reader *r, const unsigned char **out, size_t len)
{
	if (r->left < len)
		return BPG_EINVALID;
	*out = r->p;
	r->p += len;
	r->left -= len;
	return 0;
}

int ssh_get_string(ssh_reader *r, const unsigned char **out, size_t *len)
{
	ssh_reader save = *r;
	uint32_t n;

	if (ssh_get_u32(r, &n) < 0 || ssh_get_bytes(r, out, n) < 0) {
		*r = save;
		return BPG_EINVALID;
	}
	*len = n;
	return 0;
}

int ssh_get_expect(ssh_reader *r, const char *want)
{
	ssh_reader save = *r;
	const unsigned char *s;
	size_t n;

	if (ssh_get_string(r, &s, &n) < 0 || n != strlen(want) || memcmp(s, want, n) != 0) {
		*r = save;
		return BPG_EINVALID;
	}
	return 0;
}

int ssh_get_cstring(ssh_reader *r, char **out)
{
	ssh_reader save = *r;
	const unsigned char *s;
	size_t n;

	if (ssh_get_string(r, &s, &n) < 0 || memchr(s, 0, n) != NULL) {
		*r = save;
		return BPG_EINVALID;
	}
	if (!(*out = malloc(n + 1))) {
		*r = save;
		return BPG_ENOMEM;
	}
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	return 0;
}

int ssh_put_u32(bpg_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };
	return bpg_buf_put(b, x, 4);
}

int ssh_put_string(bpg_buf *b, const void *data, size_t len)
{
	int rc;

	if (len > UINT32_MAX)
		return BPG_ETOOBIG;
	if ((rc = ssh_put_u32(b, (uint32_t)len)) < 0)
		return rc;
	return bpg_buf_put(b, data, len);
}

int ssh_put_cstring(bpg_buf *b, const char *s)
{
	return ssh_put_string(b, s, strlen(s));
}

int ssh_sodium_ready(bpg_error *err)
{
	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium cannot be initialised");
	return 0;
}

static const char *find_mem(const char *hay, size_t hlen, const char *needle)
{
	return memmem(hay, hlen, needle, strlen(needle));
}

int ssh_dearmor(unsigned char **out, size_t *outlen, const char *text, size_t len,
	const char *label, bool secure, bpg_error *err)
{
	char begin[80], end[80];
	const char *b64, *stop;
	unsigned char *bin = NULL;
	size_t cap, got = 0;
	const char *b64_end = NULL;
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "\n-----END %s-----", label);
	if (len < strlen(begin) + 1 || memcmp(text, begin, strlen(begin)) != 0 ||
	    (text[strlen(begin)] != '\n' && text[strlen(begin)] != '\r'))
		return bpg_error_set(err, BPG_EINVALID, "does not start with '%s' on a line of its own", begin);
	b64 = text + strlen(begin);
	stop = find_mem(b64, len - (size_t)(b64 - text), end);
	if (!stop)
		return bpg_error_set(err, BPG_EINVALID, "no '%s' line (truncated?)", end + 1);
	cap = (size_t)(stop - b64) / 4 * 3 + 3;
	if (secure && ssh_sodium_ready(err) < 0)
		return BPG_ERROR;
	bin = secure ? sodium_malloc(cap ? cap : 1) : malloc(cap ? cap : 1);
	if (!bin)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (sodium_base642bin(bin, cap, b64, (size_t)(stop - b64), "\r\n", &got, &b64_end,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || b64_end != stop) {
		rc = bpg_error_set(err, BPG_EINVALID, "invalid base64 between the BEGIN and END lines");
		goto done;
	}
	*out = bin;
	*outlen = got;
	bin = NULL;
done:
	if (bin)
		ssh_armor_free(bin, cap, secure);
	return rc;
}

void ssh_armor_free(unsigned char *p, size_t len, bool secure)
{
	if (!p)
		return;
	if (secure) {
		sodium_free(p); /* sodium_free wipes */
	} else {
		(void)len;
		free(p);
	}
}

int ssh_armor(bpg_buf *out, const unsigned char *blob, size_t len, const char *label, size_t width)
{
	size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64;
	int rc;

	if (ssh_sodium_ready(NULL) < 0)
		return BPG_ERROR;
	if (!(b64 = sodium_malloc(b64len)))
		return BPG_ENOMEM;
	sodium_bin2base64(b64, b64len, blob, len, sodium_base64_VARIANT_ORIGINAL);
	size_t n = strlen(b64);
	if ((rc = bpg_buf_printf(out, "-----BEGIN %s-----\n", label)) < 0)
		goto done;
	for (size_t i = 0; i < n; i += width) {
		size_t k = n - i < width ? n - i : width;
		if ((rc = bpg_buf_put(out, b64 + i, k)) < 0 || (rc = bpg_buf_putc(out, '\n')) < 0)
			goto done;
	}
	rc = bpg_buf_printf(out, "-----END %s-----\n", label);
done:
	sodium_free(b64);
	return rc;
}
