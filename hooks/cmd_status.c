/* `bpgate status [REV] [--repo DIR] [--remote NAME] [--no-fetch]`: where REV's
 * tree stands on the way to prod — which environment branches already have
 * it, and the approvals recorded for it per environment, verified against
 * the policy branch's allowed_signers. Works in bare repositories (the
 * daemon's `status`). In a clone it first fetches the branches and
 * refs/bpgate/... from the remote (default origin; rel_fetch_server_refs) and
 * reads the environments' remote-tracking branches (origin/dev, not a local
 * dev that may lag behind); when the fetch fails it answers nothing (exit 2)
 * unless --no-fetch asks for what the clone has. */
#include "cli.h"
#include "make_status.h"
#include "releases.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpgate/approval.h"
#include "bpgate/buf.h"
#include "bpgate/sshsig.h"

/* A file of the policy branch (HEAD's tree), or NULL. */
static int head_file(bpg_buf *out, git_repository *repo, const char *path)
{
	git_object *obj = NULL;
	char spec[256];
	int rc;

	snprintf(spec, sizeof(spec), "HEAD:%s", path);
	if ((rc = git_revparse_single(&obj, repo, spec)) < 0 || git_object_type(obj) != GIT_OBJECT_BLOB) {
		git_object_free(obj);
		git_error_clear();
		return -1;
	}
	rc = bpg_buf_put(out, git_blob_rawcontent((git_blob *)obj), (size_t)git_blob_rawsize((git_blob *)obj));
	git_object_free(obj);
	return rc;
}

/* The ref read for an environment's branch: refs/remotes/<remote>/<branch>
 * when this clone tracks it (what the server has), else the branch itself.
 * *has: its tree is `tree`. */
static void branch_has_tree(char *shown, size_t size, char full[300], bool *has, git_repository *repo,
	const char *remote, const char *branch, const git_oid *tree)
{
	git_object *obj = NULL;
	git_reference *ref = NULL;
	char spec[320];
	const char *b = strncmp(branch, "refs/heads/", 11) == 0 ? branch + 11 : branch;

	*has = false;
	snprintf(full, 300, "refs/remotes/%s/%s", remote, b);
	if (strncmp(branch, "refs/", 5) == 0 && strncmp(branch, "refs/heads/", 11) != 0)
		snprintf(full, 300, "%s", branch);
	else if (git_reference_lookup(&ref, repo, full) < 0)
		snprintf(full, 300, "refs/heads/%s", b);
	git_reference_free(ref);
	git_error_clear();
	snprintf(shown, size, "%s", strncmp(full, "refs/remotes/", 13) == 0 ? full + 13 :
		strncmp(full, "refs/heads/", 11) == 0 ? full + 11 : full);
	snprintf(spec, sizeof(spec), "%s^{tree}", full);
	if (git_revparse_single(&obj, repo, spec) == 0)
		*has = git_oid_equal(git_object_id(obj), tree);
	git_object_free(obj);
	git_error_clear();
}

int cmd_status(int argc, char **argv)
{
	const char *rev = "HEAD", *dir = NULL, *remote = "origin";
	bool no_fetch = false;
	git_repository *repo = NULL;
	git_object *commit = NULL;
	bpg_allowed_signers *signers = NULL, *psigners = NULL;
	bpg_policy *pol = NULL;
	git_config *cfg = NULL;
	const char *cfg_repo = NULL, *cfg_rid = NULL;
	bpg_buf pj = BPG_BUF_INIT, as = BPG_BUF_INIT;
	json_t *policy = NULL;
	char tree_hex[GIT_OID_HEXSZ + 1], commit_hex[GIT_OID_HEXSZ + 1];
	const git_oid *tree;
	bpg_error err;
	int orc;
	int rc = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repo") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc)
			remote = argv[++i];
		else if (strcmp(argv[i], "--no-fetch") == 0)
			no_fetch = true;
		else if (argv[i][0] != '-')
			rev = argv[i];
		else
			return cli_usage("bpgate status [REV] [--repo DIR] [--remote NAME] [--no-fetch]");
	}
	git_libgit2_init();
	if ((orc = dir ? cli_repo_open(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, "status") :
	    cli_repo_open(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, "status")) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate status: not a git repository: %s\n", dir ? dir : "(current directory)");
		goto done;
	}
	if (!no_fetch && rel_fetch_server_refs(repo, remote, "status") == REL_FETCH_FAILED)
		goto done;
	if (no_fetch)
		fprintf(stderr, "bpgate status: not fetched (--no-fetch): what this clone has, which may be out of date\n");
	if (git_revparse_single(&commit, repo, rev) < 0 || git_object_type(commit) != GIT_OBJECT_COMMIT) {
		fprintf(stderr, "bpgate status: '%s' is not a commit here\n", rev);
		goto done;
	}
	tree = git_commit_tree_id((git_commit *)commit);
	git_oid_tostr(tree_hex, sizeof(tree_hex), tree);
	git_oid_tostr(commit_hex, sizeof(commit_hex), git_object_id(commit));
	if (head_file(&pj, repo, ".bpgate/policy.json") < 0 ||
	    !(policy = json_loadb(pj.ptr, pj.size, JSON_REJECT_DUPLICATES, NULL))) {
		fprintf(stderr, "bpgate status: the policy branch (HEAD) has no readable .bpgate/policy.json\n");
		goto done;
	}
	if (head_file(&as, repo, ".bpgate/allowed_signers") == 0 &&
	    bpg_allowed_signers_parse(&signers, as.ptr ? as.ptr : "", as.size, ".bpgate/allowed_signers", &err) < 0) {
		fprintf(stderr, "bpgate status: %s\n", err.message);
		goto done;
	}
	{
		git_oid head;
		if (git_reference_name_to_id(&head, repo, "HEAD") < 0 || rel_policy_load(&pol, &psigners, repo, &head, &err) < 0)
			fprintf(stderr, "bpgate status: note: the policy of HEAD does not load (%s): approvals are not "
				"judged for whether they count\n", git_error_last() ? git_error_last()->message : err.message);
		git_error_clear();
	}
	if (git_repository_config_snapshot(&cfg, repo) == 0) {
		const char *v = NULL;
		if (git_config_get_string(&v, cfg, "bpgate.repository") == 0 && v && *v)
			cfg_repo = v;
		if (git_config_get_string(&v, cfg, "bpgate.repositoryId") == 0 && v && *v)
			cfg_rid = v;
	}
	git_error_clear();
	printf("commit %.12s, tree %.12s\n", commit_hex, tree_hex);
	const char *env;
	json_t *e;
	json_object_foreach(json_object_get(policy, "environments"), env, e) {
		const char *branch = json_string_value(json_object_get(e, "branch"));
		const char *tp[1] = { tree_hex };
		json_t *appr = json_array();
		size_t i, good = 0;
		json_t *a;
		if (!branch || !appr) {
			json_decref(appr);
			continue;
		}
		if (bpg_approvals_gather(appr, repo, env, tp, 1, signers, time(NULL), &err) < 0) {
			fprintf(stderr, "bpgate status: %s\n", err.message);
			json_decref(appr);
			goto done;
		}
		char shown[300], full[300];
		bool has;
		branch_has_tree(shown, sizeof(shown), full, &has, repo, remote, branch, tree);
		printf("%-6s %-18s %s", env, shown, has ? "has this tree" : "does not have this tree");
		json_array_foreach(appr, i, a)
			good += json_is_true(json_object_get(a, "verified"));
		printf("; approvals: %zu verified", good);
		json_array_foreach(appr, i, a)
			printf("%s %s%s", i ? "," : ":", json_string_value(json_object_get(a, "approver")) ?: "?",
				json_is_true(json_object_get(a, "verified")) ? "" : " (does not verify)");
		/* what the approvals rule would count: verified, by a role that approves here, not by an author */
		bpg_buf why = BPG_BUF_INIT;
		size_t counting = 0;
		json_array_foreach(appr, i, a) {
			const char *who = json_string_value(json_object_get(a, "approver"));
			char reason[600];
			const char *arepo = json_string_value(json_object_get(a, "repository"));
			const char *arid = json_string_value(json_object_get(a, "repository_id"));
			if (!json_is_true(json_object_get(a, "verified")) || !who)
				continue;
			if ((cfg_repo && arepo && strcmp(cfg_repo, arepo) != 0) || (cfg_rid && (!arid || strcmp(cfg_rid, arid) != 0))) {
				/* e.g. left in this clone by a push the server refused */
				bool other_name = cfg_repo && arepo && strcmp(cfg_repo, arepo) != 0;
				if (bpg_buf_printf(&why, "\n       %s's approval does not count: it names repository %s%s%s, this "
				    "is %s%s%s (git config %s); it may be one the server refused", who, other_name ? "'" : "id ",
				    other_name ? arepo : arid ? arid : "(none)", other_name ? "'" : "", other_name ? "'" : "id ",
				    other_name ? cfg_repo : cfg_rid, other_name ? "'" : "",
				    other_name ? "bpgate.repository" : "bpgate.repositoryId") < 0) {
					fprintf(stderr, "bpgate status: out of memory\n");
					bpg_buf_dispose(&why);
					json_decref(appr);
					goto done;
				}
				continue;
			}
			if (pol && approve_never_counts(reason, sizeof(reason), repo, pol, env, who,
			    git_object_id(commit), full) == 1) {
				if (bpg_buf_printf(&why, "\n       %s's approval does not count: %s", who, reason) < 0) {
					fprintf(stderr, "bpgate status: out of memory\n");
					bpg_buf_dispose(&why);
					json_decref(appr);
					goto done;
				}
				continue;
			}
			printf("%s %s", counting++ ? "," : "; counting:", who);
		}
		if (!counting)
			printf("; counting: none");
		printf("%s\n", why.ptr ? why.ptr : "");
		bpg_buf_dispose(&why);
		json_decref(appr);
	}
	make_status_print(stdout, repo, policy);
	printf("the gate decides on push: it also checks the approvals required per risk tier, segregation of\n"
		"duties, change windows, UAT evidence and stage health (`git push` shows every finding)\n");
	rc = BPG_EXIT_OK;
done:
	git_config_free(cfg);
	bpg_policy_free(pol);
	bpg_allowed_signers_free(psigners);
	bpg_allowed_signers_free(signers);
	json_decref(policy);
	bpg_buf_dispose(&pj);
	bpg_buf_dispose(&as);
	git_object_free(commit);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
