/*
 * The matching engine: runs the compiled patterns over one segment (a JSON
 * string or number, or a window of plain text), validates each hit and
 * queues candidate findings; scan_flush() turns them into findings in
 * offset order.
 */
#include "scan_internal.h"
#include "bpgate/testhook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISALNUM(ch) isalnum((unsigned char)(ch))
/* ASCII classes without a ctype call, for the per-byte loops below (the
 * CLI runs in the "C" locale, where they are the same) */
#define A_UPPER(ch) ((unsigned)(unsigned char)(ch) - 'A' < 26u)
#define A_LOWER(ch) ((unsigned)(unsigned char)(ch) - 'a' < 26u)
#define A_DIGIT(ch) ((unsigned)(unsigned char)(ch) - '0' < 10u)
#define A_ALPHA(ch) (((unsigned)(unsigned char)(ch) | 0x20u) - 'a' < 26u)
#define A_ALNUM(ch) (A_ALPHA(ch) || A_DIGIT(ch))

int scan_emit(scan_ctx *c, scan_rule rule, size_t start, size_t vlen, bool synthetic,
	bpg_error *err)
{
	bpg_scanner *s = c->s;
	size_t raw = c->seg_raw + (c->map ? c->map[start] : start);

	if (start >= c->accept_end)
		return 0;
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].rule == rule && s->pend[i].raw == raw)
			return 0;
	struct scan_pending *p = bpg_array_grow(s->pend, &s->pend_cap, s->npend + 1, sizeof(*p), 32);
	if (!p)
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	s->pend = p;
	s->pend[s->npend++] = (struct scan_pending){ rule, raw, start, vlen, synthetic };
	c->seg_found |= (uint64_t)1 << rule;
	return 0;
}

static bool found(const scan_ctx *c, scan_rule r)
{
	return (c->seg_found >> r) & 1;
}

/* Classes of the words just before `start` on the same line (64 bytes), plus
 * the JSON key context. */
unsigned scan_line_context(const scan_ctx *c, size_t start)
{
	size_t b = start > 64 ? start - 64 : 0;
	size_t i = start;
	unsigned cls = c->keyself | c->keyctx;

	while (i > b && c->seg[i - 1] != '\n')
		i--;
	if (i < start)
		cls |= scan_words_classes(c->seg + i, start - i, false);
	return cls;
}

/* ---- secrets ------------------------------------------------------------ */

/* A PEM private key needs a body: at least 64 base64 characters after the
 * header (literal "\n" escapes and whitespace skipped), before any "-----". */
static bool pem_has_body(const char *p, size_t n)
{
	size_t b64 = 0;
	for (size_t i = 0; i < n && i < 4096 && b64 < 64; i++) {
		char ch = p[i];
		if (ISALNUM(ch) || ch == '+' || ch == '/' || ch == '=')
			b64++;
		else if (ch == '\\' && i + 1 < n && (p[i + 1] == 'n' || p[i + 1] == 'r'))
			i++;
		else if (ch == ':' ) /* Proc-Type / DEK-Info headers of encrypted PEM */
			continue;
		else if (ch != '\n' && ch != '\r' && ch != ' ' && ch != '\t' && ch != ',' && ch != '-')
			return false;
		else if (ch == '-' && b64 > 0)
			return false;
	}
	return b64 >= 64;
}

static bool slack_token_ok(const char *t, size_t n)
{
	size_t seg_start, nseg = 0, first_digits = 0, last_len = 0;
	bool first_numeric = true;

	if (n < 20 || v_placeholder(t, n) || v_sequential(t + 5, n - 5))
		return false;
	/* xoxd-: the "d" session cookie of a browser session (with xoxc-), URL-encoded */
	if (t[3] == 'd')
		return n >= 40 && v_entropy(t + 5, n - 5) >= 3.0;
	/* xoxe-1- (refresh), xapp-1- (app), xox?-1- (config tokens, after "xoxe."),
	 * xoxa-2- / xoxr-1- (workspace and rotated tokens): a digit between dashes */
	if (t[4] == '-' && n > 7 && isdigit((unsigned char)t[5]) && t[6] == '-') {
		size_t alnum = 0;
		for (size_t i = 7; i < n; i++)
			alnum += isalnum((unsigned char)t[i]) != 0;
		/* configuration and refresh tokens carry 140+ base64 bytes, app
		 * tokens four dash-separated parts, workspace/rotated ones 20+ */
		if ((t[3] == 'a' || t[3] == 'r') ? alnum >= 20 : t[1] == 'a' ? n >= 40 : n - 7 >= 100)
			return v_entropy(t + 7, n - 7) >= 2.0; /* gitleaks' minimum for these */
	}
	seg_start = 5;
	for (size_t i = 5; i <= n; i++) {
		if (i == n || t[i] == '-') {
			size_t len = i - seg_start;
			if (nseg == 0)
				first_digits = first_numeric ? len : 0;
			last_len = len;
			nseg++;
			seg_start = i + 1;
			first_numeric = true;
		} else if (!isdigit((unsigned char)t[i])) {
			first_numeric = false;
		}
	}
	return nseg >= 2 && first_digits >= 5 && last_len >= 10;
}

/* "username:token", "user:password": words that name what belongs there */
static bool placeholder_pair(const char *v, size_t n)
{
	static const char *w[] = { "user", "username", "login", "email", "token", "password", "pass",
		"passwd", "secret", "key", "apikey", "api_key", "client_id", "client_secret", "id" };
	const char *colon = memchr(v, ':', n);
	size_t parts[2][2];
	int hits = 0;

	if (!colon)
		return false;
	parts[0][0] = 0, parts[0][1] = (size_t)(colon - v);
	parts[1][0] = parts[0][1] + 1, parts[1][1] = n - parts[1][0];
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
			if (strlen(w[i]) == parts[k][1] && strncasecmp(v + parts[k][0], w[i], parts[k][1]) == 0) {
				hits++;
				break;
			}
	return hits == 2;
}

/* Curl credentials and credential-named assignments share this check. */
static bool secret_value_ok(const char *v, size_t n, bool quoted)
{
	size_t digits = 0;
	if (n == 0 || n > 512 || v_placeholder(v, n) || placeholder_pair(v, n))
		return false;
	if (n >= 21 && strncmp(v, "wJalrXUtnFEMI/K7MDENG", 21) == 0) /* AWS documentation key */
		return false;
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)v[i]))
			digits++;
	if (!quoted) { /* code: get_secret(), request.headers["x"] */
		size_t i = 0;
		while (i < n && (isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '.'))
			i++;
		if (i > 0 && i < n && (v[i] == '(' || v[i] == '['))
			return false;
	}
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && v_hex(v + 2, n - 2))
		return false; /* 0x… chain addresses and hashes are public */
	{ /* ENUM_CONSTANTS (CONTAINS_TOKEN) are option values, not secrets */
		size_t i = 0;
		while (i < n && (isupper((unsigned char)v[i]) || v[i] == '_'))
			i++;
		if (i == n)
			return false;
	}
	{ /* a host name is not a secret */
		size_t i = 0, dots = 0, lastdot = 0;
		for (; i < n && (islower((unsigned char)v[i]) || isdigit((unsigned char)v[i]) ||
		     v[i] == '-' || v[i] == '.'); i++)
			if (v[i] == '.')
				dots++, lastdot = i;
		if (i == n && dots >= 2 && n - lastdot >= 3 && isalpha((unsigned char)v[n - 1]))
			return false;
	}
	if (digits == n && n < 8)
		return false;
	if (!quoted) {
		if (n < 6)
			return false;
		/* dotted identifiers (request.headers, os.environ) are code */
		if (isalpha((unsigned char)v[0]) && memchr(v, '.', n) && !memchr(v, '/', n) &&
		    v_entropy(v, n) < 3.5)
			return false;
	}
	return true;
}

/* Values owned by a provider rule: that rule decides, not the generic one. */
static bool openai_key(const char *t, size_t n)
{
	if (!t || n < 40 || strncmp(t, "sk-", 3) != 0 || v_placeholder(t, n))
		return false;
	return memmem(t, n, "T3BlbkFJ", 8) != NULL || strncmp(t, "sk-proj-", 8) == 0 ||
		strncmp(t, "sk-svcacct-", 11) == 0 || strncmp(t, "sk-admin-", 9) == 0;
}

static bool provider_owned(const char *v, size_t n)
{
	static const char *pfx[] = { "xox", "xapp-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
		"github_pat_", "sk_", "rk_", "pk_", "AKIA", "ASIA", "ABIA", "-----BEGIN", "SG.",
		"glpat-", "npm_", "AIza", "shpat_", "shpss_", "shpca_", "shppa_" };
	size_t d = 0;
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (n >= strlen(pfx[i]) && strncmp(v, pfx[i], strlen(pfx[i])) == 0)
			return true;
	if (openai_key(v, n))
		return true;
	while (d < n && isdigit((unsigned char)v[d]))
		d++;
	if (d >= 5 && d <= 16 && n - d == 36 && v[d] == ':' && v[d + 1] == 'A')
		return true; /* Telegram bot token */
	return memchr(v, ':', n) && n > 3 && memmem(v, n, "://", 3) != NULL;
}

static bool base64ish40(const char *v, size_t n)
{
	bool up = false, lo = false, dig = false;
	if (n != 40 || v_hex(v, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (isupper((unsigned char)ch)) up = true;
		else if (islower((unsigned char)ch)) lo = true;
		else if (isdigit((unsigned char)ch)) dig = true;
		else if (ch != '/' && ch != '+') return false;
	}
	return up && lo && dig;
}

/*
 * A credential value at seg[vs, vs+vn) held by a credential-named key with
 * classes `cls`: MAKE_API_TOKEN, AWS_SECRET_KEY or GENERIC_API_KEY.
 */
static int secret_value(scan_ctx *c, unsigned cls, size_t vs, size_t vn, bool quoted,
	bpg_error *err)
{
	const char *v = c->seg + vs;
	bool token_scheme = false;

	/* an Authorization scheme word is not part of the secret */
	static const char *schemes[] = { "Bearer ", "Token ", "Basic ", "Digest ", "token " };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t m = strlen(schemes[i]);
		if (vn >= m && strncmp(v, schemes[i], m) == 0) {
			token_scheme = schemes[i][0] == 'T' || schemes[i][0] == 't';
			vs += m, vn -= m, v += m;
			while (vn && *v == ' ')
				vs++, vn--, v++;
			break;
		}
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '.' || v[vn - 1] == ';'))
		vn--;
	while (vn && (*v == '.' || *v == ' '))
		vs++, vn--, v++;
	if (!quoted) { /* unquoted: the value ends at the first blank */
		const char *sp = memchr(v, ' ', vn);
		if (sp)
			vn = (size_t)(sp - v);
	}
	if (vn >= 3 && strncmp(v, "eyJ", 3) == 0 && v_jwt(v, vn))
		return 0; /* the JWT rule reports it */
	if (provider_owned(v, vn) || !secret_value_ok(v, vn, quoted))
		return 0;
	if (v_uuid(v, vn) && ((cls & C_MAKE) || token_scheme))
		return scan_emit(c, R_MAKE_API_TOKEN, vs, vn, false, err);
	if (base64ish40(v, vn) && ((cls & C_AWS) || (c->last_aws_key &&
	    c->seg_raw + vs < c->last_aws_key + 1024)))
		return scan_emit(c, R_AWS_SECRET_KEY, vs, vn, false, err);
	if (found(c, R_GENERIC_API_KEY) && c->in_json)
		return 0;
	return scan_emit(c, R_GENERIC_API_KEY, vs, vn, false, err);
}

static bool ident_char(char ch)
{
	return ISALNUM(ch) || ch == '_' || ch == '-' || ch == '.';
}

/* keyword hit at [ms, me): read the whole identifier, an assignment, a value. */
static size_t on_keyword(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t n = c->seg_len, is = ms, ie = me, p, vs, ve;
	bool key_quoted = false, quoted = false;
	unsigned cls;
	char q = 0;

	while (is > 0 && ms - is < 64 && ident_char(s[is - 1]))
		is--;
	while (ie < n && ie - me < 64 && ident_char(s[ie]))
		ie++;
	cls = scan_words_classes(s + is, ie - is, true);
	if (!(cls & C_SECRET) || (cls & (C_NOTSECRET | C_IDLIKE)))
		return ie;
	p = ie;
	if (p < n && (s[p] == '"' || s[p] == '\'')) {
		key_quoted = is > 0 && s[is - 1] == s[p];
		p++;
	}
	while (p < n && (s[p] == ' ' || s[p] == '\t'))
		p++;
	if (p + 1 < n && ((s[p] == ':' && s[p + 1] == '=') || (s[p] == '=' && s[p + 1] == '>')))
		p += 2;
	else if (p < n && (s[p] == '=' || s[p] == ':' || (s[p] == ',' && key_quoted)))
		p++;
	else
		return ie;
	while (p < n && (s[p] == ' ' || s[p] == '\t'))
		p++;
	if (p < n && (s[p] == '"' || s[p] == '\'' || s[p] == '`')) {
		q = s[p++];
		quoted = true;
	}
	vs = p;
	for (ve = vs; ve < n && ve - vs < 512 && s[ve] != '\n'; ve++) {
		char ch = s[ve];
		if (quoted ? ch == q : (ch == '"' || ch == '\'' || ch == ';' || ch == ',' ||
		    ch == '&' || ch == '<' ||
		    (ch == ' ' && !(ve - vs == 6 && strncmp(s + vs, "Bearer", 6) == 0) &&
		     !(ve - vs == 5 && strncasecmp(s + vs, "Token", 5) == 0) &&
		     !(ve - vs == 5 && strncmp(s + vs, "Basic", 5) == 0))))
			break;
	}
	if (quoted && (ve >= n || s[ve] != q))
		return ie;
	if (!quoted && ve < n && s[ve] == '<')
		return ve; /* Bearer <your token> */
	if (!quoted) /* unbalanced closers belong to the surrounding code */
		while (ve > vs && (s[ve - 1] == ')' || s[ve - 1] == '}' || s[ve - 1] == ']'))
			ve--;
	*rc = secret_value(c, cls, vs, ve - vs, quoted, err);
	return ve > ie ? ve : ie;
}

/* curl -u / --user user:password */
static size_t on_curl_user(scan_ctx *c, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t n = c->seg_len, p = me, vs, ve;
	const char *colon;
	char q = 0;

	while (p < n && (s[p] == ' ' || s[p] == '='))
		p++;
	if (p < n && (s[p] == '"' || s[p] == '\''))
		q = s[p++];
	vs = p;
	for (ve = vs; ve < n && ve - vs < 256 && s[ve] != '\n' && (q ? s[ve] != q : s[ve] != ' '); ve++)
		;
	colon = memchr(s + vs, ':', ve - vs);
	if (!colon || s[vs] == '$')
		return ve;
	{
		size_t ul = (size_t)(colon - (s + vs)), ps = (size_t)(colon + 1 - s), pl = ve - ps;
		if (pl == 0 || (ul == pl && memcmp(s + vs, colon + 1, ul) == 0))
			return ve; /* test:test */
		if ((pl == 4 && memcmp(colon + 1, "pass", 4) == 0) ||
		    (pl == 8 && memcmp(colon + 1, "password", 8) == 0))
			return ve;
		if (secret_value_ok(colon + 1, pl, true))
			*rc = scan_emit(c, R_GENERIC_API_KEY, ps, pl, false, err);
	}
	return ve;
}

static bool is_placeholder_pass(const char *p, size_t n)
{
	static const char *w[] = { "password", "pass", "passwd", "secret", "pwd", "changeme" };
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strlen(w[i]) == n && strncasecmp(p, w[i], n) == 0)
			return true;
	return v_placeholder(p, n);
}

/* "://user:pass@" at [ms, me): the scheme is before ms. */
static size_t on_url_password(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t us = ms + 3, at = me - 1, colon, start = ms, hs = me, he = me;
	bool synth;

	while (start > 0 && ms - start < 20 && (ISALNUM(s[start - 1]) || s[start - 1] == '+' ||
	       s[start - 1] == '.' || s[start - 1] == '-'))
		start--;
	if (start == ms)
		return me;
	colon = (size_t)((const char *)memchr(s + us, ':', at - us) - s);
	if (is_placeholder_pass(s + colon + 1, at - colon - 1) ||
	    (colon > us && is_placeholder_pass(s + us, colon - us)) ||
	    (colon - us == at - colon - 1 && memcmp(s + us, s + colon + 1, colon - us) == 0))
		return me;
	while (he < c->seg_len && (ISALNUM(s[he]) || s[he] == '.' || s[he] == '-'))
		he++;
	synth = v_synthetic_domain(s + hs, he - hs);
	*rc = scan_emit(c, R_PASSWORD_IN_URL, start, he - start, synth, err);
	return me;
}

static size_t url_start(const scan_ctx *c, size_t ms)
{
	if (ms >= 8 && strncmp(c->seg + ms - 8, "https://", 8) == 0)
		return ms - 8;
	if (ms >= 7 && strncmp(c->seg + ms - 7, "http://", 7) == 0)
		return ms - 7;
	return ms;
}

static int on_email(scan_ctx *c, size_t at, size_t me, bpg_error *err)
{
	static const char *files[] = { "png", "jpg", "jpeg", "gif", "svg", "webp", "js", "css",
		"json", "ts", "map", "txt", "html", "pdf", "ico" };
	const char *s = c->seg;
	size_t ls = at, tld;

	while (ls > 0 && at - ls < 64 && (ISALNUM(s[ls - 1]) || strchr("._%+-", s[ls - 1])))
		ls--;
	while (ls < at && (s[ls] == '.' || s[ls] == '-'))
		ls++;
	if (ls == at || (at - ls == 3 && memcmp(s + ls, "git", 3) == 0))
		return 0;
	if (ls >= 3 && memcmp(s + ls - 3, "://", 3) == 0)
		return 0; /* a URL user name without password */
	if (ls >= 4 && memcmp(s + ls - 4, "://:", 4) == 0)
		return 0; /* a URL password with an empty user name (PASSWORD_IN_URL) */
	for (tld = me; tld > at && s[tld - 1] != '.'; tld--)
		;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strlen(files[i]) == me - tld && strncasecmp(s + tld, files[i], me - tld) == 0)
			return 0;
	return scan_emit(c, R_EMAIL, ls, me - ls, v_synthetic_domain(s + at + 1, me - at - 1), err);
}

/* Bytes a URL is made of (what ends it: blanks, quotes, brackets, backslash). */
static bool url_char(char ch)
{
	return (unsigned char)ch > ' ' && ch != '"' && ch != '\'' && ch != '<' && ch != '>' &&
		ch != '\\' && ch != '`' && ch != '(' && ch != ')' && ch != '{' && ch != '}' && ch != '|';
}

/* The start of the URL around seg offset at: its scheme when "://" is within
 * 512 bytes before it on the URL, else the start of the host-like run. */
static size_t url_begin(const scan_ctx *c, size_t at)
{
	const char *s = c->seg;
	size_t b = at;
	while (b > 0 && at - b < 512 && url_char(s[b - 1]))
		b--;
	for (size_t i = b; i + 3 <= at; i++)
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			size_t k = i;
			while (k > b && ISALNUM(s[k - 1]))
				k--;
			return k;
		}
	return b;
}

static size_t run_of(const char *s, size_t n, size_t p, const char *extra, size_t max)
{
	size_t q = p;
	while (q < n && q - p < max && (ISALNUM(s[q]) || (s[q] && strchr(extra, s[q]))))
		q++;
	return q;
}

static bool has_letter_and_digit(const char *t, size_t n)
{
	bool l = false, d = false;
	for (size_t i = 0; i < n; i++) {
		l |= isalpha((unsigned char)t[i]) != 0;
		d |= isdigit((unsigned char)t[i]) != 0;
	}
	return l && d;
}

/* discord(app).com/api[/vN]/webhooks/<id>/<token>, from "hooks/" at ms */
static size_t on_discord(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t n = c->seg_len, ub, ie, te;

	if (ms < 3 || memcmp(s + ms - 3, "web", 3) != 0)
		return me;
	ub = url_begin(c, ms);
	if (!memmem(s + ub, ms - ub, "discord", 7) || !memmem(s + ub, ms - ub, "/api/", 5))
		return me;
	ie = run_of(s, n, me, "", 20);
	if (ie - me < 5 || ie >= n || s[ie] != '/')
		return me;
	te = run_of(s, n, ie + 1, "_-", 128);
	if (te - ie - 1 < 20 || v_placeholder(s + ie + 1, te - ie - 1) ||
	    !has_letter_and_digit(s + ie + 1, te - ie - 1))
		return me;
	*rc = scan_emit(c, R_DISCORD_WEBHOOK_URL, ub, te - ub, false, err);
	return te;
}

/* <tenant>.webhook.office.com/webhookb2/<guid>@<guid>/IncomingWebhook/<hex>/<guid> */
static size_t on_teams(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t ub = url_begin(c, ms), te = run_of(s, c->seg_len, me, "@/-", 400);

	if (te - me < 60 || !memmem(s + me, te - me, "@", 1) || v_repetitive(s + me, te - me))
		return me;
	*rc = scan_emit(c, R_TEAMS_WEBHOOK_URL, ub, te - ub, false, err);
	return te;
}

/* maker.ifttt.com/trigger/<event>[/json]/with/key/<key> or /use/<key> */
static size_t on_ifttt(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t n = c->seg_len, p = me, ks, ke, ub;

	if (ms < 6 || memcmp(s + ms - 6, "maker.", 6) != 0)
		return me; /* Maker webhooks live on maker.ifttt.com (the feature pass reads "maker.") */
	if (n - p >= 4 && memcmp(s + p, "use/", 4) == 0) {
		p += 4;
	} else if (n - p >= 8 && memcmp(s + p, "trigger/", 8) == 0) {
		p = run_of(s, n, p + 8, "_-.%", 128);
		if (n - p >= 5 && memcmp(s + p, "/json", 5) == 0)
			p += 5;
		if (n - p < 10 || memcmp(s + p, "/with/key/", 10) != 0)
			return me;
		p += 10;
	} else {
		return me;
	}
	ks = p;
	ke = run_of(s, n, ks, "_-", 128);
	if (ke - ks < 16 || ke - ks > 100 || (ke < n && url_char(s[ke]) && s[ke] != '/' &&
	    s[ke] != '?' && s[ke] != '&' && s[ke] != '#' && s[ke] != ',' && s[ke] != ';') ||
	    v_placeholder(s + ks, ke - ks) || !has_letter_and_digit(s + ks, ke - ks) ||
	    v_sequential(s + ks, ke - ks))
		return me;
	ub = url_begin(c, ms);
	*rc = scan_emit(c, R_IFTTT_WEBHOOK_KEY, ub, ke - ub, false, err);
	return ke;
}

/* Power Automate / Logic Apps HTTP trigger: .../workflows/<id>/triggers/<name>/paths/invoke?...sig=<sig> */
static size_t on_power_automate(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t n = c->seg_len, ub, ue, p;

	if (ms < 7 || memcmp(s + ms - 7, "/paths/", 7) != 0)
		return me;
	ub = url_begin(c, ms);
	if (!memmem(s + ub, ms - ub, "/workflows/", 11) || !memmem(s + ub, ms - ub, "/triggers/", 10))
		return me;
	for (ue = me; ue < n && ue - me < 2048 && url_char(s[ue]); ue++)
		;
	for (p = me - 1; p + 5 < ue; p++) {
		size_t ve;
		if ((s[p] != '?' && s[p] != '&') || memcmp(s + p + 1, "sig=", 4) != 0)
			continue;
		ve = run_of(s, ue, p + 5, "%_-", 200);
		if (ve - p - 5 >= 20 && !v_placeholder(s + p + 5, ve - p - 5) &&
		    (ve == ue || s[ve] == '&' || s[ve] == '#')) {
			*rc = scan_emit(c, R_POWER_AUTOMATE_URL, ub, ue - ub, false, err);
			return ue;
		}
	}
	return me;
}

/* <5-16 digit bot id>:A<34> (Telegram), the match being ":A…" */
static size_t on_telegram(scan_ctx *c, size_t ms, size_t me, bpg_error *err, int *rc)
{
	const char *s = c->seg;
	size_t ds = ms;

	while (ds > 0 && ms - ds <= 16 && isdigit((unsigned char)s[ds - 1]))
		ds--;
	if (ms - ds < 5 || ms - ds > 16)
		return me;
	if (ds > 0 && (ISALNUM(s[ds - 1]) || s[ds - 1] == '_') &&
	    !(ds >= 4 && memcmp(s + ds - 4, "/bot", 4) == 0))
		return me;
	if (v_repetitive(s + ms + 2, me - ms - 2) || v_placeholder(s + ms + 1, me - ms - 1) ||
	    !has_letter_and_digit(s + ms + 1, me - ms - 1))
		return me;
	*rc = scan_emit(c, R_TELEGRAM_BOT_TOKEN, ds, me - ds, false, err);
	return me;
}

static int prefixed_token(scan_ctx *c, scan_rule r, size_t ms, size_t me, size_t plen,
	bpg_error *err)
{
	const char *t = c->seg + ms;
	size_t n = me - ms;
	if (v_placeholder(t, n) || v_repetitive(t + plen, n - plen) || v_sequential(t + plen, n - plen) ||
	    v_entropy(t + plen, n - plen) < 3.0)
		return 0;
	return scan_emit(c, r, ms, n, false, err);
}

static int on_secret(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next,
	bpg_error *err)
{
	const char *t = c->seg + ms;
	size_t n = me - ms;
	bool synth = false;
	int rc = 0;

	switch (mark[0] << 8 | mark[1]) {
	case 'P' << 8 | 'K':
		if (pem_has_body(c->seg + me, c->seg_len - me))
			rc = scan_emit(c, R_PRIVATE_KEY, ms, n, false, err);
		break;
	case 'A' << 8 | 'K':
		if (!v_placeholder(t, n) && !v_repetitive(t + 4, n - 4)) {
			c->last_aws_key = c->seg_raw + ms + 1;
			rc = scan_emit(c, R_AWS_ACCESS_KEY, ms, n, false, err);
		}
		break;
	case 'G' << 8 | 'H':
		if (!v_placeholder(t, n) && !v_repetitive(t + 4, n - 4))
			rc = scan_emit(c, R_GITHUB_TOKEN, ms, n, false, err);
		break;
	case 'S' << 8 | 'L':
		if (me < c->seg_len && (c->seg[me] == '#' || c->seg[me] == '*' || c->seg[me] == '_'))
			break;
		if (slack_token_ok(t, n))
			rc = scan_emit(c, R_SLACK_TOKEN, ms, n, false, err);
		break;
	case 'S' << 8 | 'T':
		if (!v_placeholder(t, n) && !v_repetitive(t + 8, n - 8))
			rc = scan_emit(c, R_STRIPE_KEY, ms, n, false, err);
		break;
	case 'J' << 8 | 'W':
		if (v_jwt(t, n))
			rc = scan_emit(c, R_JWT, ms, n, false, err);
		break;
	case 'S' << 8 | 'W': {
		const char *tok = t + 23; /* after hooks.slack.com/ */
		size_t tl = n > 23 ? n - 23 : 0;
		if (!v_repetitive(tok, tl) && memchr(tok, '/', tl))
			rc = scan_emit(c, R_SLACK_WEBHOOK_URL, url_start(c, ms), me - url_start(c, ms), false, err);
		break;
	}
	case 'Z' << 8 | 'W': {
		size_t ts = me;
		while (ts > ms && ISALNUM(c->seg[ts - 1]))
			ts--;
		if (me - ts >= 6 && !v_repetitive(c->seg + ts, me - ts) &&
		    !(me < c->seg_len && (c->seg[me] == '=' || c->seg[me] == '?')))
			rc = scan_emit(c, R_ZAPIER_WEBHOOK_URL, url_start(c, ms), me - url_start(c, ms), false, err);
		break;
	}
	case 'M' << 8 | 'W': {
		const char *slash = memchr(t, '/', n);
		size_t tl = (size_t)(t + n - slash - 1);
		bool ok = tl >= 24 && tl <= 64 && !v_repetitive(slash + 1, tl);
		for (size_t i = 0; ok && i < tl; i++)
			ok = islower((unsigned char)slash[1 + i]) || isdigit((unsigned char)slash[1 + i]);
		if (ok)
			rc = scan_emit(c, R_MAKE_WEBHOOK_URL, url_start(c, ms), me - url_start(c, ms), false, err);
		break;
	}
	case 'P' << 8 | 'U':
		*next = on_url_password(c, ms, me, err, &rc);
		break;
	case 'D' << 8 | 'C':
		*next = on_discord(c, ms, me, err, &rc);
		break;
	case 'T' << 8 | 'M':
		*next = on_teams(c, ms, me, err, &rc);
		break;
	case 'I' << 8 | 'F':
		*next = on_ifttt(c, ms, me, err, &rc);
		break;
	case 'P' << 8 | 'A':
		*next = on_power_automate(c, ms, me, err, &rc);
		break;
	case 'T' << 8 | 'G':
		*next = on_telegram(c, ms, me, err, &rc);
		break;
	case 'S' << 8 | 'G':
		rc = prefixed_token(c, R_SENDGRID_KEY, ms, me, 3, err);
		break;
	case 'G' << 8 | 'L':
		rc = prefixed_token(c, R_GITLAB_TOKEN, ms, me, 6, err);
		break;
	case 'N' << 8 | 'P':
		rc = prefixed_token(c, R_NPM_TOKEN, ms, me, 4, err);
		break;
	case 'G' << 8 | 'K':
		rc = prefixed_token(c, R_GOOGLE_API_KEY, ms, me, 4, err);
		break;
	case 'S' << 8 | 'H':
		rc = prefixed_token(c, R_SHOPIFY_TOKEN, ms, me, 6, err);
		break;
	case 'O' << 8 | 'A':
		if (openai_key(t, n))
			rc = prefixed_token(c, R_OPENAI_KEY, ms, me, 3, err);
		break;
	case 'E' << 8 | 'M':
		rc = on_email(c, ms, me, err);
		break;
	case 'C' << 8 | 'W':
		if ((t[0] == 'b' ? v_bech32(t, n) : v_base58check(t, n)))
			rc = scan_emit(c, R_CRYPTO_WALLET, ms, n, false, err);
		break;
	case 'I' << 8 | '6':
		if (!(c->keyself & C_VERSION) && v_ipv6_public(t, n, &synth))
			rc = scan_emit(c, R_IP_ADDRESS, ms, n, synth, err);
		break;
	}
	return rc;
}

/* ---- the match loop ------------------------------------------------------ */

typedef int (*hit_fn)(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next,
	bpg_error *err);

int scan_on_number(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err);
int scan_on_alpha(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err);

static int on_kw(scan_ctx *c, const char *mark, size_t ms, size_t me, size_t *next, bpg_error *err)
{
	int rc = 0;
	if (mark[0] == 'K')
		*next = on_keyword(c, ms, me, err, &rc);
	else
		*next = on_curl_user(c, me, err, &rc);
	return rc;
}

static int run_pattern(scan_ctx *c, int which, hit_fn fn, bpg_error *err)
{
	bpg_scanner *s = c->s;
	size_t off = 0;
	size_t limit = c->accept_end < c->seg_len ? c->accept_end : c->seg_len;
	pcre2_code *code;
	int crc;

	if ((crc = scan_pattern(&code, s, which, false, err)) < 0)
		return crc;
	scan_fed(s, which, false, c->seg_len);
	while (off < limit) {
		PCRE2_SIZE *ov;
		size_t ms, me, next;
		const char *mark;
		int r = scan_match(s, which, false, c->seg, c->seg_len, off);
		int rc;

		if (r == PCRE2_ERROR_NOMATCH)
			return 0;
		if (r < 0) {
			/* match or depth limit: skip ahead rather than give up on the rest */
			off += 64;
			continue;
		}
		ov = pcre2_get_ovector_pointer(s->md);
		ms = ov[0];
		me = ov[1];
		if (ms >= limit)
			return 0;
		mark = (const char *)pcre2_get_mark(s->md);
		next = me > ms ? me : ms + 1;
		rc = fn(c, mark ? mark : "", ms, me, &next, err);
		if (rc < 0)
			return rc;
		off = next > ms ? next : ms + 1;
	}
	return 0;
}

/*
 * The same loop driven by candidates: pcre2 runs anchored only where
 * scan_cand_next() says a match can start. Where it cannot, the unanchored
 * search would not have matched either, so the hits, and the offsets the
 * handlers return, are the same.
 */
static int run_cand(scan_ctx *c, int which, hit_fn fn, const scan_seg_features *f,
	bpg_error *err)
{
	bpg_scanner *s = c->s;
	size_t off = 0;
	size_t limit = c->accept_end < c->seg_len ? c->accept_end : c->seg_len;
	uint64_t stops = 0;
	pcre2_code *code;
	int crc;

	if (!scan_pattern_anchored(which))
		return run_pattern(c, which, fn, err);
	if ((crc = scan_pattern(&code, s, which, true, err)) < 0)
		return crc;
	scan_fed(s, which, true, c->seg_len);
	if (f->vec)
		stops = scan_cand_stops(which, c->seg, c->seg_len, f);
	while (off < limit) {
		PCRE2_SIZE *ov;
		size_t at = f->vec ? scan_cand_next_mask(which, c->seg, c->seg_len, off, stops, f->alnum) :
			scan_cand_next(which, c->seg, c->seg_len, off), ms, me, next;
		const char *mark;
		int r, rc;

		if (at >= limit)
			return 0;
		r = scan_match(s, which, true, c->seg, c->seg_len, at);
		if (r < 0) { /* no match here (or the match limit): the next candidate */
			off = at + 1;
			continue;
		}
		ov = pcre2_get_ovector_pointer(s->md);
		ms = ov[0];
		me = ov[1];
		mark = (const char *)pcre2_get_mark(s->md);
		next = me > ms ? me : ms + 1;
		if ((rc = fn(c, mark ? mark : "", ms, me, &next, err)) < 0)
			return rc;
		off = next > ms ? next : ms + 1;
	}
	return 0;
}

static bool hex_digit(char ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f');
}

/* Can pat_ipv6 match anywhere in s? Its start follows no [A-Za-z0-9:.] and
 * its lookahead wants up to four hex digits, ':', up to four, ':' (a run of
 * five or more hex digits cannot shrink to fit: the next byte must be ':').
 * Where no offset passes this, the unanchored search finds nothing. */
static bool ipv6_possible(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		if (i > 0 && (ISALNUM(s[i - 1]) || s[i - 1] == ':' || s[i - 1] == '.'))
			continue;
		for (int part = 0; part < 2; part++, j++) {
			size_t k = j;
			while (k < n && k - j < 5 && hex_digit(s[k]))
				k++;
			if (k - j > 4 || k >= n || s[k] != ':')
				break;
			j = k;
			if (part == 1)
				return true;
		}
	}
	return false;
}

static bool word_in(const char *w, size_t n, const char *const *list, size_t nl)
{
	char low[24];
	if (n == 0 || n >= sizeof(low))
		return false;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)((unsigned char)w[i] < 0x80 ? tolower((unsigned char)w[i]) : w[i]);
	for (size_t i = 0; i < nl; i++)
		if (list[i][0] == low[0] && strlen(list[i]) == n && memcmp(list[i], low, n) == 0)
			return true;
	return false;
}

/* The word that ends at s[e) (letters and UTF-8 bytes), as [*ws, e). */
static size_t word_before(const char *s, size_t e, size_t *ws, size_t max)
{
	size_t b = e;
	while (b > 0 && e - b < max && (A_ALPHA(s[b - 1]) || (unsigned char)s[b - 1] >= 0x80))
		b--;
	*ws = b;
	return e - b;
}

/*
 * Does what stands before the capital at i say a person's name follows? A
 * greeting ("Hello", "Dear", "Hola"), a label ("Name:", "Contact:"), or a
 * sign-off ending the previous line or the same one ("Regards,", "Cheers,").
 */
static bool name_context(const char *s, size_t i)
{
	static const char *const greet[] = { "hello", "hi", "dear", "hey", "hallo", "hola", "ola",
		"bonjour", "ciao", "salut", "hej", "liebe", "lieber", "querido", "querida", "caro",
		"cara", "beste", "witaj", "geehrte", "geehrter", "greetings", "welcome", "thanks" };
	static const char *const label[] = { "name", "contact", "attn", "patient", "customer",
		"recipient", "nombre", "nome", "nom", "navn", "naam", "signed", "from", "imie" };
	static const char *const signoff[] = { "regards", "cheers", "sincerely", "thanks", "best",
		"wishes", "yours", "grüße", "gruesse", "grüßen", "saludos", "cordialement", "atenciosamente",
		"pozdrawiam", "groeten", "saluti", "abrazos", "obrigado", "obrigada", "gracias", "merci",
		"danke", "cumprimentos", "regards", "thank", "you" };
	size_t p = i, ws, wl;
	char pc;

	while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t'))
		p--;
	if (p == 0)
		return false;
	/* cheap exits first: this runs at every capitalised word */
	pc = s[p - 1];
	if (A_ALPHA(pc)) {
#define B(ch) (1u << ((ch) - 'a'))
		/* the last two letters of the greetings (hello, dear, hola, ciao, salut,
		 * hej, liebe, querido, beste, witaj, greetings, welcome, thanks, ...) */
		static const uint32_t last2[26] = {
			['a' - 'a'] = B('o') | B('r') | B('j'), ['b' - 'a'] = B('e'),
			['d' - 'a'] = B('o') | B('a'), ['e' - 'a'] = B('y') | B('j') | B('r'),
			['g' - 'a'] = B('s'), ['h' - 'a'] = B('i'), ['k' - 'a'] = B('s'),
			['l' - 'a'] = B('o') | B('a'), ['m' - 'a'] = B('e'), ['r' - 'a'] = B('o') | B('a'),
			['t' - 'a'] = B('e'), ['u' - 'a'] = B('r') | B('t'),
		};
#undef B
		/* first letters of the greetings: b c d g h l o q s t w */
		static const uint32_t first = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 7 |
			1u << 11 | 1u << 14 | 1u << 16 | 1u << 18 | 1u << 19 | 1u << 22;
		if (p == i || p < 2 || !A_ALPHA(s[p - 2]) ||
		    !((last2[(s[p - 2] | 0x20) - 'a'] >> ((pc | 0x20) - 'a')) & 1))
			return false;
		wl = word_before(s, p, &ws, 10); /* no greeting is longer than 9 letters */
		return wl >= 2 && wl <= 9 && A_ALPHA(s[ws]) &&
			((first >> ((s[ws] | 0x20) - 'a')) & 1) &&
			word_in(s + ws, wl, greet, sizeof(greet) / sizeof(greet[0]));
	}
	if (pc != ':' && pc != ',' && pc != '-' && pc != '\n' && pc != '\r')
		return false;
	if (s[p - 1] == ':' || s[p - 1] == ',' || s[p - 1] == '-') {
		char sep = s[p - 1];
		size_t q = p - 1;
		while (q > 0 && s[q - 1] == ' ')
			q--;
		wl = word_before(s, q, &ws, 23);
		if (sep == ':' || sep == '-')
			return word_in(s + ws, wl, label, sizeof(label) / sizeof(label[0]));
		return word_in(s + ws, wl, signoff, sizeof(signoff) / sizeof(signoff[0])) ||
			word_in(s + ws, wl, greet, sizeof(greet) / sizeof(greet[0]));
	}
	if (s[p - 1] == '\n' || s[p - 1] == '\r') { /* a sign-off on the line before */
		size_t q = p - 1;
		while (q > 0 && (s[q - 1] == '\r' || s[q - 1] == '\n' || s[q - 1] == ' '))
			q--;
		if (q > 0 && (s[q - 1] == ',' || s[q - 1] == '!'))
			q--;
		wl = word_before(s, q, &ws, 23);
		return word_in(s + ws, wl, signoff, sizeof(signoff) / sizeof(signoff[0]));
	}
	wl = word_before(s, p, &ws, 23);
	return wl && ws + wl == p && word_in(s + ws, wl, greet, sizeof(greet) / sizeof(greet[0]));
}

/* Does a label that names one part of a person's name stand before the word
 * at i ("First name: Dagny", "Surname: Nakamura", "Vorname: Jürgen")? Then a
 * single word is a name. */
static bool part_name_label(const char *s, size_t i)
{
	static const char *const whole[] = { "surname", "forename", "firstname", "lastname", "vorname",
		"nachname", "apellido", "apellidos", "cognome", "sobrenome", "nazwisko", "imie" };
	static const char *const part[] = { "first", "last", "given", "family", "middle" };
	size_t p = i, ws, wl, ws2, wl2;
	while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t'))
		p--;
	if (p == 0 || s[p - 1] != ':')
		return false;
	p--;
	while (p > 0 && s[p - 1] == ' ')
		p--;
	wl = word_before(s, p, &ws, 12);
	if (!wl)
		return false;
	if (word_in(s + ws, wl, whole, sizeof(whole) / sizeof(whole[0])))
		return true;
	if (wl != 4 || (s[ws] | 0x20) != 'n' || !word_in(s + ws, wl, (const char *const[]){ "name" }, 1))
		return false;
	p = ws;
	while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '_' || s[p - 1] == '-'))
		p--;
	wl2 = word_before(s, p, &ws2, 8);
	return wl2 && word_in(s + ws2, wl2, part, sizeof(part) / sizeof(part[0]));
}

/* Capitalised words that are common given names (a C loop: a regex branch
 * starting at every capital letter costs more than the rest together). */
static int scan_names(scan_ctx *c, const scan_seg_features *f, bpg_error *err)
{
	const char *s = c->seg;
	size_t n = c->seg_len;
	uint64_t starts = f->vec ? scan_name_starts(s, n, f) : 0;

	/* before f->name_at every byte is passed by one at a time */
	for (size_t i = f->name_at; i < n; i++) {
		size_t j;
		if (f->vec) { /* the next capital the test below lets through */
			uint64_t r = i < 64 ? starts & (~(uint64_t)0 << i) : 0;
			if (!r)
				break;
			i = (size_t)__builtin_ctzll(r);
		} else {
			unsigned char prev = i ? (unsigned char)s[i - 1] : ' ';
			if (!A_UPPER(s[i]) || A_ALNUM(prev) || prev == '@' || prev == '.' ||
			    prev == '_' || prev == '-')
				continue;
		}
		if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t' ||
		    s[i - 1] == '\r') && (name_context(s, i) ||
		    (i >= 2 && s[i - 2] == ':' && part_name_label(s, i)))) {
			/* a name of two words or more, from anywhere; one word after a
			 * label naming a part of a name */
			size_t words, e = v_name_run(s + i, n - i, &words);
			if (words >= 2 || (words == 1 && part_name_label(s, i))) {
				int rc = scan_emit(c, R_PERSON_NAME, i, e, false, err);
				if (rc < 0)
					return rc;
				i += e;
				continue;
			}
		}
		for (j = i + 1; j < n && j - i <= 15 && A_LOWER(s[j]); j++)
			;
		if (j - i < 2 || j - i > 14 || (j < n && (A_ALNUM(s[j]) || s[j] == '@'))) {
			i = j;
			continue;
		}
		if (v_first_name(s + i, j - i)) {
			bool doe = j + 4 <= n && memcmp(s + j, " Doe", 4) == 0;
			int rc = scan_emit(c, R_PERSON_NAME, i, j - i, doe, err);
			if (rc < 0)
				return rc;
		}
		i = j;
	}
	return 0;
}

int scan_segment(scan_ctx *c, bpg_error *err)
{
	const char *s = c->seg;
	size_t n = c->seg_len;
	scan_seg_features f;
	bool num;
	int rc;

	c->seg_found = 0;
	if (n == 0)
		return 0;
	/* one pass of cheap features decides which patterns can match at all */
	scan_features(s, n, (size_t)(s - c->seg_lo), &f);
	/* a number candidate needs six digits or three dots (scan_cand.c) */
	num = f.digits >= 4 && (f.digits >= 6 || f.dots >= 3);
	if (c->json_number) {
		if (num && (rc = run_cand(c, P_NUMBER, scan_on_number, &f, err)) < 0)
			return rc;
		return 0;
	}
	if ((f.at || f.under || f.lead || f.maxrun >= 20 || (f.digits && f.maxrun >= 14)) &&
	    (rc = run_cand(c, P_SECRET, on_secret, &f, err)) < 0)
		return rc;
	if ((f.digits >= 5 || f.street || (f.upper && f.honorific)) &&
	    (rc = run_cand(c, P_ALPHA, scan_on_alpha, &f, err)) < 0)
		return rc;
	if (f.name_at < n && (rc = scan_names(c, &f, err)) < 0)
		return rc;
	if (num && (rc = run_cand(c, P_NUMBER, scan_on_number, &f, err)) < 0)
		return rc;
	if ((!c->in_json || f.colons || f.eq) && (rc = run_cand(c, P_KEYWORD, on_kw, &f, err)) < 0)
		return rc;
	if (f.colons >= 2 && ipv6_possible(s, n) && (rc = run_pattern(c, P_IPV6, on_secret, err)) < 0)
		return rc;
	if (f.digits >= 4 && (f.birth || ((c->keyself | c->keyctx) & C_DOB)) &&
	    (rc = run_pattern(c, P_DATE, scan_on_alpha, err)) < 0)
		return rc;
	return 0;
}

/*
 * A bare "name" member whose object also holds a person's contact details
 * ({"name": "Dmitri Volkov", "email": "…"}: a recipient, an attendee, a
 * sender): the next member is an e-mail, phone or address. Only the member
 * written right after the name is seen (the walker does not go back), and
 * only in raw (unescaped) JSON text.
 */
static bool contact_sibling_follows(const scan_ctx *c)
{
	static const char *const keys[] = { "email", "e-mail", "mail", "phone", "mobile", "address" };
	const char *b = c->base;
	size_t p, len = c->len, ks;
	if (!c->in_json || c->map || c->seg_lo != c->base)
		return false;
	p = c->seg_raw + c->seg_len + 1; /* after the closing quote */
	while (p < len && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t'))
		p++;
	if (p >= len || b[p] != ',')
		return false;
	for (p++; p < len && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t'); p++)
		;
	if (p >= len || b[p] != '"')
		return false;
	ks = ++p;
	while (p < len && p - ks < 8 && b[p] != '"')
		p++;
	if (p >= len || b[p] != '"')
		return false;
	return word_in(b + ks, p - ks, keys, sizeof(keys) / sizeof(keys[0]));
}

/* JSON values: what the key says about the value as a whole. */
int scan_key_rules(scan_ctx *c, bpg_error *err);

int scan_key_rules(scan_ctx *c, bpg_error *err)
{
	unsigned k = c->keyself;
	const char *v = c->seg;
	size_t n = c->seg_len, digits = 0, alpha = 0, spaces = 0;

	if (!(k & (C_SECRET | C_PERSONKEY | C_ADDRESS | C_DOB | C_MRN)) &&
	    !((k & C_NAMEWORD) && ((k | c->keyctx) & C_NAME)) &&
	    !((k & (C_SOLEWORD | C_NAME)) == (C_SOLEWORD | C_NAME))) {
		/* most keys ("name" of a module among them) ask nothing; a bare
		 * "name" followed by an e-mail or phone member is a person's
		 * ({"name": "Dmitri Volkov", "email": …}); cheap tests first */
		if ((k & (C_SOLEWORD | C_NAMEWORD)) == (C_SOLEWORD | C_NAMEWORD) && n >= 3 && n <= 64 &&
		    A_UPPER(v[0]) && memchr(v, ' ', n) && contact_sibling_follows(c) &&
		    !v_placeholder(v, n) && !found(c, R_PERSON_NAME) && v_name_shaped(v, n, 2)) {
			for (size_t i = 0; i < n; i++)
				if (A_DIGIT(v[i]))
					return 0;
			return scan_emit(c, R_PERSON_NAME, 0, n, false, err);
		}
		return 0;
	}
	if (n == 0 || n > 512 || v_placeholder(v, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		digits += A_DIGIT(v[i]);
		alpha += A_ALPHA(v[i]);
		spaces += v[i] == ' ';
	}
	if ((k & C_SECRET) && !(k & (C_NOTSECRET | C_IDLIKE)) && c->seg_found == 0)
		return secret_value(c, k | c->keyctx, 0, n, true, err);
	if ((k & C_PERSONKEY) && !found(c, R_PERSON_NAME) && alpha > 0 && digits == 0 &&
	    ((isupper((unsigned char)v[0]) && spaces < 4) || v_name_shaped(v, n, 1)))
		return scan_emit(c, R_PERSON_NAME, 0, n, false, err);
	/* "…Name" under a person noun (contactName, customer_name, {"recipient": {"name"}}),
	 * or the person noun alone as the key ({"signer": "…"}) */
	if ((((k & C_NAMEWORD) && ((k | c->keyctx) & C_NAME)) ||
	     (k & (C_SOLEWORD | C_NAME)) == (C_SOLEWORD | C_NAME)) && !found(c, R_PERSON_NAME) &&
	    digits == 0 && v_name_shaped(v, n, 2))
		return scan_emit(c, R_PERSON_NAME, 0, n, false, err);
	if ((k & C_ADDRESS) && !(k & (C_EMAIL | C_IP | C_NOTSECRET)) && !found(c, R_STREET_ADDRESS) &&
	    !c->seg_found && digits > 0 && alpha > 1 && spaces > 0)
		return scan_emit(c, R_STREET_ADDRESS, 0, n, false, err);
	if ((k & C_DOB) && !found(c, R_DATE_OF_BIRTH) && v_date(v, n))
		return scan_emit(c, R_DATE_OF_BIRTH, 0, n, false, err);
	if ((k & C_MRN) && !(k & C_NOTSECRET) && !c->seg_found && digits >= 4 && n <= 24 && spaces == 0)
		return scan_emit(c, R_MEDICAL_RECORD_NUMBER, 0, n, false, err);
	return 0;
}
