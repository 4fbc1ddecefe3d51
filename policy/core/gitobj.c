/* Size-checked reads of git objects (bpgate/gitobj.h). */
#include "bpgate/gitobj.h"

#include <stdio.h>

static const char *type_name(git_object_t t)
{
	return t == GIT_OBJECT_BLOB ? "file" : t == GIT_OBJECT_TREE ? "tree" : t == GIT_OBJECT_COMMIT ? "commit" :
		t == GIT_OBJECT_TAG ? "tag" : "object";
}

/* "1024 MiB", "70 KiB", "12 bytes" */
static void human(char *out, size_t cap, size_t n)
{
	if (n >= (size_t)1 << 20)
		snprintf(out, cap, "%zu MiB", n >> 20);
	else if (n >= 1024)
		snprintf(out, cap, "%zu KiB", n >> 10);
	else
		snprintf(out, cap, "%zu bytes", n);
}

int bpg_git_object_size(size_t *size, git_object_t *type, git_repository *repo, const git_oid *id,
	git_object_t want, size_t max, const char *what, bpg_error *err)
{
	git_odb *odb = NULL;
	git_object_t t = GIT_OBJECT_INVALID;
	size_t n = 0;
	int r;

	if (size)
		*size = 0;
	if (type)
		*type = GIT_OBJECT_INVALID;
	if (git_repository_odb(&odb, repo) < 0)
		return bpg_error_set(err, BPG_ERROR, "%s: cannot open the object database", what);
	r = git_odb_read_header(&n, &t, odb, id);
	git_odb_free(odb);
	if (r < 0) {
		const git_error *e = git_error_last();
		int code = r == GIT_ENOTFOUND ? BPG_ENOTFOUND : BPG_ERROR;
		bpg_error_set(err, code, "%s: cannot read the object: %s", what, e && e->message ? e->message : "git error");
		git_error_clear();
		return code;
	}
	if (size)
		*size = n;
	if (type)
		*type = t;
	if (want != GIT_OBJECT_ANY && t != want)
		return bpg_error_set(err, BPG_EINVALID, "%s: a %s where a %s was expected", what, type_name(t),
			type_name(want));
	if (n > max) {
		char have[32], lim[32];
		human(have, sizeof(have), n);
		human(lim, sizeof(lim), max);
		return bpg_error_set(err, BPG_ETOOBIG, "%s: %s, larger than the %s limit of a %s the gate reads",
			what, have, lim, type_name(t));
	}
	return 0;
}

int bpg_git_blob_read(bpg_buf *out, git_repository *repo, const git_oid *id, size_t max, const char *what,
	bpg_error *err)
{
	git_blob *b = NULL;
	int rc;

	if ((rc = bpg_git_object_size(NULL, NULL, repo, id, GIT_OBJECT_BLOB, max, what, err)) < 0)
		return rc;
	if (git_blob_lookup(&b, repo, id) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "%s: cannot read the file", what);
	}
	/* the header said so; a lying object database still cannot pass the limit */
	if ((size_t)git_blob_rawsize(b) > max)
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: larger than the limit of a file the gate reads", what);
	else if ((rc = bpg_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b))) < 0)
		rc = bpg_error_set(err, rc, "out of memory");
	git_blob_free(b);
	return rc;
}

int bpg_git_commit_lookup(git_commit **out, git_repository *repo, const git_oid *id, const char *what,
	bpg_error *err)
{
	int rc;

	*out = NULL;
	if ((rc = bpg_git_object_size(NULL, NULL, repo, id, GIT_OBJECT_COMMIT, BPG_GIT_COMMIT_MAX, what, err)) < 0)
		return rc;
	if (git_commit_lookup(out, repo, id) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "%s: cannot read the commit", what);
	}
	return 0;
}

int bpg_git_tree_lookup(git_tree **out, git_repository *repo, const git_oid *id, const char *what,
	bpg_error *err)
{
	int rc;

	*out = NULL;
	if ((rc = bpg_git_object_size(NULL, NULL, repo, id, GIT_OBJECT_TREE, BPG_GIT_TREE_MAX, what, err)) < 0)
		return rc;
	if (git_tree_lookup(out, repo, id) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "%s: cannot read the tree", what);
	}
	return 0;
}
