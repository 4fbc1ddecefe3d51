/*
 * `bpgate policy check|test|rules` and `bpgate explain --facts FILE`.
 * Thin: read files, call the engine, render, pick the exit code.
 */
#include "cli.h"
#include "frontend.h"

#include "bpgate/approval.h"
#include "bpgate/buf.h"
#include "bpgate/policy.h"
#include "bpgate/report.h"
#include "bpgate/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int load(bpg_policy **out, bpg_diags **diags, const char *dir, bpg_error *err)
{
	bpg_policy_files *files = NULL;
	int rc = bpg_policy_files_read_dir(&files, dir, err);
	if (rc == 0)
		rc = bpg_policy_load(out, diags, files, err);
	bpg_policy_files_free(files);
	return rc;
}

static void print_diags(FILE *f, const bpg_diags *diags)
{
	for (size_t i = 0; i < bpg_diags_count(diags); i++) {
		bpg_buf b = BPG_BUF_INIT;
		if (bpg_diag_format(&b, bpg_diags_get(diags, i)) == 0)
			fprintf(f, "%s\n", b.ptr);
		bpg_buf_dispose(&b);
	}
}

/* The SSHSIG namespaces bpgate verifies with: SSH-signed commits and pushes
 * (git), approvals, UAT sign-offs (hooks/cmd_uat.c, server/receive/uatfacts.c), health records
 * (hooks/make_health.c, server/receive/healthfacts.c). */
static const char *const known_namespaces[] = { "git", BPG_APPROVAL_NAMESPACE, "bpgate-uat@v1", "bpgate-health@v1" };

/* One namespaces= list: every name that is not a pattern must be one bpgate
 * verifies with, else keys restricted to it sign nothing bpgate accepts. */
static size_t lint_namespace_list(const char *file, unsigned line, unsigned col, const char *v, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		const char *w = v + i;
		size_t wl = j - i;
		bool known = wl == 0 || memchr(w, '*', wl) || memchr(w, '?', wl) || w[0] == '!';
		for (size_t k = 0; !known && k < sizeof(known_namespaces) / sizeof(known_namespaces[0]); k++)
			known = strlen(known_namespaces[k]) == wl && memcmp(known_namespaces[k], w, wl) == 0;
		if (!known) {
			printf("%s:%u:%u: namespaces= names '%.*s', which no bpgate verification uses (known: git, %s, "
				"bpgate-uat@v1, bpgate-health@v1): signatures of this key made for bpgate are refused%s\n", file, line,
				col + (unsigned)i, (int)(wl > 80 ? 80 : wl), w, BPG_APPROVAL_NAMESPACE,
				wl == strlen("bpgate-approval") && memcmp(w, "bpgate-approval", wl) == 0 ?
				"; approvals use bpgate-approval@v1" : "");
			bad++;
		}
		i = j + 1;
	}
	return bad;
}

/* namespaces= options of the key lines of allowed_signers (the policy folder's). */
static size_t lint_namespaces(const char *dir)
{
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
	struct stat st;
	size_t bad = 0;
	unsigned line = 1;
	const char *shown = "allowed_signers";

	if (bpg_buf_printf(&path, "%s/policy.json", dir) < 0)
		goto done;
	if (stat(path.ptr, &st) != 0) {
		shown = ".bpgate/allowed_signers";
		bpg_buf_clear(&path);
		if (bpg_buf_printf(&path, "%s/.bpgate/allowed_signers", dir) < 0)
			goto done;
	} else {
		bpg_buf_clear(&path);
		if (bpg_buf_printf(&path, "%s/allowed_signers", dir) < 0)
			goto done;
	}
	bpg_error rerr;
	if (bpg_file_read(&data, path.ptr, 1u << 20, &rerr) < 0 || !data.ptr)
		goto done;
	for (const char *s = data.ptr, *end = data.ptr + data.size; s < end; line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end, *t = s;
		while (t < e && (*t == ' ' || *t == '\t'))
			t++;
		for (const char *q = t; t < e && *t != '#' && q + 12 <= e; q++) {
			if (strncasecmp(q, "namespaces=\"", 12) != 0)
				continue;
			const char *v = q + 12, *close = memchr(v, '"', (size_t)(e - v));
			if (close)
				bad += lint_namespace_list(shown, line, (unsigned)(v - s) + 1, v, (size_t)(close - v));
			break;
		}
		s = nl ? nl + 1 : end;
	}
done:
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	return bad;
}

static int policy_check(const char *dir)
{
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_error err;
	int rc = load(&p, &diags, dir, &err), code;

	size_t bad = rc == 0 ? lint_namespaces(dir) : 0;
	if (rc == 0 && bad) {
		printf("%zu problem%s in allowed_signers: the policy loads, but the keys named sign nothing bpgate "
			"accepts until they are fixed\n", bad, bad == 1 ? "" : "s");
		code = BPG_EXIT_FINDINGS;
	} else if (rc == 0) {
		printf("policy OK: %zu rules, %zu policy tests\n", bpg_rule_count(), bpg_policy_test_count(p));
		code = BPG_EXIT_OK;
	} else if (rc == BPG_EINVALID && bpg_diags_count(diags) > 0) {
		print_diags(stdout, diags);
		printf("%zu problem%s; the policy is not usable until they are fixed "
			"(see bpgate-policy(5))\n", bpg_diags_count(diags), bpg_diags_count(diags) == 1 ? "" : "s");
		code = BPG_EXIT_FINDINGS;
	} else {
		cli_report_error("policy check", &err);
		code = BPG_EXIT_ERROR;
	}
	bpg_diags_free(diags);
	bpg_policy_free(p);
	return code;
}

static int policy_test(const char *dir, bool verbose)
{
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_error err;
	size_t passed = 0, failed = 0;
	int rc = load(&p, &diags, dir, &err);

	if (rc < 0) {
		print_diags(stderr, diags);
		cli_report_error("policy test", &err);
		fprintf(stderr, "bpgate policy test: fix the policy first ('bpgate policy check %s')\n", dir);
		bpg_diags_free(diags);
		return BPG_EXIT_ERROR;
	}
	for (size_t i = 0; i < bpg_policy_test_count(p); i++) {
		bpg_buf why = BPG_BUF_INIT;
		bool ok = false;
		if (bpg_policy_test_run(&ok, &why, p, i, &err) < 0) {
			printf("FAIL %s\n  could not run: %s\n", bpg_policy_test_name(p, i), err.message);
			failed++;
		} else if (ok) {
			if (verbose)
				printf("ok   %s\n", bpg_policy_test_name(p, i));
			passed++;
		} else {
			printf("FAIL %s\n%s", bpg_policy_test_name(p, i), why.ptr ? why.ptr : "");
			failed++;
		}
		bpg_buf_dispose(&why);
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	bpg_diags_free(diags);
	bpg_policy_free(p);
	return failed ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
}

static int policy_rules(void)
{
	for (size_t i = 0; i < bpg_rule_count(); i++) {
		const bpg_rule_info *r = bpg_rule_get(i);
		printf("%-26s %-8s %s\n", r->id, bpg_mode_name(r->default_mode), r->description);
	}
	return BPG_EXIT_OK;
}

int cmd_policy(int argc, char **argv)
{
	static const char usage[] = "bpgate policy check [DIR] | test [-v] [DIR] | rules";
	bool verbose = false;
	const char *dir = ".";
	int i = 2;

	if (argc < 2)
		return cli_usage(usage);
	if (strcmp(argv[1], "rules") == 0)
		return argc == 2 ? policy_rules() : cli_usage(usage);
	if (strcmp(argv[1], "test") == 0 && i < argc && strcmp(argv[i], "-v") == 0)
		verbose = true, i++;
	if (i < argc && argv[i][0] == '-')
		return cli_usage(usage);
	if (i < argc)
		dir = argv[i++];
	if (i < argc)
		return cli_usage(usage);
	if (strcmp(argv[1], "check") == 0)
		return policy_check(dir);
	if (strcmp(argv[1], "test") == 0)
		return policy_test(dir, verbose);
	return cli_usage(usage);
}

/* ---- explain --------------------------------------------------------------- */

static void facts_summary(const json_t *facts)
{
	bpg_buf b = BPG_BUF_INIT;
	const char *keys[] = { "context", "time", "repository", "pusher", "environment" };

	int wrc = bpg_buf_puts(&b, "facts:"); /* a summary with a key missing is not printed */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = json_string_value(json_object_get(facts, keys[i]));
		if (!v)
			continue;
		wrc |= bpg_buf_printf(&b, " %s=", keys[i]);
		wrc |= bpg_safe_put(&b, v, strlen(v), 80);
	}
	wrc |= bpg_buf_printf(&b, "; %zu refs, %zu commits, %zu files, %zu bundles, %zu approvals",
		json_array_size(json_object_get(facts, "refs")), json_array_size(json_object_get(facts, "commits")),
		json_array_size(json_object_get(facts, "files")), json_array_size(json_object_get(facts, "bundles")),
		json_array_size(json_object_get(facts, "approvals")));
	printf("%s\n", wrc == 0 && b.ptr ? b.ptr : "facts: (out of memory)");
	bpg_buf_dispose(&b);
}

int cmd_explain(int argc, char **argv)
{
	static const char usage[] =
		"bpgate explain [--format text|json|sarif] (--facts FILE [--policy DIR] | [RANGE])";
	const char *facts_path = NULL, *dir = ".", *range = NULL;
	const bpg_policy *pol;
	fe_ctx ctx;
	bool have_ctx = false;
	bpg_format fmt = BPG_FORMAT_TEXT;
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_decision *d = NULL;
	bpg_buf in = BPG_BUF_INIT, out = BPG_BUF_INIT;
	json_t *facts = NULL;
	json_error_t je;
	bpg_error err;
	int code = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--facts") == 0 && i + 1 < argc)
			facts_path = argv[++i];
		else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
				1u << BPG_FORMAT_SARIF) < 0)
				return BPG_EXIT_ERROR;
		} else if (!range && argv[i][0] != '-')
			range = argv[i];
		else
			return cli_usage(usage);
	}
	if (!facts_path) {
		/* The facts of a git range, gathered as `bpgate check` does. */
		if (fe_open(&ctx, "explain") < 0)
			return BPG_EXIT_ERROR;
		have_ctx = true;
		if (!(facts = fe_range_facts(&ctx, range, "check", "explain")))
			goto done;
		pol = ctx.policy;
		goto evaluate;
	}
	if (load(&p, &diags, dir, &err) < 0) {
		print_diags(stderr, diags);
		cli_report_error("explain", &err);
		goto done;
	}
	if (bpg_file_read(&in, facts_path, BPG_FACTS_MAX, &err) < 0) {
		cli_report_error("explain", &err);
		goto done;
	}
	if (!(facts = json_loadb(in.ptr ? in.ptr : "", in.size, JSON_REJECT_DUPLICATES, &je))) {
		fprintf(stderr, "bpgate explain: %s:%d:%d: not valid JSON: %s\n", facts_path, je.line, je.column, je.text);
		goto done;
	}
	pol = p;
evaluate:
	if (bpg_evaluate(&d, pol, facts, &err) < 0) {
		fprintf(stderr, "bpgate explain: %s: %s\n", facts_path ? facts_path : range ? range : "HEAD",
			err.message);
		goto done;
	}
	if (fmt == BPG_FORMAT_TEXT) {
		bpg_report_options o = BPG_REPORT_OPTIONS_INIT;
		o.by_rule = true;
		o.color = cli_color(stdout);
		facts_summary(facts);
		if (bpg_report_text(&out, d, &o, &err) < 0)
			goto fail;
	} else if (bpg_report_json(&out, d, fmt == BPG_FORMAT_SARIF, &err) < 0) {
		goto fail;
	}
	fwrite(out.ptr, 1, out.size, stdout);
	code = bpg_decision_refused(d) ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
	goto done;
fail:
	cli_report_error("explain", &err);
done:
	json_decref(facts);
	bpg_decision_free(d);
	bpg_diags_free(diags);
	bpg_policy_free(p);
	bpg_buf_dispose(&in);
	bpg_buf_dispose(&out);
	if (have_ctx)
		fe_close(&ctx);
	return code;
}
