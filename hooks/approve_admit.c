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
#include "bpgate/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Does the claimed identity of a commit (author or committer) look like principal? */
static bool looks_like(const git_signature *s, const char *principal)
{
	const char *at;
	size_t n = strlen(principal);

	if (!s || !*principal)
		return false;
	if ((s->email && strcasecmp(s->email, principal) == 0) || (s->name && strcasecmp(s->name, principal) == 0))
		return true;
	at = s->email ? strchr(s->email, '@') : NULL;
	return at && (size_t)(at - s->email) == n && strncasecmp(s->email, principal, n) == 0;
}

#define NEVER_COUNTS_WALK_MAX 10000

int approve_never_counts(char *why, size_t size, git_repository *repo, const bpg_policy *policy,
	const char *env, const char *approver, const git_oid *commit, const char *base)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	bpg_error err;
	git_oid id;
	size_t n = 0;
	int rc = 0;

	why[0] = '\0';
	if (bpg_policy_approval_admit(policy, env, approver, 0, &err) == BPG_EINVALID) {
		snprintf(why, size, "%s", err.message);
		return 1;
	}
	/* segregation of duties: the approvals rule never counts one who authored or committed the range */
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_push(walk, commit) < 0)
		goto done;
	if (base && git_revwalk_hide_ref(walk, base) < 0)
		git_error_clear(); /* the environment has no branch yet: every commit is new to it */
	while (n++ < NEVER_COUNTS_WALK_MAX && git_revwalk_next(&id, walk) == 0) {
		if (git_commit_lookup(&c, repo, &id) < 0)
			break;
		if (looks_like(git_commit_author(c), approver) || looks_like(git_commit_committer(c), approver)) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), &id);
			snprintf(why, size, "%s authored or committed %.12s of the change (%s): the approvals rule "
				"never counts an approval by one who wrote the change (segregation of duties)", approver, hex,
				base ? base : "every commit");
			rc = 1;
			break;
		}
		git_commit_free(c);
		c = NULL;
	}
done:
	git_error_clear();
	git_commit_free(c);
	git_revwalk_free(walk);
	return rc;
}

int approve_policy_load(bpg_policy **policy, git_repository *repo, bpg_error *err)
{
	bpg_allowed_signers *signers = NULL;
	git_oid pc;
	int rc;

	*policy = NULL;
	if ((rc = policy_commit(&pc, repo, err)) < 0 || (rc = rel_policy_load(policy, &signers, repo, &pc, err)) < 0)
		return rc;
	bpg_allowed_signers_free(signers);
	return 0;
}
