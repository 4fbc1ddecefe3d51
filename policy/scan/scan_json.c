/*
 * A small streaming JSON walker for the scanner. jansson does not report
 * where a value is, so this walker reads the text once, keeps the JSON
 * pointer and the key context of the current value, and hands every string
 * (decoded, with a map back to raw offsets) and every number held by a
 * telling key to the matcher. No recursion: an explicit stack bounded by
 * BPG_SCAN_MAX_DEPTH. The commonest syntax errors are read as their obvious
 * repair (a trailing comma, a repeated comma, a missing comma between two
 * members or elements, brackets left open at the end), so the findings are
 * those of the repaired file; any other syntax error returns BPG_EINVALID
 * and the caller scans the text as plain text instead.
 */
#include "scan_internal.h"

#include "bpgate/util.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SCAN_JSON_SSE2 1
#endif

#define INHERIT (C_MAKE | C_AWS | C_NAME)
#define SPECIFIC_KEYS (C_SSN | C_DOB | C_DL | C_PASSPORT | C_BANK | C_MRN | C_PHONE | C_ITIN | \
	C_NHS | C_NPI | C_NINO | C_CARD | C_MBI)
/*
 * The key cache: text (keys, and short values of "name"-like keys) -> its
 * classes and the flags the walker asks of a key. A blueprint has a few
 * dozen distinct keys read hundreds of thousands of times, so a lookup must
 * cost less than a byte loop over the key: the text is held as zero-padded
 * 64-bit words, hashed and compared a word at a time.
 */
#define KCACHE_BITS 12
#define KCACHE_BITS_FIRST 7 /* 128 entries, 8 KiB */
#define KC_MAX 46
#define KC_WORDS 6

enum { KF_NAME = 1, KF_VALUE = 2, KF_TYPE = 4, KF_AT = 8, KF_PTRESC = 16, KF_CODE = 32,
	KF_TEXT = 64, KF_SYSTEM = 128 };

struct key_cache_ent {
	uint64_t w[KC_WORDS];
	uint32_t len; /* n + 1; 0: empty */
	unsigned cls;
	unsigned flags;
};

typedef struct {
	bool is_obj;
	size_t idx;
	size_t ptrlen;   /* pointer length of the container itself */
	unsigned inherit;
	unsigned keycls; /* classes of the key holding the container */
	unsigned sibling; /* classes named by a "name"/"key" member (for "value") */
	size_t type_owner; /* inside the "type" member of the object at this depth (0: not) */
	bool next_is_value_key;
} frame;

static int hexv(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

static long u4(const char *p)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexv(p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Decode raw string content [p, p+n) into s->scratch with s->map. */
static int decode(bpg_scanner *s, const char *p, size_t n, bpg_error *err)
{
	bpg_buf_clear(&s->scratch);
	if (n + 1 > s->map_cap) {
		uint32_t *m = realloc(s->map, (n + 1) * sizeof(*m));
		if (!m)
			return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		s->map = m;
		s->map_cap = n + 1;
	}
	if (bpg_buf_grow(&s->scratch, n + 1) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	for (size_t i = 0; i < n;) {
		size_t at = s->scratch.size;
		char out[4];
		size_t on = 1, adv = 1;
		if (p[i] != '\\') {
			out[0] = p[i];
		} else {
			char e = i + 1 < n ? p[i + 1] : 0;
			adv = 2;
			switch (e) {
			case 'n': out[0] = '\n'; break;
			case 't': out[0] = '\t'; break;
			case 'r': out[0] = '\r'; break;
			case 'b': out[0] = '\b'; break;
			case 'f': out[0] = '\f'; break;
			case '/': case '\\': case '"': case '\'': out[0] = e; break;
			case 'u': {
				long cp = i + 6 <= n ? u4(p + i + 2) : -1;
				if (cp < 0) { /* not JSON: the 'u' as itself */
					out[0] = 'u';
					break;
				}
				adv = 6;
				if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= n && p[i + 6] == '\\' &&
				    p[i + 7] == 'u') {
					long lo = u4(p + i + 8);
					if (lo >= 0xDC00 && lo <= 0xDFFF) {
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						adv = 12;
					}
				}
				if (cp >= 0xD800 && cp <= 0xDFFF)
					cp = '?';
				if (cp < 0x80) {
					out[0] = (char)cp;
				} else if (cp < 0x800) {
					out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 63)); on = 2;
				} else if (cp < 0x10000) {
					out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 63));
					out[2] = (char)(0x80 | (cp & 63)); on = 3;
				} else {
					out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 63));
					out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63)); on = 4;
				}
				break;
			}
			default: /* not JSON: read the escaped byte as itself */
				out[0] = e;
				if (i + 1 >= n)
					adv = 1;
				break;
			}
		}
		if (bpg_buf_put(&s->scratch, out, on) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		for (size_t k = 0; k < on; k++)
			s->map[at + k] = (uint32_t)i;
		i += adv;
	}
	s->map[s->scratch.size] = (uint32_t)n;
	return 0;
}

/* Bytes of w equal to the byte spread in rep: the high bit of each set. */
static uint64_t swar_eq(uint64_t w, uint64_t rep)
{
	uint64_t x = w ^ rep;
	return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}

/* End of the string whose opening quote is at p: index of the closing quote.
 * Eight bytes at a time until a quote or a backslash; only strings with a
 * backslash need the byte-by-byte walk. Raw control bytes are tolerated
 * (they are scanned like any other byte). */
static int string_end(const char *b, size_t len, size_t p, size_t *end, bool *esc)
{
	size_t i = p + 1;

	*esc = false;
#ifdef SCAN_JSON_SSE2
	/* sixteen bytes a step first: most strings end in the first one */
	for (; i + 16 <= len; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
		if (m) {
			i += (size_t)__builtin_ctz(m);
			if (b[i] == '"') {
				*end = i;
				return 0;
			}
			break;
		}
	}
#endif
	for (; i + 8 <= len; i += 8) {
		uint64_t w, m;
		memcpy(&w, b + i, 8);
		m = swar_eq(w, 0x2222222222222222ull) | swar_eq(w, 0x5c5c5c5c5c5c5c5cull);
		if (m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* the lowest flagged byte is exact (a false flag only follows a true one) */
			i += (size_t)__builtin_ctzll(m) / 8;
			if (b[i] == '"') {
				*end = i;
				return 0;
			}
#endif
			break;
		}
	}
	for (; i < len; i++) {
		if (b[i] == '"') {
			*end = i;
			return 0;
		}
		if (b[i] == '\\') {
			*esc = true;
			i++;
		}
	}
	return BPG_EINVALID;
}

/*
 * string_end() for a key, which also reads the key's cache words on the way
 * when it is short and has no escape: 1 then, 0 when only *end and *esc are
 * set, BPG_EINVALID when the string does not end.
 */
static int key_end(const char *b, size_t len, size_t p, size_t *end, bool *esc,
	uint64_t w[KC_WORDS])
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t i = p + 1;
	for (size_t k = 0; k < KC_WORDS && i + 8 <= len; k++, i += 8) {
		uint64_t x, m;
		memcpy(&x, b + i, 8);
		m = swar_eq(x, 0x2222222222222222ull) | swar_eq(x, 0x5c5c5c5c5c5c5c5cull);
		if (m) {
			size_t at = (size_t)__builtin_ctzll(m) / 8;
			if (b[i + at] != '"')
				break; /* an escape: the slow way */
			/* the words past the key's are not read (key_lookup_w() compares
			 * and stores (n + 7) / 8 words) */
			w[k] = at ? x & (((uint64_t)1 << (8 * at)) - 1) : 0;
			*end = i + at;
			*esc = false;
			return 1;
		}
		w[k] = x;
	}
#else
	(void)w;
#endif
	return string_end(b, len, p, end, esc) < 0 ? BPG_EINVALID : 0;
}

#define ID_CLASSES (C_MRN | C_SSN | C_DL | C_PASSPORT | C_NPI | C_MBI | C_BANK | C_MEDLIC | \
	C_NHS | C_NINO | C_ITIN)

static bool key_is(const char *k, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(k, lit, n) == 0;
}

/* HL7 v2 table 0203 identifier type codes (FHIR Identifier.type) that name
 * an entity: {"type": {"coding": [{"code": "MR"}]}, "value": "A10038475"}. */
static unsigned hl7_id_type(const char *v, size_t n)
{
	static const struct { const char *code; unsigned cls; } t[] = {
		{ "MR", C_MRN }, { "MRN", C_MRN }, { "SS", C_SSN }, { "DL", C_DL }, { "PPN", C_PASSPORT },
		{ "NPI", C_NPI }, { "MC", C_MBI }, { "BA", C_BANK }, { "MD", C_MEDLIC }, { "DEA", C_MEDLIC },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (key_is(v, n, t[i].code))
			return t[i].cls;
	return 0;
}

/*
 * An identifier object says what its "value" is through its siblings: the
 * type code or text ("MR", "Medical record number") anywhere under "type",
 * or the words of "system" (".../mrn", ".../us-ssn"). Those classes are
 * given to the "value" member like a "name" member's are.
 */
static void identifier_context(frame *st, size_t depth, unsigned kflags, const char *v, size_t n)
{
	size_t owner = st[depth].type_owner;
	if (n == 0 || n > 64)
		return;
	if (owner && (kflags & KF_CODE))
		st[owner].sibling |= hl7_id_type(v, n);
	else if (owner && (kflags & KF_TEXT))
		st[owner].sibling |= scan_words_classes(v, n, false) & ID_CLASSES;
	else if (kflags & KF_SYSTEM)
		st[depth].sibling |= scan_words_classes(v, n, false) & ID_CLASSES;
}

static bool is_name_key(const char *k, size_t n)
{
	static const char *names[] = { "name", "key", "header", "field", "parameter", "label" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
			return true;
	return false;
}

/* The flags of a key (its raw text, escapes not decoded). */
static unsigned key_flags(const char *k, size_t n)
{
	unsigned f = 0;
	if (is_name_key(k, n))
		f |= KF_NAME;
	if (key_is(k, n, "value"))
		f |= KF_VALUE;
	if (key_is(k, n, "type"))
		f |= KF_TYPE;
	if (key_is(k, n, "code"))
		f |= KF_CODE;
	if (key_is(k, n, "text"))
		f |= KF_TEXT;
	if (key_is(k, n, "system"))
		f |= KF_SYSTEM;
	if (memchr(k, '@', n))
		f |= KF_AT;
	if (memchr(k, '~', n) || memchr(k, '/', n))
		f |= KF_PTRESC;
	return f;
}

/* k[0, n) as zero-padded words; `avail` bytes can be read from k (the
 * input goes on after the key), so usually whole words are loaded and
 * masked rather than copied byte by byte. */
static void key_words(uint64_t w[KC_WORDS], const char *k, size_t n, size_t avail)
{
	size_t nw = (n + 7) / 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (avail >= nw * 8) {
		for (size_t i = 0; i < KC_WORDS; i++)
			w[i] = 0;
		for (size_t i = 0; i < nw; i++)
			memcpy(&w[i], k + 8 * i, 8);
		if (n % 8)
			w[nw - 1] &= ((uint64_t)1 << (8 * (n % 8))) - 1;
		return;
	}
#endif
	(void)avail;
	{
		unsigned char t[KC_WORDS * 8] = { 0 };
		memcpy(t, k, n);
		memcpy(w, t, sizeof(t));
	}
}

/* The cache entry of k[0, n) (n <= KC_MAX) whose words are w, filled on a
 * miss; NULL without memory. */
static const struct key_cache_ent *key_lookup_w(bpg_scanner *s, const uint64_t w[KC_WORDS],
	const char *k, size_t n)
{
	uint64_t h = n;
	size_t nw = (n + 7) / 8;
	struct key_cache_ent *e;
	bool same;

	/* A memo (a miss computes the same answer): small first, so that a scan of a few
	 * small files does not zero and fault in the whole table (256 KiB); the full size
	 * once the keys seen outnumber it (issue #20). */
	if (!s->kcache || (s->kcache_bits < KCACHE_BITS && s->kcache_misses > ((size_t)2 << s->kcache_bits))) {
		unsigned bits = s->kcache ? KCACHE_BITS : KCACHE_BITS_FIRST;
		struct key_cache_ent *t = calloc((size_t)1 << bits, sizeof(*t));
		if (!t)
			return NULL; /* the caller computes the answer */
		free(s->kcache);
		s->kcache = t;
		s->kcache_bits = bits;
		s->kcache_misses = 0;
	}
	/* the first and last words and the length tell keys apart well enough */
	if (nw)
		h = (h ^ w[0] ^ w[nw - 1] << 1) * 0x9E3779B97F4A7C15ull;
	e = &s->kcache[h >> (64 - s->kcache_bits)]; /* the top bits mix every input bit */
	same = e->len == n + 1;
	for (size_t i = 0; same && i < nw; i++)
		same = e->w[i] == w[i];
	if (same)
		return e;
	s->kcache_misses++;
	for (size_t i = 0; i < KC_WORDS; i++)
		e->w[i] = i < nw ? w[i] : 0;
	e->len = (uint32_t)(n + 1);
	e->cls = scan_words_classes(k, n, true);
	e->flags = key_flags(k, n);
	return e;
}

static const struct key_cache_ent *key_lookup(bpg_scanner *s, const char *k, size_t n,
	size_t avail)
{
	uint64_t w[KC_WORDS];
	key_words(w, k, n, avail);
	return key_lookup_w(s, w, k, n);
}

static unsigned key_classes(bpg_scanner *s, const char *k, size_t n, size_t avail)
{
	const struct key_cache_ent *e = n <= KC_MAX ? key_lookup(s, k, n, avail) : NULL;
	return e ? e->cls : scan_words_classes(k, n, true);
}

static int scan_string_value(scan_ctx *c, size_t p, size_t end, bool esc, bpg_error *err)
{
	bpg_scanner *s = c->s;
	const char *raw = c->base + p + 1;
	size_t n = end - p - 1;
	int rc;

	c->pointer = s->ptr.ptr ? s->ptr.ptr : "";
	if (esc && n < ((size_t)16 << 20)) {
		if ((rc = decode(s, raw, n, err)) < 0)
			return rc;
		return scan_windows(c, s->scratch.ptr, s->scratch.size, p + 1, s->map, true, err);
	}
	if (n <= BPG_SCAN_WINDOW + BPG_SCAN_OVERLAP) {
		/* one window (nearly every string): scan_windows()' one round
		 * without its loop */
		c->seg = raw;
		c->seg_len = n;
		c->seg_raw = p + 1;
		c->map = NULL;
		c->seg_lo = c->base;
		c->accept_end = n + 1;
		if ((rc = scan_segment(c, err)) < 0 || (rc = scan_key_rules(c, err)) < 0 ||
		    (s->npend && (rc = scan_flush(c, err)) < 0)) {
			s->npend = 0;
			return rc;
		}
		if (c->release && c->seg_raw - c->released > ((size_t)16 << 20)) {
			scan_advance(c, c->seg_raw);
			c->release(c->release_arg, c->seg_raw);
			c->released = c->seg_raw;
		}
		return 0;
	}
	return scan_windows(c, raw, n, p + 1, NULL, true, err);
}

/* The text of a comment in a JSON file, scanned like a string without a key. */
static int scan_comment(scan_ctx *c, size_t p, size_t e, bpg_error *err)
{
	unsigned ks = c->keyself, kc = c->keyctx;
	int rc;
	c->keyself = c->keyctx = 0;
	rc = e > p + 2 ? scan_string_value(c, p + 1, e, false, err) : 0;
	c->keyself = ks;
	c->keyctx = kc;
	return rc;
}

/* "/" and the key (no '~' or '/' in it): bpg_buf_putc() then bpg_buf_put(),
 * inline when the room is there (it is, after the first few keys). */
static int ptr_put_key(bpg_buf *ptr, const char *k, size_t n)
{
	int rc;
	if (ptr->ptr && ptr->asize - ptr->size >= n + 2 &&
	    ptr->size + n + 1 <= (ptr->max ? ptr->max : BPG_BUF_DEFAULT_MAX)) {
		ptr->ptr[ptr->size] = '/';
		memcpy(ptr->ptr + ptr->size + 1, k, n);
		ptr->size += n + 1;
		ptr->ptr[ptr->size] = '\0';
		return 0;
	}
	if ((rc = bpg_buf_putc(ptr, '/')) == 0)
		rc = bpg_buf_put(ptr, k, n);
	return rc;
}

/* ptr_put_key() for a key whose zero-padded words key_end() has read: word
 * stores instead of a memcpy() call of a variable length. */
static int ptr_put_key_w(bpg_buf *ptr, const char *k, size_t n, const uint64_t w[KC_WORDS])
{
	size_t nw = (n + 7) / 8;
	if (ptr->ptr && ptr->asize - ptr->size >= (nw ? nw : 1) * 8 + 2 &&
	    ptr->size + n + 1 <= (ptr->max ? ptr->max : BPG_BUF_DEFAULT_MAX)) {
		char *d = ptr->ptr + ptr->size;
		d[0] = '/';
		/* unrolled: a loop here is turned into a memcpy() call again */
		memcpy(d + 1, &w[0], 8); /* w[0] is set even for an empty key */
		if (nw > 1) memcpy(d + 9, &w[1], 8);
		if (nw > 2) memcpy(d + 17, &w[2], 8);
		if (nw > 3) memcpy(d + 25, &w[3], 8);
		if (nw > 4) memcpy(d + 33, &w[4], 8);
		if (nw > 5) memcpy(d + 41, &w[5], 8);
		ptr->size += n + 1;
		ptr->ptr[ptr->size] = '\0';
		return 0;
	}
	return ptr_put_key(ptr, k, n);
}

/* "/<index>" without printf: it runs for every array element. */
static void set_index_pointer(bpg_scanner *s, frame *f)
{
	char d[24];
	size_t n = sizeof(d), idx = f->idx;

	s->ptr.size = f->ptrlen;
	do {
		d[--n] = (char)('0' + idx % 10);
		idx /= 10;
	} while (idx);
	d[--n] = '/';
	if (bpg_buf_put(&s->ptr, d + n, sizeof(d) - n) < 0 && s->ptr.ptr)
		s->ptr.ptr[s->ptr.size] = '\0';
}

/* Bytes that can continue a JSON number. */
static bool num_char(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-';
}

enum { S_VALUE, S_VALUE_OR_END, S_KEY_OR_END, S_KEY, S_AFTER };

/*
 * Tolerant reading (issue #19): a file with a syntax error keeps its strings
 * and their keys. Besides the comma repairs above: a missing colon, strings
 * and keys in single quotes, unquoted keys, stray bytes (skipped), comments
 * (their text is scanned as text), a string left open at the end of the
 * file, a file cut short anywhere, a missing value, and a closer or comma
 * too many after the document (a second document, as in JSON lines, still
 * makes the file text, as before). These repairs run only where a valid document has
 * no byte, so valid JSON is read as before. More than SCAN_JSON_MAX_REPAIRS
 * of them (a run of stray bytes counts once) and the text is not JSON after
 * all: BPG_EINVALID, and the caller scans it as text.
 */
#define SCAN_JSON_MAX_REPAIRS 8

struct tolerance {
	unsigned repairs;  /* syntax errors read as their repair */
	size_t stray_end;  /* end of the last run of stray bytes */
};

#if defined(__GNUC__)
#define TOL_COLD __attribute__((noinline, cold))
#else
#define TOL_COLD
#endif

/* One more repair; false past SCAN_JSON_MAX_REPAIRS. */
static TOL_COLD bool tol_repaired(struct tolerance *t)
{
	return ++t->repairs <= SCAN_JSON_MAX_REPAIRS;
}

/* Stray bytes [p, e): one repair unless they continue the last run. */
static TOL_COLD bool tol_stray(struct tolerance *t, size_t p, size_t e)
{
	bool ok = p == t->stray_end || tol_repaired(t);
	t->stray_end = e;
	return ok;
}

static bool ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '$';
}

static bool ident_char(char ch)
{
	return ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '-';
}

/* The index after a comment that starts at p ("//" to the end of the line,
 * or a block comment, which runs to the end of the text when left open),
 * or 0 when no comment starts at p. */
static size_t comment_end(const char *b, size_t len, size_t p)
{
	if (p + 1 >= len || b[p] != '/')
		return 0;
	if (b[p + 1] == '/') {
		const char *nl = memchr(b + p + 2, '\n', len - p - 2);
		return nl ? (size_t)(nl - b) : len;
	}
	if (b[p + 1] == '*') {
		for (size_t i = p + 2; i + 1 < len; i++)
			if (b[i] == '*' && b[i + 1] == '/')
				return i + 2;
		return len;
	}
	return 0;
}

/* string_end() for a string in single quotes. */
static int sq_end(const char *b, size_t len, size_t p, size_t *end, bool *esc)
{
	*esc = false;
	for (size_t i = p + 1; i < len; i++) {
		if (b[i] == '\'') {
			*end = i;
			return 0;
		}
		if (b[i] == '\\') {
			*esc = true;
			i++;
		}
	}
	return BPG_EINVALID;
}

/* The end of a string opened at p by '"' or '\'': a string left open runs to
 * the end of the text (a file cut short inside a string). */
static size_t any_string_end(const char *b, size_t len, size_t p, bool *esc)
{
	size_t end;
	if ((b[p] == '"' ? string_end(b, len, p, &end, esc) : sq_end(b, len, p, &end, esc)) < 0) {
		*esc = memchr(b + p + 1, '\\', len - p - 1) != NULL;
		end = len;
	}
	return end;
}

int scan_json(scan_ctx *c, bpg_error *err)
{
	bpg_scanner *s = c->s;
	const char *b = c->base;
	size_t len = c->len, p = 0, depth = 0;
	frame *st = NULL;
	int state = S_VALUE, rc = 0;
	unsigned keyself = 0, keyctx = 0;
	bool value_key = false;
	bool have_key = false;
	bool release = c->release != NULL;
	unsigned kflags = 0; /* KF_* of the last key */
	/* kept in memory (its address is taken) so that the repairs cost the
	 * walk of valid JSON no register */
	struct tolerance tol = { 0, (size_t)-1 };
#define REPAIRED() do { \
		if (!tol_repaired(&tol)) { \
			rc = BPG_EINVALID; \
			goto done; \
		} \
	} while (0)
#define STRAY() do { \
		if (!tol_stray(&tol, p, p + 1)) { \
			rc = BPG_EINVALID; \
			goto done; \
		} \
		p++; \
	} while (0)

	bpg_buf_clear(&s->ptr);
	if (bpg_buf_puts(&s->ptr, "") < 0 ||
	    !(st = calloc(BPG_SCAN_MAX_DEPTH + 1, sizeof(*st)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		goto done;
	}
	if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		p = 3;
	c->in_json = true;
	for (;;) {
		if (p < len && (unsigned char)b[p] <= ' ') /* minified JSON has no blanks */
			while (p < len && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t'))
				p++;
		if (release && p - c->released > ((size_t)16 << 20)) {
			scan_advance(c, p);
			c->release(c->release_arg, p);
			c->released = p;
		}
		if (p >= len) {
			/* a document cut short anywhere (unclosed brackets, a
			 * missing last value) is read as if it were closed */
			rc = (state == S_AFTER || depth > 0) ? 0 : BPG_EINVALID;
			goto done;
		}
		switch (state) {
		case S_VALUE_OR_END:
			if (b[p] == ']') {
				depth--;
				p++;
				state = S_AFTER;
				break;
			}
			set_index_pointer(s, &st[depth]);
			keyself = st[depth].keycls;
			keyctx = st[depth].inherit;
			state = S_VALUE;
			/* fall through */
		case S_VALUE: {
			char ch = b[p];
			if (ch == '{' || ch == '[') {
				frame *f;
				if (depth == BPG_SCAN_MAX_DEPTH) {
					rc = BPG_EINVALID;
					goto done;
				}
				f = &st[++depth];
				memset(f, 0, sizeof(*f));
				f->is_obj = ch == '{';
				f->ptrlen = s->ptr.size;
				f->inherit = keyctx | (keyself & INHERIT);
				f->keycls = keyself;
				f->type_owner = st[depth - 1].type_owner;
				if (st[depth - 1].is_obj && have_key && (kflags & KF_TYPE))
					f->type_owner = depth - 1;
				p++;
				state = f->is_obj ? S_KEY_OR_END : S_VALUE_OR_END;
			} else if (ch == '"') {
				size_t end;
				bool esc;
				if (string_end(b, len, p, &end, &esc) < 0) {
			tolerant_string: /* in single quotes, or left open at the end */
					end = any_string_end(b, len, p, &esc);
					REPAIRED();
				}
				/* a "value" member takes its sibling's classes, but is no name key itself */
				c->keyself = value_key ? (keyself | st[depth].sibling) &
					~(unsigned)(C_SOLEWORD | C_NAMEWORD) : keyself;
				c->keyctx = keyctx;
				if ((rc = scan_string_value(c, p, end, esc, err)) < 0)
					goto done;
				if (depth > 0 && st[depth].is_obj && have_key && (kflags & KF_NAME) &&
				    end - p - 1 < 64)
					st[depth].sibling = key_classes(s, b + p + 1, end - p - 1, len - p - 1);
				else if (depth > 0 && st[depth].is_obj && have_key && !esc &&
				         (kflags & (KF_CODE | KF_TEXT | KF_SYSTEM)))
					identifier_context(st, depth, kflags, b + p + 1, end - p - 1);
				p = end + 1; /* past len for a string left open: the end */
				state = S_AFTER;
			} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
				size_t q = p + 1;
				while (q < len && num_char(b[q]))
					q++;
				if ((keyself | keyctx) & SPECIFIC_KEYS) {
					c->keyself = keyself;
					c->keyctx = keyctx;
					c->json_number = true;
					c->pointer = s->ptr.ptr;
					rc = scan_windows(c, b + p, q - p, p, NULL, false, err);
					c->json_number = false;
					if (rc < 0)
						goto done;
				}
				p = q;
				state = S_AFTER;
			} else if (len - p >= 4 && (memcmp(b + p, "true", 4) == 0 || memcmp(b + p, "null", 4) == 0)) {
				p += 4;
				state = S_AFTER;
			} else if (len - p >= 5 && memcmp(b + p, "false", 5) == 0) {
				p += 5;
				state = S_AFTER;
			} else {
				size_t e = comment_end(b, len, p);
				if (ch == '\'')
					goto tolerant_string;
				if (e) {
					REPAIRED();
					if ((rc = scan_comment(c, p, e, err)) < 0)
						goto done;
					p = e;
				} else if (depth > 0 && (ch == ',' || ch == (st[depth].is_obj ? '}' : ']'))) {
					REPAIRED(); /* a missing value: read as null */
					state = S_AFTER;
				} else {
					STRAY();
				}
			}
			break;
		}
		case S_KEY_OR_END:
			if (b[p] == '}') {
				depth--;
				p++;
				state = S_AFTER;
				break;
			}
			/* fall through */
		case S_KEY: {
			size_t end, q, kn;
			bool esc;
			frame *f = &st[depth];
			const char *key;
			const struct key_cache_ent *ke;
			uint64_t w[KC_WORDS];
			int kw;
			size_t kp = p, after; /* the key's opening quote (or the byte before it), the byte after it */
			if (b[p] == '"' && (kw = key_end(b, len, p, &end, &esc, w)) >= 0) {
				after = end + 1;
			} else if (b[p] == '"' || b[p] == '\'') {
				REPAIRED(); /* a key in single quotes, or left open at the end */
				end = any_string_end(b, len, p, &esc);
				after = end + 1;
				kw = 0;
			} else if (ident_start(b[p])) {
				size_t r;
				for (end = p; end < len && ident_char(b[end]); end++)
					;
				for (r = end; r < len && (b[r] == ' ' || b[r] == '\n' || b[r] == '\r' || b[r] == '\t'); r++)
					;
				if (r < len && b[r] != ':') { /* no colon after it: stray bytes */
					if (!tol_stray(&tol, p, end)) {
						rc = BPG_EINVALID;
						goto done;
					}
					p = end;
					break;
				}
				REPAIRED(); /* an unquoted key */
				kp = p - 1;
				after = end;
				esc = false;
				kw = 0;
			} else {
				size_t e = comment_end(b, len, p);
				if (e) {
					REPAIRED();
					if ((rc = scan_comment(c, p, e, err)) < 0)
						goto done;
					p = e;
				} else if (b[p] == ',') {
					REPAIRED();
					p++;
				} else if (b[p] == '}') {
					p++;
					depth--;
					state = S_AFTER;
				} else {
					STRAY();
				}
				break;
			}
			s->ptr.size = f->ptrlen;
			if (s->ptr.ptr)
				s->ptr.ptr[s->ptr.size] = '\0';
			key = b + kp + 1;
			kn = end - kp - 1;
			have_key = true;
			ke = NULL;
			if (kw == 1 && kn <= KC_MAX)
				ke = key_lookup_w(s, w, key, kn);
			else if (!esc && kn <= KC_MAX)
				ke = key_lookup(s, key, kn, len - kp - 1);
			kflags = ke ? ke->flags : key_flags(key, kn);
			if (esc) {
				if ((rc = decode(s, key, kn, err)) < 0)
					goto done;
				rc = bpg_jsonptr_push(&s->ptr, s->scratch.ptr, s->scratch.size);
				keyself = scan_words_classes(s->scratch.ptr, s->scratch.size, true);
			} else {
				if (kflags & KF_PTRESC)
					rc = bpg_jsonptr_push(&s->ptr, key, kn);
				else if (kw == 1)
					rc = ptr_put_key_w(&s->ptr, key, kn, w);
				else
					rc = ptr_put_key(&s->ptr, key, kn);
				keyself = ke ? ke->cls : scan_words_classes(key, kn, true);
			}
			if (rc < 0) {
				rc = bpg_error_set(err, rc, "scan: JSON pointer too long");
				goto done;
			}
			value_key = (kflags & KF_VALUE) != 0;
			keyctx = f->inherit;
			if (kflags & KF_AT) {
				c->keyself = 0;
				c->keyctx = keyctx;
				if ((rc = scan_string_value(c, kp, end, esc, err)) < 0)
					goto done;
			}
			q = after;
			while (q < len && (b[q] == ' ' || b[q] == '\n' || b[q] == '\r' || b[q] == '\t'))
				q++;
			if (q < len && b[q] != ':') {
				/* a stray byte before the colon, or a missing colon */
				size_t r = q + 1;
				REPAIRED();
				while (r < len && (b[r] == ' ' || b[r] == '\n' || b[r] == '\r' || b[r] == '\t'))
					r++;
				if (r < len && b[r] == ':' && b[q] != '"' && b[q] != '\'') {
					q = r;
				} else {
					p = q;
					state = S_VALUE;
					break;
				}
			}
			p = q + 1; /* past len when the file ends here */
			state = S_VALUE;
			break;
		}
		case S_AFTER:
			if (depth == 0) {
				size_t e = comment_end(b, len, p);
				if (e) {
					REPAIRED();
					if ((rc = scan_comment(c, p, e, err)) < 0)
						goto done;
					p = e;
				} else if (b[p] == '}' || b[p] == ']' || b[p] == ',' || b[p] == ';') {
					STRAY(); /* a closer too many, a stray comma */
				} else {
					/* more text after the document: another document (JSON
					 * lines, whose findings and fingerprints stay those of
					 * text) or no JSON at all */
					rc = BPG_EINVALID;
					goto done;
				}
				break;
			}
			if (b[p] == ',' && p + 1 < len && b[p + 1] == '"') { /* the common case */
				p++;
				if (st[depth].is_obj) {
					state = S_KEY;
				} else {
					st[depth].idx++;
					state = S_VALUE_OR_END;
				}
			} else if (b[p] == ',') {
				/* Tolerated like the obvious repair, so a file with one bad
				 * comma gives the findings of its repaired copy: repeated
				 * commas count once, a comma before the closer is dropped. */
				size_t q = p + 1;
				for (;;) {
					while (q < len && (b[q] == ' ' || b[q] == '\n' || b[q] == '\r' || b[q] == '\t'))
						q++;
					if (q < len && b[q] == ',')
						q++;
					else
						break;
				}
				if (q < len && b[q] == (st[depth].is_obj ? '}' : ']')) {
					p = q + 1;
					depth--;
					break;
				}
				p = q;
				if (st[depth].is_obj) {
					state = S_KEY;
				} else {
					st[depth].idx++;
					state = S_VALUE_OR_END;
				}
			} else if (b[p] == (st[depth].is_obj ? '}' : ']')) {
				p++;
				depth--;
			} else if (st[depth].is_obj ? (b[p] == '"' || b[p] == '\'') : (b[p] == '"' || b[p] == '\'' || b[p] == '{' ||
			           b[p] == '[' || b[p] == '-' || (b[p] >= '0' && b[p] <= '9') ||
			           b[p] == 't' || b[p] == 'f' || b[p] == 'n')) {
				/* a missing comma between two members or elements */
				if (st[depth].is_obj) {
					state = S_KEY;
				} else {
					st[depth].idx++;
					state = S_VALUE_OR_END;
				}
			} else {
				size_t e = comment_end(b, len, p);
				if (e) {
					REPAIRED();
					if ((rc = scan_comment(c, p, e, err)) < 0)
						goto done;
					p = e;
				} else {
					STRAY();
				}
			}
			break;
		}
	}
#undef STRAY
#undef REPAIRED
done:
	c->in_json = false;
	c->pointer = NULL;
	c->keyself = c->keyctx = 0;
	free(st);
	return rc;
}
