/*
 * The pre-commit check: what the index adds relative to HEAD, in the paths
 * the policy names (fixtures, test data, UAT data, blueprints). Each staged
 * blob is scanned whole, so JSON pointers and key context are right, and
 * only findings on added lines are kept, with the file's own line numbers.
 */
#include "scan_internal.h"
#include "bpgate/gitobj.h"

#include "bpgate/util.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_globs[] = { "**/fixtures/**", "**/testdata/**", "**/uat/**",
	"**/*.blueprint.json", NULL };

const char *const *bpg_scan_default_globs(void)
{
	return default_globs;
}

static bool path_selected(const char *path, const char *const *globs)
{
	for (size_t i = 0; globs[i]; i++)
		if (bpg_glob_match(globs[i], path))
			return true;
	return false;
}

static int git_fail(bpg_error *err, const char *what, const char *path)
{
	const git_error *e = git_error_last();
	return bpg_error_set(err, BPG_ERROR, "scan staged: %s%s%s: %s", what, path ? " " : "",
		path ? path : "", e && e->message ? e->message : "libgit2 error");
}

/* Mark the new-side line numbers added by delta i. */
static int added_lines(unsigned char *keep, size_t nlines, git_diff *diff, size_t i,
	const char *path, bpg_error *err)
{
	git_patch *patch = NULL;
	int rc = 0;

	if (git_patch_from_diff(&patch, diff, i) < 0) {
		rc = git_fail(err, "cannot diff", path);
		goto done;
	}
	for (size_t h = 0; patch && h < git_patch_num_hunks(patch); h++) {
		int nl = git_patch_num_lines_in_hunk(patch, h);
		for (int l = 0; l < nl; l++) {
			const git_diff_line *line;
			if (git_patch_get_line_in_hunk(&line, patch, h, (size_t)l) < 0) {
				rc = git_fail(err, "cannot read the diff of", path);
				goto done;
			}
			if (line->origin == GIT_DIFF_LINE_ADDITION && line->new_lineno > 0 &&
			    (size_t)line->new_lineno < nlines)
				keep[line->new_lineno] = 1;
		}
	}
done:
	git_patch_free(patch);
	return rc;
}

static int scan_delta(bpg_scanner *s, bpg_findings *out, git_repository *repo, git_diff *diff,
	size_t i, bpg_error *err)
{
	const git_diff_delta *d = git_diff_get_delta(diff, i);
	const char *path = d->new_file.path;
	git_blob *blob = NULL;
	unsigned char *keep = NULL;
	const char *data;
	size_t size, nlines = 2;
	scan_ctx c;
	int rc = 0;

	/* the size from the object header first: a blob over the limit is not inflated */
	if ((rc = bpg_git_object_size(&size, NULL, repo, &d->new_file.id, GIT_OBJECT_BLOB,
	     s->opts.max_file_size < SIZE_MAX ? (size_t)s->opts.max_file_size : SIZE_MAX, path, err)) == BPG_ETOOBIG) {
		bpg_error_clear(err);
		rc = bpg_findings_add_skip(out, path, "staged file larger than the scan limit", err);
		goto done;
	}
	rc = 0;
	if (git_blob_lookup(&blob, repo, &d->new_file.id) < 0) {
		rc = git_fail(err, "cannot read the staged blob of", path);
		goto done;
	}
	size = (size_t)git_blob_rawsize(blob);
	data = git_blob_rawcontent(blob);
	if ((uint64_t)size > s->opts.max_file_size) {
		rc = bpg_findings_add_skip(out, path, "staged file larger than the scan limit", err);
		goto done;
	}
	if (bpg_scan_looks_binary(data, size)) {
		rc = bpg_findings_add_skip(out, path, "binary (NUL bytes in the first 8 KiB)", err);
		goto done;
	}
	for (const char *p = data; (p = memchr(p, '\n', size - (size_t)(p - data))); p++)
		nlines++;
	if (!(keep = calloc(nlines + 1, 1))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		goto done;
	}
	if (d->status == GIT_DELTA_ADDED)
		memset(keep, 1, nlines + 1);
	else if ((rc = added_lines(keep, nlines + 1, diff, i, path, err)) < 0)
		goto done;
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.out = out;
	c.path = path;
	c.base = data;
	c.len = size;
	c.keep_lines = keep;
	c.keep_nlines = nlines + 1;
	rc = scan_buffer_ctx(&c, err);
done:
	free(keep);
	git_blob_free(blob);
	return rc;
}

int bpg_scan_staged(bpg_scanner *s, bpg_findings *out, git_repository *repo,
	const char *const *globs, bpg_error *err)
{
	git_index *idx = NULL;
	git_object *head = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	int rc = 0, r;

	if (!s || !out || !repo)
		return bpg_error_set(err, BPG_EINVALID, "scan staged: invalid arguments");
	if (!globs)
		globs = default_globs;
	if (git_repository_index(&idx, repo) < 0) {
		rc = git_fail(err, "cannot open the index", NULL);
		goto done;
	}
	r = git_revparse_single(&head, repo, "HEAD^{tree}");
	if (r == 0) {
		tree = (git_tree *)head;
		head = NULL;
	} else if (r != GIT_ENOTFOUND && r != GIT_EUNBORNBRANCH) {
		rc = git_fail(err, "cannot read HEAD", NULL);
		goto done;
	}
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.context_lines = 0;
	opts.flags |= GIT_DIFF_FORCE_TEXT;
	if (git_diff_tree_to_index(&diff, repo, tree, idx, &opts) < 0) {
		rc = git_fail(err, "cannot diff HEAD against the index", NULL);
		goto done;
	}
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_DELETED || d->new_file.mode == GIT_FILEMODE_COMMIT ||
		    d->new_file.mode == GIT_FILEMODE_LINK || !path_selected(d->new_file.path, globs))
			continue;
		if ((rc = scan_delta(s, out, repo, diff, i, err)) < 0)
			goto done;
	}
done:
	git_diff_free(diff);
	git_tree_free(tree);
	git_object_free(head);
	git_index_free(idx);
	return rc;
}
