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
static void branch_has_tree(char *shown, size_t size, bool *has, git_repository *repo, const char *remote,
	const char *branch, const git_oid *tree)
{
	git_object *obj = NULL;
	git_reference *ref = NULL;
	char full[300], spec[320];
	const char *b = strncmp(branch, "refs/heads/", 11) == 0 ? branch + 11 : branch;

	*has = false;
	snprintf(full, sizeof(full), "refs/remotes/%s/%s", remote, b);
	if (strncmp(branch, "refs/", 5) == 0 && strncmp(branch, "refs/heads/", 11) != 0)
		snprintf(full, sizeof(full), "%s", branch);
	else if (git_reference_lookup(&ref, repo, full) < 0)
		snprintf(full, sizeof(full), "refs/heads/%s", b);
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
	bpg_allowed_signers *signers = NULL;
	bpg_buf pj = BPG_BUF_INIT, as = BPG_BUF_INIT;
	json_t *policy = NULL;
	char tree_hex[GIT_OID_HEXSZ + 1], commit_hex[GIT_OID_HEXSZ + 1];
	const git_oid *tree;
	bpg_error err;
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
	if (dir ? git_repository_open(&repo, dir) < 0 :
	          git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
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
		char shown[300];
		bool has;
		branch_has_tree(shown, sizeof(shown), &has, repo, remote, branch, tree);
		printf("%-6s %-18s %s", env, shown, has ? "has this tree" : "does not have this tree");
		json_array_foreach(appr, i, a)
			good += json_is_true(json_object_get(a, "verified"));
		printf("; approvals: %zu verified", good);
		json_array_foreach(appr, i, a)
			printf("%s %s%s", i ? "," : ":", json_string_value(json_object_get(a, "approver")) ?: "?",
				json_is_true(json_object_get(a, "verified")) ? "" : " (does not verify)");
		printf("\n");
		json_decref(appr);
	}
	printf("the gate decides on push: it also checks the approvals required per risk tier, segregation of\n"
		"duties, change windows, UAT evidence and stage health (`git push` shows every finding)\n");
	rc = BPG_EXIT_OK;
done:
	bpg_allowed_signers_free(signers);
	json_decref(policy);
	bpg_buf_dispose(&pj);
	bpg_buf_dispose(&as);
	git_object_free(commit);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
