/*
 * The server facts that come from the records the server itself writes
 * (refs/bpgate/releases/<env>/<commit>, see post.c) and from the first-parent
 * range of a push (docs/readme/server.md, "Server facts"):
 *
 *   released_trees     [{commit, tree, time}]: verified records of kind
 *                      "release" (accepted, judged updates) of this environment
 *   source_trees       trees the promotes_from environment's branch had as an
 *                      accepted *tip* (its verified records of any kind) plus
 *                      its current tip; never the trees of intermediate commits
 *   upstream_trees     the same for every environment up the promotes_from
 *                      chain (stage, then dev, ...)
 *   first_parent_range [{commit, tree}]: the commits this update adds to the
 *                      branch's first-parent history, newest first
 *
 * Once post-receive has indexed the records (recindex.c), each list holds only
 * what the update could need (an index entry whose record is not consistent, its
 * commit pruned say, makes the environment's records listed as before): released_trees and source_trees the new tree's
 * records, upstream_trees those of the first-parent range's trees (plus each
 * environment's current tip), found by name under refs/bpgate/released/ and
 * refs/bpgate/tips/; the rules only ask whether those trees are in them.
 * Before, every record of the environment is listed (at most RCV_HISTORY_MAX:
 * past that, records went unread and their trees "never accepted").
 *
 * A record counts only when it is consistent: its ref is
 * refs/bpgate/releases/<env>/<40-hex commit>, it points to a blob of at most
 * 1 MiB holding a JSON object whose environment, ref (the environment's
 * branch), new (the commit of the ref name) and tree (the tree of that
 * commit, read from git) all agree. Its trust is that only the server writes
 * under refs/bpgate/ (server-refs refuses every push there except new,
 * verified approvals). Reads git; decides nothing.
 */
#include "receive.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"

#include <stdlib.h>
#include <string.h>

static int oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "out of memory gathering the server facts");
}

/* The full ref name of an environment's branch ("main" -> refs/heads/main). */
static void env_branch(char *out, size_t size, const bpg_policy *p, const char *env)
{
	const json_t *e = json_object_get(json_object_get(bpg_policy_json(p), "environments"), env);
	const char *b = json_string_value(json_object_get(e, "branch"));
	out[0] = '\0';
	if (b)
		snprintf(out, size, "%s%s", strncmp(b, "refs/", 5) == 0 ? "" : "refs/heads/", b);
}

/* Visit the consistent records of an environment: cb(record, commit hex, tree hex). */
typedef int (*record_cb)(const json_t *rec, const char *commit, const char *tree, void *arg);

/* Whether rec is a consistent record of env's branch at commit; tree gets the commit's tree. */
static bool consistent(const rcv_ctx *cx, const json_t *rec, const char *env, const char *branch, const char *commit,
	char tree[GIT_OID_HEXSZ + 1])
{
	git_commit *c = NULL;
	git_oid cid;

	if (!json_is_object(rec) || !commit || !rcv_hex40(commit, strlen(commit)) || git_oid_fromstr(&cid, commit) < 0 ||
	    git_commit_lookup(&c, cx->repo, &cid) < 0) {
		git_error_clear();
		return false;
	}
	git_oid_tostr(tree, GIT_OID_HEXSZ + 1, git_commit_tree_id(c));
	git_commit_free(c);
	const char *re = json_string_value(json_object_get(rec, "environment"));
	const char *rr = json_string_value(json_object_get(rec, "ref"));
	const char *rn = json_string_value(json_object_get(rec, "new"));
	const char *rt = json_string_value(json_object_get(rec, "tree"));
	return re && strcmp(re, env) == 0 && rr && strcmp(rr, branch) == 0 && rn && strcmp(rn, commit) == 0 && rt &&
		strcmp(rt, tree) == 0;
}

/* Every record of env, listed (before the records are indexed: recindex.c). */
static int each_record(const rcv_ctx *cx, const char *env, record_cb cb, void *arg, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char prefix[300], branch[512];
	size_t seen = 0;
	int rc = 0;

	char glob[310];
	if (!rcv_env_name_plain(env))
		return 0; /* not a name a glob can hold: no records are read, which refuses more, never less */
	snprintf(prefix, sizeof(prefix), RCV_RELEASES_PREFIX "%s/", env);
	snprintf(glob, sizeof(glob), "%s*", prefix);
	env_branch(branch, sizeof(branch), cx->pol->policy, env);
	if (git_reference_iterator_glob_new(&it, cx->repo, glob) < 0) {
		git_error_clear();
		return 0; /* no records: nothing released */
	}
	while (rc == 0 && git_reference_next(&ref, it) == 0 && seen++ < RCV_HISTORY_MAX) {
		const char *name = git_reference_name(ref), *rest = NULL;
		json_t *rec = NULL;
		char tree[GIT_OID_HEXSZ + 1], commit[GIT_OID_HEXSZ + 1] = "";
		size_t rlen = 0;
		if (strncmp(name, prefix, strlen(prefix)) == 0) {
			rest = name + strlen(prefix);
			rlen = strlen(rest);
		}
		/* <commit>, or <commit>-<blob>: a later record of a commit that was the tip before (post.c) */
		if (rest && (rlen == 40 || (rlen == 81 && rest[40] == '-' && rcv_hex40(rest + 41, 40))) &&
		    rcv_hex40(rest, 40))
			memcpy(commit, rest, 40);
		if (commit[0] && (rec = rcv_record_read(cx->repo, git_reference_target(ref))) &&
		    consistent(cx, rec, env, branch, commit, tree))
			rc = cb(rec, commit, tree, arg);
		json_decref(rec);
		git_reference_free(ref);
		ref = NULL;
		git_error_clear();
	}
	git_reference_free(ref);
	git_reference_iterator_free(it);
	git_error_clear();
	return rc < 0 ? oom(err) : 0;
}

/* The record of env that the index refs/bpgate/<ns>/<env>/<tree> names, if it is consistent and of
 * that tree: cb(record, commit, tree). 1 when the index names a record that cannot be read or is not
 * consistent (its commit force-pushed away and pruned, say): the caller lists env's records then,
 * as before the indexes, rather than take the tree for never accepted. */
static int indexed_record(const rcv_ctx *cx, const char *ns, const char *env, const char *tree, record_cb cb,
	void *arg, bpg_error *err)
{
	char branch[512], problem[600], ctree[GIT_OID_HEXSZ + 1];
	json_t *rec = NULL;
	int rc = 0;

	if (!tree)
		return 0;
	if (rcv_record_lookup(&rec, cx->repo, ns, env, tree, problem, sizeof(problem)) < 0)
		return 1;
	if (!rec)
		return 0;
	env_branch(branch, sizeof(branch), cx->pol->policy, env);
	const char *commit = json_string_value(json_object_get(rec, "new"));
	if (consistent(cx, rec, env, branch, commit, ctree) && strcmp(ctree, tree) == 0)
		rc = cb(rec, commit, ctree, arg) < 0 ? oom(err) : 0;
	else
		rc = 1;
	json_decref(rec);
	return rc;
}

static int add_released(const json_t *rec, const char *commit, const char *tree, void *arg)
{
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	if (!kind || strcmp(kind, "release") != 0)
		return 0; /* rollbacks and break-glass changes were not judged */
	json_t *o = json_pack("{s:s, s:s, s:O?}", "commit", commit, "tree", tree, "time", json_object_get(rec, "time"));
	return !o || json_array_append_new(arg, o) < 0 ? -1 : 0;
}

static int add_tip(const json_t *rec, const char *commit, const char *tree, void *arg)
{
	(void)rec;
	(void)commit;
	if (bpg_strings_has(arg, tree))
		return 0;
	return json_array_append_new(arg, json_string(tree)) < 0 ? -1 : 0;
}

static int range_limit(const rcv_update *u, bpg_error *err)
{
	return bpg_error_set(err, BPG_ETOOBIG, "%s: the push adds more than %d commits to the branch's "
		"first-parent history (limit)", u->name, RCV_HISTORY_MAX);
}

/* One commit of the first-parent range. */
static int range_add(json_t *out, size_t *n, const rcv_update *u, const char *commit, const char *tree, bpg_error *err)
{
	json_t *o;

	if (++*n > RCV_HISTORY_MAX)
		return range_limit(u, err);
	/* built directly: json_pack's format parsing was most of this on a 2,000-commit push;
	 * both are 40 hex digits (from git_oid_tostr or the gathered facts) */
	if (!(o = json_object()) || json_array_append_new(out, o) < 0 ||
	    json_object_set_new_nocheck(o, "commit", json_string_nocheck(commit)) < 0 ||
	    json_object_set_new_nocheck(o, "tree", json_string_nocheck(tree)) < 0)
		return oom(err);
	return 0;
}

/* A gathered commit by its id: the index below is sorted by id. */
typedef struct {
	const char *id;
	const json_t *commit;
} commit_at;

static int commit_at_cmp(const void *a, const void *b)
{
	return strcmp(((const commit_at *)a)->id, ((const commit_at *)b)->id);
}

/*
 * The range from the gathered commits, when that is sure to be the walk's:
 * for an update of an existing branch they are every commit new reaches and
 * old does not, each with its tree and parents. Their first-parent chain from
 * new that ends at old itself (or at a root) is exactly what the first-parent
 * walk hiding old gives, without reading every commit again (~40 % of the
 * gate's serial part on a 2,000-commit push). A chain that leaves them
 * elsewhere (through a commit old reaches only by a merge's second parent)
 * goes on, in that walk, into history the environment never had as its
 * first-parent line: 1 then, and the walk decides. 1 too for facts without
 * ids, trees or parents.
 */
static int range_from_commits(json_t *out, const rcv_update *u, const json_t *commits, bpg_error *err)
{
	/* a sorted array, not a JSON object: 2,000 ids hashed into jansson was most of this */
	size_t n = json_array_size(commits), i, added = 0;
	commit_at *index = calloc(n ? n : 1, sizeof(*index)), key, *at;
	const char *id = u->new_hex;
	json_t *c;
	int rc = 0;

	if (!index)
		return oom(err);
	json_array_foreach(commits, i, c) {
		index[i] = (commit_at){ json_string_value(json_object_get(c, "id")), c };
		if (!index[i].id || !json_string_value(json_object_get(c, "tree")) ||
		    !json_is_array(json_object_get(c, "parents"))) {
			rc = 1;
			goto done;
		}
	}
	qsort(index, n, sizeof(*index), commit_at_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(index[i - 1].id, index[i].id) == 0) { /* the walk never repeats one: leave it to the walk */
			rc = 1;
			goto done;
		}
	while (id && (key.id = id, at = bsearch(&key, index, n, sizeof(*index), commit_at_cmp))) {
		if ((rc = range_add(out, &added, u, id, json_string_value(json_object_get(at->commit, "tree")), err)) < 0)
			goto done;
		id = json_string_value(json_array_get(json_object_get(at->commit, "parents"), 0));
	}
	if (id && strcmp(id, u->old_hex) != 0)
		rc = 1;
done:
	free(index);
	return rc;
}

/* The commits old..new along first parents (hiding old and everything it reaches). */
static int add_range(json_t *out, git_repository *repo, const rcv_update *u, const json_t *commits, bpg_error *err)
{
	git_revwalk *w = NULL;
	git_oid nid, oid, id;
	size_t n = 0;
	int rc = 0, wrc;

	git_oid_fromstr(&nid, u->new_hex);
	git_oid_fromstr(&oid, u->old_hex);
	if (git_oid_is_zero(&nid))
		return 0;
	/* (test builds: BPGATE_TEST_FLAGS=range-walk always walks, to compare) */
	if (!git_oid_is_zero(&oid) && json_is_array(commits) && !bpg_test_flag("range-walk") &&
	    (rc = range_from_commits(out, u, commits, err)) <= 0)
		return rc;
	json_array_clear(out); /* facts it could not use: walk */
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, &nid) < 0 ||
	    (!git_oid_is_zero(&oid) && git_revwalk_hide(w, &oid) < 0)) {
		rc = bpg_error_set(err, BPG_ERROR, "%s: cannot walk the first-parent history of the push", u->name);
		goto done;
	}
	git_revwalk_simplify_first_parent(w);
	while ((wrc = git_revwalk_next(&id, w)) == 0) {
		git_commit *c = NULL;
		char ch[GIT_OID_HEXSZ + 1], th[GIT_OID_HEXSZ + 1];
		if (n + 1 > RCV_HISTORY_MAX) {
			rc = range_limit(u, err);
			goto done;
		}
		if (git_commit_lookup(&c, repo, &id) < 0) {
			rc = bpg_error_set(err, BPG_ERROR, "%s: a commit of the push cannot be read", u->name);
			goto done;
		}
		git_oid_tostr(ch, sizeof(ch), &id);
		git_oid_tostr(th, sizeof(th), git_commit_tree_id(c));
		git_commit_free(c);
		if ((rc = range_add(out, &n, u, ch, th, err)) < 0)
			goto done;
	}
	if (wrc != GIT_ITEROVER)
		rc = bpg_error_set(err, BPG_ERROR, "%s: cannot walk the first-parent history of the push", u->name);
done:
	git_error_clear();
	git_revwalk_free(w);
	return rc;
}

/* Which trees an update brings, to be looked up in the indexes (NULL when the records are
 * listed instead): the new tree and the trees of the first-parent range. */
typedef struct {
	const char *new_tree;
	const json_t *range;
} wanted_trees;

/* The trees an environment had as accepted tips: its verified records (of the wanted trees, when
 * indexed) and its branch's current tip. range: whether the range's trees are wanted too. */
static int add_tips(json_t *out, const rcv_ctx *cx, const char *env, const wanted_trees *want, bool range,
	bpg_error *err)
{
	char branch[512];
	git_reference *ref = NULL;
	int rc = 0;

	env_branch(branch, sizeof(branch), cx->pol->policy, env);
	/* the current tip: accepted when it was pushed (or there before the gate) */
	if (branch[0] && git_reference_lookup(&ref, cx->repo, branch) == 0) {
		git_commit *c = NULL;
		if (git_reference_target(ref) && git_commit_lookup(&c, cx->repo, git_reference_target(ref)) == 0) {
			char th[GIT_OID_HEXSZ + 1];
			git_oid_tostr(th, sizeof(th), git_commit_tree_id(c));
			if (!bpg_strings_has(out, th) && json_array_append_new(out, json_string(th)) < 0)
				rc = oom(err);
		}
		git_commit_free(c);
	}
	git_reference_free(ref);
	git_error_clear();
	if (rc < 0 || !want)
		return rc < 0 ? rc : each_record(cx, env, add_tip, out, err);
	if ((rc = indexed_record(cx, "tips", env, want->new_tree, add_tip, out, err)) != 0)
		return rc < 0 ? rc : each_record(cx, env, add_tip, out, err);
	size_t i;
	json_t *c;
	if (range)
		json_array_foreach(want->range, i, c)
			if ((rc = indexed_record(cx, "tips", env, json_string_value(json_object_get(c, "tree")), add_tip, out,
			    err)) != 0)
				return rc < 0 ? rc : each_record(cx, env, add_tip, out, err);
	return 0;
}

bool rcv_env_name_plain(const char *env)
{
	size_t n = env ? strlen(env) : 0;
	return n > 0 && n <= 200 && strspn(env, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
		env[0] != '.';
}

int rcv_release_facts(json_t *server, const rcv_ctx *cx, const rcv_update *u, const char *env, const char *from,
	const json_t *commits, bpg_error *err)
{
	json_t *released = json_array(), *src = json_array(), *range = json_array();
	int rc = 0;

	/* json_object_set_new takes the reference, on failure too */
	if (json_object_set_new(server, "released_trees", released) < 0 ||
	    json_object_set_new(server, "source_trees", src) < 0 ||
	    json_object_set_new(server, "first_parent_range", range) < 0 || !released || !src || !range)
		return oom(err);
	if ((rc = add_range(range, cx->repo, u, commits, err)) < 0)
		return rc;
	/* Indexed records (recindex.c) are looked up by the trees the update brings: the facts then
	 * hold the accepted tips and releases among those, which is all the rules ask of them. A
	 * marker that cannot be read: listed, as before the indexes. */
	bool indexed = false;
	char problem[600], ntree[GIT_OID_HEXSZ + 1] = "";
	git_oid nid;
	git_commit *nc = NULL;
	if (rcv_record_indexed(&indexed, cx->repo, problem, sizeof(problem)) < 0)
		indexed = false;
	if (git_oid_fromstr(&nid, u->new_hex) == 0 && !git_oid_is_zero(&nid) && git_commit_lookup(&nc, cx->repo, &nid) == 0)
		git_oid_tostr(ntree, sizeof(ntree), git_commit_tree_id(nc));
	git_commit_free(nc);
	git_error_clear();
	wanted_trees want = { ntree[0] ? ntree : NULL, range };
	const wanted_trees *w = indexed ? &want : NULL;
	if (w && (rc = indexed_record(cx, "released", env, w->new_tree, add_released, released, err)) < 0)
		return rc;
	if ((!w || rc == 1) && (rc = each_record(cx, env, add_released, released, err)) < 0)
		return rc;
	if (!from)
		return json_object_set_new(server, "upstream_trees", json_array()) < 0 ? oom(err) : 0;
	if ((rc = add_tips(src, cx, from, w, false, err)) < 0)
		return rc;
	/* upstream_trees: accepted tips of every environment up the promotes_from chain
	 * (at most 16 environments deep: a cycle in the policy ends there) */
	json_t *up = json_array();
	const json_t *envs = json_object_get(bpg_policy_json(cx->pol->policy), "environments");
	if (!up || json_object_set_new(server, "upstream_trees", up) < 0)
		return oom(err);
	const char *e = from;
	for (int depth = 0; e && depth < 16 && strcmp(e, env) != 0; depth++) {
		if ((rc = add_tips(up, cx, e, w, true, err)) < 0)
			return rc;
		e = json_string_value(json_object_get(json_object_get(envs, e), "promotes_from"));
	}
	return 0;
}
