/*
 * Validators: the checks that turn a pattern hit into a finding. Pure
 * functions over bounded inputs; none allocates except the JWT decoder's
 * fixed stack buffers.
 */
#include "scan_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

bool v_luhn(const char *d, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned x = (unsigned)(d[n - 1 - i] - '0');
		if (i & 1) {
			x *= 2;
			if (x > 9)
				x -= 9;
		}
		sum += x;
	}
	return n > 0 && sum % 10 == 0;
}

/* Length of the IBAN of each country (ISO 13616 registry). */
static const struct { char cc[3]; unsigned char len; } iban_lengths[] = {
	{"AD",24},{"AE",23},{"AL",28},{"AT",20},{"AZ",28},{"BA",20},{"BE",16},{"BG",22},
	{"BH",22},{"BI",27},{"BR",29},{"BY",28},{"CH",21},{"CR",22},{"CY",28},{"CZ",24},
	{"DE",22},{"DJ",27},{"DK",18},{"DO",28},{"EE",20},{"EG",29},{"ES",24},{"FI",18},
	{"FK",18},{"FO",18},{"FR",27},{"GB",22},{"GE",22},{"GI",23},{"GL",18},{"GR",27},
	{"GT",28},{"HR",21},{"HU",28},{"IE",22},{"IL",23},{"IQ",23},{"IS",26},{"IT",27},
	{"JO",30},{"KW",30},{"KZ",20},{"LB",28},{"LC",32},{"LI",21},{"LT",20},{"LU",20},
	{"LV",21},{"LY",25},{"MC",27},{"MD",24},{"ME",22},{"MK",19},{"MN",20},{"MR",27},
	{"MT",31},{"MU",30},{"NI",28},{"NL",18},{"NO",15},{"OM",23},{"PK",24},{"PL",28},
	{"PS",29},{"PT",25},{"QA",29},{"RO",24},{"RS",22},{"RU",33},{"SA",24},{"SC",31},
	{"SD",18},{"SE",24},{"SI",19},{"SK",24},{"SM",27},{"SO",23},{"ST",25},{"SV",28},
	{"TL",23},{"TN",24},{"TR",26},{"UA",29},{"VA",22},{"VG",24},{"XK",20},{"YE",30},
};

/* s: IBAN without spaces, upper case, n chars. Country length + mod 97. */
bool v_iban(const char *s, size_t n)
{
	unsigned rem = 0;
	bool known = false;

	for (size_t i = 0; i < sizeof(iban_lengths) / sizeof(iban_lengths[0]); i++)
		if (s[0] == iban_lengths[i].cc[0] && s[1] == iban_lengths[i].cc[1]) {
			if (iban_lengths[i].len != n)
				return false;
			known = true;
		}
	if (!known)
		return false;
	for (size_t k = 0; k < n; k++) {
		char ch = s[(k + 4) % n];
		if (ch >= '0' && ch <= '9')
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (ch >= 'A' && ch <= 'Z')
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

/* d: exactly 10 digits. Modulus 11 with weights 10..2. */
bool v_nhs(const char *d)
{
	unsigned sum = 0, check;
	for (int i = 0; i < 9; i++)
		sum += (unsigned)(d[i] - '0') * (unsigned)(10 - i);
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	return check != 10 && check == (unsigned)(d[9] - '0');
}

/* d: 10 digits. Luhn over "80840" + digits; starts with 1 or 2. */
bool v_npi(const char *d)
{
	char buf[16] = "80840";
	if (d[0] != '1' && d[0] != '2')
		return false;
	memcpy(buf + 5, d, 10);
	return v_luhn(buf, 15);
}

/* DEA registration: 2 letters + 7 digits, (d1+d3+d5) + 2*(d2+d4+d6) ends in d7. */
bool v_dea(const char *s)
{
	const char *d = s + 2;
	unsigned a = (unsigned)(d[0] - '0' + d[2] - '0' + d[4] - '0');
	unsigned b = (unsigned)(d[1] - '0' + d[3] - '0' + d[5] - '0');
	return (a + 2 * b) % 10 == (unsigned)(d[6] - '0');
}

bool v_itin(const char *d)
{
	int g = (d[3] - '0') * 10 + (d[4] - '0');
	if (d[0] != '9')
		return false;
	return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
		(g >= 94 && g <= 99);
}

/* d: 9 digits. 1 = plausible SSN, 2 = valid ITIN, 0 = neither. */
int v_ssn(const char *d)
{
	static const char *invalid[] = { "123456789", "078051120", "219099999", "457555462" };
	int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');

	if (d[0] == '9')
		return v_itin(d) ? 2 : 0;
	if (area == 0 || area == 666 || (d[3] == '0' && d[4] == '0') ||
	    memcmp(d + 5, "0000", 4) == 0 || v_repetitive(d, 9))
		return 0;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		if (memcmp(d, invalid[i], 9) == 0)
			return 0;
	if (memcmp(d, "98765432", 8) == 0) /* advertising range */
		return 0;
	return 1;
}

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Bitcoin P2PKH/P2SH address: base58 decodes to 25 bytes, double SHA-256 checksum. */
bool v_base58check(const char *s, size_t n)
{
	unsigned char out[25] = {0};
	unsigned char h1[32], h2[32];

	if (n < 26 || n > 35)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(b58, s[i]);
		unsigned carry;
		if (!p || !s[i])
			return false;
		carry = (unsigned)(p - b58);
		for (int j = 24; j >= 0; j--) {
			carry += 58u * out[j];
			out[j] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
		if (carry)
			return false;
	}
	if (out[0] != 0x00 && out[0] != 0x05)
		return false;
	crypto_hash_sha256(h1, out, 21);
	crypto_hash_sha256(h2, h1, 32);
	return memcmp(h2, out + 21, 4) == 0;
}

static uint32_t bech32_polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
	uint32_t top = chk >> 25;
	chk = (chk & 0x1ffffff) << 5 ^ v;
	for (int i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

/* Segwit address "bc1...": bech32 (v0) or bech32m (v1+) checksum. */
bool v_bech32(const char *s, size_t n)
{
	static const char cs[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
	uint32_t chk = 1;
	unsigned ver = 99;

	if (n < 14 || n > 90 || strncasecmp(s, "bc1", 3) != 0)
		return false;
	chk = bech32_polymod_step(chk, 'b' >> 5);
	chk = bech32_polymod_step(chk, 'c' >> 5);
	chk = bech32_polymod_step(chk, 0);
	chk = bech32_polymod_step(chk, 'b' & 31);
	chk = bech32_polymod_step(chk, 'c' & 31);
	for (size_t i = 3; i < n; i++) {
		const char *p = strchr(cs, tolower((unsigned char)s[i]));
		if (!p || !s[i])
			return false;
		if (i == 3)
			ver = (unsigned)(p - cs);
		chk = bech32_polymod_step(chk, (unsigned)(p - cs));
	}
	return (ver == 0 && chk == 1) || (ver > 0 && ver <= 16 && chk == 0x2bc830a3);
}

/* base64url decode into out (at most cap bytes); returns length or -1. */
static long b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v;
		char c = s[i];
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '-' || c == '+') v = 62;
		else if (c == '_' || c == '/') v = 63;
		else if (c == '=') break;
		else return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

/* A JWT: the header decodes to a JSON object naming "alg" or "typ", and the
 * payload (when present) decodes to text that starts like a JSON object. */
bool v_jwt(const char *s, size_t n)
{
	unsigned char hdr[1024], pay[64];
	const char *dot = memchr(s, '.', n);
	long hl, pl;
	json_t *j;
	bool ok;

	if (!dot)
		return false;
	hl = b64url_decode(s, (size_t)(dot - s), hdr, sizeof(hdr));
	if (hl <= 0)
		return false;
	j = json_loadb((const char *)hdr, (size_t)hl, JSON_DISABLE_EOF_CHECK, NULL);
	ok = json_is_object(j) && (json_object_get(j, "alg") || json_object_get(j, "typ"));
	json_decref(j);
	if (!ok)
		return false;
	{
		const char *p = dot + 1;
		size_t plen = (size_t)(s + n - p);
		const char *d2 = memchr(p, '.', plen);
		if (d2)
			plen = (size_t)(d2 - p);
		if (plen > 84) /* enough for the first 63 decoded bytes */
			plen = 84;
		plen -= plen % 4 == 1 ? 1 : 0;
		pl = b64url_decode(p, plen, pay, sizeof(pay));
		if (pl < 2 || pay[0] != '{')
			return false;
		for (long i = 1; i < pl && i < 8; i++)
			if (pay[i] != ' ' && pay[i] != '\n' && pay[i] != '\r' && pay[i] != '\t')
				return pay[i] == '"' || pay[i] == '}';
	}
	return false;
}

double v_entropy(const char *s, size_t n)
{
	unsigned cnt[256] = {0};
	double e = 0;
	for (size_t i = 0; i < n; i++)
		cnt[(unsigned char)s[i]]++;
	for (int i = 0; i < 256; i++)
		if (cnt[i]) {
			double p = (double)cnt[i] / (double)n;
			e -= p * log2(p);
		}
	return e;
}

/* One character (ignoring separators) makes up most of the value: xxxx, 0000, ####. */
bool v_repetitive(const char *s, size_t n)
{
	unsigned cnt[256] = {0}, total = 0, max = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '-' || ch == ' ' || ch == '_' || ch == '.' || ch == '/')
			continue;
		ch = (unsigned char)tolower(ch);
		total++;
		if (++cnt[ch] > max)
			max = cnt[ch];
	}
	return total >= 4 && max * 10 >= total * 8;
}

/* 0123456789, abcdef..., 1234-1234: an ascending run covers the value. */
bool v_sequential(const char *s, size_t n)
{
	size_t run = 1, best = 1, alnum = 0;
	char prev = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)tolower((unsigned char)s[i]);
		if (!isalnum((unsigned char)ch))
			continue;
		alnum++;
		if (prev && ch == prev + 1)
			run++;
		else
			run = 1;
		if (run > best)
			best = run;
		prev = ch;
	}
	return alnum >= 6 && best * 10 >= alnum * 6;
}


/*
 * Not a value at all: templates and variables (${X}, {{1.x}}, <...>, %X%,
 * $VAR), all-x or repeated characters, documentation words (YOUR_..._HERE,
 * EXAMPLE, redacted, changeme, placeholder), empty.
 */
bool v_placeholder(const char *s, size_t n)
{
	static const char *words[] = { "example", "your_", "your-", "yourapi", "_here", "redacted",
		"placeholder", "changeme", "change_me", "dummy", "<", "xxxx", "****", "...", "${",
		"{{", "$(", "%s", "replace_me", "insert_", "todo", "randomstring", "fake", "sample" };

	while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
	if (n == 0)
		return true;
	if (s[0] == '$' || (s[0] == '%' && s[n - 1] == '%') || (s[0] == '@' && s[n - 1] == '@'))
		return true;
	if ((s[0] == '{' && s[n - 1] == '}') || (s[0] == '<' && s[n - 1] == '>') ||
	    (s[0] == '[' && s[n - 1] == ']'))
		return true;
	if (v_repetitive(s, n))
		return true;
	{
		char low[256];
		size_t ln = n < sizeof(low) ? n : sizeof(low);
		for (size_t i = 0; i < ln; i++)
			low[i] = (char)tolower((unsigned char)s[i]);
		if (ln >= 8 && memcmp(low + ln - 4, "here", 4) == 0)
			return true; /* YourTokenHere, api-key-here */
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (memmem(low, ln, words[i], strlen(words[i]))) {
			/* template markers count only when they wrap most of the value */
				if ((words[i][0] == '$' || words[i][0] == '{') && n > 24)
					continue;
				return true;
			}
	}
	return false;
}

bool v_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

bool v_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* RFC 2606 / RFC 6761 names that can never reach a person. */
bool v_synthetic_domain(const char *d, size_t n)
{
	static const char *sfx[] = { "example.com", "example.org", "example.net", ".example",
		".test", ".invalid", ".localhost", "example.edu" };
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t m = strlen(sfx[i]);
		if (n >= m && strncasecmp(d + n - m, sfx[i], m) == 0 &&
		    (n == m || d[n - m - 1] == '.' || sfx[i][0] == '.'))
			return true;
	}
	return false;
}

static bool v4_public(const unsigned char a[4], bool *synthetic)
{
	*synthetic = (a[0] == 192 && a[1] == 0 && a[2] == 2) ||
		(a[0] == 198 && a[1] == 51 && a[2] == 100) || (a[0] == 203 && a[1] == 0 && a[2] == 113);
	if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
		return false;
	if ((a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64))
		return false;
	return true;
}

bool v_ipv4_public(const char *s, size_t n, bool *synthetic)
{
	char buf[16];
	unsigned char a[4];
	/* inet_pton rejects leading zeros ("1.2.3.04") and values over 255 */
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) != 1)
		return false;
	return v4_public(a, synthetic);
}

bool v_ipv6_public(const char *s, size_t n, bool *synthetic)
{
	char buf[48];
	unsigned char a[16];
	static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	bool zero = true;

	*synthetic = false;
	if (n >= sizeof(buf) || n < 3)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return false;
	if (memcmp(a, mapped, 12) == 0)
		return v4_public(a + 12, synthetic);
	for (int i = 0; i < 15; i++)
		zero = zero && a[i] == 0;
	if (zero) /* :: and ::1 */
		return false;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* link-local */
		return false;
	if ((a[0] & 0xfe) == 0xfc || a[0] == 0xff) /* unique local, multicast */
		return false;
	*synthetic = a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8;
	return true;
}

/* Test card numbers published by card networks and payment processors. */
bool v_test_card(const char *d)
{
	static const char *cards[] = { "4111111111111111", "4012888888881881", "4242424242424242",
		"4000056655665556", "5555555555554444", "5105105105105100", "5200828282828210",
		"378282246310005", "371449635398431", "378734493671000", "6011111111111117",
		"6011000990139424", "3056930009020004", "36227206271667", "3566002020360505",
		"6200000000000005", "4222222222222", "2223003122003222", "4000000000000002",
		"4012888888881881", "5019717010103742", "6759649826438453", "6011000400000000",
		"4484070000000000", "4917610000000000003", "6331101999990016" };
	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++)
		if (strcmp(d, cards[i]) == 0)
			return true;
	return false;
}

/* 1999-12-31, 31.12.1999, 12/31/1999, 3 March 1971, March 3, 1971: plausible as a birth date. */
/* YYYYMMDD, DDMMYYYY or MMDDYYYY written without separators */
static bool compact_date(const char *s, size_t n)
{
	int v[8];
	if (n != 8)
		return false;
	for (size_t i = 0; i < 8; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v[i] = s[i] - '0';
	}
	{
		int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
		if (y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31)
			return true;
	}
	{
		int a = v[0] * 10 + v[1], b = v[2] * 10 + v[3], y = v[4] * 1000 + v[5] * 100 + v[6] * 10 + v[7];
		if (y < 1900 || y > 2099)
			return false;
		return (a >= 1 && a <= 31 && b >= 1 && b <= 12) || (a >= 1 && a <= 12 && b >= 1 && b <= 31);
	}
}

bool v_date(const char *s, size_t n)
{
	int nums[3] = {0}, k = 0, digits = 0;
	bool month_word = false;
	if (compact_date(s, n))
		return true;
	for (size_t i = 0; i < n && k < 3; i++) {
		if (isdigit((unsigned char)s[i])) {
			/* saturate: a long digit run is no year, and must not overflow */
			nums[k] = nums[k] >= 100000 ? 100000 : nums[k] * 10 + (s[i] - '0');
			digits++;
			if (i + 1 == n || !isdigit((unsigned char)s[i + 1]))
				k++;
		} else if (isalpha((unsigned char)s[i])) {
			month_word = true;
		}
	}
	if (digits < 4)
		return false;
	for (int i = 0; i < k; i++)
		if (nums[i] >= 1900 && nums[i] <= 2099)
			return true;
	return month_word || k == 3;
}
