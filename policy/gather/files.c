/* The files a change touches: blueprint models and diffs, data contracts,
 * release bundles. */
#include "internal.h"
#include "commitsjob.h"
#include "bpgate/jsonfast.h"
#include "bpgate/jsonshared.h"
#include "bpgate/blueprint.h"
#include "bpgate/bundle.h"
#include "bpgate/gitobj.h"
#include "bpgate/scan.h"

#include <stdlib.h>
#include <string.h>

/* What reads file contents: one per thread (libgit2 handles and the
 * scanner's match state are not shared between threads). */
typedef struct {
	git_repository *repo;
	bpg_scanner *scanner;   /* compiled once per gather call and thread, lazily */
	const bpg_gather_opts *opts;
} reader;

/* A changed file whose content is to be described. */
typedef struct {
	json_t *file;                 /* its facts (borrowed from files[]) */
	const git_diff_delta *delta;  /* borrowed from the diff */
	bool scan;
} content_item;

static bool wants_scan(const bpg_gather_opts *opts, const char *path)
{
	const char *const *globs = opts && opts->scan_globs ? opts->scan_globs : bpg_scan_default_globs();
	size_t n = opts && opts->scan_globs ? opts->nscan_globs : SIZE_MAX;

	if (opts && opts->no_scan)
		return false;
	for (size_t i = 0; i < n && globs[i]; i++)
		if (bpg_glob_match(globs[i], path))
			return true;
	return false;
}

/* Lines of the new blob that the change adds: a bitmap indexed by line. */
typedef struct {
	unsigned char *bits;
	size_t nlines;
} added_lines;

static int on_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l, void *payload)
{
	added_lines *a = payload;
	(void)d;
	(void)h;
	if (l->origin == GIT_DIFF_LINE_ADDITION && l->new_lineno > 0 && (size_t)l->new_lineno <= a->nlines)
		a->bits[(size_t)l->new_lineno / 8] |= (unsigned char)(1u << ((size_t)l->new_lineno % 8));
	return 0;
}

static bool line_added(const added_lines *a, size_t line)
{
	return !a->bits || (line <= a->nlines && (a->bits[line / 8] >> (line % 8)) & 1);
}

/* Scanner findings of the new side `data` that lie on lines the change adds against `old`,
 * the old side's bytes describe_content read (NULL: no old side, or one over the limit,
 * which is not read: every line counts as added then). */
static int scan_delta(reader *st, json_t *file, const char *path, const bpg_buf *data, const bpg_buf *old,
	bpg_error *err)
{
	bpg_findings *found = NULL;
	added_lines added = { NULL, 0 };
	json_t *arr = NULL;
	int rc = 0;

	if (!st->scanner && (rc = bpg_scanner_new(&st->scanner, NULL, err)) < 0)
		return rc;
	if ((rc = bpg_findings_new(&found, err)) < 0)
		return rc;
	if (bpg_scan_looks_binary(data->ptr ? data->ptr : "", data->size))
		goto done;
	if ((rc = bpg_scan_buffer(st->scanner, found, path, data->ptr ? data->ptr : "", data->size, err)) < 0)
		goto done;
	if (st->opts && st->opts->scan_ignore)
		bpg_findings_apply_ignore(found, st->opts->scan_ignore);
	if (bpg_findings_count(found) == 0)
		goto done;
	/* Only what this change adds is its responsibility. */
	if (old) {
		for (size_t i = 0; i < data->size; i++)
			added.nlines += data->ptr[i] == '\n';
		added.nlines++;
		if (!(added.bits = bpg_calloc(added.nlines / 8 + 1, 1))) {
			rc = g_oom(err);
			goto done;
		}
		/* Two buffers, no repository, always as text: both sides are the bytes already
		 * read; no .gitattributes is consulted and no side is taken for binary.
		 * A diff with no lines makes no finding count as added: before, a committer's
		 * `* -diff` or `binary` attribute, or an old side with a NUL byte (a binary file
		 * replaced by text), hid every finding of the new side. */
		git_diff_options dopts;
		git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
		dopts.flags |= GIT_DIFF_FORCE_TEXT;
		if (git_diff_buffers(old->ptr ? old->ptr : "", old->size, NULL, data->ptr ? data->ptr : "", data->size,
		    NULL, &dopts, NULL, NULL, NULL, on_line, &added) < 0) {
			rc = g_git_error(err, "cannot diff a scanned file");
			goto done;
		}
	}
	if (!(arr = json_array())) {
		rc = g_oom(err);
		goto done;
	}
	for (size_t i = 0; i < bpg_findings_count(found); i++) {
		const bpg_scan_finding *f = bpg_findings_get(found, i);
		json_t *o;
		if (!line_added(&added, f->line))
			continue;
		o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:s, s:b, s:s, s:s}",
			"rule", f->rule, "path", path, "line", (json_int_t)f->line, "column", (json_int_t)f->column,
			"pointer", f->pointer ? json_string(f->pointer) : json_null(),
			"masked", f->masked, "synthetic", f->synthetic, "fingerprint", f->fingerprint,
			"severity", f->kind == BPG_SCAN_SECRET ? "secret" : "pii");
		if (!o || json_array_append_new(arr, o) < 0) {
			rc = g_oom(err);
			goto done;
		}
	}
	if (json_array_size(arr) && json_object_set(file, "scan_findings", arr) < 0)
		rc = g_oom(err);
done:
	json_decref(arr);
	free(added.bits);
	bpg_findings_free(found);
	return rc;
}

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

static int read_blob(bpg_buf *out, git_repository *repo, const git_oid *id, const char *path, bool *too_big,
	bpg_error *err)
{
	int rc;

	*too_big = false;
	if (git_oid_is_zero(id))
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: the change names no content for it", path);
	/* The size from the object header first: an oversized blob is never inflated into memory. */
	rc = bpg_git_blob_read(out, repo, id, BPG_GATHER_MAX_BLOB, path, err);
	if (rc == BPG_ETOOBIG) {
		*too_big = true;
		return 0; /* err keeps the message naming the file and the limit */
	}
	return rc;
}

static int add_parse_error(json_t *file, const char *message)
{
	return json_object_set_new(file, "parse_error", json_pack("{s:s}", "message", message));
}

/* Model of one side; *model NULL when the side is absent. The old side shares
 * the modules it has in common with the new one (`other`, its model `other_json`). */
static int model_of(json_t **model, bpg_blueprint **bp, json_t *file, const char *path, const bpg_buf *data,
	const bpg_blueprint *other, const json_t *other_json)
{
	bpg_error perr;

	*model = NULL;
	*bp = NULL;
	if (bpg_blueprint_parse(bp, data->ptr ? data->ptr : "", data->size, path, &perr) < 0) {
		if (perr.code == BPG_ENOMEM)
			return BPG_ENOMEM;
		return file ? add_parse_error(file, perr.message) : 0;
	}
	return other ? bpg_blueprint_to_json_sharing(model, *bp, other, other_json, &perr)
	             : bpg_blueprint_to_json(model, *bp, &perr);
}

static int describe_blueprint(json_t *file, const char *path, const bpg_buf *old_data,
	const bpg_buf *new_data, bool has_old, bool has_new, bool want_diff)
{
	bpg_blueprint *a = NULL, *b = NULL;
	json_t *ma = NULL, *mb = NULL, *dj = NULL;
	bpg_bpdiff *d = NULL;
	bpg_error derr;
	int rc;

	if (has_new && (rc = model_of(&mb, &b, file, path, new_data, NULL, NULL)) < 0)
		goto done;
	/* A broken old side is history: not this change's problem to report. */
	if (has_old && (rc = model_of(&ma, &a, NULL, path, old_data, mb ? b : NULL, mb)) < 0)
		goto done;
	rc = 0;
	if (mb && json_object_set(file, "blueprint", mb) < 0)
		rc = BPG_ENOMEM;
	if (ma && json_object_set(file, "old_blueprint", ma) < 0)
		rc = BPG_ENOMEM;
	if (rc == 0 && a && b && want_diff) {
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
		v = bpg_json_loadb(new_data->ptr ? new_data->ptr : "", new_data->size, JSON_REJECT_DUPLICATES, &jerr);
		if (!v)
			return json_object_set_new(file, "parse_error", json_pack("{s:s, s:i, s:i}",
				"message", jerr.text, "line", jerr.line, "column", jerr.column));
		if (json_object_set_new(file, "contract", v) < 0)
			return BPG_ENOMEM;
	}
	if (has_old) {
		v = bpg_json_loadb(old_data->ptr ? old_data->ptr : "", old_data->size, JSON_REJECT_DUPLICATES, &jerr);
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

/* The file's entry in files[] (in the diff's order); item->file is set when
 * its content is still to be described. */
static int delta_entry(json_t *paths, json_t *files, const bpg_gather_opts *opts, const git_diff_delta *delta,
	content_item *item, bpg_error *err)
{
	const char *path = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
	json_t *file;

	item->file = NULL;
	if (json_object_get(paths, path))
		return 0;
	file = json_pack("{s:s, s:s}", "path", path, "status", status_name(delta->status));
	if (!file)
		return bpg_error_set(err, BPG_EINVALID, "a changed path is not valid UTF-8; rename it");
	if (json_object_set_new(paths, path, json_true()) < 0) {
		json_decref(file);
		return g_oom(err);
	}
	if (json_array_append_new(files, file) < 0)
		return g_oom(err);
	if (delta->status == GIT_DELTA_RENAMED &&
	    json_object_set_new(file, "old_path", json_string(delta->old_file.path)) < 0)
		return g_oom(err);
	item->scan = delta->status != GIT_DELTA_DELETED && wants_scan(opts, path);
	/* Only blueprints, contracts and scanned files need their content. */
	if (strstr(path, ".json") || item->scan) {
		item->file = file;
		item->delta = delta;
	}
	return 0;
}

/* Blueprint models and diff, contract, scanner findings of one file. */
static int describe_content(reader *rd, const content_item *item, bpg_error *err)
{
	const git_diff_delta *delta = item->delta;
	const char *path = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
	bool has_old = delta->status != GIT_DELTA_ADDED, has_new = delta->status != GIT_DELTA_DELETED;
	bool big_old = false, big_new = false;
	bpg_buf od = BPG_BUF_INIT, nd = BPG_BUF_INIT;
	json_t *file = item->file;
	bpg_error big_err, old_err; /* a side over the limit: why, kept apart from err */
	int rc = 0;

	bpg_error_clear(&big_err);
	if (rd->opts && (rc = bpg_budget_check(rd->opts->budget, err)) < 0)
		goto done;
	if (has_new && (rc = read_blob(&nd, rd->repo, &delta->new_file.id, path, &big_new, &big_err)) < 0) {
		*err = big_err;
		goto done;
	}
	if (has_old && (rc = read_blob(&od, rd->repo, &delta->old_file.id, path, &big_old, &old_err)) < 0) {
		*err = old_err;
		goto done;
	}
	/* A file the scanner must read but cannot: the change is refused, not let
	 * through unscanned (a blueprint or contract gets its parse error below). */
	if (big_new && item->scan && !is_contract(path) && !bpg_gather_is_blueprint(path, NULL, 0)) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s", big_err.message);
		goto done;
	}
	if (big_new) {
		if (add_parse_error(file, "larger than the 64 MiB limit of a blueprint or contract") < 0)
			rc = g_oom(err);
		goto done;
	}
	if (is_contract(path))
		rc = describe_contract(file, &od, &nd, has_old && !big_old, has_new);
	else if (bpg_gather_is_blueprint(path, has_new ? nd.ptr : od.ptr, has_new ? nd.size : od.size))
		rc = describe_blueprint(file, path, &od, &nd, has_old && !big_old, has_new,
			!(rd->opts && rd->opts->no_blueprint_diff));
	if (rc < 0) {
		rc = rc == BPG_ENOMEM ? g_oom(err) : bpg_error_set(err, rc, "%s: its blueprint model could not be built", path);
		goto done;
	}
	if (item->scan)
		rc = scan_delta(rd, file, path, &nd, has_old && !big_old ? &od : NULL, err);
done:
	bpg_buf_dispose(&od);
	bpg_buf_dispose(&nd);
	return rc;
}

/*
 * The file contents are described from a queue that the caller works through
 * and that the commits' thread (see commitsjob.h), once its commits are done,
 * helps with, with its own repository handle and scanner: on a large push the
 * two finish together. Each item's JSON is touched by one thread only, and
 * files[] keeps the diff's order.
 */
typedef struct {
	const content_item *items;
	g_claims claims;
	const bpg_gather_opts *opts;
	int helper_rc;
	bpg_error helper_err;
} content_queue;

static int work_queue(content_queue *q, reader *rd, bpg_error *err)
{
	size_t i;
	int rc = 0;

	while (rc == 0 && g_claims_take(&q->claims, false, &i))
		if ((rc = describe_content(rd, &q->items[i], err)) < 0)
			g_claims_fail(&q->claims);
	return rc;
}

static void helper_work(void *arg, git_repository *repo)
{
	content_queue *q = arg;
	reader rd = { repo, NULL, q->opts };
	q->helper_rc = work_queue(q, &rd, &q->helper_err);
	bpg_scanner_free(rd.scanner);
}

static int describe_contents(reader *rd, g_commits_job *helper, const content_item *items, size_t n,
	bpg_error *err)
{
	content_queue q = { .items = items, .opts = rd->opts };
	bool offered;
	int rc;

	g_claims_init(&q.claims, n);
	offered = n > 1 && g_commits_offer(helper, helper_work, &q);
	rc = work_queue(&q, rd, err);

	/* files done here: share the commits the thread has not reached yet */
	if (rc == 0)
		g_commits_help(helper);
	if (offered)
		g_commits_offer_wait(helper);
	if (rc == 0 && q.helper_rc < 0)
		rc = bpg_error_set(err, q.helper_rc, "%s", q.helper_err.message);
	g_claims_dispose(&q.claims);
	return rc;
}

git_diff_options g_diff_opts(void)
{
	git_diff_options dopts;

	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	dopts.flags |= GIT_DIFF_SKIP_BINARY_CHECK;
	return dopts;
}

int g_gather_tree_diff(json_t *facts, git_repository *repo, git_tree *old_tree, git_tree *new_tree,
	git_index *index, g_commits_job *helper, const bpg_gather_opts *opts, bpg_error *err)
{
	git_diff_options dopts = g_diff_opts();
	git_diff *diff = NULL;
	int rc;

	/* libgit2 reads the subtrees itself, not through bpg_git_odb_read: bounded as they are read */
	bpg_git_work_begin();
	int drc = index ? git_diff_tree_to_index(&diff, repo, old_tree, index, &dopts)
	                : git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &dopts);
	if ((rc = bpg_git_work_end("a tree of the change", err)) < 0) {
		git_diff_free(diff);
		return rc;
	}
	if (drc < 0)
		return g_git_error(err, "cannot compute the changed files");
	rc = g_gather_diff(facts, repo, diff, new_tree, index, helper, opts, err);
	git_diff_free(diff);
	return rc;
}

int g_gather_diff(json_t *facts, git_repository *repo, git_diff *diff, git_tree *new_tree,
	git_index *index, g_commits_job *helper, const bpg_gather_opts *opts, bpg_error *err)
{
	json_t *files, *paths;
	reader rd = { repo, NULL, opts };
	content_item *items = NULL;
	size_t n, nitems = 0;
	json_t *f;
	int rc = 0;

	bpg_json_shared_begin(); /* the models' strings, and the commits this thread helps with */
	files = g_array_of(facts, "files");
	paths = json_object();
	if (!files || !paths) {
		rc = g_oom(err);
		goto done;
	}
	json_array_foreach(files, n, f) {
		const char *p = json_string_value(json_object_get(f, "path"));
		if (p && json_object_set_new(paths, p, json_true()) < 0) {
			rc = g_oom(err);
			goto done;
		}
	}
	n = git_diff_num_deltas(diff);
	if (n > BPG_GATHER_MAX_FILES) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "the change touches %zu files, more than the %d the gate "
			"judges at once; split it", n, BPG_GATHER_MAX_FILES);
		goto done;
	}
	if (!(items = bpg_calloc(n ? n : 1, sizeof(*items)))) {
		rc = g_oom(err);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = delta_entry(paths, files, opts, git_diff_get_delta(diff, i), &items[nitems], err)) < 0)
			goto done;
		nitems += items[nitems].file != NULL;
	}
	if ((rc = describe_contents(&rd, helper, items, nitems, err)) < 0)
		goto done;
	if (!(opts && opts->no_bundles))
		rc = g_check_bundles(facts, repo, new_tree, index, opts, err);
done:
	bpg_json_shared_end();
	free(items);
	json_decref(paths);
	bpg_scanner_free(rd.scanner);
	return rc;
}
