/* Unit tests of the query API (bpgate/query.h): defaults applied exactly as
 * the rules apply them, and the rules deciding with the same answers
 * (renamed trailers, break-glass-overdue, scan globs with no ceiling). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
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

/* bpg_policy_template_incomplete answers what the change-template rule decides
 * for a commit that touches a blueprint: the gate leaves out the paths of a
 * commit only where it says false, so a commit it passed must be one the rule
 * passes, trailer for trailer. */
static void expect_incomplete(bpg_policy *p, const char *trailers, bool want)
{
	char facts[1024], got[2048];
	json_error_t jerr;
	snprintf(facts, sizeof(facts), "{\"id\": \"c1\", \"trailers\": %s}", trailers);
	json_t *c = json_loads(facts, 0, &jerr);
	cr_assert_not_null(c, "%s", jerr.text);
	cr_assert_eq(bpg_policy_template_incomplete(p, c), want, "trailers %s", trailers);
	snprintf(facts, sizeof(facts), "{\"time\": \"2025-06-01T00:00:00Z\", \"context\": \"check\", \"commits\": ["
		"{\"id\": \"c1\", \"paths\": [\"scenarios/crm/a.blueprint.json\"], \"trailers\": %s}], \"files\": []}",
		trailers);
	evaluate(got, sizeof(got), p, facts);
	cr_assert_eq(strstr(got, "change-template:") != NULL, want, "trailers %s: the rule says '%s'", trailers, got);
	json_decref(c);
}

Test(query, template_incomplete_is_the_rules_verdict)
{
	bpg_policy *p = load_with_rules("");
	const char *all = "\"Purpose\": \"p\", \"Test-Plan\": \"t\", \"Rollback\": \"r\"";
	char t[512];

	snprintf(t, sizeof(t), "{%s, \"Risk\": \"low\"}", all);
	expect_incomplete(p, t, false);
	snprintf(t, sizeof(t), "{%s, \"risk\": \"medium\"}", all); /* keys are case-insensitive, as in git */
	expect_incomplete(p, t, false);
	snprintf(t, sizeof(t), "{%s, \"Risk\": \"high\", \"UAT-Evidence\": \"UAT-1\"}", all);
	expect_incomplete(p, t, false);
	snprintf(t, sizeof(t), "{%s, \"Risk\": [\"high\", \"low\"]}", all); /* the last value counts */
	expect_incomplete(p, t, false);
	expect_incomplete(p, "{}", true);
	expect_incomplete(p, "{\"Purpose\": \"p\", \"Test-Plan\": \"t\", \"Risk\": \"low\"}", true);
	snprintf(t, sizeof(t), "{%s, \"Risk\": \"\"}", all);
	expect_incomplete(p, t, true);
	snprintf(t, sizeof(t), "{%s, \"Risk\": \"critical\"}", all);
	expect_incomplete(p, t, true);
	snprintf(t, sizeof(t), "{%s, \"Risk\": \"high\"}", all);
	expect_incomplete(p, t, true);
	snprintf(t, sizeof(t), "{%s, \"Risk\": \"high\", \"UAT-Evidence\": \"\"}", all);
	expect_incomplete(p, t, true);
	snprintf(t, sizeof(t), "{%s, \"Risk\": [\"low\", \"high\"]}", all);
	expect_incomplete(p, t, true);
	bpg_policy_free(p);

	p = load_with_rules("\"change-template\": {\"trailers\": [\"Why\", \"Risk-Level\"], "
		"\"risk_trailer\": \"Risk-Level\", \"uat_trailer\": \"Tested-In\"}");
	expect_incomplete(p, "{\"Why\": \"x\", \"Risk-Level\": \"low\"}", false);
	expect_incomplete(p, "{\"Why\": \"x\", \"Risk-Level\": \"high\", \"Tested-In\": \"run 4\"}", false);
	expect_incomplete(p, "{\"Why\": \"x\", \"Risk\": \"low\"}", true);
	expect_incomplete(p, "{\"Why\": \"x\", \"Risk-Level\": \"high\", \"UAT-Evidence\": \"run 4\"}", true);
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

/* ---- Make: environments.<env>.make, catalog blueprint/make, reference maps -------------------- */

#define MAKE_ENVS "\"environments\": {" \
	"\"dev\": {\"branch\": \"dev\", \"make\": {\"zone\": \"eu1.make.com\", \"team_id\": 10}}, " \
	"\"stage\": {\"branch\": \"stage\", \"promotes_from\": \"dev\", \"make\": {\"zone\": \"eu1.make.com\", " \
	"\"team_id\": 20, \"folder_id\": 7, \"api_url\": \"http://127.0.0.1:8080/api/v2\", \"deploy\": \"auto\"}}, " \
	"\"prod\": {\"branch\": \"main\", \"promotes_from\": \"stage\", \"make\": {\"api_url\": \"https://make.example.com/api/v2\", " \
	"\"team_id\": 30}}, \"sandbox\": {\"branch\": \"sandbox\"}}, \"roles\": {}, \"risk_tiers\": [\"low\"]"
#define MAKE_CATALOG "\"catalog\": [{\"id\": \"crm\", \"paths\": [\"scenarios/crm/**\"], \"owner\": \"a\", \"risk\": \"low\", " \
	"\"blueprint\": \"scenarios/crm/main.blueprint.json\", \"make\": {\"dev\": 101, \"prod\": 301}, " \
	"\"connections\": {\"dev\": [\"1001\"], \"stage\": [\"2001\"], \"prod\": [\"3001\"]}}, " \
	"{\"id\": \"digest\", \"paths\": [\"scenarios/digest/**\"], \"owner\": \"a\", \"risk\": \"low\"}]"

/* Load policy.json and environments/<name>.json files (pairs name, text; NULL-terminated);
 * the diagnostics, formatted, one a line, into *diags_out (caller frees). */
static bpg_policy *load_maps(char **diags_out, const char *policy, ...)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_buf all = BPG_BUF_INIT, name = BPG_BUF_INIT;
	bpg_error err;
	va_list ap;
	const char *n;

	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", policy, strlen(policy), &err), 0);
	va_start(ap, policy);
	while ((n = va_arg(ap, const char *))) {
		const char *text = va_arg(ap, const char *);
		bpg_buf_clear(&name);
		cr_assert_eq(bpg_buf_printf(&name, "environments/%s.json", n), 0);
		cr_assert_eq(bpg_policy_files_add(files, name.ptr, text, strlen(text), &err), 0);
	}
	va_end(ap);
	int lrc = bpg_policy_load(&p, &diags, files, &err);
	cr_assert(lrc == 0 || lrc == BPG_EINVALID, "%s", err.message);
	cr_assert_eq(bpg_buf_puts(&all, ""), 0);
	for (size_t i = 0; i < bpg_diags_count(diags); i++) {
		cr_assert_eq(bpg_diag_format(&all, bpg_diags_get(diags, i)), 0);
		cr_assert_eq(bpg_buf_puts(&all, "\n"), 0);
	}
	*diags_out = all.ptr;
	bpg_diags_free(diags);
	bpg_policy_files_free(files);
	bpg_buf_dispose(&name);
	return p;
}

#define DEV_MAP "{\"version\": 1, \"references\": {\"account\": {\"1001\": 1001, \"1002\": 1002}, \"hook\": {\"1101\": \"1101\"}}}"
#define STAGE_MAP "{\"version\": 1, \"references\": {\"account\": {\"1001\": 2001}}}"
#define PROD_MAP "{\"version\": 1, \"references\": {\"account\": {\"1001\": 3001, \"1002\": 3002, \"3003\": 3003, " \
	"\"1003\": 3003}, \"keychain\": {\"7\": \"k-prod\"}, \"udt\": {}, \"device\": {}, \"datastore\": {}, \"hook\": {}}}"

Test(query, make_environments_catalog_and_maps)
{
	char *diags = NULL;
	bpg_policy *p = load_maps(&diags, "{\"version\": 1, " MAKE_ENVS ", " MAKE_CATALOG "}",
		"dev", DEV_MAP, "prod", PROD_MAP, NULL);
	cr_assert_not_null(p, "%s", diags);
	free(diags);
	bpg_make_env m;

	cr_assert(bpg_policy_env_make(&m, p, "dev"));
	cr_assert_str_eq(m.zone, "eu1.make.com");
	cr_assert_null(m.api_url);
	cr_assert_eq(m.team_id, 10);
	cr_assert_eq(m.folder_id, 0);
	cr_assert_str_eq(m.deploy, "manual");
	cr_assert(bpg_policy_env_make(&m, p, "stage"));
	cr_assert_str_eq(m.api_url, "http://127.0.0.1:8080/api/v2");
	cr_assert_eq(m.team_id, 20);
	cr_assert_eq(m.folder_id, 7);
	cr_assert_str_eq(m.deploy, "auto");
	cr_assert(bpg_policy_env_make(&m, p, "prod"));
	cr_assert_null(m.zone);
	cr_assert_str_eq(m.api_url, "https://make.example.com/api/v2");
	cr_assert_not(bpg_policy_env_make(&m, p, "sandbox"));
	cr_assert_eq(m.team_id, 0);
	cr_assert_null(m.deploy);
	cr_assert_not(bpg_policy_env_make(&m, p, "qa"));
	cr_assert_not(bpg_policy_env_make(&m, p, NULL));

	const char *const *e;
	cr_assert_eq(bpg_policy_envs(&e, p), 4);
	cr_assert_str_eq(e[0], "dev");
	cr_assert_str_eq(e[3], "sandbox");
	cr_assert_null(e[4]);
	cr_assert_eq(bpg_policy_env_reach(&e, p, "dev"), 3);
	cr_assert_str_eq(e[0], "dev");
	cr_assert_str_eq(e[1], "stage");
	cr_assert_str_eq(e[2], "prod");
	cr_assert_null(e[3]);
	cr_assert_eq(bpg_policy_env_reach(&e, p, "stage"), 2);
	cr_assert_str_eq(e[1], "prod");
	cr_assert_eq(bpg_policy_env_reach(&e, p, "prod"), 1);
	cr_assert_eq(bpg_policy_env_reach(&e, p, "sandbox"), 1);
	cr_assert_eq(bpg_policy_env_reach(&e, p, "qa"), 0);
	cr_assert_null(e[0]);
	cr_assert_eq(bpg_policy_env_reach(&e, p, NULL), 0);

	/* every map has all six kinds; absent kinds map nothing */
	expect_json(bpg_policy_env_refmap(p, "dev"), "{\"account\":{\"1001\":1001,\"1002\":1002},\"datastore\":{},"
		"\"device\":{},\"hook\":{\"1101\":\"1101\"},\"keychain\":{},\"udt\":{}}");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(bpg_policy_env_refmap(p, "prod"), "account"), "1001")), 3001);
	cr_assert_null(bpg_policy_env_refmap(p, "stage"));
	cr_assert_null(bpg_policy_env_refmap(p, NULL));

	const json_t *const *c;
	cr_assert_eq(bpg_policy_catalog(&c, p), 2);
	cr_assert_null(c[2]);
	cr_assert_eq(c[0], bpg_policy_catalog_find(p, "crm"));
	cr_assert_eq(c[1], bpg_policy_catalog_find(p, "digest"));
	cr_assert_null(bpg_policy_catalog_find(p, "nope"));
	cr_assert_null(bpg_policy_catalog_find(p, NULL));
	cr_assert_eq(bpg_policy_scenario_make_id(c[0], "dev"), 101);
	cr_assert_eq(bpg_policy_scenario_make_id(c[0], "prod"), 301);
	cr_assert_eq(bpg_policy_scenario_make_id(c[0], "stage"), 0);
	cr_assert_eq(bpg_policy_scenario_make_id(c[1], "dev"), 0);
	cr_assert_eq(bpg_policy_scenario_make_id(c[0], NULL), 0);
	cr_assert_str_eq(bpg_policy_scenario_blueprint(c[0]), "scenarios/crm/main.blueprint.json");
	cr_assert_null(bpg_policy_scenario_blueprint(c[1]));
	bpg_policy_free(p);
}

Test(query, make_blocks_and_catalog_are_checked)
{
	char *diags = NULL;
	bpg_policy *p = load_maps(&diags, "{\"version\": 1, \"environments\": {"
		"\"dev\": {\"branch\": \"dev\", \"make\": {\"team_id\": 0, \"deploy\": \"sometimes\"}},\n"
		"\"stage\": {\"branch\": \"stage\", \"make\": {\"api_url\": \"http://127.0.0.1.evil.example/api/v2\", \"team_id\": 2}},\n"
		"\"prod\": {\"branch\": \"main\", \"make\": {\"zone\": \"eu1.make.com/x\", \"api_url\": \"http://make.example.com\", "
		"\"team_id\": 3, \"folder_id\": -1, \"teamid\": 3}},\n"
		"\"qa\": {\"branch\": \"qa\", \"make\": {\"zone\": \"eu1.make.com\", \"api_url\": \"https://u@make.example.com\", \"team_id\": \"9\"}}},\n"
		"\"roles\": {}, \"risk_tiers\": [\"low\"], \"catalog\": [\n"
		"{\"id\": \"a\", \"paths\": [\"s/a/**\"], \"owner\": \"o\", \"risk\": \"low\", \"make\": {\"dev\": 1}},\n"
		"{\"id\": \"b\", \"paths\": [\"s/b/**\"], \"owner\": \"o\", \"risk\": \"low\", \"blueprint\": \"s/c/x.json\", "
		"\"make\": {\"dev\": 1, \"live\": 5, \"prod\": 0}},\n"
		"{\"id\": \"c\", \"paths\": [\"s/**\"], \"owner\": \"o\", \"risk\": \"low\", \"blueprint\": \"s/../x.json\", \"make\": {\"qa\": \"7\"}},\n"
		"{\"id\": \"d\", \"paths\": [\"s/c/**\"], \"owner\": \"o\", \"risk\": \"low\", \"blueprint\": \"s/c/x.json\"}]}", NULL);
	cr_assert_null(p);
	cr_assert_str_eq(diags,
		".bpgate/policy.json:1:66: environment 'dev' names neither 'zone' (e.g. \"eu1.make.com\") nor 'api_url' in its 'make' block\n"
		".bpgate/policy.json:1:78: team_id must be a Make team id (an integer > 0)\n"
		".bpgate/policy.json:1:91: expected one of manual, auto at '/environments/dev/make/deploy', found \"sometimes\"\n"
		".bpgate/policy.json:2:50: api_url must start with https:// (plain http only to http://127.0.0.1, http://localhost or http://[::1]), without user info or spaces\n"
		".bpgate/policy.json:3:45: zone must be a host name such as \"eu1.make.com\" (no scheme, path or user)\n"
		".bpgate/policy.json:3:74: api_url must start with https:// (plain http only to http://127.0.0.1, http://localhost or http://[::1]), without user info or spaces\n"
		".bpgate/policy.json:3:128: folder_id must be a Make folder id (an integer > 0); leave it out for none\n"
		".bpgate/policy.json:3:132: unknown key 'teamid' at '/environments/prod/make/teamid'; expected one of: zone, team_id, folder_id, api_url, deploy, roles\n"
		".bpgate/policy.json:4:68: api_url must start with https:// (plain http only to http://127.0.0.1, http://localhost or http://[::1]), without user info or spaces\n"
		".bpgate/policy.json:4:109: expected an integer at '/environments/qa/make/team_id', found a string\n"
		".bpgate/policy.json:6:63: 'make' needs 'blueprint': the file pull writes and deploy reads (one of the entry's paths)\n"
		".bpgate/policy.json:7:76: blueprint must match one of the entry's paths\n"
		".bpgate/policy.json:7:106: the same Make scenario is named by an earlier catalog entry for this environment\n"
		".bpgate/policy.json:7:109: 'live' is not an environment of this policy; expected one of the keys of 'environments'\n"
		".bpgate/policy.json:7:128: a Make scenario id is an integer > 0\n"
		".bpgate/policy.json:8:74: blueprint must be a plain relative path in the repository (no '..', '.', empty component or leading '/')\n"
		".bpgate/policy.json:8:104: expected an integer at '/catalog/2/make/qa', found a string\n"
		".bpgate/policy.json:9:76: blueprint names the same file as an earlier catalog entry\n");
	free(diags);
}

Test(query, reference_maps_are_checked)
{
	char *diags = NULL;
	bpg_policy *p = load_maps(&diags, "{\"version\": 1, " MAKE_ENVS ", " MAKE_CATALOG "}",
		"dev", "{\"version\": 2, \"references\": {\"accounts\": {}, \"account\": {\"1\": 0, \"2\": \"\", \"3\": true, \"\": 4},\n"
		"\"hook\": [], \"udt\": {\"5\": {\"id\": 5}}}, \"notes\": \"x\"}",
		"live", "{\"version\": 1, \"references\": {}}",
		"stage", "{\"version\": 1}",
		"prod", "{\"version\": 1, \"references\": {\"account\": {\"1\": 2, \"1\": 3}}}", NULL);
	cr_assert_null(p);
	cr_assert_str_eq(diags,
		".bpgate/environments/dev.json:1:13: expected reference map format version 1\n"
		".bpgate/environments/dev.json:1:31: unknown key 'accounts' at '/references/accounts'; expected one of: account, hook, keychain, datastore, udt, device\n"
		".bpgate/environments/dev.json:1:64: expected the environment's id: an integer > 0 or a non-empty string at '/references/account/1'\n"
		".bpgate/environments/dev.json:1:72: expected the environment's id: an integer > 0 or a non-empty string at '/references/account/2'\n"
		".bpgate/environments/dev.json:1:81: expected the environment's id: an integer > 0 or a non-empty string at '/references/account/3'\n"
		".bpgate/environments/dev.json:1:91: an id in git is never empty at '/references/account/'\n"
		".bpgate/environments/dev.json:2:9: expected an object at '/references/hook', found an array\n"
		".bpgate/environments/dev.json:2:26: expected a string, number, boolean or null at '/references/udt/5', found an object\n"
		".bpgate/environments/dev.json:2:39: unknown key 'notes' at '/notes'; expected one of: version, references\n"
		".bpgate/environments/live.json: 'live' is not an environment of this policy; a reference map is named environments/<environment>.json\n"
		".bpgate/environments/prod.json:1:53: not valid JSON: duplicate object key near '\"1\"'\n"
		".bpgate/environments/stage.json:1:1: missing required key 'references' in the object at ''\n");
	free(diags);
}

/* Facts of a change on env (NULL: none known, a local commit) to one blueprint holding refs
 * ("kind=value" strings, NULL-terminated); file_env: the file's own "environment" fact. */
static char *ref_facts(const char *env, const char *file_env, const char *path, const char *const *refs)
{
	json_t *r = json_array();
	for (size_t i = 0; refs[i]; i++) {
		const char *eq = strchr(refs[i], '=');
		cr_assert_not_null(eq);
		cr_assert_eq(json_array_append_new(r, json_pack("{s:s%,s:s,s:s,s:s}", "kind", refs[i], (size_t)(eq - refs[i]),
			"value", eq + 1, "key", "__IMTCONN__", "pointer", "/flow/0/parameters/__IMTCONN__")), 0);
	}
	json_t *file = json_pack("{s:s,s:s,s:{s:[{s:i,s:o}]}}", "path", path, "status", "modified",
		"blueprint", "modules", "id", 1, "refs", r);
	if (file_env)
		cr_assert_eq(json_object_set_new(file, "environment", json_string(file_env)), 0);
	json_t *f = json_pack("{s:s,s:s,s:o,s:[],s:[o]}", "time", "2026-01-05T10:00:00Z", "context", "pre-push",
		"environment", env ? json_string(env) : json_null(), "commits", "files", file);
	cr_assert_not_null(f);
	char *s = dump(f);
	json_decref(f);
	return s;
}

static void expect_refs(const bpg_policy *p, const char *env, const char *file_env, const char *path,
	const char *const *refs, const char *want)
{
	char got[4096];
	char *facts = ref_facts(env, file_env, path, refs);
	evaluate(got, sizeof(got), p, facts);
	cr_assert_str_eq(got, want, "%s %s: got %s", env ? env : "(no environment)", refs[0], got);
	free(facts);
}

#define REFS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define CRM "scenarios/crm/main.blueprint.json"
#define DIGEST "scenarios/digest/main.blueprint.json"

/* Without any reference map, the rule keeps its first meaning exactly. */
Test(query, connections_without_maps_keep_their_meaning)
{
	char *diags = NULL;
	bpg_policy *p = load_maps(&diags, "{\"version\": 1, " MAKE_ENVS ", " MAKE_CATALOG "}", NULL);
	cr_assert_not_null(p, "%s", diags);
	free(diags);
	expect_refs(p, "dev", NULL, CRM, REFS("connection=1001"), "");
	expect_refs(p, "dev", NULL, CRM, REFS("connection=3001"),
		"connections: connection 3001 belongs to environment 'prod' but this is a dev blueprint of scenario 'crm'");
	expect_refs(p, "stage", NULL, CRM, REFS("connection=1001"),
		"connections: connection 1001 belongs to environment 'dev' but this is a stage blueprint of scenario 'crm'");
	expect_refs(p, "prod", NULL, CRM, REFS("connection=3001"), "");
	expect_refs(p, NULL, NULL, CRM, REFS("connection=2001"), "");
	expect_refs(p, NULL, NULL, CRM, REFS("connection=9999"),
		"connections: connection 9999 is not catalogued for scenario 'crm'");
	expect_refs(p, "dev", NULL, DIGEST, REFS("connection=9999", "keychain=5"),
		"connections: connection 9999 is not catalogued for scenario 'digest' in environment dev");
	bpg_policy_free(p);
}

/* With maps: every environment the change reaches; an environment without a map uses the id as it is. */
Test(query, connections_with_maps)
{
	char *diags = NULL;
	bpg_policy *p = load_maps(&diags, "{\"version\": 1, " MAKE_ENVS ", " MAKE_CATALOG "}",
		"dev", DEV_MAP, "prod", PROD_MAP, NULL);
	cr_assert_not_null(p, "%s", diags);
	free(diags);
	/* dev reaches dev (1001 -> 1001), stage (no map: 1001 as it is, not stage's catalogued 2001), prod (-> 3001) */
	expect_refs(p, "dev", NULL, CRM, REFS("connection=1001"),
		"connections: connection 1001 is not catalogued for scenario 'crm' in environment stage");
	/* prod reaches prod only */
	expect_refs(p, "prod", NULL, CRM, REFS("connection=1001"), "");
	expect_refs(p, "prod", NULL, CRM, REFS("connection=1002"),
		"connections: connection 1002 maps to 3002 in environment prod, which is not catalogued for scenario 'crm' there");
	/* the file's own environment wins over the change's */
	expect_refs(p, "dev", "prod", CRM, REFS("connection=1001"), "");
	/* no catalog list: the maps decide */
	expect_refs(p, "prod", NULL, DIGEST, REFS("connection=1003"), "");
	/* 3003 is prod's id for 1003, but prod maps 3003 to itself too: not a foreign id */
	expect_refs(p, "prod", NULL, DIGEST, REFS("connection=3003"), "");
	expect_refs(p, "prod", NULL, DIGEST, REFS("connection=3002"),
		"connections: connection 3002 belongs to environment 'prod': it is prod's id for connection 1002, "
		"but blueprints in git hold the source environment's ids (deploying maps them)");
	expect_refs(p, "dev", NULL, DIGEST, REFS("keychain=k-prod"),
		"connections: keychain k-prod belongs to environment 'prod': it is prod's id for keychain 7, "
		"but blueprints in git hold the source environment's ids (deploying maps them)");
	/* the same id of another kind is not foreign: kinds are separate */
	expect_refs(p, "prod", NULL, DIGEST, REFS("keychain=3002"),
		"connections: keychain 3002 is not catalogued in the reference map of prod (references.keychain): "
		"this change reaches it");
	/* no environment known (a local commit), or one the policy does not have: every environment with a map */
	expect_refs(p, NULL, NULL, DIGEST, REFS("connection=1002"), "");
	expect_refs(p, NULL, NULL, DIGEST, REFS("connection=1003"),
		"connections: connection 1003 is not catalogued in the reference map of dev (references.account): "
		"this change reaches it");
	expect_refs(p, "qa", NULL, DIGEST, REFS("connection=1003"),
		"connections: connection 1003 is not catalogued in the reference map of dev (references.account): "
		"this change reaches it");
	expect_refs(p, NULL, NULL, DIGEST, REFS("datastructure=9"),
		"connections: datastructure 9 is not catalogued in the reference maps of dev, prod (references.udt): "
		"this change reaches them");
	/* webhooks through the hook map (string ids too); scenario references are not mapped */
	expect_refs(p, "dev", NULL, DIGEST, REFS("webhook=1101", "scenario=55"),
		"connections: webhook 1101 is not catalogued in the reference map of prod (references.hook): "
		"this change reaches it");
	/* sandbox reaches only itself and has no map: ids as they are, no catalog list for it */
	expect_refs(p, "sandbox", NULL, CRM, REFS("connection=4242"), "");
	/* an uncatalogued blueprint's ids are checked against the maps too */
	expect_refs(p, "prod", NULL, "scenarios/other/x.blueprint.json", REFS("connection=3001"),
		"catalogued: blueprint is not in the scenario catalog | "
		"connections: connection 3001 belongs to environment 'prod': it is prod's id for connection 1001, "
		"but blueprints in git hold the source environment's ids (deploying maps them)");
	bpg_policy_free(p);
}
