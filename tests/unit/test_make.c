/* Unit tests for the Make API client module: the byte-stable blueprint form,
 * reference maps, the token file, the URL rules and the backoff arithmetic.
 * The transport against the stand-in is tested in tests/e2e/make_client.sh. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpgate/blueprint.h"
#include "bpgate/make.h"
#include "../../policy/make/internal.h"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	cr_assert_not_null(v, "bad test JSON: %s", je.text);
	return v;
}

static char *fmt(const json_t *v)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	cr_assert_eq(bpg_make_blueprint_format(&b, v, &err), 0, "%s", err.message);
	return bpg_buf_detach(&b);
}

/* ---- format ------------------------------------------------------------------ */

Test(make, format_is_make_export_form)
{
	json_t *v = parse("{\"name\":\"Caf\xc3\xa9 \\\"sync\\\"\",\"flow\":[{\"id\":1,\"module\":\"json:ParseJSON\","
		"\"mapper\":{\"a/b\":\"x\\ty\\u0001\",\"n\":0.1,\"r\":2.0,\"big\":1e300,\"e\":[],\"o\":{}}}],"
		"\"metadata\":{\"version\":1,\"z\":null,\"t\":true,\"f\":false}}");
	char *out = fmt(v);
	cr_assert_str_eq(out,
		"{\n"
		"    \"name\": \"Caf\xc3\xa9 \\\"sync\\\"\",\n"
		"    \"flow\": [\n"
		"        {\n"
		"            \"id\": 1,\n"
		"            \"module\": \"json:ParseJSON\",\n"
		"            \"mapper\": {\n"
		"                \"a/b\": \"x\\ty\\u0001\",\n"
		"                \"n\": 0.1,\n"
		"                \"r\": 2.0,\n"
		"                \"big\": 1e+300,\n"
		"                \"e\": [],\n"
		"                \"o\": {}\n"
		"            }\n"
		"        }\n"
		"    ],\n"
		"    \"metadata\": {\n"
		"        \"version\": 1,\n"
		"        \"z\": null,\n"
		"        \"t\": true,\n"
		"        \"f\": false\n"
		"    }\n"
		"}\n");
	free(out);
	json_decref(v);
}

Test(make, format_twice_gives_the_same_bytes_on_the_real_corpus)
{
	const char *shared = getenv("BPG_SHARED_DIR");
	char dir[4096], path[8192];
	size_t files = 0;
	struct dirent *d;
	DIR *dh;

	cr_assert_not_null(shared);
	snprintf(dir, sizeof(dir), "%s/corpus/blueprints/real", shared);
	cr_assert_not_null(dh = opendir(dir));
	while ((d = readdir(dh))) {
		size_t n = strlen(d->d_name);
		if (n < 5 || strcmp(d->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		json_error_t je;
		json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		cr_assert_not_null(v, "%s: %s", path, je.text);
		char *once = fmt(v);
		json_t *again = parse(once);
		char *twice = fmt(again);
		cr_assert_str_eq(once, twice, "%s: not byte-stable", d->d_name);
		cr_assert(json_equal(v, again), "%s: the formatted text reads back differently", d->d_name);
		free(once);
		free(twice);
		json_decref(v);
		json_decref(again);
		files++;
	}
	closedir(dh);
	cr_assert_geq(files, 40);
}

Test(make, format_refuses_a_non_object)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	json_t *v = json_array();
	cr_assert_eq(bpg_make_blueprint_format(&b, v, &err), BPG_EINVALID);
	cr_assert_eq(b.size, 0);
	json_decref(v);
	bpg_buf_dispose(&b);
}

/* ---- reference maps ----------------------------------------------------------- */

static const char *bp_text =
	"{\"name\":\"CRM sync\",\"flow\":["
	"{\"id\":1,\"module\":\"gateway:CustomWebHook\",\"parameters\":{\"hook\":1101,\"maxResults\":1},"
	"\"metadata\":{\"restore\":{\"parameters\":{\"hook\":{\"label\":\"dev hook\",\"data\":{\"editable\":\"true\"}}}},"
	"\"parameters\":[{\"name\":\"hook\",\"type\":\"hook:gateway-webhook\",\"label\":\"Webhook\"}]}},"
	"{\"id\":2,\"module\":\"builtin:BasicRouter\",\"routes\":[{\"flow\":["
	"{\"id\":3,\"module\":\"google-sheets:addRow\",\"parameters\":{\"__IMTCONN__\":1001},"
	"\"metadata\":{\"restore\":{\"parameters\":{\"__IMTCONN__\":{\"label\":\"dev sheets\",\"data\":{\"connection\":\"google\"}}}},"
	"\"parameters\":[{\"name\":\"__IMTCONN__\",\"type\":\"account:google\"}]},"
	"\"onerror\":[{\"id\":4,\"module\":\"datastore:AddRecord\",\"parameters\":{\"datastore\":501,\"udt\":\"77\"},"
	"\"metadata\":{\"parameters\":[{\"name\":\"datastore\",\"type\":\"datastore\"},{\"name\":\"udt\",\"type\":\"udt\"}]}}]}]}]},"
	"{\"id\":5,\"module\":\"http:ActionSendData\",\"parameters\":{\"apiKeyKeychain\":\"k-9\",\"other\":\"{{1.id}}\"},"
	"\"metadata\":{\"parameters\":[{\"name\":\"apiKeyKeychain\",\"type\":\"keychain:apikeyauth\"},"
	"{\"name\":\"other\",\"type\":\"account:x\"}]}}],"
	"\"metadata\":{\"version\":1,\"designer\":{\"orphans\":[[{\"id\":9,\"module\":\"slack:CreateMessage\","
	"\"parameters\":{\"__IMTCONN__\":1002}}]]}}}";

static const char *map_text =
	"{\"account\":{\"1001\":3001,\"1002\":\"3002\"},\"hook\":{\"1101\":3101},\"keychain\":{\"k-9\":\"k-prod\"},"
	"\"datastore\":{\"501\":801},\"udt\":{\"77\":88},\"device\":{}}";

Test(make, map_rewrites_every_reference_through_the_map)
{
	json_t *bp = parse(bp_text), *map = parse(map_text);
	bpg_error err;
	size_t n = 0;

	cr_assert_eq(bpg_make_blueprint_map(bp, map, false, &n, &err), 0, "%s", err.message);
	cr_assert_eq(n, 6);
	char *got = json_dumps(bp, JSON_COMPACT);
	cr_assert_str_eq(got,
		"{\"name\":\"CRM sync\",\"flow\":["
		"{\"id\":1,\"module\":\"gateway:CustomWebHook\",\"parameters\":{\"hook\":3101,\"maxResults\":1},"
		"\"metadata\":{\"restore\":{\"parameters\":{\"hook\":{\"label\":\"dev hook\",\"data\":{\"editable\":\"true\"}}}},"
		"\"parameters\":[{\"name\":\"hook\",\"type\":\"hook:gateway-webhook\",\"label\":\"Webhook\"}]}},"
		"{\"id\":2,\"module\":\"builtin:BasicRouter\",\"routes\":[{\"flow\":["
		"{\"id\":3,\"module\":\"google-sheets:addRow\",\"parameters\":{\"__IMTCONN__\":3001},"
		"\"metadata\":{\"restore\":{\"parameters\":{\"__IMTCONN__\":{\"label\":\"dev sheets\",\"data\":{\"connection\":\"google\"}}}},"
		"\"parameters\":[{\"name\":\"__IMTCONN__\",\"type\":\"account:google\"}]},"
		"\"onerror\":[{\"id\":4,\"module\":\"datastore:AddRecord\",\"parameters\":{\"datastore\":801,\"udt\":\"88\"},"
		"\"metadata\":{\"parameters\":[{\"name\":\"datastore\",\"type\":\"datastore\"},{\"name\":\"udt\",\"type\":\"udt\"}]}}]}]}]},"
		"{\"id\":5,\"module\":\"http:ActionSendData\",\"parameters\":{\"apiKeyKeychain\":\"k-prod\",\"other\":\"{{1.id}}\"},"
		"\"metadata\":{\"parameters\":[{\"name\":\"apiKeyKeychain\",\"type\":\"keychain:apikeyauth\"},"
		"{\"name\":\"other\",\"type\":\"account:x\"}]}}],"
		"\"metadata\":{\"version\":1,\"designer\":{\"orphans\":[[{\"id\":9,\"module\":\"slack:CreateMessage\","
		"\"parameters\":{\"__IMTCONN__\":3002}}]]}}}");
	free(got);

	/* and back: the map read backwards restores the exported bytes */
	cr_assert_eq(bpg_make_blueprint_map(bp, map, true, &n, &err), 0, "%s", err.message);
	cr_assert_eq(n, 6);
	got = json_dumps(bp, JSON_COMPACT);
	cr_assert_str_eq(got, bp_text);
	free(got);
	json_decref(bp);
	json_decref(map);
}

Test(make, map_without_a_mapping_fails_and_changes_nothing)
{
	json_t *bp = parse(bp_text);
	json_t *map = parse("{\"account\":{\"1001\":3001},\"hook\":{\"1101\":3101},\"keychain\":{\"k-9\":\"k\"},"
		"\"datastore\":{\"501\":801},\"udt\":{\"77\":88}}");
	bpg_error err;
	size_t n = 7;

	cr_assert_eq(bpg_make_blueprint_map(bp, map, false, &n, &err), BPG_ENOTFOUND);
	cr_assert_str_eq(err.message,
		"reference map: module 9 (slack:CreateMessage) at /metadata/designer/orphans/0/0/parameters/__IMTCONN__: "
		"account 1002 has no mapping");
	cr_assert_eq(n, 0);
	char *got = json_dumps(bp, JSON_COMPACT);
	cr_assert_str_eq(got, bp_text);
	free(got);
	json_decref(bp);
	json_decref(map);
}

Test(make, map_reverse_names_the_missing_environment_id)
{
	json_t *bp = parse(bp_text), *map = parse(map_text);
	bpg_error err;

	/* the blueprint holds git ids: read backwards, 1101 is no environment id */
	cr_assert_eq(bpg_make_blueprint_map(bp, map, true, NULL, &err), BPG_ENOTFOUND);
	cr_assert_str_eq(err.message,
		"reference map: module 1 (gateway:CustomWebHook) at /flow/0/parameters/hook: hook 1101 has no "
		"mapping back to an id in git");
	json_decref(bp);
	json_decref(map);
}

Test(make, map_reverse_refuses_an_ambiguous_map)
{
	json_t *bp = parse("{\"flow\":[{\"id\":3,\"module\":\"a:b\",\"parameters\":{\"__IMTCONN__\":3001}}]}");
	json_t *map = parse("{\"account\":{\"1001\":3001,\"1009\":3001}}");
	bpg_error err;

	cr_assert_eq(bpg_make_blueprint_map(bp, map, true, NULL, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message,
		"reference map: module 3 (a:b) at /flow/0/parameters/__IMTCONN__: account 3001 is the environment's "
		"id of more than one id in git; the map cannot be read backwards");
	json_decref(bp);
	json_decref(map);
}

Test(make, map_refuses_unknown_kinds_and_bad_ids)
{
	json_t *bp = parse("{\"flow\":[]}");
	json_t *m1 = parse("{\"connection\":{}}"), *m2 = parse("{\"account\":{\"1\":0}}"),
		*m3 = parse("{\"account\":{\"1\":true}}");
	bpg_error err;

	cr_assert_eq(bpg_make_blueprint_map(bp, m1, false, NULL, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "reference map: unknown kind \"connection\" (expected account, hook, keychain, "
		"datastore, udt, device)");
	cr_assert_eq(bpg_make_blueprint_map(bp, m2, false, NULL, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "reference map: /account/1: expected an id (an integer > 0 or a string)");
	cr_assert_eq(bpg_make_blueprint_map(bp, m3, false, NULL, &err), BPG_EINVALID);
	json_decref(bp);
	json_decref(m1);
	json_decref(m2);
	json_decref(m3);
}

Test(make, reference_kinds_to_map_kinds)
{
	cr_assert_str_eq(bpg_reference_map_kind("connection"), "account");
	cr_assert_str_eq(bpg_reference_map_kind("webhook"), "hook");
	cr_assert_str_eq(bpg_reference_map_kind("keychain"), "keychain");
	cr_assert_str_eq(bpg_reference_map_kind("datastore"), "datastore");
	cr_assert_str_eq(bpg_reference_map_kind("datastructure"), "udt");
	cr_assert_str_eq(bpg_reference_map_kind("device"), "device");
	cr_assert_null(bpg_reference_map_kind("scenario"));
	cr_assert_null(bpg_reference_map_kind(NULL));
}

Test(make, map_devices_and_string_targets_keep_integer_types)
{
	json_t *bp = parse("{\"flow\":[{\"id\":1,\"module\":\"ios:SendPush\",\"parameters\":{\"__IMTDEVICE__\":12,"
		"\"__IMTCONN__\":5}}]}");
	json_t *map = parse("{\"device\":{\"12\":\"34\"},\"account\":{\"5\":\"acct-x\"}}");
	bpg_error err;
	size_t n;

	cr_assert_eq(bpg_make_blueprint_map(bp, map, false, &n, &err), 0, "%s", err.message);
	char *got = json_dumps(bp, JSON_COMPACT);
	cr_assert_str_eq(got, "{\"flow\":[{\"id\":1,\"module\":\"ios:SendPush\",\"parameters\":{\"__IMTDEVICE__\":34,"
		"\"__IMTCONN__\":\"acct-x\"}}]}");
	free(got);
	json_decref(bp);
	json_decref(map);
}

/* ---- the token ---------------------------------------------------------------- */

static const char *secret = "0c1f4a7e-4b2d-4c3e-9f10-123456789abc";

static char *token_file(const char *content, mode_t mode)
{
	char *path = strdup("/tmp/bpg-make-token.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

Test(make, token_from_the_environment_first)
{
	char *t = NULL;
	bpg_error err;

	setenv("BPGATE_MAKE_TOKEN", secret, 1);
	cr_assert_eq(bpg_make_token_load(&t, "/nonexistent", &err), 0, "%s", err.message);
	cr_assert_str_eq(t, secret);
	bpg_make_token_free(t);
	setenv("BPGATE_MAKE_TOKEN", "", 1);
	cr_assert_eq(bpg_make_token_load(&t, NULL, &err), BPG_ENOTFOUND);
	cr_assert_null(t);
	setenv("BPGATE_MAKE_TOKEN", "two words", 1);
	cr_assert_eq(bpg_make_token_load(&t, NULL, &err), BPG_EINVALID);
	cr_assert_null(strstr(err.message, "two words"));
	unsetenv("BPGATE_MAKE_TOKEN");
}

Test(make, token_file_modes_and_contents)
{
	char line[128], *t = NULL;
	bpg_error err;

	unsetenv("BPGATE_MAKE_TOKEN");
	snprintf(line, sizeof(line), "%s\n", secret);
	char *ok = token_file(line, 0600);
	cr_assert_eq(bpg_make_token_load(&t, ok, &err), 0, "%s", err.message);
	cr_assert_str_eq(t, secret);
	bpg_make_token_free(t);
	t = NULL;
	char *ro = token_file(line, 0400);
	cr_assert_eq(bpg_make_token_load(&t, ro, &err), 0, "%s", err.message);
	bpg_make_token_free(t);
	t = NULL;

	char *open644 = token_file(line, 0644);
	cr_assert_eq(bpg_make_token_load(&t, open644, &err), BPG_EVERIFY);
	cr_assert_null(t);
	char want[512];
	snprintf(want, sizeof(want), "%s: the token file has mode 0644, readable by others; refused (fix: chmod 600 %s)",
		open644, open644);
	cr_assert_str_eq(err.message, want);
	char *g640 = token_file(line, 0640);
	cr_assert_eq(bpg_make_token_load(&t, g640, &err), BPG_EVERIFY);

	char *two = token_file("abc\ndef\n", 0600);
	cr_assert_eq(bpg_make_token_load(&t, two, &err), BPG_EINVALID);
	cr_assert_not_null(strstr(err.message, "one line of printable ASCII"));
	char *empty = token_file("\n", 0600);
	cr_assert_eq(bpg_make_token_load(&t, empty, &err), BPG_EINVALID);
	char big[6000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *large = token_file(big, 0600);
	cr_assert_eq(bpg_make_token_load(&t, large, &err), BPG_ETOOBIG);
	cr_assert_eq(bpg_make_token_load(&t, "/tmp", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "/tmp: the token file is not a regular file");
	cr_assert_eq(bpg_make_token_load(&t, "/nonexistent/token", &err), BPG_ENOTFOUND);
	cr_assert_null(strstr(err.message, secret));

	const char *all[] = { ok, ro, open644, g640, two, empty, large };
	for (size_t i = 0; i < 7; i++) {
		unlink(all[i]);
		free((void *)all[i]);
	}
}

/* ---- URLs ----------------------------------------------------------------------- */

static int new_client(bpg_make_client **c, const char *url, bpg_error *err)
{
	bpg_make_options o = { 0 };
	o.base_url = url;
	o.token = secret;
	return bpg_make_client_new(c, &o, err);
}

Test(make, url_rules_https_required_off_loopback)
{
	bpg_make_client *c = NULL;
	bpg_error err;

	cr_assert_eq(new_client(&c, "https://eu1.make.com/api/v2", &err), 0, "%s", err.message);
	bpg_make_client_free(c);
	cr_assert_eq(new_client(&c, "http://127.0.0.1:8080/api/v2/", &err), 0, "%s", err.message);
	bpg_make_client_free(c);
	cr_assert_eq(new_client(&c, "http://[::1]:8080/api/v2", &err), 0, "%s", err.message);
	bpg_make_client_free(c);
	cr_assert_eq(new_client(&c, "http://localhost/api/v2", &err), 0, "%s", err.message);
	bpg_make_client_free(c);

	cr_assert_eq(new_client(&c, "http://eu1.make.com/api/v2", &err), BPG_EINVALID);
	cr_assert_null(c);
	cr_assert_str_eq(err.message, "Make API: base URL 'http://eu1.make.com/api/v2' uses plain http to "
		"eu1.make.com: refused, the token would travel unencrypted; use https (http is allowed only to "
		"127.0.0.1, ::1 and localhost)");
	cr_assert_eq(new_client(&c, "http://127.0.0.2/api/v2", &err), BPG_EINVALID);
	cr_assert_eq(new_client(&c, "http://localhost.evil.test/api/v2", &err), BPG_EINVALID);
	cr_assert_eq(new_client(&c, "ftp://eu1.make.com/api/v2", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: base URL 'ftp://eu1.make.com/api/v2': scheme 'ftp' refused; "
		"use https://<zone>/api/v2");
	cr_assert_eq(new_client(&c, "https://user:pw@eu1.make.com/api/v2", &err), BPG_EINVALID);
	cr_assert_eq(new_client(&c, "https://eu1.make.com/api/v2?x=1", &err), BPG_EINVALID);
	cr_assert_eq(new_client(&c, "eu1.make.com/api/v2", &err), BPG_EINVALID);
	cr_assert_null(strstr(err.message, secret));
}

Test(make, base_url_from_zone_or_api_url)
{
	char *u = NULL;
	bpg_error err;

	cr_assert_eq(bpg_make_base_url(&u, "eu1.make.com", NULL, &err), 0, "%s", err.message);
	cr_assert_str_eq(u, "https://eu1.make.com/api/v2");
	free(u);
	cr_assert_eq(bpg_make_base_url(&u, "eu1.make.com", "http://127.0.0.1:9/api/v2/", &err), 0, "%s", err.message);
	cr_assert_str_eq(u, "http://127.0.0.1:9/api/v2");
	free(u);
	cr_assert_eq(bpg_make_base_url(&u, "evil.test/x?", NULL, &err), BPG_EINVALID);
	cr_assert_null(u);
	cr_assert_eq(bpg_make_base_url(&u, NULL, NULL, &err), BPG_EINVALID);
	cr_assert_eq(bpg_make_base_url(&u, NULL, "http://make.example/api/v2", &err), BPG_EINVALID);
}

Test(make, token_with_controls_refused_without_quoting_it)
{
	bpg_make_client *c = NULL;
	bpg_make_options o = { 0 };
	bpg_error err;

	o.base_url = "https://eu1.make.com/api/v2";
	o.token = "abc\r\nX-Injected: 1";
	cr_assert_eq(bpg_make_client_new(&c, &o, &err), BPG_EINVALID);
	cr_assert_null(strstr(err.message, "abc"));
	cr_assert_null(strstr(err.message, "Injected"));
}

Test(make, target_paths_and_queries_are_checked)
{
	bpg_error err;

	cr_assert_eq(mk_check_target("GET", "/scenarios/12/blueprint", "draft=false", &err), 0);
	cr_assert_eq(mk_check_target("GET", "//evil.test/x", NULL, &err), BPG_EINVALID);
	cr_assert_eq(mk_check_target("GET", "/scenarios/../users", NULL, &err), BPG_EINVALID);
	cr_assert_eq(mk_check_target("GET", "/scenarios@evil", NULL, &err), BPG_EINVALID);
	cr_assert_eq(mk_check_target("GET", "/scenarios", "a=b c", &err), BPG_EINVALID);
	cr_assert_eq(mk_check_target("GET", "/scenarios", "a=b#x", &err), BPG_EINVALID);
	cr_assert_eq(mk_check_target("PUT", "/scenarios", NULL, &err), BPG_EINVALID);
}

/* ---- backoff and retries ---------------------------------------------------------- */

Test(make, backoff_doubles_with_jitter_and_caps)
{
	bpg_make_client *c = NULL;
	bpg_error err;

	unsetenv("BPGATE_TEST_MAKE_CLOCK");
	cr_assert_eq(new_client(&c, "https://eu1.make.com/api/v2", &err), 0, "%s", err.message);
	for (int i = 0; i < 2000; i++) {
		uint64_t b0 = mk_backoff_ms(c, 0, -1), b3 = mk_backoff_ms(c, 3, -1), b9 = mk_backoff_ms(c, 9, -1);
		cr_assert(b0 >= 800 && b0 <= 1200, "%llu", (unsigned long long)b0);
		cr_assert(b3 >= 6400 && b3 <= 9600, "%llu", (unsigned long long)b3);
		cr_assert(b9 >= 24000 && b9 <= 30000, "%llu", (unsigned long long)b9); /* 512 s jittered, capped */
	}
	cr_assert_eq(mk_backoff_ms(c, 40, -1) <= 30000, true);
	cr_assert_eq(mk_backoff_ms(c, 0, 7), 7000);          /* Retry-After: exact */
	cr_assert_eq(mk_backoff_ms(c, 0, 3600), 30000);      /* and capped */
	cr_assert_eq(mk_backoff_ms(c, 0, 0), 0);
	bpg_make_client_free(c);
}

Test(make, retries_a_refused_connection_with_exact_fake_waits)
{
	bpg_make_client *c = NULL;
	bpg_make_options o = { 0 };
	bpg_error err;
	json_t *out = NULL;

	setenv("BPGATE_TEST_MAKE_CLOCK", "fake", 1);
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.token = secret;
	cr_assert_eq(bpg_make_client_new(&c, &o, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_make_call(&out, c, "GET", "/scenarios", "teamId=1", NULL, &err), BPG_EIO);
	cr_assert_null(out);
	cr_assert_eq(bpg_make_client_requests(c), 6);
	cr_assert_eq(bpg_make_client_waited_ms(c), 1000 + 2000 + 4000 + 8000 + 16000);
	cr_assert_eq(strncmp(err.message, "Make API: GET /scenarios: still failing after 5 retries: ", 57), 0,
		"%s", err.message);
	cr_assert_null(strstr(err.message, secret));
	bpg_make_client_free(c);
	unsetenv("BPGATE_TEST_MAKE_CLOCK");
}

Test(make, the_budget_and_the_request_ceiling)
{
	bpg_make_client *c = NULL;
	bpg_make_options o = { 0 };
	bpg_error err;

	setenv("BPGATE_TEST_MAKE_CLOCK", "fake", 1);
	o.base_url = "http://127.0.0.1:1/api/v2";
	o.token = secret;
	o.max_retries = 3;           /* 4 requests per call */
	o.backoff_ms = 1;
	o.backoff_max_ms = 1;        /* 3 ms of backoff per call */
	o.budget_per_minute = 6;
	o.max_requests = 10;
	cr_assert_eq(bpg_make_client_new(&c, &o, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_make_call(NULL, c, "GET", "/scenarios", NULL, NULL, &err), BPG_EIO);
	cr_assert_eq(bpg_make_client_waited_ms(c), 3);
	/* requests 5 and 6 fit in the minute; the 7th waits for the 1st to be a minute old */
	cr_assert_eq(bpg_make_call(NULL, c, "GET", "/scenarios", NULL, NULL, &err), BPG_EIO);
	cr_assert_eq(bpg_make_client_requests(c), 8);
	cr_assert_eq(bpg_make_client_waited_ms(c), 3 + 2 + (60000 - 5) + 1);
	/* request 11 passes max_requests */
	cr_assert_eq(bpg_make_call(NULL, c, "GET", "/scenarios", NULL, NULL, &err), BPG_ETOOBIG);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: the ceiling of 10 requests for one run is reached "
		"(max_requests); refused");
	cr_assert_eq(bpg_make_client_requests(c), 10);
	bpg_make_client_free(c);
	unsetenv("BPGATE_TEST_MAKE_CLOCK");
}

/* ---- canned answers from a tiny loopback server --------------------------------------- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

typedef struct {
	int fd;
	char response[4096];
	int count;
} canned;

static void *serve(void *arg)
{
	canned *s = arg;
	for (int i = 0; i < s->count; i++) {
		char req[8192];
		size_t got = 0;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		while (got < sizeof(req) - 1) {
			ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (write(c, s->response, strlen(s->response)) < 0) {
			/* the client went away: nothing to do */
		}
		close(c);
	}
	return NULL;
}

/* Serve `count` connections with the same answer; returns the base URL. */
static void start_canned(canned *s, pthread_t *t, char *base, size_t baselen, const char *status,
	const char *headers, const char *body, int count)
{
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof(a);

	snprintf(s->response, sizeof(s->response),
		"HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status, headers, strlen(body), body);
	s->count = count;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->fd, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s->fd, 8), 0);
	cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(base, baselen, "http://127.0.0.1:%d/api/v2", ntohs(a.sin_port));
	cr_assert_eq(pthread_create(t, NULL, serve, s), 0);
}

static void stop_canned(canned *s, pthread_t t)
{
	pthread_join(t, NULL);
	close(s->fd);
}

/* One call against a canned answer; returns the code, fills err. */
static int canned_call(const char *status, const char *headers, const char *body, const char *method,
	bpg_error *err, unsigned long *requests)
{
	canned s;
	pthread_t t;
	char base[128];
	bpg_make_client *c = NULL;
	bpg_make_options o = { 0 };
	json_t *out = NULL;
	int rc;

	setenv("BPGATE_TEST_MAKE_CLOCK", "fake", 1);
	start_canned(&s, &t, base, sizeof(base), status, headers, body, 1);
	o.base_url = base;
	o.token = secret;
	cr_assert_eq(bpg_make_client_new(&c, &o, err), 0, "%s", err->message);
	rc = bpg_make_call(&out, c, method, "/scenarios", "teamId=1", NULL, err);
	*requests = bpg_make_client_requests(c);
	json_decref(out);
	bpg_make_client_free(c);
	stop_canned(&s, t);
	unsetenv("BPGATE_TEST_MAKE_CLOCK");
	return rc;
}

Test(make, an_echoed_token_is_redacted)
{
	char body[512];
	bpg_error err;
	unsigned long n;

	snprintf(body, sizeof(body), "{\"message\":\"Bad Request\",\"code\":\"SC400\",\"detail\":\"Invalid token %s for this team\","
		"\"suberrors\":[{\"message\":\"token %s unknown\",\"name\":\"Error\"}]}", secret, secret);
	cr_assert_eq(canned_call("400 Bad Request", "Content-Type: application/json\r\n", body, "GET", &err, &n), BPG_ERROR);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: HTTP 400 SC400 Bad Request: Invalid token [token] for "
		"this team (token [token] unknown)");
	cr_assert_eq(n, 1);
}

Test(make, redirects_are_not_followed)
{
	bpg_error err;
	unsigned long n;

	cr_assert_eq(canned_call("302 Found", "Location: https://evil.test/steal\r\n", "", "GET", &err, &n), BPG_ERROR);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: HTTP 302, a redirect to https://evil.test/steal; bpgate "
		"does not follow redirects: check the base URL (api_url or zone)");
	cr_assert_eq(n, 1);
}

Test(make, answers_that_are_not_one_json_object_are_refused)
{
	bpg_error err;
	unsigned long n;

	cr_assert_eq(canned_call("200 OK", "Content-Type: application/json\r\n", "[1,2]", "GET", &err, &n), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: HTTP 200 with JSON that is not an object at the top level");
	cr_assert_eq(canned_call("200 OK", "Content-Type: application/json\r\n", "{\"a\":1,\"a\":2}", "GET", &err, &n),
		BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: HTTP 200 with malformed JSON (line 1, column 10: "
		"duplicate object key near '\"a\"')");
	cr_assert_eq(canned_call("200 OK", "", "", "GET", &err, &n), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: HTTP 200 with an empty body");
	/* a write that got a 502 page: not repeated, and said so */
	cr_assert_eq(canned_call("502 Bad Gateway", "Content-Type: text/html\r\n", "<html>\x1b[31mbad</html>", "PATCH",
		&err, &n), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: PATCH /scenarios: HTTP 502 with a non-JSON body (text/html), first bytes: "
		"<html>\\x1b[31mbad</html>; the write may or may not have been applied: read the scenario before trying again");
	cr_assert_eq(n, 1);
}

Test(make, the_envelope_of_each_endpoint_is_checked)
{
	canned s;
	pthread_t t;
	char base[128];
	bpg_make_client *c = NULL;
	bpg_make_options o = { 0 };
	bpg_error err;
	json_t *out = NULL;

	start_canned(&s, &t, base, sizeof(base), "200 OK", "Content-Type: application/json\r\n",
		"{\"scenarios\":[],\"code\":\"NOPE\",\"scenario\":{\"id\":5,\"isActive\":false}}", 4);
	o.base_url = base;
	o.token = secret;
	cr_assert_eq(bpg_make_client_new(&c, &o, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_make_scenarios_list(&out, c, 10, 0, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios: unexpected answer: no \"scenarios\" array with a \"pg\" "
		"object (is the base URL a Make API v2 URL?)");
	cr_assert_eq(bpg_make_blueprint_get(&out, NULL, NULL, c, 5, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "Make API: GET /scenarios/5/blueprint: unexpected answer: no \"code\": \"OK\" with a "
		"\"response\" object (is the base URL a Make API v2 URL?)");
	cr_assert_eq(bpg_make_logs_list(&out, c, 5, 0, 1000, 0, &err), BPG_EINVALID);
	cr_assert_eq(bpg_make_scenario_set_active(c, 5, true, &err), BPG_ERROR);
	cr_assert_str_eq(err.message, "Make API: POST /scenarios/5/start: the answer says the scenario is still inactive");
	cr_assert_null(out);
	bpg_make_client_free(c);
	stop_canned(&s, t);
}
