/*
 * What a run of digits, or an identifier with letters, is: the shape
 * (group lengths and separators), the checksums and the context decide.
 * A token can be several things at once (a 10-digit run can be an NPI, an
 * NHS number or a phone number); the order below prefers the check that
 * is strongest.
 */
#include "scan_internal.h"

#include <ctype.h>
#include <string.h>

#define A_ALNUM_C(ch) (isalnum((unsigned char)(ch)) != 0)
#define SPECIFIC (C_SSN | C_DOB | C_DL | C_PASSPORT | C_BANK | C_MRN | C_PHONE | C_ITIN | \
	C_NHS | C_NPI | C_NINO | C_CARD | C_MBI)

typedef struct {
	char d[24];      /* the digits */
	size_t nd;
	size_t ngroups;
	size_t glen[16]; /* digits per group */
	char sep[16];    /* separator after group i */
	bool plus, paren;
	bool mixed;      /* more than one kind of separator */
} numtok;

static bool parse_num(numtok *t, const char *s, size_t n)
{
	size_t cur = 0;
	char first_sep = 0;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (isdigit((unsigned char)ch)) {
			if (t->nd == sizeof(t->d) - 1 || t->ngroups == 16)
				return false;
			t->d[t->nd++] = ch;
			cur++;
		} else {
			if (ch == '+')
				t->plus = true;
			else if (ch == '(' || ch == ')')
				t->paren = true;
			if (cur > 0) {
				if (t->ngroups == 16)
					return false;
				t->sep[t->ngroups] = ch;
				t->glen[t->ngroups++] = cur;
				cur = 0;
				if (ch != '(' && ch != ')') {
					if (first_sep && ch != first_sep)
						t->mixed = true;
					first_sep = first_sep ? first_sep : ch;
				}
			}
		}
	}
	if (cur > 0 && t->ngroups < 16)
		t->glen[t->ngroups++] = cur;
	t->d[t->nd] = '\0';
	return t->nd > 0;
}

static bool shape(const numtok *t, size_t a, size_t b, size_t c)
{
	return t->ngroups == 3 && t->glen[0] == a && t->glen[1] == b && t->glen[2] == c;
}

static bool shape4(const numtok *t, size_t a, size_t b, size_t c, size_t d)
{
	return t->ngroups == 4 && t->glen[0] == a && t->glen[1] == b && t->glen[2] == c && t->glen[3] == d;
}

static bool nanp(const char *d)
{
	return d[0] >= '2' && d[3] >= '2' && !(d[1] == '1' && d[2] == '1');
}

/* Issuer ranges (ISO/IEC 7812 IINs): Visa 4, Mastercard 51-55 and 2221-2720,
 * Mir 2200-2204, Amex 34/37, JCB 35, Diners 30/36/38, Discover/UnionPay/RuPay/
 * Elo/Maestro 5 and 6, UATP 1 (15 digits), Troy 9792, and RuPay 81/82. */
static bool card_prefix(const char *d, size_t nd)
{
	int p2 = (d[0] - '0') * 10 + (d[1] - '0');
	if (nd < 13) /* only Maestro issues 12-digit numbers */
		return p2 == 50 || (p2 >= 56 && p2 <= 69);
	if (d[0] == '1')
		return nd == 15;
	if (memcmp(d, "9792", 4) == 0 || p2 == 81 || p2 == 82)
		return nd == 16;
	if (d[0] == '4' || d[0] == '6' || (p2 >= 50 && p2 <= 55))
		return true;
	if (p2 == 34 || p2 == 37)
		return nd == 15;
	if (p2 == 35 || p2 == 36 || p2 == 38 || p2 == 30)
		return nd >= 14;
	if (p2 >= 22 && p2 <= 27)
		return nd == 16;
	return p2 >= 56 && p2 <= 58;
}

/*
 * A national or 00-prefixed phone number written the way numbering plans
 * group them, without a telling word: a trunk prefix 0 then a non-zero digit
 * (DE, FR, UK, NL, BE, CH, AT, IT fixed, SE, TR, ZA, AU, JP, IE, ... national
 * significant numbers of 8 to 11 digits after the 0), in 2 to 5 groups whose
 * first holds the trunk 0 and the area/mobile prefix (2 to 5 digits) and the
 * others 2 to 8 digits; "00" + country code with 11 to 15 digits; Brazil's
 * (DD) NNNN-NNNN. Blanks, dashes, dots, or one dash then blanks (SE 070-123
 * 45 67). Not when a code with digits goes on before it on the same line
 * ("AA1 01 2345 6784": a longer identifier).
 */
static bool national_phone(const scan_ctx *c, size_t at, size_t n, const numtok *t)
{
	bool seps_ok = !t->mixed;
	if (t->mixed) { /* a dash, then only blanks */
		seps_ok = t->sep[0] == '-';
		for (size_t i = 1; i + 1 < t->ngroups; i++)
			seps_ok &= t->sep[i] == ' ';
	}
	if (!seps_ok || t->plus || t->ngroups < 2 || t->ngroups > 5 || shape(t, 3, 2, 4))
		return false; /* 3-2-4 is the SSN layout, no numbering plan's */
	if (at + n + 1 < c->seg_len && c->seg[at + n] == ' ' &&
	    (unsigned)(c->seg[at + n + 1] - '0') < 10)
		return false; /* more digit groups follow: a longer number */
	if (at >= 2 && c->seg[at - 1] == ' ') { /* "AA1 01 2345 6784": part of a longer code */
		size_t b = at - 1;
		bool digit = false;
		while (b > 0 && A_ALNUM_C(c->seg[b - 1]))
			digit |= (unsigned)(c->seg[--b] - '0') < 10;
		if (digit && b < at - 1)
			return false;
	}
	if (t->paren) /* (11) 2345-6789, (11) 96123-4567 */
		return t->glen[0] == 2 && t->d[0] != '0' && (t->nd == 10 || t->nd == 11) &&
			t->ngroups == 3 && t->glen[2] == 4;
	if (t->d[0] != '0')
		return false;
	for (size_t i = 1; i < t->ngroups; i++)
		if (t->glen[i] < 2 || t->glen[i] > 8)
			return false;
	if (t->d[1] == '0') /* 00 + country code */
		return t->nd >= 11 && t->nd <= 15 && scan_phone_cc_plan(t->d + 2, t->nd - 2) != 0 &&
			((t->glen[0] >= 4 && t->glen[0] <= 5) || (t->glen[0] == 2 && t->ngroups >= 3));
	return t->nd >= 9 && t->nd <= 12 && t->glen[0] >= 2 && t->glen[0] <= 5;
}

/* A currency next to the number at [at, at+n): an amount, not a phone
 * ("1 234 567,89 EUR", "$ 512 345 678", "512 345 678 zł"). */
static bool amount_near(const scan_ctx *c, size_t at, size_t n)
{
	const char *s = c->seg;
	size_t e = at + n, len = c->seg_len;
	static const char *const cur[] = { "EUR", "USD", "GBP", "CHF", "PLN", "CZK", "SEK", "DKK",
		"BRL", "MXN", "INR", "TRY", "ILS", "AUD", "CAD", "ARS", "COP", "\xE2\x82\xAC", "z\xC5\x82",
		"K\xC4\x8D", "kr", "R$", "$", "\xC2\xA3", "\xE2\x82\xB9", "\xE2\x82\xBA", "\xE2\x82\xAA" };
	if (e + 1 < len && (s[e] == ',' || s[e] == '.') && (unsigned)(s[e + 1] - '0') < 10)
		return true; /* decimals */
	for (size_t i = 0; i < sizeof(cur) / sizeof(cur[0]); i++) {
		size_t k = strlen(cur[i]);
		size_t a = e + (e < len && s[e] == ' ');
		if (a + k <= len && memcmp(s + a, cur[i], k) == 0)
			return true;
		a = at - (at > 0 && s[at - 1] == ' ');
		if (a >= k && memcmp(s + a - k, cur[i], k) == 0)
			return true;
	}
	return false;
}

/*
 * A national number written without its trunk prefix, grouped the way its
 * plan's country writes it (no telling word needed): 3-2-2-2 (ES 612 34 56
 * 78), 3-3-3 (ES, PL, PT, CZ: 512 345 678), 2-3-2-2 (PL fixed 22 568 71 10),
 * 2-2-2-2 (DK 34 51 62 46), blanks or dashes, first digit 2-9, no currency
 * or decimals beside it, and no more digit groups around it.
 */
static bool grouped_national(const scan_ctx *c, size_t at, size_t n, const numtok *t)
{
	if (t->mixed || t->plus || t->paren || t->d[0] < '2' || (t->sep[0] != ' ' && t->sep[0] != '-'))
		return false;
	if (!(t->nd == 9 && (shape4(t, 3, 2, 2, 2) || shape(t, 3, 3, 3) || shape4(t, 2, 3, 2, 2))) &&
	    !(t->nd == 8 && shape4(t, 2, 2, 2, 2)))
		return false;
	if (at + n + 1 < c->seg_len && (c->seg[at + n] == ' ' || c->seg[at + n] == '-') &&
	    (unsigned)(c->seg[at + n + 1] - '0') < 10)
		return false; /* more digit groups follow: a longer number */
	if (at >= 2 && (c->seg[at - 1] == ' ' || c->seg[at - 1] == '-') &&
	    (unsigned)(c->seg[at - 2] - '0') < 10)
		return false;
	return !amount_near(c, at, n);
}

/* Classify the digits of [s, s+n) at segment offset `at`; 1 when something was emitted. */
static int classify(scan_ctx *c, size_t at, size_t n, unsigned ctx, bpg_error *err)
{
	const char *s = c->seg + at;
	numtok t;
	bool sep;
	int rc = 0;
#define EMIT(rule, syn) do { rc = scan_emit(c, rule, at, n, syn, err); return rc < 0 ? rc : 1; } while (0)

	if (!parse_num(&t, s, n) || t.nd < 7)
		return 0;
	sep = t.ngroups > 1;
	if (v_repetitive(t.d, t.nd) && !v_test_card(t.d))
		return 0;

	if (t.nd == 9 && !t.plus && !t.paren) {
		bool ssn_shape = shape(&t, 3, 2, 4) && !t.mixed;
		int kind = v_ssn(t.d);
		if (kind == 2 && (sep || (ctx & (C_ITIN | C_SSN))))
			EMIT(R_US_ITIN, false);
		if (kind == 1 && !(ctx & (C_PASSPORT | C_BANK | C_MRN | C_DL)) &&
		    (ssn_shape || (!sep && (ctx & C_SSN))))
			EMIT(R_US_SSN, false);
	}
	if (t.nd == 10 && !t.plus && !(ctx & C_PHONE) && (!sep || shape(&t, 3, 3, 4) ||
	    shape(&t, 4, 3, 3))) {
		if (v_npi(t.d) && !(ctx & C_NHS))
			EMIT(R_US_NPI, false);
		if (v_nhs(t.d) && !t.paren)
			EMIT(R_UK_NHS, false);
	}
	if (t.nd >= 9 && !sep && v_sequential(t.d, t.nd))
		return 0; /* 123456789, 0123456789: placeholders */
	/* phones */
	{
		bool phone = false, synth = false;
		const char *d10 = t.nd == 11 && t.d[0] == '1' ? t.d + 1 : t.d;
		size_t n10 = t.nd == 11 && t.d[0] == '1' ? 10 : t.nd;
		if (t.plus && t.nd >= 8 && t.nd <= 15)
			phone = scan_phone_cc_plan(t.d, t.nd) != 0; /* a known country's plan, or any other */
		else if (n10 == 10 && nanp(d10) && !t.mixed && ((ctx & C_PHONE) || shape(&t, 3, 3, 4) ||
		    (t.paren && t.glen[0] == 3) || (t.ngroups == 2 && t.glen[0] == 3) ||
		    (t.ngroups == 4 && t.glen[0] == 1 && t.glen[1] == 3)))
			phone = true;
		else if (national_phone(c, at, n, &t))
			phone = true; /* national format: 030 12345678, 06 12 34 56 78, (11) 2345-6789 */
		else if (!t.plus && grouped_national(c, at, n, &t))
			phone = true; /* 612 34 56 78, 512 345 678, 34 51 62 46 */
		else if ((ctx & C_PHONE) && t.nd >= 7 && t.nd <= 15 && !(ctx & C_IDLIKE))
			phone = true;
		if (phone) {
			if (n10 == 10 && memcmp(d10 + 3, "55501", 5) == 0)
				synth = true;
			if (t.plus && t.nd == 11 && t.d[0] == '1' && memcmp(t.d + 4, "55501", 5) == 0)
				synth = true;
			EMIT(R_PHONE, synth);
		}
	}
	if (t.nd >= 12 && t.nd <= 19 && !t.plus && !t.paren && card_prefix(t.d, t.nd) &&
	    (t.nd >= 13 || (ctx & C_CARD)) && v_luhn(t.d, t.nd))
		EMIT(R_CREDIT_CARD, v_test_card(t.d));
	if ((ctx & C_PASSPORT) && t.nd == 9 && !sep)
		EMIT(R_US_PASSPORT, false);
	if ((ctx & C_BANK) && t.nd >= 8 && t.nd <= 17)
		EMIT(R_US_BANK_NUMBER, false);
	if ((ctx & C_DL) && t.nd >= 7 && t.nd <= 14)
		EMIT(R_US_DRIVER_LICENSE, false);
	if ((ctx & C_MRN) && t.nd >= 5 && t.nd <= 12)
		EMIT(R_MEDICAL_RECORD_NUMBER, false);
	return 0;
#undef EMIT
}

int scan_on_number(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err);

/* Is segment offset `at` inside a finding already queued (an IBAN, a card)? */
static bool covered(const scan_ctx *c, size_t at)
{
	for (size_t i = 0; i < c->s->npend; i++) {
		const struct scan_pending *p = &c->s->pend[i];
		if (p->rule == R_PASSWORD_IN_URL || p->rule == R_EMAIL || p->rule == R_STREET_ADDRESS ||
		    p->rule == R_PERSON_NAME || p->rule == R_DATE_OF_BIRTH || p->rule == R_MAKE_WEBHOOK_URL ||
		    p->rule == R_SLACK_WEBHOOK_URL || p->rule == R_ZAPIER_WEBHOOK_URL)
			continue;
		if (p->start <= at && at < p->start + p->vlen)
			return true;
	}
	return false;
}

static bool nd_all(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned)(s[i] - '0') >= 10)
			return false;
	return true;
}

int scan_on_number(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err)
{
	const char *s = c->seg + ms;
	size_t n = me - ms, dots = 0, slashes = 0, dashes = 0;
	unsigned ctx;
	bool syn;
	int rc;

	(void)mark;
	(void)next;
	if (covered(c, ms))
		return 0;
	while (n && (s[n - 1] == '.' || s[n - 1] == '/' || s[n - 1] == '-'))
		n--;
	for (size_t i = 0; i < n; i++) {
		dots += s[i] == '.';
		slashes += s[i] == '/';
		dashes += s[i] == '-';
	}
	if (dots == 3 && !slashes && !dashes && !memchr(s, ' ', n)) {
		if (!(scan_line_context(c, ms) & C_VERSION) && v_ipv4_public(s, n, &syn))
			return scan_emit(c, R_IP_ADDRESS, ms, n, syn, err);
		return 0;
	}
	{
		size_t nd = 0;
		for (size_t i = 0; i < n; i++)
			nd += (unsigned)(s[i] - '0') < 10;
		if (nd < 6)
			return 0;
	}
	ctx = scan_line_context(c, ms);
	if (c->json_number && !(ctx & SPECIFIC))
		return 0;
	if ((c->keyself & (C_IDLIKE | C_TIME | C_VERSION)) && !(c->keyself & SPECIFIC))
		return 0;
	/* a compact birth date behind a birth-date keyword (its key, or the words
	 * right before it, back to a comma or another number): 19850412, 12041985 */
	if (n == 8 && nd_all(s, n) && v_date(s, n)) {
		size_t b = ms;
		while (b > 0 && ms - b < 24 && c->seg[b - 1] != ',' && c->seg[b - 1] != ';' &&
		       c->seg[b - 1] != '\n' && (unsigned)(c->seg[b - 1] - '0') >= 10)
			b--;
		if (((c->keyself | c->keyctx) & C_DOB) ||
		    (scan_words_classes(c->seg + b, ms - b, false) & C_DOB))
			return scan_emit(c, R_DATE_OF_BIRTH, ms, n, false, err);
	}
	/* an SSN written with dots (078.05.1123) is no date or version */
	if (dots == 2 && n == 11 && s[3] == '.' && s[6] == '.' && !(ctx & (C_VERSION | C_DOB))) {
		rc = classify(c, ms, n, ctx | C_SSN, err);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	/* dates: only a birth date is personal data */
	if (slashes || dots || (dashes == 2 && n == 10 && (s[4] == '-' || s[2] == '-')) ||
	    (dashes == 2 && n <= 10 && (n - 2 - (size_t)(s[1] == '-') <= 8) && (ctx & C_DOB))) {
		if ((ctx & C_DOB) && v_date(s, n))
			return scan_emit(c, R_DATE_OF_BIRTH, ms, n, false, err);
		if (slashes || (dots && !(ctx & SPECIFIC)))
			return 0;
		if (dashes == 2 && n == 10 && s[4] == '-')
			return 0;
	}
	if (ctx & C_TIME && !(ctx & SPECIFIC))
		return 0;
	rc = classify(c, ms, n, ctx, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	/* several numbers separated by blanks: take the longest prefix that is something */
	if (memchr(s, ' ', n)) {
		size_t i = 0;
		while (i < n) {
			size_t j = n, hit = 0;
			while (i < n && s[i] == ' ')
				i++;
			for (; j > i; j--) {
				if (j < n && s[j] != ' ')
					continue;
				if (j == n && i == 0)
					continue; /* tried */
				rc = classify(c, ms + i, j - i, ctx, err);
				if (rc < 0)
					return rc;
				if (rc) {
					hit = j;
					break;
				}
			}
			if (hit) {
				i = hit;
			} else {
				const char *sp = memchr(s + i, ' ', n - i);
				i = sp ? (size_t)(sp - s) : n;
			}
		}
	}
	return 0;
}

/* ---- identifiers with letters --------------------------------------------- */

static int on_id(scan_ctx *c, size_t ms, size_t n, bpg_error *err)
{
	const char *s = c->seg + ms;
	unsigned ctx = scan_line_context(c, ms);
	size_t letters = 0;

	for (size_t i = 0; i < n; i++)
		letters += isalpha((unsigned char)s[i]) != 0;
	if ((c->keyself & (C_IDLIKE | C_TIME | C_VERSION)) && !(c->keyself & SPECIFIC))
		return 0;
	if ((ctx & C_PASSPORT) && n == 9 && letters == 1 && isalpha((unsigned char)s[0]))
		return scan_emit(c, R_US_PASSPORT, ms, n, false, err);
	if ((ctx & C_MRN) && n <= 12)
		return scan_emit(c, R_MEDICAL_RECORD_NUMBER, ms, n, false, err);
	if ((ctx & C_DL) && letters <= 2 && n >= 7)
		return scan_emit(c, R_US_DRIVER_LICENSE, ms, n, false, err);
	/* letter + 8 digits, on its own: the commonest US licence layout */
	if (n == 9 && letters == 1 && isupper((unsigned char)s[0]) && ms == 0 && n == c->seg_len &&
	    !(ctx & SPECIFIC))
		return scan_emit(c, R_US_DRIVER_LICENSE, ms, n, false, err);
	return 0;
}

static int on_iban(scan_ctx *c, size_t ms, size_t me, bpg_error *err)
{
	char buf[40];
	size_t bl = 0, ends[40], ne = 0;

	for (size_t i = ms; i < me && bl < sizeof(buf) - 1; i++) {
		if (c->seg[i] == ' ' || c->seg[i] == '-')
			continue;
		buf[bl++] = c->seg[i];
		if (i + 1 == me || c->seg[i + 1] == ' ' || c->seg[i + 1] == '-')
			ends[ne++] = i + 1;
		if (ne == 40)
			break;
	}
	/* try the whole run, then shorter ones at group boundaries */
	for (size_t k = ne; k-- > 0;) {
		size_t len = 0;
		for (size_t i = ms; i < ends[k]; i++)
			len += c->seg[i] != ' ' && c->seg[i] != '-';
		if (len >= 15 && len <= 34 && v_iban(buf, len))
			return scan_emit(c, R_IBAN, ms, ends[k] - ms, false, err);
	}
	return 1; /* not an IBAN */
}

static bool doe_follows(const scan_ctx *c, size_t me)
{
	return me + 4 <= c->seg_len && memcmp(c->seg + me, " Doe", 4) == 0;
}

int scan_on_alpha(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err);

int scan_on_alpha(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err)
{
	const char *s = c->seg + ms;
	size_t n = me - ms;
	int rc;

	(void)next;
	switch (mark[0] << 8 | mark[1]) {
	case 'D' << 8 | 'E':
		if (v_dea(s))
			return scan_emit(c, R_MEDICAL_LICENSE, ms, n, false, err);
		return on_id(c, ms, n, err);
	case 'N' << 8 | 'I': {
		static const char *bad[] = { "BG", "GB", "NK", "KN", "TN", "NT", "ZZ" };
		char p[2] = { (char)toupper((unsigned char)s[0]), (char)toupper((unsigned char)s[1]) };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (p[0] == bad[i][0] && p[1] == bad[i][1])
				return 0;
		return scan_emit(c, R_UK_NINO, ms, n, false, err);
	}
	case 'M' << 8 | 'B':
		return scan_emit(c, R_US_MBI, ms, n, false, err);
	case 'I' << 8 | 'B':
		rc = on_iban(c, ms, me, err);
		if (rc <= 0)
			return rc;
		if (!memchr(s, ' ', n) && !memchr(s, '-', n))
			return on_id(c, ms, n, err);
		return 0;
	case 'I' << 8 | 'D':
		return on_id(c, ms, n, err);
	case 'S' << 8 | 'A':
		return scan_emit(c, R_STREET_ADDRESS, ms, n, false, err);
	case 'H' << 8 | 'N':
		return scan_emit(c, R_PERSON_NAME, ms, n, false, err);
	case 'D' << 8 | 'T':
		if (scan_line_context(c, ms) & C_DOB)
			return scan_emit(c, R_DATE_OF_BIRTH, ms, n, false, err);
		return 0;
	case 'N' << 8 | 'M':
		if (v_first_name(s, n))
			return scan_emit(c, R_PERSON_NAME, ms, n, doe_follows(c, me), err);
		return 0;
	}
	return 0;
}
