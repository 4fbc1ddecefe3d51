/*
 * The six pcre2 patterns the scanner runs (scan_rules.c says how) and how each is
 * compiled. Linked into the scanner and into bpg_scan_precompile, the build-time
 * program that compiles them once and embeds pcre2's serialized code in the library
 * (scan_patterns_pre.c, generated): a process then decodes a pattern instead of
 * compiling it (pcre2_compile was two thirds of a commit hook's scanner set-up).
 * Nothing here but pcre2, so that the build-time program needs nothing else.
 */
#include "scan_internal.h"

#include <stdio.h>

#define NB "(?<![A-Za-z0-9])"

/* Secrets, URLs, e-mail, wallets: case-sensitive literals. */
static const char pat_secret[] =
	"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(*MARK:PK)"
	"|" NB "(?:A3T[A-Z0-9]|AKIA|ABIA|ACCA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?![A-Za-z0-9])(*MARK:AK)"
	"|(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}+(?![A-Za-z0-9_])(*MARK:GH)"
	"|(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{60,251}+(*MARK:GH)"
	"|" NB "(?:xox[a-z]|xapp)-[A-Za-z0-9%-]{6,250}+(*MARK:SL)"
	"|" NB "[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}+(?![A-Za-z0-9])(*MARK:ST)"
	"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,1000}+\\.[A-Za-z0-9_-]{2,6000}+(?:\\.[A-Za-z0-9_-]{0,1000}+)?(*MARK:JW)"
	"|hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]{20,200}+(*MARK:SW)"
	"|hooks/(*MARK:DC)"
	"|hook\\.office\\.com/webhookb2/(*MARK:TM)"
	"|ifttt\\.com/(*MARK:IF)"
	"|invoke\\?(*MARK:PA)"
	"|(?<=[0-9]):A[A-Za-z0-9_-]{34}(?![A-Za-z0-9_-])(*MARK:TG)"
	"|" NB "SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])(*MARK:SG)"
	"|" NB "glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])(*MARK:GL)"
	"|" NB "npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])(*MARK:NP)"
	"|" NB "AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])(*MARK:GK)"
	"|" NB "shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])(*MARK:SH)"
	"|" NB "sk-[A-Za-z0-9_-]{20,250}+(*MARK:OA)"
	"|hooks\\.zapier\\.com/hooks/(?:catch|standard)/(?:[0-9]{1,12}/)?[A-Za-z0-9]{1,64}+(*MARK:ZW)"
	"|hook\\.(?:[a-z0-9-]{1,20}\\.)?(?:make\\.com|integromat\\.com|make\\.celonis\\.com)/[A-Za-z0-9_-]{1,80}+(*MARK:MW)"
	"|://[^\\s/?#@\"'<>:\\\\]{0,128}:[^\\s/?#@\"'<>\\\\]{1,256}@(*MARK:PU)"
	"|(?<=[A-Za-z0-9._%+-])@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){1,8}"
	"(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9-])(*MARK:EM)"
	"|(?<![A-Za-z0-9_])(?:bc1[02-9ac-hj-np-z]{11,87}+|[13][1-9A-HJ-NP-Za-km-z]{25,34}+)(?![A-Za-z0-9])(*MARK:CW)";

/* IPv6 candidates (inet_pton decides); run only on text with two colons. */
static const char pat_ipv6[] =
	"(?<![A-Za-z0-9:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}+"
	"(?:\\.[0-9]{1,3}){0,3}+(?![A-Za-z0-9:])(*MARK:I6)";

/* Runs of digits with single separators: phones, cards, SSNs, dates, IPv4. */
static const char pat_number[] =
	"(?<![A-Za-z0-9_.+/-])(?>\\+[0-9]{1,3}[ .-]?)?(?>\\([0-9]{1,4}\\)[ .-]?)?"
	"[0-9]{1,19}+(?>[ ./-][0-9]{1,19}+){0,12}+(?![A-Za-z0-9_]|[.-][0-9])";

/* Identifiers with letters: DEA, NINO, MBI, IBAN, licence/passport ids, names, addresses, dates. */
static const char pat_alpha[] =
	NB "[A-Z][A-Z9][0-9]{7}(?![A-Za-z0-9])(*MARK:DE)"
	"|" NB "(?i:[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])(?![A-Za-z0-9])(*MARK:NI)"
	"|" NB "[1-9](?i:[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?"
	"[AC-HJKMNP-RT-Y]{2}[0-9]{2})(?![A-Za-z0-9])(*MARK:MB)"
	"|" NB "[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{1,4}+){2,8}+(*MARK:IB)"
	"|" NB "(?=[0-9]{0,16}[A-Z])(?=[A-Z]{0,4}[0-9])[A-Z0-9]{6,17}+(?![A-Za-z0-9])(*MARK:ID)"
	"|" NB "[0-9]{1,6} (?:[A-Z][A-Za-z'.-]{0,20} ){1,3}"
	"(?i:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
	"terrace|highway|hwy|parkway|pkwy|circle|cir|square|sq|trail)(?![A-Za-z])\\.?(*MARK:SA)"
	"|" NB "(?:Mr|Mrs|Ms|Miss|Dr|Prof)\\.? [A-Z][a-z]{1,20}+(?: [A-Z][a-z]{1,20}+)?(*MARK:HN)";

/* Dates with month names; run only where the context speaks of birth. */
static const char pat_date[] =
	NB "[0-9]{1,2}(?:st|nd|rd|th)? (?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\\.?,? [0-9]{4}(*MARK:DT)"
	"|" NB "(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\\.? [0-9]{1,2}(?:st|nd|rd|th)?,? [0-9]{4}(*MARK:DT)";

/* Assignments to credential-named keys, and curl user options. */
static const char pat_keyword[] =
	"(?i:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|authorization|auth|credentials?|"
	"access[_-]?key|private[_-]?key)(*MARK:KW)"
	"|(?<![A-Za-z0-9-])(?:--user|-u)(?=[ =])(*MARK:CU)";

static const char *const pats[P_COUNT] = { pat_secret, pat_number, pat_alpha, pat_keyword, pat_ipv6,
	pat_date };
static const char *const names[P_COUNT] = { "secret", "number", "alpha", "keyword", "ipv6", "date" };

const char *scan_pattern_name(int which)
{
	return which >= 0 && which < P_COUNT ? names[which] : "?";
}

pcre2_code *scan_pattern_compile(int which, bool anchored, int *ec, PCRE2_SIZE *eo)
{
	/* anchored copies run at candidate offsets (JIT ignores PCRE2_ANCHORED given at match
	 * time, so it is a compile option) */
	return pcre2_compile((PCRE2_SPTR)pats[which], PCRE2_ZERO_TERMINATED,
		PCRE2_NO_UTF_CHECK | (anchored ? PCRE2_ANCHORED : 0), ec, eo, NULL);
}

/* pcre2_serialize_decode() checks pcre2's major and minor version and the sizes of a code
 * unit, a pointer and PCRE2_SIZE only; the compiled code also depends on how that pcre2 was
 * configured (link size, newline and \R defaults, Unicode), and a build that differs there
 * would misread it. So the embedded code carries all of these, and is decoded only where
 * they are the same (scan_rules.c). */
int scan_pcre2_id(char out[SCAN_PCRE2_ID_MAX])
{
	char version[64];
	uint32_t link = 0, newline = 0, bsr = 0, unicode = 0;
	int n;

	if (pcre2_config(PCRE2_CONFIG_VERSION, version) < 0 || pcre2_config(PCRE2_CONFIG_LINKSIZE, &link) < 0 ||
	    pcre2_config(PCRE2_CONFIG_NEWLINE, &newline) < 0 || pcre2_config(PCRE2_CONFIG_BSR, &bsr) < 0 ||
	    pcre2_config(PCRE2_CONFIG_UNICODE, &unicode) < 0)
		return -1;
	for (char *c = version; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			*c = '?';
	n = snprintf(out, SCAN_PCRE2_ID_MAX, "pcre2 %s link %u newline %u bsr %u unicode %u width %zu ptr %zu size %zu",
		version, (unsigned)link, (unsigned)newline, (unsigned)bsr, (unsigned)unicode, sizeof(PCRE2_UCHAR),
		sizeof(void *), sizeof(PCRE2_SIZE));
	return n > 0 && n < SCAN_PCRE2_ID_MAX ? 0 : -1;
}
