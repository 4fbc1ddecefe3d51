/* allowed_signers files (ssh-keygen(1) ALLOWED SIGNERS): parsing, ssh
 * pattern-lists and times. Lines are kept in file order. */
#include "internal.h"
#include "bpgate/testhook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LINE_LEN 16384

/* Wildcard match ('*' any run, '?' one byte), case-sensitive, iterative
 * with single-star backtracking: O(len(p) * len(s)), no recursion. */
static bool wild_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < slen) {
		if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool bpg_ssh_pattern_list_match(const char *patterns, size_t plen, const char *name, size_t nlen)
{
	bool positive = false;
	size_t i = 0;

	while (i <= plen) {
		size_t j = i;
		while (j < plen && patterns[j] != ',')
			j++;
		const char *sub = patterns + i;
		size_t sublen = j - i;
		bool neg = sublen > 0 && sub[0] == '!';
		if (neg) {
			sub++;
			sublen--;
		}
		if (sublen > 0 && wild_match(sub, sublen, name, nlen)) {
			if (neg)
				return false; /* a matching negation vetoes, as in ssh */
			positive = true;
		}
		i = j + 1;
	}
	return positive;
}

static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int bpg_ssh_parse_time(time_t *out, const char *text, size_t len, bpg_error *err)
{
	struct tm tm;
	bool utc = false;
	time_t t;

	if (len > 0 && (text[len - 1] == 'Z' || text[len - 1] == 'z')) {
		utc = true;
		len--;
	}
	if (len != 8 && len != 12 && len != 14)
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)text[i]))
			goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = two(text) * 100 + two(text + 2) - 1900;
	tm.tm_mon = two(text + 4) - 1;
	tm.tm_mday = two(text + 6);
	if (len >= 12) {
		tm.tm_hour = two(text + 8);
		tm.tm_min = two(text + 10);
	}
	if (len == 14)
		tm.tm_sec = two(text + 12);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		goto bad;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		goto bad;
	*out = t;
	return 0;
bad:
	return bpg_error_set(err, BPG_EINVALID,
		"invalid time '%.*s': expected YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally followed by Z for UTC",
		(int)(len > 40 ? 40 : len), text);
}

void bpg_allowed_signers_free(bpg_allowed_signers *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].principals);
		free(s->v[i].namespaces);
	}
	free(s->v);
	free(s->name);
	free(s);
}

size_t bpg_allowed_signers_count(const bpg_allowed_signers *s)
{
	return s ? s->n : 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Key types OpenSSH knows that we keep but never match. */
static bool known_other_type(const char *t, size_t n)
{
	static const char *types[] = { "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (n == strlen(types[i]) && memcmp(t, types[i], n) == 0)
			return true;
	return false;
}

static bool is_key_type(const char *t, size_t n)
{
	return (n == 11 && memcmp(t, "ssh-ed25519", 11) == 0) || known_other_type(t, n);
}

/* One option of the comma-separated list at *p (quotes may hold commas). */
static int parse_option(ssh_signer *sg, const char **pp, const char *end, bpg_error *err)
{
	const char *p = *pp, *name = p, *val = NULL;
	size_t namelen, vallen = 0;

	while (p < end && *p != '=' && *p != ',')
		p++;
	namelen = (size_t)(p - name);
	if (p < end && *p == '=') {
		p++;
		if (p >= end || *p != '"')
			return bpg_error_set(err, BPG_EINVALID, "option '%.*s' needs a double-quoted value",
				(int)namelen, name);
		val = ++p;
		while (p < end && *p != '"')
			p++;
		if (p >= end)
			return bpg_error_set(err, BPG_EINVALID, "unterminated quoted value of option '%.*s'",
				(int)namelen, name);
		vallen = (size_t)(p - val);
		p++;
	}
	if (p < end && *p != ',')
		return bpg_error_set(err, BPG_EINVALID, "unexpected character after option '%.*s'",
			(int)namelen, name);
	*pp = p < end ? p + 1 : p;
	if (namelen == 14 && strncasecmp(name, "cert-authority", 14) == 0 && !val) {
		sg->cert_authority = true;
		return 0;
	}
	if (val && namelen == 10 && strncasecmp(name, "namespaces", 10) == 0) {
		if (sg->namespaces)
			return bpg_error_set(err, BPG_EINVALID, "namespaces= given twice");
		if (vallen == 0)
			return bpg_error_set(err, BPG_EINVALID, "namespaces= is empty");
		if (!(sg->namespaces = dup_n(val, vallen)))
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		return 0;
	}
	if (val && namelen == 11 && strncasecmp(name, "valid-after", 11) == 0) {
		if (sg->has_after)
			return bpg_error_set(err, BPG_EINVALID, "valid-after= given twice");
		sg->has_after = true;
		return bpg_ssh_parse_time(&sg->valid_after, val, vallen, err);
	}
	if (val && namelen == 12 && strncasecmp(name, "valid-before", 12) == 0) {
		if (sg->has_before)
			return bpg_error_set(err, BPG_EINVALID, "valid-before= given twice");
		sg->has_before = true;
		return bpg_ssh_parse_time(&sg->valid_before, val, vallen, err);
	}
	{
		bpg_buf shown = BPG_BUF_INIT;
		bpg_safe_put(&shown, name, namelen, 40);
		bpg_error_set(err, BPG_EINVALID,
			"unknown option '%s' (known: cert-authority, namespaces=\"...\", valid-after=\"...\", valid-before=\"...\")",
			shown.ptr ? shown.ptr : "");
		bpg_buf_dispose(&shown);
	}
	return BPG_EINVALID;
}

static int parse_line(ssh_signer *sg, const char *p, const char *end, bpg_error *err)
{
	const char *tok;
	int rc;

	tok = p;
	while (p < end && !blank(*p))
		p++;
	if ((size_t)(p - tok) > BPG_SSHSIG_PRINCIPAL_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "principals longer than %d bytes", BPG_SSHSIG_PRINCIPAL_MAX);
	if (memchr(tok, '"', (size_t)(p - tok)))
		return bpg_error_set(err, BPG_EINVALID, "quoted principals are not supported");
	if (!(sg->principals = dup_n(tok, (size_t)(p - tok))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	while (p < end && blank(*p))
		p++;
	tok = p;
	while (p < end && !blank(*p))
		p++;
	if (p == tok)
		return bpg_error_set(err, BPG_EINVALID, "missing key after the principals");
	if (!is_key_type(tok, (size_t)(p - tok))) {
		/* Options first; quoted values may contain blanks. */
		const char *o = tok;
		bool inq = false;
		p = tok;
		while (p < end && (inq || !blank(*p))) {
			if (*p == '"')
				inq = !inq;
			p++;
		}
		while (o < p)
			if ((rc = parse_option(sg, &o, p, err)) < 0)
				return rc;
		while (p < end && blank(*p))
			p++;
		tok = p;
		while (p < end && !blank(*p))
			p++;
		if (p == tok)
			return bpg_error_set(err, BPG_EINVALID, "missing key after the options");
	}
	if (!is_key_type(tok, (size_t)(p - tok))) {
		bpg_buf shown = BPG_BUF_INIT;
		bpg_safe_put(&shown, tok, (size_t)(p - tok), 40);
		bpg_error_set(err, BPG_EINVALID, "'%s' is not a key type (expected e.g. ssh-ed25519 AAAA...)",
			shown.ptr ? shown.ptr : "");
		bpg_buf_dispose(&shown);
		return BPG_EINVALID;
	}
	if (known_other_type(tok, (size_t)(p - tok))) {
		sg->supported = false; /* kept, never matches: bpgate verifies ed25519 only */
		return 0;
	}
	sg->supported = true;
	return bpg_ssh_pubkey_parse(&sg->key, NULL, tok, (size_t)(end - tok), err);
}

int bpg_allowed_signers_parse(bpg_allowed_signers **out, const char *data, size_t len,
	const char *name, bpg_error *err)
{
	bpg_allowed_signers *s = NULL;
	const char *p = data, *end = data + len;
	size_t lineno = 0;
	int rc = 0;

	*out = NULL;
	if (!name)
		name = "allowed_signers";
	if (len > BPG_ALLOWED_SIGNERS_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %d bytes", name, BPG_ALLOWED_SIGNERS_MAX);
	if (!(s = calloc(1, sizeof(*s))) || !(s->name = dup_n(name, strlen(name)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *le;
		const char *next = eol ? eol + 1 : end;
		le = eol ? eol : end;
		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		if ((size_t)(le - p) > MAX_LINE_LEN) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s:%zu: line longer than %d bytes", name, lineno, MAX_LINE_LEN);
			goto done;
		}
		if (memchr(p, '\0', (size_t)(le - p))) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s:%zu: NUL byte in line", name, lineno);
			goto done;
		}
		while (p < le && blank(*p))
			p++;
		if (p == le || *p == '#') {
			p = next;
			continue;
		}
		ssh_signer *nv = bpg_array_grow(s->v, &s->cap, s->n + 1, sizeof(*nv), 8);
		if (!nv) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		s->v = nv;
		ssh_signer *sg = &s->v[s->n++];
		memset(sg, 0, sizeof(*sg));
		sg->line = lineno;
		if ((rc = parse_line(sg, p, le, err)) < 0) {
			bpg_error_prefix(err, "%s:%zu: ", name, lineno);
			goto done;
		}
		p = next;
	}
	*out = s;
	s = NULL;
done:
	bpg_allowed_signers_free(s);
	return rc;
}

int bpg_allowed_signers_load(bpg_allowed_signers **out, const char *path, bpg_error *err)
{
	bpg_buf data = BPG_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = bpg_file_read(&data, path, BPG_ALLOWED_SIGNERS_MAX, err)) == 0)
		rc = bpg_allowed_signers_parse(out, data.ptr ? data.ptr : "", data.size, path, err);
	bpg_buf_dispose(&data);
	return rc;
}

/* Is the line valid at `now`? 0, or the reason it is not. */
bpg_sshsig_reason ssh_signer_time_check(const ssh_signer *sg, time_t now)
{
	if (sg->has_after && now < sg->valid_after)
		return BPG_SSHSIG_NOT_YET_VALID;
	if (sg->has_before && now > sg->valid_before)
		return BPG_SSHSIG_EXPIRED;
	return BPG_SSHSIG_OK;
}

int bpg_allowed_signers_find_principals(bpg_buf *out, const bpg_allowed_signers *s,
	const bpg_ssh_pubkey *key, const char *namespace, time_t now, bpg_error *err)
{
	int found = 0;

	for (size_t i = 0; i < s->n; i++) {
		const ssh_signer *sg = &s->v[i];
		if (!sg->supported || sg->cert_authority || !bpg_ssh_pubkey_equal(&sg->key, key))
			continue;
		if (ssh_signer_time_check(sg, now) != BPG_SSHSIG_OK)
			continue;
		if (namespace && sg->namespaces &&
		    !bpg_ssh_pattern_list_match(sg->namespaces, strlen(sg->namespaces), namespace, strlen(namespace)))
			continue;
		if (bpg_buf_puts(out, sg->principals) < 0 || bpg_buf_putc(out, '\n') < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		if (found < 1 << 30)
			found++;
	}
	return found;
}
