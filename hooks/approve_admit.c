/*
 * `bpgate approve --check-only / --check-policy`: may the approver record
 * this approval? The engine answers (bpg_policy_approval_admit) from the
 * policy the server judges with: the commit of git config bpgate.policyRef,
 * else of HEAD, as it is now (.bpgate/ of its tree), and the approvals
 * already stored for the approver, tree and environment.
 */
#include "cli.h"
#include "releases.h"
#include "bpgate/approval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int policy_commit(git_oid *out, git_repository *repo, bpg_error *err)
{
	git_config *c = NULL;
	git_object *obj = NULL, *peeled = NULL;
	const char *v = NULL;
	char ref[512] = "HEAD";
	int rc = 0;

	if (git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.policyRef") == 0 && v)
		snprintf(ref, sizeof(ref), "%s", v);
	git_config_free(c);
	git_error_clear();
	if (git_revparse_single(&obj, repo, ref) < 0 || git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		rc = bpg_error_set(err, BPG_ENOTFOUND, "cannot read the policy ref %s", ref);
	else
		git_oid_cpy(out, git_object_id(peeled));
	git_error_clear();
	git_object_free(peeled);
	git_object_free(obj);
	return rc;
}

int approve_admit(git_repository *repo, const bpg_approval *a, bpg_error *err)
{
	bpg_policy *policy = NULL;
	bpg_allowed_signers *signers = NULL;
	size_t existing = 0;
	git_oid pc;
	int rc;

	if ((rc = policy_commit(&pc, repo, err)) < 0 || (rc = rel_policy_load(&policy, &signers, repo, &pc, err)) < 0 ||
	    (rc = bpg_approvals_count(&existing, repo, a, BPG_APPROVAL_MAX_REFS, err)) < 0) {
		/* not an answer of the policy: an error (the caller fails closed) */
		char why[sizeof(err->message)];
		snprintf(why, sizeof(why), "%s", err->message);
		rc = bpg_error_set(err, BPG_ERROR, "cannot ask the policy: %s", why);
		goto done;
	}
	rc = bpg_policy_approval_admit(policy, a->environment, a->approver, existing, err);
done:
	bpg_policy_free(policy);
	bpg_allowed_signers_free(signers);
	return rc;
}
