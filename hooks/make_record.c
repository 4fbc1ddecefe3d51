/* Deployment records in git (see make_record.h). */
#include "make_record.h"
#include "bpgate/gitobj.h"
#include "bpgate/jsonheap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define STATE_MAX ((size_t)16 << 20)
#define WRITTEN_MAX ((size_t)64 << 20)

static int blob_in_tree(bpg_buf *out, git_repository *repo, const git_oid *commit_id, const char *path,
	size_t max, bpg_error *err)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	int rc;

	if (git_commit_lookup(&c, repo, commit_id) < 0 || git_commit_tree(&t, c) < 0) {
		rc = bpg_git_fail(err, "cannot read a deployment record");
		goto done;
	}
	if ((rc = git_tree_entry_bypath(&e, t, path)) < 0) {
		if (rc != GIT_ENOTFOUND) {
			rc = bpg_git_fail(err, "cannot read a deployment record");
			goto done;
		}
		git_error_clear();
		rc = bpg_error_set(err, BPG_ENOTFOUND, "the deployment record has no %s", path);
		goto done;
	}
	rc = bpg_git_blob_read(out, repo, git_tree_entry_id(e), max, path, err);
done:
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

/* The JSON document `file` of the record at ref. BPG_ENOTFOUND only when the ref does not
 * exist: a record that exists but cannot be read, or lacks its file, is damaged
 * (BPG_EINVALID, or libgit2's failure), never "no record". */
static int ref_json(json_t **out, git_repository *repo, const char *ref, const char *file, git_oid *id)
{
	git_reference *r = NULL;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_ENOTFOUND;

	*out = NULL;
	if ((rc = git_reference_name_to_id(id, repo, ref)) < 0) {
		git_error_clear();
		return rc == GIT_ENOTFOUND ? BPG_ENOTFOUND : BPG_ERROR;
	}
	if ((rc = blob_in_tree(&b, repo, id, file, STATE_MAX, &err)) == BPG_ENOTFOUND)
		rc = BPG_EINVALID;
	else if (rc == 0) {
		*out = json_loadb(b.ptr ? b.ptr : "", b.size, JSON_REJECT_DUPLICATES, NULL);
		rc = json_is_object(*out) ? 0 : BPG_EINVALID;
		if (rc < 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	git_reference_free(r);
	bpg_buf_dispose(&b);
	return rc;
}

int mk_state_load(mk_state *out, git_repository *repo, const char *env, bpg_error *err)
{
	char ref[300];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/latest", env);
	rc = ref_json(&out->doc, repo, ref, "deploy.json", &out->commit);
	if (rc == BPG_ENOTFOUND) {
		out->doc = json_pack("{s:i, s:s, s:{}}", "version", 1, "environment", env, "scenarios");
		return out->doc ? 0 : bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	if (rc < 0)
		return bpg_error_set(err, rc, "%s is damaged (deploy.json unreadable): a deployment record is never "
			"guessed; repair or remove the ref after checking the audit log", ref);
	out->exists = true;
	return 0;
}

void mk_state_dispose(mk_state *st)
{
	json_decref(st->doc);
	memset(st, 0, sizeof(*st));
}

int mk_state_written(bpg_buf *out, git_repository *repo, const mk_state *st, const char *scenario, bpg_error *err)
{
	char path[512];
	if (!st->exists)
		return bpg_error_set(err, BPG_ENOTFOUND, "no deployment of %s yet", scenario);
	snprintf(path, sizeof(path), "written/%s.json", scenario);
	return blob_in_tree(out, repo, &st->commit, path, WRITTEN_MAX, err);
}

static int make_signature(git_signature **sig)
{
	return git_signature_now(sig, "bpgate", "bpgate@localhost");
}

/* A commit with one file (name → bytes) and no parent, for failed/drift records. */
static int single_file_commit(git_oid *out, git_repository *repo, const char *name, const char *bytes,
	const char *message, bpg_error *err)
{
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_oid blob, tree_id;
	int rc = 0;

	if (git_blob_create_from_buffer(&blob, repo, bytes, strlen(bytes)) < 0 ||
	    git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, name, &blob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    make_signature(&sig) < 0 ||
	    git_commit_create(out, repo, NULL, sig, sig, NULL, message, tree, 0, NULL) < 0)
		rc = bpg_git_fail(err, "cannot write a record");
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return rc;
}

int mk_state_save(mk_state *st, git_repository *repo, const char *env, const char *scenario,
	const char *bytes, size_t len, const char *deployed_hex, const char *message, bpg_error *err)
{
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *wtree = NULL, *tree = NULL;
	git_treebuilder *root = NULL, *written = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid blob, wid, tid, cid;
	char latest[300], name[512];
	char *doc = NULL;
	int rc = 0;

	if (st->exists) {
		if (git_commit_lookup(&parent, repo, &st->commit) < 0 || git_commit_tree(&ptree, parent) < 0) {
			rc = bpg_git_fail(err, "cannot read the previous deployment record");
			goto done;
		}
		const git_tree_entry *we = git_tree_entry_byname(ptree, "written");
		if (we && git_tree_lookup(&wtree, repo, git_tree_entry_id(we)) < 0) {
			rc = bpg_git_fail(err, "cannot read the previous deployment record");
			goto done;
		}
	}
	if (git_treebuilder_new(&written, repo, wtree) < 0 || git_treebuilder_new(&root, repo, NULL) < 0) {
		rc = bpg_git_fail(err, "cannot write a deployment record");
		goto done;
	}
	if (scenario) {
		snprintf(name, sizeof(name), "%s.json", scenario);
		if (git_blob_create_from_buffer(&blob, repo, bytes, len) < 0 ||
		    git_treebuilder_insert(NULL, written, name, &blob, GIT_FILEMODE_BLOB) < 0) {
			rc = bpg_git_fail(err, "cannot write a deployment record");
			goto done;
		}
	}
	if (!(doc = bpg_json_dumps(st->doc, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (git_treebuilder_write(&wid, written) < 0 ||
	    git_blob_create_from_buffer(&blob, repo, doc, strlen(doc)) < 0 ||
	    git_treebuilder_insert(NULL, root, "deploy.json", &blob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, root, "written", &wid, GIT_FILEMODE_TREE) < 0 ||
	    git_treebuilder_write(&tid, root) < 0 || git_tree_lookup(&tree, repo, &tid) < 0 ||
	    make_signature(&sig) < 0 ||
	    git_commit_create(&cid, repo, NULL, sig, sig, NULL, message, tree, parent ? 1 : 0,
		(const git_commit **)&parent) < 0) {
		rc = bpg_git_fail(err, "cannot write a deployment record");
		goto done;
	}
	snprintf(latest, sizeof(latest), "refs/bpgate/deploys/%s/latest", env);
	/* compare and swap: a deploy that ran at the same time wins, this one stops */
	if ((st->exists ? git_reference_create_matching(&ref, repo, latest, &cid, 1, &st->commit, message)
			: git_reference_create(&ref, repo, latest, &cid, 0, message)) < 0) {
		git_error_clear();
		rc = bpg_error_set(err, BPG_ERROR, "%s moved while this deployment ran: another deployment of %s "
			"is running or just ran; run this one again", latest, env);
		goto done;
	}
	git_reference_free(ref);
	ref = NULL;
	if (deployed_hex) {
		char per[300];
		snprintf(per, sizeof(per), "refs/bpgate/deploys/%s/%s", env, deployed_hex);
		if (git_reference_create(&ref, repo, per, &cid, 1, message) < 0) {
			rc = bpg_git_fail(err, "cannot write the deployment record ref");
			goto done;
		}
	}
	st->exists = true;
	git_oid_cpy(&st->commit, &cid);
done:
	free(doc);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(root);
	git_treebuilder_free(written);
	git_tree_free(wtree);
	git_tree_free(ptree);
	git_commit_free(parent);
	return rc;
}

static int set_doc_ref(git_repository *repo, const char *ref, const char *file, const json_t *doc,
	const char *message, bpg_error *err)
{
	git_reference *r = NULL;
	git_oid cid;
	char *s;
	int rc;

	if (!doc) {
		if (git_reference_lookup(&r, repo, ref) == 0 && git_reference_delete(r) < 0) {
			git_reference_free(r);
			return bpg_git_fail(err, "cannot remove a record");
		}
		git_reference_free(r);
		git_error_clear();
		return 0;
	}
	if (!(s = bpg_json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = single_file_commit(&cid, repo, file, s, message, err);
	free(s);
	if (rc == 0 && git_reference_create(&r, repo, ref, &cid, 1, message) < 0)
		rc = bpg_git_fail(err, "cannot write a record ref");
	git_reference_free(r);
	return rc;
}

int mk_failed_set(git_repository *repo, const char *env, const json_t *doc, bpg_error *err)
{
	char ref[300];
	snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/failed", env);
	return set_doc_ref(repo, ref, "failed.json", doc, "bpgate: deployment failed", err);
}

/* The record at ref (file in its commit's tree) into *out, NULL when there is none; a ref that
 * exists and does not hold one is damaged, never "none". */
static int get_doc(json_t **out, git_repository *repo, const char *ref, const char *file, bpg_error *err)
{
	git_oid id;
	int rc = ref_json(out, repo, ref, file, &id);

	if (rc == BPG_ENOTFOUND)
		return 0;
	if (rc < 0)
		return bpg_error_set(err, rc, "%s is damaged (%s unreadable): tell the administrator; a record is never "
			"guessed", ref, file);
	return 0;
}

int mk_failed_get(json_t **out, git_repository *repo, const char *env, bpg_error *err)
{
	char ref[300];
	snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/failed", env);
	return get_doc(out, repo, ref, "failed.json", err);
}

int mk_drift_save(git_repository *repo, const char *env, const json_t *doc, bpg_error *err)
{
	char ref[300];
	snprintf(ref, sizeof(ref), "refs/bpgate/drift/%s", env);
	return set_doc_ref(repo, ref, "drift.json", doc, "bpgate: drift check", err);
}

int mk_drift_get(json_t **out, git_repository *repo, const char *env, bpg_error *err)
{
	char ref[300];
	snprintf(ref, sizeof(ref), "refs/bpgate/drift/%s", env);
	return get_doc(out, repo, ref, "drift.json", err);
}

int mk_switch_save(git_repository *repo, const char *env, const char *scenario, const json_t *doc, bpg_error *err)
{
	char ref[400];
	snprintf(ref, sizeof(ref), "refs/bpgate/switches/%s/%s", env, scenario);
	return set_doc_ref(repo, ref, "switch.json", doc,
		json_is_true(json_object_get(doc, "active")) ? "bpgate: scenario enabled" : "bpgate: scenario disabled", err);
}

int mk_switch_get(json_t **out, git_repository *repo, const char *env, const char *scenario, bpg_error *err)
{
	char ref[400];
	snprintf(ref, sizeof(ref), "refs/bpgate/switches/%s/%s", env, scenario);
	return get_doc(out, repo, ref, "switch.json", err);
}

int mk_switch_disabled(json_t **out, git_repository *repo, const char *env, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	const char *name;
	char glob[300];
	size_t n = 0;
	int rc = 0, r = 0;

	snprintf(glob, sizeof(glob), "refs/bpgate/switches/%s/*", env);
	if (!(*out = json_array()))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		rc = bpg_git_fail(err, "cannot list the switch records");
		goto done;
	}
	while (rc == 0 && (r = git_reference_next_name(&name, it)) == 0) {
		json_t *doc = NULL;
		if (++n > 10000) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than 10000 switch records under %s (limit)", glob);
			break;
		}
		if ((rc = get_doc(&doc, repo, name, "switch.json", err)) == 0 && json_is_false(json_object_get(doc, "active")) &&
		    json_array_append(*out, doc) < 0)
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		json_decref(doc);
	}
	if (rc == 0 && r != GIT_ITEROVER)
		rc = bpg_git_fail(err, "cannot list the switch records");
done:
	git_reference_iterator_free(it);
	git_error_clear();
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
