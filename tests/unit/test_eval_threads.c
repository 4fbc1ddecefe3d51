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
	int rc;
	setenv("BPGATE_TEST_FLAGS", way, 1);
	if (strstr(way, "precheck")) { /* the facts' shape checked ahead (bpg_facts_precheck_start) */
		bpg_facts_precheck *pc = NULL;
		cr_assert_eq(bpg_facts_precheck_start(&pc, facts, err), 0);
		rc = bpg_evaluate_prechecked(d, p, facts, NULL, pc, err);
		bpg_facts_precheck_free(pc);
	} else {
		rc = bpg_evaluate(d, p, facts, err);
	}
	unsetenv("BPGATE_TEST_FLAGS");
	return rc;
}

static void same_str(const char *a, const char *b, const char *what, size_t i)
{
	cr_assert((a == NULL) == (b == NULL), "%s of finding %zu: one is NULL", what, i);
	if (a)
		cr_assert_str_eq(a, b, "%s of finding %zu", what, i);
}

static void same_decision_ways(const bpg_policy *p, const json_t *facts, const char *what, const char *way_a,
	const char *way_b)
{
	bpg_decision *a = NULL, *b = NULL;
	bpg_error ea, eb;
	int ra = judge(&a, p, facts, way_a, &ea), rb = judge(&b, p, facts, way_b, &eb);

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

static void same_decision(const bpg_policy *p, const json_t *facts, const char *what)
{
	same_decision_ways(p, facts, what, "eval-serial", "eval-threads");
	same_decision_ways(p, facts, what, "eval-serial", "precheck-threads,eval-threads");
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

/* The facts' shape checked ahead (bpg_facts_precheck_start, while the gate gathers the
 * server's facts) refuses exactly as checked in place: the same first problem, the same
 * "(and more)", wherever the problems are and however many. */
static void same_refusal(const bpg_policy *p, const json_t *facts, const char *what, const char *expect)
{
	bpg_decision *a = NULL, *b = NULL;
	bpg_error ea, eb;
	int ra = judge(&a, p, facts, "eval-serial", &ea), rb = judge(&b, p, facts, "precheck-threads", &eb);
	cr_assert_eq(ra, BPG_EINVALID, "%s: in place: rc %d", what, ra);
	cr_assert_eq(rb, BPG_EINVALID, "%s: ahead: rc %d", what, rb);
	cr_assert_str_eq(eb.message, ea.message, "%s", what);
	cr_assert_str_eq(ea.message, expect, "%s", what);
	cr_assert_null(a);
	cr_assert_null(b);
}

Test(eval_threads, facts_checked_ahead_refuse_as_in_place)
{
	bpg_policy *p = pack();
	json_t *facts = grown("01-good-change.json", 3000), *f;
	json_t *commits = json_object_get(facts, "commits"), *files = json_object_get(facts, "files");
	cr_assert(json_array_size(files) > 0);

	/* one problem deep in the commits (3,000 of them: on the thread without the test flag too) */
	json_object_set_new(json_array_get(commits, 2500), "id", json_integer(5));
	same_refusal(p, facts, "a commit", "invalid facts: expected a string at '/commits/2500/id', found an integer");
	/* one in the files as well: the commits come first in the document, so theirs is named */
	json_object_set_new(json_array_get(files, 0), "status", json_string("moved"));
	same_refusal(p, facts, "a commit and a file", "invalid facts: expected a string at "
		"'/commits/2500/id', found an integer (and more)");
	/* the files alone */
	json_object_set_new(json_array_get(commits, 2500), "id", json_string("0123"));
	cr_assert_eq(json_object_set_new(facts, "context", json_string("pre-receive")), 0);
	f = json_deep_copy(facts); /* members before the commits: time, context (insertion order) */
	json_object_set_new(f, "context", json_string("later"));
	same_refusal(p, f, "a member checked in place and a file",
		"invalid facts: expected one of pre-commit, commit-msg, pre-push, pre-receive, check at '/context', "
		"found \"later\" (and more)");
	json_decref(f);
	same_refusal(p, facts, "a file", "invalid facts: expected one of added, modified, deleted, "
		"renamed at '/files/0/status', found \"moved\"");
	/* more problems than the diagnostics list keeps (1,000): the same first one, "(and more)" */
	json_object_set_new(json_array_get(files, 0), "status", json_string("added"));
	for (size_t i = 0; i < 1500; i++)
		json_object_set_new(json_array_get(commits, i), "unknown", json_true());
	same_refusal(p, facts, "1,500 problems", "invalid facts: unknown key 'unknown' at '/commits/0/unknown'; "
		"expected one of: id, tree, parents, author, committer, message, trailers, signature, paths (and more)");
	json_decref(facts);
	bpg_policy_free(p);
}

/* A member replaced after the check started is checked again, in place: the check ahead
 * holds the value it checked, and only a member that is that very value takes its result. */
Test(eval_threads, a_member_replaced_after_the_start_is_checked_again)
{
	bpg_policy *p = pack();
	json_t *facts = grown("01-good-change.json", 3000), *bad;
	bpg_facts_precheck *pc = NULL;
	bpg_decision *d = NULL;
	bpg_error err;

	cr_assert_eq(bpg_facts_precheck_start(&pc, facts, &err), 0);
	bad = json_deep_copy(json_object_get(facts, "commits"));
	json_object_set_new(json_array_get(bad, 7), "tree", json_true());
	cr_assert_eq(json_object_set_new(facts, "commits", bad), 0); /* the old array lives on in pc */
	cr_assert_eq(bpg_evaluate_prechecked(&d, p, facts, NULL, pc, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "invalid facts: expected a string at '/commits/7/tree', found a boolean");
	cr_assert_null(d);
	bpg_facts_precheck_free(pc);

	/* the files replaced by something that is not an array */
	json_object_set_new(json_array_get(bad, 7), "tree", json_string("abc"));
	cr_assert_eq(bpg_facts_precheck_start(&pc, facts, &err), 0);
	cr_assert_eq(json_object_set_new(facts, "files", json_string("none")), 0);
	cr_assert_eq(bpg_evaluate_prechecked(&d, p, facts, NULL, pc, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "invalid facts: expected an array at '/files', found a string");
	bpg_facts_precheck_free(pc);

	/* a commit appended to the same array (against the contract) is not missed either */
	cr_assert_eq(json_object_set_new(facts, "files", json_array()), 0);
	cr_assert_eq(bpg_facts_precheck_start(&pc, facts, &err), 0);
	json_t *extra = json_deep_copy(json_array_get(bad, 0));
	json_object_set_new(extra, "parents", json_string("not a list"));
	cr_assert_eq(json_array_append_new(bad, extra), 0);
	cr_assert_eq(bpg_evaluate_prechecked(&d, p, facts, NULL, pc, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "invalid facts: expected an array of non-empty strings at '/commits/3000/parents', "
		"found a string");
	bpg_facts_precheck_free(pc);
	json_array_remove(bad, 3000);

	/* started and freed without judging (a gate's error path): the thread is waited for */
	cr_assert_eq(bpg_facts_precheck_start(&pc, facts, &err), 0);
	bpg_facts_precheck_free(pc);
	bpg_facts_precheck_free(NULL);
	json_decref(facts);
	bpg_policy_free(p);
}
