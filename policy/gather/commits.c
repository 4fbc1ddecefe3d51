/* Commits, staged changes, messages being written and ref updates. */
#include "internal.h"
#include "bpgate/gitobj.h"
#include "bpgate/sshsig.h"
#include "treediff.h"
#include "commitsjob.h"

#include <git2/sys/repository.h>

#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX ((size_t)64 << 10)

/* Verify an SSH-signed commit against the trusted allowed_signers, at the
 * committer time as git does. */
static json_t *verified_signature(git_repository *repo, git_commit *c, const bpg_gather_opts *opts)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	bpg_sshsig_result res;
	bpg_error verr;
	json_t *out = NULL;
	int rc;

	if (git_repository_odb(&odb, repo) < 0 || git_odb_read(&obj, odb, git_commit_id(c)) < 0) {
		git_error_clear();
		out = json_pack("{s:b, s:s, s:s}", "verified", 0, "format", "ssh", "reason", "cannot read the commit");
		goto done;
	}
	memset(&res, 0, sizeof(res));
	rc = bpg_gitsig_verify(&res, BPG_GITSIG_COMMIT, git_odb_object_data(obj), git_odb_object_size(obj),
		opts->signers, (time_t)git_commit_committer(c)->when.time, &verr);
	if (rc == 0)
		out = json_pack("{s:b, s:s, s:s, s:s}", "verified", 1, "format", "ssh",
			"principal", res.principal, "reason", "good signature");
	else
		out = json_pack("{s:b, s:s, s:s}", "verified", 0, "format", "ssh",
			"reason", rc == BPG_EVERIFY ? bpg_sshsig_reason_name(res.reason) : verr.message);
done:
	git_odb_object_free(obj);
	git_odb_free(odb);
	return out;
}

/* Whether the commit carries a signature header (reading it costs a second
 * parse of the commit, so only signed commits pay for it). */
static bool has_signature(git_commit *c)
{
	const char *h = git_commit_raw_header(c);
	return h && (strncmp(h, "gpgsig ", 7) == 0 || strstr(h, "\ngpgsig "));
}

/* The commit's facts (a g_commit_describer, run on the commits job's thread);
 * the job fills in "paths", or leaves them out (bpg_gather_opts.commit_paths_wanted). */
static int commit_json(json_t **out, git_repository *repo, git_commit *c, const void *arg, bpg_error *err)
{
	const bpg_gather_opts *opts = arg;
	char id[GIT_OID_HEXSZ + 1], tid[GIT_OID_HEXSZ + 1];
	const char *msg = git_commit_message_raw(c);
	size_t mlen = msg ? strlen(msg) : 0;
	json_t *parents = json_array(), *trailers = NULL, *o = NULL, *m;
	git_buf sig = { 0 }, signed_data = { 0 };
	int rc;

	*out = NULL;
	git_oid_tostr(id, sizeof(id), git_commit_id(c));
	git_oid_tostr(tid, sizeof(tid), git_commit_tree_id(c));
	if (!parents)
		return g_oom(err);
	for (unsigned i = 0; i < git_commit_parentcount(c); i++) {
		char pid[GIT_OID_HEXSZ + 1];
		git_oid_tostr(pid, sizeof(pid), git_commit_parent_id(c, i));
		json_array_append_new(parents, json_string_nocheck(pid));
	}
	if ((rc = bpg_budget_check(opts ? opts->budget : NULL, err)) < 0)
		goto done;
	/* refused, not cut: trailers past the cut (Risk: high) would be lost */
	if (mlen > MESSAGE_MAX) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "commit %s: the message is %zu bytes, more than the %zu the "
			"gate reads; shorten it", id, mlen, MESSAGE_MAX);
		goto done;
	}
	if ((rc = bpg_trailers_parse(&trailers, msg ? msg : "", mlen, err)) < 0)
		goto done;
	m = json_stringn(msg ? msg : "", mlen);
	if (!m)
		m = json_string("(message is not UTF-8)");
	const git_signature *as = git_commit_author(c), *cs = git_commit_committer(c);
	json_t *aj = g_person_json(as);
	/* usually the same person at the same second: one value, not two (a large push's
	 * facts hold thousands; map_people gives both the same principal, from the same e-mail) */
	json_t *cj = g_same_person(as, cs) && aj ? json_incref(aj) : g_person_json(cs);
	json_t *idj = json_string_nocheck(id), *tj = json_string_nocheck(tid); /* hex */
	/* built directly, not by json_pack (which reads its format for each of thousands of
	 * commits); the keys are literals, not checked for UTF-8 again */
	bool built = (o = json_object()) && idj && tj && aj && cj && m &&
		json_object_set_nocheck(o, "id", idj) == 0 && json_object_set_nocheck(o, "tree", tj) == 0 &&
		json_object_set_nocheck(o, "parents", parents) == 0 && json_object_set_nocheck(o, "author", aj) == 0 &&
		json_object_set_nocheck(o, "committer", cj) == 0 && json_object_set_nocheck(o, "message", m) == 0 &&
		json_object_set_nocheck(o, "trailers", trailers) == 0 &&
		json_object_set_nocheck(o, "paths", json_null()) == 0;
	json_decref(idj);
	json_decref(tj);
	json_decref(aj);
	json_decref(cj);
	json_decref(m);
	if (!built) {
		rc = g_oom(err);
		goto done;
	}
	/* Whether it is signed; verification against allowed_signers is the
	 * front end's, which knows which allowed_signers to trust. */
	if (has_signature(c) &&
	    git_commit_extract_signature(&sig, &signed_data, repo, (git_oid *)git_commit_id(c), NULL) == 0) {
		bool ssh = sig.ptr && strstr(sig.ptr, "-----BEGIN SSH SIGNATURE-----");
		json_t *sj = ssh && opts && opts->signers ? verified_signature(repo, c, opts) :
			json_pack("{s:b, s:s, s:s}", "verified", 0, "format", ssh ? "ssh" : "other",
				"reason", ssh ? "not verified (no allowed_signers)" : "not an SSH signature");
		if (sj)
			json_object_set_new(o, "signature", sj);
	}
	git_error_clear();
	*out = o;
	o = NULL;
	rc = 0;
done:
	git_buf_dispose(&sig);
	git_buf_dispose(&signed_data);
	json_decref(parents);
	json_decref(trailers);
	json_decref(o);
	return rc;
}

static int tree_of(git_tree **out, git_repository *repo, const git_oid *commit_id, bpg_error *err)
{
	git_commit *c = NULL;
	int rc = 0;

	*out = NULL;
	if (!commit_id)
		return 0;
	if ((rc = bpg_git_commit_lookup(&c, repo, commit_id, "a commit of the change", err)) < 0)
		return rc;
	if ((rc = bpg_git_object_size(NULL, NULL, repo, git_commit_tree_id(c), GIT_OBJECT_ANY, BPG_GIT_TREE_MAX,
	     "the tree of a commit of the change", err)) == 0 && git_commit_tree(out, c) < 0)
		rc = g_git_error(err, "cannot read a commit of the change");
	git_commit_free(c);
	return rc;
}

/* Append the commits' facts, in order, once their job is done. */
static int commits_finish(json_t *facts, g_commits_job *job, bpg_error *err)
{
	json_t *commits = g_array_of(facts, "commits");

	if (!job)
		return 0;
	return commits ? g_commits_finish(job, commits, err) : g_oom(err);
}

/* Walk `to` hiding `from` (or, when hide_heads, every existing branch). */
/* The walk for a change's commits: what it needs and what it found. Lives
 * until the commits' job is freed (the job's thread may be walking). */
typedef struct {
	const git_oid *from, *to;
	bool hide_heads;
	json_t *seen;       /* hex ids of the commits already in the facts, then of those found */
	git_oid oldest;     /* the first one found, parents first */
	bool have_oldest;
	bool want_ff, ff;   /* whether `from` is an ancestor of `to` (wanted for a branch update) */
} commit_walk;

static void commit_walk_dispose(commit_walk *w)
{
	json_decref(w->seen);
	w->seen = NULL;
}

/* g_commits_finder: the ids new in the change, parents first (on the caller's
 * handle, or the job's thread's own). */
static int find_commits(git_oid **out, size_t *n, git_repository *repo, void *arg, bpg_error *err)
{
	commit_walk *w = arg;
	git_revwalk *walk = NULL;
	git_oid *ids = NULL;
	size_t count = 0, cap = 0, i, fresh = 0;
	bool bounded = false;
	int rc = 0, r;

	*out = NULL;
	*n = 0;
	if (git_revwalk_new(&walk, repo) < 0) {
		rc = g_git_error(err, "cannot walk the commits");
		goto done;
	}
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	/* what the repository has already (the old tip, the branches: packed-refs may be large) */
	if ((w->from && git_revwalk_hide(walk, w->from) < 0) ||
	    (w->hide_heads && git_revwalk_hide_glob(walk, "refs/heads/*") < 0 && git_error_last() &&
	     git_error_last()->klass != GIT_ERROR_REFERENCE)) {
		rc = g_git_error(err, "cannot walk the commits of the change");
		goto done;
	}
	/* libgit2's walk reads each commit of the change whole, not through bpg_git_commit_lookup */
	bpg_git_work_begin();
	bounded = true;
	if (git_revwalk_push(walk, w->to) < 0) {
		rc = g_git_error(err, "cannot walk the commits of the change");
		goto done;
	}
	/* Collect the ids first: an oversized change is refused in the time of a walk, before any is judged. */
	for (;;) {
		git_oid *m = bpg_array_grow(ids, &cap, count + 1, sizeof(*m), 64);
		if (!m) {
			rc = g_oom(err);
			goto done;
		}
		ids = m;
		if ((r = git_revwalk_next(&ids[count], walk)) != 0)
			break;
		if (++count > BPG_GATHER_MAX_COMMITS) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "the change has more than %d commits; the gate "
				"judges at most that many at once: push it in parts", BPG_GATHER_MAX_COMMITS);
			goto done;
		}
	}
	bounded = false;
	if ((rc = bpg_git_work_end("a commit of the change", err)) < 0)
		goto done; /* the walk met an object over the limit: that, not libgit2's error */
	if (r != GIT_ITEROVER) {
		rc = g_git_error(err, "walking the commits failed");
		goto done;
	}
	if (count) {
		w->oldest = ids[0];
		w->have_oldest = true;
	}
	/* A fast-forward, from the walk (which hid everything `from` reaches): `from`
	 * is an ancestor of `to` exactly when it is `to` or the parent of a commit
	 * walked (the last step of any path down to it starts at a commit `from`
	 * cannot reach). git_graph_descendant_of walked all of them again. */
	if (w->want_ff) {
		w->ff = git_oid_equal(w->from, w->to);
		for (i = 0; !w->ff && i < count; i++) {
			git_commit *c = NULL;
			if ((rc = bpg_git_commit_lookup(&c, repo, &ids[i], "a commit of the change", err)) < 0)
				goto done;
			for (unsigned k = 0; k < git_commit_parentcount(c) && !w->ff; k++)
				w->ff = git_oid_equal(git_commit_parent_id(c, k), w->from);
			git_commit_free(c);
		}
	}
	/* the new ones, in order, at the front of ids */
	for (i = 0; i < count; i++) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &ids[i]);
		if (json_object_get(w->seen, hex))
			continue;
		if (json_object_set_new(w->seen, hex, json_true()) < 0) {
			rc = g_oom(err);
			goto done;
		}
		ids[fresh++] = ids[i];
	}
	*out = ids;
	*n = fresh;
	ids = NULL;
done:
	if (bounded) { /* a failure while bounded: a block refused is what to report */
		bpg_error werr;
		int wrc = bpg_git_work_end("a commit of the change", &werr);
		if (wrc < 0)
			rc = bpg_error_set(err, wrc, "%s", werr.message);
	}
	free(ids);
	git_revwalk_free(walk);
	return rc;
}

/*
 * Start the commits' facts: the walk and then their paths (most of the work
 * on a large change) on a thread of their own while the caller goes on to the
 * files. For an update of an existing branch the walk itself runs there too
 * (g_commits_start_finding): it does not decide which files to read. For a new
 * branch the caller needs the walk's oldest commit first, and walks here.
 */
static int walk_commits(commit_walk *w, json_t *facts, git_repository *repo, const git_oid *from,
	const git_oid *to, bool hide_heads, bool want_ff, const bpg_gather_opts *opts, g_commits_job **out,
	bpg_error *err)
{
	json_t *commits = g_array_of(facts, "commits"), *cj;
	git_oid *ids = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	*w = (commit_walk){ from, to, hide_heads, json_object(), { { 0 } }, false, want_ff && from, false };
	if (!commits || !w->seen)
		return g_oom(err);
	/* Commits already in the facts (an earlier range) as a hash set: one lookup per commit, not a scan. */
	json_array_foreach(commits, i, cj) {
		const char *id = json_string_value(json_object_get(cj, "id"));
		if (id && json_object_set_new(w->seen, id, json_true()) < 0)
			return g_oom(err);
	}
	/* (test builds: BPGATE_TEST_FLAGS=walk-here walks on the caller's thread, to compare) */
	if (from && !hide_heads && opts && !bpg_test_flag("walk-here") &&
	    (rc = g_commits_start_finding(out, repo, opts, find_commits, w, commit_json, opts, err)) <= 0)
		return rc;
	if ((rc = find_commits(&ids, &n, repo, w, err)) == 0)
		rc = g_commits_start(out, repo, opts, commit_json, opts, ids, n, err);
	free(ids);
	return rc;
}

/* A change the walk refuses (too many commits) is refused for that, before
 * anything the files met meanwhile, as when the walk came first. */
static int walk_first(g_commits_job *job, int rc, bpg_error *err)
{
	int wrc;

	if (rc < 0 && (wrc = g_commits_found(job, err)) < 0)
		return wrc;
	return rc;
}

int bpg_gather_range(json_t *facts, git_repository *repo, const git_oid *from, const git_oid *to,
	const bpg_gather_opts *opts, bpg_error *err)
{
	git_tree *old_tree = NULL, *new_tree = NULL;
	g_commits_job *job = NULL;
	commit_walk w = { 0 };
	int rc;

	if ((rc = walk_commits(&w, facts, repo, from, to, false, false, opts, &job, err)) < 0)
		goto done;
	if ((rc = tree_of(&old_tree, repo, from, err)) < 0 || (rc = tree_of(&new_tree, repo, to, err)) < 0)
		goto done;
	if ((rc = g_gather_tree_diff(facts, repo, old_tree, new_tree, NULL, job, opts, err)) < 0)
		goto done;
	rc = commits_finish(facts, job, err);
done:
	rc = walk_first(job, rc, err);
	g_commits_free(job);
	commit_walk_dispose(&w);
	git_tree_free(old_tree);
	git_tree_free(new_tree);
	return rc;
}

static int head_tree(git_tree **out, git_repository *repo, bpg_error *err)
{
	git_object *obj = NULL;
	int rc = git_revparse_single(&obj, repo, "HEAD^{tree}");

	*out = NULL;
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		git_error_clear();
		return 0; /* before the first commit: compare with the empty tree */
	}
	if (rc < 0)
		return g_git_error(err, "cannot read HEAD");
	*out = (git_tree *)obj;
	return 0;
}

int bpg_gather_staged(json_t *facts, git_repository *repo, const bpg_gather_opts *opts, bpg_error *err)
{
	git_tree *head = NULL;
	git_index *index = NULL;
	int rc;

	if ((rc = head_tree(&head, repo, err)) < 0)
		goto done;
	if (git_repository_index(&index, repo) < 0) {
		rc = g_git_error(err, "cannot read the index");
		goto done;
	}
	rc = g_gather_tree_diff(facts, repo, head, NULL, index, NULL, opts, err);
done:
	git_index_free(index);
	git_tree_free(head);
	return rc;
}

/* The commit being written, as commits[] gets it: the message with its trailers and
 * the paths of `diff` (the index against HEAD). */
static int message_commit(json_t *facts, git_repository *repo, const char *message, size_t len,
	git_diff *diff, bpg_error *err)
{
	git_signature *author = NULL;
	json_t *commits = g_array_of(facts, "commits"), *trailers = NULL, *paths = json_array(), *c, *m;
	int rc;

	if (!commits || !paths) {
		rc = g_oom(err);
		goto done;
	}
	if ((rc = bpg_trailers_parse(&trailers, message, len, err)) < 0)
		goto done;
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		json_array_append_new(paths, json_string(d->new_file.path ? d->new_file.path : d->old_file.path));
	}
	if (git_signature_default(&author, repo) < 0)
		git_error_clear();
	m = json_stringn(message, len);
	c = json_pack("{s:s, s:o, s:o, s:o, s:O, s:O}", "id", "(new)",
		"author", g_person_json(author), "committer", g_person_json(author),
		"message", m ? m : json_string("(message is not UTF-8)"),
		"trailers", trailers, "paths", paths);
	if (!c || json_array_append_new(commits, c) < 0)
		rc = g_oom(err);
done:
	git_signature_free(author);
	json_decref(trailers);
	json_decref(paths);
	return rc;
}

/* Message and staged files from one diff of the index against HEAD; staged = false
 * leaves the files out (bpg_gather_message). */
static int gather_message(json_t *facts, git_repository *repo, const char *message, size_t len,
	bool staged, const bpg_gather_opts *opts, bpg_error *err)
{
	git_diff_options dopts = g_diff_opts();
	git_tree *head = NULL;
	git_index *index = NULL;
	git_diff *diff = NULL;
	int rc;

	if (len > MESSAGE_MAX) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "the commit message is %zu bytes, more than the %zu the gate "
			"reads; shorten it", len, MESSAGE_MAX);
		goto done;
	}
	if ((rc = head_tree(&head, repo, err)) < 0)
		goto done;
	if (git_repository_index(&index, repo) < 0 ||
	    git_diff_tree_to_index(&diff, repo, head, index, &dopts) < 0) {
		rc = g_git_error(err, "cannot read the staged changes");
		goto done;
	}
	if ((rc = message_commit(facts, repo, message, len, diff, err)) < 0)
		goto done;
	if (staged)
		rc = g_gather_diff(facts, repo, diff, NULL, index, NULL, opts, err);
done:
	git_diff_free(diff);
	git_index_free(index);
	git_tree_free(head);
	return rc;
}

int bpg_gather_message(json_t *facts, git_repository *repo, const char *message, size_t len,
	bpg_error *err)
{
	return gather_message(facts, repo, message, len, false, NULL, err);
}

int bpg_gather_message_staged(json_t *facts, git_repository *repo, const char *message, size_t len,
	const bpg_gather_opts *opts, bpg_error *err)
{
	return gather_message(facts, repo, message, len, true, opts, err);
}

/* dir + "/." as an object directory of odb: the first one (*odb NULL) or an alternate */
static int add_respelled(git_odb **odb, const char *dir, size_t len)
{
	bpg_buf p = BPG_BUF_INIT;
	int rc;

	if (bpg_buf_put(&p, dir, len) < 0 || bpg_buf_puts(&p, "/.") < 0)
		rc = -1;
	else
		rc = *odb ? git_odb_add_disk_alternate(*odb, p.ptr) : git_odb_open(odb, p.ptr);
	bpg_buf_dispose(&p);
	return rc;
}

/*
 * The object directories GIT_REPOSITORY_OPEN_FROM_ENV reads (GIT_OBJECT_DIRECTORY,
 * else the repository's objects/, then GIT_ALTERNATE_OBJECT_DIRECTORIES split at
 * ':' as libgit2 and git split it; objects/info/alternates comes with the first),
 * each spelled dir/. for pack objects of this handle's own (gather.h says why).
 */
static int own_packs(git_repository *repo)
{
	const char *dir = getenv("GIT_OBJECT_DIRECTORY"), *alts = getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
	bpg_buf objects = BPG_BUF_INIT;
	git_odb *odb = NULL;
	int rc = -1;

	if (!dir || !*dir) {
		if (bpg_buf_printf(&objects, "%sobjects", git_repository_commondir(repo)) < 0)
			goto done;
		dir = objects.ptr;
	}
	if (add_respelled(&odb, dir, strlen(dir)) < 0)
		goto done;
	for (const char *a = alts; a && *a;) {
		const char *end = strchr(a, ':');
		size_t n = end ? (size_t)(end - a) : strlen(a);
		if (n && add_respelled(&odb, a, n) < 0)
			goto done;
		a += n + (end ? 1 : 0);
	}
	if (git_repository_set_odb(repo, odb) < 0)
		goto done;
	rc = 0;
done:
	git_odb_free(odb);
	bpg_buf_dispose(&objects);
	git_error_clear();
	return rc;
}

int bpg_gather_open_from_env(git_repository **out, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = git_repository_open_ext(out, ".", GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) < 0)
		return rc;
	/* else the packs are shared, as with the first handle (test builds:
	 * BPGATE_TEST_FLAGS=own-packs-required makes that an error, to see it worked) */
	if (own_packs(*out) < 0 && bpg_test_flag("own-packs-required")) {
		git_repository_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static bool hex_ok(const char *hex)
{
	if (!hex || strlen(hex) != GIT_OID_HEXSZ)
		return false;
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* The old tip of an update must be here: a client may not have the commit the
 * remote branch is at (someone else pushed). That case alone is BPG_ENOBASE,
 * so a caller can choose to judge the new commits against nothing; anything
 * else that goes wrong reading it is an error. Nothing is added to the facts. */
static int old_tip_present(git_repository *repo, const char *refname, const git_oid *id, bpg_error *err)
{
	git_odb *odb = NULL;
	int present;

	if (git_repository_odb(&odb, repo) < 0)
		return g_git_error(err, "cannot open the object database");
	present = git_odb_exists(odb, id);
	git_odb_free(odb);
	if (!present)
		return bpg_error_set(err, BPG_ENOBASE, "the old tip of %s is not in this repository", refname);
	return 0;
}

int bpg_gather_ref(json_t *facts, git_repository *repo, const char *refname, const char *old_hex,
	const char *new_hex, const char *environment, const bpg_gather_opts *opts, bpg_error *err)
{
	git_oid old_id, new_id;
	git_tree *base_tree = NULL, *new_tree = NULL;
	git_commit *oldest_c = NULL, *parent = NULL;
	json_t *refs = g_array_of(facts, "refs"), *r;
	g_commits_job *job = NULL;
	commit_walk w = { 0 };
	bool created, deleted, ff = false;
	int rc = 0;

	if (!refs)
		return g_oom(err);
	if (!hex_ok(old_hex) || !hex_ok(new_hex) || git_oid_fromstr(&old_id, old_hex) < 0 ||
	    git_oid_fromstr(&new_id, new_hex) < 0)
		return bpg_error_set(err, BPG_EINVALID, "ref update for %s: object ids must be 40 lower-case hex digits",
			refname);
	created = git_oid_is_zero(&old_id);
	deleted = git_oid_is_zero(&new_id);
	if (!created && !deleted && (rc = old_tip_present(repo, refname, &old_id, err)) < 0)
		return rc;
	r = json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:b}", "name", refname, "old", old_hex, "new", new_hex,
		"environment", environment ? json_string(environment) : json_null(),
		"fast_forward", ff, "deleted", deleted, "created", created);
	if (!r || json_array_append_new(refs, r) < 0)
		return bpg_error_set(err, BPG_EINVALID, "ref name %s is not valid UTF-8", "given");
	if (deleted)
		return 0;
	if ((rc = walk_commits(&w, facts, repo, created ? NULL : &old_id, &new_id, created, !created, opts, &job,
	    err)) < 0)
		goto done;
	/* Files: against the old tip, or for a new branch against the parent of
	 * its oldest new commit (the point it left existing history). */
	if (!created) {
		rc = tree_of(&base_tree, repo, &old_id, err);
	} else if (w.have_oldest) { /* a new branch: walked here */
		/* a parent that cannot be read (a shallow clone) means the empty tree, as
		 * before; one over the size limits is refused */
		if ((rc = bpg_git_commit_lookup(&oldest_c, repo, &w.oldest, "the oldest commit of the change", err)) == 0 &&
		    git_commit_parentcount(oldest_c) > 0)
			rc = bpg_git_commit_lookup(&parent, repo, git_commit_parent_id(oldest_c, 0),
				"the parent of the oldest commit", err);
		if (rc < 0 && rc != BPG_ETOOBIG) {
			rc = 0;
			bpg_error_clear(err);
		}
		if (rc == 0 && parent && (rc = bpg_git_object_size(NULL, NULL, repo, git_commit_tree_id(parent),
		    GIT_OBJECT_ANY, BPG_GIT_TREE_MAX, "the tree the change starts from", err)) == 0)
			rc = git_commit_tree(&base_tree, parent) < 0 ? g_git_error(err, "cannot read a tree") : 0;
	} else {
		rc = tree_of(&base_tree, repo, &new_id, err); /* nothing new: no file changes */
	}
	if (rc < 0 || (rc = tree_of(&new_tree, repo, &new_id, err)) < 0)
		goto done;
	if ((rc = g_gather_tree_diff(facts, repo, base_tree, new_tree, NULL, job, opts, err)) < 0)
		goto done;
	/* the walk's (maybe on the commits' thread) */
	if ((rc = g_commits_found(job, err)) < 0)
		goto done;
	if (!created && json_object_set_new(r, "fast_forward", json_boolean(w.ff)) < 0) {
		rc = g_oom(err);
		goto done;
	}
	rc = commits_finish(facts, job, err);
done:
	rc = walk_first(job, rc, err);
	g_commits_free(job);
	commit_walk_dispose(&w);
	git_commit_free(oldest_c);
	git_commit_free(parent);
	git_tree_free(base_tree);
	git_tree_free(new_tree);
	return rc;
}
