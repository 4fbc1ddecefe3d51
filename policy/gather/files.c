/* The files a change touches: blueprint models and diffs, data contracts,
 * release bundles. */
#include "internal.h"
#include "bpgate/blueprint.h"
#include "bpgate/bundle.h"

#include <string.h>

static bool is_contract(const char *path)
{
	return strncmp(path, ".bpgate/contracts/", 18) == 0 && strlen(path) > 23 &&
		strcmp(path + strlen(path) - 5, ".json") == 0 && !strchr(path + 18, '/');
}

bool bpg_gather_is_blueprint(const char *path, const char *data, size_t len)
{
	size_t n = strlen(path);
	if (strncmp(path, ".bpgate/", 8) == 0 || bpg_bundle_is_manifest_path(path))
		return false;
	if (n >= 15 && strcmp(path + n - 15, ".blueprint.json") == 0)
		return true;
	return n >= 5 && strcmp(path + n - 5, ".json") == 0 && data && bpg_blueprint_looks_like(data, len);
}

static int read_blob(bpg_buf *out, git_repository *repo, const git_oid *id, bool *too_big, bpg_error *err)
{
	git_blob *blob = NULL;
	git_object_size_t size;
	int rc = 0;

	*too_big = false;
	if (git_oid_is_zero(id))
		return BPG_ENOTFOUND;
	if (git_blob_lookup(&blob, repo, id) < 0)
		return g_git_error(err, "cannot read a blob of the change");
	size = git_blob_rawsize(blob);
	if (size > BPG_GATHER_MAX_BLOB)
		*too_big = true;
	else if (bpg_buf_put(out, git_blob_rawcontent(blob), (size_t)size) < 0)
		rc = g_oom(err);
	git_blob_free(blob);
	return rc;
}

static int add_parse_error(json_t *file, const char *message)
{
	return json_object_set_new(file, "parse_error", json_pack("{s:s}", "message", message));
}

/* Model of one side; *model NULL when the side is absent. */
static int model_of(json_t **model, bpg_blueprint **bp, json_t *file, const char *path, const bpg_buf *data)
{
	bpg_error perr;

	*model = NULL;
	*bp = NULL;
	if (bpg_blueprint_parse(bp, data->ptr ? data->ptr : "", data->size, path, &perr) < 0) {
		if (perr.code == BPG_ENOMEM)
			return BPG_ENOMEM;
		return file ? add_parse_error(file, perr.message) : 0;
	}
	if (bpg_blueprint_to_json(model, *bp, &perr) < 0)
		return BPG_ENOMEM;
	return 0;
}

static int describe_blueprint(json_t *file, const char *path, const bpg_buf *old_data,
	const bpg_buf *new_data, bool has_old, bool has_new)
{
	bpg_blueprint *a = NULL, *b = NULL;
	json_t *ma = NULL, *mb = NULL, *dj = NULL;
	bpg_bpdiff *d = NULL;
	bpg_error derr;
	int rc;

	if (has_new && (rc = model_of(&mb, &b, file, path, new_data)) < 0)
		goto done;
	/* A broken old side is history: not this change's problem to report. */
	if (has_old && (rc = model_of(&ma, &a, NULL, path, old_data)) < 0)
		goto done;
	rc = 0;
	if (mb && json_object_set(file, "blueprint", mb) < 0)
		rc = BPG_ENOMEM;
	if (ma && json_object_set(file, "old_blueprint", ma) < 0)
		rc = BPG_ENOMEM;
	if (rc == 0 && a && b) {
		if (bpg_bpdiff_compute(&d, a, b, &derr) < 0 || bpg_bpdiff_to_json(&dj, d, &derr) < 0 ||
		    json_object_set(file, "diff", dj) < 0)
			rc = BPG_ENOMEM;
	}
done:
	json_decref(ma);
	json_decref(mb);
	json_decref(dj);
	bpg_bpdiff_free(d);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
	return rc;
}

static int describe_contract(json_t *file, const bpg_buf *old_data, const bpg_buf *new_data,
	bool has_old, bool has_new)
{
	json_error_t jerr;
	json_t *v;

	if (has_new) {
		v = json_loadb(new_data->ptr ? new_data->ptr : "", new_data->size, JSON_REJECT_DUPLICATES, &jerr);
		if (!v)
			return json_object_set_new(file, "parse_error", json_pack("{s:s, s:i, s:i}",
				"message", jerr.text, "line", jerr.line, "column", jerr.column));
		if (json_object_set_new(file, "contract", v) < 0)
			return BPG_ENOMEM;
	}
	if (has_old) {
		v = json_loadb(old_data->ptr ? old_data->ptr : "", old_data->size, JSON_REJECT_DUPLICATES, &jerr);
		if (v && json_object_set_new(file, "old_contract", v) < 0)
			return BPG_ENOMEM;
	}
	return 0;
}

static const char *status_name(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED: return "added";
	case GIT_DELTA_DELETED: return "deleted";
	case GIT_DELTA_RENAMED: return "renamed";
	default: return "modified";
	}
}

static int describe_delta(json_t *files, git_repository *repo, const git_diff_delta *delta, bpg_error *err)
{
	const char *path = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
	bool has_old = delta->status != GIT_DELTA_ADDED, has_new = delta->status != GIT_DELTA_DELETED;
	bool big_old = false, big_new = false;
	bpg_buf od = BPG_BUF_INIT, nd = BPG_BUF_INIT;
	json_t *file;
	int rc = 0;

	if (g_find_by(files, "path", path))
		return 0;
	file = json_pack("{s:s, s:s}", "path", path, "status", status_name(delta->status));
	if (!file)
		return bpg_error_set(err, BPG_EINVALID, "a changed path is not valid UTF-8; rename it");
	if (json_array_append_new(files, file) < 0)
		return g_oom(err);
	if (delta->status == GIT_DELTA_RENAMED &&
	    json_object_set_new(file, "old_path", json_string(delta->old_file.path)) < 0)
		return g_oom(err);
	/* Only blueprints and contracts need their content here. */
	if (!strstr(path, ".json"))
		return 0;
	if (has_new && (rc = read_blob(&nd, repo, &delta->new_file.id, &big_new, err)) < 0)
		goto done;
	if (has_old && (rc = read_blob(&od, repo, &delta->old_file.id, &big_old, err)) < 0)
		goto done;
	if (big_new) {
		if (add_parse_error(file, "larger than the 64 MiB limit of a blueprint or contract") < 0)
			rc = g_oom(err);
		goto done;
	}
	if (is_contract(path))
		rc = describe_contract(file, &od, &nd, has_old && !big_old, has_new);
	else if (bpg_gather_is_blueprint(path, has_new ? nd.ptr : od.ptr, has_new ? nd.size : od.size))
		rc = describe_blueprint(file, path, &od, &nd, has_old && !big_old, has_new);
	if (rc < 0)
		rc = g_oom(err);
done:
	bpg_buf_dispose(&od);
	bpg_buf_dispose(&nd);
	return rc;
}

int g_gather_tree_diff(json_t *facts, git_repository *repo, git_tree *old_tree, git_tree *new_tree,
	git_index *index, const bpg_gather_opts *opts, bpg_error *err)
{
	git_diff_options dopts;
	git_diff *diff = NULL;
	json_t *files = g_array_of(facts, "files");
	size_t n;
	int rc = 0;

	(void)opts;
	if (!files)
		return g_oom(err);
	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	dopts.flags |= GIT_DIFF_SKIP_BINARY_CHECK;
	if ((index ? git_diff_tree_to_index(&diff, repo, old_tree, index, &dopts)
	           : git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &dopts)) < 0)
		return g_git_error(err, "cannot compute the changed files");
	n = git_diff_num_deltas(diff);
	if (n > BPG_GATHER_MAX_FILES) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "the change touches %zu files, more than the %d the gate "
			"judges at once; split it", n, BPG_GATHER_MAX_FILES);
		goto done;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = describe_delta(files, repo, git_diff_get_delta(diff, i), err);
done:
	git_diff_free(diff);
	return rc;
}
