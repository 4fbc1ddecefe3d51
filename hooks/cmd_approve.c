/*
 * bpgate approve REV --for ENV [-f KEY] [--as PRINCIPAL] [--remote NAME]
 *                [--repository NAME] [--no-push] [--check-policy | --check-only]
 * Sign an approval of REV's tree for ENV with the reviewer's SSH key
 * (bpgate's own signer for plain ed25519 keys; ssh-keygen -Y sign for
 * agent-held, passphrase-protected or other keys), store it under
 * refs/bpgate/approvals/... and push it.
 *
 * REV is resolved without ambiguity (resolve_rev): a full commit id; a full
 * ref name (refs/...); the name of an environment or of its branch
 * (.bpgate/policy.json) as refs/heads/<branch>, else
 * refs/remotes/<remote>/<branch>, refused when any other ref (a tag
 * "stage", a branch "prod") answers to the same name; any other name only
 * when exactly one ref answers to it. A suffix (~1, ^2, ...) applies to the
 * ref found. What is approved (ref, commit, tree) is printed before signing.
 *
 * --check-policy first asks the policy the server judges with (bpgate.policyRef,
 * else HEAD) whether the approver may approve (an approving role for ENV, under
 * the per-tree bound) and refuses (exit 1) otherwise; --check-only asks and
 * stops there, silent when admitted (bpgated runs it before it signs).
 */
#include "cli.h"
#include "sshsign.h"
#include "releases.h"
#include "bpgate/approval.h"
#include "bpgate/gitobj.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The repository's display name: bpgate.repository, else the remote URL's last component without .git. */
static void repo_name(char *out, size_t size, git_repository *repo, const char *remote)
{
	git_config *c = NULL;
	git_remote *r = NULL;
	const char *v = NULL;

	out[0] = '\0';
	if (git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.repository") == 0 && v)
		snprintf(out, size, "%s", v);
	git_config_free(c);
	if (!out[0] && git_remote_lookup(&r, repo, remote) == 0 && git_remote_url(r)) {
		const char *u = git_remote_url(r);
		size_t n = strlen(u);
		while (n && u[n - 1] == '/')
			n--;
		size_t s = n;
		while (s && u[s - 1] != '/' && u[s - 1] != ':')
			s--;
		if (n - s > 4 && strncmp(u + n - 4, ".git", 4) == 0)
			n -= 4;
		snprintf(out, size, "%.*s", (int)(n - s), u + s);
	}
	git_remote_free(r);
	git_error_clear();
}

static bool ref_exists(git_repository *repo, const char *name)
{
	git_reference *r = NULL;
	bool ok = git_reference_lookup(&r, repo, name) == 0;
	git_reference_free(r);
	git_error_clear();
	return ok;
}

/* The environment whose name or branch (short or full) is `name`: *branch gets the branch's short name. */
static bool env_branch_of(json_t *envs, const char *name, char *branch, size_t size)
{
	const char *env;
	json_t *e;
	json_object_foreach(envs, env, e) {
		const char *b = json_string_value(json_object_get(e, "branch"));
		const char *bs = b && strncmp(b, "refs/heads/", 11) == 0 ? b + 11 : b;
		if (bs && (strcmp(name, env) == 0 || strcmp(name, bs) == 0)) {
			snprintf(branch, size, "%s", bs);
			return true;
		}
	}
	return false;
}

/* .bpgate/policy.json's environments in the work tree (NULL when there is none). */
static json_t *load_envs(git_repository *repo)
{
	bpg_buf p = BPG_BUF_INIT, data = BPG_BUF_INIT;
	bpg_error err;
	json_t *pol = NULL, *envs = NULL;
	if (git_repository_workdir(repo) &&
	    bpg_buf_printf(&p, "%s.bpgate/policy.json", git_repository_workdir(repo)) == 0 &&
	    bpg_file_read(&data, p.ptr, (size_t)4 << 20, &err) == 0)
		pol = json_loadb(data.ptr, data.size, 0, NULL);
	envs = json_incref(json_object_get(pol, "environments"));
	json_decref(pol);
	bpg_buf_dispose(&p);
	bpg_buf_dispose(&data);
	return json_is_object(envs) ? envs : (json_decref(envs), NULL);
}

/* The repository's unique id: the clone's bpgate.repositoryId, else the work
 * tree's .bpgate/policy.json "repository_id", else "" (bound by name only).
 * An id that is not 32 lower-case hex is an error (-1). */
static int repo_id(char out[33], git_repository *repo)
{
	git_config *c = NULL;
	const char *v = NULL;
	bpg_buf p = BPG_BUF_INIT, data = BPG_BUF_INIT;
	bpg_error err;
	json_t *pol = NULL;
	int rc = 0;

	out[0] = '\0';
	if (git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.repositoryId") == 0 && v) {
		if (!bpg_repository_id_valid(v)) {
			fprintf(stderr, "bpgate approve: git config bpgate.repositoryId must be 32 lower-case hex digits\n");
			rc = -1;
		} else {
			snprintf(out, 33, "%s", v);
		}
		goto done;
	}
	git_error_clear();
	if (git_repository_workdir(repo) &&
	    bpg_buf_printf(&p, "%s.bpgate/policy.json", git_repository_workdir(repo)) == 0 &&
	    bpg_file_read(&data, p.ptr, (size_t)4 << 20, &err) == 0)
		pol = json_loadb(data.ptr ? data.ptr : "", data.size, 0, NULL);
	v = json_string_value(json_object_get(pol, "repository_id"));
	if (v && !bpg_repository_id_valid(v)) {
		fprintf(stderr, "bpgate approve: .bpgate/policy.json: repository_id must be 32 lower-case hex digits\n");
		rc = -1;
	} else if (v) {
		snprintf(out, 33, "%s", v);
	}
done:
	json_decref(pol);
	git_config_free(c);
	bpg_buf_dispose(&p);
	bpg_buf_dispose(&data);
	return rc;
}

/* Resolve REV to a commit without ambiguity (see the top of the file); *shown gets what it resolved to. */
static int resolve_rev(git_commit **out, bpg_buf *shown, git_repository *repo, const char *rev, const char *remote)
{
	/* git's own order of names a short name may mean (git help revisions) */
	static const char *dwim[][2] = { { "refs/", "" }, { "refs/tags/", "" }, { "refs/heads/", "" },
		{ "refs/remotes/", "" }, { "refs/remotes/", "/HEAD" } };
	size_t blen = strcspn(rev, "~^:@");
	char base[512], branch[512], chosen[1200] = "", found[1200] = "", cand[1200];
	json_t *envs = NULL;
	git_object *obj = NULL;
	git_oid id;
	int rc = -1, n = 0;

	*out = NULL;
	if (blen >= sizeof(base) || strlen(rev) > 1024) {
		fprintf(stderr, "bpgate approve: '%.40s...' is too long\n", rev);
		return -1;
	}
	memcpy(base, rev, blen);
	base[blen] = '\0';
	if (strlen(rev) == GIT_OID_HEXSZ && strspn(rev, "0123456789abcdef") == GIT_OID_HEXSZ) {
		git_oid_fromstr(&id, rev);
		rc = git_object_lookup(&obj, repo, &id, GIT_OBJECT_ANY);
		if (bpg_buf_puts(shown, "commit id") < 0)
			rc = -1; /* out of memory: refused below */
		goto peel;
	}
	if (blen && strncmp(base, "refs/", 5) == 0) {
		if (!ref_exists(repo, base)) {
			fprintf(stderr, "bpgate approve: there is no ref %s\n", base);
			return -1;
		}
		snprintf(chosen, sizeof(chosen), "%s", base);
	} else if (blen) {
		envs = load_envs(repo);
		bool is_env = envs && env_branch_of(envs, base, branch, sizeof(branch));
		json_decref(envs);
		if (is_env) {
			snprintf(chosen, sizeof(chosen), "refs/heads/%s", branch);
			if (!ref_exists(repo, chosen))
				snprintf(chosen, sizeof(chosen), "refs/remotes/%s/%s", remote, branch);
			if (!ref_exists(repo, chosen)) {
				fprintf(stderr, "bpgate approve: '%s' names an environment's branch, but neither refs/heads/%s nor "
					"refs/remotes/%s/%s exists: fetch it first\n", base, branch, remote, branch);
				return -1;
			}
		}
		for (size_t k = 0; k < sizeof(dwim) / sizeof(dwim[0]); k++) {
			snprintf(cand, sizeof(cand), "%s%s%s", dwim[k][0], base, dwim[k][1]);
			if (!ref_exists(repo, cand) || strcmp(cand, chosen) == 0)
				continue;
			if (is_env || n++ > 0) {
				fprintf(stderr, "bpgate approve: '%s' is ambiguous: %s and %s both answer to it; name the ref in full "
					"(e.g. refs/remotes/%s/...) or give the commit id\n", base, is_env ? chosen : found, cand, remote);
				return -1;
			}
			snprintf(found, sizeof(found), "%s", cand);
		}
		if (!is_env && n == 1)
			snprintf(chosen, sizeof(chosen), "%s", found);
	}
	if (chosen[0]) {
		bpg_buf spec = BPG_BUF_INIT;
		rc = bpg_buf_printf(&spec, "%s%s", chosen, rev + blen) < 0 ? -1 : git_revparse_single(&obj, repo, spec.ptr);
		if (rc == 0 && bpg_buf_puts(shown, spec.ptr) < 0)
			rc = -1; /* out of memory: refused below */
		bpg_buf_dispose(&spec);
	} else {
		rc = git_revparse_single(&obj, repo, rev); /* HEAD, an abbreviated id, ... */
		if (rc == 0 && bpg_buf_puts(shown, rev) < 0)
			rc = -1; /* out of memory: refused below */
	}
peel:
	if (rc < 0 || git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		fprintf(stderr, "bpgate approve: '%s' is not a commit\n", rev);
		rc = -1;
	}
	git_error_clear();
	git_object_free(obj);
	return rc < 0 ? -1 : 0;
}

/* A warning before signing when the approval can never count (approve_never_counts). */
static void warn_never_counts(git_repository *repo, const bpg_approval *a, git_commit *commit, const char *remote)
{
	bpg_policy *policy = NULL;
	bpg_error err;
	char branch[300], base[400], why[600];
	git_oid tip;

	if (approve_policy_load(&policy, repo, &err) < 0) {
		fprintf(stderr, "bpgate approve: note: cannot tell whether this approval will count: %s\n", err.message);
		return;
	}
	if (rel_env_branch(branch, sizeof(branch), policy, a->environment) == 0) {
		snprintf(base, sizeof(base), "refs/remotes/%s/%s", remote,
			strncmp(branch, "refs/heads/", 11) == 0 ? branch + 11 : branch);
		if (git_reference_name_to_id(&tip, repo, base) < 0)
			snprintf(base, sizeof(base), "%s", branch);
		git_error_clear();
	} else {
		base[0] = '\0';
	}
	if (approve_never_counts(why, sizeof(why), repo, policy, a->environment, a->approver, git_commit_id(commit),
	    base[0] ? base : NULL) == 1)
		fprintf(stderr, "bpgate approve: warning: this approval will never count: %s\n", why);
	bpg_policy_free(policy);
}

int cmd_approve(int argc, char **argv)
{
	const char *rev = NULL, *env = NULL, *key = NULL, *as = NULL, *remote = "origin", *repo_opt = NULL;
	bool push = true, check = false, check_only = false;
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_reference *ref = NULL;
	bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT, refname = BPG_BUF_INIT, keybuf = BPG_BUF_INIT;
	bpg_buf shown = BPG_BUF_INIT;
	bpg_approval a;
	bpg_error err;
	git_oid id;
	int orc;
	int rc = BPG_EXIT_ERROR;
	static const char *use = "usage: bpgate approve REV --for ENV [-f KEY] [--as PRINCIPAL] [--remote NAME] "
		"[--repository NAME] [--no-push] [--check-policy | --check-only]";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) env = argv[++i];
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) key = argv[++i];
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc) as = argv[++i];
		else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc) remote = argv[++i];
		else if (strcmp(argv[i], "--repository") == 0 && i + 1 < argc) repo_opt = argv[++i];
		else if (strcmp(argv[i], "--no-push") == 0) push = false;
		else if (strcmp(argv[i], "--check-policy") == 0) check = true;
		else if (strcmp(argv[i], "--check-only") == 0) check = check_only = true;
		else if (argv[i][0] != '-' && !rev) rev = argv[i];
		else return cli_usage(use);
	}
	if (!rev || !env)
		return cli_usage(use);
	memset(&a, 0, sizeof(a));
	git_libgit2_init();
	if ((orc = cli_repo_open(&repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, "approve")) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate approve: not inside a git repository\n");
		goto done;
	}
	if (resolve_rev(&commit, &shown, repo, rev, remote) < 0)
		goto done;
	{
		char ch[GIT_OID_HEXSZ + 1], th[GIT_OID_HEXSZ + 1];
		git_oid_tostr(ch, sizeof(ch), git_commit_id(commit));
		git_oid_tostr(th, sizeof(th), git_commit_tree_id(commit));
		printf("approving %s = commit %.12s, tree %.12s\n", shown.ptr ? shown.ptr : rev, ch, th);
	}
	if (!key) {
		const char *home = getenv("HOME");
		if (bpg_buf_printf(&keybuf, "%s/.ssh/id_ed25519", home ? home : "") < 0) {
			fprintf(stderr, "bpgate approve: out of memory\n");
			goto done;
		}
		key = keybuf.ptr;
	}
	if (repo_opt)
		snprintf(a.repository, sizeof(a.repository), "%s", repo_opt);
	else
		repo_name(a.repository, sizeof(a.repository), repo, remote);
	if (repo_id(a.repository_id, repo) < 0)
		goto done;
	snprintf(a.environment, sizeof(a.environment), "%s", env);
	git_oid_tostr(a.tree, sizeof(a.tree), git_commit_tree_id(commit));
	git_oid_tostr(a.commit, sizeof(a.commit), git_commit_id(commit));
	cli_now_utc(a.time);
	if (as) {
		snprintf(a.approver, sizeof(a.approver), "%s", as);
	} else {
		/* the principal of KEY.pub in .bpgate/allowed_signers (sshsign.c) */
		if (cli_ssh_principal(a.approver, sizeof(a.approver), repo, key, BPG_APPROVAL_NAMESPACE, "approve") < 0)
			goto done;
	}
	/* an approval of this tree by this approver in this same second (one the server refused, say)
	 * holds the ref name: this one is stamped a second later */
	if (bpg_approval_time_unused(&a, repo, &err) < 0 || bpg_approval_format(&stmt, &a, &err) < 0) {
		cli_report_error("approve", &err);
		goto done;
	}
	if (check) {
		if (approve_admit(repo, &a, &err) < 0) {
			fprintf(stderr, "bpgate approve: refused: %s\n", err.message);
			rc = err.code == BPG_EINVALID || err.code == BPG_ETOOBIG ? BPG_EXIT_FINDINGS : BPG_EXIT_ERROR;
			goto done;
		}
		if (check_only) {
			rc = BPG_EXIT_OK;
			goto done;
		}
	}
	warn_never_counts(repo, &a, commit, remote);
	if (cli_ssh_sign(&sig, key, BPG_APPROVAL_NAMESPACE, stmt.ptr, stmt.size, BPG_APPROVAL_MAX, NULL, "approve") < 0)
		goto done;
	if (bpg_approval_store(&id, repo, &a, sig.ptr, sig.size, &err) < 0 || bpg_approval_refname(&refname, &a, &err) < 0) {
		cli_report_error("approve", &err);
		goto done;
	}
	if (git_reference_create(&ref, repo, refname.ptr, &id, 0, "bpgate approve") < 0) {
		fprintf(stderr, "bpgate approve: cannot create %s: %s\n", refname.ptr, bpg_git_message());
		goto done;
	}
	printf("approved tree %.12s (commit %.12s) of %s for %s as %s\n  %s\n", a.tree, a.commit, a.repository,
		a.environment, a.approver, refname.ptr);
	rc = BPG_EXIT_OK;
	if (push) {
		bpg_buf spec = BPG_BUF_INIT;
		int src = bpg_buf_printf(&spec, "%s:%s", refname.ptr, refname.ptr);
		char *pargv[] = { "git", "push", "-q", (char *)remote, spec.ptr, NULL };
		if (src < 0 || cli_run(pargv) != 0) { /* never a push without the refspec */
			fprintf(stderr, "bpgate approve: pushing the approval failed; push it later with: git push %s %s\n",
				remote, spec.ptr);
			rc = BPG_EXIT_FINDINGS;
		}
		bpg_buf_dispose(&spec);
	}
done:
	git_reference_free(ref);
	git_commit_free(commit);
	git_repository_free(repo);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&refname);
	bpg_buf_dispose(&keybuf);
	bpg_buf_dispose(&shown);
	git_libgit2_shutdown();
	return rc;
}
