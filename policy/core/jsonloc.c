/*
 * JSON position index: find the line and column of the value a JSON pointer
 * names, by scanning the text forward once (see include/bpgate/jsonloc.h).
 * Skipping a value counts brackets instead of recursing, so a hostile
 * nesting depth costs nothing but time linear in the text.
 */
#include "bpgate/jsonloc.h"
#include "bpgate/buf.h"

#include <string.h>

typedef struct {
	const char *s;
	size_t n;
	size_t p;
} scanner;

static void skip_ws(scanner *sc)
{
	while (sc->p < sc->n && (sc->s[sc->p] == ' ' || sc->s[sc->p] == '\t' ||
	       sc->s[sc->p] == '\n' || sc->s[sc->p] == '\r'))
		sc->p++;
}

/* Skip a string starting at the opening quote; 0 or BPG_EINVALID. */
static int skip_string(scanner *sc)
{
	sc->p++;
	while (sc->p < sc->n) {
		char c = sc->s[sc->p++];
		if (c == '\\') {
			if (sc->p >= sc->n)
				return BPG_EINVALID;
			sc->p++;
		} else if (c == '"') {
			return 0;
		}
	}
	return BPG_EINVALID;
}

/* Skip any value: strings skipped whole, brackets counted (no recursion). */
static int skip_value(scanner *sc)
{
	size_t depth = 0;

	skip_ws(sc);
	if (sc->p >= sc->n)
		return BPG_EINVALID;
	do {
		if (sc->p >= sc->n)
			return BPG_EINVALID;
		char c = sc->s[sc->p];
		if (c == '"') {
			if (skip_string(sc) < 0)
				return BPG_EINVALID;
		} else if (c == '{' || c == '[') {
			depth++;
			sc->p++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return BPG_EINVALID;
			depth--;
			sc->p++;
		} else if (depth == 0) {
			/* a scalar at top level: up to the next delimiter */
			while (sc->p < sc->n && !strchr(",}] \t\r\n", sc->s[sc->p]))
				sc->p++;
			return 0;
		} else {
			sc->p++;
		}
	} while (depth > 0);
	return 0;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int put_utf8(bpg_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80)
		u[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	else if (cp < 0x10000)
		u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
		u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	else
		u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	return bpg_buf_put(b, u, n);
}

/* Decode the string at the opening quote into out (cleared first). */
static int read_string(scanner *sc, bpg_buf *out)
{
	bpg_buf_clear(out);
	sc->p++;
	while (sc->p < sc->n) {
		char c = sc->s[sc->p++];
		int rc = 0;
		if (c == '"')
			return 0;
		if (c != '\\') {
			rc = bpg_buf_putc(out, c);
		} else {
			if (sc->p >= sc->n)
				return BPG_EINVALID;
			char e = sc->s[sc->p++];
			unsigned cp, lo;
			switch (e) {
			case 'b': rc = bpg_buf_putc(out, '\b'); break;
			case 'f': rc = bpg_buf_putc(out, '\f'); break;
			case 'n': rc = bpg_buf_putc(out, '\n'); break;
			case 'r': rc = bpg_buf_putc(out, '\r'); break;
			case 't': rc = bpg_buf_putc(out, '\t'); break;
			case 'u':
				if (sc->n - sc->p < 4 || hex4(sc->s + sc->p, &cp) < 0)
					return BPG_EINVALID;
				sc->p += 4;
				if (cp >= 0xD800 && cp <= 0xDBFF && sc->n - sc->p >= 6 &&
				    sc->s[sc->p] == '\\' && sc->s[sc->p + 1] == 'u' &&
				    hex4(sc->s + sc->p + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
					sc->p += 6;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				rc = put_utf8(out, cp);
				break;
			default: rc = bpg_buf_putc(out, e); break;
			}
		}
		if (rc < 0)
			return rc;
	}
	return BPG_EINVALID;
}

/* Next pointer token (RFC 6901 unescaping) into tok; *pp advances. */
static int next_token(const char **pp, bpg_buf *tok)
{
	const char *p = *pp;
	int rc = 0;

	bpg_buf_clear(tok);
	if (*p != '/')
		return BPG_EINVALID;
	for (p++; rc == 0 && *p && *p != '/'; p++) {
		if (*p == '~') {
			if (p[1] == '0')
				rc = bpg_buf_putc(tok, '~');
			else if (p[1] == '1')
				rc = bpg_buf_putc(tok, '/');
			else
				return BPG_EINVALID;
			p++;
		} else {
			rc = bpg_buf_putc(tok, *p);
		}
	}
	if (rc == 0 && !tok->ptr)
		rc = bpg_buf_puts(tok, "");
	*pp = p;
	return rc;
}

static bool parse_index(const bpg_buf *tok, size_t *out)
{
	size_t v = 0;
	if (tok->size == 0 || tok->size > 18 || (tok->size > 1 && tok->ptr[0] == '0'))
		return false;
	for (size_t i = 0; i < tok->size; i++) {
		if (tok->ptr[i] < '0' || tok->ptr[i] > '9')
			return false;
		v = v * 10 + (size_t)(tok->ptr[i] - '0');
	}
	*out = v;
	return true;
}

/* Inside an object (just past '{'): move to the value of member `tok`. */
static int enter_member(scanner *sc, const bpg_buf *tok, bpg_buf *key, size_t *keypos)
{
	for (;;) {
		skip_ws(sc);
		if (sc->p >= sc->n)
			return BPG_EINVALID;
		if (sc->s[sc->p] == '}')
			return BPG_ENOTFOUND;
		if (sc->s[sc->p] != '"')
			return BPG_EINVALID;
		*keypos = sc->p;
		int rc = read_string(sc, key);
		if (rc < 0)
			return rc;
		skip_ws(sc);
		if (sc->p >= sc->n || sc->s[sc->p] != ':')
			return BPG_EINVALID;
		sc->p++;
		skip_ws(sc);
		if (key->size == tok->size && memcmp(key->ptr, tok->ptr, tok->size) == 0)
			return 0;
		if (skip_value(sc) < 0)
			return BPG_EINVALID;
		skip_ws(sc);
		if (sc->p < sc->n && sc->s[sc->p] == ',')
			sc->p++;
		else if (sc->p < sc->n && sc->s[sc->p] == '}')
			return BPG_ENOTFOUND;
		else
			return BPG_EINVALID;
	}
}

static int enter_element(scanner *sc, size_t index)
{
	for (size_t i = 0;; i++) {
		skip_ws(sc);
		if (sc->p >= sc->n)
			return BPG_EINVALID;
		if (sc->s[sc->p] == ']')
			return BPG_ENOTFOUND;
		if (i == index)
			return 0;
		if (skip_value(sc) < 0)
			return BPG_EINVALID;
		skip_ws(sc);
		if (sc->p < sc->n && sc->s[sc->p] == ',')
			sc->p++;
		else if (sc->p < sc->n && sc->s[sc->p] == ']')
			return BPG_ENOTFOUND;
		else
			return BPG_EINVALID;
	}
}

void bpg_jsonloc_of_offset(bpg_jsonloc *out, const char *text, size_t len, size_t offset)
{
	unsigned line = 1, col = 1;

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n')
			line++, col = 1;
		else if ((c & 0xC0) != 0x80)
			col++;
	}
	out->line = line;
	out->column = col;
	out->offset = offset;
}

int bpg_jsonloc_find(bpg_jsonloc *out, const char *text, size_t len, const char *pointer,
	bool key, bpg_error *err)
{
	scanner sc = { text, len, 0 };
	bpg_buf tok = BPG_BUF_INIT, name = BPG_BUF_INIT;
	const char *p = pointer;
	size_t at, keypos = 0;
	bool last_was_member = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		sc.p = 3;
	skip_ws(&sc);
	while (*p) {
		size_t index;
		if ((rc = next_token(&p, &tok)) < 0)
			goto done;
		if (sc.p >= sc.n) {
			rc = BPG_EINVALID;
			goto done;
		}
		if (sc.s[sc.p] == '{') {
			sc.p++;
			rc = enter_member(&sc, &tok, &name, &keypos);
			last_was_member = true;
		} else if (sc.s[sc.p] == '[') {
			sc.p++;
			rc = parse_index(&tok, &index) ? enter_element(&sc, index) : BPG_ENOTFOUND;
			last_was_member = false;
		} else {
			rc = BPG_ENOTFOUND;
		}
		if (rc < 0)
			goto done;
	}
	at = key && last_was_member ? keypos : sc.p;
	bpg_jsonloc_of_offset(out, text, len, at);
done:
	if (rc == BPG_ENOTFOUND)
		bpg_error_set(err, rc, "nothing at JSON pointer '%s'", pointer);
	else if (rc == BPG_EINVALID)
		bpg_error_set(err, rc, "malformed JSON text or pointer while looking for '%s'", pointer);
	else if (rc < 0)
		bpg_error_set(err, rc, "out of memory");
	bpg_buf_dispose(&tok);
	bpg_buf_dispose(&name);
	return rc;
}
