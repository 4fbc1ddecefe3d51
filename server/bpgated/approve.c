/*
 * The session's side of `approve <repo> <rev> --for <env>`.
 *
 * The session resolves rev and asks the engine whether the caller may
 * approve for env (the policy of the repository's HEAD, the policy branch:
 * bpg_policy_may_approve, no role logic here). It never signs: the monitor
 * holds the approval key, builds the canonical statement from the four
 * fields and signs it for the principal this connection authenticated as.
 * The session checks that what came back is exactly what it asked for and
 * stores it where `bpgate approve` would (refs/bpgate/approvals/...).
 */
#include "bpgated.h"
#include "bpgate/approval.h"
#include "bpgate/gather.h"
#include "bpgate/policy.h"
#include "bpgate/gitobj.h"

#include <git2.h>
#include <string.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

/* The policy of HEAD's .bpgate/ (the policy branch). */
static int head_policy(bpg_policy **out, git_repository *repo, bpg_error *err)
{
	git_object *obj = NULL;
	git_tree *bt = NULL;
	bpg_policy_files *files = NULL;
	bpg_diags *diags = NULL;
	int rc;

	*out = NULL;
	if (git_revparse_single(&obj, repo, "HEAD:.bpgate") < 0 || git_object_type(obj) != GIT_OBJECT_TREE) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "the policy branch (HEAD) has no .bpgate/ folder");
		goto done;
	}
	bt = (git_tree *)obj;
	obj = NULL;
	if ((rc = bpg_gather_policy_files(&files, repo, bt, err)) < 0)
		goto done;
	rc = bpg_policy_load(out, &diags, files, err);
done:
	git_error_clear();
	git_object_free(obj);
	git_tree_free(bt);
	bpg_policy_files_free(files);
	bpg_diags_free(diags);
	return rc;
}

int bpgd_approve_run(const bpgd_caller *who, const char *repo_name, const char *rev, const char *env,
	bpg_buf *out, bpg_buf *errout)
{
	bpg_buf dir = BPG_BUF_INIT, why = BPG_BUF_INIT, stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT, refname = BPG_BUF_INIT;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_reference *ref = NULL;
	bpg_policy *policy = NULL;
	bpg_approval a;
	bpg_error err;
	git_oid id;
	char tree[41], chex[41], rid[33] = "";
	int ret = EXIT_REFUSED;

	bpg_error_clear(&err);
	git_libgit2_init();
	if (bpgd_repo_resolve(&dir, who->cfg->repo_root, repo_name, &err) < 0)
		goto fail;
	if (git_repository_open(&repo, dir.ptr) < 0) {
		bpg_error_set(&err, BPG_EIO, "cannot open repository '%s'", repo_name);
		goto fail;
	}
	{ /* the repository's id, which the monitor reads too and signs */
		git_config *c = NULL;
		const char *v = NULL;
		if (git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.repositoryId") == 0 &&
		    v && bpg_repository_id_valid(v))
			snprintf(rid, sizeof(rid), "%s", v);
		git_config_free(c);
		git_error_clear();
	}
	if (git_revparse_single(&obj, repo, rev) < 0 || git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		bpg_error_set(&err, BPG_ENOTFOUND, "'%s' is not a commit of %s", rev, repo_name);
		goto fail;
	}
	git_oid_tostr(tree, sizeof(tree), git_commit_tree_id(commit));
	git_oid_tostr(chex, sizeof(chex), git_commit_id(commit));
	/* Who may approve is the engine's answer, from the policy branch; no policy, no approval. */
	if (head_policy(&policy, repo, &err) < 0) {
		/* the exit status refuses either way; a lost message is only a lost message */
		BPG_IGNORE(bpg_buf_printf(errout, "bpgated: approve: refused: cannot tell who may approve for %s: %s\n", env,
			err.message));
		goto log;
	}
	if (!bpg_policy_may_approve(policy, env, who->principal, &why)) {
		BPG_IGNORE(bpg_buf_printf(errout, "bpgated: approve: refused: %s\n", why.ptr ? why.ptr : "no approving role"));
		goto log;
	}
	/* The per-tree bound the gate applies to pushed approvals (server-refs), from the same engine call. */
	{
		bpg_approval q;
		size_t existing = 0;
		memset(&q, 0, sizeof(q));
		snprintf(q.approver, sizeof(q.approver), "%s", who->principal);
		snprintf(q.environment, sizeof(q.environment), "%s", env);
		memcpy(q.tree, tree, sizeof(q.tree) < sizeof(tree) ? sizeof(q.tree) : sizeof(tree));
		/* only the folder <env>/<tree>/<approver>/ is read, but the fields must be valid */
		snprintf(q.repository, sizeof(q.repository), "%s", repo_name);
		memcpy(q.commit, chex, sizeof(q.commit) < sizeof(chex) ? sizeof(q.commit) : sizeof(chex));
		snprintf(q.time, sizeof(q.time), "%s", "2000-01-01T00:00:00Z");
		if (bpg_approvals_count(&existing, repo, &q, 1000, &err) < 0)
			goto fail;
		if (bpg_policy_approval_admit(policy, env, who->principal, existing, &err) < 0) {
			BPG_IGNORE(bpg_buf_printf(errout, "bpgated: approve: refused: %s\n", err.message)); /* refused by status */
			goto log;
		}
	}
	if (bpgd_monitor_sign_approval(&stmt, &sig, who->monitor_fd, repo_name, env, tree, chex, &err) < 0)
		goto fail;
	/* What the monitor signed must be exactly what was asked, for this principal. */
	if (bpg_approval_parse(&a, stmt.ptr, stmt.size, &err) < 0 || strcmp(a.repository, repo_name) != 0 ||
	    strcmp(a.environment, env) != 0 || strcmp(a.tree, tree) != 0 || strcmp(a.commit, chex) != 0 ||
	    strcmp(a.approver, who->principal) != 0 || strcmp(a.repository_id, rid) != 0) {
		bpg_error_set(&err, BPG_EVERIFY, "the monitor's statement is not the one asked for");
		goto fail;
	}
	if (bpg_approval_store(&id, repo, &a, sig.ptr, sig.size, &err) < 0 || bpg_approval_refname(&refname, &a, &err) < 0)
		goto fail;
	if (git_reference_create(&ref, repo, refname.ptr, &id, 0, "bpgated approve") < 0) {
		bpg_error_set(&err, BPG_EIO, "cannot create %s: %s", refname.ptr, bpg_git_message());
		goto fail;
	}
	/* recorded; a report that cannot be written is still an error status */
	ret = bpg_buf_printf(out, "approved tree %.12s (commit %.12s) of %s for %s as %s\n  %s\n", a.tree, a.commit,
		a.repository, a.environment, a.approver, refname.ptr) < 0 ? EXIT_USAGE : 0;
	goto log;
fail:
	BPG_IGNORE(bpg_buf_printf(errout, "bpgated: approve: %s\n", err.message)); /* refused by status */
	ret = err.code == BPG_ENOMEM || err.code == BPG_EIO ? EXIT_USAGE : EXIT_REFUSED;
log:
	bpgd_log(ret == 0 ? BPGD_LOG_INFO : BPGD_LOG_WARN, "approve", "principal=%s repo=%s env=%s status=%d",
		who->principal, repo_name, env, ret);
	git_reference_free(ref);
	git_commit_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	bpg_policy_free(policy);
	bpg_buf_dispose(&dir);
	bpg_buf_dispose(&why);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&refname);
	git_libgit2_shutdown();
	return ret;
}
