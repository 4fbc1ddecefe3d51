/* Globs, JSON pointers, hex, hashing, masking, safe display of hostile text. */
#include "bpgate/util.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Match one path segment [s, se) against one glob segment [g, ge): `*`, `?`,
 * classes. Greedy with one backtrack point: O(len(g) * len(s)). */
static bool class_match(const char **gp, const char *ge, char c)
{
	const char *g = *gp + 1;
	bool neg = false, hit = false;

	if (g < ge && (*g == '!' || *g == '^')) {
		neg = true;
		g++;
	}
	for (bool first = true; g < ge && (*g != ']' || first); first = false) {
		char lo = *g, hi = *g;
		if (g + 2 < ge && g[1] == '-' && g[2] != ']') {
			hi = g[2];
			g += 3;
		} else {
			g++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (g >= ge) /* unterminated class: treat '[' literally */
		return c == '[' && (*gp += 1, true);
	*gp = g + 1;
	return hit != neg;
}

static bool segment_match(const char *g, const char *ge, const char *s, const char *se)
{
	const char *star_g = NULL, *star_s = NULL;

	while (s < se) {
		if (g < ge && *g == '*') {
			star_g = ++g;
			star_s = s;
			continue;
		}
		if (g < ge && *g == '?') {
			g++;
			s++;
			continue;
		}
		if (g < ge && *g == '[') {
			const char *ng = g;
			if (class_match(&ng, ge, *s)) {
				g = ng;
				s++;
				continue;
			}
		} else if (g < ge && *g == *s) {
			g++;
			s++;
			continue;
		}
		if (!star_g)
			return false;
		g = star_g;
		s = ++star_s;
	}
	while (g < ge && *g == '*')
		g++;
	return g == ge;
}

#define GLOB_MAX_SEGMENTS 128

/* Split p into '/'-separated segments; returns the count, or -1 if too many. */
static int split_segments(const char *p, const char *starts[], const char *ends[])
{
	int n = 0;

	while (*p) {
		const char *e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (e > p) {
			if (n == GLOB_MAX_SEGMENTS)
				return -1;
			starts[n] = p;
			ends[n++] = e;
		}
		p = *e ? e + 1 : e;
	}
	return n;
}

bool bpg_glob_match(const char *glob, const char *path)
{
	const char *gs[GLOB_MAX_SEGMENTS], *ge[GLOB_MAX_SEGMENTS];
	const char *ps[GLOB_MAX_SEGMENTS], *pe[GLOB_MAX_SEGMENTS];
	/* ok[i][j]: glob segments i.. match path segments j.. (bottom-up DP). */
	static _Thread_local bool ok[GLOB_MAX_SEGMENTS + 1][GLOB_MAX_SEGMENTS + 1];
	int ng, np;

	if (!glob || !path)
		return false;
	if (!strchr(glob, '/')) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		return segment_match(glob, glob + strlen(glob), base, base + strlen(base));
	}
	if ((ng = split_segments(glob, gs, ge)) < 0 || (np = split_segments(path, ps, pe)) < 0)
		return false;
	for (int i = ng; i >= 0; i--) {
		for (int j = np; j >= 0; j--) {
			bool r;
			if (i == ng)
				r = (j == np);
			else if (ge[i] - gs[i] == 2 && gs[i][0] == '*' && gs[i][1] == '*')
				r = ok[i + 1][j] || (j < np && ok[i][j + 1]);
			else
				r = j < np && segment_match(gs[i], ge[i], ps[j], pe[j]) && ok[i + 1][j + 1];
			ok[i][j] = r;
		}
	}
	return ok[0][0];
}

/* Called for every key and element of large documents (facts validation,
 * the scanner's JSON walk): one growth check, then plain stores. */
int bpg_jsonptr_push(bpg_buf *ptr, const char *token, size_t len)
{
	size_t escapes = 0;
	char *o;
	int rc;

	for (size_t i = 0; i < len; i++)
		escapes += token[i] == '~' || token[i] == '/';
	if (len > SIZE_MAX / 2 || (rc = bpg_buf_grow(ptr, 1 + len + escapes)) < 0)
		return len > SIZE_MAX / 2 ? BPG_ETOOBIG : rc;
	o = ptr->ptr + ptr->size;
	*o++ = '/';
	for (size_t i = 0; i < len; i++) {
		if (token[i] == '~' || token[i] == '/') {
			*o++ = '~';
			*o++ = token[i] == '~' ? '0' : '1';
		} else {
			*o++ = token[i];
		}
	}
	ptr->size = (size_t)(o - ptr->ptr);
	ptr->ptr[ptr->size] = '\0';
	return 0;
}

int bpg_jsonptr_push_index(bpg_buf *ptr, size_t index)
{
	char digits[24], *d = digits + sizeof(digits);
	int rc;

	do {
		*--d = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	if ((rc = bpg_buf_putc(ptr, '/')) < 0)
		return rc;
	return bpg_buf_put(ptr, d, (size_t)(digits + sizeof(digits) - d));
}

void bpg_hex_encode(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int bpg_hex_decode(unsigned char *out, size_t outlen, const char *hex, size_t hexlen)
{
	if (hexlen != 2 * outlen)
		return BPG_EINVALID;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BPG_EINVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void bpg_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	bpg_hex_encode(out, h, sizeof(h));
}

int bpg_mask_put(bpg_buf *out, const char *value, size_t len)
{
	size_t keep = len / 8;
	int rc = 0;

	if (keep > 4)
		keep = 4;
	/* Keep whole UTF-8 sequences at the edges so the excerpt stays valid. */
	while (keep > 0 && ((unsigned char)value[keep] & 0xC0) == 0x80)
		keep--;
	if (keep)
		rc = bpg_buf_put(out, value, keep);
	for (size_t i = 0; rc == 0 && i < (len - 2 * keep > 8 ? 8 : len - 2 * keep); i++)
		rc = bpg_buf_putc(out, '*');
	if (rc == 0 && keep) {
		size_t start = len - keep;
		while (start < len && ((unsigned char)value[start] & 0xC0) == 0x80)
			start++;
		rc = bpg_buf_put(out, value + start, len - start);
	}
	return rc;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

bool bpg_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

int bpg_safe_put(bpg_buf *out, const char *text, size_t len, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t shown = len > max_chars ? max_chars : len;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < shown;) {
		size_t run = i, n;
		/* printable ASCII, the usual text, in one piece (findings of a large push: thousands) */
		while (run < shown && p[run] >= 0x20 && p[run] < 0x7f)
			run++;
		if (run > i) {
			rc = bpg_buf_put(out, text + i, run - i);
			i = run;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			rc = bpg_buf_printf(out, "\\x%02x", p[i]);
			i++;
		} else if (n == 0 || (n == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)) {
			/* invalid UTF-8, or a C1 control (U+0080..U+009F) */
			rc = bpg_buf_printf(out, "\\x%02x", p[i]);
			i++;
		} else {
			rc = bpg_buf_put(out, text + i, n);
			i += n;
		}
	}
	if (rc == 0 && shown < len)
		rc = bpg_buf_puts(out, "...");
	return rc;
}
