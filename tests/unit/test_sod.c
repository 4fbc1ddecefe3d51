/*
 * segregation-of-duties parameters the shipped pack does not switch on
 * (its policy tests cover the defaults): unknown_provenance "claims" and
 * require_signed_commits. The pack's policy with the rule's parameters
 * replaced, evaluated over the facts of the pack's own policy tests.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpg_config.h"
#include "bpgate/policy.h"

#define PACK BPG_SOURCE_ROOT "/policy/packs/regulated"

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	return j;
}

/* The pack's policy with segregation-of-duties set to `sod` (JSON text). */
static bpg_policy *pack_with(const char *sod, int want_rc)
{
	bpg_policy_files *files = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	json_error_t je;
	json_t *pol = load_json(PACK "/policy.json"), *contract = load_json(PACK "/contracts/hubspot-contact.json");
	json_t *rule = json_loads(sod, 0, &je);
	cr_assert_not_null(rule, "%s", je.text);
	json_object_set_new(json_object_get(pol, "rules"), "segregation-of-duties", rule);
	char *pt = json_dumps(pol, 0), *ct = json_dumps(contract, 0);
	cr_assert_eq(bpg_policy_files_new(&files, "", &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "policy.json", pt, strlen(pt), &err), 0);
	cr_assert_eq(bpg_policy_files_add(files, "contracts/hubspot-contact.json", ct, strlen(ct), &err), 0);
	int rc = bpg_policy_load(&p, NULL, files, &err);
	cr_assert_eq(rc, want_rc, "load: %s", err.message);
	free(pt);
	free(ct);
	json_decref(pol);
	json_decref(contract);
	bpg_policy_files_free(files);
	return p;
}

/* The facts of one of the pack's policy tests (new reference). */
static json_t *facts_of(const char *test)
{
	char path[512];
	snprintf(path, sizeof(path), PACK "/tests/%s", test);
	json_t *t = load_json(path), *f = json_incref(json_object_get(t, "facts"));
	json_decref(t);
	return f;
}

/* "severity:message" of every finding, joined by '|'. */
static void expect(const bpg_policy *p, const json_t *facts, bool refused, const char *want)
{
	bpg_decision *d = NULL;
	bpg_error err;
	char got[4096] = "";
	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		size_t l = strlen(got);
		snprintf(got + l, sizeof(got) - l, "%s%s:%s:%s", i ? "|" : "", f->rule, bpg_severity_name(f->severity),
			f->message);
	}
	cr_assert_str_eq(got, want);
	cr_assert_eq(bpg_decision_refused(d), refused);
	bpg_decision_free(d);
}

static json_t *commit0(json_t *facts)
{
	return json_array_get(json_object_get(facts, "commits"), 0);
}

Test(sod, unknown_provenance_claims_warns_and_keeps_the_claimed_identities)
{
	bpg_policy *p = pack_with("{\"mode\": \"enforce\", \"unknown_provenance\": \"claims\"}", 0);
	json_t *facts = facts_of("74-server-sod-unknown-provenance.json");
	expect(p, facts, false, "segregation-of-duties:warning:segregation of duties: 1 changed file(s) promoted to prod "
		"have no provenance record (first: scenarios/weekly-digest/notes.md); judged by the commits' claimed "
		"identities only");
	/* a claimed identity still restricts: the approver is the claimed author (mapped by the server) */
	json_object_set_new(json_object_get(commit0(facts), "author"), "principal", json_string("carol"));
	expect(p, facts, true, "approvals:error:prod requires 1 approval(s) from reviewers for a low-risk change of "
		"tree 700000000000 (have 0); carol authored or committed b00000000000 and cannot approve it|"
		"segregation-of-duties:error:segregation of duties: approver carol authored or committed "
		"b00000000000, part of the range promoted to prod|segregation-of-duties:warning:segregation of duties: "
		"1 changed file(s) promoted to prod have no provenance record (first: scenarios/weekly-digest/notes.md); "
		"judged by the commits' claimed identities only");
	json_decref(facts);
	bpg_policy_free(p);
}

Test(sod, unknown_provenance_refuses_by_default)
{
	bpg_policy *p = pack_with("{\"mode\": \"enforce\"}", 0);
	json_t *facts = facts_of("74-server-sod-unknown-provenance.json");
	expect(p, facts, true, "segregation-of-duties:error:segregation of duties: who wrote 1 changed file(s) "
		"promoted to prod is unknown (first: scenarios/weekly-digest/notes.md): the gate fails closed");
	json_decref(facts);
	bpg_policy_free(p);
}

Test(sod, require_signed_commits)
{
	bpg_policy *p = pack_with("{\"mode\": \"enforce\", \"require_signed_commits\": [\"prod\"]}", 0);
	json_t *facts = facts_of("30-server-prod-promotion-ok.json");
	expect(p, facts, true, "segregation-of-duties:error:segregation of duties: 1 of 1 commit(s) promoted to prod "
		"carry no verified SSH signature (first: b00000000000, not signed)");
	json_object_set_new(commit0(facts), "signature", json_pack("{s:b, s:s, s:s}", "verified", 0, "format", "ssh",
		"reason", "no allowed_signers entry for the key"));
	expect(p, facts, true, "segregation-of-duties:error:segregation of duties: 1 of 1 commit(s) promoted to prod "
		"carry no verified SSH signature (first: b00000000000, no allowed_signers entry for the key)");
	json_object_set_new(commit0(facts), "signature", json_pack("{s:b, s:s, s:s, s:s}", "verified", 1, "format",
		"ssh", "principal", "alice", "reason", "good signature"));
	expect(p, facts, false, "");
	/* the signer is a writer: the releaser may not have signed the change */
	json_object_set_new(commit0(facts), "signature", json_pack("{s:b, s:s, s:s, s:s}", "verified", 1, "format",
		"ssh", "principal", "erin", "reason", "good signature"));
	expect(p, facts, true, "segregation-of-duties:error:segregation of duties: the releaser erin signed commit "
		"b00000000000, part of the range promoted to prod");
	json_decref(facts);
	bpg_policy_free(p);
}

Test(sod, stage_not_listed_needs_no_signature)
{
	bpg_policy *p = pack_with("{\"mode\": \"enforce\", \"require_signed_commits\": [\"stage\"]}", 0);
	json_t *facts = facts_of("30-server-prod-promotion-ok.json");
	expect(p, facts, false, "");
	json_decref(facts);
	bpg_policy_free(p);
}

Test(sod, unknown_provenance_mode_is_validated)
{
	bpg_policy *p = pack_with("{\"mode\": \"enforce\", \"unknown_provenance\": \"ignore\"}", BPG_EINVALID);
	cr_assert_null(p);
}
