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
	if (bpg_buf_printf(&sigpath, "%s.minisig", manifest_path) < 0) {
		rc = g_oom(err); /* never read as "no signature" */
		goto done;
	}
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

/* At most this many release bundle manifests in one tree: a change with more is refused. */
#define MANIFESTS_MAX 10000

typedef struct {
	char **paths;
	size_t n, alloc;
	int stopped; /* why collect_manifest stopped the walk: BPG_ENOMEM or BPG_ETOOBIG (0: it did not) */
} manifest_list;

static int collect_manifest(const char *root, const git_tree_entry *entry, void *payload)
{
	manifest_list *l = payload;
	char path[4096];

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(entry));
	if (!bpg_bundle_is_manifest_path(path))
		return 0;
	if (l->n >= MANIFESTS_MAX) {
		l->stopped = BPG_ETOOBIG;
		return -1;
	}
	char **p = bpg_array_grow(l->paths, &l->alloc, l->n + 1, sizeof(*p), 8);
	if (!p || !(p[l->n] = bpg_strdup(path))) {
		if (p)
			l->paths = p;
		l->stopped = BPG_ENOMEM;
		return -1;
	}
	l->paths = p;
	l->n++;
	return 0;
}

/* Does the staged content hold a release bundle manifest? The same blobs the
 * walk of the staged tree below visits (gitlinks are not blobs); with
 * conflicts, yes: writing the tree then says why it cannot be read. */
static bool index_has_manifest(git_index *index)
{
	size_t n = git_index_entrycount(index);

	if (git_index_has_conflicts(index))
		return true;
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		if (e && e->mode != GIT_FILEMODE_COMMIT && bpg_bundle_is_manifest_path(e->path))
			return true;
	}
	return false;
}

/* Every bundle in the resulting tree is judged whenever the change touches
 * anything: a bundle goes stale when a file it lists changes, not only when
 * the manifest itself does. */
int g_check_bundles(json_t *facts, git_repository *repo, git_tree *new_tree, git_index *index,
	const bpg_gather_opts *opts, bpg_error *err)
{
	json_t *files = json_object_get(facts, "files"), *bundles = g_array_of(facts, "bundles");
	git_tree *index_tree = NULL;
	bpg_tree tree = { NULL, NULL, NULL };
	bpg_releaser *releasers = NULL;
	manifest_list list = { NULL, 0, 0, 0 };
	size_t nreleasers = 0;
	bool have_tree = false;
	int rc = 0;

	if (!bundles)
		return g_oom(err);
	if (json_array_size(files) == 0)
		return 0;
	/* The staged content has no tree yet: write one (objects only, no ref),
	 * unless no bundle is staged at all (a commit's usual case: writing and
	 * walking the whole tree was most of this function's time). */
	if (!new_tree && index && !index_has_manifest(index))
		goto done;
	if (!new_tree && index) {
		git_oid tid;
		if (git_index_write_tree_to(&tid, index, repo) < 0 || git_tree_lookup(&index_tree, repo, &tid) < 0)
			return g_git_error(err, "cannot read the staged tree");
		new_tree = index_tree;
	}
	if (!new_tree)
		goto done;
	if (git_tree_walk(new_tree, GIT_TREEWALK_PRE, collect_manifest, &list) < 0) {
		if (list.stopped == BPG_ETOOBIG)
			rc = bpg_error_set(err, BPG_ETOOBIG, "the change holds more than %d release bundle manifests, "
				"the most the gate judges in one tree: remove old bundles or split the repository", MANIFESTS_MAX);
		else if (list.stopped == BPG_ENOMEM)
			rc = g_oom(err);
		else
			rc = g_git_error(err, "cannot read the change's tree to list its release bundles");
		goto done;
	}
	if (list.n == 0)
		goto done;
	if ((rc = bpg_tree_git(&tree, repo, new_tree, err)) < 0)
		goto done;
	have_tree = true;
	if (opts && opts->nreleasers &&
	    (rc = bpg_releasers_load(&releasers, &nreleasers, opts->keys_tree ? opts->keys_tree : &tree,
	    ".bpgate/keys", opts->releasers, opts->nreleasers, err)) < 0)
		goto done;
	for (size_t i = 0; i < list.n; i++) {
		if (g_find_by(bundles, "path", list.paths[i]))
			continue;
		if ((rc = check_one(bundles, list.paths[i], &tree, releasers, nreleasers, err)) < 0)
			goto done;
	}
done:
	for (size_t i = 0; i < list.n; i++)
		free(list.paths[i]);
	free(list.paths);
	free(releasers);
	if (have_tree)
		bpg_tree_git_free(&tree);
	git_tree_free(index_tree);
	return rc;
}
