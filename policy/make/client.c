/*
 * The Make API client's transport: one libcurl easy handle per client
 * (the URL rules are in url.c), TLS always verified, bounded responses,
 * retries with backoff, the per-minute request budget and the one place
 * that sleeps.
 *
 * Proxies: libcurl's standard environment variables (https_proxy,
 * HTTPS_PROXY, all_proxy, no_proxy; http_proxy is never used for https) are
 * honoured for https base URLs, so a client behind a corporate proxy works;
 * the TLS session still goes end to end (CONNECT) and is verified, so a proxy
 * never sees the token. A loopback http base URL never goes through a proxy
 * (the token would travel in clear text to it).
 *
 * CA certificates: without ca_file libcurl uses the system's store. With
 * ca_file, CURLOPT_CAINFO names that bundle and the system's hashed
 * directory (CURLOPT_CAPATH, /etc/ssl/certs on Debian) stays trusted as
 * well; builds of libcurl without a CA path trust only ca_file then.
 */
#include "internal.h"
#include "bpg_config.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- the clock ---------------------------------------------------------------- */

uint64_t mk_now_ms(bpg_make_client *c)
{
	struct timespec ts;

	if (c->fake_clock)
		return c->fake_now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Every wait of the client goes through here: with the fake clock (test
 * builds, BPGATE_TEST_MAKE_CLOCK=fake) time advances without sleeping, and
 * the total is what the tests assert. */
void mk_sleep_ms(bpg_make_client *c, uint64_t ms)
{
	c->waited_ms += ms;
	if (c->fake_clock) {
		c->fake_now += ms;
		return;
	}
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t mk_jitter(uint64_t base)
{
	/* uniform in [0.8, 1.2] * base: 4001 steps of 0.0001 */
	uint32_t r = randombytes_uniform(4001);
	return base * (8000u + r) / 10000u;
}

uint64_t mk_backoff_ms(const bpg_make_client *c, unsigned attempt, long retry_after_s)
{
	uint64_t cap = c->o.backoff_max_ms, ms;

	if (retry_after_s >= 0) {
		ms = (uint64_t)retry_after_s > cap / 1000u + 1 ? cap : (uint64_t)retry_after_s * 1000u;
		return ms > cap ? cap : ms;
	}
	ms = attempt >= 32 ? cap : (uint64_t)c->o.backoff_ms << attempt;
	if (ms > cap)
		ms = cap;
	if (!c->fake_clock)
		ms = mk_jitter(ms);
	return ms > cap ? cap : ms;
}

/* ---- the budget ------------------------------------------------------------- */

/* Wait until one more request fits in the rolling minute, then count it. */
static void budget_take(bpg_make_client *c)
{
	uint64_t now = mk_now_ms(c);

	if (c->ntimes == c->o.budget_per_minute) {
		uint64_t oldest = c->times[c->next];
		if (now < oldest + MK_WINDOW_MS) {
			mk_sleep_ms(c, oldest + MK_WINDOW_MS - now);
			now = mk_now_ms(c);
		}
	}
	c->times[c->next] = now;
	c->next = (c->next + 1) % c->o.budget_per_minute;
	if (c->ntimes < c->o.budget_per_minute)
		c->ntimes++;
}

/* ---- the client ---------------------------------------------------------------- */

static bool token_ok(const char *t)
{
	size_t n = 0;
	for (; t[n]; n++)
		if ((unsigned char)t[n] < 0x21 || (unsigned char)t[n] > 0x7e)
			return false;
	return n > 0 && n <= 4096;
}

static void slist_wipe_free(struct curl_slist *l)
{
	if (!l)
		return; /* libcurl may not be loaded at all (mk_curl_load failed) */
	for (struct curl_slist *s = l; s; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(l);
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s, bool *ok)
{
	struct curl_slist *n = curl_slist_append(l, s);
	if (!n)
		*ok = false;
	return n ? n : l;
}

int bpg_make_client_new(bpg_make_client **out, const bpg_make_options *opts, bpg_error *err)
{
	bpg_make_client *c = NULL;
	bpg_buf auth = BPG_BUF_INIT;
	bool https = true, ok = true;
	int rc = 0;

	*out = NULL;
	if (!opts || !opts->base_url || !opts->token) {
		rc = bpg_error_set(err, BPG_EINVALID, "Make API: a base URL and a token are required");
		goto done;
	}
	if (!token_ok(opts->token)) {
		/* never quote the token, not even a bad one */
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: the token must be 1 to 4096 printable ASCII characters without spaces");
		goto done;
	}
	if (!(c = bpg_calloc(1, sizeof(*c)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	c->o = *opts;
	if ((rc = mk_check_base_url(&c->base_url, &https, opts->base_url, err)) < 0)
		goto done;
	c->o.base_url = c->base_url;
	if (!(c->token = bpg_strdup(opts->token)) || (opts->ca_file && !(c->ca_file = bpg_strdup(opts->ca_file)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	c->o.token = c->token;
	c->o.ca_file = c->ca_file;
	if (!c->o.connect_timeout_ms)
		c->o.connect_timeout_ms = MK_DEFAULT_CONNECT_MS;
	if (!c->o.total_timeout_ms)
		c->o.total_timeout_ms = MK_DEFAULT_TOTAL_MS;
	if (!c->o.max_response)
		c->o.max_response = MK_DEFAULT_MAX_RESPONSE;
	if (!c->o.max_retries)
		c->o.max_retries = MK_DEFAULT_RETRIES;
	if (!c->o.backoff_ms)
		c->o.backoff_ms = MK_DEFAULT_BACKOFF_MS;
	if (!c->o.backoff_max_ms)
		c->o.backoff_max_ms = MK_DEFAULT_BACKOFF_MAX_MS;
	if (c->o.backoff_max_ms < c->o.backoff_ms)
		c->o.backoff_max_ms = c->o.backoff_ms;
	if (!c->o.budget_per_minute)
		c->o.budget_per_minute = MK_DEFAULT_BUDGET;
	if (!c->o.max_requests)
		c->o.max_requests = MK_DEFAULT_MAX_REQUESTS;
	if (c->o.connect_timeout_ms < 0 || c->o.total_timeout_ms < 0 || c->o.max_retries > 100 ||
	    c->o.budget_per_minute > 1000000u) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: options out of range (negative timeout, more than 100 retries or a budget "
			"over 1,000,000 requests per minute)");
		goto done;
	}
	if (!(c->times = bpg_calloc(c->o.budget_per_minute, sizeof(*c->times)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
#ifdef BPG_TEST_HOOKS
	{
		const char *clock = getenv("BPGATE_TEST_MAKE_CLOCK");
		if (clock && strcmp(clock, "fake") == 0) {
			c->fake_clock = true;
			c->fake_now = 1000000u;
		}
	}
#endif
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
		rc = bpg_error_set(err, BPG_ERROR, "Make API: libcurl failed to start");
		goto done;
	}
	if (bpg_buf_printf(&auth, "Authorization: Token %s", c->token) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	/* no body (GET, start/stop): no Content-Type at all (libcurl would add a form type to a POST) */
	c->headers = slist_add(c->headers, "Accept: application/json", &ok);
	c->headers = slist_add(c->headers, auth.ptr, &ok);
	c->headers = slist_add(c->headers, "Content-Type:", &ok);
	/* a JSON body; no "Expect: 100-continue" round trip for large blueprints */
	c->json_headers = slist_add(c->json_headers, "Accept: application/json", &ok);
	c->json_headers = slist_add(c->json_headers, auth.ptr, &ok);
	c->json_headers = slist_add(c->json_headers, "Content-Type: application/json", &ok);
	c->json_headers = slist_add(c->json_headers, "Expect:", &ok);
	if (!ok) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	(void)https;
	*out = c;
	c = NULL;
done:
	if (auth.ptr)
		sodium_memzero(auth.ptr, auth.size);
	bpg_buf_dispose(&auth);
	bpg_make_client_free(c);
	return rc;
}

void bpg_make_client_free(bpg_make_client *c)
{
	if (!c)
		return;
#ifdef BPG_TEST_HOOKS
	if (c->fake_clock && getenv("BPGATE_TEST_MAKE_REPORT"))
		fprintf(stderr, "bpgate-test: make client: %lu requests, waited %llu ms\n", c->requests,
			(unsigned long long)c->waited_ms);
#endif
	if (c->curl)
		curl_easy_cleanup(c->curl);
	slist_wipe_free(c->headers);
	slist_wipe_free(c->json_headers);
	if (c->token) {
		sodium_memzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->ca_file);
	free(c->base_url);
	free(c->times);
	free(c);
}

unsigned long bpg_make_client_requests(const bpg_make_client *c)
{
	return c ? c->requests : 0;
}

unsigned long long bpg_make_client_waited_ms(const bpg_make_client *c)
{
	return c ? (unsigned long long)c->waited_ms : 0;
}

/* ---- one exchange ------------------------------------------------------------ */

void mk_response_reset(mk_response *r)
{
	r->status = 0;
	r->curl = CURLE_OK;
	r->curl_msg[0] = '\0';
	bpg_buf_clear(&r->body);
	r->too_big = false;
	free(r->content_type);
	r->content_type = NULL;
	r->retry_after_s = -1;
}

void mk_response_dispose(mk_response *r)
{
	bpg_buf_dispose(&r->body);
	free(r->content_type);
	r->content_type = NULL;
}

typedef struct {
	mk_response *r;
	size_t max;
	bool oom;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	sink *s = ud;
	size_t len = size * n;

	if (len > s->max - s->r->body.size) {
		s->r->too_big = true;
		return 0; /* != len: libcurl stops with CURLE_WRITE_ERROR */
	}
	if (bpg_buf_put(&s->r->body, data, len) < 0) {
		s->oom = true;
		return 0;
	}
	return len;
}

#define SETOPT(opt, val) do { if (curl_easy_setopt(c->curl, opt, val) != CURLE_OK) goto setopt_failed; } while (0)

/* One HTTP exchange. Fails only for local problems (out of memory, an option
 * libcurl refuses); transport failures are reported in r->curl. */
static int transfer(bpg_make_client *c, mk_response *r, const char *method, const char *url,
	const char *body, size_t body_len, bpg_error *err)
{
	sink s = { r, c->o.max_response, false };
	bool https = strncasecmp(c->base_url, "https:", 6) == 0;
	char *ct = NULL;
	curl_off_t ra = 0;
	long status = 0;

	mk_response_reset(r);
	r->body.max = c->o.max_response + 1;
	curl_easy_reset(c->curl);
	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file)
		SETOPT(CURLOPT_CAINFO, c->ca_file);
	if (!https)
		SETOPT(CURLOPT_NOPROXY, "*");
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, c->o.total_timeout_ms);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_response);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, &s);
	SETOPT(CURLOPT_ERRORBUFFER, r->curl_msg);
	SETOPT(CURLOPT_USERAGENT, "bpgate/" BPG_VERSION);
	SETOPT(CURLOPT_HTTPHEADER, body ? c->json_headers : c->headers);
	if (strcmp(method, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, method);
		if (strcmp(method, "POST") == 0 || body) {
			SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
			SETOPT(CURLOPT_POSTFIELDS, body ? body : "");
		}
	}
	r->curl = curl_easy_perform(c->curl);
	if (s.oom)
		return bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory reading a response");
	if (r->curl == CURLE_FILESIZE_EXCEEDED)
		r->too_big = true;
	if (!r->curl_msg[0] && r->curl != CURLE_OK)
		snprintf(r->curl_msg, sizeof(r->curl_msg), "%s", curl_easy_strerror(r->curl));
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		r->status = status;
	if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct &&
	    !(r->content_type = bpg_strdup(ct)))
		return bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
	if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		r->retry_after_s = ra > 86400 ? 86400 : (long)ra;
	return 0;
setopt_failed:
	return bpg_error_set(err, BPG_ERROR, "Make API: libcurl refused an option (is it built with https?)");
}

/* ---- interpreting the answer ------------------------------------------------------- */

int mk_excerpt(bpg_buf *out, const char *data, size_t len, size_t max)
{
	return bpg_safe_put(out, data ? data : "", len, max);
}

static bool looks_json(const mk_response *r)
{
	for (size_t i = 0; i < r->body.size; i++) {
		char ch = r->body.ptr[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		return ch == '{' || ch == '[';
	}
	return false;
}

/* "a non-JSON body (text/html), first bytes: <...>" */
static int describe_non_json(bpg_buf *m, const mk_response *r)
{
	if (r->body.size == 0)
		return bpg_buf_puts(m, "an empty body");
	if (bpg_buf_puts(m, "a non-JSON body (") < 0 ||
	    mk_excerpt(m, r->content_type ? r->content_type : "no content type",
		    r->content_type ? strlen(r->content_type) : 15, 60) < 0 ||
	    bpg_buf_puts(m, "), first bytes: ") < 0)
		return BPG_ENOMEM;
	return mk_excerpt(m, r->body.ptr, r->body.size, 60);
}

/* Make's error body (spec 6): code, message, detail, suberrors[].message. */
static int describe_make_error(bpg_buf *m, const json_t *e)
{
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *detail = json_string_value(json_object_get(e, "detail"));
	const json_t *subs = json_object_get(e, "suberrors");
	size_t i, shown = 0;
	json_t *s;

	if (code && (bpg_buf_putc(m, ' ') < 0 || mk_excerpt(m, code, strlen(code), 20) < 0))
		return BPG_ENOMEM;
	if (msg && (bpg_buf_putc(m, ' ') < 0 || mk_excerpt(m, msg, strlen(msg), 120) < 0))
		return BPG_ENOMEM;
	if (detail && (bpg_buf_puts(m, ": ") < 0 || mk_excerpt(m, detail, strlen(detail), 300) < 0))
		return BPG_ENOMEM;
	json_array_foreach(subs, i, s) {
		const char *sm = json_string_value(json_object_get(s, "message"));
		if (!sm)
			continue;
		if (shown == 5) {
			if (bpg_buf_puts(m, "; ...") < 0)
				return BPG_ENOMEM;
			break;
		}
		if (bpg_buf_puts(m, shown ? "; " : " (") < 0 || mk_excerpt(m, sm, strlen(sm), 150) < 0)
			return BPG_ENOMEM;
		shown++;
	}
	if (shown && bpg_buf_putc(m, ')') < 0)
		return BPG_ENOMEM;
	return 0;
}

/* Parse a body that should be one JSON object. On failure *what says why
 * (appended to m) and the result is BPG_EINVALID. */
static int parse_body(json_t **out, bpg_buf *m, const mk_response *r)
{
	json_error_t je;

	*out = NULL;
	if (!looks_json(r))
		return describe_non_json(m, r) < 0 ? BPG_ENOMEM : BPG_EINVALID;
	*out = json_loadb(r->body.ptr, r->body.size, JSON_REJECT_DUPLICATES, &je);
	if (!*out) {
		if (bpg_buf_printf(m, "malformed JSON (line %d, column %d: ", je.line, je.column) < 0 ||
		    mk_excerpt(m, je.text, strlen(je.text), 120) < 0 || bpg_buf_putc(m, ')') < 0)
			return BPG_ENOMEM;
		return BPG_EINVALID;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return bpg_buf_puts(m, "JSON that is not an object at the top level") < 0 ? BPG_ENOMEM : BPG_EINVALID;
	}
	return 0;
}

static bool transport_retryable(CURLcode cc, bool write)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return true; /* nothing was sent: safe for writes too */
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return !write;
	default:
		return false;
	}
}

static bool status_retryable(long status, bool write)
{
	if (write)
		return status == 429 || status == 503;
	return status == 429 || (status >= 500 && status <= 599);
}

/* Replace every copy of the token in a message (a hostile server may echo
 * it back in an error detail) before anyone sees it. */
static void redact(const bpg_make_client *c, bpg_error *err)
{
	size_t tl = strlen(c->token);
	char *p;

	if (!err || tl == 0)
		return;
	while ((p = strstr(err->message, c->token))) {
		static const char mark[] = "[token]";
		size_t rest = strlen(p + tl);
		if (tl >= sizeof(mark) - 1) {
			memcpy(p, mark, sizeof(mark) - 1);
			memmove(p + sizeof(mark) - 1, p + tl, rest + 1);
		} else {
			memset(p, '*', tl);
		}
	}
}

static int scope_hint(bpg_buf *m, const char *method, const char *path)
{
	if (strncmp(path, "/scenarios", 10) != 0)
		return bpg_buf_puts(m, "; check the token, its scopes and its rights on the team");
	return bpg_buf_printf(m, "; check the token, its scopes and its rights on the team (this call needs %s)",
		strcmp(method, "GET") == 0 ? "scenarios:read" : "scenarios:write");
}

/* The final error of a failed exchange (no retry left or none allowed). */
static int http_error(bpg_make_client *c, const mk_response *r, const char *method, const char *path,
	bool write, unsigned retries, bpg_error *err)
{
	bpg_buf m = BPG_BUF_INIT;
	json_t *e = NULL;
	int code = BPG_ERROR, prc;

	if (bpg_buf_printf(&m, "Make API: %s %s: ", method, path) < 0)
		goto oom;
	if (r->too_big) {
		code = BPG_ETOOBIG;
		if (bpg_buf_printf(&m, "response larger than %zu bytes (max_response); refused", c->o.max_response) < 0)
			goto oom;
		goto out;
	}
	if (r->curl != CURLE_OK) {
		code = BPG_EIO;
		bool tls = r->curl == CURLE_PEER_FAILED_VERIFICATION || r->curl == CURLE_SSL_CACERT_BADFILE ||
			r->curl == CURLE_SSL_CONNECT_ERROR;
		if (retries && bpg_buf_printf(&m, "still failing after %u retries: ", retries) < 0)
			goto oom;
		if (bpg_buf_puts(&m, tls ? "TLS: " : "") < 0 || mk_excerpt(&m, r->curl_msg, strlen(r->curl_msg), 200) < 0)
			goto oom;
		if (tls && bpg_buf_puts(&m, " (the server's certificate is not trusted: for a private CA give its "
			"bundle, BPGATE_MAKE_CA_FILE or git config bpgate.makeCaFile)") < 0)
			goto oom;
		if (write && !transport_retryable(r->curl, true) && r->curl != CURLE_PEER_FAILED_VERIFICATION &&
		    bpg_buf_puts(&m, "; the write may or may not have been applied: read the scenario before trying again") < 0)
			goto oom;
		if (retries && bpg_buf_puts(&m, "; try again later") < 0)
			goto oom;
		goto out;
	}
	if (r->status == 404)
		code = BPG_ENOTFOUND;
	else if (r->status == 401 || r->status == 403)
		code = BPG_EVERIFY;
	if (retries) {
		code = BPG_ERROR;
		if (bpg_buf_printf(&m, "still HTTP %ld after %u retries; try again later", r->status, retries) < 0)
			goto oom;
		goto out;
	}
	if (bpg_buf_printf(&m, "HTTP %ld", r->status) < 0)
		goto oom;
	if (r->status >= 300 && r->status < 400) {
		char *loc = NULL;
		if (bpg_buf_puts(&m, ", a redirect") < 0)
			goto oom;
		if (curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc &&
		    (bpg_buf_puts(&m, " to ") < 0 || mk_excerpt(&m, loc, strlen(loc), 100) < 0))
			goto oom;
		if (bpg_buf_puts(&m, "; bpgate does not follow redirects: check the base URL (api_url or zone)") < 0)
			goto oom;
		goto out;
	}
	{
		bpg_buf b = BPG_BUF_INIT;
		prc = parse_body(&e, &b, r);
		if (prc == BPG_ENOMEM || (prc == 0 && describe_make_error(&m, e) < 0) ||
		    (prc < 0 && (bpg_buf_puts(&m, " with ") < 0 || bpg_buf_put(&m, b.ptr, b.size) < 0))) {
			bpg_buf_dispose(&b);
			goto oom;
		}
		bpg_buf_dispose(&b);
		if (prc < 0 && code == BPG_ERROR)
			code = BPG_EINVALID;
	}
	if (code == BPG_EVERIFY && scope_hint(&m, method, path) < 0)
		goto oom;
	if (write && r->status >= 500 &&
	    bpg_buf_puts(&m, "; the write may or may not have been applied: read the scenario before trying again") < 0)
		goto oom;
out:
	json_decref(e);
	bpg_error_set(err, code, "%s", m.ptr);
	bpg_buf_dispose(&m);
	redact(c, err);
	return code;
oom:
	json_decref(e);
	bpg_buf_dispose(&m);
	return bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
}

int bpg_make_call(json_t **out, bpg_make_client *c, const char *method, const char *path,
	const char *query, const json_t *body, bpg_error *err)
{
	mk_response r = { 0, CURLE_OK, "", BPG_BUF_INIT, false, NULL, -1 };
	bpg_buf url = BPG_BUF_INIT, m = BPG_BUF_INIT;
	char *text = NULL;
	bool write;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!c)
		return bpg_error_set(err, BPG_EINVALID, "Make API: no client");
	if ((rc = mk_check_target(method, path, query, err)) < 0)
		goto done;
	write = strcmp(method, "GET") != 0;
	if (body && !(text = bpg_json_dumps(body, JSON_COMPACT))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: %s %s: out of memory", method, path);
		goto done;
	}
	if (bpg_buf_printf(&url, "%s%s%s%s", c->base_url, path, query && *query ? "?" : "",
		    query && *query ? query : "") < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	for (unsigned attempt = 0;; attempt++) {
		if (c->requests >= c->o.max_requests) {
			rc = bpg_error_set(err, BPG_ETOOBIG,
				"Make API: %s %s: the ceiling of %u requests for one run is reached (max_requests); refused",
				method, path, c->o.max_requests);
			goto done;
		}
		budget_take(c);
		c->requests++;
		if ((rc = transfer(c, &r, method, url.ptr, text, text ? strlen(text) : 0, err)) < 0)
			goto done;
		bool again;
		if (r.too_big)
			again = false;
		else if (r.curl != CURLE_OK)
			again = transport_retryable(r.curl, write);
		else if (r.status >= 200 && r.status < 300)
			break;
		else
			again = status_retryable(r.status, write);
		if (!again || attempt >= c->o.max_retries) {
			rc = http_error(c, &r, method, path, write, again ? attempt : 0, err);
			goto done;
		}
		mk_sleep_ms(c, mk_backoff_ms(c, attempt, r.curl == CURLE_OK ? r.retry_after_s : -1));
	}
	json_t *doc = NULL;
	if (bpg_buf_printf(&m, "Make API: %s %s: HTTP %ld with ", method, path, r.status) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	if ((rc = parse_body(&doc, &m, &r)) < 0) {
		if (rc == BPG_ENOMEM) {
			rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
			goto done;
		}
		rc = bpg_error_set(err, BPG_EINVALID, "%s", m.ptr);
		redact(c, err);
		goto done;
	}
	if (out)
		*out = doc;
	else
		json_decref(doc);
done:
	free(text);
	bpg_buf_dispose(&url);
	bpg_buf_dispose(&m);
	mk_response_dispose(&r);
	return rc;
}
