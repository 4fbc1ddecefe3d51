/*
 * Indexes of the release records, so that the gate looks records up instead
 * of listing them.
 *
 * Post-receive writes every release record under refs/bpgate/releases/<env>/
 * <commit> (post.c), and, pointing to the same blob:
 *
 *   refs/bpgate/break-glass/<env>/<commit>-<blob>  a record of kind "break-glass"
 *   refs/bpgate/tips/<env>/<tree>            any record (the latest with that tree)
 *   refs/bpgate/released/<env>/<tree>        a record of kind "release" (the latest)
 *
 * The gate reads the break-glass records of an environment whole (their
 * number grows with break-glass uses, not with releases) and looks up the
 * trees an update brings in the other two (srvfacts_release.c), checking
 * each record as it did when it listed them. Listing every record of an
 * environment was bounded at RCV_HISTORY_MAX, so past that many releases of
 * an environment records went unread: overdue break-glass changes unchecked,
 * accepted tips and releases "never accepted".
 *
 * Records written before these indexes existed are only under releases/. The
 * first post-receive that finds no refs/bpgate/records-indexed indexes every
 * record there, then creates that marker; until it exists the gate lists the
 * records, as it always did. The marker is only ever created after a complete
 * pass, so the gate never trusts an index that misses an older record; a
 * record that cannot be indexed later removes it. A pass is complete when it
 * found every record indexed already: git may pack refs while a pass lists
 * them (a ref moving from its loose file into packed-refs can be missed by
 * that listing), so a pass that had to index anything is followed by another,
 * up to MIGRATE_PASSES, and no marker is written unless the last found
 * nothing to add while packed-refs stayed as it was (rcv_refs_stamp: a pass
 * that met a repack proves nothing).
 *
 * A pass and a removal of the marker hold one lock ($GIT_DIR/bpgate/records-index.flock):
 * post-receive removes it only after writing the record it could not index, so
 * a pass either sees that record or ran before the removal, whose marker then
 * goes.
 *
 * A break-glass index name carries the record's blob: the same commit broken
 * through twice (a branch reset between) is two incidents, both kept.
 */
#include "receive.h"
#include "bpgate/gitobj.h"
#include "bpgate/testhook.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "refs/bpgate/records-indexed"
/* release records a migration reads: far past any server's history; over it, no marker */
#define MIGRATE_MAX 2000000
#define MIGRATE_PASSES 3
#define RECORD_MAX (((size_t)1 << 20) - 1)

static bool hex40(const char *s)
{
	return s && rcv_hex40(s, strlen(s));
}

json_t *rcv_record_read(git_repository *repo, const git_oid *id)
{
	git_blob *b = NULL;
	json_t *rec = NULL;

	if (id && bpg_git_object_size(NULL, NULL, repo, id, GIT_OBJECT_BLOB, RECORD_MAX, "a release record", NULL) == 0 &&
	    git_blob_lookup(&b, repo, id) == 0 && (size_t)git_blob_rawsize(b) <= RECORD_MAX)
		rec = json_loadb(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), JSON_REJECT_DUPLICATES, NULL);
	git_blob_free(b);
	git_error_clear();
	if (!json_is_object(rec)) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

bool rcv_record_is(const json_t *rec, const char *kind)
{
	const char *k = json_string_value(json_object_get(rec, "kind"));
	return k && strcmp(k, kind) == 0;
}

static int record_time(git_repository *repo, const git_oid *id, char out[32])
{
	json_t *rec = rcv_record_read(repo, id);
	const char *t = json_string_value(json_object_get(rec, "time"));
	snprintf(out, 32, "%s", t ? t : "");
	json_decref(rec);
	return 0;
}

/* ns/env/key -> blob. latest: the name follows the newest record (by its "time"; on a tie the
 * one there stays, so that passes converge), so that the record a tree is looked up by is the one whose commit most
 * likely still exists (a commit force-pushed away and pruned leaves its record inconsistent);
 * else an existing name stays (a break-glass name carries its blob). *created counts the refs
 * written. */
static int put(git_repository *repo, const char *ns, const char *env, const char *key, const git_oid *blob,
	const json_t *rec, bool latest, size_t *created, bpg_error *err)
{
	bpg_buf name = BPG_BUF_INIT;
	git_reference *ref = NULL;
	git_oid have;
	int rc = 0, r;

	if (bpg_buf_printf(&name, "refs/bpgate/%s/%s/%s", ns, env, key) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	r = git_reference_create(&ref, repo, name.ptr, blob, 0, "bpgate record index");
	if (r == 0)
		++*created;
	else if (r == GIT_EEXISTS && latest && git_reference_name_to_id(&have, repo, name.ptr) == 0 &&
	    !git_oid_equal(&have, blob)) {
		char t_have[32], t_new[32];
		const char *t = json_string_value(json_object_get(rec, "time"));
		record_time(repo, &have, t_have);
		snprintf(t_new, sizeof(t_new), "%s", t ? t : "");
		git_reference_free(ref);
		ref = NULL;
		/* compare and swap: another post-receive moving it meanwhile wins, and is as new */
		if (strcmp(t_new, t_have) > 0 &&
		    (r = git_reference_create_matching(&ref, repo, name.ptr, blob, 1, &have, "bpgate record index")) == 0)
			++*created;
		else if (strcmp(t_new, t_have) > 0 && r != GIT_EMODIFIED)
			rc = bpg_git_fail(err, name.ptr);
	} else if (r != GIT_EEXISTS) {
		rc = bpg_git_fail(err, name.ptr);
	}
	git_error_clear();
	git_reference_free(ref);
	bpg_buf_dispose(&name);
	return rc;
}

static int index_add(git_repository *repo, const char *env, const char *commit_hex, const json_t *rec,
	const git_oid *blob, size_t *created, bpg_error *err)
{
	const char *tree = json_string_value(json_object_get(rec, "tree"));
	char key[2 * GIT_OID_HEXSZ + 2];
	int rc = 0;

	if (rcv_record_is(rec, "break-glass")) {
		char bhex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(bhex, sizeof(bhex), blob);
		snprintf(key, sizeof(key), "%.40s-%s", commit_hex, bhex);
		rc = put(repo, "break-glass", env, key, blob, rec, false, created, err);
	}
	if (rc == 0 && hex40(tree))
		rc = put(repo, "tips", env, tree, blob, rec, true, created, err);
	if (rc == 0 && hex40(tree) && rcv_record_is(rec, "release"))
		rc = put(repo, "released", env, tree, blob, rec, true, created, err);
	return rc;
}

int rcv_record_index_add(git_repository *repo, const char *env, const char *commit_hex, const json_t *rec,
	const git_oid *blob, bpg_error *err)
{
	size_t created = 0;
	return index_add(repo, env, commit_hex, rec, blob, &created, err);
}

/* Split refs/bpgate/releases/<env>/<commit> into env (in *env) and commit: 1, or 0 when name
 * is not of that shape, BPG_ENOMEM. */
static int release_name(bpg_buf *env, const char **commit, const char *name)
{
	const char *rest = name + strlen(RCV_RELEASES_PREFIX), *slash = strrchr(name, '/');

	if (strncmp(name, RCV_RELEASES_PREFIX, strlen(RCV_RELEASES_PREFIX)) != 0 || !slash || slash <= rest)
		return 0;
	*commit = slash + 1;
	bpg_buf_clear(env);
	return bpg_buf_put(env, rest, (size_t)(slash - rest)) == 0 ? 1 : BPG_ENOMEM;
}

void rcv_refs_stamp(rcv_refs_stamp_t *out, git_repository *repo)
{
	const char *gd = git_repository_commondir(repo) ? git_repository_commondir(repo) : git_repository_path(repo);
	bpg_buf path = BPG_BUF_INIT;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (bpg_buf_printf(&path, "%s%spacked-refs", gd, gd[0] && gd[strlen(gd) - 1] == '/' ? "" : "/") < 0) {
		out->unknown = true;
	} else if (stat(path.ptr, &st) == 0) {
		out->ino = (unsigned long long)st.st_ino;
		out->size = (long long)st.st_size;
		out->mtime_s = (long long)st.st_mtim.tv_sec;
		out->mtime_ns = (long)st.st_mtim.tv_nsec;
	} else if (errno != ENOENT) {
		out->unknown = true;
	}
	if (bpg_test_flag("refs-stamp-moves")) { /* tests: git repacking refs during every listing */
		static long moves;
		out->mtime_ns = ++moves;
	}
	bpg_buf_dispose(&path);
}

bool rcv_refs_stamp_same(const rcv_refs_stamp_t *a, const rcv_refs_stamp_t *b)
{
	return !a->unknown && !b->unknown && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
		a->mtime_ns == b->mtime_ns;
}

/* The lock of the passes and of removing the marker: an open descriptor, or -1 (err set). */
static int lock_records(git_repository *repo, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int fd = -1;

	if (rcv_server_dir(&path, repo) < 0) {
		bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (mkdir(path.ptr, 0700) < 0 && errno != EEXIST) {
		bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
		goto done;
	}
	if (bpg_buf_puts(&path, "/records-index.flock") < 0) {
		bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 || flock(fd, LOCK_EX) < 0) {
		bpg_error_set(err, BPG_EIO, "%s: %s", path.ptr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
done:
	bpg_buf_dispose(&path);
	return fd;
}

/* One pass over every release record: each indexed; *created counts the index refs it wrote. */
static int migrate_pass(git_repository *repo, size_t *created, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	bpg_buf env = BPG_BUF_INIT;
	size_t seen = 0;
	int r, rc = 0;

	if (git_reference_iterator_glob_new(&it, repo, RCV_RELEASES_PREFIX "*") < 0) {
		rc = bpg_git_fail(err, "cannot list the release records");
		goto done;
	}
	while ((r = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref), *commit = NULL;
		json_t *rec = NULL;
		if (++seen > MIGRATE_MAX) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d release records (limit): they are not indexed, "
				"the gate keeps listing them", MIGRATE_MAX);
			goto done;
		}
		if ((r = release_name(&env, &commit, name)) <= 0) {
			if (r < 0) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				goto done;
			}
			git_reference_free(ref);
			ref = NULL;
			continue;
		}
		if (!(rec = rcv_record_read(repo, git_reference_target(ref)))) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s is not a readable record (a blob of a JSON object under "
				"1 MiB): the release records are not indexed until it is repaired or removed", name);
			goto done;
		}
		rc = index_add(repo, env.ptr, commit, rec, git_reference_target(ref), created, err);
		json_decref(rec);
		git_reference_free(ref);
		ref = NULL;
		if (rc < 0)
			goto done;
	}
	if (r != GIT_ITEROVER)
		rc = bpg_git_fail(err, "cannot list the release records");
done:
	git_error_clear();
	git_reference_free(ref);
	git_reference_iterator_free(it);
	bpg_buf_dispose(&env);
	return rc;
}

int rcv_record_index_migrate(git_repository *repo, bpg_error *err)
{
	git_reference *marker = NULL;
	git_oid mark;
	size_t created = 1;
	int r, rc = 0, lock = -1;

	if ((r = git_reference_lookup(&marker, repo, MARKER)) == 0)
		goto done; /* indexed already (read again under the lock below otherwise) */
	if (r != GIT_ENOTFOUND) {
		rc = bpg_git_fail(err, "cannot read " MARKER);
		goto done;
	}
	if ((lock = lock_records(repo, err)) < 0) {
		rc = err->code;
		goto done;
	}
	if ((r = git_reference_lookup(&marker, repo, MARKER)) == 0)
		goto done; /* another post-receive finished a pass */
	if (r != GIT_ENOTFOUND) {
		rc = bpg_git_fail(err, "cannot read " MARKER);
		goto done;
	}
	for (int pass = 0; rc == 0 && created && pass < MIGRATE_PASSES; pass++) {
		rcv_refs_stamp_t before, after;
		created = 0;
		rcv_refs_stamp(&before, repo);
		rc = migrate_pass(repo, &created, err);
		rcv_refs_stamp(&after, repo);
		if (rc == 0 && !rcv_refs_stamp_same(&before, &after))
			created++; /* packed-refs changed under the listing: it may have missed a loose ref */
	}
	if (rc < 0)
		goto done;
	if (created) {
		rc = bpg_error_set(err, BPG_ERROR, "the release records kept changing while they were indexed (%d passes): "
			"not marked as indexed; the next post-receive tries again", MIGRATE_PASSES);
		goto done;
	}
	static const char text[] = "bpgate: every release record is indexed (server/receive/recindex.c)\n";
	if (git_blob_create_from_buffer(&mark, repo, text, sizeof(text) - 1) < 0 ||
	    ((r = git_reference_create(&marker, repo, MARKER, &mark, 0, "bpgate: release records indexed")) < 0 &&
	    r != GIT_EEXISTS)) /* exists: another post-receive finished the same pass */
		rc = bpg_git_fail(err, "cannot write " MARKER);
done:
	if (lock >= 0)
		close(lock);
	git_error_clear();
	git_reference_free(marker);
	return rc;
}

int rcv_record_index_unmark(git_repository *repo, bpg_error *err)
{
	git_reference *marker = NULL;
	bpg_error lerr;
	int lock = lock_records(repo, &lerr), r, rc = 0;

	/* without the lock the marker still goes (a pass may then write it again, and the warning
	 * below says so): a marker left would be trusted */
	r = git_reference_lookup(&marker, repo, MARKER);
	if (r == 0 && git_reference_delete(marker) < 0)
		rc = bpg_git_fail(err, "cannot remove " MARKER);
	else if (r < 0 && r != GIT_ENOTFOUND)
		rc = bpg_git_fail(err, "cannot read " MARKER);
	if (lock >= 0)
		close(lock);
	else if (rc == 0)
		rc = bpg_error_set(err, lerr.code, "%s (the marker, if there was one, was removed without it)", lerr.message);
	git_error_clear();
	git_reference_free(marker);
	return rc;
}

int rcv_record_indexed(bool *out, git_repository *repo, char *problem, size_t psize)
{
	git_reference *marker = NULL;
	int r = git_reference_lookup(&marker, repo, MARKER);

	git_reference_free(marker);
	*out = r == 0;
	if (r < 0 && r != GIT_ENOTFOUND) {
		snprintf(problem, psize, "%s cannot be read: %.300s", MARKER, bpg_git_message());
		git_error_clear();
		return BPG_ERROR;
	}
	git_error_clear();
	return 0;
}

int rcv_record_lookup(json_t **out, git_repository *repo, const char *ns, const char *env, const char *tree,
	char *problem, size_t psize)
{
	char name[400];
	git_oid id;
	int r;

	*out = NULL;
	if (!hex40(tree) || (size_t)snprintf(name, sizeof(name), "refs/bpgate/%s/%s/%s", ns, env, tree) >= sizeof(name))
		return 0; /* no such name can exist */
	if ((r = git_reference_name_to_id(&id, repo, name)) == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (r < 0) {
		snprintf(problem, psize, "%s cannot be read: %.300s", name, bpg_git_message());
		git_error_clear();
		return BPG_ERROR;
	}
	if (!(*out = rcv_record_read(repo, &id))) {
		snprintf(problem, psize, "%s is not a readable record (a blob of a JSON object under 1 MiB)", name);
		return BPG_EINVALID;
	}
	return 0;
}
