/*
 * The server facts of one ref update (extra.server, documented in
 * docs/readme/server.md) and the verified approvals. Reads git and the
 * clock's local time; decides nothing.
 */
#include "receive.h"
#include "bpgate/approval.h"
#include "bpgate/query.h"
#include "bpgate/gitobj.h"
#include "bpgate/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "out of memory gathering the server facts");
}

static const char *bpg_memmem_str(const char *hay, size_t len, const char *needle)
{
	const void *p = memmem(hay, len, needle, strlen(needle));
	return p;
}

static json_t *hex_json(const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), id);
	return json_string(hex);
}

/* Trees of the first-parent history from `tip` (newest first, distinct), or commits+trees. */
static int first_parent_history(json_t *out, git_repository *repo, const git_oid *tip, bool with_commits,
	bpg_error *err)
{
	git_commit *c = NULL, *p = NULL;
	size_t n = 0;

	if (git_commit_lookup(&c, repo, tip) < 0)
		return bpg_error_set(err, BPG_ERROR, "cannot read the history of a branch");
	while (c && n++ < RCV_HISTORY_MAX) {
		json_t *t = hex_json(git_commit_tree_id(c));
		if (with_commits) {
			json_t *o = json_pack("{s:o, s:o}", "commit", hex_json(git_commit_id(c)), "tree", t);
			if (!o || json_array_append_new(out, o) < 0)
				goto fail;
		} else if (!bpg_strings_has(out, json_string_value(t))) {
			if (json_array_append_new(out, t) < 0)
				goto fail;
		} else {
			json_decref(t);
		}
		if (git_commit_parentcount(c) == 0)
			break;
		if (git_commit_parent(&p, c, 0) < 0) {
			git_commit_free(c);
			git_error_clear();
			return 0; /* shallow or missing parent: what we have is the history */
		}
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	git_commit_free(c);
	return 0;
fail:
	git_commit_free(c);
	return oom(err);
}

static int branch_history(json_t *server, const char *key, git_repository *repo, const char *branch,
	bool with_commits, bpg_error *err)
{
	json_t *arr = json_array();
	git_oid id;
	int rc = 0;

	if (!arr)
		return oom(err);
	if (branch && git_reference_name_to_id(&id, repo, branch) == 0)
		rc = first_parent_history(arr, repo, &id, with_commits, err);
	git_error_clear();
	if (rc == 0 && json_object_set_new(server, key, arr) < 0)
		return oom(err);
	if (rc < 0)
		json_decref(arr);
	return rc;
}

/* The policy's change-window time zone, as a validated zoneinfo name. */
static int add_local_time(json_t *server, const bpg_policy *p, time_t now)
{
	const char *tz = json_string_value(bpg_policy_rule_param(p, "change-window", "timezone"));
	char path[512], buf[32], *old = NULL;
	struct stat st;
	struct tm tm;
	json_t *lt = json_object();

	if (!lt || json_object_set_new(server, "local_time", lt) < 0)
		return BPG_ENOMEM;
	if (!tz || strcmp(tz, "UTC") == 0 || strlen(tz) > 128 || strstr(tz, "..") || tz[0] == '/')
		return 0;
	for (const char *c = tz; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '/' || *c == '_' || *c == '-' || *c == '+'))
			return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* unknown zone: the rule fails closed on the missing fact */
	if (getenv("TZ") && !(old = strdup(getenv("TZ"))))
		return BPG_ENOMEM;
	setenv("TZ", tz, 1);
	tzset();
	bool ok = localtime_r(&now, &tm) != NULL;
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	if (!ok)
		return 0;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_object_set_new(lt, tz, json_string(buf)) < 0 ? BPG_ENOMEM : 0;
}

static int read_blob_at(bpg_buf *out, git_repository *repo, git_tree *tree, const char *path, size_t max)
{
	git_tree_entry *e = NULL;
	int rc = BPG_ENOTFOUND;
	/* the size from the object header first: a pushed 1 GiB report is never inflated */
	if (git_tree_entry_bypath(&e, tree, path) == 0 && git_tree_entry_type(e) == GIT_OBJECT_BLOB)
		rc = bpg_git_blob_read(out, repo, git_tree_entry_id(e), max, path, NULL);
	git_error_clear();
	git_tree_entry_free(e);
	return rc;
}

/* uat_evidence: scenario id -> names under <dir>/<id>/ in the new tree. */
static int add_uat(json_t *server, git_repository *repo, git_tree *tree, const bpg_policy *p)
{
	const char *dir = json_string_value(bpg_policy_rule_param(p, "uat-evidence", "dir")); /* default applied */
	json_t *map = json_object(), *e;
	size_t i;

	if (!map || json_object_set_new(server, "uat_evidence", map) < 0)
		return BPG_ENOMEM;
	if (!dir)
		return 0;
	json_array_foreach(json_object_get(bpg_policy_json(p), "catalog"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		char path[1024];
		git_tree_entry *te = NULL;
		git_tree *sub = NULL;
		json_t *names = json_array();
		if (!id || !names || json_object_set_new(map, id, names) < 0)
			return BPG_ENOMEM;
		snprintf(path, sizeof(path), "%s/%s", dir, id);
		if (tree && git_tree_entry_bypath(&te, tree, path) == 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&sub, repo, git_tree_entry_id(te)) == 0) {
			for (size_t k = 0; k < git_tree_entrycount(sub) && k < 100; k++) {
				char full[1200];
				snprintf(full, sizeof(full), "%s/%s", path, git_tree_entry_name(git_tree_entry_byindex(sub, k)));
				json_array_append_new(names, json_string(full));
			}
		}
		git_error_clear();
		git_tree_free(sub);
		git_tree_entry_free(te);
	}
	return 0;
}

/* A message built from what a record holds, as a JSON string: bytes that are not UTF-8 (a
 * name cut by a %.100s, say) are written as \xNN rather than failing as out of memory. */
json_t *rcv_message_json(const char *s)
{
	json_t *v = json_string(s);
	bpg_buf b = BPG_BUF_INIT;

	if (v || !s)
		return v;
	if (bpg_safe_put(&b, s, strlen(s), strlen(s) + 1) == 0)
		v = json_string(b.ptr ? b.ptr : "");
	bpg_buf_dispose(&b);
	return v;
}

/*
 * stage_health: the newest valid signed record of the environment promoted
 * from (healthfacts.c) with "source":"record"; else the in-tree report
 * <report> of the tree pushed with "source":"tree" (deprecated, see the
 * stage-health rule). Either carries "records_skipped" (invalid records
 * newer than the one used, or all of them) and "records_problem".
 */
static int add_health(json_t *server, const rcv_ctx *cx, git_tree *tree, const char *from)
{
	const bpg_policy *p = cx->pol->policy;
	const char *path = json_string_value(bpg_policy_rule_param(p, "stage-health", "report")); /* default applied */
	bpg_buf data = BPG_BUF_INIT;
	json_error_t je;
	json_t *v = NULL;
	char problem[1024];
	size_t skipped = 0;
	int rc;

	if (!path)
		return 0;
	rc = rcv_health_record(&v, &skipped, problem, sizeof(problem), cx, from);
	if (rc == BPG_ENOMEM)
		return rc;
	if (rc < 0) {
		v = json_pack("{s:s, s:o}", "source", "record", "error", rcv_message_json(problem));
		skipped = 0;
		problem[0] = '\0';
	} else if (!v) {
		rc = tree ? read_blob_at(&data, cx->repo, tree, path, (size_t)1 << 20) : BPG_ENOTFOUND;
		if (rc < 0) {
			v = json_pack("{s:s+}", "error", path, rc == BPG_ETOOBIG ? " is larger than 1 MiB" : " is not in the tree pushed");
		} else if (!(v = json_loadb(data.ptr ? data.ptr : "", data.size, JSON_REJECT_DUPLICATES, &je)) ||
		           !json_is_object(v)) {
			json_decref(v);
			v = json_pack("{s:s}", "error", "the report is not a JSON object");
		}
		/* what only the server says about a record is never taken from the tree */
		json_object_del(v, "signer");
		json_object_del(v, "ref");
		json_object_del(v, "records_skipped");
		json_object_del(v, "records_problem");
		if (v && json_object_set_new(v, "source", json_string("tree")) < 0) {
			json_decref(v);
			v = NULL;
		}
	}
	bpg_buf_dispose(&data);
	if (v && skipped && (json_object_set_new(v, "records_skipped", json_integer((json_int_t)skipped)) < 0 ||
	    json_object_set_new(v, "records_problem", rcv_message_json(problem)) < 0)) {
		json_decref(v);
		v = NULL;
	}
	return !v || json_object_set_new(server, "stage_health", v) < 0 ? BPG_ENOMEM : 0;
}

/* GIT_PUSH_CERT*: git's verdict plus our own check against .bpgate/allowed_signers. */
static int add_push_cert(json_t *server, const rcv_ctx *cx)
{
	const char *cert = getenv("GIT_PUSH_CERT");
	git_oid id;
	git_blob *b = NULL;
	json_t *o;
	char problem[1100] = "";
	const char *principal = NULL;
	bpg_sshsig_result res;
	bool verified = false;

	if (!cert || !*cert)
		return json_object_set_new(server, "push_cert", json_null()) < 0 ? BPG_ENOMEM : 0;
	memset(&res, 0, sizeof(res));
	if (git_oid_fromstr(&id, cert) < 0 || bpg_git_object_size(NULL, NULL, cx->repo, &id, GIT_OBJECT_BLOB,
	    RCV_PUSH_CERT_MAX, "the push certificate", NULL) < 0 || git_blob_lookup(&b, cx->repo, &id) < 0) {
		snprintf(problem, sizeof(problem), "the certificate blob cannot be read (or is larger than %zu KiB)",
			RCV_PUSH_CERT_MAX >> 10);
	} else {
		const char *data = git_blob_rawcontent(b);
		size_t len = (size_t)git_blob_rawsize(b);
		const char *armor = bpg_memmem_str(data, len, "-----BEGIN SSH SIGNATURE-----");
		bpg_error err;
		if (!armor) {
			snprintf(problem, sizeof(problem), "not an SSH-signed certificate");
		} else if (!cx->pol->signers) {
			snprintf(problem, sizeof(problem), "the policy has no .bpgate/allowed_signers");
		} else if (bpg_sshsig_verify(&res, data, (size_t)(armor - data), armor, len - (size_t)(armor - data), "git",
			NULL, cx->pol->signers, cx->now, &err) < 0) {
			snprintf(problem, sizeof(problem), "%s", err.message);
		} else {
			verified = true;
			principal = res.principal;
		}
	}
	git_error_clear();
	o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b, s:s?, s:s?}", "oid", cert,
		"status", getenv("GIT_PUSH_CERT_STATUS"), "nonce_status", getenv("GIT_PUSH_CERT_NONCE_STATUS"),
		"signer", getenv("GIT_PUSH_CERT_SIGNER"), "key", getenv("GIT_PUSH_CERT_KEY"), "verified", verified,
		"principal", principal ? rcv_principal(cx->cfg, principal) : NULL, "problem", problem[0] ? problem : NULL);
	git_blob_free(b);
	if (!o)
		o = json_pack("{s:b, s:s}", "verified", 0, "problem", "the certificate fields are not UTF-8");
	return !o || json_object_set_new(server, "push_cert", o) < 0 ? BPG_ENOMEM : 0;
}

/* Updates of this push before u that create a ref in the same folder
 * (refs/bpgate/approvals/<env>/<tree>/<approver>/): they count too. */
static size_t earlier_in_push(const rcv_ctx *cx, const rcv_update *u)
{
	const char *slash = strrchr(u->name, '/');
	size_t dir = (size_t)(slash - u->name) + 1, n = 0;

	for (size_t i = 0; cx->updates && i < cx->updates->n && &cx->updates->v[i] != u; i++) {
		const rcv_update *o = &cx->updates->v[i];
		if (strspn(o->old_hex, "0") == 40 && strspn(o->new_hex, "0") != 40 && strlen(o->name) > dir &&
		    strncmp(o->name, u->name, dir) == 0 && !strchr(o->name + dir, '/'))
			n++;
	}
	return n;
}

/* pushed_approvals: [{ref, ok, problem, approver, environment, tree, existing, repository_id, repository,
 * tree_present}] for one approval ref. tree_present: the approved tree is an object of this repository
 * (objects of the same push included). */
static int pushed_approval(json_t *server, const rcv_ctx *cx, const rcv_update *u, const git_oid *id, bpg_error *err)
{
	bpg_approval a;
	bpg_error verr;
	size_t existing = 0;
	bool ok = bpg_approval_verify(&a, cx->repo, id, u->name, cx->pol->signers, cx->now, &verr) == 0;
	json_t *pa;

	if (ok) {
		/* bounded by the folder of one approver and tree, and by the gather limit */
		if (bpg_approvals_count(&existing, cx->repo, &a, BPG_APPROVAL_MAX_REFS, err) < 0)
			return err->code;
		existing += earlier_in_push(cx, u);
	}
	pa = json_pack("[{s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:I}]", "ref", u->name, "ok", ok, "problem",
		ok ? NULL : verr.message, "approver", a.approver[0] ? a.approver : NULL, "environment",
		ok ? a.environment : NULL, "tree", ok ? a.tree : NULL, "existing", (json_int_t)existing);
	if (pa && ok && a.repository_id[0] &&
	    json_object_set_new(json_array_get(pa, 0), "repository_id", json_string(a.repository_id)) < 0) {
		json_decref(pa);
		pa = NULL;
	}
	if (pa && ok) {
		git_oid tid;
		git_odb *odb = NULL;
		bool present = git_oid_fromstr(&tid, a.tree) == 0 && git_repository_odb(&odb, cx->repo) == 0 &&
			git_odb_exists(odb, &tid);
		git_odb_free(odb);
		git_error_clear();
		if (json_object_set_new(json_array_get(pa, 0), "repository", json_string(a.repository)) < 0 ||
		    json_object_set_new(json_array_get(pa, 0), "tree_present", json_boolean(present)) < 0) {
			json_decref(pa);
			pa = NULL;
		}
	}
	return !pa || json_object_set_new(server, "pushed_approvals", pa) < 0 ? oom(err) : 0;
}

json_t *rcv_scenarios(const bpg_policy *policy, const json_t *facts)
{
	json_t *out = json_array(), *f;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(json_object_get(facts, "files"), i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const char *id = json_string_value(json_object_get(bpg_catalog_match(bpg_policy_json(policy), path), "id"));
		if (id && !bpg_strings_has(out, id))
			json_array_append_new(out, json_string(id));
	}
	return out;
}

int rcv_server_facts(json_t *facts, const rcv_ctx *cx, const rcv_update *u, const char *env, bpg_error *err)
{
	const bpg_policy *p = cx->pol->policy;
	json_t *extra = json_object(), *server = json_object();
	git_oid nid, oid;
	git_commit *nc = NULL, *oc = NULL;
	git_tree *ntree = NULL;
	int rc = 0;

	if (!extra || !server || json_object_set_new(facts, "extra", extra) < 0 ||
	    json_object_set_new(extra, "server", server) < 0) {
		json_decref(server);
		return oom(err);
	}
	git_oid_fromstr(&nid, u->new_hex);
	git_oid_fromstr(&oid, u->old_hex);
	/* approvals pushed in this push are judged by server-refs */
	if (strncmp(u->name, BPG_APPROVAL_REF_PREFIX, strlen(BPG_APPROVAL_REF_PREFIX)) == 0 && !git_oid_is_zero(&nid))
		return pushed_approval(server, cx, u, &nid, err);
	if (json_object_set_new(server, "pushed_approvals", json_array()) < 0)
		return oom(err);
	if (!git_oid_is_zero(&nid)) {
		if ((rc = bpg_git_commit_lookup(&nc, cx->repo, &nid, u->name, err)) < 0)
			goto done; /* err says which: the limit, not a commit, or a read error */
		if (git_commit_tree(&ntree, nc) < 0) {
			rc = bpg_git_fail(err, "cannot read the tree of the pushed commit");
			goto done;
		}
		json_object_set_new(server, "new_tree", hex_json(git_commit_tree_id(nc)));
	} else {
		json_object_set_new(server, "new_tree", json_null());
	}
	if (!git_oid_is_zero(&oid) && git_commit_lookup(&oc, cx->repo, &oid) == 0)
		json_object_set_new(server, "old_tree", hex_json(git_commit_tree_id(oc)));
	git_error_clear();
	if (!env)
		goto done; /* the rest concerns environments */
	if (nc && (rc = rcv_provenance_facts(server, cx->repo, u, json_object_get(facts, "commits"), cx->pusher, err)) < 0)
		goto done;
	const json_t *envj = json_object_get(json_object_get(bpg_policy_json(p), "environments"), env);
	const char *from = json_string_value(json_object_get(envj, "promotes_from"));
	if (from && json_object_set_new(server, "source_env", json_string(from)) < 0) {
		rc = oom(err);
		goto done;
	}
	/* source_trees: the source's accepted tips (srvfacts_release.c), never its intermediate commits */
	if ((rc = rcv_release_facts(server, cx, u, env, from, json_object_get(facts, "commits"), err)) < 0 ||
	    (rc = branch_history(server, "target_history", cx->repo, u->name, true, err)) < 0)
		goto done;
	if (add_local_time(server, p, cx->now) < 0 || add_push_cert(server, cx) < 0 ||
	    rcv_break_glass_log(server, cx, env) < 0 || add_uat(server, cx->repo, ntree, p) < 0 ||
	    add_health(server, cx, ntree, from) < 0 ||
	    rcv_uat_facts(server, cx->repo, ntree, p, cx->pol->signers,
		    json_string_value(bpg_policy_rule_param(p, "uat-evidence", "dir")) /* default applied */,
		    cx->now) < 0) {
		rc = oom(err);
		goto done;
	}
	if (ntree) {
		/* the tree pushed, and those of the range and the old tip: approvals of
		 * those are reported as stale rather than silently ignored */
		const char *trees[64];
		size_t nt = 0, i;
		json_t *c;
		char th[GIT_OID_HEXSZ + 1];
		git_oid_tostr(th, sizeof(th), git_commit_tree_id(nc));
		trees[nt++] = th;
		if (json_string_value(json_object_get(server, "old_tree")))
			trees[nt++] = json_string_value(json_object_get(server, "old_tree"));
		json_array_foreach(json_object_get(facts, "commits"), i, c)
			if (nt < 64 && json_string_value(json_object_get(c, "tree")))
				trees[nt++] = json_string_value(json_object_get(c, "tree"));
		rc = bpg_approvals_gather(json_object_get(facts, "approvals"), cx->repo, env, trees, nt, cx->pol->signers,
			cx->now, err);
		rc = rc < 0 ? rc : 0;
	}
done:
	git_tree_free(ntree);
	git_commit_free(nc);
	git_commit_free(oc);
	return rc;
}
