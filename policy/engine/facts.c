/*
 * The facts format (documented in bpgate-policy(5)): the shape gathering
 * produces and policy tests write by hand. Top-level and per-entry keys are
 * strict (a misspelt fact would silently read as "absent"); the blueprint
 * model, diff and contract contents are owned by their modules and checked
 * by the rules that read them.
 */
#include "engine.h"

#include <string.h>

static const char *const contexts[] = { "pre-commit", "commit-msg", "pre-push", "pre-receive", "check", NULL };
static const bpg_schema context_s = { SK_ENUM, NULL, NULL, contexts };
static const char *const statuses[] = { "added", "modified", "deleted", "renamed", NULL };
static const bpg_schema status_s = { SK_ENUM, NULL, NULL, statuses };

static const bpg_sfield ref_fields[] = {
	{ "name", &bpg_s_nonempty, true, NULL },
	{ "old", &bpg_s_string, false, NULL },
	{ "new", &bpg_s_string, false, NULL },
	{ "environment", &bpg_s_nullstr, false, NULL },
	{ "fast_forward", &bpg_s_bool, false, NULL },
	{ "deleted", &bpg_s_bool, false, NULL },
	{ "created", &bpg_s_bool, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema ref_s = { SK_OBJECT, ref_fields, NULL, NULL };
static const bpg_schema refs_s = { SK_ARRAY, NULL, &ref_s, NULL };

static const bpg_sfield person_fields[] = {
	{ "name", &bpg_s_string, false, NULL },
	{ "email", &bpg_s_string, false, NULL },
	{ "principal", &bpg_s_nullstr, false, NULL },
	{ "time", &bpg_s_string, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema person_s = { SK_OBJECT, person_fields, NULL, NULL };
static const bpg_sfield signature_fields[] = {
	{ "verified", &bpg_s_bool, true, NULL },
	{ "principal", &bpg_s_nullstr, false, NULL },
	{ "format", &bpg_s_string, false, NULL },
	{ "reason", &bpg_s_string, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema signature_s = { SK_OBJECT, signature_fields, NULL, NULL };
static const bpg_schema trailers_s = { SK_MAP, NULL, &bpg_s_str_or_strings, NULL };
static const bpg_sfield commit_fields[] = {
	{ "id", &bpg_s_string, true, NULL },
	{ "tree", &bpg_s_string, false, NULL },
	{ "parents", &bpg_s_strings, false, NULL },
	{ "author", &person_s, false, NULL },
	{ "committer", &person_s, false, NULL },
	{ "message", &bpg_s_string, false, NULL },
	{ "trailers", &trailers_s, false, NULL },
	{ "signature", &signature_s, false, NULL },
	{ "paths", &bpg_s_strings, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema commit_s = { SK_OBJECT, commit_fields, NULL, NULL };
static const bpg_schema commits_s = { SK_ARRAY, NULL, &commit_s, NULL };

static const bpg_sfield parse_error_fields[] = {
	{ "message", &bpg_s_string, true, NULL },
	{ "line", &bpg_s_int, false, NULL },
	{ "column", &bpg_s_int, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema parse_error_s = { SK_OBJECT, parse_error_fields, NULL, NULL };
static const bpg_sfield scan_fields[] = {
	{ "rule", &bpg_s_nonempty, true, NULL },
	{ "path", &bpg_s_string, false, NULL },
	{ "line", &bpg_s_int, false, NULL },
	{ "column", &bpg_s_int, false, NULL },
	{ "pointer", &bpg_s_nullstr, false, NULL },
	{ "masked", &bpg_s_string, false, NULL },
	{ "synthetic", &bpg_s_bool, false, NULL },
	{ "fingerprint", &bpg_s_string, false, NULL },
	{ "severity", &bpg_s_string, false, NULL },
	{ "confidence", &bpg_s_any, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema scan_s = { SK_OBJECT, scan_fields, NULL, NULL };
static const bpg_schema scans_s = { SK_ARRAY, NULL, &scan_s, NULL };
static const bpg_sfield file_fields[] = {
	{ "path", &bpg_s_nonempty, true, NULL },
	{ "status", &status_s, true, NULL },
	{ "old_path", &bpg_s_string, false, NULL },
	{ "environment", &bpg_s_nullstr, false, NULL },
	{ "blueprint", &bpg_s_object_any, false, NULL },
	{ "old_blueprint", &bpg_s_object_any, false, NULL },
	{ "parse_error", &parse_error_s, false, NULL },
	{ "diff", &bpg_s_object_any, false, NULL },
	{ "scan_findings", &scans_s, false, NULL },
	{ "contract", &bpg_s_object_any, false, NULL },
	{ "old_contract", &bpg_s_object_any, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema file_s = { SK_OBJECT, file_fields, NULL, NULL };
static const bpg_schema files_s = { SK_ARRAY, NULL, &file_s, NULL };

static const bpg_sfield bundle_fields[] = {
	{ "path", &bpg_s_nonempty, true, NULL },
	{ "ok", &bpg_s_bool, true, NULL },
	{ "signer", &bpg_s_nullstr, false, NULL },
	{ "environment", &bpg_s_nullstr, false, NULL },
	{ "problems", &bpg_s_strings, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema bundle_s = { SK_OBJECT, bundle_fields, NULL, NULL };
static const bpg_schema bundles_s = { SK_ARRAY, NULL, &bundle_s, NULL };
/* A signed approval as the server verified it (policy/approval, server rules). */
static const bpg_sfield approval_fields[] = {
	{ "approver", &bpg_s_nonempty, true, NULL },
	{ "environment", &bpg_s_nonempty, true, NULL },
	{ "tree", &bpg_s_nonempty, true, NULL },
	{ "commit", &bpg_s_string, false, NULL },
	{ "time", &bpg_s_time, true, NULL },
	{ "repository", &bpg_s_string, false, NULL },
	{ "repository_id", &bpg_s_string, false, NULL },
	{ "ref", &bpg_s_string, false, NULL },
	{ "verified", &bpg_s_bool, true, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema approval_s = { SK_OBJECT, approval_fields, NULL, NULL };
static const bpg_schema approvals_s = { SK_ARRAY, NULL, &approval_s, NULL };

static const bpg_sfield facts_fields[] = {
	{ "time", &bpg_s_time, true, NULL },
	{ "context", &context_s, true, NULL },
	{ "repository", &bpg_s_string, false, NULL },
	/* the repository's unique id (bpgate.repositoryId / policy "repository_id") */
	{ "repository_id", &bpg_s_string, false, NULL },
	{ "pusher", &bpg_s_nullstr, false, NULL },
	{ "push_options", &bpg_s_strings, false, NULL },
	{ "environment", &bpg_s_nullstr, false, NULL },
	{ "refs", &refs_s, false, NULL },
	{ "commits", &commits_s, false, NULL },
	{ "files", &files_s, false, NULL },
	{ "bundles", &bundles_s, false, NULL },
	{ "approvals", &approvals_s, false, NULL },
	/* room for facts of rules added later (server gate), documented per rule */
	{ "extra", &bpg_s_object_any, false, NULL },
	{ NULL, NULL, false, NULL },
};
const bpg_schema bpg_s_facts = { SK_OBJECT, facts_fields, NULL, NULL };

/* The schema of the top-level member name (NULL: none). */
const bpg_schema *bpg_facts_member_schema(const char *name)
{
	for (size_t i = 0; facts_fields[i].name; i++)
		if (strcmp(facts_fields[i].name, name) == 0)
			return facts_fields[i].schema;
	return NULL;
}

int bpg_facts_check(const json_t *facts, const bpg_prechecked *pre, size_t npre, bpg_error *err)
{
	bpg_diags *diags = NULL;
	bpg_buf ptr = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_diags_new(&diags)) < 0)
		return bpg_error_set(err, rc, "out of memory");
	bpg_vctx vc = { diags, "facts", NULL, 0, NULL, pre, npre };
	if ((rc = bpg_schema_check(&vc, facts, &bpg_s_facts, &ptr)) < 0) {
		bpg_error_set(err, rc, "out of memory");
	} else if (bpg_diags_count(diags) > 0) {
		size_t n = bpg_diags_count(diags);
		rc = bpg_error_set(err, BPG_EINVALID, "invalid facts: %s%s", bpg_diags_get(diags, 0)->message,
			n > 1 ? " (and more)" : "");
	}
	bpg_diags_free(diags);
	bpg_buf_dispose(&ptr);
	return rc;
}

int bpg_facts_validate(const json_t *facts, bpg_error *err)
{
	return bpg_facts_check(facts, NULL, 0, err);
}
