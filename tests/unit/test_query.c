/* Unit tests of the query API (bpgate/query.h): defaults applied exactly as
 * the rules apply them, and the rules deciding with the same answers
 * (renamed trailers, break-glass-overdue, scan globs with no ceiling). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/buf.h"
#include "bpgate/policy.h"
#include "bpgate/query.h"

#define POLICY_HEAD "{\"version\": 1, \"environments\": {\"stage\": {\"branch\": \"stage\"}, " \
	"\"prod\": {\"branch\": \"main\", \"promotes_from\": \"stage\"}}, " \
	"\"roles\": {\"releasers\": [\"erin\", \"rita\"], \"reviewers\": [\"bob\"], \"admins\": [\"ann\"]}, " \
	"\"risk_tiers\": [\"low\", \"medium\", \"high\"], " \
	"\"catalog\": [{\"id\": \"crm\", \"paths\": [\"scenarios/crm/**\"], \"owner\": \"alice\", \"risk\": \"medium\"}," \
	"{\"id\": \"pay\", \"paths\": [\"scenarios/pay/**\"], \"owner\": \"alice\", \"risk\": \"high\"}]"

static bpg_policy *load(const char *text)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", text, strlen(text), &err), 0);
	int rc = bpg_policy_load(&p, NULL, files, &err);
	cr_assert_eq(rc, 0, "load: %s", err.message);
	bpg_policy_files_free(files);
	return p;
}

static bpg_policy *load_with_rules(const char *rules)
{
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_buf_printf(&b, POLICY_HEAD ", \"rules\": {%s}}", rules), 0);
	bpg_policy *p = load(b.ptr);
	bpg_buf_dispose(&b);
	return p;
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	cr_assert_not_null(s);
	return s;
}

static void expect_json(const json_t *v, const char *want)
{
	char *s = dump(v);
	cr_assert_str_eq(s, want);
	free(s);
}

/* A rule the policy does not name is on, with the rule's own defaults. */
Test(query, rules_have_their_defaults_when_the_policy_does_not_name_them)
{
	bpg_policy *p = load_with_rules("");
	bpg_mode mode = BPG_MODE_OFF;
	const json_t *params = NULL;

	cr_assert_eq(bpg_policy_rule_find(&mode, &params, p, "break-glass-overdue"), 0);
	cr_assert_eq(mode, BPG_MODE_ENFORCE);
	expect_json(params, "{\"approvals\":1,\"environments\":[\"prod\"],\"max_days\":3}");
	cr_assert(bpg_policy_rule_on(p, "break-glass-overdue"));
	cr_assert_eq(json_integer_value(bpg_policy_rule_param(p, "break-glass", "max_days")), 3);
	expect_json(bpg_policy_rule_param(p, "signed-push", "environments"), "[]");
	cr_assert_str_eq(json_string_value(bpg_policy_rule_param(p, "stage-health", "report")), "health/stage.json");
	cr_assert_str_eq(json_string_value(bpg_policy_rule_param(p, "uat-evidence", "dir")), "uat");
	cr_assert_null(bpg_policy_rule_param(p, "break-glass-overdue", "no-such-parameter"));
	cr_assert_null(bpg_policy_rule_param(p, "no-such-rule", "max_days"));
	cr_assert_eq(bpg_policy_rule_find(&mode, &params, p, "no-such-rule"), BPG_ENOTFOUND);
	cr_assert_eq(bpg_policy_rule_find(NULL, NULL, p, NULL), BPG_ENOTFOUND);
	cr_assert_not(bpg_policy_rule_on(p, "no-such-rule"));
	bpg_policy_free(p);

	p = load_with_rules("\"break-glass-overdue\": {\"mode\": \"warn\", \"max_days\": 5}, \"signed-push\": {\"mode\": \"off\"}");
	cr_assert_eq(bpg_policy_rule_find(&mode, &params, p, "break-glass-overdue"), 0);
	cr_assert_eq(mode, BPG_MODE_WARN);
	expect_json(params, "{\"approvals\":1,\"environments\":[\"prod\"],\"max_days\":5}");
	cr_assert_not(bpg_policy_rule_on(p, "signed-push"));
	bpg_policy_free(p);
}

/* The verdict `bpgate pending` and the server share, on every edge. */
Test(query, break_glass_state_applies_the_rule)
{
	const long long t = 1700000000, day = 86400;
	bpg_break_glass_state st;
	bpg_policy *p = load_with_rules("");

	/* not named by the policy: on, prod, 3 days, 1 approval */
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 4 * day, 0);
	cr_assert(st.rule_on && st.limited && st.pending && st.overdue && st.blocking);
	cr_assert_eq(st.max_days, 3);
	cr_assert_eq(st.approvals, 1);
	cr_assert_eq(st.age_days, 4);
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 3 * day, 0);
	cr_assert(st.pending && !st.overdue && !st.blocking, "exactly max_days is not past the limit");
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 3 * day + 1, 0);
	cr_assert(st.overdue && st.blocking, "one second past the limit is");
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 9 * day, 1);
	cr_assert(!st.pending && !st.overdue && !st.blocking);
	bpg_policy_break_glass_state(&st, p, "stage", true, t, t + 9 * day, 0);
	cr_assert(st.rule_on && !st.limited && st.pending && !st.overdue);
	bpg_policy_break_glass_state(&st, p, "prod", false, 0, t + 9 * day, 0);
	cr_assert(st.pending && !st.overdue && st.age_days == 0, "a record without time is never overdue");
	bpg_policy_break_glass_state(&st, p, NULL, true, t, t + 9 * day, 0);
	cr_assert(!st.limited && !st.overdue);
	bpg_policy_free(p);

	p = load_with_rules("\"break-glass-overdue\": {\"mode\": \"warn\"}");
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 4 * day, 0);
	cr_assert(st.overdue && !st.blocking, "warn mode: overdue, not refused");
	bpg_policy_free(p);

	p = load_with_rules("\"break-glass-overdue\": {\"mode\": \"off\"}");
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 40 * day, 0);
	cr_assert(!st.rule_on && !st.limited && st.pending && !st.overdue && !st.blocking);
	bpg_policy_free(p);

	p = load_with_rules("\"break-glass-overdue\": {\"environments\": [\"stage\"], \"max_days\": 0, \"approvals\": 2}");
	bpg_policy_break_glass_state(&st, p, "stage", true, t, t + 1, 1);
	cr_assert(st.limited && st.pending && st.overdue && st.blocking);
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 9 * day, 0);
	cr_assert(!st.limited && !st.overdue);
	bpg_policy_break_glass_state(&st, p, "stage", true, t, t + 9 * day, 2);
	cr_assert(!st.pending && !st.overdue);
	bpg_policy_free(p);

	p = load_with_rules("\"break-glass-overdue\": {\"approvals\": 0}");
	bpg_policy_break_glass_state(&st, p, "prod", true, t, t + 9 * day, 0);
	cr_assert(!st.pending && !st.overdue, "approvals 0: nothing is ever pending");
	bpg_policy_free(p);
}

Test(query, roles_and_principals)
{
	bpg_policy *p = load_with_rules("\"bundle-signed\": {\"signer_role\": \"admins\"}");
	const char *const *v = NULL;

	cr_assert_eq(bpg_policy_role_principals(&v, p, "releasers"), 2);
	cr_assert_str_eq(v[0], "erin");
	cr_assert_str_eq(v[1], "rita");
	cr_assert_null(v[2]);
	cr_assert_eq(bpg_policy_role_principals(&v, p, "cab"), 0);
	cr_assert_null(v[0]);
	cr_assert_eq(bpg_policy_role_principals(&v, p, NULL), 0);
	cr_assert_null(v[0]);
	cr_assert(bpg_policy_has_role(p, "reviewers", "bob"));
	cr_assert_not(bpg_policy_has_role(p, "reviewers", "Bob"));
	cr_assert_not(bpg_policy_has_role(p, "releasers", "bob"));
	cr_assert_not(bpg_policy_has_role(p, "releasers", NULL));
	cr_assert_not(bpg_policy_has_role(p, NULL, "bob"));
	cr_assert(bpg_policy_has_any_role(p, "ann"));
	cr_assert_not(bpg_policy_has_any_role(p, "mallory"));
	cr_assert_not(bpg_policy_has_any_role(p, NULL));
	cr_assert_str_eq(bpg_policy_bundle_signer_role(p), "admins");
	bpg_policy_free(p);

	p = load_with_rules("");
	cr_assert_str_eq(bpg_policy_bundle_signer_role(p), "releasers");
	bpg_policy_free(p);
}

Test(query, risk_tiers_of_paths_and_changes)
{
	bpg_policy *p = load_with_rules("");

	cr_assert_eq(bpg_policy_tier_rank(p, "low"), 0);
	cr_assert_eq(bpg_policy_tier_rank(p, "high"), 2);
	cr_assert_eq(bpg_policy_tier_rank(p, "extreme"), -1);
	cr_assert_eq(bpg_policy_tier_rank(p, NULL), -1);
	cr_assert(bpg_policy_tier_is_high(p, "high"), "default high_risk_tiers: the tier 'high'");
	cr_assert_not(bpg_policy_tier_is_high(p, "medium"));
	cr_assert_not(bpg_policy_tier_is_high(p, NULL));
	cr_assert_str_eq(bpg_policy_path_tier(p, "scenarios/crm/a.blueprint.json"), "medium");
	cr_assert_str_eq(bpg_policy_path_tier(p, "scenarios/pay/b.blueprint.json"), "high");
	cr_assert_null(bpg_policy_path_tier(p, "docs/readme.md"));
	cr_assert_null(bpg_policy_path_tier(p, NULL));
	cr_assert_str_eq(bpg_policy_tier_max(p, "low", "high"), "high");
	cr_assert_str_eq(bpg_policy_tier_max(p, "high", "medium"), "high");
	cr_assert_str_eq(bpg_policy_tier_max(p, NULL, "medium"), "medium");
	cr_assert_str_eq(bpg_policy_tier_max(p, "low", NULL), "low");
	cr_assert_str_eq(bpg_policy_tier_max(p, "low", "extreme"), "low");
	cr_assert_null(bpg_policy_tier_max(p, NULL, NULL));
	bpg_policy_free(p);

	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_buf_printf(&b, POLICY_HEAD ", \"high_risk_tiers\": [\"medium\", \"high\"]}"), 0);
	p = load(b.ptr);
	cr_assert(bpg_policy_tier_is_high(p, "medium"));
	cr_assert_not(bpg_policy_tier_is_high(p, "low"));
	bpg_policy_free(p);
	bpg_buf_dispose(&b);
}

static void evaluate(char *out, size_t n, const bpg_policy *p, const char *facts_text)
{
	json_error_t je;
	json_t *facts = json_loads(facts_text, 0, &je);
	bpg_decision *d = NULL;
	bpg_error err;
	cr_assert_not_null(facts, "%s", je.text);
	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	out[0] = '\0';
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s: %s", i ? " | " : "", f->rule, f->message);
	}
	bpg_decision_free(d);
	json_decref(facts);
}

/* Renamed trailers: the query answers the names the rule checks. */
Test(query, trailer_names_are_the_rules)
{
	bpg_policy *p = load_with_rules("");
	cr_assert_eq(bpg_policy_trailer_count(p), 4);
	cr_assert_str_eq(bpg_policy_trailer(p, 0), "Purpose");
	cr_assert_str_eq(bpg_policy_trailer(p, 3), "Rollback");
	cr_assert_null(bpg_policy_trailer(p, 4));
	cr_assert_str_eq(bpg_policy_risk_trailer(p), "Risk");
	cr_assert_str_eq(bpg_policy_uat_trailer(p), "UAT-Evidence");
	bpg_policy_free(p);

	p = load_with_rules("\"change-template\": {\"trailers\": [\"Why\", \"Risk-Level\"], "
		"\"risk_trailer\": \"Risk-Level\", \"uat_trailer\": \"Tested-In\"}");
	cr_assert_eq(bpg_policy_trailer_count(p), 2);
	cr_assert_str_eq(bpg_policy_trailer(p, 0), "Why");
	cr_assert_str_eq(bpg_policy_risk_trailer(p), "Risk-Level");
	cr_assert_str_eq(bpg_policy_uat_trailer(p), "Tested-In");
	char got[2048];
	evaluate(got, sizeof(got), p, "{\"time\": \"2025-06-01T00:00:00Z\", \"context\": \"check\", \"commits\": ["
		"{\"id\": \"c1\", \"paths\": [\"scenarios/pay/a.blueprint.json\"], \"trailers\": {\"Risk-Level\": \"high\"}},"
		"{\"id\": \"c2\", \"paths\": [\"scenarios/pay/a.blueprint.json\"], \"trailers\": {\"Why\": \"x\", \"Risk\": \"high\"}}],"
		"\"files\": []}");
	cr_assert_str_eq(got,
		"change-template: commit changes blueprints but its message has no 'Why:' trailer"
		" | change-template: high-risk change (Risk-Level: high) without a 'Tested-In:' trailer naming its UAT evidence"
		" | change-template: commit changes blueprints but its message has no 'Risk-Level:' trailer"
		" | high-risk: commit declares a high-risk change (Risk-Level: high)");
	bpg_policy_free(p);
}

/* Scan globs: every kind scan-findings covers, per-kind defaults, no ceiling. */
Test(query, scan_globs_have_no_ceiling)
{
	const char *const *g = NULL;
	bpg_policy *p = load_with_rules("");
	cr_assert_eq(bpg_policy_scan_globs(&g, p), 4);
	cr_assert_str_eq(g[0], "**/fixtures/**");
	cr_assert_str_eq(g[1], "**/testdata/**");
	cr_assert_str_eq(g[2], "**/uat/**");
	cr_assert_str_eq(g[3], "**/*.blueprint.json");
	cr_assert_null(g[4]);
	cr_assert(bpg_policy_path_is(p, "fixtures", "svc/testdata/people.csv"));
	cr_assert(bpg_policy_path_is(p, "bundles", "rel/1.bundle.json"));
	cr_assert_not(bpg_policy_path_is(p, "fixtures", "docs/people.csv"));
	cr_assert_not(bpg_policy_path_is(p, "nonsense", "fixtures/a"));
	cr_assert_not(bpg_policy_path_is(p, "fixtures", NULL));
	bpg_policy_free(p);

	/* 70 fixture globs, uat and blueprints by default */
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_buf_puts(&b, POLICY_HEAD ", \"paths\": {\"fixtures\": ["), 0);
	for (int i = 1; i <= 70; i++)
		cr_assert_eq(bpg_buf_printf(&b, "%s\"fx%02d/**\"", i > 1 ? ", " : "", i), 0);
	cr_assert_eq(bpg_buf_puts(&b, "]}}"), 0);
	p = load(b.ptr);
	cr_assert_eq(bpg_policy_scan_globs(&g, p), 72);
	cr_assert_str_eq(g[64], "fx65/**");
	cr_assert_str_eq(g[69], "fx70/**");
	cr_assert_str_eq(g[70], "**/uat/**");
	cr_assert_str_eq(g[71], "**/*.blueprint.json");
	cr_assert_null(g[72]);
	cr_assert(bpg_policy_path_is(p, "fixtures", "fx65/people.csv"));
	cr_assert_not(bpg_policy_path_is(p, "fixtures", "a/fixtures/people.csv"), "listed kinds replace the default");
	bpg_policy_free(p);
	bpg_buf_dispose(&b);

	p = load_with_rules("\"scan-findings\": {\"paths\": [\"uat\"]}");
	cr_assert_eq(bpg_policy_scan_globs(&g, p), 1);
	cr_assert_str_eq(g[0], "**/uat/**");
	bpg_policy_free(p);
}

Test(query, environments_of_refs)
{
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_buf_puts(&b, "{\"version\": 1, \"environments\": {\"stage\": {\"branch\": \"refs/heads/stage\"}, "
		"\"prod\": {\"branch\": \"main\"}, \"tags\": {\"branch\": \"refs/tags/live\"}}, \"roles\": {}, "
		"\"risk_tiers\": [\"low\"], \"catalog\": []}"), 0);
	bpg_policy *p = load(b.ptr);
	cr_assert_str_eq(bpg_policy_env_for_ref(p, "refs/heads/main"), "prod");
	cr_assert_str_eq(bpg_policy_env_for_ref(p, "main"), "prod");
	cr_assert_str_eq(bpg_policy_env_for_ref(p, "refs/heads/stage"), "stage");
	cr_assert_str_eq(bpg_policy_env_for_ref(p, "stage"), "stage");
	cr_assert_str_eq(bpg_policy_env_for_ref(p, "refs/tags/live"), "tags");
	cr_assert_null(bpg_policy_env_for_ref(p, "refs/heads/dev"));
	cr_assert_null(bpg_policy_env_for_ref(p, "refs/tags/main"));
	cr_assert_null(bpg_policy_env_for_ref(p, NULL));
	cr_assert_str_eq(bpg_policy_env_branch(p, "prod"), "main");
	cr_assert_str_eq(bpg_policy_env_branch(p, "stage"), "refs/heads/stage");
	cr_assert_null(bpg_policy_env_branch(p, "dev"));
	cr_assert_null(bpg_policy_env_branch(p, NULL));
	bpg_policy_free(p);
	bpg_buf_dispose(&b);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	bpg_buf b = BPG_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cr_assert_eq(bpg_buf_put(&b, chunk, n), 0);
	fclose(f);
	cr_assert_eq(bpg_buf_put(&b, "", 1), 0);
	return b.ptr;
}

static char *subst(char *s, const char *from, const char *to)
{
	char *at = strstr(s, from);
	cr_assert_not_null(at, "'%s' not in text", from);
	char *out = malloc(strlen(s) + strlen(to) + 1);
	cr_assert_not_null(out);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	free(s);
	return out;
}

/* The server's change tier (approvals, change windows) reads the risk trailer
 * the policy names, as change-template does: a commit declaring "Level: high"
 * under a policy whose risk_trailer is Level needs the high-risk approvals. */
Test(query, server_change_tier_reads_the_renamed_risk_trailer)
{
	const char *root = getenv("BPG_SOURCE_ROOT");
	cr_assert_not_null(root);
	bpg_buf path = BPG_BUF_INIT;
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;

	cr_assert_eq(bpg_buf_printf(&path, "%s/policy/packs/regulated/policy.json", root), 0);
	char *pol = subst(slurp(path.ptr), "\"risk_trailer\": \"Risk\"", "\"risk_trailer\": \"Level\"");
	pol = subst(pol, "\"trailers\": [\"Purpose\", \"Risk\",", "\"trailers\": [\"Purpose\", \"Level\",");
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", pol, strlen(pol), &err), 0);
	const char *contracts[] = { "hubspot-contact.json" };
	for (size_t i = 0; i < sizeof(contracts) / sizeof(contracts[0]); i++) {
		bpg_buf_clear(&path);
		cr_assert_eq(bpg_buf_printf(&path, "%s/policy/packs/regulated/contracts/%s", root, contracts[i]), 0);
		char *c = slurp(path.ptr);
		bpg_buf name = BPG_BUF_INIT;
		cr_assert_eq(bpg_buf_printf(&name, "contracts/%s", contracts[i]), 0);
		cr_assert_eq(bpg_policy_files_add(files, name.ptr, c, strlen(c), &err), 0, "%s", err.message);
		bpg_buf_dispose(&name);
		free(c);
	}
	cr_assert_eq(bpg_policy_load(&p, NULL, files, &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_policy_risk_trailer(p), "Level");

	bpg_buf_clear(&path);
	cr_assert_eq(bpg_buf_printf(&path, "%s/policy/packs/regulated/tests/39-server-approval-expired.json", root), 0);
	char *t = subst(slurp(path.ptr), "\"time\": \"2025-05-01T09:00:00Z\"", "\"time\": \"2025-06-03T09:00:00Z\"");
	json_error_t je;
	json_t *test = json_loads(t, 0, &je);
	cr_assert_not_null(test, "%s", je.text);
	json_t *facts = json_object_get(test, "facts");
	json_t *commit = json_array_get(json_object_get(facts, "commits"), 0);
	char got[4096];
	char *fs = dump(facts);
	evaluate(got, sizeof(got), p, fs);
	cr_assert_str_eq(got, "", "a low-risk change with one fresh approval passes");
	free(fs);

	cr_assert_eq(json_object_set_new(commit, "trailers", json_pack("{s:s}", "Level", "high")), 0);
	fs = dump(facts);
	evaluate(got, sizeof(got), p, fs);
	cr_assert(strstr(got, "approvals: prod requires 2 approval(s) from reviewers for a high-risk change"),
		"got: %s", got);
	free(fs);

	/* "Risk: high" is not this policy's risk trailer */
	cr_assert_eq(json_object_set_new(commit, "trailers", json_pack("{s:s}", "Risk", "high")), 0);
	fs = dump(facts);
	evaluate(got, sizeof(got), p, fs);
	cr_assert_str_eq(got, "");
	free(fs);

	json_decref(test);
	free(t);
	free(pol);
	bpg_policy_free(p);
	bpg_policy_files_free(files);
	bpg_buf_dispose(&path);
}
