/*
 * Policy tests (.bpgate/tests/<name>.json): the facts of a change and the
 * expected decision and findings. Expected findings match actual ones on
 * the keys they name; with "complete" (the default) no other finding may
 * appear, so a test also catches a rule that fires where it should not.
 */
#include "engine.h"
#include "bpgate/jsonheap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const decisions[] = { "accept", "refuse", NULL };
static const bpg_schema decision_s = { SK_ENUM, NULL, NULL, decisions };
static const char *const severities[] = { "error", "warning", "info", NULL };
static const bpg_schema severity_s = { SK_ENUM, NULL, NULL, severities };
static const bpg_sfield efinding_fields[] = {
	{ "rule", &bpg_s_nonempty, true, NULL },
	{ "severity", &severity_s, false, NULL },
	{ "blocking", &bpg_s_bool, false, NULL },
	{ "file", &bpg_s_string, false, NULL },
	{ "pointer", &bpg_s_string, false, NULL },
	{ "commit", &bpg_s_string, false, NULL },
	{ "ref", &bpg_s_string, false, NULL },
	{ "message_contains", &bpg_s_nonempty, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema efinding_s = { SK_OBJECT, efinding_fields, NULL, NULL };
static const bpg_schema efindings_s = { SK_ARRAY, NULL, &efinding_s, NULL };
static const bpg_sfield expect_fields[] = {
	{ "decision", &decision_s, true, NULL },
	{ "findings", &efindings_s, false, NULL },
	{ "complete", &bpg_s_bool, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema expect_s = { SK_OBJECT, expect_fields, NULL, NULL };
static const bpg_sfield test_fields[] = {
	{ "name", &bpg_s_nonempty, true, NULL },
	{ "description", &bpg_s_string, false, NULL },
	{ "facts", &bpg_s_facts, true, NULL },
	{ "expect", &expect_s, true, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema test_s = { SK_OBJECT, test_fields, NULL, NULL };

int bpg_ptest_validate(bpg_vctx *vc, const json_t *test)
{
	bpg_buf ptr = BPG_BUF_INIT;
	int rc = bpg_schema_check(vc, test, &test_s, &ptr);
	size_t i;
	json_t *e;

	/* an expected rule id that does not exist would never match: say so now */
	json_array_foreach(json_object_get(json_object_get(test, "expect"), "findings"), i, e) {
		const char *r = bpg_jstr(e, "rule");
		char p[64];
		if (rc < 0 || !r || bpg_rule_index(r) >= 0)
			continue;
		snprintf(p, sizeof(p), "/expect/findings/%zu/rule", i);
		rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, p, false, NULL,
			"no rule named \"%s\"", r);
	}
	bpg_buf_dispose(&ptr);
	return rc;
}

size_t bpg_policy_test_count(const bpg_policy *p)
{
	return p->ntests;
}

const char *bpg_policy_test_name(const bpg_policy *p, size_t i)
{
	return i < p->ntests ? p->tests[i].name : NULL;
}

static bool opt_eq(const json_t *exp, const char *key, const char *actual)
{
	const char *e = bpg_jstr(exp, key);
	return !e || (actual && strcmp(e, actual) == 0);
}

static bool matches(const json_t *exp, const bpg_finding *f)
{
	const json_t *b = json_object_get(exp, "blocking");
	const char *mc = bpg_jstr(exp, "message_contains");
	return strcmp(bpg_jstr(exp, "rule"), f->rule) == 0 &&
		opt_eq(exp, "severity", bpg_severity_name(f->severity)) &&
		(!b || json_is_true(b) == f->blocking) &&
		opt_eq(exp, "file", f->file) && opt_eq(exp, "pointer", f->pointer) &&
		opt_eq(exp, "commit", f->commit) && opt_eq(exp, "ref", f->ref) &&
		(!mc || strstr(f->message, mc));
}

static int describe(bpg_buf *why, const bpg_finding *f)
{
	return bpg_buf_printf(why, "%s %s%s%s%s%s: %s", f->rule, bpg_severity_name(f->severity),
		f->file ? " " : "", f->file ? f->file : "", f->pointer ? " " : "",
		f->pointer ? f->pointer : "", f->message);
}

int bpg_policy_test_run(bool *passed, bpg_buf *why, const bpg_policy *p, size_t i, bpg_error *err)
{
	bpg_decision *d = NULL;
	bpg_buf local = BPG_BUF_INIT;
	bool *used = NULL;
	int rc;

	*passed = false;
	if (!why)
		why = &local;
	if (i >= p->ntests)
		return bpg_error_set(err, BPG_ENOTFOUND, "no policy test %zu", i);
	const json_t *t = p->tests[i].json, *exp = json_object_get(t, "expect");
	if ((rc = bpg_evaluate(&d, p, json_object_get(t, "facts"), err)) < 0)
		goto done;
	size_t n = bpg_decision_finding_count(d), k;
	json_t *e;
	bool ok = true;
	int wr = 0; /* writing the explanation failed: the test's result is an error, not a verdict */
	if (!(used = bpg_calloc(n + 1, sizeof(*used)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	const char *want = bpg_jstr(exp, "decision"), *got = bpg_decision_refused(d) ? "refuse" : "accept";
	if (strcmp(want, got) != 0) {
		ok = false;
		wr |= bpg_buf_printf(why, "  expected decision %s, got %s\n", want, got);
	}
	json_array_foreach(json_object_get(exp, "findings"), k, e) {
		size_t j;
		for (j = 0; j < n; j++)
			if (!used[j] && matches(e, bpg_decision_finding(d, j)))
				break;
		if (j < n) {
			used[j] = true;
			continue;
		}
		ok = false;
		char *s = bpg_json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
		wr |= bpg_buf_printf(why, "  missing expected finding %s\n", s ? s : "?");
		free(s);
	}
	const json_t *complete = json_object_get(exp, "complete");
	if (!complete || json_is_true(complete)) {
		for (size_t j = 0; j < n; j++) {
			if (used[j])
				continue;
			ok = false;
			wr |= bpg_buf_puts(why, "  unexpected finding ");
			wr |= describe(why, bpg_decision_finding(d, j));
			wr |= bpg_buf_putc(why, '\n');
		}
	}
	if (wr != 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	*passed = ok;
done:
	free(used);
	bpg_decision_free(d);
	bpg_buf_dispose(&local);
	return rc;
}
