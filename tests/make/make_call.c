/*
 * make_call: a tiny driver of the Make API client (bpgate/make.h) for the
 * end-to-end tests (built only with -Dtests=true). It is not a bpgate
 * command: `bpgate make ...` is.
 *
 *   make_call [options] COMMAND ARGS...
 *     --base URL --ca FILE --token-file FILE --retries N --backoff MS
 *     --backoff-max MS --budget N --max-response BYTES --max-requests N
 *     --connect-ms MS --total-ms MS
 *   commands:
 *     call METHOD PATH [QUERY|-] [BODY-JSON]   list TEAM [FOLDER]   get ID
 *     blueprint ID   update ID BLUEPRINT-FILE [SCHEDULING-FILE|-]
 *     create TEAM FOLDER BLUEPRINT-FILE SCHEDULING-FILE   start ID   stop ID
 *     logs ID FROM_MS TO_MS [MAX]   format FILE   map FILE MAP-FILE [reverse]
 *
 * The result goes to stdout as compact JSON (format: the byte-stable form);
 * the last line on stderr is "make_call: requests=N waited_ms=M". On error:
 * "make_call: error CODE: MESSAGE" on stderr and exit status 1 (2: usage).
 */
#include "bpgate/make.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *code_name(int code)
{
	switch (code) {
	case BPG_ERROR: return "ERROR";
	case BPG_EINVALID: return "EINVALID";
	case BPG_ENOTFOUND: return "ENOTFOUND";
	case BPG_ENOMEM: return "ENOMEM";
	case BPG_ETOOBIG: return "ETOOBIG";
	case BPG_EVERIFY: return "EVERIFY";
	case BPG_EIO: return "EIO";
	default: return "OTHER";
	}
}

static json_t *load(const char *path, bpg_error *err)
{
	json_error_t je;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		bpg_error_set(err, BPG_EINVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	return v;
}

static int usage(void)
{
	fprintf(stderr, "usage: make_call [options] COMMAND ARGS... (see tests/make/make_call.c)\n");
	return 2;
}

static int print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return BPG_ENOMEM;
	printf("%s\n", s);
	free(s);
	return 0;
}

static int run(bpg_make_client **cp, const bpg_make_options *o, int argc, char **argv, bpg_error *err)
{
	const char *cmd = argv[0];
	json_t *a = NULL, *b = NULL, *res = NULL;
	char *le = NULL;
	int rc = 0;

	if (strcmp(cmd, "format") == 0 || strcmp(cmd, "map") == 0) {
		bpg_buf out = BPG_BUF_INIT;
		size_t n = 0;
		if (argc < 2 || (strcmp(cmd, "map") == 0 && argc < 3))
			return usage();
		if (!(a = load(argv[1], err)) || (strcmp(cmd, "map") == 0 && !(b = load(argv[2], err)))) {
			rc = err->code;
			goto done;
		}
		if (strcmp(cmd, "map") == 0 &&
		    (rc = bpg_make_blueprint_map(a, b, argc > 3 && strcmp(argv[3], "reverse") == 0, &n, err)) < 0)
			goto done;
		if ((rc = bpg_make_blueprint_format(&out, a, err)) == 0)
			fwrite(out.ptr, 1, out.size, stdout);
		if (strcmp(cmd, "map") == 0)
			fprintf(stderr, "make_call: rewritten=%zu\n", n);
		bpg_buf_dispose(&out);
		goto done;
	}
	if ((rc = bpg_make_client_new(cp, o, err)) < 0)
		goto done;
	bpg_make_client *c = *cp;
	if (strcmp(cmd, "call") == 0 && argc >= 3) {
		const char *q = argc > 3 && strcmp(argv[3], "-") != 0 ? argv[3] : NULL;
		json_error_t je;
		if (argc > 4 && !(b = json_loads(argv[4], 0, &je))) {
			rc = bpg_error_set(err, BPG_EINVALID, "body: %s", je.text);
			goto done;
		}
		rc = bpg_make_call(&res, c, argv[1], argv[2], q, b, err);
	} else if (strcmp(cmd, "list") == 0 && argc >= 2) {
		rc = bpg_make_scenarios_list(&res, c, atoll(argv[1]), argc > 2 ? atoll(argv[2]) : 0, err);
	} else if (strcmp(cmd, "get") == 0 && argc >= 2) {
		rc = bpg_make_scenario_get(&res, c, atoll(argv[1]), err);
	} else if (strcmp(cmd, "blueprint") == 0 && argc >= 2) {
		if ((rc = bpg_make_blueprint_get(&a, &b, &le, c, atoll(argv[1]), err)) == 0)
			res = json_pack("{s:O,s:O,s:s?}", "blueprint", a, "scheduling", b, "last_edit", le);
	} else if (strcmp(cmd, "update") == 0 && argc >= 3) {
		if (!(a = load(argv[2], err)) || (argc > 3 && strcmp(argv[3], "-") != 0 && !(b = load(argv[3], err)))) {
			rc = err->code;
			goto done;
		}
		rc = bpg_make_scenario_update(&res, c, atoll(argv[1]), a, b, err);
	} else if (strcmp(cmd, "create") == 0 && argc >= 5) {
		if (!(a = load(argv[3], err)) || !(b = load(argv[4], err))) {
			rc = err->code;
			goto done;
		}
		rc = bpg_make_scenario_create(&res, c, atoll(argv[1]), atoll(argv[2]), a, b, err);
	} else if ((strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0) && argc >= 2) {
		if ((rc = bpg_make_scenario_set_active(c, atoll(argv[1]), strcmp(cmd, "start") == 0, err)) == 0)
			res = json_pack("{s:b}", "isActive", strcmp(cmd, "start") == 0);
	} else if (strcmp(cmd, "logs") == 0 && argc >= 4) {
		rc = bpg_make_logs_list(&res, c, atoll(argv[1]), atoll(argv[2]), atoll(argv[3]),
			argc > 4 ? (size_t)atoll(argv[4]) : 0, err);
	} else {
		rc = usage();
		goto done;
	}
	if (rc == 0 && res)
		rc = print_json(res);
done:
	free(le);
	json_decref(a);
	json_decref(b);
	json_decref(res);
	return rc;
}

int main(int argc, char **argv)
{
	bpg_make_options o = { 0 };
	bpg_make_client *c = NULL;
	const char *token_file = NULL;
	char *token = NULL;
	bpg_error err;
	int i, rc;

	bpg_error_clear(&err);
	o.base_url = getenv("MAKE_CALL_BASE");
	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *k = argv[i] + 2, *v = argv[i + 1];
		if (strcmp(k, "base") == 0) o.base_url = v;
		else if (strcmp(k, "ca") == 0) o.ca_file = v;
		else if (strcmp(k, "token-file") == 0) token_file = v;
		else if (strcmp(k, "retries") == 0) o.max_retries = (unsigned)atoi(v);
		else if (strcmp(k, "backoff") == 0) o.backoff_ms = (unsigned)atoi(v);
		else if (strcmp(k, "backoff-max") == 0) o.backoff_max_ms = (unsigned)atoi(v);
		else if (strcmp(k, "budget") == 0) o.budget_per_minute = (unsigned)atoi(v);
		else if (strcmp(k, "max-response") == 0) o.max_response = (size_t)atoll(v);
		else if (strcmp(k, "max-requests") == 0) o.max_requests = (unsigned)atoi(v);
		else if (strcmp(k, "connect-ms") == 0) o.connect_timeout_ms = atol(v);
		else if (strcmp(k, "total-ms") == 0) o.total_timeout_ms = atol(v);
		else return usage();
	}
	if (i >= argc)
		return usage();
	if (strcmp(argv[i], "format") != 0 && strcmp(argv[i], "map") != 0) {
		if (bpg_make_token_load(&token, token_file, &err) < 0) {
			fprintf(stderr, "make_call: error %s: %s\n", code_name(err.code), err.message);
			return 1;
		}
		o.token = token;
		if (!o.base_url) {
			bpg_make_token_free(token);
			return usage();
		}
	}
	rc = run(&c, &o, argc - i, argv + i, &err);
	if (rc == 2) {
		bpg_make_client_free(c);
		bpg_make_token_free(token);
		return 2;
	}
	if (rc < 0)
		fprintf(stderr, "make_call: error %s: %s\n", code_name(rc), err.message);
	if (c)
		fprintf(stderr, "make_call: requests=%lu waited_ms=%llu\n", bpg_make_client_requests(c),
			bpg_make_client_waited_ms(c));
	bpg_make_client_free(c);
	bpg_make_token_free(token);
	return rc < 0 ? 1 : 0;
}
