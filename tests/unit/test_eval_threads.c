/* The rules on two threads (policy/engine/eval.c, large facts) decide exactly
 * as on one: the same findings in the same order with the same fields, the
 * same outcome per rule, the same error when there are too many findings.
 * BPGATE_TEST_FLAGS=eval-threads / eval-serial choose the way (test builds). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/policy.h"
#include "bpgate/report.h"

static bpg_policy *pack(void)
{
	char dir[4096];
	bpg_policy *p = NULL;
	bpg_error err;
	snprintf(dir, sizeof(dir), "%s/policy/packs/regulated", getenv("BPG_SOURCE_ROOT"));
	cr_assert_eq(bpg_policy_load_dir(&p, dir, &err), 0, "%s", err.message);
	return p;
}

/* evaluate one way; rc and err returned, the decision (or NULL) in *d */
static int judge(bpg_decision **d, const bpg_policy *p, const json_t *facts, const char *way, bpg_error *err)
{
	setenv("BPGATE_TEST_FLAGS", way, 1);
	int rc = bpg_evaluate(d, p, facts, err);
	unsetenv("BPGATE_TEST_FLAGS");
	return rc;
}

static void same_str(const char *a, const char *b, const char *what, size_t i)
{
	cr_assert((a == NULL) == (b == NULL), "%s of finding %zu: one is NULL", what, i);
	if (a)
		cr_assert_str_eq(a, b, "%s of finding %zu", what, i);
}

static void same_decision(const bpg_policy *p, const json_t *facts, const char *what)
{
	bpg_decision *a = NULL, *b = NULL;
	bpg_error ea, eb;
	int ra = judge(&a, p, facts, "eval-serial", &ea), rb = judge(&b, p, facts, "eval-threads", &eb);

	cr_assert_eq(ra, rb, "%s: rc %d on one thread, %d on two", what, ra, rb);
	if (ra < 0) {
		cr_assert_str_eq(ea.message, eb.message, "%s", what);
		return;
	}
	cr_assert_eq(bpg_decision_finding_count(a), bpg_decision_finding_count(b), "%s", what);
	cr_assert_eq(bpg_decision_refused(a), bpg_decision_refused(b), "%s", what);
	for (int s = 0; s < 3; s++)
		cr_assert_eq(bpg_decision_count(a, (bpg_severity)s), bpg_decision_count(b, (bpg_severity)s), "%s", what);
	for (size_t i = 0; i < bpg_decision_finding_count(a); i++) {
		const bpg_finding *x = bpg_decision_finding(a, i), *y = bpg_decision_finding(b, i);
		cr_assert_str_eq(x->rule, y->rule, "%s: rule of finding %zu", what, i);
		cr_assert_eq(x->severity, y->severity);
		cr_assert_eq(x->mode, y->mode);
		cr_assert_eq(x->blocking, y->blocking);
		cr_assert_eq(x->line, y->line);
		cr_assert_eq(x->column, y->column);
		same_str(x->message, y->message, "message", i);
		same_str(x->fix, y->fix, "fix", i);
		same_str(x->file, y->file, "file", i);
		same_str(x->pointer, y->pointer, "pointer", i);
		same_str(x->commit, y->commit, "commit", i);
		same_str(x->ref, y->ref, "ref", i);
	}
	for (size_t r = 0; r < bpg_rule_count(); r++) {
		size_t na, nb;
		cr_assert_eq(bpg_decision_rule_outcome(a, r, &na), bpg_decision_rule_outcome(b, r, &nb), "%s", what);
		cr_assert_eq(na, nb);
	}
	bpg_decision_free(a);
	bpg_decision_free(b);
}

Test(eval_threads, every_test_of_the_regulated_pack)
{
	bpg_policy *p = pack();
	char dir[3072], path[4096];
	struct dirent *e;
	size_t n = 0;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/policy/packs/regulated/tests", getenv("BPG_SOURCE_ROOT"));
	cr_assert(dh = opendir(dir));
	while ((e = readdir(dh))) {
		json_error_t je;
		json_t *t;
		if (!strstr(e->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cr_assert(t = json_load_file(path, 0, &je), "%s: %s", path, je.text);
		same_decision(p, json_object_get(t, "facts"), e->d_name);
		json_decref(t);
		n++;
	}
	closedir(dh);
	cr_assert_gt(n, 50);
	bpg_policy_free(p);
}

/* The facts of a pack test, its commits repeated (new ids) up to n. */
static json_t *grown(const char *test, size_t n)
{
	char path[4096];
	json_error_t je;
	snprintf(path, sizeof(path), "%s/policy/packs/regulated/tests/%s", getenv("BPG_SOURCE_ROOT"), test);
	json_t *t = json_load_file(path, 0, &je), *facts, *commits, *c0;
	cr_assert(t, "%s: %s", path, je.text);
	facts = json_deep_copy(json_object_get(t, "facts"));
	json_decref(t);
	commits = json_object_get(facts, "commits");
	cr_assert(json_array_size(commits) > 0, "%s has no commits", test);
	c0 = json_deep_copy(json_array_get(commits, 0));
	for (size_t i = json_array_size(commits); i < n; i++) {
		char id[41];
		json_t *c = json_deep_copy(c0);
		snprintf(id, sizeof(id), "%040zx", i + 1);
		json_object_set_new(c, "id", json_string(id));
		json_array_append_new(commits, c);
	}
	json_decref(c0);
	return facts;
}

Test(eval_threads, a_large_push_with_findings_from_several_rules)
{
	bpg_policy *p = pack();
	static const char *const tests[] = { "02-missing-trailers.json", "03-risk-not-a-tier.json",
		"04-high-risk-needs-uat.json" };
	for (size_t k = 0; k < sizeof(tests) / sizeof(tests[0]); k++) {
		json_t *facts = grown(tests[k], 3000);
		same_decision(p, facts, tests[k]);
		json_decref(facts);
	}
	bpg_policy_free(p);
}

/* Past BPG_FINDINGS_MAX the change is refused, naming the same rule both ways:
 * commits without any trailer, four findings each (the pack's four trailers). */
Test(eval_threads, too_many_findings_same_refusal)
{
	bpg_policy *p = pack();
	json_t *facts = grown("02-missing-trailers.json", 1), *c;
	size_t i;
	json_object_set_new(json_array_get(json_object_get(facts, "commits"), 0), "trailers", json_object());
	c = json_deep_copy(json_array_get(json_object_get(facts, "commits"), 0));
	for (i = 1; i < BPG_FINDINGS_MAX / 4 + 1; i++) {
		char id[41];
		json_t *x = json_deep_copy(c);
		snprintf(id, sizeof(id), "%040zx", i + 1);
		json_object_set_new(x, "id", json_string(id));
		json_array_append_new(json_object_get(facts, "commits"), x);
	}
	json_decref(c);
	bpg_decision *d = NULL;
	bpg_error err;
	same_decision(p, facts, "too many");
	cr_assert_eq(judge(&d, p, facts, "eval-threads", &err), BPG_ETOOBIG, "%s", err.message);
	cr_assert(strstr(err.message, "too many findings to judge: rule change-template reached the limit"), "%s",
		err.message);
	json_decref(facts);
	bpg_policy_free(p);
}
