/*
 * Candidate positions: where a match of a pattern family can start.
 *
 * Calling pcre2 over every segment costs its per-call overhead and a scan of
 * every byte with a wide start-bit set (the secret and identifier families
 * start with common letters), which was most of the scanner's time. Instead
 * a C loop finds the few positions where some branch of the family can
 * start, by a necessary condition read off the pattern (its first bytes and
 * its lookbehind), and pcre2 runs anchored there. Every condition here is
 * implied by the pattern, so the matches found are exactly those of the
 * unanchored search: where no candidate is, no branch can match.
 * Keep this file in step with the patterns of scan_rules.c.
 */
#include "scan_internal.h"

#include <pthread.h>
#include <string.h>

enum { K_DIGIT = 1, K_UPPER = 2, K_LOWER = 4, K_ALNUM = 7, K_NUMRUN = 8, K_MAILPRE = 16,
	K_SEC = 32, K_KW = 64, K_FEAT = 128, K_NUMSTART = 256, K_NUMSTOP = 512,
	K_LEADUP = 1024 /* capitals that may start a lead: A (:A, AIza), G (SG.) */ };

/* Byte classes (ASCII only: the scanner runs in the C locale). */
static unsigned short ctab[256];
static pthread_once_t ctab_once = PTHREAD_ONCE_INIT;

static void ctab_init(void)
{
	for (int ch = 0; ch < 256; ch++) {
		unsigned k = 0;
		if (ch >= '0' && ch <= '9')
			k |= K_DIGIT | K_NUMRUN | K_MAILPRE;
		else if (ch >= 'A' && ch <= 'Z')
			k |= K_UPPER | K_MAILPRE;
		else if (ch >= 'a' && ch <= 'z')
			k |= K_LOWER | K_MAILPRE;
		if (ch && strchr(" ()+-./", ch))
			k |= K_NUMRUN;
		if (ch && strchr("+-._%", ch))
			k |= K_MAILPRE;
		/* first bytes of the pat_secret branches */
		if (ch && strchr("-@:hAgxrseb13iSn", ch))
			k |= K_SEC;
		/* first bytes of the pat_keyword branches, either case */
		if (ch && strchr("pstacPSTAC-", ch))
			k |= K_KW;
		/* bytes scan_features() looks at beyond its counts */
		if (ch == 'A' || ch == 'G' || ch == 'I')
			k |= K_LEADUP;
		if ((k & K_UPPER) || (ch && strchr("_-ykxbd", ch)))
			k |= K_FEAT;
		/* a number may start at a digit, '+' or '(' but not after [A-Za-z0-9_.+/-] */
		if ((k & K_DIGIT) || ch == '+' || ch == '(')
			k |= K_NUMSTART;
		if ((k & K_ALNUM) || (ch && strchr("_.+/-", ch)))
			k |= K_NUMSTOP;
		ctab[ch] = (unsigned short)k;
	}
}

#define CL(ch) ctab[(unsigned char)(ch)]
#define ALNUM(ch) (CL(ch) & K_ALNUM)
#define DIGIT(ch) (CL(ch) & K_DIGIT)

static bool has(const char *s, size_t n, size_t i, const char *lit, size_t m)
{
	return n - i >= m && memcmp(s + i, lit, m) == 0;
}

/* lower-case prefix compare (the keyword family is case-insensitive) */
static bool has_ci(const char *s, size_t n, size_t i, const char *lit, size_t m)
{
	if (n - i < m)
		return false;
	for (size_t k = 0; k < m; k++)
		if ((s[i + k] | 0x20) != lit[k])
			return false;
	return true;
}

/* [^\s/?#@"'<>:\\] of the password-in-URL branch */
static bool url_user_char(char ch)
{
	return !(ch == ' ' || (ch >= '\t' && ch <= '\r') || ch == '/' || ch == '?' || ch == '#' ||
		ch == '@' || ch == '"' || ch == '\'' || ch == '<' || ch == '>' || ch == ':' || ch == '\\');
}

/* The secret family (pat_secret): its branches start with '-', '@', ':',
 * 'h' (no lookbehind) or, after a non-word byte, A g x r s e b 1 3. */
static bool secret_at(const char *s, size_t n, size_t i)
{
	char prev = i ? s[i - 1] : ' ';
	bool word_before = ALNUM(prev) || prev == '_';

	switch (s[i]) {
	case '-':
		return has(s, n, i, "-----BEGIN", 10);
	case '@':
		return i > 0 && (CL(prev) & K_MAILPRE);
	case ':': { /* ://user:password@ (the classes exclude ':' then '@', so no backtracking) */
		size_t j = i + 3, k;
		if (i > 0 && DIGIT(prev) && n - i > 35 && s[i + 1] == 'A')
			return true; /* Telegram bot token */
		if (!has(s, n, i, "://", 3))
			return false;
		while (j < n && j - i - 3 < 128 && url_user_char(s[j]))
			j++;
		if (j >= n || s[j] != ':')
			return false;
		for (k = j + 1; k < n && k - j - 1 < 256 && (s[k] == ':' || url_user_char(s[k])); k++)
			;
		return k > j + 1 && k < n && s[k] == '@';
	}
	case 'h':
		return n - i > 5 && memcmp(s + i, "hook", 4) == 0 && (s[i + 4] == '.' || s[i + 4] == 's');
	case 'i':
		return has(s, n, i, "ifttt.com/", 10) || has(s, n, i, "invoke?", 7);
	case 'S':
		return !ALNUM(prev) && has(s, n, i, "SG.", 3);
	case 'n':
		return !ALNUM(prev) && has(s, n, i, "npm_", 4);
	case 'A': {
		static const char pfx[][4] = { "AKIA", "ABIA", "ACCA", "ASIA", "AGPA", "AIDA", "AROA",
			"AIPA", "ANPA", "ANVA", "AIza" };
		if (ALNUM(prev) || n - i < 20)
			return false;
		if (s[i + 1] == '3' && s[i + 2] == 'T')
			return true;
		for (size_t k = 0; k < sizeof(pfx) / sizeof(pfx[0]); k++)
			if (memcmp(s + i, pfx[k], 4) == 0)
				return true;
		return false;
	}
	case 'g':
		if (!ALNUM(prev) && has(s, n, i, "glpat-", 6))
			return true;
		return !word_before && n - i > 4 && ((s[i + 1] == 'h' && s[i + 3] == '_' &&
			(s[i + 2] == 'p' || s[i + 2] == 'o' || s[i + 2] == 'u' || s[i + 2] == 's' ||
			 s[i + 2] == 'r')) || has(s, n, i, "github_pat_", 11));
	case 'x':
		return !ALNUM(prev) && (has(s, n, i, "xapp-", 5) ||
			(has(s, n, i, "xox", 3) && n - i > 4 && (CL(s[i + 3]) & K_LOWER) && s[i + 4] == '-'));
	case 's':
		if (!ALNUM(prev) && n - i > 3 && ((s[i + 1] == 'k' && s[i + 2] == '-') ||
		    has(s, n, i, "shp", 3)))
			return true;
		/* fall through */
	case 'r':
		return !ALNUM(prev) && n - i > 3 && s[i + 1] == 'k' && s[i + 2] == '_';
	case 'e':
		return !word_before && prev != '-' && has(s, n, i, "eyJ", 3);
	case 'b':
		return !word_before && has(s, n, i, "bc1", 3);
	case '1':
	case '3': { /* [13] and at least 25 base58 characters */
		if (word_before || n - i <= 25)
			return false;
		for (size_t j = i + 1; j <= i + 25; j++)
			if (!ALNUM(s[j]) || s[j] == '0' || s[j] == 'O' || s[j] == 'I' || s[j] == 'l')
				return false;
		return true;
	}
	}
	return false;
}

/* The identifier family (pat_alpha): every branch starts after a
 * non-alphanumeric byte with a letter that has a digit within four bytes
 * (DE, NI, IB, ID), an honorific (HN), or digits followed by a letter (MB,
 * ID) or by " X" (SA). */
/* The NI branch from i, its letter classes aside: two letters, three pairs
 * of digits and a letter A-D, each after an optional blank, then no
 * alphanumeric byte (a blank before a digit or letter is always taken). */
static bool ni_shape(const char *s, size_t n, size_t i)
{
	size_t p = i + 2;

	if (p > n || !(CL(s[i]) & (K_UPPER | K_LOWER)) || !(CL(s[i + 1]) & (K_UPPER | K_LOWER)))
		return false;
	for (int k = 0; k < 3; k++, p += 2) {
		if (p < n && s[p] == ' ')
			p++;
		if (p + 2 > n || !DIGIT(s[p]) || !DIGIT(s[p + 1]))
			return false;
	}
	if (p < n && s[p] == ' ')
		p++;
	if (p >= n || (s[p] | 0x20) < 'a' || (s[p] | 0x20) > 'd')
		return false;
	return p + 1 >= n || !ALNUM(s[p + 1]);
}

/* The MB branch from i, its letter classes aside: [1-9], a letter, a letter
 * or digit, a digit, '-'?, a letter, a letter or digit, a digit, '-'?, two
 * letters, two digits, then no alphanumeric byte. */
static bool mb_shape(const char *s, size_t n, size_t i)
{
	static const char shape[] = "1LAD-LAD-LLDD";
	size_t p = i;

	for (const char *t = shape; *t; t++) {
		unsigned k;
		bool ok;
		if (*t == '-') {
			if (p < n && s[p] == '-')
				p++;
			continue;
		}
		if (p >= n)
			return false;
		k = CL(s[p]);
		ok = *t == '1' ? (s[p] >= '1' && s[p] <= '9') : *t == 'L' ? (k & (K_UPPER | K_LOWER)) != 0 :
			*t == 'A' ? (k & K_ALNUM) != 0 : (k & K_DIGIT) != 0;
		if (!ok)
			return false;
		p++;
	}
	return p >= n || !ALNUM(s[p]);
}

/* alpha_at() from a letter: DE, IB, ID, NI, HN. */
static bool alpha_letter_at(const char *s, size_t n, size_t i, size_t tl)
{
	{
		size_t j = i + 1;
		/* DE, IB, ID: letters (at most four) then a digit; NI: two letters, a blank, a digit */
		while (j < n && j <= i + 4 && (CL(s[j]) & (K_UPPER | K_LOWER)))
			j++;
		/* ... in a token of six or more, or one a blank or dash continues (IBAN groups) */
		if (j < n && j <= i + 4 && DIGIT(s[j]) && (tl >= 6 || (i + tl < n &&
		    (s[i + tl] == ' ' || s[i + tl] == '-'))))
			return true;
		if (j == i + 2 && j + 1 < n && s[j] == ' ' && DIGIT(s[j + 1]))
			return true;
		/* HN: Mr Mrs Ms Miss Dr Prof, then '.' or ' ' */
		if (j < n && (s[j] == '.' || s[j] == ' ')) {
			size_t w = j - i;
			const char *t = s + i;
			return (w == 2 && (memcmp(t, "Mr", 2) == 0 || memcmp(t, "Ms", 2) == 0 ||
				memcmp(t, "Dr", 2) == 0)) || (w == 3 && memcmp(t, "Mrs", 3) == 0) ||
				(w == 4 && (memcmp(t, "Miss", 4) == 0 || memcmp(t, "Prof", 4) == 0));
		}
		return false;
	}
}

static bool alpha_at(const char *s, size_t n, size_t i, size_t tl)
{
	unsigned k = CL(s[i]);

	if (i > 0 && ALNUM(s[i - 1]))
		return false;
	if (!tl) /* the length of the alphanumeric token at i, when not known */
		for (tl = 1; i + tl < n && ALNUM(s[i + tl]); tl++)
			;
	/* from a lower-case letter only NI (case-insensitive) can match */
	if (k & K_UPPER)
		return alpha_letter_at(s, n, i, tl);
	if (k & K_LOWER)
		return ni_shape(s, n, i) && alpha_letter_at(s, n, i, tl);
	if (k & K_DIGIT) {
		size_t j = i;
		while (j < n && j - i < 17 && DIGIT(s[j]))
			j++;
		/* ID: digits, then a capital, in a token of six or more */
		if (j < n && (CL(s[j]) & K_UPPER) && tl >= 6)
			return true;
		/* MB: [1-9], a letter, a letter or digit, a digit; 11 long (then no
		 * alphanumeric byte) or dashed. A longer token can still hold an ID
		 * match, but only with a capital after the digit (the test above). */
		if (i + 4 < n && s[i] != '0' && (CL(s[i + 1]) & (K_UPPER | K_LOWER)) && ALNUM(s[i + 2]) &&
		    DIGIT(s[i + 3]) && (tl == 11 || s[i + 4] == '-') && mb_shape(s, n, i))
			return true;
		return j - i <= 6 && j + 1 < n && s[j] == ' ' && (CL(s[j + 1]) & K_UPPER);
	}
	return false;
}

/* The keyword family (pat_keyword, case-insensitive): the credential words
 * by their first bytes, and --user / -u. */
static bool key_suffix(const char *s, size_t n, size_t j)
{
	if (j < n && (s[j] == '_' || s[j] == '-'))
		j++;
	return has_ci(s, n, j, "key", 3);
}

static bool keyword_at(const char *s, size_t n, size_t i)
{
	switch (s[i] | 0x20) {
	case 'p':
		return has_ci(s, n, i, "passw", 5) || has_ci(s, n, i, "passphrase", 10) ||
			has_ci(s, n, i, "pwd", 3) || (has_ci(s, n, i, "private", 7) && key_suffix(s, n, i + 7));
	case 's':
		return has_ci(s, n, i, "secret", 6);
	case 't':
		return has_ci(s, n, i, "token", 5);
	case 'a':
		return has_ci(s, n, i, "auth", 4) || (has_ci(s, n, i, "api", 3) && key_suffix(s, n, i + 3)) ||
			(has_ci(s, n, i, "access", 6) && key_suffix(s, n, i + 6));
	case 'c':
		return has_ci(s, n, i, "credential", 10);
	case '-':
		return s[i] == '-' && (has(s, n, i, "--user", 6) || has(s, n, i, "-u", 2));
	}
	return false;
}

/* The number family (pat_number): a digit, '+' or '(' after a byte outside
 * [A-Za-z0-9_.+/-]. A match only holds bytes of [0-9 ./()+-], so a run of
 * those with fewer than 6 digits and 3 dots holds nothing the number
 * handler reports (it wants 6 digits, or an IPv4 address): the run is
 * skipped whole. */
static size_t digit_run(const char *s, size_t n, size_t j)
{
	size_t k = j;
	while (k < n && DIGIT(s[k]))
		k++;
	return k - j;
}

/* The number pattern from a digit at i: 0 and its end, digit and dot
 * counts when it matches, -1 when it does not. */
static int digit_chain(const char *s, size_t n, size_t i, size_t *end, size_t *digits, size_t *dots)
{
	size_t j = i, g = digit_run(s, n, i), seps = 0;

	if (g > 19)
		return -1;
	j += g;
	*digits = g;
	*dots = 0;
	while (seps < 12 && j + 1 < n && (s[j] == ' ' || s[j] == '.' || s[j] == '/' || s[j] == '-') &&
	       DIGIT(s[j + 1])) {
		g = digit_run(s, n, j + 1);
		if (g > 19)
			return -1;
		*dots += s[j] == '.';
		*digits += g;
		j += 1 + g;
		seps++;
	}
	if (j < n && (ALNUM(s[j]) || s[j] == '_'))
		return -1;
	if (j + 1 < n && (s[j] == '.' || s[j] == '-') && DIGIT(s[j + 1]))
		return -1;
	*end = j;
	return 0;
}

/* At a byte of K_NUMSTART: true when a number candidate starts at i, else
 * *next is where the search goes on (past a run the handler ignores). */
static bool number_at(const char *s, size_t n, size_t i, size_t *next)
{
	char ch = s[i], prev = i ? s[i - 1] : ' ';
	size_t j, digits = 0, dots = 0;

	*next = i + 1;
	if (!(DIGIT(ch) || ((ch == '+' || ch == '(') && i + 1 < n && DIGIT(s[i + 1]))) ||
	    (CL(prev) & K_NUMSTOP))
		return false;
	if (DIGIT(ch)) {
		/* no optional prefix can match: the match is the possessive chain
		 * [0-9]{1,19} ([ ./-][0-9]{1,19}){0,12} and its lookahead */
		if (digit_chain(s, n, i, &j, &digits, &dots) < 0)
			return false;
		if (digits >= 6 || dots >= 3)
			return true;
		*next = j; /* a hit the number handler ignores: resume after it */
		return false;
	}
	for (j = i; j < n && (CL(s[j]) & K_NUMRUN); j++) {
		digits += DIGIT(s[j]) != 0;
		dots += s[j] == '.';
	}
	if (digits >= 6 || dots >= 3)
		return true;
	*next = j;
	return false;
}

static size_t number_next(const char *s, size_t n, size_t i)
{
	while (i < n) {
		size_t next;
		if (!(CL(s[i]) & K_NUMSTART)) {
			i++;
			continue;
		}
		if (number_at(s, n, i, &next))
			return i;
		i = next;
	}
	return n;
}

/* "bi", "bo" or "dob", any case (a birth word may start here) */
static bool birth_at(const char *s, size_t i)
{
	char a = (char)(s[i] | 0x20), b = (char)(s[i + 1] | 0x20);
	return (a == 'b' && (b == 'i' || b == 'o')) || (a == 'd' && b == 'o' && (s[i + 2] | 0x20) == 'b');
}

void scan_cand_init(void)
{
	pthread_once(&ctab_once, ctab_init);
}

size_t scan_cand_next(int which, const char *s, size_t n, size_t i)
{
	switch (which) {
	case P_NUMBER:
		return number_next(s, n, i);
	case P_SECRET:
		for (; i < n; i++)
			if ((CL(s[i]) & K_SEC) && secret_at(s, n, i))
				return i;
		return n;
	case P_ALPHA:
		for (; i < n; i++) {
			if (!ALNUM(s[i]))
				continue;
			if (alpha_at(s, n, i, 0))
				return i;
			while (i + 1 < n && ALNUM(s[i + 1]))
				i++;
		}
		return n;
	case P_KEYWORD:
		for (; i < n; i++)
			if ((CL(s[i]) & K_KW) && keyword_at(s, n, i))
				return i;
		return n;
	}
	return i;
}

/*
 * scan_cand_next() for a segment of at most 64 bytes whose stops are known:
 * bit k of m is set where the family's byte loop would stop to look (from
 * scan_cand_stops()), every other byte it passes by.
 */
size_t scan_cand_next_mask(int which, const char *s, size_t n, size_t i, uint64_t m,
	uint64_t alnum)
{
	m = i < 64 ? m & (~(uint64_t)0 << i) : 0;
	while (m) {
		size_t at = (size_t)__builtin_ctzll(m), next = at + 1;
		bool hit = false;
		switch (which) {
		case P_NUMBER: hit = number_at(s, n, at, &next); break;
		case P_SECRET: hit = secret_at(s, n, at); break;
		case P_ALPHA: { /* the token: the run of alnum bits from at */
			uint64_t gap = ~(alnum >> at);
			hit = alpha_at(s, n, at, gap ? (size_t)__builtin_ctzll(gap) : 64 - at);
			break;
		}
		case P_KEYWORD: hit = keyword_at(s, n, at); break;
		}
		if (hit)
			return at;
		m = next < 64 ? m & (~(uint64_t)0 << next) : 0;
	}
	return n;
}

/* Bytes before a capital that make scan_names() pass it by. */
static bool name_stop(char prev)
{
	return ALNUM(prev) || prev == '@' || prev == '.' || prev == '_' || prev == '-';
}

/* The features only some bytes (K_FEAT) add, read around byte i. */
static inline void feat_byte(const char *s, size_t n, size_t i, scan_seg_features *f)
{
	char ch = s[i];

	if (CL(ch) & K_UPPER) {
		f->upper = true;
		if (f->name_at == n && (i == 0 || !name_stop(s[i - 1])))
			f->name_at = i;
		/* a digit, a blank, a capital (read from the capital) */
		if (i >= 2 && s[i - 1] == ' ' && DIGIT(s[i - 2]))
			f->street = true;
		/* Mr Ms Mi(ss), Dr, Pr(of) */
		if (i + 1 < n && ((ch == 'M' && (s[i + 1] == 'r' || s[i + 1] == 's' || s[i + 1] == 'i')) ||
		    ((ch == 'D' || ch == 'P') && s[i + 1] == 'r')))
			f->honorific = true;
		if ((ch == 'B' || ch == 'D') && i + 3 <= n)
			f->birth |= birth_at(s, i);
		/* :A (Telegram), SG. (SendGrid), AIza (Google) */
		if ((CL(ch) & K_LEADUP) &&
		    ((ch == 'A' && i >= 2 && s[i - 1] == ':' && DIGIT(s[i - 2])) ||
		     (ch == 'G' && i >= 1 && i + 1 < n && s[i - 1] == 'S' && s[i + 1] == '.') ||
		     (ch == 'I' && i >= 1 && i + 2 < n && s[i - 1] == 'A' && s[i + 1] == 'z' && s[i + 2] == 'a')))
			f->lead = true;
		return;
	}
	/* leads are read from a rarer byte than their first: eyJ at 'y', hook at 'k' */
	switch (ch) {
	case '_':
		/* gh[pousr]_, [rs]k_, github_pat_: the only secret branches with '_' */
		if ((i >= 3 && s[i - 3] == 'g' && s[i - 2] == 'h') ||
		    (i >= 2 && s[i - 1] == 'k' && (s[i - 2] == 'r' || s[i - 2] == 's')) ||
		    (i >= 6 && memcmp(s + i - 6, "github", 6) == 0) ||
		    (i >= 3 && s[i - 1] == 'm' && s[i - 2] == 'p' && s[i - 3] == 'n') ||
		    (i >= 5 && s[i - 3] == 'p' && s[i - 4] == 'h' && s[i - 5] == 's'))
			f->under = true;
		break;
	case '-':
		if ((i + 4 < n && s[i + 1] == '-' && memcmp(s + i, "-----", 5) == 0) ||
		    (i >= 2 && s[i - 1] == 'k' && s[i - 2] == 's') ||
		    (i >= 5 && s[i - 1] == 't' && memcmp(s + i - 5, "glpat", 5) == 0))
			f->lead = true;
		break;

	case 'y': /* eyJ, with a byte after it */
		if (i >= 1 && i + 2 < n && s[i - 1] == 'e' && s[i + 1] == 'J')
			f->lead = true;
		break;
	case 'k': /* hook, invoke?, maker.ifttt */
		if ((i >= 3 && s[i - 3] == 'h' && s[i - 2] == 'o' && s[i - 1] == 'o') ||
		    (i >= 2 && i + 3 < n && s[i - 2] == 'm' && s[i - 1] == 'a' && s[i + 1] == 'e' &&
		     s[i + 2] == 'r' && s[i + 3] == '.') ||
		    (i >= 4 && i + 2 < n && memcmp(s + i - 4, "invo", 4) == 0 && s[i + 1] == 'e' &&
		     s[i + 2] == '?'))
			f->lead = true;
		break;
	case 'x':
		if (i + 3 < n && (s[i + 1] == 'o' || s[i + 1] == 'a'))
			f->lead = true;
		break;
	case 'b':
	case 'd':
		if (i + 3 <= n)
			f->birth |= birth_at(s, i);
		break;
	}
}

/*
 * One pass of cheap features of a segment; scan_segment() decides from them
 * which families can match at all (see there for what each one gates).
 * This is the byte loop; scan_features() gives the same result faster.
 */
void scan_features_ref(const char *s, size_t n, scan_seg_features *f)
{
	size_t run = 0, maxrun = 0, digits = 0, colons = 0, dots = 0;
	bool at = false, eq = false;

	memset(f, 0, sizeof(*f));
	f->name_at = n;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned k = CL(ch);
		/* the counts without branches: these bytes are too mixed to predict */
		run = (k & K_ALNUM) ? run + 1 : 0;
		maxrun = run > maxrun ? run : maxrun;
		digits += k & K_DIGIT;
		colons += ch == ':';
		dots += ch == '.';
		at |= ch == '@';
		eq |= ch == '=';
		if (k & K_FEAT)
			feat_byte(s, n, i, f);
	}
	f->maxrun = maxrun;
	f->digits = digits;
	f->colons = colons;
	f->dots = dots;
	f->at = at;
	f->eq = eq;
}

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>

/* Bytes of x in [lo, hi] (ASCII; bytes over 0x7f are negative and never in). */
static inline __m128i in_range(__m128i x, char lo, char hi)
{
	return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
		_mm_cmplt_epi8(x, _mm_set1_epi8((char)(hi + 1))));
}

static inline unsigned eq_mask(__m128i x, char ch)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(ch)));
}

/* Set bits (no popcnt instruction in the baseline x86-64 target). */
static inline size_t popcount64(uint64_t x)
{
	if (!x) /* the usual case for the rarer classes */
		return 0;
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (size_t)((x * 0x0101010101010101ull) >> 56);
}

/* Class masks of 16 bytes, a bit per byte. */
typedef struct {
	unsigned alnum, digit, colon, dot, feat, at, eq;
} chunk_masks;

static inline void chunk_classes(__m128i x, chunk_masks *m)
{
	__m128i d = in_range(x, '0', '9'), u = in_range(x, 'A', 'Z'), l = in_range(x, 'a', 'z');

	m->digit = (unsigned)_mm_movemask_epi8(d);
	m->alnum = (unsigned)_mm_movemask_epi8(_mm_or_si128(d, _mm_or_si128(u, l)));
	m->feat = (unsigned)_mm_movemask_epi8(u) | eq_mask(x, '_') | eq_mask(x, '-') | eq_mask(x, 'y') |
		eq_mask(x, 'k') | eq_mask(x, 'x') | eq_mask(x, 'b') | eq_mask(x, 'd');
	m->colon = eq_mask(x, ':');
	m->dot = eq_mask(x, '.');
	m->at = eq_mask(x, '@');
	m->eq = eq_mask(x, '=');
}

/* The 16 bytes of s[0, n) from offset o, and how many low bits of their
 * masks to drop: a partial last chunk is read as the 16 bytes that end the
 * segment (they may start before it, in the same buffer). */
static inline __m128i chunk_at(const char *s, size_t n, size_t o, unsigned *sh)
{
	*sh = n - o >= 16 ? 0 : (unsigned)(16 - (n - o));
	return _mm_loadu_si128((const __m128i *)(const void *)(s + o - *sh));
}

/*
 * Segments of up to 128 bytes (most JSON strings): a bit per byte for each
 * class, 16 bytes at a time, then feat_byte() at the few K_FEAT bytes.
 */
static size_t longest_run(uint64_t m)
{
	/* x[k]: bits where a run of at least 2^k set bits starts; the run is
	 * then built greedily from the largest power down (a run of r + 2^k
	 * starts where one of r does and one of 2^k starts r bits higher), in
	 * six steps instead of one per bit of the longest run */
	uint64_t x1 = m, x2, x4, x8, x16, x32, cur, cand;
	size_t run;

	if (!~m)
		return 64;
	x2 = x1 & (x1 >> 1);
	x4 = x2 & (x2 >> 2);
	x8 = x4 & (x4 >> 4);
	x16 = x8 & (x8 >> 8);
	x32 = x16 & (x16 >> 16);
	/* written out (conditional moves): a loop over an array of them is
	 * neither unrolled nor kept in registers at -O2 */
	run = x32 ? 32 : 0;
	cur = x32 ? x32 : ~(uint64_t)0;
#define LR_STEP(xk, k) \
	cand = cur & ((xk) >> run); \
	run = cand ? run + (k) : run; \
	cur = cand ? cand : cur;
	LR_STEP(x16, 16)
	LR_STEP(x8, 8)
	LR_STEP(x4, 4)
	LR_STEP(x2, 2)
	LR_STEP(x1, 1)
#undef LR_STEP
	return run;
}

static void features_short(const char *s, size_t n, scan_seg_features *f)
{
	/* [0]: bytes 0-63, [1]: bytes 64-127 */
	uint64_t alnum[2] = { 0, 0 }, digit[2] = { 0, 0 }, colon[2] = { 0, 0 }, dot[2] = { 0, 0 };
	uint64_t feat[2] = { 0, 0 };
	unsigned atm = 0, eqm = 0;
	size_t run;

	memset(f, 0, sizeof(*f));
	f->name_at = n;
	for (size_t o = 0; o < n; o += 16) {
		chunk_masks m;
		unsigned sh;
		size_t h = o / 64, b = o % 64;
		chunk_classes(chunk_at(s, n, o, &sh), &m);
		alnum[h] |= (uint64_t)(m.alnum >> sh) << b;
		digit[h] |= (uint64_t)(m.digit >> sh) << b;
		colon[h] |= (uint64_t)(m.colon >> sh) << b;
		dot[h] |= (uint64_t)(m.dot >> sh) << b;
		feat[h] |= (uint64_t)(m.feat >> sh) << b;
		atm |= m.at >> sh;
		eqm |= m.eq >> sh;
	}
	run = longest_run(alnum[0]);
	if (n > 64) { /* the second half, and a run across the two */
		size_t top = ~alnum[0] ? (size_t)__builtin_clzll(~alnum[0]) : 64;
		size_t low = ~alnum[1] ? (size_t)__builtin_ctzll(~alnum[1]) : 64;
		size_t r1 = longest_run(alnum[1]);
		run = run > r1 ? run : r1;
		run = run > top + low ? run : top + low;
	}
	f->maxrun = run;
	f->digits = popcount64(digit[0]) + popcount64(digit[1]);
	f->colons = popcount64(colon[0]) + popcount64(colon[1]);
	f->dots = popcount64(dot[0]) + popcount64(dot[1]);
	f->at = atm != 0;
	f->eq = eqm != 0;
	f->alnum = alnum[0];
	f->vec = n <= 64; /* the candidate stops are single words */
	for (size_t h = 0; h < 2; h++)
		for (; feat[h]; feat[h] &= feat[h] - 1)
			feat_byte(s, n, 64 * h + (size_t)__builtin_ctzll(feat[h]), f);
}

/* The stops of a family's candidate loop in 16 bytes (K_SEC, K_KW, K_NUMSTART). */
static inline unsigned chunk_stops(int which, __m128i x, unsigned *numstop)
{
	__m128i lo;
	switch (which) {
	case P_SECRET:
		return eq_mask(x, ':') | eq_mask(x, '@') | eq_mask(x, '-') | eq_mask(x, 'h') |
			eq_mask(x, 'A') | eq_mask(x, 'g') | eq_mask(x, 'x') | eq_mask(x, 'r') |
			eq_mask(x, 's') | eq_mask(x, 'e') | eq_mask(x, 'b') | eq_mask(x, '1') | eq_mask(x, '3') |
			eq_mask(x, 'i') | eq_mask(x, 'S') | eq_mask(x, 'n');
	case P_KEYWORD:
		lo = _mm_or_si128(x, _mm_set1_epi8(0x20));
		return eq_mask(lo, 'p') | eq_mask(lo, 's') | eq_mask(lo, 't') | eq_mask(lo, 'a') |
			eq_mask(lo, 'c') | eq_mask(x, '-');
	case P_NUMBER:
		*numstop = eq_mask(x, '_') | eq_mask(x, '.') | eq_mask(x, '+') | eq_mask(x, '/') |
			eq_mask(x, '-');
		return (unsigned)_mm_movemask_epi8(in_range(x, '0', '9')) | eq_mask(x, '+') |
			eq_mask(x, '(');
	}
	return 0;
}
#endif

/*
 * Where the candidate loop of a family stops in a segment scan_features()
 * read with its vector path (f->vec): a bit per byte, for
 * scan_cand_next_mask(). A number may start only after a byte outside
 * K_NUMSTOP; the identifier loop looks at the first byte of each token.
 */
uint64_t scan_cand_stops(int which, const char *s, size_t n, const scan_seg_features *f)
{
	uint64_t m = 0, stop = 0;
#if defined(__SSE2__) && defined(__GNUC__)
	if (which == P_ALPHA)
		return f->alnum & ~(f->alnum << 1);
	for (size_t o = 0; o < n; o += 16) {
		unsigned sh, ns = 0;
		__m128i x = chunk_at(s, n, o, &sh); /* sets sh: a statement of its own */
		m |= (uint64_t)(chunk_stops(which, x, &ns) >> sh) << o;
		stop |= (uint64_t)(ns >> sh) << o;
	}
	if (which == P_NUMBER)
		m &= ~((stop | f->alnum) << 1);
#else
	(void)which, (void)s, (void)n, (void)f;
#endif
	return m;
}

uint64_t scan_name_starts(const char *s, size_t n, const scan_seg_features *f)
{
	uint64_t up = 0, stop = f->alnum;
#if defined(__SSE2__) && defined(__GNUC__)
	for (size_t o = 0; o < n; o += 16) {
		unsigned sh;
		__m128i x = chunk_at(s, n, o, &sh);
		up |= (uint64_t)((unsigned)_mm_movemask_epi8(in_range(x, 'A', 'Z')) >> sh) << o;
		stop |= (uint64_t)((eq_mask(x, '@') | eq_mask(x, '.') | eq_mask(x, '_') |
			eq_mask(x, '-')) >> sh) << o;
	}
#else
	(void)s, (void)n;
#endif
	return up & ~(stop << 1);
}

void scan_features(const char *s, size_t n, size_t before, scan_seg_features *f)
{
#if defined(__SSE2__) && defined(__GNUC__)
	if (n > 0 && n + before >= 16 && n <= 128) { /* the chunks may start before s */
		features_short(s, n, f);
		return;
	}
#endif
	scan_features_ref(s, n, f);
}
