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

/* The type and size checks of an object of type t and n bytes. */
static int check_object(git_object_t t, size_t n, git_object_t want, size_t max, const char *what, bpg_error *err)
{
	if (want != GIT_OBJECT_ANY && t != want)
		return bpg_error_set(err, BPG_EINVALID, "%s: a %s where a %s was expected", what, type_name(t),
			type_name(want));
	if (n > max) {
		char have[32], lim[32];
		human(have, sizeof(have), n);
		human(lim, sizeof(lim), max);
		return bpg_error_set(err, BPG_ETOOBIG, "%s: %s, larger than the %s limit of a %s the gate reads",
			what, have, lim, type_name(want != GIT_OBJECT_ANY ? want : t));
	}
	return 0;
}

const char *bpg_git_message(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "git error";
}

int bpg_git_fail(bpg_error *err, const char *what)
{
	int rc = bpg_error_set(err, BPG_ERROR, "%s: %s", what, bpg_git_message());
	git_error_clear();
	return rc;
}

static int git_failure(int r, const char *what, const char *doing, bpg_error *err)
{
	int code = r == GIT_ENOTFOUND ? BPG_ENOTFOUND : BPG_ERROR;

	bpg_error_set(err, code, "%s: %s: %s", what, doing, bpg_git_message());
	git_error_clear();
	return code;
}

static int header_check(size_t *size, git_object_t *type, git_odb *odb, const git_oid *id, git_object_t want,
	size_t max, const char *what, bpg_error *err)
{
	int r = git_odb_read_header(size, type, odb, id);

	if (r < 0)
		return git_failure(r, what, "cannot read the object", err);
	return check_object(*type, *size, want, max, what, err);
}

int bpg_git_object_size(size_t *size, git_object_t *type, git_repository *repo, const git_oid *id,
	git_object_t want, size_t max, const char *what, bpg_error *err)
{
	git_odb *odb = NULL;
	git_object_t t = GIT_OBJECT_INVALID;
	size_t n = 0;
	int rc;

	if (size)
		*size = 0;
	if (type)
		*type = GIT_OBJECT_INVALID;
	if (git_repository_odb(&odb, repo) < 0)
		return bpg_error_set(err, BPG_ERROR, "%s: cannot open the object database", what);
	rc = header_check(&n, &t, odb, id, want, max, what, err);
	git_odb_free(odb);
	if (size)
		*size = n;
	if (type)
		*type = t;
	return rc;
}

/* libgit2's blocks bounded for reading an object of at most max bytes: never
 * under BPG_GIT_READ_MAX (what any read may need), plus the NUL it adds */
static void bound_reads(size_t max)
{
	size_t bound = max > BPG_GIT_READ_MAX ? max : BPG_GIT_READ_MAX;

	bpg_git_alloc_bound(bound < SIZE_MAX ? bound + 1 : bound);
}

/*
 * A read of an object of at most max bytes: libgit2's allocations bounded
 * when the bounded allocator is installed (bpg_git_alloc_install), else the
 * header checked first. read_end() turns a refused allocation into the
 * size error and checks the object read (it may have come from a cache).
 */
static int read_begin(git_repository *repo, git_odb *odb, const git_oid *id, git_object_t want, size_t max,
	const char *what, bpg_error *err)
{
	git_odb *own = NULL;
	git_object_t t;
	size_t n;
	int rc;

	if (bpg_git_alloc_bounds_reads()) {
		bound_reads(max);
		return 0;
	}
	if (!odb && git_repository_odb(&own, repo) < 0)
		return bpg_error_set(err, BPG_ERROR, "%s: cannot open the object database", what);
	rc = header_check(&n, &t, odb ? odb : own, id, want, max, what, err);
	git_odb_free(own);
	return rc;
}

static int read_end(int r, git_object_t t, size_t n, git_object_t want, size_t max, const char *what,
	const char *doing, bpg_error *err)
{
	size_t refused = 0;
	bool oom = false;

	if (bpg_git_alloc_bounds_reads() && bpg_git_alloc_unbound(&refused, &oom) < 0) {
		git_error_clear();
		if (oom)
			return bpg_error_set(err, BPG_ENOMEM, "%s: out of memory", what);
		return check_object(want != GIT_OBJECT_ANY ? want : t, refused - 1, want, max, what, err);
	}
	if (r < 0)
		return git_failure(r, what, doing, err);
	return check_object(t, n, want, max, what, err);
}

void bpg_git_work_begin(void)
{
	if (bpg_git_alloc_bounds_reads())
		bound_reads(BPG_GIT_READ_MAX);
}

int bpg_git_work_end(const char *what, bpg_error *err)
{
	size_t refused = 0;
	bool oom = false;
	char lim[32];

	if (!bpg_git_alloc_bounds_reads() || bpg_git_alloc_unbound(&refused, &oom) == 0)
		return 0;
	git_error_clear();
	if (oom)
		return bpg_error_set(err, BPG_ENOMEM, "%s: out of memory", what);
	/* the block refused is the object read (plus libgit2's NUL) or something libgit2 built
	 * while reading: say what it asked for, in MiB with a decimal (it is over 64 MiB) */
	human(lim, sizeof(lim), BPG_GIT_READ_MAX);
	return bpg_error_set(err, BPG_ETOOBIG, "%s: reading it needed a block of %.1f MiB, over the %s limit of "
		"any object the gate reads", what, (double)refused / (1 << 20), lim);
}

int bpg_git_odb_read(git_odb_object **out, git_odb *odb, const git_oid *id, git_object_t want, size_t max,
	const char *what, bpg_error *err)
{
	int r, rc;

	*out = NULL;
	if ((rc = read_begin(NULL, odb, id, want, max, what, err)) < 0)
		return rc;
	r = git_odb_read(out, odb, id);
	rc = read_end(r, r == 0 ? git_odb_object_type(*out) : GIT_OBJECT_INVALID, r == 0 ? git_odb_object_size(*out) : 0,
		want, max, what, "cannot read the object", err);
	if (rc < 0) {
		git_odb_object_free(*out);
		*out = NULL;
	}
	return rc;
}

int bpg_git_blob_read(bpg_buf *out, git_repository *repo, const git_oid *id, size_t max, const char *what,
	bpg_error *err)
{
	git_object *o = NULL;
	int r, rc;

	if ((rc = read_begin(repo, NULL, id, GIT_OBJECT_BLOB, max, what, err)) < 0)
		return rc;
	/* any type: libgit2 answers "not found" for an object of another type, which must
	 * read as what it is, as the header check says it (BPG_EINVALID) */
	r = git_object_lookup(&o, repo, id, GIT_OBJECT_ANY);
	if ((rc = read_end(r, o ? git_object_type(o) : GIT_OBJECT_INVALID,
	     o && git_object_type(o) == GIT_OBJECT_BLOB ? (size_t)git_blob_rawsize((git_blob *)o) : 0, GIT_OBJECT_BLOB,
	     max, what, "cannot read the file", err)) == 0 &&
	    (rc = bpg_buf_put(out, git_blob_rawcontent((git_blob *)o), (size_t)git_blob_rawsize((git_blob *)o))) < 0)
		rc = bpg_error_set(err, rc, "out of memory");
	git_object_free(o);
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
		rc = bpg_error_set(err, BPG_ERROR, "%s: cannot read the commit: %s", what, bpg_git_message());
		git_error_clear();
		return rc;
	}
	return 0;
}

/* The allocator's bound for a tree read is BPG_GIT_TREE_MAX + 1 only while no
 * read's floor is above it: then no tree over the limit is ever read whole. */
_Static_assert(BPG_GIT_TREE_MAX >= BPG_GIT_READ_MAX, "a tree's size is checked by the allocator's bound");

int bpg_git_tree_lookup(git_tree **out, git_repository *repo, const git_oid *id, const char *what,
	bpg_error *err)
{
	git_object *o = NULL;
	int r, rc;

	*out = NULL;
	if ((rc = read_begin(repo, NULL, id, GIT_OBJECT_TREE, BPG_GIT_TREE_MAX, what, err)) < 0)
		return rc;
	r = git_object_lookup(&o, repo, id, GIT_OBJECT_ANY); /* any type: see bpg_git_blob_read */
	/* the size: the allocator's bound (above), or the header checked by read_begin */
	if ((rc = read_end(r, o ? git_object_type(o) : GIT_OBJECT_INVALID, 0, GIT_OBJECT_TREE, BPG_GIT_TREE_MAX, what,
	     "cannot read the tree", err)) < 0) {
		git_object_free(o);
		return rc;
	}
	*out = (git_tree *)o;
	return 0;
}
