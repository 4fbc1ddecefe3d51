/* Views of a tree of files for the bundle check: a working tree, a git tree. */
#include "bundle_internal.h"
#include "bpgate/gitobj.h"

#include <dirent.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_DEPTH_MAX 64

/* Tree paths come from manifests: refuse anything that could leave the root. */
static bool tree_path_ok(const char *p)
{
	const char *why;

	return bundle_path_ok(p, strlen(p), &why);
}

/* ---- working tree ----------------------------------------------------- */

static int wd_read(bpg_buf *out, const char *path, size_t max, void *payload, bpg_error *err)
{
	const char *root = payload;
	bpg_buf full = BPG_BUF_INIT;
	struct stat st;
	int rc;

	if (!tree_path_ok(path))
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: not a path inside the tree", path);
	if (bpg_buf_printf(&full, "%s/%s", root, path) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (lstat(full.ptr, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		rc = bpg_error_set(err, BPG_ENOTFOUND, "%s: no such file", path);
	else
		rc = bpg_file_read(out, full.ptr, max, err);
	bpg_buf_dispose(&full);
	return rc;
}

static int wd_walk(bpg_buf *full, size_t rootlen, int depth, bpg_tree_visit_fn visit, void *vp,
	bpg_error *err)
{
	size_t mark = full->size;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > WALK_DEPTH_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: directories nested too deep", full->ptr);
	if (!(d = opendir(full->ptr)))
		return 0; /* an absent directory has no extra files */
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		full->size = mark;
		full->ptr[mark] = '\0';
		if (bpg_buf_printf(full, "/%s", de->d_name) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			break;
		}
		if (lstat(full->ptr, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = wd_walk(full, rootlen, depth + 1, visit, vp, err);
		else if (S_ISREG(st.st_mode))
			rc = visit(full->ptr + rootlen + 1, vp);
	}
	closedir(d);
	full->size = mark;
	full->ptr[mark] = '\0';
	return rc;
}

static int wd_list(const char *dir, bpg_tree_visit_fn visit, void *vp, void *payload, bpg_error *err)
{
	const char *root = payload;
	bpg_buf full = BPG_BUF_INIT;
	int rc;

	if (*dir && !tree_path_ok(dir))
		return 0;
	if (bpg_buf_printf(&full, "%s%s%s", root, *dir ? "/" : "", dir) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = wd_walk(&full, strlen(root), 0, visit, vp, err);
	bpg_buf_dispose(&full);
	return rc;
}

void bpg_tree_workdir(bpg_tree *out, const char *root)
{
	out->read = wd_read;
	out->list = wd_list;
	out->payload = (void *)root;
}

/* ---- git tree --------------------------------------------------------- */

typedef struct {
	git_repository *repo;
	const git_tree *tree;
} git_view;

static int git_read(bpg_buf *out, const char *path, size_t max, void *payload, bpg_error *err)
{
	git_view *v = payload;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int rc = 0;

	if (!tree_path_ok(path))
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: not a path inside the tree", path);
	if (git_tree_entry_bypath(&e, v->tree, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "%s: no such file in the tree", path);
		goto done;
	}
	/* the size from the object header first: never inflated when too big */
	rc = bpg_git_blob_read(out, v->repo, git_tree_entry_id(e), max, path, err);
	if (rc < 0 && rc != BPG_ETOOBIG && rc != BPG_ENOMEM && rc != BPG_ENOTFOUND) {
		rc = BPG_EIO;
		if (err)
			err->code = rc;
	}
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return rc;
}

typedef struct {
	const char *dir;
	bpg_tree_visit_fn visit;
	void *vp;
	bpg_buf path;
	int rc;
} git_walk;

static int git_walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
	git_walk *w = payload;
	const char *name = git_tree_entry_name(e);

	if (name[0] == '.')
		return 1; /* skip dot-files and dot-directories */
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return 0;
	bpg_buf_clear(&w->path);
	if (bpg_buf_printf(&w->path, "%s%s%s%s", w->dir, *w->dir ? "/" : "", root, name) < 0) {
		w->rc = BPG_ENOMEM;
		return -1;
	}
	if ((w->rc = w->visit(w->path.ptr, w->vp)) < 0)
		return -1;
	return 0;
}

static int git_list(const char *dir, bpg_tree_visit_fn visit, void *vp, void *payload, bpg_error *err)
{
	git_view *v = payload;
	git_tree_entry *e = NULL;
	git_tree *sub = NULL;
	const git_tree *t = v->tree;
	git_walk w = { dir, visit, vp, BPG_BUF_INIT, 0 };
	int rc = 0;

	if (*dir) {
		if (!tree_path_ok(dir) || git_tree_entry_bypath(&e, v->tree, dir) < 0 ||
		    git_tree_entry_type(e) != GIT_OBJECT_TREE)
			goto done; /* no such directory: nothing extra */
		if (git_tree_lookup(&sub, v->repo, git_tree_entry_id(e)) < 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot read the tree", dir);
			goto done;
		}
		t = sub;
	}
	if (git_tree_walk(t, GIT_TREEWALK_PRE, git_walk_cb, &w) < 0 || w.rc < 0)
		rc = w.rc < 0 ? (err && err->code ? w.rc : bpg_error_set(err, w.rc, "listing %s failed", dir))
			      : bpg_error_set(err, BPG_EIO, "%s: cannot walk the tree", dir);
done:
	bpg_buf_dispose(&w.path);
	git_tree_free(sub);
	git_tree_entry_free(e);
	return rc;
}

int bpg_tree_git(bpg_tree *out, void *repo, const void *tree, bpg_error *err)
{
	git_view *v = malloc(sizeof(*v));

	if (!v)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	v->repo = repo;
	v->tree = tree;
	out->read = git_read;
	out->list = git_list;
	out->payload = v;
	return 0;
}

void bpg_tree_git_free(bpg_tree *tree)
{
	if (tree) {
		free(tree->payload);
		tree->payload = NULL;
	}
}
