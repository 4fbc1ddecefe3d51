/* Release bundles in a change: signed by a releaser, every hash matching. */
#include "internal.h"
#include "bpgate/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_one(json_t *bundles, const char *manifest_path, const bpg_tree *tree,
	const bpg_releaser *releasers, size_t nreleasers, bpg_error *err)
{
	bpg_buf manifest = BPG_BUF_INIT, sig = BPG_BUF_INIT, sigpath = BPG_BUF_INIT;
	bpg_bundle_result *res = NULL;
	json_t *problems = json_array(), *entry;
	bool has_sig;
	int rc;

	if (!problems)
		return g_oom(err);
	if ((rc = tree->read(&manifest, manifest_path, BPG_GATHER_MAX_BLOB, tree->payload, err)) < 0)
		goto done;
	bpg_buf_printf(&sigpath, "%s.minisig", manifest_path);
	rc = tree->read(&sig, sigpath.ptr, 1 << 16, tree->payload, err);
	if (rc < 0 && rc != BPG_ENOTFOUND)
		goto done;
	has_sig = rc == 0;
	if ((rc = bpg_bundle_check(&res, manifest_path, manifest.ptr ? manifest.ptr : "", manifest.size,
	    has_sig ? (sig.ptr ? sig.ptr : "") : NULL, sig.size, releasers, nreleasers, tree, err)) < 0)
		goto done;
	for (size_t i = 0; i < bpg_bundle_result_problem_count(res); i++) {
		const bpg_bundle_problem *p = bpg_bundle_result_problem(res, i);
		json_array_append_new(problems, json_sprintf("%s: %s: %s", bpg_bundle_problem_kind_name(p->kind),
			p->path ? p->path : manifest_path, p->detail ? p->detail : ""));
	}
	const bpg_bundle *b = bpg_bundle_result_bundle(res);
	entry = json_pack("{s:s, s:b, s:o, s:o, s:O}", "path", manifest_path,
		"ok", bpg_bundle_result_ok(res),
		"signer", bpg_bundle_result_principal(res) ? json_string(bpg_bundle_result_principal(res)) : json_null(),
		"environment", b && bpg_bundle_environment(b) ? json_string(bpg_bundle_environment(b)) : json_null(),
		"problems", problems);
	if (!entry || json_array_append_new(bundles, entry) < 0)
		rc = g_oom(err);
done:
	json_decref(problems);
	bpg_bundle_result_free(res);
	bpg_buf_dispose(&manifest);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&sigpath);
	return rc;
}

int g_check_bundles(json_t *facts, git_repository *repo, git_tree *new_tree, git_index *index,
	const bpg_gather_opts *opts, bpg_error *err)
{
	json_t *files = json_object_get(facts, "files"), *bundles = g_array_of(facts, "bundles"), *f;
	git_tree *index_tree = NULL;
	bpg_tree tree = { NULL, NULL, NULL };
	bpg_releaser *releasers = NULL;
	size_t nreleasers = 0, i;
	bool any = false, have_tree = false;
	int rc = 0;

	if (!bundles)
		return g_oom(err);
	json_array_foreach(files, i, f) {
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *st = json_string_value(json_object_get(f, "status"));
		if (p && st && strcmp(st, "deleted") != 0 && (bpg_bundle_is_manifest_path(p) ||
		    (strlen(p) > 8 && strcmp(p + strlen(p) - 8, ".minisig") == 0)))
			any = true;
	}
	if (!any)
		return 0;
	/* The staged content has no tree yet: write one (objects only, no ref). */
	if (!new_tree && index) {
		git_oid tid;
		if (git_index_write_tree_to(&tid, index, repo) < 0 || git_tree_lookup(&index_tree, repo, &tid) < 0)
			return g_git_error(err, "cannot read the staged tree");
		new_tree = index_tree;
	}
	if ((rc = bpg_tree_git(&tree, repo, new_tree, err)) < 0)
		goto done;
	have_tree = true;
	if (opts && opts->nreleasers &&
	    (rc = bpg_releasers_load(&releasers, &nreleasers, opts->keys_tree ? opts->keys_tree : &tree,
	    ".bpgate/keys", opts->releasers, opts->nreleasers, err)) < 0)
		goto done;
	json_array_foreach(files, i, f) {
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *st = json_string_value(json_object_get(f, "status"));
		char manifest[4096];
		if (!p || !st || strcmp(st, "deleted") == 0)
			continue;
		snprintf(manifest, sizeof(manifest), "%s", p);
		if (strlen(manifest) > 8 && strcmp(manifest + strlen(manifest) - 8, ".minisig") == 0)
			manifest[strlen(manifest) - 8] = '\0';
		if (!bpg_bundle_is_manifest_path(manifest) ||
		    g_find_by(bundles, "path", manifest))
			continue;
		if ((rc = check_one(bundles, manifest, &tree, releasers, nreleasers, err)) < 0) {
			if (rc == BPG_ENOTFOUND) /* a signature without its manifest: the manifest rule reports */
				rc = 0;
			else
				goto done;
		}
	}
done:
	free(releasers);
	if (have_tree)
		bpg_tree_git_free(&tree);
	git_tree_free(index_tree);
	return rc;
}
