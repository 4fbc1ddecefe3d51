/* Line splitting and base64 decoding exactly as minisign reads its files. */
#include "internal.h"

#include "bpgate/util.h"

#include <string.h>

int sign_next_line(sign_line *line, const char **p, const char *end, size_t max, int lineno,
	const char *name, bpg_error *err)
{
	const char *s = *p, *lf;
	size_t len;

	if (s >= end)
		return 0;
	lf = memchr(s, '\n', (size_t)(end - s));
	len = lf ? (size_t)(lf - s) : (size_t)(end - s);
	/* minisign reads with fgets into a max-byte buffer: the line and its LF must fit. */
	if (len + 1 > max - 1)
		return bpg_error_set(err, BPG_EINVALID, "%s: line %d: longer than %zu bytes", name, lineno,
			max - 2);
	*p = lf ? lf + 1 : end;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (memchr(s, '\r', len) || memchr(s, '\0', len))
		return bpg_error_set(err, BPG_EINVALID,
			"%s: line %d: stray carriage return or NUL byte (was the file converted to CRLF?)",
			name, lineno);
	line->ptr = s;
	line->len = len;
	return 1;
}

int sign_b64_decode(unsigned char *out, size_t want, const char *b64, size_t len)
{
	size_t got = 0;
	const char *b64_end = NULL;

	/* Standard alphabet, padded; no ignored characters and no trailing bytes. */
	if (sodium_base642bin(out, want, b64, len, NULL, &got, &b64_end,
		    sodium_base64_VARIANT_ORIGINAL) != 0)
		return BPG_EINVALID;
	if (got != want || b64_end != b64 + len)
		return BPG_EINVALID;
	return 0;
}

bool sign_comment_ok(const char *s, size_t len)
{
	if (!bpg_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F. */
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0)
			return false;
	}
	return true;
}

void *sign_secure_alloc(size_t size)
{
	/* sodium_malloc needs sodium_init (idempotent and thread-safe). */
	if (sodium_init() < 0)
		return NULL;
	return sodium_malloc(size);
}
