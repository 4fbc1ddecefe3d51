/*
 * The Make API client's URL rules: the base URL is parsed with libcurl's URL
 * parser and must be https, or http to the loopback interface only (the
 * tests' stand-in); no user name, query or fragment. Paths and queries the
 * endpoints build are checked so that they cannot change the host.
 */
#include "internal.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"

#include <string.h>
#include <strings.h>

/* ---- URLs -------------------------------------------------------------------- */

static bool is_loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
		strcasecmp(host, "localhost") == 0;
}

/* Parse and check a base URL; *https tells which scheme it has. */
int mk_check_base_url(char **normal, bool *https, const char *url, bpg_error *err)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *frag = NULL, *full = NULL;
	bpg_buf shown = BPG_BUF_INIT;
	int rc = 0;

	*normal = NULL;
	if ((rc = mk_curl_load(err)) < 0)
		return rc;
	u = curl_url();
	if (!u) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	if (bpg_safe_put(&shown, url, strlen(url), 200) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: base URL '%s' is not a URL (expected https://<zone>/api/v2)", shown.ptr);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: base URL '%s' carries a user name, a query or a fragment; give only "
			"https://<host>/api/v2 (the token goes in the token file or BPGATE_MAKE_TOKEN)", shown.ptr);
		goto done;
	}
	if (strcasecmp(scheme, "https") == 0) {
		*https = true;
	} else if (strcasecmp(scheme, "http") == 0 && is_loopback(host)) {
		*https = false;
	} else if (strcasecmp(scheme, "http") == 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: base URL '%s' uses plain http to %s: refused, the token would travel "
			"unencrypted; use https (http is allowed only to 127.0.0.1, ::1 and localhost)",
			shown.ptr, host);
		goto done;
	} else {
		rc = bpg_error_set(err, BPG_EINVALID,
			"Make API: base URL '%s': scheme '%s' refused; use https://<zone>/api/v2", shown.ptr, scheme);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || !(*normal = bpg_strdup(full))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
		goto done;
	}
	for (size_t n = strlen(*normal); n > 0 && (*normal)[n - 1] == '/'; n--)
		(*normal)[n - 1] = '\0';
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_free(full);
	curl_url_cleanup(u);
	bpg_buf_dispose(&shown);
	return rc;
}

int bpg_make_base_url(char **out, const char *zone, const char *api_url, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	bool https;
	int rc;

	*out = NULL;
	if (api_url && *api_url)
		return mk_check_base_url(out, &https, api_url, err);
	if (!zone || !*zone)
		return bpg_error_set(err, BPG_EINVALID, "Make API: neither a zone nor an api_url is given");
	for (const char *p = zone; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-'))
			return bpg_error_set(err, BPG_EINVALID,
				"Make API: zone must be a host name such as eu1.make.com (letters, digits, '.', '-')");
	if (bpg_buf_printf(&b, "https://%s/api/v2", zone) < 0) {
		bpg_buf_dispose(&b);
		return bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
	}
	rc = mk_check_base_url(out, &https, b.ptr, err);
	bpg_buf_dispose(&b);
	return rc;
}

/* Paths and queries come from the library's own callers, but still: only
 * characters that cannot change the host or start a header. */
int mk_check_target(const char *method, const char *path, const char *query, bpg_error *err)
{
	static const char *methods[] = { "GET", "POST", "PATCH", "DELETE" };
	bool known = false;

	for (size_t i = 0; method && i < 4; i++)
		known |= strcmp(method, methods[i]) == 0;
	if (!known)
		return bpg_error_set(err, BPG_EINVALID, "Make API: method must be GET, POST, PATCH or DELETE");
	if (!path || path[0] != '/' || strstr(path, "//") || strstr(path, ".."))
		return bpg_error_set(err, BPG_EINVALID, "Make API: %s: the path must start with one '/'", method);
	for (const char *p = path; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("/-_.%", *p)))
			return bpg_error_set(err, BPG_EINVALID,
				"Make API: %s: the path may hold only letters, digits and / - _ . %%", method);
	for (const char *p = query; p && *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
			return bpg_error_set(err, BPG_EINVALID,
				"Make API: %s %s: the query must be encoded already (no spaces, controls or '#')",
				method, path);
	return 0;
}

