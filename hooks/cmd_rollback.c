/*
 * bpgate rollback SCENARIO [--env ENV] [--to REV] [--repo DIR] [--remote NAME]
 *                 [--with-others] [--dry-run] [--no-fetch] [--deploy]
 *
 * Prepares the rollback of a scenario on an environment (default prod): the
 * environment's branch goes back to the last tree released there (release
 * records refs/bpgate/releases/<env>/<commit>) in which the scenario's files
 * differ from now, or to --to REV's tree. The gate recognises a rollback only
 * when the WHOLE tree is one the environment released (a record of kind
 * "release"; rollbacks and break-glass changes are not targets), so the
 * commit restores that
 * whole tree; the impact summary says which scenarios (with their modules and
 * connections, from the semantic blueprint diff), systems (catalog writes_to)
 * and other files change back. When other scenarios would change back too it
 * stops unless --with-others is given.
 *
 * It creates a commit on the local branch rollback/<scenario> whose parent is
 * the environment's tip (so the push is a fast-forward) and whose message
 * carries the change-template trailers, and prints the push the releaser
 * runs; --dry-run creates nothing and prints the git commands instead.
 * --deploy then pushes it (the gate judges it as any push) and, once it
 * is accepted, deploys it to Make with the same compare and swap as `bpgate
 * make deploy`: the server already did when the environment's make.deploy
 * is "auto" (checked through the deployment record it wrote); otherwise
 * `bpgate make deploy --env ENV <commit>` runs here (it needs the token and
 * the audit log: on the server, or it says so and what to run instead).
 * Exit: 0 prepared (and with --deploy: pushed and deployed), 1 nothing to
 * roll back to / refused / not deployed, 2 error.
 */
#include "cli.h"
#include "releases.h"
#include "bpgate/blueprint.h"
#include "bpgate/buf.h"
#include "bpgate/gather.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/gitobj.h"

#include <spawn.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define RB_HISTORY_MAX 10000

typedef struct {
	git_repository *repo;
	bpg_policy *policy;
	const json_t *entry;        /* the scenario's catalog entry */
	const char *scenario, *env, *remote;
	char branch[256];           /* refs/heads/... of the environment */
	const char *short_branch;
	char tip_ref[300];          /* where the tip was read */
	git_oid tip, tip_tree, to_tree, to_commit;
	const json_t *record;       /* the release record of the target, or NULL */
	json_t *changed;            /* scenario ids changing back */
	json_t *systems, *connections, *others;
} rb_ctx;

static int run(char *const argv[])
{
	pid_t pid;
	int st;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put_safe(const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	if (s && bpg_safe_put(&b, s, strlen(s), 200) == 0 && b.ptr)
		fputs(b.ptr, stdout);
	bpg_buf_dispose(&b);
}

/* Single-quoted for a POSIX shell. */
static int put_quoted(bpg_buf *out, const char *s)
{
	int rc = bpg_buf_put(out, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			rc |= bpg_buf_put(out, "'\\''", 4);
		else
			rc |= bpg_buf_put(out, s, 1);
	}
	return rc | bpg_buf_put(out, "'", 1);
}

static bool has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (s && json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static void add_str(json_t *arr, const char *s)
{
	if (s && !has_str(arr, s))
		json_array_append_new(arr, json_string(s));
}

static const json_t *catalog_entry(const bpg_policy *p, const char *id)
{
	return bpg_catalog_find(bpg_policy_json(p), id);
}

/* The first catalog entry whose paths match (the server's rule), or NULL. */
static const json_t *scenario_of(const bpg_policy *p, const char *path)
{
	return bpg_catalog_match(bpg_policy_json(p), path);
}

static int tree_diff(git_diff **out, git_repository *repo, const git_oid *a, const git_oid *b)
{
	git_tree *ta = NULL, *tb = NULL;
	int rc = -1;
	if (git_tree_lookup(&ta, repo, a) == 0 && git_tree_lookup(&tb, repo, b) == 0)
		rc = git_diff_tree_to_tree(out, repo, ta, tb, NULL);
	git_tree_free(ta);
	git_tree_free(tb);
	return rc;
}

static bool scenario_differs(rb_ctx *cx, const git_oid *tree)
{
	git_diff *d = NULL;
	bool hit = false;
	if (tree_diff(&d, cx->repo, &cx->tip_tree, tree) < 0) {
		git_error_clear();
		return false;
	}
	for (size_t i = 0; i < git_diff_num_deltas(d) && !hit; i++) {
		const git_diff_delta *dl = git_diff_get_delta(d, i);
		const char *path = dl->new_file.path ? dl->new_file.path : dl->old_file.path;
		hit = scenario_of(cx->policy, path) == cx->entry;
	}
	git_diff_free(d);
	return hit;
}

/* The first-parent history of the tip, newest first: [[commit hex, tree hex], ...]. */
static json_t *history(git_repository *repo, const git_oid *tip)
{
	json_t *arr = json_array();
	git_commit *c = NULL, *p = NULL;
	char th[GIT_OID_HEXSZ + 1], ch[GIT_OID_HEXSZ + 1];
	if (!arr || git_commit_lookup(&c, repo, tip) < 0) {
		git_error_clear();
		json_decref(arr);
		return NULL;
	}
	for (size_t n = 0; c && n < RB_HISTORY_MAX; n++) {
		git_oid_tostr(th, sizeof(th), git_commit_tree_id(c));
		git_oid_tostr(ch, sizeof(ch), git_commit_id(c));
		if (json_array_append_new(arr, json_pack("[ss]", ch, th)) < 0)
			break;
		if (git_commit_parentcount(c) == 0 || git_commit_parent(&p, c, 0) < 0)
			break;
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	git_error_clear();
	git_commit_free(c);
	return arr;
}

/* The newest commit of the history with this tree, or NULL. */
static const char *commit_with_tree(const json_t *hist, const char *tree)
{
	size_t i;
	json_t *h;
	json_array_foreach(hist, i, h)
		if (strcmp(json_string_value(json_array_get(h, 1)), tree) == 0)
			return json_string_value(json_array_get(h, 0));
	return NULL;
}

static int read_side(bpg_buf *out, git_repository *repo, const git_diff_file *f)
{
	git_blob *b = NULL;
	int rc = BPG_ENOTFOUND;
	if (!(f->flags & GIT_DIFF_FLAG_EXISTS) || git_oid_is_zero(&f->id))
		return BPG_ENOTFOUND;
	if (git_blob_lookup(&b, repo, &f->id) == 0)
		rc = (size_t)git_blob_rawsize(b) > BPG_BLUEPRINT_MAX_BYTES ? BPG_ETOOBIG :
			bpg_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_error_clear();
	git_blob_free(b);
	return rc;
}

/* The semantic diff of one blueprint, current -> target, as indented lines. */
static void blueprint_impact(rb_ctx *cx, const git_diff_delta *dl)
{
	bpg_buf now = BPG_BUF_INIT, then = BPG_BUF_INIT;
	bpg_blueprint *a = NULL, *b = NULL;
	bpg_bpdiff *d = NULL;
	bpg_error err;
	const char *path = dl->new_file.path;
	bool has_now = read_side(&now, cx->repo, &dl->old_file) == 0, has_then = read_side(&then, cx->repo, &dl->new_file) == 0;

	if (!(has_now ? bpg_gather_is_blueprint(path, now.ptr, now.size) : has_then &&
	    bpg_gather_is_blueprint(path, then.ptr, then.size)))
		goto done;
	if ((has_now && bpg_blueprint_parse(&a, now.ptr ? now.ptr : "", now.size, path, &err) < 0) ||
	    (has_then && bpg_blueprint_parse(&b, then.ptr ? then.ptr : "", then.size, path, &err) < 0)) {
		printf("      (blueprint does not parse: ");
		put_safe(err.message);
		printf(")\n");
		goto done;
	}
	if (!a || !b) {
		printf("      the whole scenario %s (%zu module(s))\n", a ? "goes away" : "comes back",
			bpg_blueprint_module_count(a ? a : b));
		goto done;
	}
	if (bpg_bpdiff_compute(&d, a, b, &err) < 0) {
		printf("      (no semantic diff: ");
		put_safe(err.message);
		printf(")\n");
		goto done;
	}
	long long last = -1;
	for (size_t i = 0; i < bpg_bpdiff_count(d); i++) {
		const bpg_change *c = bpg_bpdiff_get(d, i);
		if (c->module_id != last) {
			if (last != -1)
				putchar('\n');
			last = c->module_id;
			if (c->module_id)
				printf("      module %lld ", c->module_id), put_safe(c->module ? c->module : "?"), printf(":");
			else
				printf("      scenario:");
		}
		if (c->kind == BPG_CHANGE_ADDED)
			printf(" comes back");
		else if (c->kind == BPG_CHANGE_REMOVED)
			printf(" goes away");
		else {
			printf(" %s", bpg_change_kind_name(c->kind));
			if (c->field)
				putchar(' '), put_safe(c->field);
		}
		if (c->kind == BPG_CHANGE_CONNECTION) {
			bpg_buf line = BPG_BUF_INIT;
			printf(" (%s -> %s)", c->old_value ? c->old_value : "none", c->new_value ? c->new_value : "none");
			if (bpg_buf_printf(&line, "%s: module %lld %s %s -> %s", path, c->module_id, c->field ? c->field : "",
				c->old_value ? c->old_value : "none", c->new_value ? c->new_value : "none") < 0)
				add_str(cx->connections, "(a connection change that could not be described: out of memory)");
			else
				add_str(cx->connections, line.ptr);
			bpg_buf_dispose(&line);
		}
	}
	if (last != -1)
		putchar('\n');
	else
		printf("      no semantic change (formatting or metadata only)\n");
done:
	bpg_bpdiff_free(d);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
	bpg_buf_dispose(&now);
	bpg_buf_dispose(&then);
}

/* Print what changes back, scenario by scenario; fills changed, systems, others. */
static int impact(rb_ctx *cx)
{
	git_diff *d = NULL;
	size_t i, k;
	json_t *e, *s;

	if (tree_diff(&d, cx->repo, &cx->tip_tree, &cx->to_tree) < 0) {
		fprintf(stderr, "bpgate rollback: cannot compare the trees: %s\n", git_error_last() ? git_error_last()->message : "?");
		git_error_clear();
		return -1;
	}
	printf("\nimpact (what changes back):\n");
	json_array_foreach(json_object_get(bpg_policy_json(cx->policy), "catalog"), i, e) {
		bool header = false;
		for (size_t n = 0; n < git_diff_num_deltas(d); n++) {
			const git_diff_delta *dl = git_diff_get_delta(d, n);
			const char *path = dl->new_file.path;
			if (scenario_of(cx->policy, path) != e)
				continue;
			if (!header) {
				header = true;
				add_str(cx->changed, json_string_value(json_object_get(e, "id")));
				printf("  scenario ");
				put_safe(json_string_value(json_object_get(e, "id")));
				printf(" (risk %s, owner ", json_string_value(json_object_get(e, "risk")) ?
					json_string_value(json_object_get(e, "risk")) : "?");
				put_safe(json_string_value(json_object_get(e, "owner")) ? json_string_value(json_object_get(e, "owner")) : "?");
				printf(")%s\n", e == cx->entry ? "" : "  <- another scenario");
				json_array_foreach(json_object_get(e, "writes_to"), k, s)
					add_str(cx->systems, json_string_value(s));
			}
			printf("    %c ", dl->status == GIT_DELTA_ADDED ? 'A' : dl->status == GIT_DELTA_DELETED ? 'D' : 'M');
			put_safe(path);
			putchar('\n');
			blueprint_impact(cx, dl);
		}
	}
	for (size_t n = 0; n < git_diff_num_deltas(d); n++) {
		const char *path = git_diff_get_delta(d, n)->new_file.path;
		if (!scenario_of(cx->policy, path))
			add_str(cx->others, path);
	}
	printf("  connections: %s\n", json_array_size(cx->connections) ? "" : "none change");
	json_array_foreach(cx->connections, i, s)
		printf("    "), put_safe(json_string_value(s)), putchar('\n');
	printf("  systems written to by the scenarios changing back:");
	json_array_foreach(cx->systems, i, s)
		putchar(' '), put_safe(json_string_value(s));
	printf("%s\n", json_array_size(cx->systems) ? "" : " none");
	printf("  other files:");
	json_array_foreach(cx->others, i, s)
		putchar(' '), put_safe(json_string_value(s));
	printf("%s\n", json_array_size(cx->others) ? "" : " none");
	json_array_foreach(cx->others, i, s)
		if (strncmp(json_string_value(s), ".bpgate/", 8) == 0) {
			printf("  warning: the policy (.bpgate/) changes back too: the gate asks for the admins' approval\n");
			break;
		}
	git_diff_free(d);
	return 0;
}

/* The highest catalog risk tier among the scenarios changing back, ranked as
 * the server ranks a change (bpg_policy_tier_max); the policy's lowest tier
 * when none is catalogued. */
static const char *risk_of(const rb_ctx *cx)
{
	const char *best = NULL;
	size_t i;
	json_t *id;
	json_array_foreach(cx->changed, i, id)
		best = bpg_policy_tier_max(cx->policy, best,
			json_string_value(json_object_get(catalog_entry(cx->policy, json_string_value(id)), "risk")));
	if (!best)
		best = json_string_value(json_array_get(json_object_get(bpg_policy_json(cx->policy), "risk_tiers"), 0));
	return best ? best : "low";
}

/* One trailer "Key: value" line, unless a trailer of that key (case-insensitive, as git) is already there. */
static int put_trailer(bpg_buf *trailers, json_t *done, const char *key, const char *fmt, ...) BPG_PRINTF(4, 5);
static int put_trailer(bpg_buf *trailers, json_t *done, const char *key, const char *fmt, ...)
{
	size_t i;
	json_t *k;
	va_list ap;
	int rc;
	if (!key || !*key)
		return 0;
	json_array_foreach(done, i, k)
		if (strcasecmp(json_string_value(k), key) == 0)
			return 0;
	if (json_array_append_new(done, json_string(key)) < 0 || bpg_buf_printf(trailers, "%s: ", key) < 0)
		return -1;
	va_start(ap, fmt);
	rc = bpg_buf_vprintf(trailers, fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : bpg_buf_puts(trailers, "\n");
}

/* Subject, body and the change-template trailers (as one paragraph, last): every
 * trailer the policy's change-template asks for, under the names the policy gives
 * them (bpgate/query.h), plus the risk trailer and, for a high-risk tier, the UAT one. */
static int message(bpg_buf *subject, bpg_buf *body, bpg_buf *trailers, const rb_ctx *cx)
{
	char to[GIT_OID_HEXSZ + 1], tip[GIT_OID_HEXSZ + 1], from_c[GIT_OID_HEXSZ + 1];
	const char *when = cx->record ? json_string_value(json_object_get(cx->record, "time")) : NULL;
	const char *tier = risk_of(cx);
	size_t i;
	json_t *s;
	int rc = 0; /* a message missing a line or a trailer is never committed */

	git_oid_tostr(to, sizeof(to), &cx->to_tree);
	git_oid_tostr(tip, sizeof(tip), &cx->tip);
	git_oid_tostr(from_c, sizeof(from_c), &cx->to_commit);
	rc |= bpg_buf_printf(subject, "Roll back %s on %s to tree %.12s", cx->scenario, cx->env, to);
	rc |= bpg_buf_printf(body, "Restores tree %s, which %s ran as commit %.12s%s%s%s.\nScenarios changing back:",
		to, cx->env, from_c, when ? " (released " : "", when ? when : "", when ? ")" : "");
	json_array_foreach(cx->changed, i, s)
		rc |= bpg_buf_printf(body, " %s", json_string_value(s));
	rc |= bpg_buf_printf(body, ".\nPrepared with `bpgate rollback %s --env %s`.", cx->scenario, cx->env);
	json_t *done = json_array();
	if (!done)
		return -1;
	const char *risk_key = bpg_policy_risk_trailer(cx->policy);
	for (i = 0; i < bpg_policy_trailer_count(cx->policy); i++) {
		const char *key = bpg_policy_trailer(cx->policy, i);
		if (!key)
			continue;
		if (strcasecmp(key, risk_key) == 0)
			rc |= put_trailer(trailers, done, key, "%s", tier);
		else if (strcasecmp(key, "Test-Plan") == 0)
			rc |= put_trailer(trailers, done, key, "none new: this tree ran on %s as commit %.12s; watch the scenario's "
				"executions after the push", cx->env, from_c);
		else if (strcasecmp(key, "Rollback") == 0)
			rc |= put_trailer(trailers, done, key, "promote the rolled-back change (commit %.12s) again through stage", tip);
		else
			rc |= put_trailer(trailers, done, key, "rollback %s on %s to tree %.12s, released before as commit %.12s",
				cx->scenario, cx->env, to, from_c);
	}
	rc |= put_trailer(trailers, done, risk_key, "%s", tier);
	if (bpg_policy_tier_is_high(cx->policy, tier))
		rc |= put_trailer(trailers, done, bpg_policy_uat_trailer(cx->policy), "released on %s before as commit %.12s",
			cx->env, from_c);
	json_decref(done);
	return rc;
}

static int signature(git_signature **out, git_repository *repo, const char *who)
{
	char kn[32], ke[32];
	snprintf(kn, sizeof(kn), "GIT_%s_NAME", who);
	snprintf(ke, sizeof(ke), "GIT_%s_EMAIL", who);
	const char *n = getenv(kn), *e = getenv(ke);
	if (n && *n && e && *e)
		return git_signature_now(out, n, e);
	return git_signature_default(out, repo);
}

static int create_commit(rb_ctx *cx, const char *branch_ref, const bpg_buf *msg)
{
	git_signature *author = NULL, *committer = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	git_oid id;
	int rc = -1;

	if (signature(&author, cx->repo, "AUTHOR") < 0 || signature(&committer, cx->repo, "COMMITTER") < 0) {
		fprintf(stderr, "bpgate rollback: who are you? set user.name and user.email (git config)\n");
		goto done;
	}
	if (git_commit_lookup(&parent, cx->repo, &cx->tip) < 0 || git_tree_lookup(&tree, cx->repo, &cx->to_tree) < 0 ||
	    git_commit_create(&id, cx->repo, NULL, author, committer, NULL, msg->ptr, tree, 1,
	    (const git_commit **)&parent) < 0 ||
	    git_reference_create(&ref, cx->repo, branch_ref, &id, 1, "bpgate rollback") < 0) {
		fprintf(stderr, "bpgate rollback: cannot create the commit: %s\n",
			bpg_git_message());
		goto done;
	}
	git_oid_cpy(&cx->to_commit, &id);
	rc = 0;
done:
	git_error_clear();
	git_reference_free(ref);
	git_tree_free(tree);
	git_commit_free(parent);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

/* Bring the environment's branch and the release records from the remote (best effort). */
static void fetch(const rb_ctx *cx)
{
	git_config *cfg = NULL;
	bpg_buf b1 = BPG_BUF_INIT;
	const char *dir = git_repository_workdir(cx->repo) ? git_repository_workdir(cx->repo) : git_repository_path(cx->repo);
	const char *url = NULL;
	/* remote.<name>.url rather than git_remote_lookup, whose regex use leaks under libgit2 1.5 + pcre2 */
	bool known = bpg_buf_printf(&b1, "remote.%s.url", cx->remote) == 0 && git_repository_config_snapshot(&cfg, cx->repo) == 0 &&
		git_config_get_string(&url, cfg, b1.ptr) == 0 && url;
	git_config_free(cfg);
	git_error_clear();
	bpg_buf_clear(&b1);
	if (!known) {
		bpg_buf_dispose(&b1);
		return;
	}
	if (bpg_buf_printf(&b1, "+%s:refs/remotes/%s/%s", cx->branch, cx->remote, cx->short_branch) < 0) {
		fprintf(stderr, "bpgate rollback: warning: out of memory: not fetching %s; using what this clone has\n",
			cx->remote);
		bpg_buf_dispose(&b1);
		return;
	}
	char *argv[] = { "git", "-C", (char *)dir, "fetch", "-q", (char *)cx->remote, b1.ptr,
		"+refs/bpgate/releases/*:refs/bpgate/releases/*", NULL };
	if (b1.ptr && run(argv) != 0)
		fprintf(stderr, "bpgate rollback: warning: git fetch %s failed; using what this clone has\n", cx->remote);
	bpg_buf_dispose(&b1);
}

/* The tip: <remote>/<branch> when this clone tracks it, else the branch itself. */
static int find_tip(rb_ctx *cx)
{
	git_commit *c = NULL;
	int n = snprintf(cx->tip_ref, sizeof(cx->tip_ref), "refs/remotes/%s/%s", cx->remote, cx->short_branch);
	/* a name cut short could name another ref: a longer one is simply not looked up */
	if (n < 0 || (size_t)n >= sizeof(cx->tip_ref) ||
	    git_reference_name_to_id(&cx->tip, cx->repo, cx->tip_ref) < 0) {
		n = snprintf(cx->tip_ref, sizeof(cx->tip_ref), "%s", cx->branch);
		if (n < 0 || (size_t)n >= sizeof(cx->tip_ref) ||
		    git_reference_name_to_id(&cx->tip, cx->repo, cx->tip_ref) < 0) {
			git_error_clear();
			fprintf(stderr, "bpgate rollback: neither %s/%s nor %s exists here\n", cx->remote, cx->short_branch, cx->branch);
			return -1;
		}
	}
	if (git_commit_lookup(&c, cx->repo, &cx->tip) < 0) {
		git_error_clear();
		fprintf(stderr, "bpgate rollback: cannot read %s\n", cx->tip_ref);
		return -1;
	}
	git_oid_cpy(&cx->tip_tree, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

/* The target: --to REV, or the newest release whose scenario files differ from now. */
/* A record of a judged release (not a rollback, a break-glass change or a non-release update). */
static bool is_release(const json_t *rec)
{
	const char *k = json_string_value(json_object_get(rec, "kind"));
	return k && strcmp(k, "release") == 0 && json_string_value(json_object_get(rec, "tree")) &&
		json_string_value(json_object_get(rec, "new"));
}

static int find_target(rb_ctx *cx, const char *to, const json_t *records, const json_t *hist)
{
	size_t i, k;
	json_t *rec, *r, *h;
	char th[GIT_OID_HEXSZ + 1];

	if (to) {
		git_object *o = NULL, *p = NULL;
		int ok = git_revparse_single(&o, cx->repo, to) == 0 && git_object_peel(&p, o, GIT_OBJECT_COMMIT) == 0;
		if (ok)
			git_oid_cpy(&cx->to_tree, git_commit_tree_id((git_commit *)p));
		git_object_free(p);
		git_object_free(o);
		git_error_clear();
		if (!ok) {
			fprintf(stderr, "bpgate rollback: '%s' is not a commit\n", to);
			return BPG_EXIT_ERROR;
		}
		git_oid_tostr(th, sizeof(th), &cx->to_tree);
		const char *c = commit_with_tree(hist, th);
		/* the gate fast-tracks only a tree the environment released (a record of kind release) */
		json_array_foreach(records, i, rec)
			if (c && is_release(rec) && strcmp(json_string_value(json_object_get(rec, "tree")), th) == 0) {
				cx->record = rec;
				c = json_string_value(json_object_get(rec, "new"));
			}
		if (git_oid_equal(&cx->to_tree, &cx->tip_tree) || !c || !cx->record) {
			fprintf(stderr, "bpgate rollback: %s's tree %.12s %s; the gate accepts a rollback only to a tree %s "
				"released before\n", to, th, git_oid_equal(&cx->to_tree, &cx->tip_tree) ? "is the current one" :
				!c ? "was never on the branch" : "was never released there", cx->env);
			cx->record = NULL;
			return BPG_EXIT_FINDINGS;
		}
		git_oid_fromstr(&cx->to_commit, c);
		return 0;
	}
	/* releases in the branch's own order (record times can tie), newest first */
	json_t *by_commit = json_object();
	if (!by_commit)
		return BPG_EXIT_ERROR;
	json_array_foreach(records, i, r)
		json_object_set(by_commit, json_string_value(json_object_get(r, "new")), r);
	json_array_foreach(hist, k, h) {
		const char *c = json_string_value(json_array_get(h, 0)), *t = json_string_value(json_array_get(h, 1));
		git_oid tid;
		rec = json_object_get(by_commit, c);
		if (!rec || !is_release(rec) || strcmp(json_string_value(json_object_get(rec, "tree")), t) != 0 || git_oid_fromstr(&tid, t) < 0 || git_oid_equal(&tid, &cx->tip_tree) || !scenario_differs(cx, &tid))
			continue;
		cx->record = rec; /* still owned by records */
		git_oid_cpy(&cx->to_tree, &tid);
		git_oid_fromstr(&cx->to_commit, c);
		json_decref(by_commit);
		return 0;
	}
	json_decref(by_commit);
	fprintf(stderr, "bpgate rollback: no earlier release of %s on %s differs from the current one "
		"(%zu release record(s) read; fetch them with: git fetch %s '+refs/bpgate/releases/*:refs/bpgate/releases/*')\n",
		cx->scenario, cx->env, json_array_size(records), cx->remote);
	return BPG_EXIT_FINDINGS;
}

static int print_next(const rb_ctx *cx, const char *branch_ref, bool dry, const bpg_buf *subject,
	const bpg_buf *body, const bpg_buf *trailers)
{
	bool sign = bpg_policy_rule_on(cx->policy, "signed-push") &&
		has_str(bpg_policy_rule_param(cx->policy, "signed-push", "environments"), cx->env);
	const char *local = branch_ref + 11;
	char tip[GIT_OID_HEXSZ + 1], to[GIT_OID_HEXSZ + 1];
	bpg_buf cmd = BPG_BUF_INIT;
	int rc = 0; /* never print a cut command line */

	git_oid_tostr(tip, sizeof(tip), &cx->tip);
	git_oid_tostr(to, sizeof(to), &cx->to_tree);
	if (dry) {
		printf("\nnothing created (--dry-run); the commands that prepare it by hand:\n");
		printf("  git checkout -B %s %s\n", local, tip);
		printf("  git read-tree -u --reset %s\n", to);
		rc |= bpg_buf_puts(&cmd, "  git commit --no-verify -m ");
		rc |= put_quoted(&cmd, subject->ptr);
		rc |= bpg_buf_puts(&cmd, " -m ");
		rc |= put_quoted(&cmd, body->ptr);
		char *t = strdup(trailers->ptr ? trailers->ptr : ""), *save = NULL;
		for (char *l = t ? strtok_r(t, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
			rc |= bpg_buf_puts(&cmd, " --trailer ");
			rc |= put_quoted(&cmd, l);
		}
		if (!t)
			rc = BPG_ENOMEM;
		free(t);
		if (rc != 0) {
			fprintf(stderr, "bpgate rollback: out of memory\n");
			bpg_buf_dispose(&cmd);
			return rc;
		}
		printf("%s\n", cmd.ptr ? cmd.ptr : "");
	} else {
		char c[GIT_OID_HEXSZ + 1];
		git_oid_tostr(c, sizeof(c), &cx->to_commit);
		printf("\ncreated commit %.12s on branch %s (parent %.12s, the tip of %s)\n", c, local, tip, cx->tip_ref);
		printf("next, as a releaser (the gate records it as a rollback; no new approvals or stage needed,\n"
			"the change window and the push signature still apply):\n");
		printf("  git show --stat %s\n", local);
	}
	printf("  git push%s %s %s:%s\n", sign ? " --signed" : "", cx->remote, local, cx->short_branch);
	bpg_buf_dispose(&cmd);
	return 0;
}

/* --deploy: push the prepared commit, then see it deployed to Make. */
static int push_and_deploy(const rb_ctx *cx, const char *branch_ref)
{
	bool sign = bpg_policy_rule_on(cx->policy, "signed-push") &&
		has_str(bpg_policy_rule_param(cx->policy, "signed-push", "environments"), cx->env);
	char spec[600], commit[GIT_OID_HEXSZ + 1], ref[300], env[128];
	bpg_make_env m;
	git_reference *r = NULL;
	int st;

	git_oid_tostr(commit, sizeof(commit), &cx->to_commit);
	snprintf(spec, sizeof(spec), "%s:%s", branch_ref + 11, cx->short_branch);
	snprintf(env, sizeof(env), "%s", cx->env);
	char *push[] = { (char *)"git", (char *)"push", sign ? (char *)"--signed" : (char *)"--no-signed",
		(char *)cx->remote, spec, NULL };
	printf("\n$ git push%s %s %s\n", sign ? " --signed" : "", cx->remote, spec);
	fflush(stdout);
	if ((st = run(push)) != 0) {
		fprintf(stderr, "bpgate rollback: the push was not accepted (see above): nothing is deployed\n");
		return BPG_EXIT_FINDINGS;
	}
	if (!bpg_policy_env_make(&m, cx->policy, cx->env)) {
		printf("%s has no Make link (environments.%s.make): nothing to deploy\n", cx->env, cx->env);
		return BPG_EXIT_OK;
	}
	if (m.deploy && strcmp(m.deploy, "auto") == 0) {
		/* the server deployed it in post-receive: its record says so */
		char fetch[400];
		snprintf(fetch, sizeof(fetch), "+refs/bpgate/deploys/%s/*:refs/bpgate/deploys/%s/*", env, env);
		char *fa[] = { (char *)"git", (char *)"fetch", (char *)"-q", (char *)cx->remote, fetch, NULL };
		snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/%s", env, commit);
		if (run(fa) == 0 && git_reference_lookup(&r, cx->repo, ref) == 0) {
			git_reference_free(r);
			printf("deployed to Make by the server (record %s)\n", ref);
			return BPG_EXIT_OK;
		}
		git_error_clear();
		fprintf(stderr, "bpgate rollback: the rollback is ACCEPTED but NOT DEPLOYED to Make (no record %s): see the "
			"push output; retry: ssh git@<server> deploy <repo> --env %s\n", ref, env);
		return BPG_EXIT_FINDINGS;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *dep[] = { n > 0 ? self : (char *)"bpgate", (char *)"make", (char *)"deploy", (char *)"--env", env,
		commit, NULL };
	printf("$ bpgate make deploy --env %s %.12s\n", env, commit);
	fflush(stdout);
	if ((st = run(dep)) != 0) {
		fprintf(stderr, "bpgate rollback: the rollback is ACCEPTED but NOT DEPLOYED to Make; deploy it where the "
			"token and the audit log are: ssh git@<server> deploy <repo> --env %s\n", env);
		return BPG_EXIT_FINDINGS;
	}
	return BPG_EXIT_OK;
}

int cmd_rollback(int argc, char **argv)
{
	const char *dir = ".", *to = NULL;
	bool with_others = false, dry = false, no_fetch = false, deploy = false;
	rb_ctx cx;
	bpg_policy *head_policy = NULL;
	bpg_allowed_signers *s1 = NULL, *s2 = NULL;
	json_t *records = NULL, *hist = NULL;
	bpg_buf refname = BPG_BUF_INIT, subject = BPG_BUF_INIT, body = BPG_BUF_INIT, trailers = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	bpg_error err;
	git_oid head;
	int rc = BPG_EXIT_ERROR, valid = 0, orc;
	static const char *use = "bpgate rollback SCENARIO [--env ENV] [--to REV] [--repo DIR] [--remote NAME] "
		"[--with-others] [--dry-run] [--no-fetch] [--deploy]";

	memset(&cx, 0, sizeof(cx));
	cx.env = "prod";
	cx.remote = "origin";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) cx.env = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) to = argv[++i];
		else if (strcmp(argv[i], "--repo") == 0 && i + 1 < argc) dir = argv[++i];
		else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc) cx.remote = argv[++i];
		else if (strcmp(argv[i], "--with-others") == 0) with_others = true;
		else if (strcmp(argv[i], "--dry-run") == 0) dry = true;
		else if (strcmp(argv[i], "--no-fetch") == 0) no_fetch = true;
		else if (strcmp(argv[i], "--deploy") == 0) deploy = true;
		else if (argv[i][0] != '-' && !cx.scenario) cx.scenario = argv[i];
		else return cli_usage(use);
	}
	if (!cx.scenario)
		return cli_usage(use);
	git_libgit2_init();
	cx.changed = json_array();
	cx.systems = json_array();
	cx.connections = json_array();
	cx.others = json_array();
	if (!cx.changed || !cx.systems || !cx.connections || !cx.others)
		goto done;
	if ((orc = cli_repo_open(&cx.repo, dir, 0, "rollback")) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate rollback: %s is not inside a git repository\n", dir);
		goto done;
	}
	/* HEAD's policy names the environment's branch; the branch's own policy judges the rest */
	if (git_reference_name_to_id(&head, cx.repo, "HEAD") < 0) {
		git_error_clear();
		fprintf(stderr, "bpgate rollback: HEAD has no commit to read the policy from\n");
		goto done;
	}
	if (rel_policy_load(&head_policy, &s1, cx.repo, &head, &err) < 0) {
		fprintf(stderr, "bpgate rollback: cannot load the policy of HEAD: %s\n", err.message);
		goto done;
	}
	if (rel_env_branch(cx.branch, sizeof(cx.branch), head_policy, cx.env) < 0) {
		fprintf(stderr, "bpgate rollback: the policy has no environment '%s' with a branch\n", cx.env);
		goto done;
	}
	cx.short_branch = strncmp(cx.branch, "refs/heads/", 11) == 0 ? cx.branch + 11 : cx.branch;
	if (!no_fetch)
		fetch(&cx);
	if (find_tip(&cx) < 0)
		goto done;
	if (rel_policy_load(&cx.policy, &s2, cx.repo, &cx.tip, &err) < 0) {
		fprintf(stderr, "bpgate rollback: the policy of %s does not load: %s\n", cx.tip_ref, err.message);
		goto done;
	}
	if (!(cx.entry = catalog_entry(cx.policy, cx.scenario))) {
		size_t i;
		json_t *e;
		fprintf(stderr, "bpgate rollback: '%s' is not a scenario of the catalog of %s; known:", cx.scenario, cx.tip_ref);
		json_array_foreach(json_object_get(bpg_policy_json(cx.policy), "catalog"), i, e)
			fprintf(stderr, " %s", json_string_value(json_object_get(e, "id")));
		fputc('\n', stderr);
		goto done;
	}
	if (bpg_buf_printf(&refname, "refs/heads/rollback/%s", cx.scenario) < 0 ||
	    git_reference_name_is_valid(&valid, refname.ptr) < 0 || !valid) {
		fprintf(stderr, "bpgate rollback: rollback/%s is not a valid branch name\n", cx.scenario);
		goto done;
	}
	if (rel_records(&records, cx.repo, cx.env, &err) < 0) {
		cli_report_error("rollback", &err);
		goto done;
	}
	if (!(hist = history(cx.repo, &cx.tip)))
		goto done;
	if ((rc = find_target(&cx, to, records, hist)) != 0)
		goto done;
	rc = BPG_EXIT_ERROR;
	char th[GIT_OID_HEXSZ + 1], tt[GIT_OID_HEXSZ + 1], tc[GIT_OID_HEXSZ + 1];
	git_oid_tostr(th, sizeof(th), &cx.tip);
	git_oid_tostr(tt, sizeof(tt), &cx.tip_tree);
	git_oid_tostr(tc, sizeof(tc), &cx.to_commit);
	printf("rollback of %s on %s (%s)\n", cx.scenario, cx.env, cx.branch);
	printf("  now:     commit %.12s, tree %.12s (%s)\n", th, tt, cx.tip_ref);
	git_oid_tostr(tt, sizeof(tt), &cx.to_tree);
	printf("  back to: tree %.12s, on %s as commit %.12s", tt, cx.env, tc);
	if (cx.record) {
		printf(" (%s ", json_string_value(json_object_get(cx.record, "kind")) ?
			json_string_value(json_object_get(cx.record, "kind")) : "release");
		put_safe(json_string_value(json_object_get(cx.record, "time")));
		printf(" by ");
		put_safe(json_string_value(json_object_get(cx.record, "pusher")));
		printf(")");
	}
	printf("\n");
	if (impact(&cx) < 0)
		goto done;
	if (!has_str(cx.changed, cx.scenario))
		add_str(cx.changed, cx.scenario);
	if (json_array_size(cx.changed) > 1 && !with_others) {
		fprintf(stderr, "bpgate rollback: going back to tree %.12s also changes back %zu other scenario(s) (marked "
			"above): the gate only knows whole-tree rollbacks.\n  fix: accept that with --with-others, or revert "
			"only %s's files on the first environment's branch and promote that change normally (approvals "
			"apply)\n", tt, json_array_size(cx.changed) - 1, cx.scenario);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	if (message(&subject, &body, &trailers, &cx) < 0) {
		fprintf(stderr, "bpgate rollback: out of memory\n");
		goto done;
	}
	if (!subject.ptr || !body.ptr || !trailers.ptr ||
	    bpg_buf_printf(&msg, "%s\n\n%s\n\n%s", subject.ptr, body.ptr, trailers.ptr) < 0)
		goto done;
	if (!dry && create_commit(&cx, refname.ptr, &msg) < 0)
		goto done;
	if (print_next(&cx, refname.ptr, dry, &subject, &body, &trailers) < 0)
		goto done;
	rc = deploy && !dry ? push_and_deploy(&cx, refname.ptr) : BPG_EXIT_OK;
done:
	json_decref(cx.changed);
	json_decref(cx.systems);
	json_decref(cx.connections);
	json_decref(cx.others);
	json_decref(records);
	json_decref(hist);
	bpg_policy_free(head_policy);
	bpg_policy_free(cx.policy);
	bpg_allowed_signers_free(s1);
	bpg_allowed_signers_free(s2);
	git_repository_free(cx.repo);
	bpg_buf_dispose(&refname);
	bpg_buf_dispose(&subject);
	bpg_buf_dispose(&body);
	bpg_buf_dispose(&trailers);
	bpg_buf_dispose(&msg);
	git_libgit2_shutdown();
	return rc;
}
