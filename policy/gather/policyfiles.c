/* The files of a policy as a git tree holds them (the server's policy ref,
 * a released commit): one reader for every front end that judges with a
 * policy taken from git rather than from a working tree. */
#include "internal.h"
#include "bpgate/policy.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <string.h>

static int add_blob(bpg_policy_files *files, git_repository *repo, const git_tree_entry *e, const char *path,
	bpg_error *err)
{
	bpg_buf data = BPG_BUF_INIT;
	char what[300];
	int rc;

	snprintf(what, sizeof(what), ".bpgate/%s", path);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return bpg_error_set(err, BPG_ERROR, "cannot read .bpgate/%s", path);
	/* the size from the object header first (bpgate/gitobj.h) */
	if ((rc = bpg_git_blob_read(&data, repo, git_tree_entry_id(e), BPG_POLICY_FILE_MAX, what, err)) == 0)
		rc = bpg_policy_files_add(files, path, data.ptr ? data.ptr : "", data.size, err);
	else if (rc != BPG_ETOOBIG && rc != BPG_ENOMEM)
		rc = bpg_error_set(err, BPG_ERROR, "cannot read .bpgate/%s", path);
	bpg_buf_dispose(&data);
	return rc;
}

/* Every *.json directly in .bpgate/<dir>/. */
static int add_dir(bpg_policy_files *files, git_repository *repo, const git_tree *root, const char *dir,
	bpg_error *err)
{
	const git_tree_entry *de = git_tree_entry_byname(root, dir);
	git_tree *t = NULL;
	int rc = 0;

	if (!de || git_tree_entry_type(de) != GIT_OBJECT_TREE)
		return 0;
	if (git_tree_lookup(&t, repo, git_tree_entry_id(de)) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "cannot read .bpgate/%s/", dir);
	}
	for (size_t i = 0; i < git_tree_entrycount(t) && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *n = git_tree_entry_name(e);
		size_t len = strlen(n);
		char path[512];
		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || len < 6 || strcmp(n + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		rc = add_blob(files, repo, e, path, err);
	}
	git_tree_free(t);
	return rc;
}

int bpg_gather_policy_files(struct bpg_policy_files **out, git_repository *repo, const git_tree *bpgate,
	bpg_error *err)
{
	bpg_policy_files *files = NULL;
	const git_tree_entry *e;
	int rc;

	*out = NULL;
	if (!(e = git_tree_entry_byname(bpgate, "policy.json")))
		return bpg_error_set(err, BPG_ENOTFOUND, "no .bpgate/policy.json");
	if ((rc = bpg_policy_files_new(&files, ".bpgate", err)) < 0 ||
	    (rc = add_blob(files, repo, e, "policy.json", err)) < 0)
		goto done;
	if ((e = git_tree_entry_byname(bpgate, "allowed_signers")) &&
	    (rc = add_blob(files, repo, e, "allowed_signers", err)) < 0)
		goto done;
	if ((rc = add_dir(files, repo, bpgate, "contracts", err)) < 0 ||
	    (rc = add_dir(files, repo, bpgate, "environments", err)) < 0 ||
	    (rc = add_dir(files, repo, bpgate, "tests", err)) < 0)
		goto done;
	*out = files;
	files = NULL;
done:
	bpg_policy_files_free(files);
	return rc;
}
