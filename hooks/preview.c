/*
 * The pre-push preview of the server's rules (fe_server_preview, frontend.h).
 * The client cannot decide them (they need what only the server knows: who
 * pushes, what it holds, the audit log), so nothing here is a decision: it
 * names the server rules that will judge the push and shows the two facts a
 * clone can see — does the environment it promotes from have this tree, and
 * which approvals of the tree stored here can count (approve_never_counts).
 */
#include "frontend.h"
#include "releases.h"
#include "bpgate/approval.h"
#include "bpgate/buf.h"
#include "bpgate/query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void tracking(char *out, size_t size, git_repository *repo, const char *remote, const char *branch)
{
	git_oid id;
	const char *b = strncmp(branch, "refs/heads/", 11) == 0 ? branch + 11 : branch;
	snprintf(out, size, "refs/remotes/%s/%s", remote, b);
	if (git_reference_name_to_id(&id, repo, out) < 0)
		snprintf(out, size, "%s%s", strncmp(branch, "refs/", 5) == 0 ? "" : "refs/heads/", b);
	git_error_clear();
}

void fe_server_preview(fe_ctx *ctx, const char *env, const char *rref, const char *lsha, const char *remote)
{
	const json_t *e = json_object_get(json_object_get(bpg_policy_json(ctx->policy), "environments"), env);
	const char *from = json_string_value(json_object_get(e, "promotes_from"));
	git_commit *c = NULL;
	git_oid id;
	char tree[GIT_OID_HEXSZ + 1], base[400];
	const char *trees[1] = { tree };
	json_t *appr = json_array(), *a;
	size_t i, counting = 0;
	bpg_error err;

	if (!json_is_true(json_object_get(e, "protected")) || git_oid_fromstr(&id, lsha) < 0 || git_oid_is_zero(&id) ||
	    git_commit_lookup(&c, ctx->repo, &id) < 0 || !appr)
		goto done;
	git_oid_tostr(tree, sizeof(tree), git_commit_tree_id(c));
	fprintf(stderr, "bpgate pre-push: PREVIEW of the server's rules for %s (%s), not a decision: the server "
		"judges them when it receives the push\n  server rules on:", env, rref);
	for (size_t r = 0; r < bpg_rule_count(); r++)
		if (bpg_rule_server_only(r) && bpg_policy_rule_mode(ctx->policy, r) != BPG_MODE_OFF)
			fprintf(stderr, " %s", bpg_rule_get(r)->id);
	fprintf(stderr, "\n");
	if (from && bpg_policy_env_branch(ctx->policy, from)) {
		char fb[300], spec[420];
		git_object *t = NULL;
		snprintf(fb, sizeof(fb), "%s", bpg_policy_env_branch(ctx->policy, from));
		tracking(base, sizeof(base), ctx->repo, remote, fb);
		snprintf(spec, sizeof(spec), "%s^{tree}", base);
		bool has = git_revparse_single(&t, ctx->repo, spec) == 0 && git_oid_equal(git_object_id(t), git_commit_tree_id(c));
		git_object_free(t);
		git_error_clear();
		fprintf(stderr, "  promotion: %s promotes from %s; %s %s tree %.12s%s\n", env, from, base,
			has ? "has" : "does not have", tree, has ? "" : " (the server refuses content that was not there first)");
	}
	tracking(base, sizeof(base), ctx->repo, remote, rref);
	if (bpg_approvals_gather(appr, ctx->repo, env, trees, 1, ctx->signers, time(NULL), &err) < 0) {
		fprintf(stderr, "  approvals: cannot read them here: %s\n", err.message);
		goto done;
	}
	fprintf(stderr, "  approvals of tree %.12s for %s in this clone (`bpgate status` fetches them):", tree, env);
	json_array_foreach(appr, i, a) {
		const char *who = json_string_value(json_object_get(a, "approver"));
		char why[600];
		if (!who || !json_is_true(json_object_get(a, "verified")) ||
		    approve_never_counts(why, sizeof(why), ctx->repo, ctx->policy, env, who, &id, base) == 1)
			continue;
		fprintf(stderr, "%s %s", counting++ ? "," : "", who);
	}
	fprintf(stderr, "%s\n", counting ? " (can count)" : " none that can count");
done:
	json_decref(appr);
	git_commit_free(c);
}
