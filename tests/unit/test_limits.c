/* Unit tests for failing closed under volume (issue "Fail closed under volume
 * and under privilege", items 1-3): the findings limit refuses the decision,
 * schema-drift costs n log n module comparisons, the judgement's budget
 * refuses at its check points, gathering refuses what it used to cut. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bpgate/budget.h"
#include "bpgate/gather.h"
#include "bpgate/policy.h"
#include "engine.h" /* bpg_decision_steps: the engine's own count of work */

static const char *policy_text =
	"{\"version\": 1,\n"
	" \"environments\": {\"dev\": {\"branch\": \"refs/heads/dev\"}},\n"
	" \"roles\": {\"releasers\": [\"erin\"]},\n"
	" \"risk_tiers\": [\"low\", \"high\"],\n"
	" \"paths\": {\"blueprints\": [\"scenarios/**/*.json\"], \"fixtures\": [\"fixtures/**\"]},\n"
	" \"catalog\": [{\"id\": \"crm\", \"paths\": [\"scenarios/crm/**\"], \"owner\": \"alice\", \"risk\": \"low\",\n"
	"   \"contracts\": [\"contact\"]}],\n"
	" \"rules\": {\"scan-findings\": {\"mode\": \"warn\"}, \"schema-drift\": {\"mode\": \"enforce\", \"severity\": \"warning\"}}}\n";

static const char *contract_text =
	"{\"id\": \"contact\", \"system\": \"crm\", \"object\": \"contact\",\n"
	" \"match\": {\"modules\": [\"crm:create*\"], \"parameters\": {\"object\": \"contact\"}},\n"
	" \"key_fields\": [\"email\"], \"required_fields\": [\"name\"]}\n";

static bpg_policy *load(void)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", policy_text, strlen(policy_text), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "contracts/contact.json", contract_text, strlen(contract_text), &err), 0);
	cr_assert_eq(bpg_policy_load(&p, NULL, files, &err), 0, "load: %s", err.message);
	bpg_policy_files_free(files);
	return p;
}

static json_t *facts_head(void)
{
	return json_pack("{s:s, s:s, s:s, s:[], s:[], s:[]}", "time", "2025-06-01T00:00:00Z", "context", "check",
		"environment", "dev", "files", "commits", "bundles");
}

/* facts: n scan findings in a fixture (warn mode: not blocking) and one
 * broken bundle (blocking), which the rules reach after the findings */
static json_t *flood(size_t n)
{
	json_t *facts = facts_head(), *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char fp[32];
		snprintf(fp, sizeof(fp), "f%zu", i);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:s, s:s}", "rule", "email", "line", (json_int_t)i + 1,
			"column", (json_int_t)1, "masked", "cu**de", "fingerprint", fp));
	}
	json_array_append_new(json_object_get(facts, "files"), json_pack("{s:s, s:s, s:o}", "path", "fixtures/a.csv",
		"status", "added", "scan_findings", arr));
	json_array_append_new(json_object_get(facts, "bundles"), json_pack("{s:s, s:b, s:[s]}", "path",
		"r/1.bundle.json", "ok", 0, "problems", "hash mismatch"));
	return facts;
}

Test(limits, findings_past_the_limit_refuse_the_decision)
{
	bpg_policy *p = load();
	bpg_decision *d = NULL;
	bpg_error err;

	/* at the limit: judged, and the blocking finding is there */
	json_t *facts = flood(BPG_FINDINGS_MAX - 1);
	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_decision_finding_count(d), BPG_FINDINGS_MAX);
	cr_assert(bpg_decision_refused(d));
	bpg_decision_free(d);
	json_decref(facts);

	/* one more: the whole decision is refused, nothing dropped (the old engine
	 * dropped the blocking bundle finding and accepted) */
	d = NULL;
	facts = flood(BPG_FINDINGS_MAX);
	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), BPG_ETOOBIG);
	cr_assert_null(d);
	cr_assert_str_eq(err.message, "too many findings to judge: rule bundle-signed reached the limit of 100000 "
		"findings per decision, so the whole change is refused; fix the findings or split the change");
	json_decref(facts);
	bpg_policy_free(p);
}

/* n write modules of the contract on both sides; every key mapping changed */
static json_t *drift_facts(size_t n)
{
	json_t *facts = facts_head(), *newm = json_array(), *oldm = json_array();
	for (size_t side = 0; side < 2; side++)
		for (size_t i = 0; i < n; i++) {
			/* the old side in reverse order: found by id, not by position */
			size_t id = side ? n - i : i + 1;
			char ptr[64], mail[64];
			snprintf(ptr, sizeof(ptr), "/flow/%zu", id - 1);
			snprintf(mail, sizeof(mail), "{{%zu.%s}}", id, side ? "old" : "new");
			json_array_append_new(side ? oldm : newm, json_pack("{s:I, s:s, s:s, s:b, s:[{s:s, s:s}], s:{s:s}}",
				"id", (json_int_t)id, "module", "crm:createContact", "pointer", ptr, "writes", 1,
				"literals", "pointer", "", "value", "", "mapper", "email", mail));
			json_t *m = json_array_get(side ? oldm : newm, json_array_size(side ? oldm : newm) - 1);
			char lp[96];
			snprintf(lp, sizeof(lp), "%s/parameters/object", ptr);
			json_object_set_new(json_array_get(json_object_get(m, "literals"), 0), "pointer", json_string(lp));
			json_object_set_new(json_array_get(json_object_get(m, "literals"), 0), "value", json_string("contact"));
		}
	json_array_append_new(json_object_get(facts, "files"), json_pack("{s:s, s:s, s:{s:o}, s:{s:o}}",
		"path", "scenarios/crm/a.json", "status", "modified", "blueprint", "modules", newm,
		"old_blueprint", "modules", oldm));
	return facts;
}

static size_t drift_count(const bpg_decision *d)
{
	size_t n = 0;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++)
		n += strcmp(bpg_decision_finding(d, i)->rule, "schema-drift") == 0;
	return n;
}

Test(limits, schema_drift_is_n_log_n_in_write_modules)
{
	bpg_policy *p = load();
	bpg_decision *d = NULL;
	bpg_error err;
	json_t *facts = drift_facts(3);

	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	cr_assert_eq(drift_count(d), 3);
	const bpg_finding *f = NULL;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++)
		if (strcmp(bpg_decision_finding(d, i)->rule, "schema-drift") == 0 && !f)
			f = bpg_decision_finding(d, i);
	cr_assert_str_eq(f->message, "schema drift: module 1 changes how it maps key field 'email' of contract contact");
	cr_assert_str_eq(f->pointer, "/flow/0/mapper/email");
	bpg_decision_free(d);
	json_decref(facts);

	/* 20,000 write modules: 20,000 findings; the rule compares modules about
	 * n log2 n times (the old loop compared every new module with every old
	 * one: 4 x 10^8 comparisons, 25 s) */
	const size_t n = 20000;
	facts = drift_facts(n);
	d = NULL;
	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	cr_assert_eq(drift_count(d), n);
	size_t steps = bpg_decision_steps(d);
	cr_assert(steps >= n && steps <= n + n * 16, "schema-drift took %zu steps for %zu modules", steps, n);
	bpg_decision_free(d);
	json_decref(facts);
	bpg_policy_free(p);
}

Test(limits, the_budget_refuses_at_its_check_points)
{
	bpg_policy *p = load();
	bpg_decision *d = NULL;
	bpg_budget *b = NULL;
	bpg_error err;
	json_t *facts = drift_facts(2);

	/* a budget of 0 s is spent before the first check: deterministic */
	bpg_budget_opts zero = { 0, BPG_BUDGET_UNLIMITED, "bpgate.maxJudgeSeconds", "bpgate.maxJudgeMemory" };
	cr_assert_eq(bpg_budget_new(&b, &zero, &err), 0);
	cr_assert_eq(bpg_evaluate_budget(&d, p, facts, b, &err), BPG_ETOOBIG);
	cr_assert_null(d);
	cr_assert_str_eq(err.message, "the judgement ran out of time: it took longer than its budget of 0 s "
		"(bpgate.maxJudgeSeconds); the change is refused, not judged in part");
	cr_assert_eq(bpg_budget_checks(b), 1);
	bpg_budget_free(b);

	/* memory: any process holds more than 1 KiB at its peak */
	bpg_budget_opts tiny = { 600, 1024, "s", "bpgate.maxJudgeMemory" };
	cr_assert_eq(bpg_budget_new(&b, &tiny, &err), 0);
	cr_assert_eq(bpg_evaluate_budget(&d, p, facts, b, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "the judgement ran out of memory: it used ") == err.message, "%s", err.message);
	cr_assert(strstr(err.message, "MiB, more than its budget of 0 MiB (bpgate.maxJudgeMemory)"), "%s", err.message);
	/* the peak is read at most once a millisecond, but once over, every check
	 * after refuses, however soon */
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(bpg_budget_check(b, &err), BPG_ETOOBIG, "check %d after the first refusal passed", i);
	cr_assert(bpg_budget_exceeded(b));
	bpg_budget_free(b);

	/* the final check reads the peak whenever it was last read: 128 MiB touched right
	 * after a passing check (within the same millisecond or not) are always seen */
	{
		struct rusage ru;
		cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
		bpg_budget_opts now = { 600, (size_t)ru.ru_maxrss * 1024 + ((size_t)64 << 20), "s", "m" };
		cr_assert_eq(bpg_budget_new(&b, &now, &err), 0);
		cr_assert_eq(bpg_budget_check(b, &err), 0, "%s", err.message);
		char *big = malloc((size_t)128 << 20);
		cr_assert_not_null(big);
		for (size_t i = 0; i < ((size_t)128 << 20); i += 4096) /* every page, not optimised away */
			((volatile char *)big)[i] = 1;
		cr_assert_eq(bpg_budget_check_final(b, &err), BPG_ETOOBIG);
		cr_assert(strstr(err.message, "the judgement ran out of memory"), "%s", err.message);
		free(big);
		bpg_budget_free(b);
	}

	/* within the budget: the same decision as without one, checked before each
	 * rule that runs and once at the end */
	bpg_budget_opts ample = { 600, BPG_BUDGET_UNLIMITED, NULL, NULL };
	cr_assert_eq(bpg_budget_new(&b, &ample, &err), 0);
	cr_assert_eq(bpg_evaluate_budget(&d, p, facts, b, &err), 0, "%s", err.message);
	cr_assert_eq(drift_count(d), 2);
	size_t on = 0;
	for (size_t i = 0; i < bpg_rule_count(); i++)
		on += bpg_decision_rule_outcome(d, i, NULL) != BPG_RULE_OFF;
	cr_assert_eq(bpg_budget_checks(b), 1 + on + 1);
	bpg_decision_free(d);
	bpg_budget_free(b);
	json_decref(facts);
	bpg_policy_free(p);
}

Test(limits, budget_sizes_parse_or_are_refused)
{
	size_t v;
	bpg_error err;
	cr_assert_eq(bpg_budget_parse_size(&v, "2g", &err), 0);
	cr_assert_eq(v, (size_t)2 << 30);
	cr_assert_eq(bpg_budget_parse_size(&v, "512M", &err), 0);
	cr_assert_eq(v, (size_t)512 << 20);
	cr_assert_eq(bpg_budget_parse_size(&v, "1048576", &err), 0);
	cr_assert_eq(v, (size_t)1 << 20);
	cr_assert_eq(bpg_budget_parse_size(&v, "lots", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "'lots' is not a size (a number of bytes, or with a k, m or g suffix)");
	cr_assert_eq(bpg_budget_parse_size(&v, "-1", &err), BPG_EINVALID);
	cr_assert_eq(bpg_budget_parse_size(&v, "1t", &err), BPG_EINVALID);
	cr_assert_eq(bpg_budget_parse_size(&v, "99999999999999999999g", &err), BPG_EINVALID);
}

Test(limits, trailers_past_the_limit_are_refused_not_cut)
{
	json_t *t = NULL;
	bpg_error err;
	/* 300 trailer lines, "Risk: high" the last: the old parser kept 256 and lost it */
	size_t cap = 300 * 16 + 64;
	char *msg = malloc(cap);
	size_t n = (size_t)snprintf(msg, cap, "subject\n\n");
	for (int i = 0; i < 299; i++)
		n += (size_t)snprintf(msg + n, cap - n, "Note-%d: x\n", i);
	n += (size_t)snprintf(msg + n, cap - n, "Risk: high\n");
	cr_assert_eq(bpg_trailers_parse(&t, msg, n, &err), BPG_ETOOBIG);
	cr_assert_null(t);
	cr_assert_str_eq(err.message, "the commit message has 300 trailer lines, more than the 256 the gate reads; "
		"shorten its last paragraph");
	/* a long last paragraph that is not trailers has none, as before */
	msg[n - 2] = '\0';
	size_t m = (size_t)snprintf(msg + n - 2, cap - n + 2, "\nnot a trailer line\n");
	cr_assert_eq(bpg_trailers_parse(&t, msg, n - 2 + m, &err), 0, "%s", err.message);
	cr_assert_eq(json_object_size(t), 0);
	json_decref(t);
	free(msg);
}
