/*
 * The sections of the evidence predicate: subjects (the blueprints of the
 * released tree), changes by scenario with their semantic diff, approvals
 * with their signed statements, UAT evidence, stage health and bundles.
 */
#include "internal.h"
#include "bpgate/approval.h"
#include "bpgate/bundle.h"
#include "bpgate/dsse.h"
#include "bpgate/gather.h"
#include "bpgate/policy.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"

#include <stdio.h>
#include <stdlib.h>

const char *ev_scenario_of(const json_t *policy, const char *path)
{
	return ev_str(bpg_catalog_match(policy, path), "id");
}

static int blob_sha256(char hex[65], size_t *size, git_repository *repo, const git_oid *id)
{
	git_blob *b = NULL;
	if (git_blob_lookup(&b, repo, id) < 0) {
		git_error_clear();
		return BPG_ENOTFOUND;
	}
	bpg_sha256_hex(hex, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	if (size)
		*size = (size_t)git_blob_rawsize(b);
	git_blob_free(b);
	return 0;
}

/* sha256 of the blob at path in tree, "" when absent. */
static int path_sha256(char hex[65], git_repository *repo, git_tree *tree, const char *path)
{
	git_tree_entry *e = NULL;
	int rc = BPG_ENOTFOUND;
	hex[0] = 0;
	if (git_tree_entry_bypath(&e, tree, path) == 0 && git_tree_entry_type(e) == GIT_OBJECT_BLOB)
		rc = blob_sha256(hex, NULL, repo, git_tree_entry_id(e));
	git_error_clear();
	git_tree_entry_free(e);
	return rc;
}

typedef struct {
	git_repository *repo;
	const json_t *globs;
	json_t *stmt;
	size_t n;
	int rc;
	bpg_error *err;
} subj_walk;

static bool is_blueprint_path(const json_t *globs, const char *path)
{
	size_t i;
	json_t *g;
	if (json_array_size(globs) == 0)
		return strlen(path) > 15 && strcmp(path + strlen(path) - 15, ".blueprint.json") == 0;
	json_array_foreach(globs, i, g)
		if (json_is_string(g) && bpg_glob_match(json_string_value(g), path))
			return true;
	return false;
}

static int subj_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	subj_walk *w = payload;
	char path[4096], hex[65];

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(entry));
	if (!is_blueprint_path(w->globs, path))
		return 0;
	if (++w->n > BPG_EVIDENCE_MAX_SUBJECTS) {
		w->rc = bpg_error_set(w->err, BPG_ETOOBIG, "more than %d blueprints in the released tree",
			BPG_EVIDENCE_MAX_SUBJECTS);
		return -1;
	}
	if (blob_sha256(hex, NULL, w->repo, git_tree_entry_id(entry)) < 0) {
		w->rc = bpg_error_set(w->err, BPG_ENOTFOUND, "%s: blob missing from the repository", path);
		return -1;
	}
	if ((w->rc = bpg_intoto_add_subject(w->stmt, path, "sha256", hex, w->err)) < 0)
		return -1;
	return 0;
}

int ev_subjects(json_t *stmt, git_repository *repo, git_tree *tree, const json_t *policy, bpg_error *err)
{
	subj_walk w = { repo, json_object_get(json_object_get(policy, "paths"), "blueprints"), stmt, 0, 0, err };

	if (git_tree_walk(tree, GIT_TREEWALK_PRE, subj_cb, &w) < 0 && w.rc == 0)
		w.rc = bpg_git_fail(err, "walking the released tree");
	git_error_clear();
	if (w.rc == 0 && w.n == 0)
		w.rc = bpg_error_set(err, BPG_ENOTFOUND, "the released tree holds no blueprint (policy paths.blueprints): "
			"nothing to attest");
	return w.rc;
}

static json_t *scenario_json(const json_t *policy, const char *id)
{
	const json_t *e = bpg_catalog_find(policy, id);
	return json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:[]}", "id", id, "name", json_object_get(e, "name"),
		"owner", json_object_get(e, "owner"), "risk", json_object_get(e, "risk"), "data_classes",
		json_object_get(e, "data_classes"), "files");
}

int ev_changes(json_t *pred, git_repository *repo, git_tree *tree, const json_t *facts, const json_t *policy,
	bpg_error *err)
{
	json_t *files = json_array(), *scen = json_array(), *f;
	const json_t *globs = json_object_get(json_object_get(policy, "paths"), "blueprints");
	size_t i;

	if (!files || !scen || json_object_set_new(pred, "changes", json_pack("{s:o, s:o}", "scenarios", scen,
			"files", files)) < 0)
		return ev_oom(err);
	json_array_foreach(json_object_get(facts, "files"), i, f) {
		const char *path = ev_str(f, "path"), *status = ev_str(f, "status"), *sid = ev_scenario_of(policy, path);
		char hex[65] = "";
		bool bp = path && (is_blueprint_path(globs, path) || json_object_get(f, "blueprint") ||
			json_object_get(f, "old_blueprint"));
		if (!ev_streq(status, "deleted"))
			path_sha256(hex, repo, tree, path);
		const json_t *model = json_object_get(f, "blueprint");
		json_t *o = json_pack("{s:s, s:s, s:O*, s:s?, s:b, s:s?, s:O*, s:O*, s:O*}", "path", path, "status", status,
			"old_path", json_object_get(f, "old_path"), "scenario", sid, "blueprint", bp, "sha256",
			hex[0] ? hex : NULL, "scenario_name", json_object_get(model, "name"), "diff", json_object_get(f, "diff"),
			"parse_error", json_object_get(f, "parse_error"));
		if (!o || json_array_append_new(files, o) < 0)
			return ev_oom(err);
		if (!sid)
			continue;
		json_t *s = NULL, *x;
		size_t k;
		json_array_foreach(scen, k, x)
			if (ev_streq(ev_str(x, "id"), sid))
				s = x;
		if (!s && (!(s = scenario_json(policy, sid)) || json_array_append_new(scen, s) < 0))
			return ev_oom(err);
		if (json_array_append_new(json_object_get(s, "files"), json_string(path)) < 0)
			return ev_oom(err);
	}
	return 0;
}

int ev_approvals(json_t *pred, git_repository *repo, const char *env, const char *tree_hex,
	const struct bpg_allowed_signers *signers, time_t released, bpg_error *err)
{
	json_t *found = json_array(), *out = json_array(), *a;
	const char *trees[] = { tree_hex };
	size_t i, rejected = 0;
	int rc;

	if (!found || !out || json_object_set_new(pred, "approvals", out) < 0) {
		json_decref(found);
		return ev_oom(err);
	}
	if (!tree_hex || !signers) { /* no tree or nobody may sign: no approval can verify */
		rc = 0;
		goto done;
	}
	if ((rc = bpg_approvals_gather(found, repo, env, trees, 1, signers, released, err)) < 0)
		goto done;
	rc = 0;
	json_array_foreach(found, i, a) {
		bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT;
		time_t at = 0;
		git_oid id;
		json_t *o = NULL;
		if (!json_is_true(json_object_get(a, "verified"))) {
			rejected++;
			continue;
		}
		if (git_reference_name_to_id(&id, repo, ev_str(a, "ref")) < 0 ||
		    (rc = bpg_approval_load(&stmt, &sig, repo, &id, err)) < 0) {
			rc = rc < 0 ? rc : bpg_git_fail(err, ev_str(a, "ref"));
		} else {
			ev_time(ev_str(a, "time"), &at);
			o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s%, s:s%, s:b}", "approver", json_object_get(a, "approver"),
				"environment", json_object_get(a, "environment"), "tree", json_object_get(a, "tree"),
				"commit", json_object_get(a, "commit"), "time", json_object_get(a, "time"), "ref",
				json_object_get(a, "ref"), "statement", stmt.ptr, stmt.size, "signature", sig.ptr, sig.size,
				"retroactive", at > released);
			if (!o || json_array_append_new(out, o) < 0)
				rc = ev_oom(err);
		}
		bpg_buf_dispose(&stmt);
		bpg_buf_dispose(&sig);
		if (rc < 0)
			goto done;
	}
done:
	if (rc == 0 && json_object_set_new(pred, "approvals_rejected", json_integer((json_int_t)rejected)) < 0)
		rc = ev_oom(err);
	json_decref(found);
	return rc;
}

static const json_t *rule(const json_t *policy, const char *name, const char *param)
{
	return json_object_get(json_object_get(json_object_get(policy, "rules"), name), param);
}

/* UAT files under <dir>/<scenario>/ for each scenario of the release. */
static int uat_files(json_t *out, git_repository *repo, git_tree *tree, const char *dir, const char *id,
	bpg_error *err)
{
	char path[1024];
	git_tree_entry *te = NULL;
	git_tree *sub = NULL;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (git_tree_entry_bypath(&te, tree, path) == 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&sub, repo, git_tree_entry_id(te)) == 0) {
		for (size_t k = 0; k < git_tree_entrycount(sub) && k < 100 && rc == 0; k++) {
			const git_tree_entry *e = git_tree_entry_byindex(sub, k);
			char hex[65], full[1400];
			size_t size = 0;
			if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || blob_sha256(hex, &size, repo, git_tree_entry_id(e)) < 0)
				continue;
			snprintf(full, sizeof(full), "%s/%s", path, git_tree_entry_name(e));
			json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "scenario", id, "path", full, "sha256", hex, "size",
				(json_int_t)size);
			if (!o || json_array_append_new(out, o) < 0)
				rc = ev_oom(err);
		}
	}
	git_error_clear();
	git_tree_free(sub);
	git_tree_entry_free(te);
	return rc;
}

static int health(json_t *pred, git_repository *repo, git_tree *tree, const json_t *policy, const json_t *scen,
	bpg_error *err)
{
	const char *path = json_string_value(rule(policy, "stage-health", "report"));
	bpg_buf data = BPG_BUF_INIT;
	json_t *rep = NULL, *o, *figures = json_object(), *s;
	char hex[65];
	size_t i;
	int rc;

	if (!path)
		path = "health/stage.json";
	rc = ev_read_path(&data, repo, tree, path, EV_MAX_SMALL, err);
	if (rc == BPG_ENOTFOUND) {
		json_decref(figures);
		return json_object_set_new(pred, "stage_health", json_null()) < 0 ? ev_oom(err) : 0;
	}
	if (rc < 0 || !figures) {
		json_decref(figures);
		bpg_buf_dispose(&data);
		return rc < 0 ? rc : ev_oom(err);
	}
	bpg_sha256_hex(hex, data.ptr ? data.ptr : "", data.size);
	rep = json_loadb(data.ptr ? data.ptr : "", data.size, 0, NULL);
	json_array_foreach(scen, i, s) {
		const json_t *m = json_object_get(json_object_get(rep, "scenarios"), json_string_value(s));
		if (json_is_string(s) && m)
			json_object_set(figures, json_string_value(s), (json_t *)m);
	}
	o = json_pack("{s:s, s:s, s:O?, s:o}", "path", path, "sha256", hex, "measured_at",
		json_object_get(rep, "measured_at"), "scenarios", figures);
	json_decref(rep);
	bpg_buf_dispose(&data);
	return !o || json_object_set_new(pred, "stage_health", o) < 0 ? ev_oom(err) : 0;
}

/* Release bundles changed by the release: manifest and minisign signature text. */
static int bundles(json_t *pred, git_repository *repo, git_tree *tree, bpg_error *err)
{
	json_t *out = json_array(), *f;
	size_t i;
	int rc = 0;

	if (!out || json_object_set_new(pred, "bundles", out) < 0)
		return ev_oom(err);
	json_array_foreach(json_object_get(json_object_get(pred, "changes"), "files"), i, f) {
		const char *path = ev_str(f, "path");
		bpg_buf man = BPG_BUF_INIT, sig = BPG_BUF_INIT, sp = BPG_BUF_INIT;
		char mh[65], sh[65];
		if (!path || ev_streq(ev_str(f, "status"), "deleted") || !bpg_bundle_is_manifest_path(path))
			continue;
		if ((rc = ev_read_path(&man, repo, tree, path, EV_MAX_SMALL, err)) == 0 &&
		    bpg_buf_printf(&sp, "%s.minisig", path) == 0) {
			int src = ev_read_path(&sig, repo, tree, sp.ptr, 1 << 16, err);
			bpg_sha256_hex(mh, man.ptr ? man.ptr : "", man.size);
			bpg_sha256_hex(sh, sig.ptr ? sig.ptr : "", sig.size);
			json_t *o = json_pack("{s:s, s:s, s:s%, s:s}", "path", path, "sha256", mh, "manifest",
				man.ptr ? man.ptr : "", man.size, "signature_path", sp.ptr);
			if (o && src == 0 && (json_object_set_new(o, "signature", json_stringn(sig.ptr ? sig.ptr : "",
					sig.size)) < 0 || json_object_set_new(o, "signature_sha256", json_string(sh)) < 0)) {
				json_decref(o);
				o = NULL;
			}
			if (!o || json_array_append_new(out, o) < 0)
				rc = ev_oom(err);
		}
		bpg_buf_dispose(&man);
		bpg_buf_dispose(&sig);
		bpg_buf_dispose(&sp);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ev_evidence_files(json_t *pred, git_repository *repo, git_tree *tree, const json_t *policy,
	const json_t *scenarios, bpg_error *err)
{
	const char *dir = json_string_value(rule(policy, "uat-evidence", "dir"));
	json_t *uat = json_array(), *all = json_array(), *s;
	size_t i;
	int rc = 0;

	if (!uat || !all || json_object_set_new(pred, "uat_evidence", uat) < 0) {
		json_decref(all);
		return ev_oom(err);
	}
	/* the scenarios of the release: the gate's list plus those the changes touch */
	json_array_foreach(scenarios, i, s)
		json_array_append(all, s);
	json_array_foreach(json_object_get(json_object_get(pred, "changes"), "scenarios"), i, s) {
		size_t k;
		json_t *x;
		bool seen = false;
		json_array_foreach(all, k, x)
			seen |= ev_streq(json_string_value(x), ev_str(s, "id"));
		if (!seen)
			json_array_append(all, json_object_get(s, "id"));
	}
	json_array_foreach(all, i, s)
		if (json_is_string(s) && (rc = uat_files(uat, repo, tree, dir ? dir : "uat", json_string_value(s), err)) < 0)
			break;
	if (rc == 0)
		rc = health(pred, repo, tree, policy, all, err);
	if (rc == 0)
		rc = bundles(pred, repo, tree, err);
	json_decref(all);
	return rc;
}
