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
	K_SEC = 32, K_KW = 64, K_FEAT = 128 };

/* Byte classes (ASCII only: the scanner runs in the C locale). */
static unsigned char ctab[256];
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
		if (ch && strchr("-@:hAgxrseb13", ch))
			k |= K_SEC;
		/* first bytes of the pat_keyword branches, either case */
		if (ch && strchr("pstacPSTAC-", ch))
			k |= K_KW;
		/* bytes scan_features() looks at beyond alphanumeric runs */
		if ((k & (K_DIGIT | K_UPPER)) || (ch && strchr("@_:-=.ehxbdBD", ch)))
			k |= K_FEAT;
		ctab[ch] = (unsigned char)k;
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
		if (!has(s, n, i, "://", 3))
			return false;
		while (j < n && j - i - 3 < 128 && url_user_char(s[j]))
			j++;
		if (j == i + 3 || j >= n || s[j] != ':')
			return false;
		for (k = j + 1; k < n && k - j - 1 < 256 && (s[k] == ':' || url_user_char(s[k])); k++)
			;
		return k > j + 1 && k < n && s[k] == '@';
	}
	case 'h':
		return n - i > 5 && memcmp(s + i, "hook", 4) == 0 && (s[i + 4] == '.' || s[i + 4] == 's');
	case 'A': {
		static const char pfx[][4] = { "AKIA", "ABIA", "ACCA", "ASIA", "AGPA", "AIDA", "AROA",
			"AIPA", "ANPA", "ANVA" };
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
		return !word_before && n - i > 4 && ((s[i + 1] == 'h' && s[i + 3] == '_' &&
			(s[i + 2] == 'p' || s[i + 2] == 'o' || s[i + 2] == 'u' || s[i + 2] == 's' ||
			 s[i + 2] == 'r')) || has(s, n, i, "github_pat_", 11));
	case 'x':
		return !ALNUM(prev) && (has(s, n, i, "xapp-", 5) ||
			(has(s, n, i, "xox", 3) && n - i > 4 && (CL(s[i + 3]) & K_LOWER) && s[i + 4] == '-'));
	case 'r':
	case 's':
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
static bool alpha_at(const char *s, size_t n, size_t i)
{
	unsigned k = CL(s[i]);
	size_t tl; /* length of the alphanumeric token at i */

	if (i > 0 && ALNUM(s[i - 1]))
		return false;
	for (tl = 1; i + tl < n && ALNUM(s[i + tl]); tl++)
		;
	if (k & (K_UPPER | K_LOWER)) {
		size_t j = i + 1;
		/* DE, IB, ID: letters (at most four) then a digit; NI: two letters, a blank, a digit */
		while (j < n && j <= i + 4 && (CL(s[j]) & (K_UPPER | K_LOWER)))
			j++;
		/* ... in a token of six or more, or one a blank continues (IBAN groups) */
		if (j < n && j <= i + 4 && DIGIT(s[j]) && (tl >= 6 || (i + tl < n && s[i + tl] == ' ')))
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
	if (k & K_DIGIT) {
		size_t j = i;
		while (j < n && j - i < 17 && DIGIT(s[j]))
			j++;
		/* ID: digits, then a capital, in a token of six or more */
		if (j < n && (CL(s[j]) & K_UPPER) && tl >= 6)
			return true;
		/* MB: [1-9], a letter, a letter or digit, a digit; 11 long or dashed */
		if (i + 4 < n && s[i] != '0' && (CL(s[i + 1]) & (K_UPPER | K_LOWER)) && ALNUM(s[i + 2]) &&
		    DIGIT(s[i + 3]) && (tl >= 11 || s[i + 4] == '-'))
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

static size_t number_next(const char *s, size_t n, size_t i)
{
	while (i < n) {
		char ch = s[i], prev;
		size_t j, digits = 0, dots = 0;
		if (!DIGIT(ch) && ch != '+' && ch != '(') {
			i++;
			continue;
		}
		prev = i ? s[i - 1] : ' ';
		if (!(DIGIT(ch) || ((ch == '+' || ch == '(') && i + 1 < n && DIGIT(s[i + 1]))) ||
		    ALNUM(prev) || prev == '_' || prev == '.' || prev == '+' || prev == '/' || prev == '-') {
			i++;
			continue;
		}
		if (DIGIT(ch)) {
			/* no optional prefix can match: the match is the possessive chain
			 * [0-9]{1,19} ([ ./-][0-9]{1,19}){0,12} and its lookahead */
			int m = digit_chain(s, n, i, &j, &digits, &dots);
			if (m < 0) {
				i++;
				continue;
			}
			if (digits >= 6 || dots >= 3)
				return i;
			i = j; /* a hit the number handler ignores: resume after it */
			continue;
		}
		for (j = i; j < n && (CL(s[j]) & K_NUMRUN); j++) {
			digits += DIGIT(s[j]) != 0;
			dots += s[j] == '.';
		}
		if (digits >= 6 || dots >= 3)
			return i;
		i = j;
	}
	return n;
}

/* "bi", "bo" or "dob", any case (a birth word may start here) */
static bool birth_at(const char *s, size_t i)
{
	char a = (char)(s[i] | 0x20), b = (char)(s[i + 1] | 0x20);
	return (a == 'b' && (b == 'i' || b == 'o')) || (a == 'd' && b == 'o' && (s[i + 2] | 0x20) == 'b');
}

size_t scan_cand_next(int which, const char *s, size_t n, size_t i)
{
	pthread_once(&ctab_once, ctab_init);
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
			if (alpha_at(s, n, i))
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

/* Bytes before a capital that make scan_names() pass it by. */
static bool name_stop(char prev)
{
	return ALNUM(prev) || prev == '@' || prev == '.' || prev == '_' || prev == '-';
}

/*
 * One pass of cheap features of a segment; scan_segment() decides from them
 * which families can match at all (see there for what each one gates).
 */
void scan_features(const char *s, size_t n, scan_seg_features *f)
{
	size_t run = 0;

	pthread_once(&ctab_once, ctab_init);
	memset(f, 0, sizeof(*f));
	f->name_at = n;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned k = CL(ch);
		if (k & K_ALNUM) {
			if (++run > f->maxrun)
				f->maxrun = run;
		} else {
			run = 0;
		}
		if (!(k & K_FEAT))
			continue;
		if (k & K_DIGIT) {
			f->digits++;
			if (i + 2 < n && s[i + 1] == ' ' && (CL(s[i + 2]) & K_UPPER))
				f->street = true;
			continue;
		}
		if (k & K_UPPER) {
			f->upper = true;
			if (f->name_at == n && (i == 0 || !name_stop(s[i - 1])))
				f->name_at = i;
			/* Mr Ms Mi(ss), Dr, Pr(of) */
			if (i + 1 < n && ((ch == 'M' && (s[i + 1] == 'r' || s[i + 1] == 's' || s[i + 1] == 'i')) ||
			    ((ch == 'D' || ch == 'P') && s[i + 1] == 'r')))
				f->honorific = true;
			if ((ch == 'B' || ch == 'D') && i + 3 <= n)
				f->birth |= birth_at(s, i);
			continue;
		}
		switch (ch) {
		case '@': f->at = true; break;
		case '_':
			/* gh[pousr]_, [rs]k_, github_pat_: the only secret branches with '_' */
			if ((i >= 3 && s[i - 3] == 'g' && s[i - 2] == 'h') ||
			    (i >= 2 && s[i - 1] == 'k' && (s[i - 2] == 'r' || s[i - 2] == 's')) ||
			    (i >= 6 && memcmp(s + i - 6, "github", 6) == 0))
				f->under = true;
			break;
		case '.': f->dots++; break;
		case ':': f->colons++; break;
		case '=': f->eq = true; break;
		case '-':
			if (i + 4 < n && memcmp(s + i, "-----", 5) == 0)
				f->lead = true;
			break;
		case 'e':
			if (i + 3 < n && s[i + 1] == 'y' && s[i + 2] == 'J')
				f->lead = true;
			break;
		case 'h':
			if (i + 3 < n && s[i + 1] == 'o' && s[i + 2] == 'o' && s[i + 3] == 'k')
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
}
