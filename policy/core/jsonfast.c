/*
 * The fast path of bpg_json_loadb() (see jsonfast.h): a recursive-descent
 * reader of strict JSON that builds jansson values directly. It gives up
 * (returns NULL, keeps nothing) on anything it does not cover, and the
 * caller then parses the input again with json_loadb(), so it never has to
 * decide what an error says. It accepts only what json_loadb() accepts, and
 * builds the same values in the same order.
 */
#include "bpgate/jsonfast.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* jansson allows 2048 levels; deeper documents go to json_loadb(), which
 * decides (and past 2048 refuses) with its own message */
#define FAST_DEPTH_MAX 512
/* longer reals (jansson reads any length) go to json_loadb() */
#define REAL_MAX 64

typedef struct {
	const unsigned char *p, *end;
	char *tmp;          /* unescaped strings */
	size_t tmpcap;
} rd;

static void skip_ws(rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n, i;
	uint32_t v;

	if (c < 0xC2 || c > 0xF4)
		return 0;
	n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if ((size_t)(end - p) < n)
		return 0;
	v = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n;
}

/* The string whose opening quote is at r->p: *out points into the input (no
 * escapes) or to r->tmp, *len bytes, never a NUL among them. False to give up. */
static bool read_string(rd *r, const char **out, size_t *len)
{
	const unsigned char *s = ++r->p, *q = s;
	size_t n = 0;
	bool escaped = false;

	for (;;) {
		if (q >= r->end)
			return false;
		if (*q == '"')
			break;
		if (*q < 0x20)
			return false;
		if (*q == '\\') {
			escaped = true;
			if (q + 1 >= r->end || q[1] == '\0' || !strchr("\"\\/bfnrt", q[1]))
				return false; /* \u and bad escapes: json_loadb() */
			q += 2;
		} else if (*q >= 0x80) {
			size_t k = utf8_len(q, r->end);
			if (!k)
				return false;
			q += k;
		} else {
			q++;
		}
	}
	r->p = q + 1;
	if (!escaped) {
		*out = (const char *)s;
		*len = (size_t)(q - s);
		return true;
	}
	if ((size_t)(q - s) > r->tmpcap) {
		char *t = realloc(r->tmp, (size_t)(q - s));
		if (!t)
			return false;
		r->tmp = t;
		r->tmpcap = (size_t)(q - s);
	}
	for (const unsigned char *c = s; c < q; c++) {
		char ch = (char)*c;
		if (ch == '\\') {
			c++;
			switch (*c) {
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			default: ch = (char)*c; break; /* " \ / */
			}
		}
		r->tmp[n++] = ch;
	}
	*out = r->tmp;
	*len = n;
	return true;
}

/* A real: the lexeme is strict JSON's (checked by read_number) and is read as
 * json_loadb() reads it, by strtod() on the same characters (jansson first puts the
 * locale's decimal point for '.'; here the locale's must be '.'); an overflow is
 * jansson's error ("real number overflow"), so it gives up. */
static json_t *read_real(const unsigned char *s, size_t n)
{
	char buf[REAL_MAX + 1], *end;
	const struct lconv *lc = localeconv();
	double v;

	if (n > REAL_MAX || !lc || strcmp(lc->decimal_point, ".") != 0)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + n || ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE))
		return NULL;
	return json_real(v);
}

/* A number: an integer (no fraction, no exponent) as json_integer(), too big for
 * json_int_t given up (json_loadb() says so); a real by read_real(). */
static json_t *read_number(rd *r)
{
	const unsigned char *start = r->p, *q = r->p;
	bool neg = false, big = false;
	unsigned long long v = 0, lim;

	if (*q == '-') {
		neg = true;
		q++;
	}
	if (q >= r->end || *q < '0' || *q > '9')
		return NULL;
	if (*q == '0') {
		q++;
	} else {
		lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
		while (q < r->end && *q >= '0' && *q <= '9') {
			unsigned d = (unsigned)(*q - '0');
			if (!big && v > (lim - d) / 10)
				big = true; /* an error if it stays an integer, not if it is a real */
			v = v * 10 + d;
			q++;
		}
	}
	if (q < r->end && *q >= '0' && *q <= '9')
		return NULL; /* a leading zero */
	if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E')) {
		if (*q == '.') {
			if (++q >= r->end || *q < '0' || *q > '9')
				return NULL;
			while (q < r->end && *q >= '0' && *q <= '9')
				q++;
		}
		if (q < r->end && (*q == 'e' || *q == 'E')) {
			if (++q < r->end && (*q == '+' || *q == '-'))
				q++;
			if (q >= r->end || *q < '0' || *q > '9')
				return NULL;
			while (q < r->end && *q >= '0' && *q <= '9')
				q++;
		}
		json_t *real = read_real(start, (size_t)(q - start));
		if (real)
			r->p = q;
		return real;
	}
	if (big)
		return NULL; /* too big: json_loadb() says so */
	r->p = q;
	if (neg)
		return json_integer(v ? (json_int_t)(-(long long)(v - 1) - 1) : 0);
	return json_integer((json_int_t)v);
}

static bool literal(rd *r, const char *word, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* After a member or element: 1 on ',' (more follow), 0 on `close` (the
 * container ends), -1 on anything else; both consumed with their space. */
static int list_next(rd *r, char close)
{
	skip_ws(r);
	if (r->p < r->end && (*r->p == ',' || *r->p == close)) {
		int more = *r->p++ == ',';
		skip_ws(r);
		return more;
	}
	return -1;
}

static json_t *read_value(rd *r, int depth);

static json_t *read_object(rd *r, int depth)
{
	json_t *o = json_object(), *v;
	const char *key;
	size_t klen;
	int more;

	if (!o)
		return NULL;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return o;
	}
	for (;;) {
		if (r->p >= r->end || *r->p != '"' || !read_string(r, &key, &klen))
			goto fail;
		/* a key with escapes (rare) would live in r->tmp, which the value's
		 * strings reuse; a repeated key is refused by json_loadb() or keeps
		 * the last value in the first one's place: either way, its business */
		if (key == r->tmp || json_object_getn(o, key, klen))
			goto fail;
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':')
			goto fail;
		r->p++;
		skip_ws(r);
		if (!(v = read_value(r, depth + 1)))
			goto fail;
		if (json_object_setn_new_nocheck(o, key, klen, v) < 0 || (more = list_next(r, '}')) < 0)
			goto fail;
		if (!more)
			return o;
	}
fail:
	json_decref(o);
	return NULL;
}

static json_t *read_array(rd *r, int depth)
{
	json_t *a = json_array(), *v;
	int more;

	if (!a)
		return NULL;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return a;
	}
	for (;;) {
		if (!(v = read_value(r, depth + 1)) || json_array_append_new(a, v) < 0 || (more = list_next(r, ']')) < 0)
			goto fail;
		if (!more)
			return a;
	}
fail:
	json_decref(a);
	return NULL;
}

static json_t *read_value(rd *r, int depth)
{
	const char *s;
	size_t n;

	if (depth > FAST_DEPTH_MAX || r->p >= r->end)
		return NULL;
	switch (*r->p) {
	case '{':
		return read_object(r, depth);
	case '[':
		return read_array(r, depth);
	case '"':
		return read_string(r, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
	case 't':
		return literal(r, "true", 4) ? json_true() : NULL;
	case 'f':
		return literal(r, "false", 5) ? json_false() : NULL;
	case 'n':
		return literal(r, "null", 4) ? json_null() : NULL;
	default:
		return read_number(r);
	}
}

json_t *bpg_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
	rd r = { (const unsigned char *)buffer, (const unsigned char *)buffer + buflen,
		NULL, 0 };
	json_t *v = NULL;

	if (buffer && (flags & ~(size_t)JSON_REJECT_DUPLICATES) == 0) {
		skip_ws(&r);
		if (r.p < r.end && (*r.p == '{' || *r.p == '[') && (v = read_value(&r, 1))) {
			skip_ws(&r);
			if (r.p != r.end) {
				json_decref(v);
				v = NULL;
			}
		}
		free(r.tmp);
	}
	if (!v)
		return json_loadb(buffer, buflen, flags, error);
	if (error) { /* as json_loadb() leaves it on success */
		memset(error, 0, sizeof(*error));
		error->line = error->column = -1;
		error->position = (int)buflen; /* json_loadb() keeps where it stopped: the end */
		strcpy(error->source, "<buffer>");
	}
	return v;
}
