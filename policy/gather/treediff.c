/*
 * The paths each commit of a push changes against its first parent.
 *
 * Run for every commit of a push, this was most of the gate's time on large
 * pushes (tests/bench/receive_bench.sh): first git_diff_tree_to_tree, then
 * git_tree_lookup, whose parser allocates and grows an entry array for every
 * tree version read. Here the raw tree objects are compared in place, and the
 * trees a commit read on its new side are kept for the next commit, whose
 * parent tree they usually are (commits are walked parents first), so each
 * tree version is read once. Two versions of a large directory share most of
 * their bytes: entries in the bytes they share at both ends are parsed on the
 * old side only (still checked) and not compared.
 *
 * Tree objects are hostile input: every entry is bounds-checked and a
 * malformed tree is an error, not a guess.
 */
#include "internal.h"
#include "treediff.h"
#include "bpgate/gitobj.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TREE_DEPTH_MAX 256
/* trees kept from one commit for the next: enough for any sane nesting */
#define KEEP_MAX 64

/* Where each entry of a checked tree object starts: uint32_t offsets (trees
 * are under BPG_GIT_TREE_MAX, 64 MiB) in a growable buffer. */
typedef bpg_buf entry_index;

typedef struct {
	git_oid id;
	git_odb_object *obj;
	entry_index ents; /* empty until the tree has been read through */
} kept_tree;

struct g_treediff {
	git_odb *odb;
	kept_tree prev[KEEP_MAX], cur[KEEP_MAX];
	size_t nprev, ncur;
	bpg_buf path;
};

/* One entry of a raw tree object. */
typedef struct {
	const char *at;     /* where the entry starts */
	const char *name;
	size_t name_len;
	unsigned mode;
	const unsigned char *oid;
} raw_entry;

typedef struct {
	const char *start, *p, *end;
} raw_tree;

static void kept_clear(kept_tree *k, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		git_odb_object_free(k[i].obj);
		bpg_buf_dispose(&k[i].ents);
	}
	*n = 0;
}

static size_t index_len(const entry_index *x)
{
	return x->size / sizeof(uint32_t);
}

static size_t index_at(const entry_index *x, size_t k)
{
	uint32_t v;
	memcpy(&v, x->ptr + k * sizeof(v), sizeof(v));
	return v;
}

static int index_add(entry_index *x, size_t off)
{
	uint32_t v = (uint32_t)off;
	return bpg_buf_put(x, &v, sizeof(v));
}

int g_treediff_new(g_treediff **out, git_repository *repo, bpg_error *err)
{
	g_treediff *t = bpg_calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return g_oom(err);
	t->path = (bpg_buf)BPG_BUF_INIT;
	if (git_repository_odb(&t->odb, repo) < 0) {
		free(t);
		return g_git_error(err, "cannot open the object database");
	}
	*out = t;
	return 0;
}

void g_treediff_free(g_treediff *t)
{
	if (!t)
		return;
	kept_clear(t->prev, &t->nprev);
	kept_clear(t->cur, &t->ncur);
	git_odb_free(t->odb);
	bpg_buf_dispose(&t->path);
	free(t);
}

/* The tree object `id`, from the previous commit's new side (with its entry
 * index in *prev_index, when it has one) or the object database; the caller
 * frees it. With keep, it is kept for the next commit, in *slot. */
static int tree_read(git_odb_object **out, g_treediff *t, const git_oid *id, kept_tree **slot,
	const entry_index **prev_index, bpg_error *err)
{
	*out = NULL;
	if (slot)
		*slot = NULL;
	if (prev_index)
		*prev_index = NULL;
	for (size_t i = 0; i < t->nprev; i++)
		if (git_oid_equal(&t->prev[i].id, id)) {
			git_odb_object_dup(out, t->prev[i].obj);
			if (prev_index && t->prev[i].ents.size)
				*prev_index = &t->prev[i].ents;
			break;
		}
	if (!*out) {
		/* bounded as it is read (bpgate/gitobj.h): a huge tree is refused, not inflated */
		bpg_error why;
		int rc = bpg_git_odb_read(out, t->odb, id, GIT_OBJECT_ANY, BPG_GIT_TREE_MAX, "a tree of the change", &why);
		if (rc == BPG_ETOOBIG)
			return bpg_error_set(err, rc, "%s", why.message);
		if (rc < 0)
			return bpg_error_set(err, BPG_ERROR, "cannot read a tree of a commit (%s)", why.message);
		if (git_odb_object_type(*out) != GIT_OBJECT_TREE) {
			git_odb_object_free(*out);
			*out = NULL;
			return bpg_error_set(err, BPG_EINVALID, "a commit names as a tree an object that is not one");
		}
	}
	if (slot && t->ncur < KEEP_MAX) {
		t->cur[t->ncur].id = *id;
		git_odb_object_dup(&t->cur[t->ncur].obj, *out);
		t->cur[t->ncur].ents = (entry_index)BPG_BUF_INIT;
		*slot = &t->cur[t->ncur++];
	}
	return 0;
}

/* Modes by their type bits, as git's canon_mode() reads them: any 04xxxx is
 * a directory (a tree written as 40755 must not hide its files), a regular
 * file is 644 or 755 by its owner's execute bit. */
static unsigned normal_mode(unsigned m)
{
	switch (m & 0170000) {
	case 0040000: return 040000;
	case 0100000: return (m & 0100) ? 0100755 : 0100644;
	case 0120000: return 0120000;
	case 0160000: return 0160000;
	}
	return m;
}

/* The next entry: 1 read, 0 at the end, negative when the tree is malformed.
 * Run for every entry of every tree version of a push: a plain loop over the
 * few mode digits, one memchr for the name. */
static int raw_next(raw_tree *r, raw_entry *e, bpg_error *err)
{
	const char *p = r->p, *q = p, *lim, *nul;
	unsigned mode = 0;

	if (p == r->end)
		return 0;
	lim = r->end - p > 7 ? p + 7 : r->end; /* at most 7 mode digits */
	for (; q < lim && *q != ' '; q++) {
		if ((unsigned)(*q - '0') > 7)
			goto bad;
		mode = mode * 8 + (unsigned)(*q - '0');
	}
	if (q == p || q == r->end || *q != ' ')
		goto bad;
	nul = memchr(q + 1, '\0', (size_t)(r->end - q - 1));
	if (!nul || nul == q + 1 || r->end - nul - 1 < GIT_OID_RAWSZ)
		goto bad;
	e->at = p;
	e->mode = normal_mode(mode);
	e->name = q + 1;
	e->name_len = (size_t)(nul - q - 1);
	e->oid = (const unsigned char *)nul + 1;
	r->p = nul + 1 + GIT_OID_RAWSZ;
	return 1;
bad:
	return bpg_error_set(err, BPG_EINVALID, "a tree object is malformed (entry at byte %zu)",
		(size_t)(p - r->start));
}

/* How many leading bytes a and b share. */
static size_t common_prefix(const char *a, size_t na, const char *b, size_t nb)
{
	size_t n = na < nb ? na : nb, i = 0;

	while (i + 256 <= n && memcmp(a + i, b + i, 256) == 0)
		i += 256;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* How many trailing bytes a and b share. */
static size_t common_suffix(const char *a, size_t na, const char *b, size_t nb)
{
	size_t n = na < nb ? na : nb, i = 0;

	while (i + 256 <= n && memcmp(a + na - i - 256, b + nb - i - 256, 256) == 0)
		i += 256;
	while (i < n && a[na - i - 1] == b[nb - i - 1])
		i++;
	return i;
}

/* Read a whole tree object, every entry checked, into an index of where its
 * entries start. */
static int raw_index(const raw_tree *r, entry_index *x, bpg_error *err)
{
	raw_tree q = *r;
	raw_entry e;
	int h;

	q.p = q.start;
	while ((h = raw_next(&q, &e, err)) > 0)
		if (index_add(x, (size_t)(e.at - q.start)) < 0)
			return g_oom(err);
	return h;
}

static bool is_tree(const raw_entry *e)
{
	return e->mode == 040000;
}

/* git's tree order: names compared bytewise, a tree's name as if followed by '/'. */
static int entry_cmp(const raw_entry *a, const raw_entry *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	unsigned char ca = n < a->name_len ? (unsigned char)a->name[n] : is_tree(a) ? '/' : 0;
	unsigned char cb = n < b->name_len ? (unsigned char)b->name[n] : is_tree(b) ? '/' : 0;
	return ca < cb ? -1 : ca > cb ? 1 : 0;
}

static int tree_changes(g_treediff *t, json_t *paths, const git_oid *a, const git_oid *b, int depth,
	bpg_error *err);

/* One side's entry (or both, when they pair up) under the current path. */
static int entry_changes(g_treediff *t, json_t *paths, const raw_entry *ea, const raw_entry *eb, int depth,
	bpg_error *err)
{
	const raw_entry *e = ea ? ea : eb;
	size_t len = t->path.size;
	int rc = 0;

	if (ea && eb && ea->mode == eb->mode && memcmp(ea->oid, eb->oid, GIT_OID_RAWSZ) == 0)
		return 0;
	if ((len && bpg_buf_put(&t->path, "/", 1) < 0) || bpg_buf_put(&t->path, e->name, e->name_len) < 0)
		return g_oom(err);
	/* Entries pair up only with the same name and tree-ness (a tree sorts as
	 * "name/"), so a file replaced by a directory is a deletion and an addition. */
	if (is_tree(e)) {
		git_oid ia, ib;
		if (ea)
			git_oid_fromraw(&ia, ea->oid);
		if (eb)
			git_oid_fromraw(&ib, eb->oid);
		rc = tree_changes(t, paths, ea ? &ia : NULL, eb ? &ib : NULL, depth + 1, err);
	} else if (json_array_size(paths) >= BPG_GATHER_MAX_FILES)
		rc = bpg_error_set(err, BPG_ETOOBIG, "a commit changes more than %d files", BPG_GATHER_MAX_FILES);
	else if (!bpg_utf8_valid(t->path.ptr, t->path.size))
		rc = bpg_error_set(err, BPG_EINVALID, "a path a commit of the change touches is not valid UTF-8; rename it");
	else if (json_array_append_new(paths, json_stringn(t->path.ptr, t->path.size)) < 0)
		rc = g_oom(err);
	t->path.size = len;
	if (t->path.ptr)
		t->path.ptr[len] = '\0';
	return rc;
}

/* Paths of blobs that differ between trees a and b (NULL: empty), in tree
 * order; subtrees with the same id are skipped without being read.
 *
 * Two versions of a large directory share most of their bytes. Entries in
 * the leading bytes they share are the same entries at the same offsets, and
 * so are the entries in the trailing bytes they share: only the entries in
 * between are compared. Every entry is still checked once: the old tree's
 * through its entry index (built when it was the previous commit's new tree,
 * or read through here), the new tree's shared entries are the old one's
 * bytes, and the rest are parsed. The new tree's index is built on the way
 * for the next commit. */
static int tree_changes(g_treediff *t, json_t *paths, const git_oid *a, const git_oid *b, int depth,
	bpg_error *err)
{
	git_odb_object *oa = NULL, *ob = NULL;
	raw_tree ra = { NULL, NULL, NULL }, rb = { NULL, NULL, NULL };
	raw_entry ea, eb;
	kept_tree *bslot = NULL;
	const entry_index *aidx = NULL;
	entry_index own = BPG_BUF_INIT, bidx = BPG_BUF_INIT;
	size_t tail = 0, ka = 0; /* trailing bytes both share; the index of ea in aidx */
	int ha = 0, hb = 0, rc = 0;

	if (a && b && git_oid_equal(a, b))
		return 0;
	if (depth > TREE_DEPTH_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "trees nested deeper than %d levels", TREE_DEPTH_MAX);
	if ((a && (rc = tree_read(&oa, t, a, NULL, &aidx, err)) < 0) ||
	    (b && (rc = tree_read(&ob, t, b, &bslot, NULL, err)) < 0))
		goto done;
	if (oa) {
		ra.start = ra.p = git_odb_object_data(oa);
		ra.end = ra.p + git_odb_object_size(oa);
	}
	if (ob) {
		rb.start = rb.p = git_odb_object_data(ob);
		rb.end = rb.p + git_odb_object_size(ob);
	}
	if (oa && ob) {
		size_t la = (size_t)(ra.end - ra.start), lb = (size_t)(rb.end - rb.start);
		size_t same = common_prefix(ra.start, la, rb.start, lb), lo = 0, hi;
		tail = common_suffix(ra.start, la, rb.start, lb);
		if (!aidx) {
			if ((rc = raw_index(&ra, &own, err)) < 0)
				goto done;
			aidx = &own;
		}
		/* the first entry of a that does not end within the shared leading bytes */
		for (hi = index_len(aidx); lo < hi;) {
			size_t mid = lo + (hi - lo) / 2, end = mid + 1 < index_len(aidx) ? index_at(aidx, mid + 1) : la;
			if (end <= same)
				lo = mid + 1;
			else
				hi = mid;
		}
		ka = lo;
		/* b's leading entries are a's */
		if (bslot && ka && bpg_buf_put(&bidx, aidx->ptr, ka * sizeof(uint32_t)) < 0) {
			rc = g_oom(err);
			goto done;
		}
		ra.p = ra.start + (ka < index_len(aidx) ? index_at(aidx, ka) : la);
		rb.p = rb.start + (ra.p - ra.start);
	}
	if ((ha = raw_next(&ra, &ea, err)) < 0 || (hb = raw_next(&rb, &eb, err)) < 0) {
		rc = ha < 0 ? ha : hb;
		goto done;
	}
	if (hb && bslot && index_add(&bidx, (size_t)(eb.at - rb.start)) < 0) {
		rc = g_oom(err);
		goto done;
	}
	while (ha || hb) {
		int c = !ha ? 1 : !hb ? -1 : entry_cmp(&ea, &eb);
		if ((rc = entry_changes(t, paths, c <= 0 ? &ea : NULL, c >= 0 ? &eb : NULL, depth, err)) < 0)
			goto done;
		if (c <= 0) {
			if ((ha = raw_next(&ra, &ea, err)) < 0) {
				rc = ha;
				goto done;
			}
			ka++;
		}
		if (c >= 0) {
			if ((hb = raw_next(&rb, &eb, err)) < 0) {
				rc = hb;
				goto done;
			}
			if (hb && bslot && index_add(&bidx, (size_t)(eb.at - rb.start)) < 0) {
				rc = g_oom(err);
				goto done;
			}
		}
		/* Past the differences, both sides' remaining bytes are the same
		 * entries (both at an entry's start, as many bytes left, all within
		 * the shared tail): a's, already checked, shifted, are b's. */
		if (c == 0 && ha && hb && aidx && ra.end - ea.at == rb.end - eb.at && (size_t)(ra.end - ea.at) <= tail) {
			/* unsigned: wraps when b is shorter, and so adds a negative shift */
			size_t shift = (size_t)(eb.at - rb.start) - (size_t)(ea.at - ra.start);
			for (size_t k = ka + 1; bslot && k < index_len(aidx); k++)
				if (index_add(&bidx, index_at(aidx, k) + shift) < 0) {
					rc = g_oom(err);
					goto done;
				}
			break;
		}
	}
	if (bslot) { /* b read through: its index, for the next commit */
		bslot->ents = bidx;
		bidx = (entry_index)BPG_BUF_INIT;
	}
done:
	bpg_buf_dispose(&own);
	bpg_buf_dispose(&bidx);
	git_odb_object_free(oa);
	git_odb_object_free(ob);
	return rc;
}

json_t *g_treediff_paths(g_treediff *t, const git_oid *parent_tree, const git_oid *tree, bpg_error *err)
{
	json_t *paths = json_array();

	if (!paths) {
		g_oom(err);
		return NULL;
	}
	t->path.size = 0;
	if (tree_changes(t, paths, parent_tree, tree, 0, err) < 0) {
		json_decref(paths);
		paths = NULL;
	}
	/* this commit's new trees are the next one's old trees */
	kept_clear(t->prev, &t->nprev);
	memcpy(t->prev, t->cur, t->ncur * sizeof(t->cur[0]));
	t->nprev = t->ncur;
	t->ncur = 0;
	return paths;
}
