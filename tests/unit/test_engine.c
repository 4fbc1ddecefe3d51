/* Unit tests for the policy engine: position index, loader errors, every
 * rule accepted and refused on facts written as JSON, ordering, reports,
 * policy tests, and allocation failure. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/jsonloc.h"
#include "bpgate/policy.h"
#include "bpgate/report.h"

/* ---- jsonloc -------------------------------------------------------------- */

static void loc(const char *text, const char *ptr, bool key, unsigned line, unsigned col)
{
	bpg_jsonloc l;
	bpg_error err;
	int rc = bpg_jsonloc_find(&l, text, strlen(text), ptr, key, &err);
	cr_assert_eq(rc, 0, "%s: %s", ptr, err.message);
	cr_assert_eq(l.line, line, "%s: line %u, expected %u", ptr, l.line, line);
	cr_assert_eq(l.column, col, "%s: column %u, expected %u", ptr, l.column, col);
}

Test(engine, jsonloc_finds_values_and_keys)
{
	const char *t = "{\n  \"a\": [1, {\"b~/c\": \"x\"}],\n  \"d\\u00e9\": {\"e\": true},\n  \"é\": 5\n}";
	loc(t, "", false, 1, 1);
	loc(t, "/a", false, 2, 8);
	loc(t, "/a", true, 2, 3);
	loc(t, "/a/0", false, 2, 9);
	loc(t, "/a/1/b~0~1c", false, 2, 21);
	loc(t, "/a/1/b~0~1c", true, 2, 13);
	loc(t, "/d\xc3\xa9/e", false, 3, 20); /* key written with a \\u escape */
	loc(t, "/\xc3\xa9", false, 4, 8); /* columns count characters, not bytes */
	bpg_jsonloc l;
	cr_assert_eq(bpg_jsonloc_find(&l, t, strlen(t), "/a/2", false, NULL), BPG_ENOTFOUND);
	cr_assert_eq(bpg_jsonloc_find(&l, t, strlen(t), "/zz", false, NULL), BPG_ENOTFOUND);
	cr_assert_eq(bpg_jsonloc_find(&l, t, strlen(t), "/a/01", false, NULL), BPG_ENOTFOUND);
	cr_assert_eq(bpg_jsonloc_find(&l, t, strlen(t), "a", false, NULL), BPG_EINVALID);
	cr_assert_eq(bpg_jsonloc_find(&l, "{\"a\": [", 7, "/a/0", false, NULL), BPG_EINVALID);
}

Test(engine, jsonloc_skips_bom_and_deep_nesting_without_recursion)
{
	size_t depth = 200000;
	char *t = malloc(depth * 2 + 32);
	size_t n = 0;
	memcpy(t, "\xEF\xBB\xBF{\"x\": ", 9), n = 9;
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		t[n++] = ']';
	memcpy(t + n, ", \"y\": 2}", 10);
	n += 9;
	bpg_jsonloc l;
	cr_assert_eq(bpg_jsonloc_find(&l, t, n, "/y", false, NULL), 0);
	cr_assert_eq(l.offset, n - 2);
	free(t);
}

/* ---- loading ---------------------------------------------------------------- */

static const char *policy_text =
	"{\n"
	"  \"version\": 1,\n"
	"  \"environments\": {\n"
	"    \"dev\": {\"branch\": \"refs/heads/dev\"},\n"
	"    \"prod\": {\"branch\": \"refs/heads/main\", \"promotes_from\": \"dev\"}\n"
	"  },\n"
	"  \"roles\": {\"releasers\": [\"erin\"]},\n"
	"  \"risk_tiers\": [\"low\", \"high\"],\n"
	"  \"paths\": {\"blueprints\": [\"scenarios/**/*.json\"], \"fixtures\": [\"fixtures/**\"]},\n"
	"  \"catalog\": [\n"
	"    {\"id\": \"crm\", \"paths\": [\"scenarios/crm/**\"], \"owner\": \"alice\", \"risk\": \"high\",\n"
	"     \"data_classes\": [\"PII\"], \"contracts\": [\"contact\"],\n"
	"     \"connections\": {\"dev\": [\"1\"], \"prod\": [\"3\"]}, \"webhooks\": {\"dev\": [\"11\"]},\n"
	"     \"exceptions\": [{\"rule\": \"writeback-dlq\", \"reason\": \"replayed upstream\", \"ticket\": \"CHG-1\",\n"
	"                     \"expires\": \"2025-12-31\"}]},\n"
	"    {\"id\": \"ro\", \"paths\": [\"scenarios/ro/**\"], \"owner\": \"bob\", \"risk\": \"low\"}\n"
	"  ],\n"
	"  \"rules\": {\"schema-drift\": {\"mode\": \"enforce\", \"severity\": \"warning\"}}\n"
	"}\n";

static const char *contract_text =
	"{\"id\": \"contact\", \"system\": \"crm\", \"object\": \"contact\",\n"
	" \"match\": {\"modules\": [\"crm:create*\"], \"parameters\": {\"object\": \"contact\"}},\n"
	" \"key_fields\": [\"email\"], \"required_fields\": [\"name\"],\n"
	" \"fields\": {\"stage\": {\"enum\": [\"lead\", \"customer\"]}, \"score\": {\"minimum\": 0, \"maximum\": 10}},\n"
	" \"consent\": {\"required\": true, \"field\": \"basis\"}}\n";

static bpg_policy *load_texts(const char *pol, const char *contract, int want_rc, char *first, size_t n)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", pol, strlen(pol), &err), 0);
	if (contract)
		cr_assert_eq(bpg_policy_files_add(files, "contracts/contact.json", contract, strlen(contract), &err), 0);
	int rc = bpg_policy_load(&p, NULL, files, &err);
	cr_assert_eq(rc, want_rc, "load: %d %s", rc, err.message);
	if (first)
		snprintf(first, n, "%s", rc == 0 ? "" : err.message);
	bpg_policy_files_free(files);
	return p;
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	cr_assert(at, "'%s' not in text", from);
	char *out = malloc(strlen(s) + strlen(to) + 1);
	size_t pre = (size_t)(at - s);
	memcpy(out, s, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	return out;
}

Test(engine, loads_a_valid_policy)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	cr_assert_not_null(p);
	cr_assert_eq(bpg_policy_test_count(p), 0);
	bpg_policy_free(p);
	bpg_policy_free(NULL);
}

Test(engine, unknown_key_is_an_error_with_position)
{
	char msg[1024];
	char *t = replace(policy_text, "\"risk_tiers\"", "\"risk_tier\"");
	load_texts(t, contract_text, BPG_EINVALID, msg, sizeof(msg));
	cr_assert_str_eq(msg, ".bpgate/policy.json:1:1: missing required key 'risk_tiers' in the object at '' "
		"(and 3 more problems)");
	free(t);
}

Test(engine, every_problem_is_listed_in_order)
{
	char *t = replace(policy_text, "\"mode\": \"enforce\", \"severity\"", "\"mode\": \"enforce\", \"severty\"");
	char *u = replace(t, "\"owner\": \"bob\"", "\"owner\": \"bob\", \"ownr\": 1");
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_error err;
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", u, strlen(u), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "contracts/contact.json", contract_text, strlen(contract_text), &err), 0);
	cr_assert_eq(bpg_policy_load(&p, &diags, files, &err), BPG_EINVALID);
	cr_assert_null(p);
	cr_assert_eq(bpg_diags_count(diags), 2);
	cr_assert_eq(bpg_diag_format(&b, bpg_diags_get(diags, 0)), 0);
	cr_assert_str_eq(b.ptr, ".bpgate/policy.json:16:64: unknown key 'ownr' at '/catalog/1/ownr'; expected one of: "
		"id, paths, name, owner, risk, data_classes, writes_to, contracts, connections, webhooks, exceptions, description, "
		"blueprint, make");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_diag_format(&b, bpg_diags_get(diags, 1)), 0);
	cr_assert_str_eq(b.ptr, ".bpgate/policy.json:18:49: unknown key 'severty' at '/rules/schema-drift/severty'; "
		"expected one of: severity (rule schema-drift)");
	bpg_buf_dispose(&b);
	bpg_diags_free(diags);
	bpg_policy_files_free(files);
	free(t);
	free(u);
}

Test(engine, syntax_and_reference_errors)
{
	char msg[1024];
	char *t = replace(policy_text, "\"version\": 1,", "\"version\": 1, \"version\": 1,");
	load_texts(t, contract_text, BPG_EINVALID, msg, sizeof(msg));
	cr_assert_str_eq(msg, ".bpgate/policy.json:2:25: not valid JSON: duplicate object key near '\"version\"'");
	free(t);
	/* without the contract the catalog's reference dangles */
	load_texts(policy_text, NULL, BPG_EINVALID, msg, sizeof(msg));
	cr_assert_str_eq(msg, ".bpgate/policy.json:12:45: no data contract with id \"contact\" in contracts/");
	t = replace(policy_text, "\"rule\": \"writeback-dlq\"", "\"rule\": \"writeback-dlx\"");
	load_texts(t, contract_text, BPG_EINVALID, msg, sizeof(msg));
	cr_assert_str_eq(msg, ".bpgate/policy.json:14:30: exception names rule \"writeback-dlx\", which does not exist; "
		"see 'bpgate policy rules'");
	free(t);
	t = replace(policy_text, "\"mode\": \"enforce\"", "\"mode\": \"on\"");
	load_texts(t, contract_text, BPG_EINVALID, msg, sizeof(msg));
	cr_assert_str_eq(msg, ".bpgate/policy.json:18:38: expected one of enforce, warn, off at '/rules/schema-drift/mode', "
		"found \"on\" (rule schema-drift)");
	free(t);
}

Test(engine, missing_policy_and_stray_files)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	cr_assert_eq(bpg_policy_files_new(&files, "", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "../x", "{}", 2, &err), BPG_EINVALID);
	cr_assert_eq(bpg_policy_files_add(files, "notes.txt", "hi", 2, &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "notes.txt", "hi", 2, &err), BPG_EINVALID);
	cr_assert_eq(bpg_policy_load(&p, NULL, files, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, ".: policy.json is missing; copy one from a pack (bpgate init --pack regulated) "
		"(and 1 more problem)");
	bpg_policy_files_free(files);
}

/* ---- evaluation -------------------------------------------------------------- */

static bpg_decision *eval_text(const bpg_policy *p, const char *facts_text)
{
	json_error_t je;
	json_t *facts = json_loads(facts_text, JSON_REJECT_DUPLICATES, &je);
	bpg_decision *d = NULL;
	bpg_error err;
	cr_assert_not_null(facts, "facts: %s at %d:%d", je.text, je.line, je.column);
	int rc = bpg_evaluate(&d, p, facts, &err);
	cr_assert_eq(rc, 0, "evaluate: %s", err.message);
	json_decref(facts);
	return d;
}

/* "rule@file#pointer:severity:blocking" per finding, joined by '|'. */
static void summary(char *out, size_t n, const bpg_decision *d)
{
	out[0] = '\0';
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s@%s#%s:%s%s", i ? "|" : "", f->rule, f->file ? f->file : "",
			f->pointer ? f->pointer : "", bpg_severity_name(f->severity), f->blocking ? ":B" : "");
	}
}

#define FACTS_HEAD "{\"time\": \"2025-06-01T00:00:00Z\", \"context\": \"check\", \"environment\": \"dev\", "
#define GOOD_MODULE(conn, mapper) \
	"{\"id\": 2, \"module\": \"crm:createContact\", \"container\": \"flow\", \"pointer\": \"/flow/1\", " \
	"\"writes\": true, \"has_error_handler\": true, \"error_directive\": \"builtin:Break\", " \
	"\"refs\": [{\"kind\": \"connection\", \"key\": \"__IMTCONN__\", \"value\": \"" conn "\", " \
	"\"pointer\": \"/flow/1/parameters/__IMTCONN__\"}], " \
	"\"literals\": [{\"pointer\": \"/flow/1/parameters/object\", \"value\": \"contact\"}], \"mapper\": " mapper "}"
#define OK_MAPPER "{\"email\": \"{{1.email}}\", \"name\": \"{{1.name}}\", \"basis\": \"{{1.b}}\", \"stage\": \"lead\", \"score\": 3}"

static void expect(const bpg_policy *p, const char *facts, bool refused, const char *want)
{
	char got[4096];
	bpg_decision *d = eval_text(p, facts);
	summary(got, sizeof(got), d);
	cr_assert_str_eq(got, want);
	cr_assert_eq(bpg_decision_refused(d), refused, "decision for %s", want);
	bpg_decision_free(d);
}

Test(engine, blueprint_rules_accept_and_refuse)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	const char *good = FACTS_HEAD "\"files\": [{\"path\": \"scenarios/crm/a.json\", \"status\": \"added\", "
		"\"blueprint\": {\"settings\": {\"dlq\": true, \"confidential\": true}, \"modules\": ["
		GOOD_MODULE("1", OK_MAPPER) "]}}]}";
	expect(p, good, false, "high-risk@scenarios/crm/a.json#:info");

	const char *bad = FACTS_HEAD "\"files\": [{\"path\": \"scenarios/crm/a.json\", \"status\": \"added\", "
		"\"blueprint\": {\"settings\": {\"dlq\": false}, \"modules\": ["
		GOOD_MODULE("3", "{\"stage\": \"prospect\", \"score\": 11, \"email\": \"\"}") "]}},"
		"{\"path\": \"scenarios/new/b.json\", \"status\": \"added\", \"blueprint\": {\"modules\": []}},"
		"{\"path\": \"scenarios/ro/c.json\", \"status\": \"modified\", \"parse_error\": {\"message\": \"bad\", \"line\": 3, \"column\": 4}}]}";
	/* dlq passes through the documented exception (expires 2025-12-31) */
	expect(p, bad, true,
		"confidential@scenarios/crm/a.json#/metadata/scenario/confidential:error:B"
		"|connections@scenarios/crm/a.json#/flow/1/parameters/__IMTCONN__:error:B"
		"|data-contract@scenarios/crm/a.json#/flow/1:error:B"
		"|data-contract@scenarios/crm/a.json#/flow/1:error:B"
		"|data-contract@scenarios/crm/a.json#/flow/1:error:B"
		"|data-contract@scenarios/crm/a.json#/flow/1/mapper/score:error:B"
		"|data-contract@scenarios/crm/a.json#/flow/1/mapper/stage:error:B"
		"|high-risk@scenarios/crm/a.json#:info"
		"|catalogued@scenarios/new/b.json#:error:B"
		"|blueprint-parses@scenarios/ro/c.json#:error:B");

	/* one day after the exception expires, dlq is enforced */
	char *later = replace(bad, "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z");
	bpg_decision *d = eval_text(p, later);
	bool seen = false;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++)
		seen |= strcmp(bpg_decision_finding(d, i)->rule, "writeback-dlq") == 0;
	cr_assert(seen);
	bpg_decision_free(d);
	free(later);

	/* a write without a handler, and one that ignores its errors */
	const char *eh = FACTS_HEAD "\"files\": [{\"path\": \"scenarios/ro/x.json\", \"status\": \"added\", "
		"\"blueprint\": {\"settings\": {\"dlq\": true}, \"modules\": ["
		"{\"id\": 5, \"module\": \"x:update\", \"pointer\": \"/flow/0\", \"writes\": true, \"has_error_handler\": false},"
		"{\"id\": 6, \"module\": \"x:update\", \"pointer\": \"/flow/1\", \"writes\": true, \"has_error_handler\": true, \"error_directive\": \"builtin:Ignore\"},"
		"{\"id\": 7, \"module\": \"x:update\", \"pointer\": \"/flow/2\", \"writes\": true, \"container\": \"orphan\"}]}}]}";
	expect(p, eh, true, "writeback-error-handling@scenarios/ro/x.json#/flow/0:error:B"
		"|writeback-error-handling@scenarios/ro/x.json#/flow/1:error:B");
	bpg_policy_free(p);
}

Test(engine, change_template_scan_and_bundles)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	const char *f = FACTS_HEAD "\"commits\": ["
		"{\"id\": \"c1\", \"paths\": [\"scenarios/ro/a.json\"], \"trailers\": {\"purpose\": \"x\", \"Risk\": \"low\", \"Test-Plan\": \"t\", \"Rollback\": \"r\"}},"
		"{\"id\": \"c2\", \"paths\": [\"scenarios/ro/a.json\"], \"trailers\": {\"Purpose\": \"x\", \"Risk\": \"high\", \"Test-Plan\": \"\", \"Rollback\": \"r\"}},"
		"{\"id\": \"c3\", \"paths\": [\"docs/x.md\"], \"trailers\": {}}],"
		"\"files\": [{\"path\": \"fixtures/a.csv\", \"status\": \"added\", \"scan_findings\": ["
		"{\"rule\": \"email\", \"line\": 2, \"column\": 5, \"masked\": \"ja**om\", \"fingerprint\": \"f1\"},"
		"{\"rule\": \"iban\", \"masked\": \"GB**00\", \"synthetic\": true, \"fingerprint\": \"f2\"}]},"
		"{\"path\": \"docs/a.md\", \"status\": \"added\", \"scan_findings\": [{\"rule\": \"email\"}]}],"
		"\"bundles\": [{\"path\": \"r/1.bundle.json\", \"ok\": true, \"signer\": \"erin\"},"
		"{\"path\": \"r/2.bundle.json\", \"ok\": true, \"signer\": \"mallory\"},"
		"{\"path\": \"r/3.bundle.json\", \"ok\": false, \"problems\": [\"hash mismatch\"]}]}";
	bpg_decision *d = eval_text(p, f);
	char got[4096];
	summary(got, sizeof(got), d);
	cr_assert_str_eq(got,
		"change-template@#:error:B|change-template@#:error:B|high-risk@#:info"
		"|scan-findings@fixtures/a.csv#:error:B"
		"|bundle-signed@r/2.bundle.json#:error:B|bundle-signed@r/3.bundle.json#:error:B");
	const bpg_finding *x = bpg_decision_finding(d, 0);
	cr_assert_str_eq(x->commit, "c2");
	cr_assert_str_eq(x->message, "commit changes blueprints but its message has no 'Test-Plan:' trailer");
	cr_assert_str_eq(bpg_decision_finding(d, 1)->message,
		"high-risk change (Risk: high) without a 'UAT-Evidence:' trailer naming its UAT evidence");
	x = bpg_decision_finding(d, 3);
	cr_assert_str_eq(x->message, "email found (ja**om), fingerprint f1");
	cr_assert_eq(x->line, 2);
	cr_assert_str_eq(bpg_decision_finding(d, 4)->message, "bundle signed by 'mallory', who is not in role 'releasers'");
	bpg_decision_free(d);
	bpg_policy_free(p);
}

Test(engine, warn_mode_reports_without_refusing_and_drift_is_marked)
{
	char *t = replace(policy_text, "\"rules\": {", "\"rules\": {\"catalogued\": {\"mode\": \"warn\"}, ");
	bpg_policy *p = load_texts(t, contract_text, 0, NULL, 0);
	expect(p, FACTS_HEAD "\"files\": [{\"path\": \"scenarios/zz/a.json\", \"status\": \"added\"}]}", false,
		"catalogued@scenarios/zz/a.json#:error");
	expect(p, FACTS_HEAD "\"files\": [{\"path\": \".bpgate/contracts/contact.json\", \"status\": \"modified\", "
		"\"old_contract\": {\"id\": \"contact\", \"key_fields\": [\"email\"], \"required_fields\": [\"name\"]}, "
		"\"contract\": {\"id\": \"contact\", \"key_fields\": [\"id\"], \"required_fields\": [\"name\"]}}]}", false,
		"schema-drift@.bpgate/contracts/contact.json#/key_fields:warning");
	bpg_policy_free(p);
	free(t);
}

Test(engine, order_is_deterministic)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	const char *a = FACTS_HEAD "\"files\": [{\"path\": \"scenarios/b/x.json\", \"status\": \"added\"},"
		"{\"path\": \"scenarios/a/x.json\", \"status\": \"added\", \"scan_findings\": [{\"rule\": \"r\", \"pointer\": \"/flow/10\"},"
		"{\"rule\": \"r\", \"pointer\": \"/flow/9\"}]}]}";
	const char *b = FACTS_HEAD "\"files\": [{\"path\": \"scenarios/a/x.json\", \"status\": \"added\", \"scan_findings\": "
		"[{\"rule\": \"r\", \"pointer\": \"/flow/9\"}, {\"rule\": \"r\", \"pointer\": \"/flow/10\"}]},"
		"{\"path\": \"scenarios/b/x.json\", \"status\": \"added\"}]}";
	const char *want = "catalogued@scenarios/a/x.json#:error:B|scan-findings@scenarios/a/x.json#/flow/9:error:B"
		"|scan-findings@scenarios/a/x.json#/flow/10:error:B|catalogued@scenarios/b/x.json#:error:B";
	expect(p, a, true, want);
	expect(p, b, true, want);
	bpg_policy_free(p);
}

Test(engine, malformed_facts_fail_closed)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	const char *cases[][2] = {
		{ "{\"context\": \"check\"}", "invalid facts: missing required key 'time' in the object at ''" },
		{ "{\"time\": \"yesterday\", \"context\": \"check\"}",
		  "invalid facts: expected an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ) at '/time', found a string" },
		{ FACTS_HEAD "\"files\": [{\"path\": \"a\", \"status\": \"moved\"}]}",
		  "invalid facts: expected one of added, modified, deleted, renamed at '/files/0/status', found \"moved\"" },
		{ FACTS_HEAD "\"comits\": []}",
		  "invalid facts: unknown key 'comits' at '/comits'; expected one of: time, context, repository, repository_id, pusher, "
		  "push_options, environment, refs, commits, files, bundles, approvals, extra" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *facts = json_loads(cases[i][0], 0, NULL);
		bpg_decision *d = NULL;
		bpg_error err;
		cr_assert_not_null(facts);
		cr_assert_eq(bpg_evaluate(&d, p, facts, &err), BPG_EINVALID);
		cr_assert_null(d);
		cr_assert_str_eq(err.message, cases[i][1]);
		json_decref(facts);
	}
	bpg_policy_free(p);
}

Test(engine, policy_tests_run_and_explain_mismatches)
{
	const char *test =
		"{\"name\": \"uncatalogued\", \"facts\": " FACTS_HEAD "\"files\": [{\"path\": \"scenarios/zz/a.json\", \"status\": \"added\"}]},"
		" \"expect\": {\"decision\": \"accept\", \"findings\": [{\"rule\": \"connections\"}]}}";
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	bpg_buf why = BPG_BUF_INIT;
	bool ok = true;
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", policy_text, strlen(policy_text), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "contracts/contact.json", contract_text, strlen(contract_text), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "tests/t1.json", test, strlen(test), &err), 0);
	cr_assert_eq(bpg_policy_load(&p, NULL, files, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_test_count(p), 1);
	cr_assert_str_eq(bpg_policy_test_name(p, 0), "tests/t1.json: uncatalogued");
	cr_assert_eq(bpg_policy_test_run(&ok, &why, p, 0, &err), 0);
	cr_assert_not(ok);
	cr_assert_str_eq(why.ptr, "  expected decision accept, got refuse\n"
		"  missing expected finding {\"rule\":\"connections\"}\n"
		"  unexpected finding catalogued error scenarios/zz/a.json: blueprint is not in the scenario catalog\n");
	bpg_buf_dispose(&why);
	bpg_policy_free(p);
	bpg_policy_files_free(files);

	/* a test whose facts are malformed is a policy problem, located in its file */
	char *bad = replace(test, "\"status\": \"added\"", "\"status\": 1");
	cr_assert_eq(bpg_policy_files_new(&files, ".bpgate", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", policy_text, strlen(policy_text), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "contracts/contact.json", contract_text, strlen(contract_text), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "tests/t1.json", bad, strlen(bad), &err), 0);
	cr_assert_eq(bpg_policy_load(&p, NULL, files, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, ".bpgate/tests/t1.json:1:162: expected one of added, modified, deleted, renamed "
		"at '/facts/files/0/status', found an integer");
	bpg_policy_files_free(files);
	free(bad);
}

Test(engine, reports_render_json_sarif_and_text)
{
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	bpg_decision *d = eval_text(p, FACTS_HEAD "\"files\": [{\"path\": \"scenarios/zz/\\u001b[2Ja.json\", \"status\": \"added\"}]}");
	json_t *j = NULL, *s = NULL;
	bpg_error err;
	cr_assert_eq(bpg_decision_to_json(&j, d, &err), 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "decision")), "refuse");
	cr_assert_eq(json_integer_value(json_object_get(j, "errors")), 1);
	cr_assert_eq(json_array_size(json_object_get(j, "rules")), bpg_rule_count());
	cr_assert_eq(bpg_decision_to_sarif(&s, d, &err), 0);
	cr_assert_str_eq(json_string_value(json_object_get(s, "version")), "2.1.0");
	json_t *res = json_array_get(json_object_get(json_array_get(json_object_get(s, "runs"), 0), "results"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(res, "ruleId")), "catalogued");
	cr_assert_str_eq(json_string_value(json_object_get(res, "level")), "error");
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_report_text(&b, d, NULL, &err), 0);
	cr_assert_str_eq(b.ptr, "scenarios/zz/\\x1b[2Ja.json: error [catalogued]: blueprint is not in the scenario catalog\n"
		"  fix: add a catalog entry in .bpgate/policy.json (id, paths, owner, risk, data_classes) whose paths glob "
		"matches this file\nrefused: 1 error, 0 warnings, 0 info\n");
	bpg_buf_dispose(&b);
	json_decref(j);
	json_decref(s);
	bpg_decision_free(d);
	bpg_policy_free(p);
}

/* ---- allocation failure ------------------------------------------------------ */

static long chaos_left;
static void *chaos_malloc(size_t n)
{
	if (chaos_left-- == 0)
		return NULL;
	return malloc(n);
}

/* jansson 2.14 itself crashes when an allocation fails inside json_loadb, so
 * the loader is not run under chaos; evaluation and rendering are. */
Test(engine, allocation_failures_never_crash)
{
	int successes = 0;
	bpg_policy *p = load_texts(policy_text, contract_text, 0, NULL, 0);
	json_t *facts = json_loads(FACTS_HEAD "\"files\": [{\"path\": \"scenarios/zz/a.json\", \"status\": \"added\"},"
		"{\"path\": \".bpgate/contracts/contact.json\", \"status\": \"modified\", "
		"\"old_contract\": {\"id\": \"contact\", \"key_fields\": [\"email\"]}, \"contract\": {\"key_fields\": []}}]}", 0, NULL);
	cr_assert_not_null(facts);
	for (long n = 0; n < 4000 && successes < 2; n++) {
		bpg_decision *d = NULL;
		json_t *j = NULL, *s = NULL;
		bpg_error err;
		chaos_left = n;
		json_set_alloc_funcs(chaos_malloc, free);
		int rc = bpg_evaluate(&d, p, facts, &err);
		if (rc == 0)
			rc = bpg_decision_to_json(&j, d, &err);
		if (rc == 0)
			rc = bpg_decision_to_sarif(&s, d, &err);
		json_set_alloc_funcs(malloc, free);
		cr_assert(rc == 0 || rc == BPG_ENOMEM, "n=%ld rc=%d", n, rc);
		if (rc == 0) {
			cr_assert(bpg_decision_refused(d));
			successes++;
		}
		json_decref(j);
		json_decref(s);
		bpg_decision_free(d);
	}
	cr_assert(successes > 0);
	json_decref(facts);
	bpg_policy_free(p);
}

/* The catalog lookups every front end shares: first entry whose globs match
 * wins, ids match exactly, and odd input is a NULL, never a crash. */
Test(engine, catalog_match_and_find)
{
	json_error_t jerr;
	json_t *p = json_loads("{\"catalog\": ["
		"{\"id\": \"crm\", \"paths\": [\"scenarios/crm/**\", 7]},"
		"{\"id\": \"all\", \"paths\": [\"scenarios/**\"]},"
		"{\"paths\": [\"loose/*.json\"]},"
		"{\"id\": \"odd\", \"paths\": \"odd/x\"}]}", 0, &jerr), *empty = json_array();

	cr_assert_not_null(p, "%s", jerr.text);
	cr_assert_str_eq(json_string_value(json_object_get(bpg_catalog_match(p, "scenarios/crm/a.blueprint.json"), "id")),
		"crm");
	cr_assert_str_eq(json_string_value(json_object_get(bpg_catalog_match(p, "scenarios/hr/b.blueprint.json"), "id")),
		"all");
	cr_assert_not_null(bpg_catalog_match(p, "loose/c.json"));
	cr_assert_null(json_object_get(bpg_catalog_match(p, "loose/c.json"), "id"));
	cr_assert_null(bpg_catalog_match(p, "elsewhere/d.json"));
	cr_assert_null(bpg_catalog_match(p, "odd/x"), "a paths string is not a list of globs");
	cr_assert_null(bpg_catalog_match(p, NULL));
	cr_assert_eq(bpg_catalog_find(p, "all"), json_array_get(json_object_get(p, "catalog"), 1));
	cr_assert_null(bpg_catalog_find(p, "al"));
	cr_assert_null(bpg_catalog_find(p, NULL));
	cr_assert_null(bpg_catalog_find(NULL, "crm"));
	cr_assert_null(bpg_catalog_match(empty, "scenarios/crm/a"));
	json_decref(empty);
	json_decref(p);
}

/* ---- who may approve (bpg_policy_approval_admit) ------------------------------ */

Test(engine, approval_admission_roles_and_bound)
{
	char *t1 = replace(policy_text, "\"roles\": {\"releasers\": [\"erin\"]}",
		"\"roles\": {\"releasers\": [\"erin\"], \"reviewers\": [\"carol\"], \"cab\": [\"frank\"], \"admins\": [\"grace\"]}");
	char *t2 = replace(t1, "\"dev\": {\"branch\": \"refs/heads/dev\"}",
		"\"dev\": {\"branch\": \"refs/heads/dev\"}, \"stage\": {\"branch\": \"refs/heads/stage\", \"protected\": true}");
	char *t3 = replace(t2, "\"rules\": {",
		"\"rules\": {\"server-refs\": {\"max_approvals_per_tree\": 2}, "
		"\"approvals\": {\"required\": {\"prod\": {\"default\": {\"reviewers\": 1}}}}, "
		"\"break-glass-overdue\": {\"environments\": []}, ");
	bpg_policy *p = load_texts(t3, contract_text, 0, NULL, 0);
	bpg_error err;

	/* prod: reviewers (required); cab is not required there; prod is not protected here */
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "carol", 0, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "carol", 1, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "carol", 2, &err), BPG_ETOOBIG);
	cr_assert_str_eq(err.message, "carol already has 2 approval(s) of this tree for prod: the limit is 2 "
		"(server-refs max_approvals_per_tree)");
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "frank", 0, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "frank may not approve for prod: only the roles reviewers do, and frank holds "
		"none of them");
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "erin", 0, &err), BPG_EINVALID);
	/* stage: protected, so admins approve policy changes there; nothing else is required */
	cr_assert_eq(bpg_policy_approval_admit(p, "stage", "grace", 0, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_approval_admit(p, "stage", "carol", 0, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "carol may not approve for stage: only the roles admins do, and carol holds "
		"none of them");
	/* dev: no role approves; unknown environments and principals neither */
	cr_assert_eq(bpg_policy_approval_admit(p, "dev", "grace", 0, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "grace may not approve for dev: no role approves for that environment in the policy");
	cr_assert_eq(bpg_policy_approval_admit(p, "qa", "carol", 0, &err), BPG_EINVALID);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "", 0, &err), BPG_EINVALID);
	cr_assert_eq(bpg_policy_approval_admit(p, NULL, "carol", 0, &err), BPG_EINVALID);
	bpg_policy_free(p);

	/* break-glass-overdue on prod (its default): every approving role approves there, retroactively */
	char *t4 = replace(t3, "\"break-glass-overdue\": {\"environments\": []}, ", "");
	p = load_texts(t4, contract_text, 0, NULL, 0);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "frank", 0, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "grace", 0, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_policy_approval_admit(p, "prod", "erin", 0, &err), BPG_EINVALID);
	bpg_policy_free(p);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
}
