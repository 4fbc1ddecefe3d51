/*
 * Break-glass records, in a namespace of their own.
 *
 * Post-receive writes every release record under refs/bpgate/releases/<env>/
 * <commit> (post.c); a break-glass one also under refs/bpgate/break-glass/
 * <env>/<commit>, the same blob. The gate's break-glass-overdue facts read the
 * second namespace only, so what they read grows with the break-glass uses,
 * not with every release an environment ever had: read whole, every time.
 *
 * Records written before this namespace existed are only under releases/.
 * The first post-receive that finds no refs/bpgate/break-glass-indexed indexes
 * every break-glass record under releases/ and then creates that marker; until
 * the marker exists the gate reads every release record of the environment, as
 * it always did (bounded: past RCV_HISTORY_MAX the rest are not read, and the
 * facts say so). A marker is only ever created after a complete pass, so the
 * gate never reads an index that misses an older record.
 */
#include "receive.h"
#include "bpgate/approval.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <string.h>

#define BG_PREFIX "refs/bpgate/break-glass/"
#define BG_MARKER "refs/bpgate/break-glass-indexed"
#define RELEASES_PREFIX "refs/bpgate/releases/"
/* release records a migration reads: far past any environment's history; over it, no marker */
#define MIGRATE_MAX 2000000
#define RECORD_MAX (((size_t)1 << 20) - 1)

/* The record a ref points to, if it is a blob of a JSON object under 1 MiB; NULL otherwise. */
static json_t *record_at(git_repository *repo, const git_oid *id)
{
	git_blob *b = NULL;
	json_t *rec = NULL;

	if (id && bpg_git_object_size(NULL, NULL, repo, id, GIT_OBJECT_BLOB, RECORD_MAX, "a release record", NULL) == 0 &&
	    git_blob_lookup(&b, repo, id) == 0 && (size_t)git_blob_rawsize(b) <= RECORD_MAX)
		rec = json_loadb(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), 0, NULL);
	git_blob_free(b);
	git_error_clear();
	if (!json_is_object(rec)) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static bool is_break_glass(const json_t *rec)
{
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	return kind && strcmp(kind, "break-glass") == 0;
}

int rcv_break_glass_index_add(git_repository *repo, const char *env, const char *commit_hex, const git_oid *blob,
	bpg_error *err)
{
	bpg_buf name = BPG_BUF_INIT;
	git_reference *ref = NULL;
	int rc = 0, r;

	if (bpg_buf_printf(&name, "%s%s/%s", BG_PREFIX, env, commit_hex) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	r = git_reference_create(&ref, repo, name.ptr, blob, 0, "bpgate break-glass record");
	if (r == GIT_EEXISTS) { /* written by an earlier pass (two post-receives migrating at once) */
		git_reference_free(ref);
		ref = NULL;
		if (git_reference_lookup(&ref, repo, name.ptr) < 0)
			rc = bpg_git_fail(err, name.ptr);
		else if (!git_reference_target(ref) || !git_oid_equal(git_reference_target(ref), blob))
			rc = bpg_error_set(err, BPG_EINVALID, "%s exists and is not the record of the release", name.ptr);
	} else if (r < 0) {
		rc = bpg_git_fail(err, name.ptr);
	}
	git_error_clear();
	git_reference_free(ref);
	bpg_buf_dispose(&name);
	return rc;
}

/* Split refs/bpgate/releases/<env>/<commit> into env (in *env) and commit: 1, or 0 when name
 * is not of that shape, BPG_ENOMEM. */
static int release_name(bpg_buf *env, const char **commit, const char *name)
{
	const char *rest = name + strlen(RELEASES_PREFIX), *slash = strrchr(name, '/');

	if (strncmp(name, RELEASES_PREFIX, strlen(RELEASES_PREFIX)) != 0 || !slash || slash <= rest)
		return 0;
	*commit = slash + 1;
	bpg_buf_clear(env);
	return bpg_buf_put(env, rest, (size_t)(slash - rest)) == 0 ? 1 : BPG_ENOMEM;
}

int rcv_break_glass_index_migrate(git_repository *repo, bpg_error *err)
{
	git_reference *marker = NULL, *ref = NULL;
	git_reference_iterator *it = NULL;
	bpg_buf env = BPG_BUF_INIT;
	git_oid mark;
	size_t seen = 0;
	int r, rc = 0;

	if ((r = git_reference_lookup(&marker, repo, BG_MARKER)) == 0)
		goto done; /* indexed already */
	if (r != GIT_ENOTFOUND) {
		rc = bpg_git_fail(err, "cannot read " BG_MARKER);
		goto done;
	}
	if (git_reference_iterator_glob_new(&it, repo, RELEASES_PREFIX "*") < 0) {
		rc = bpg_git_fail(err, "cannot list the release records");
		goto done;
	}
	while ((r = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref), *commit = NULL;
		json_t *rec = NULL;
		if (++seen > MIGRATE_MAX) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d release records (limit): break-glass records "
				"are not indexed, the gate keeps reading release records", MIGRATE_MAX);
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
		if (!(rec = record_at(repo, git_reference_target(ref)))) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s is not a readable record (a blob of a JSON object under "
				"1 MiB): break-glass records are not indexed until it is repaired or removed", name);
			goto done;
		}
		if (is_break_glass(rec))
			rc = rcv_break_glass_index_add(repo, env.ptr, commit, git_reference_target(ref), err);
		json_decref(rec);
		git_reference_free(ref);
		ref = NULL;
		if (rc < 0)
			goto done;
	}
	if (r != GIT_ITEROVER) {
		rc = bpg_git_fail(err, "cannot list the release records");
		goto done;
	}
	static const char text[] = "bpgate: every break-glass record is indexed under " BG_PREFIX "\n";
	if (git_blob_create_from_buffer(&mark, repo, text, sizeof(text) - 1) < 0 ||
	    ((r = git_reference_create(&marker, repo, BG_MARKER, &mark, 0, "bpgate: break-glass records indexed")) < 0 &&
	    r != GIT_EEXISTS)) /* exists: another post-receive finished the same pass */
		rc = bpg_git_fail(err, "cannot write " BG_MARKER);
done:
	git_error_clear();
	git_reference_free(ref);
	git_reference_free(marker);
	git_reference_iterator_free(it);
	bpg_buf_dispose(&env);
	return rc;
}

int rcv_break_glass_unmark(git_repository *repo, bpg_error *err)
{
	git_reference *marker = NULL;
	int r = git_reference_lookup(&marker, repo, BG_MARKER), rc = 0;

	if (r == 0 && git_reference_delete(marker) < 0)
		rc = bpg_git_fail(err, "cannot remove " BG_MARKER);
	else if (r < 0 && r != GIT_ENOTFOUND)
		rc = bpg_git_fail(err, "cannot read " BG_MARKER);
	git_error_clear();
	git_reference_free(marker);
	return rc;
}

/* One break-glass record as the facts list it, appended to log. */
static int log_add(json_t *log, const rcv_ctx *cx, const char *env, const json_t *rec)
{
	const char *tree = json_string_value(json_object_get(rec, "tree"));
	json_t *found = json_array(), *approvers = json_array(), *a;
	const char *trees[] = { tree };
	bpg_error err;
	size_t i;

	if (found && approvers)
		bpg_approvals_gather(found, cx->repo, env, trees, 1, cx->pol->signers, cx->now, &err);
	json_array_foreach(found, i, a)
		if (json_is_true(json_object_get(a, "verified")))
			json_array_append(approvers, json_object_get(a, "approver"));
	json_decref(found);
	json_t *o = json_pack("{s:O?, s:O?, s:O?, s:O?, s:s, s:s, s:O?, s:o}",
		"incident", json_object_get(rec, "incident"), "pusher", json_object_get(rec, "pusher"),
		"time", json_object_get(rec, "time"), "commit", json_object_get(rec, "new"), "tree", tree,
		"environment", env, "scenarios", json_object_get(rec, "scenarios"), "approvers", approvers);
	return !o || json_array_append_new(log, o) < 0 ? BPG_ENOMEM : 0;
}

/*
 * Break-glass records of env with their retroactive approvers (extra.server.break_glass_log).
 * A record missed would be an overdue break-glass change not seen, so what keeps one from
 * being read (the refs cannot be listed, a record that is not a readable JSON object, more
 * than RCV_HISTORY_MAX break-glass records) is "break_glass_log_error", which
 * break-glass-overdue refuses on; never a shorter log. Before the index exists (the marker,
 * above) every release record of env is read instead; past RCV_HISTORY_MAX of them the rest
 * are not, and "break_glass_log_truncated" says so (a warning: refusing would lock an
 * environment that has released that often until the next post-receive indexes it).
 */
int rcv_break_glass_log(json_t *server, const rcv_ctx *cx, const char *env)
{
	json_t *log = json_array();
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *marker = NULL;
	char prefix[300], glob[320], problem[1000] = "";
	size_t seen = 0;
	bool indexed, truncated = false;
	int lrc, rc = 0;

	if (!log || json_object_set_new(server, "break_glass_log", log) < 0)
		return BPG_ENOMEM;
	lrc = git_reference_lookup(&marker, cx->repo, BG_MARKER);
	git_reference_free(marker);
	if (lrc < 0 && lrc != GIT_ENOTFOUND) {
		snprintf(problem, sizeof(problem), "%s cannot be read: %.300s", BG_MARKER, bpg_git_message());
		goto done;
	}
	indexed = lrc == 0;
	snprintf(prefix, sizeof(prefix), "%s%s/", indexed ? BG_PREFIX : RELEASES_PREFIX, env);
	/* this environment's records only (the limits are per environment), when its name fits a glob */
	snprintf(glob, sizeof(glob), "%s*", rcv_env_name_plain(env) ? prefix : indexed ? BG_PREFIX : RELEASES_PREFIX);
	lrc = git_reference_iterator_glob_new(&it, cx->repo, glob);
	while (rc == 0 && lrc == 0 && (lrc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		json_t *rec;
		if (strncmp(name, prefix, strlen(prefix)) != 0 || strchr(name + strlen(prefix), '/')) {
			git_reference_free(ref);
			ref = NULL;
			continue;
		}
		if (++seen > RCV_HISTORY_MAX) {
			if (indexed)
				snprintf(problem, sizeof(problem), "more than %d break-glass records under %s (limit)",
					RCV_HISTORY_MAX, prefix);
			truncated = !indexed;
			break;
		}
		if (!(rec = record_at(cx->repo, git_reference_target(ref)))) {
			snprintf(problem, sizeof(problem), "%.300s is not a readable record (a blob of a JSON object under "
				"1 MiB)", name);
			break;
		}
		if (indexed && !is_break_glass(rec)) {
			snprintf(problem, sizeof(problem), "%.300s is not a break-glass record", name);
			json_decref(rec);
			break;
		}
		git_reference_free(ref);
		ref = NULL;
		if (is_break_glass(rec) && json_is_string(json_object_get(rec, "tree")))
			rc = log_add(log, cx, env, rec);
		json_decref(rec);
	}
	if (rc == 0 && !problem[0] && lrc != 0 && lrc != GIT_ITEROVER)
		snprintf(problem, sizeof(problem), "the records under %s cannot be listed: %.300s", prefix,
			bpg_git_message());
done:
	git_error_clear();
	git_reference_free(ref);
	git_reference_iterator_free(it);
	if (rc == 0 && problem[0] && json_object_set_new(server, "break_glass_log_error", rcv_message_json(problem)) < 0)
		rc = BPG_ENOMEM;
	if (rc == 0 && truncated && json_object_set_new(server, "break_glass_log_truncated", json_pack("{s:i, s:s}",
		"read", RCV_HISTORY_MAX, "under", prefix)) < 0)
		rc = BPG_ENOMEM;
	return rc;
}
