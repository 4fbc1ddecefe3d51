/*
 * protected-branch: the branch of a protected environment is never deleted,
 * never rewritten (non-fast-forward), and only pushed by the roles the
 * policy names for it (parameter push_roles: environment -> roles; the
 * emergency role may push with a valid break-glass).
 * server-refs: refs/bpgate/ is ours. Approvals (refs/bpgate/approvals/...)
 * may be created, never updated or deleted, and must verify; their approver
 * must hold a role that approves for the environment, and may hold at most
 * max_approvals_per_tree approvals of one tree there (those already stored
 * and those earlier in the same push: extra.server.pushed_approvals[].existing;
 * bpg_policy_approval_admit answers both). Anything else under refs/bpgate/
 * is written by the server only. Names that make an
 * environment ambiguous are refused too (created or updated, never deleted):
 * a tag whose name is, or ends in "/" followed by, an environment's name or
 * its branch's short name (refs/tags/main, refs/tags/stage, refs/tags/prod,
 * refs/tags/origin/main), and a branch that is not an environment's branch
 * but is named like an environment (refs/heads/prod when prod's branch is
 * main) or starts with tags/, heads/, remotes/ or refs/, or is HEAD:
 * `git rev-parse stage` prefers refs/tags/stage over every branch.
 */
#include "rules_server.h"
#include "bpgate/query.h"

#include <stdio.h>
#include <string.h>

static const bpg_schema roles_map_s = { SK_MAP, NULL, &bpg_s_strings, NULL };
static const bpg_sfield protected_params[] = {
	{ "push_roles", &roles_map_s, false, "{}" },
	{ NULL, NULL, false, NULL },
};

static const bpg_sfield refs_params[] = {
	{ "max_approvals_per_tree", &bpg_s_int, false, "3" },
	{ NULL, NULL, false, NULL },
};

/* A pushed approval that verified: may its approver record it? */
static int admit_approval(bpg_eval *ev, const json_t *r, const json_t *pa, const bpg_where *w)
{
	const json_t *existing = json_object_get(pa, "existing");
	const char *env = bpg_jstr(pa, "environment"), *who = bpg_jstr(pa, "approver");
	bpg_error aerr;
	int code;

	if (!env || !who || !json_is_integer(existing) || json_integer_value(existing) < 0)
		return srv_missing(ev, r, "pushed_approvals");
	code = bpg_policy_approval_admit(bpg_ev_policy(ev), env, who, (size_t)json_integer_value(existing), &aerr);
	if (code == 0)
		return 0;
	return bpg_ev_emit(ev, BPG_SEV_ERROR, w, code == BPG_ETOOBIG ?
		"an approval of the same tree already counts: a further one adds nothing; an admin may archive old ones" :
		"only people of a role that approves for the environment may record approvals (roles are in .bpgate/policy.json)",
		"the approval %s is refused: %s", bpg_jstr(r, "name"), aerr.message);
}

/* A pushed approval that verified: does it name this repository, an
 * environment of its policy and a tree it has? An approval that does not
 * would be stored and then never count (the approvals rule ignores it):
 * refused here, with the setting that fixes it. 1 when refused. */
static int approval_fits(bpg_eval *ev, const char *name, const json_t *pa, const bpg_where *w)
{
	const char *repo = bpg_jstr(bpg_ev_facts(ev), "repository"), *arepo = bpg_jstr(pa, "repository");
	const char *env = bpg_jstr(pa, "environment"), *tree = bpg_jstr(pa, "tree");
	char fix[512];
	int rc;

	if (repo && *repo && arepo && strcmp(repo, arepo) != 0) {
		snprintf(fix, sizeof(fix), "the approval names the repository from your clone's git config bpgate.repository "
			"(or its remote URL): run `git config bpgate.repository '%.100s'` there (or pass --repository '%.100s') "
			"and approve again", repo, repo);
		rc = bpg_ev_emit(ev, BPG_SEV_ERROR, w, fix, "the approval %s is for repository '%.100s'; this repository "
			"is '%.100s': it would never count here", name, arepo, repo);
		return rc < 0 ? rc : 1;
	}
	if (env && !bpg_policy_env_branch(bpg_ev_policy(ev), env)) {
		rc = bpg_ev_emit(ev, BPG_SEV_ERROR, w, "approve for an environment of this repository's policy "
			"(environments in .bpgate/policy.json)", "the approval %s is for environment '%.64s', which this "
			"repository's policy does not have: it would never count here", name, env);
		return rc < 0 ? rc : 1;
	}
	if (tree && json_is_false(json_object_get(pa, "tree_present"))) {
		rc = bpg_ev_emit(ev, BPG_SEV_ERROR, w, "push the commit first and approve what the server has "
			"(e.g. `bpgate approve origin/stage --for prod`)", "the approval %s is for tree %.12s, which this "
			"repository does not have: it would never count here", name, tree);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

static int eval_protected(bpg_eval *ev)
{
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	srv_ref ref;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KNOWN, &ref);) {
		const json_t *r = ref.ref, *env = ref.env;
		const char *name = ref.name, *envn = ref.envname;
		bpg_where w = ref.where;
		if (bpg_jbool(env, "protected") && bpg_jbool(r, "deleted")) {
			w.commit = bpg_jstr(r, "old");
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"protected branches are never deleted; ask an admin to change the policy if the environment goes away",
				"%s is the protected branch of environment %s and cannot be deleted", name, envn)) < 0)
				return rc;
			continue;
		}
		if (bpg_jbool(env, "protected") && !bpg_jbool(r, "created") && !bpg_jbool(r, "fast_forward"))
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"history of a protected branch is never rewritten: fetch, merge or rebase your work on top "
				"of it and push again without --force (to undo a release use `bpgate rollback`)",
				"non-fast-forward update of protected branch %s (environment %s): %.12s is not a descendant of %.12s",
				name, envn, bpg_jstr(r, "new"), bpg_jstr(r, "old"))) < 0)
				return rc;
		const json_t *roles = json_object_get(bpg_ev_param(ev, "push_roles"), envn);
		if (!roles || bpg_jbool(r, "deleted"))
			continue;
		bool allowed = srv_break_glass(ev, NULL);
		size_t k;
		json_t *role;
		json_array_foreach(roles, k, role)
			allowed |= bpg_pol_has_role(bpg_ev_policy(ev), json_string_value(role), pusher);
		if (!allowed) {
			char rl[256];
			srv_join(rl, sizeof(rl), roles);
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"ask someone with one of these roles to push it (roles are in .bpgate/policy.json)",
				"%s (environment %s) may only be pushed by the roles %s; %s has none of them",
				name, envn, rl, pusher ? pusher : "(unknown pusher)")) < 0)
				return rc;
		}
	}
	return 0;
}

/* Does `name` equal `what`, or end in "/" + `what`? */
static bool names(const char *name, const char *what, bool suffix)
{
	size_t n = strlen(name), w = strlen(what);
	if (!w)
		return false;
	return strcmp(name, what) == 0 || (suffix && n > w && name[n - w - 1] == '/' && strcmp(name + n - w, what) == 0);
}

/* The environment a tag or branch name would be mistaken for, or NULL. */
static const char *ambiguous_env(const bpg_eval *ev, const char *ref, const char **why)
{
	static const char *reserved[] = { "tags/", "heads/", "remotes/", "refs/" };
	bool tag = strncmp(ref, "refs/tags/", 10) == 0, head = strncmp(ref, "refs/heads/", 11) == 0;
	const char *shortn = ref + (tag ? 10 : 11), *env;
	json_t *e;

	if (!tag && !head)
		return NULL;
	json_object_foreach(json_object_get(bpg_ev_policy(ev)->root, "environments"), env, e) {
		const char *b = bpg_jstr(e, "branch");
		if (b && head && (strcmp(b, ref) == 0 || strcmp(b, shortn) == 0))
			return NULL; /* an environment's own branch */
	}
	json_object_foreach(json_object_get(bpg_ev_policy(ev)->root, "environments"), env, e) {
		const char *b = bpg_jstr(e, "branch");
		const char *bs = b && strncmp(b, "refs/heads/", 11) == 0 ? b + 11 : b;
		if (names(shortn, env, tag)) {
			*why = "the environment's name";
			return env;
		}
		if (bs && names(shortn, bs, tag)) {
			*why = "the short name of the environment's branch";
			return env;
		}
	}
	if (head) {
		for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
			if (strncmp(shortn, reserved[k], strlen(reserved[k])) == 0) {
				*why = "a prefix git reads as a ref namespace";
				return "";
			}
		if (strcmp(shortn, "HEAD") == 0) {
			*why = "HEAD";
			return "";
		}
	}
	return NULL;
}

static int eval_refs(bpg_eval *ev)
{
	const char *pfx = "refs/bpgate/approvals/";
	const char *rid = bpg_jstr(bpg_ev_facts(ev), "repository_id");
	size_t i;
	json_t *r;
	int rc;

	if (!srv_active(ev))
		return 0;
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "refs"), i, r) {
		const char *name = bpg_jstr(r, "name");
		bpg_where w = { NULL, NULL, bpg_jstr(r, "new"), name, 0, 0 };
		const char *why = NULL, *amb = name && !bpg_jbool(r, "deleted") ? ambiguous_env(ev, name, &why) : NULL;
		if (amb) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"choose another name: tags and branches may not be named like an environment or its branch "
				"(reviewers and `bpgate approve` would take it for the environment)",
				"%s is named like %s%s (%s): it would make the name ambiguous", name, *amb ? "environment " : "",
				*amb ? amb : "a ref namespace", why)) < 0)
				return rc;
			continue;
		}
		if (!name || strncmp(name, "refs/bpgate/", 12) != 0)
			continue;
		if (strncmp(name, pfx, strlen(pfx)) != 0) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"only approvals (refs/bpgate/approvals/...) may be pushed there; the rest is written by the server",
				"%s is in the server's own namespace refs/bpgate/", name)) < 0)
				return rc;
			continue;
		}
		if (!bpg_jbool(r, "created")) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"approvals are never deleted or rewritten: record a new approval, which supersedes the old one",
				"%s already exists: approvals cannot be %s", name,
				bpg_jbool(r, "deleted") ? "deleted" : "changed")) < 0)
				return rc;
			continue;
		}
		const json_t *pa = NULL;
		size_t k;
		json_t *a;
		json_array_foreach(srv_fact(ev, "pushed_approvals"), k, a)
			if (bpg_jstr(a, "ref") && strcmp(bpg_jstr(a, "ref"), name) == 0)
				pa = a;
		if (!pa) {
			if ((rc = srv_missing(ev, r, "pushed_approvals")) < 0)
				return rc;
			continue;
		}
		if (!bpg_jbool(pa, "ok")) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"create approvals with `bpgate approve REV --for ENV`, signed by a key in .bpgate/allowed_signers",
				"the approval %s does not verify: %s", name,
				bpg_jstr(pa, "problem") ? bpg_jstr(pa, "problem") : "unknown problem")) < 0)
				return rc;
		} else if (rid && *rid && (!bpg_jstr(pa, "repository_id") || strcmp(rid, bpg_jstr(pa, "repository_id")) != 0)) {
			/* an approval of a namesake repository (teamA/x replayed into teamB/x) */
			char fix[200];
			snprintf(fix, sizeof(fix),
				"approve in a clone of this repository: set bpgate.repositoryId in your clone or repository_id in .bpgate/policy.json to %s",
				strlen(rid) == 32 && strspn(rid, "0123456789abcdef") == 32 ? rid : "this repository's id");
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
				"the approval %s is for another repository (repository id %s; this repository is %s)", name,
				bpg_jstr(pa, "repository_id") ? bpg_jstr(pa, "repository_id") : "none", rid)) < 0)
				return rc;
		} else if ((rc = approval_fits(ev, name, pa, &w)) != 0) {
			if (rc < 0)
				return rc;
		} else if ((rc = admit_approval(ev, r, pa, &w)) < 0) {
			return rc;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_protected_branch = {
	.info = { "protected-branch", "protected branches: no deletion, no non-fast-forward, only the roles named may push",
		BPG_MODE_ENFORCE },
	.params = protected_params,
	.eval = eval_protected,
};

const bpg_rule_def bpg_rule_server_refs = {
	.info = { "server-refs", "refs/bpgate/ holds verified approvals (create only) and server records; no tag or branch is named like an environment", BPG_MODE_ENFORCE },
	.params = refs_params,
	.eval = eval_refs,
};
