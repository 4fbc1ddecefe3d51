/*
 * Provenance: who pushed each commit and blob to this server first.
 *
 * The record is $GIT_DIR/bpgate/provenance, written only by post-receive
 * (after git moved the refs: only accepted pushes are recorded), append-only,
 * one line per object never recorded before:
 *
 *     <40 hex object id> SP <c|b> SP <principal> LF
 *
 * c = a commit newly reachable from the updated refs, b = a blob such a
 * commit introduced (its tree holds it at a path where its parents do not).
 * The principal is the authenticated pusher (the SSH key's principal, e.g.
 * BPGATE_USER from bpgated, or GL_USER), mapped through the user map. The
 * first line of an object wins; later lines of the same object are never
 * written (an exclusive lock covers the check and the append). Pushes cannot
 * write the file: it is not a ref, and nothing of a push is copied into it
 * but object ids the server computed itself.
 *
 * Pre-receive reads it (rcv_provenance_facts) into extra.server.provenance:
 * the blobs that differ between the ref's old and new trees (the content of
 * the change) and the range's commits, each with the principal who pushed it
 * first, or null when no record names it (pushed before the record existed).
 * Objects this very push brings (git's quarantine) are the pusher's: the
 * record gets them only once the push is accepted.
 * Gathering only: segregation-of-duties decides.
 */
#include "receive.h"
#include "bpgate/util.h"
#include "bpgate/testhook.h"
#include "bpgate/gitobj.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROV_MAX_DEPTH 128           /* tree nesting */
#define PROV_MAX_CONTENT 10000       /* changed files judged in one ref update */
#define PROV_MAX_COMMITS 100000      /* commits recorded by one push */
#define PROV_MAX_OBJECTS 4000000     /* objects recorded by one push */
#define PROV_MAX_HIDDEN 100000       /* refs hidden from the walk */
#define PROV_LINE_MAX 512
#define PROV_PRINCIPAL_MAX 256

/* --- a set of object ids, each with a value (open addressing) ------------------------ */

typedef struct {
	git_oid *keys;
	size_t *vals;
	size_t cap, n;
} oidset;

#define OIDSET_NONE SIZE_MAX

static size_t oid_hash(const git_oid *id)
{
	uint64_t h;
	memcpy(&h, id->id, sizeof(h));
	return (size_t)h;
}

static size_t *oidset_find(const oidset *s, const git_oid *id)
{
	if (!s->cap)
		return NULL;
	for (size_t i = oid_hash(id) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->vals[i] == OIDSET_NONE)
			return NULL;
		if (git_oid_equal(&s->keys[i], id))
			return &s->vals[i];
	}
}

static int oidset_put(oidset *s, const git_oid *id, size_t val);

static int oidset_grow(oidset *s)
{
	oidset t = { NULL, NULL, s->cap ? s->cap * 2 : 64, 0 };
	if (!(t.keys = calloc(t.cap, sizeof(*t.keys))) || !(t.vals = malloc(t.cap * sizeof(*t.vals)))) {
		free(t.keys);
		return BPG_ENOMEM;
	}
	for (size_t i = 0; i < t.cap; i++)
		t.vals[i] = OIDSET_NONE;
	for (size_t i = 0; i < s->cap; i++)
		if (s->vals[i] != OIDSET_NONE)
			oidset_put(&t, &s->keys[i], s->vals[i]);
	free(s->keys);
	free(s->vals);
	*s = t;
	return 0;
}

/* Adds id (or replaces its value). */
static int oidset_put(oidset *s, const git_oid *id, size_t val)
{
	size_t *v = oidset_find(s, id);
	if (v) {
		*v = val;
		return 0;
	}
	if ((s->n + 1) * 2 > s->cap && oidset_grow(s) < 0)
		return BPG_ENOMEM;
	size_t i = oid_hash(id) & (s->cap - 1);
	while (s->vals[i] != OIDSET_NONE)
		i = (i + 1) & (s->cap - 1);
	git_oid_cpy(&s->keys[i], id);
	s->vals[i] = val;
	s->n++;
	return 0;
}

static void oidset_dispose(oidset *s)
{
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

/* --- the blobs a tree has where another does not -------------------------------------- */

typedef int (*blob_fn)(const char *path, const git_oid *blob, void *arg, bpg_error *err);

static int tree_changes(git_repository *repo, git_tree *nt, git_tree *ot, bpg_buf *path, int depth, blob_fn fn,
	void *arg, bpg_error *err)
{
	size_t base = path->size;
	int rc = 0;

	if (depth > PROV_MAX_DEPTH)
		return bpg_error_set(err, BPG_ETOOBIG, "a tree is nested deeper than %d levels", PROV_MAX_DEPTH);
	for (size_t i = 0; i < git_tree_entrycount(nt) && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(nt, i);
		const git_tree_entry *o = ot ? git_tree_entry_byname(ot, git_tree_entry_name(e)) : NULL;
		git_object_t type = git_tree_entry_type(e);
		git_tree *sub = NULL, *osub = NULL;

		if (o && git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e)) && git_tree_entry_type(o) == type)
			continue;
		if (type != GIT_OBJECT_BLOB && type != GIT_OBJECT_TREE)
			continue; /* submodule links carry no content of this repository */
		path->size = base;
		if ((base && bpg_buf_putc(path, '/') < 0) || bpg_buf_puts(path, git_tree_entry_name(e)) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			break;
		}
		if (type == GIT_OBJECT_BLOB) {
			rc = fn(path->ptr, git_tree_entry_id(e), arg, err);
			continue;
		}
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0) {
			rc = bpg_error_set(err, BPG_ERROR, "cannot read the tree at %s", path->ptr);
		} else {
			if (o && git_tree_entry_type(o) == GIT_OBJECT_TREE && git_tree_lookup(&osub, repo, git_tree_entry_id(o)) < 0)
				rc = bpg_error_set(err, BPG_ERROR, "cannot read the tree at %s", path->ptr);
			if (rc == 0)
				rc = tree_changes(repo, sub, osub, path, depth + 1, fn, arg, err);
		}
		git_tree_free(sub);
		git_tree_free(osub);
	}
	path->size = base;
	if (path->ptr)
		path->ptr[base] = '\0';
	git_error_clear();
	return rc;
}

/* ===================================== recording (post-receive) ====================== */

typedef struct {
	oidset seen;        /* object -> index in objs */
	git_oid *objs;
	char *kinds;        /* 'c', 'b', or 0 once found in the record */
	size_t n, cap;
	git_commit *commit; /* the commit whose blobs are being collected */
	git_repository *repo;
} candidates;

static int cand_add(candidates *c, const git_oid *id, char kind, bpg_error *err)
{
	if (oidset_find(&c->seen, id))
		return 0;
	if (c->n >= PROV_MAX_OBJECTS)
		return bpg_error_set(err, BPG_ETOOBIG, "the push introduces more than %d objects", PROV_MAX_OBJECTS);
	if (c->n == c->cap) { /* two arrays of one length: both grow to the first's new capacity */
		size_t nc = c->cap, kept = c->cap;
		git_oid *o = bpg_array_grow(c->objs, &nc, c->n + 1, sizeof(*o), 256);
		if (!o)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		c->objs = o;
		char *k = bpg_array_grow(c->kinds, &kept, nc, 1, 256);
		if (!k)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		c->kinds = k;
		c->cap = nc;
	}
	if (oidset_put(&c->seen, id, c->n) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	git_oid_cpy(&c->objs[c->n], id);
	c->kinds[c->n++] = kind;
	return 0;
}

/* A blob of the commit's tree that differs from its first parent's at that
 * path: introduced by the commit unless another parent (merge) has it there. */
static int cand_blob(const char *path, const git_oid *blob, void *arg, bpg_error *err)
{
	candidates *c = arg;
	for (unsigned p = 1; p < git_commit_parentcount(c->commit); p++) {
		git_commit *pc = NULL;
		git_tree *pt = NULL;
		git_tree_entry *e = NULL;
		bool same = git_commit_parent(&pc, c->commit, p) == 0 && git_commit_tree(&pt, pc) == 0 &&
			git_tree_entry_bypath(&e, pt, path) == 0 && git_oid_equal(git_tree_entry_id(e), blob);
		git_tree_entry_free(e);
		git_tree_free(pt);
		git_commit_free(pc);
		git_error_clear();
		if (same)
			return 0;
	}
	return cand_add(c, blob, 'b', err);
}

static bool principal_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	if (n == 0 || n > PROV_PRINCIPAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return false;
	return true;
}

static int peel_commit(git_oid *out, git_repository *repo, const git_oid *id)
{
	git_object *o = NULL, *c = NULL;
	int rc = -1;
	if (git_object_lookup(&o, repo, id, GIT_OBJECT_ANY) == 0 && git_object_peel(&c, o, GIT_OBJECT_COMMIT) == 0) {
		git_oid_cpy(out, git_object_id(c));
		rc = 0;
	}
	git_object_free(c);
	git_object_free(o);
	git_error_clear();
	return rc;
}

static bool updated(const rcv_updates *ups, const char *name)
{
	for (size_t i = 0; i < ups->n; i++)
		if (strcmp(ups->v[i].name, name) == 0)
			return true;
	return false;
}

/* The commits newly reachable from the updated refs: from their new tips,
 * hiding their old tips and every other ref (as it is now). */
static int walk_new(candidates *c, git_repository *repo, const rcv_updates *ups, bpg_error *err)
{
	git_revwalk *w = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	bpg_buf path = BPG_BUF_INIT;
	git_oid id, cid;
	size_t hidden = 0, pushed = 0, walked = 0;
	int rc = 0;

	if (git_revwalk_new(&w, repo) < 0)
		return bpg_error_set(err, BPG_ERROR, "cannot walk the history");
	git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	for (size_t i = 0; i < ups->n; i++) {
		if (git_oid_fromstr(&id, ups->v[i].new_hex) == 0 && !git_oid_is_zero(&id) &&
		    peel_commit(&cid, repo, &id) == 0 && git_revwalk_push(w, &cid) == 0)
			pushed++;
		if (git_oid_fromstr(&id, ups->v[i].old_hex) == 0 && !git_oid_is_zero(&id) && peel_commit(&cid, repo, &id) == 0)
			git_revwalk_hide(w, &cid);
		git_error_clear();
	}
	if (!pushed)
		goto done;
	if (git_reference_iterator_new(&it, repo) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot list the refs");
		goto done;
	}
	while (git_reference_next(&ref, it) == 0) {
		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT && !updated(ups, git_reference_name(ref)) &&
		    peel_commit(&cid, repo, git_reference_target(ref)) == 0) {
			if (++hidden > PROV_MAX_HIDDEN) {
				rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d refs", PROV_MAX_HIDDEN);
				goto done;
			}
			git_revwalk_hide(w, &cid);
		}
		git_reference_free(ref);
		ref = NULL;
	}
	git_error_clear();
	while (rc == 0 && git_revwalk_next(&id, w) == 0) {
		git_commit *cm = NULL, *parent = NULL;
		git_tree *t = NULL, *pt = NULL;
		if (++walked > PROV_MAX_COMMITS) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "the push introduces more than %d commits", PROV_MAX_COMMITS);
			break;
		}
		if (git_commit_lookup(&cm, repo, &id) < 0 || git_commit_tree(&t, cm) < 0 ||
		    (git_commit_parentcount(cm) > 0 && (git_commit_parent(&parent, cm, 0) < 0 || git_commit_tree(&pt, parent) < 0))) {
			rc = bpg_error_set(err, BPG_ERROR, "cannot read a pushed commit or its parent");
		} else if ((rc = cand_add(c, &id, 'c', err)) == 0) {
			c->commit = cm;
			rc = tree_changes(repo, t, pt, &path, 0, cand_blob, c, err);
			c->commit = NULL;
		}
		git_tree_free(pt);
		git_tree_free(t);
		git_commit_free(parent);
		git_commit_free(cm);
	}
done:
	git_error_clear();
	git_reference_free(ref);
	git_reference_iterator_free(it);
	git_revwalk_free(w);
	bpg_buf_dispose(&path);
	return rc;
}

int rcv_server_dir(bpg_buf *out, git_repository *repo)
{
	const char *gd = git_repository_commondir(repo);
	if (!gd)
		gd = git_repository_path(repo);
	bpg_buf_clear(out);
	return bpg_buf_printf(out, "%s%sbpgate", gd, gd[0] && gd[strlen(gd) - 1] == '/' ? "" : "/");
}

/* Drops the candidates the record already names (it is read under the lock). */
static int drop_recorded(candidates *c, int fd, bpg_error *err)
{
	int rfd = dup(fd);
	FILE *f = rfd >= 0 ? fdopen(rfd, "r") : NULL;
	char line[PROV_LINE_MAX];
	git_oid id;

	if (!f) {
		if (rfd >= 0)
			close(rfd);
		return bpg_error_set(err, BPG_EIO, "cannot read the provenance record: %s", strerror(errno));
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		size_t *v;
		if (strlen(line) >= GIT_OID_HEXSZ && git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) == 0 &&
		    (v = oidset_find(&c->seen, &id)))
			c->kinds[*v] = 0;
	}
	fclose(f);
	return 0;
}

int rcv_provenance_record(git_repository *repo, const char *principal, const rcv_updates *ups, bpg_error *err)
{
	candidates c;
	bpg_buf path = BPG_BUF_INIT, out = BPG_BUF_INIT;
	int fd = -1, rc;

	memset(&c, 0, sizeof(c));
	if (!principal_ok(principal))
		return bpg_error_set(err, BPG_EINVALID, "the pusher is not a principal that can be recorded");
	if ((rc = walk_new(&c, repo, ups, err)) < 0)
		goto done;
	if (c.n == 0)
		goto done;
	if (rcv_server_dir(&path, repo) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (mkdir(path.ptr, 0700) < 0 && errno != EEXIST) {
		rc = bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
		goto done;
	}
	if (bpg_buf_puts(&path, "/provenance") < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((fd = open(path.ptr, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 || flock(fd, LOCK_EX) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
		goto done;
	}
	if ((rc = drop_recorded(&c, fd, err)) < 0)
		goto done;
	for (size_t i = 0; i < c.n; i++) {
		char hex[GIT_OID_HEXSZ + 1];
		if (!c.kinds[i])
			continue;
		git_oid_tostr(hex, sizeof(hex), &c.objs[i]);
		if (bpg_buf_printf(&out, "%s %c %s\n", hex, c.kinds[i], principal) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t off = 0; off < out.size;) {
		ssize_t w = write(fd, out.ptr + off, out.size - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	if (out.size && fsync(fd) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd); /* releases the lock */
	oidset_dispose(&c.seen);
	free(c.objs);
	free(c.kinds);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&out);
	return rc;
}

/* ===================================== reading (pre-receive) ========================== */

typedef struct {
	oidset idx;      /* object -> index in objs */
	json_t **objs;   /* the fact entry of each object (borrowed from the fact), NULL once resolved */
	git_oid *ids;    /* the object of each */
	size_t n, cap, open;
	json_t *content;
} wanted;

static int want(wanted *w, const git_oid *id, json_t *entry)
{
	size_t *v = oidset_find(&w->idx, id);
	if (v) { /* the same blob at two paths: both entries get its pusher */
		json_t *prev = w->objs[*v];
		json_object_set(entry, "next_same", prev); /* chained, removed once resolved */
		w->objs[*v] = entry;
		return 0;
	}
	if (w->n == w->cap) { /* two arrays of one length: both grow to the first's new capacity */
		size_t nc = w->cap, kept = w->cap;
		json_t **o = bpg_array_grow(w->objs, &nc, w->n + 1, sizeof(*o), 64);
		if (!o)
			return BPG_ENOMEM;
		w->objs = o;
		git_oid *ids = bpg_array_grow(w->ids, &kept, nc, sizeof(*ids), 64);
		if (!ids)
			return BPG_ENOMEM;
		w->ids = ids;
		w->cap = nc;
	}
	if (oidset_put(&w->idx, id, w->n) < 0)
		return BPG_ENOMEM;
	git_oid_cpy(&w->ids[w->n], id);
	w->objs[w->n++] = entry;
	w->open++;
	return 0;
}

static int want_blob(const char *path, const git_oid *blob, void *arg, bpg_error *err)
{
	wanted *w = arg;
	char hex[GIT_OID_HEXSZ + 1];
	json_t *e;

	if (json_array_size(w->content) >= PROV_MAX_CONTENT)
		return bpg_error_set(err, BPG_ETOOBIG, "the change has more than %d changed files; the gate judges "
			"who wrote at most that many at once: push it in parts", PROV_MAX_CONTENT);
	git_oid_tostr(hex, sizeof(hex), blob);
	e = json_pack("{s:s, s:s, s:n}", "path", path, "blob", hex, "pushed_by");
	if (!e)
		e = json_pack("{s:s, s:s, s:n}", "path", "(a path that is not UTF-8)", "blob", hex, "pushed_by");
	if (!e || json_array_append_new(w->content, e) < 0 || want(w, blob, e) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

/* Sets pushed_by of an entry and of those chained to it. */
static void resolve(json_t *e, const char *principal)
{
	while (e) {
		json_t *next = json_object_get(e, "next_same");
		json_object_set_new(e, "pushed_by", json_string(principal));
		json_incref(next);
		json_object_del(e, "next_same");
		e = next;
		json_decref(next); /* still owned by the content array */
	}
}

static void unchain(wanted *w)
{
	for (size_t i = 0; i < w->n; i++)
		for (json_t *e = w->objs[i], *next; e; e = next) {
			next = json_object_get(e, "next_same");
			json_incref(next);
			json_object_del(e, "next_same");
			json_decref(next);
		}
}

/* Parses one line of the record; false when it is not one. */
static bool parse_line(char *line, git_oid *id, const char **principal)
{
	size_t n = strlen(line);
	if (n == 0 || line[n - 1] != '\n')
		return false;
	line[--n] = '\0';
	if (n < GIT_OID_HEXSZ + 4 || line[GIT_OID_HEXSZ] != ' ' || (line[GIT_OID_HEXSZ + 1] != 'c' &&
	    line[GIT_OID_HEXSZ + 1] != 'b') || line[GIT_OID_HEXSZ + 2] != ' ')
		return false;
	for (size_t i = 0; i < GIT_OID_HEXSZ; i++)
		if (!((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
			return false;
	*principal = line + GIT_OID_HEXSZ + 3;
	return git_oid_fromstrn(id, line, GIT_OID_HEXSZ) == 0 && principal_ok(*principal);
}

static int read_record(wanted *w, git_repository *repo, char *problem, size_t psize)
{
	bpg_buf path = BPG_BUF_INIT;
	char line[PROV_LINE_MAX];
	size_t lineno = 0;
	FILE *f = NULL;
	git_oid id;
	int rc = 0;

	if (rcv_server_dir(&path, repo) < 0 || bpg_buf_puts(&path, "/provenance") < 0) {
		rc = BPG_ENOMEM;
		goto done;
	}
	if (!(f = fopen(path.ptr, "re"))) {
		if (errno != ENOENT)
			snprintf(problem, psize, "the provenance record cannot be read: %s", strerror(errno));
		goto done; /* no record yet: every object is of unknown provenance */
	}
	while (w->open && fgets(line, sizeof(line), f)) {
		const char *principal;
		size_t *v;
		lineno++;
		if (!parse_line(line, &id, &principal)) {
			snprintf(problem, psize, "the provenance record is damaged at line %zu", lineno);
			goto done;
		}
		if ((v = oidset_find(&w->idx, &id)) && w->objs[*v]) {
			resolve(w->objs[*v], principal);
			w->objs[*v] = NULL;
			w->open--;
		}
	}
	if (ferror(f))
		snprintf(problem, psize, "the provenance record cannot be read: %s", strerror(errno));
done:
	if (f)
		fclose(f);
	bpg_buf_dispose(&path);
	return rc;
}

/* Objects no record names that this very push brings (they are in git's
 * quarantine, GIT_QUARANTINE_PATH): the pusher's. A quarantine git names that
 * cannot be opened is a problem, not "nothing new": the push's own content
 * would otherwise read as pushed before the record existed, which the
 * "claims" mode judges by the identities the commits claim. */
static void pushed_now(wanted *w, const char *pusher, char *problem, size_t psize)
{
	const char *q = getenv("GIT_QUARANTINE_PATH");
	git_odb *odb = NULL;

	if (!w->open || !q || !*q || !principal_ok(pusher))
		return;
	if (git_odb_open(&odb, q) < 0) {
		snprintf(problem, psize, "cannot open git's quarantine of this push (%s): %s", q,
			bpg_git_message());
		git_error_clear();
		return;
	}
	for (size_t i = 0; i < w->n && w->open; i++)
		if (w->objs[i] && git_odb_exists(odb, &w->ids[i])) {
			resolve(w->objs[i], pusher);
			w->objs[i] = NULL;
			w->open--;
		}
	git_odb_free(odb);
	git_error_clear();
}

static int tree_of(git_tree **out, git_repository *repo, const char *hex)
{
	git_oid id;
	git_commit *c = NULL;
	int rc = 0;
	*out = NULL;
	if (git_oid_fromstr(&id, hex) < 0 || git_oid_is_zero(&id))
		return 0;
	if (git_commit_lookup(&c, repo, &id) < 0 || git_commit_tree(out, c) < 0)
		rc = -1;
	git_commit_free(c);
	git_error_clear();
	return rc;
}

int rcv_provenance_facts(json_t *server, git_repository *repo, const rcv_update *u, const json_t *commits,
	const char *pusher, bpg_error *err)
{
	wanted w;
	json_t *prov = NULL, *content = json_array(), *cj = json_array(), *c;
	git_tree *nt = NULL, *ot = NULL;
	bpg_buf path = BPG_BUF_INIT;
	char problem[1100] = "";
	bpg_error terr;
	size_t i;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.content = content;
	if (!content || !cj) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (tree_of(&nt, repo, u->new_hex) < 0 || tree_of(&ot, repo, u->old_hex) < 0) {
		snprintf(problem, sizeof(problem), "cannot read the trees of %s", u->name);
	} else if (nt && tree_changes(repo, nt, ot, &path, 0, want_blob, &w, &terr) < 0) {
		if (terr.code == BPG_ENOMEM) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		snprintf(problem, sizeof(problem), "%s", terr.message);
	}
	json_array_foreach(commits, i, c) {
		const char *hex = json_string_value(json_object_get(c, "id"));
		git_oid id;
		json_t *e;
		if (!hex || git_oid_fromstr(&id, hex) < 0)
			continue;
		/* built directly (json_pack parses its format every time: 2,000 commits on a large push);
		 * hex is a string of the facts (valid UTF-8), the id of a gathered commit */
		if (!(e = json_object()) || json_array_append_new(cj, e) < 0 ||
		    json_object_set_new_nocheck(e, "commit", json_string_nocheck(hex)) < 0 ||
		    json_object_set_new_nocheck(e, "pushed_by", json_null()) < 0 || want(&w, &id, e) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (!problem[0] && (rc = read_record(&w, repo, problem, sizeof(problem))) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (!problem[0])
		pushed_now(&w, pusher, problem, sizeof(problem));
	unchain(&w);
	prov = problem[0] ? json_pack("{s:s}", "error", problem) :
		json_pack("{s:O, s:O}", "content", content, "commits", cj);
	if (!prov || json_object_set_new(server, "provenance", prov) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	if (rc < 0)
		unchain(&w);
	git_tree_free(nt);
	git_tree_free(ot);
	json_decref(content);
	json_decref(cj);
	oidset_dispose(&w.idx);
	free(w.objs);
	free(w.ids);
	bpg_buf_dispose(&path);
	return rc;
}
