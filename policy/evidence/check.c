/*
 * bpg_evidence_check(): what an auditor can check offline in a Statement
 * whose DSSE signature already verified: the subjects against the changed
 * blueprints, the audit proofs against one signed checkpoint, the release
 * decision among the proven entries, the approval signatures, and (with a
 * repository) every digest recomputed from git.
 */
#include "internal.h"
#include "bpgate/approval.h"
#include "bpgate/dsse.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <stdio.h>
#include <stdlib.h>

static bool is_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static const char *subject_sha(const json_t *stmt, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(stmt, "subject"), i, s)
		if (ev_streq(ev_str(s, "name"), name))
			return ev_str(json_object_get(s, "digest"), "sha256");
	return NULL;
}

static int check_subjects(const json_t *stmt, const json_t *pred, bpg_evidence_summary *sum, bpg_error *err)
{
	size_t i, k;
	json_t *s, *t, *f;

	json_array_foreach(json_object_get(stmt, "subject"), i, s) {
		if (!ev_str(s, "name") || !is_hex(ev_str(json_object_get(s, "digest"), "sha256"), 64))
			return bpg_error_set(err, BPG_EINVALID, "/subject/%zu: a subject needs a name and a sha256 digest", i);
		json_array_foreach(json_object_get(stmt, "subject"), k, t)
			if (k < i && ev_streq(ev_str(s, "name"), ev_str(t, "name")))
				return bpg_error_set(err, BPG_EVERIFY, "/subject/%zu: %s is a subject twice", i, ev_str(s, "name"));
		sum->subjects++;
	}
	/* every blueprint the release changed is attested with the digest the change recorded */
	json_array_foreach(json_object_get(json_object_get(pred, "changes"), "files"), i, f) {
		const char *path = ev_str(f, "path"), *sha = ev_str(f, "sha256"), *sub;
		if (!json_is_true(json_object_get(f, "blueprint")) || ev_streq(ev_str(f, "status"), "deleted"))
			continue;
		if (!(sub = subject_sha(stmt, path)))
			return bpg_error_set(err, BPG_EVERIFY, "/predicate/changes/files/%zu: the changed blueprint %s is "
				"not a subject", i, path ? path : "(no path)");
		if (!ev_streq(sub, sha))
			return bpg_error_set(err, BPG_EVERIFY, "/predicate/changes/files/%zu: %s: the subject's sha256 %.16s... "
				"differs from the change's %.16s...", i, path, sub, sha ? sha : "(none)");
	}
	return 0;
}

static int check_audit(const json_t *pred, const bpg_evidence_check_opts *o, bpg_evidence_summary *sum,
	bpg_error *err)
{
	const json_t *audit = json_object_get(pred, "audit"), *rel = json_object_get(pred, "release"), *p;
	const char *cp = ev_str(audit, "checkpoint"), *env = ev_str(rel, "environment"), *hex = ev_str(rel, "commit");
	const char *pc = ev_str(json_object_get(pred, "policy"), "commit");
	json_int_t want = json_integer_value(json_object_get(audit, "release_entry"));
	bool release_seen = false;
	char key[4200], release_key[4200] = "";
	json_int_t applied_at = -1; /* a proven bpgate-applied entry after the release listing its update */
	size_t i;

	if (json_is_null(audit) || !audit)
		return 0;
	if (!cp || !json_is_array(json_object_get(audit, "proofs")) || !json_is_integer(json_object_get(audit,
			"release_entry")))
		return bpg_error_set(err, BPG_EINVALID, "/predicate/audit: checkpoint, proofs and release_entry are required");
	if (!o->log_key)
		return bpg_error_set(err, BPG_EINVALID, "the package carries audit proofs: pass the audit log's "
			"verifier key (--log-key VKEY)");
	json_array_foreach(json_object_get(audit, "proofs"), i, p) {
		uint64_t idx = 0, size = 0;
		char *s = bpg_json_dumps(p, JSON_COMPACT);
		json_t *e;
		int rc;
		if (!s)
			return ev_oom(err);
		rc = bpg_audit_proof_check(s, strlen(s), o->log_key, &idx, &size, err);
		free(s);
		if (rc < 0) {
			bpg_error_prefix(err, "/predicate/audit/proofs/%zu: ", i);
			return rc;
		}
		if (!ev_streq(ev_str(p, "checkpoint"), cp))
			return bpg_error_set(err, BPG_EVERIFY, "/predicate/audit/proofs/%zu: proven against another "
				"checkpoint than /predicate/audit/checkpoint", i);
		if (json_integer_value(json_array_get(json_object_get(audit, "entries"), i)) != (json_int_t)idx)
			return bpg_error_set(err, BPG_EVERIFY, "/predicate/audit/proofs/%zu: proves entry %llu, listed as %lld",
				i, (unsigned long long)idx,
				(long long)json_integer_value(json_array_get(json_object_get(audit, "entries"), i)));
		sum->checkpoint_size = size;
		if (!(e = json_loads(ev_str(p, "entry"), 0, NULL)))
			return bpg_error_set(err, BPG_EINVALID, "/predicate/audit/proofs/%zu: the entry is not JSON", i);
		if ((json_int_t)idx == want) {
			release_seen = ev_entry_is_release(e, env, hex, ev_str(rel, "kind"), NULL, 0) &&
				ev_streq(ev_str(e, "policy_commit"), pc) && ev_streq(ev_str(e, "time"), ev_str(rel, "time")) &&
				ev_streq(ev_str(e, "pusher"), ev_str(rel, "pusher"));
			if (release_seen && ev_streq(ev_str(e, "stage"), "judged")) { /* git applies it after: confirmed? */
				size_t k;
				json_t *r;
				json_array_foreach(json_object_get(e, "refs"), k, r)
					if (!release_key[0] && ev_streq(ev_str(r, "environment"), env) && ev_streq(ev_str(r, "new"), hex))
						ev_update_key(release_key, sizeof(release_key), r);
				release_seen = release_key[0] != '\0';
			}
		}
		if (ev_streq(ev_str(e, "type"), "bpgate-applied")) {
			size_t k;
			json_t *r;
			json_array_foreach(json_object_get(e, "refs"), k, r)
				if (ev_update_key(key, sizeof(key), r) && (json_int_t)idx > want && release_key[0] &&
				    strcmp(key, release_key) == 0 && applied_at < 0)
					applied_at = (json_int_t)idx;
		}
		json_decref(e);
		sum->audit_entries++;
	}
	if (!release_seen)
		return bpg_error_set(err, BPG_EVERIFY, "/predicate/audit/release_entry: no proven audit entry records the "
			"accepted %s of %s to %s by %s at %s under policy %s", ev_str(rel, "kind") ? ev_str(rel, "kind") : "?",
			hex ? hex : "?", env ? env : "?", ev_str(rel, "pusher") ? ev_str(rel, "pusher") : "?",
			ev_str(rel, "time") ? ev_str(rel, "time") : "?", pc ? pc : "?");
	if (release_key[0] && applied_at < 0)
		return bpg_error_set(err, BPG_EVERIFY, "/predicate/audit/release_entry: the accepted %s of %s to %s was "
			"judged, but no proven bpgate-applied entry after it says git applied it",
			ev_str(rel, "kind") ? ev_str(rel, "kind") : "?", hex ? hex : "?", env ? env : "?");
	return 0;
}

static int check_approvals(const json_t *pred, const bpg_evidence_check_opts *o, bpg_evidence_summary *sum,
	bpg_error *err)
{
	const json_t *rel = json_object_get(pred, "release"), *a;
	const char *embedded = ev_str(json_object_get(pred, "policy"), "allowed_signers");
	bpg_allowed_signers *own = NULL;
	const bpg_allowed_signers *signers = o->signers;
	size_t i;
	int rc = 0;

	if (json_array_size(json_object_get(pred, "approvals")) == 0)
		return 0;
	if (!signers) {
		if (!embedded)
			return bpg_error_set(err, BPG_EINVALID, "the package embeds no allowed_signers: pass --allowed-signers FILE");
		if ((rc = bpg_allowed_signers_parse(&own, embedded, strlen(embedded), "/predicate/policy/allowed_signers",
				err)) < 0)
			return rc;
		signers = own;
		sum->signers_embedded = true;
	}
	json_array_foreach(json_object_get(pred, "approvals"), i, a) {
		const char *st = ev_str(a, "statement"), *sig = ev_str(a, "signature");
		bpg_approval ap;
		bpg_sshsig_result res;
		time_t at;
		if (!st || !sig) {
			rc = bpg_error_set(err, BPG_EINVALID, "/predicate/approvals/%zu: statement and signature are required", i);
			break;
		}
		if ((rc = bpg_approval_parse(&ap, st, strlen(st), err)) < 0) {
			bpg_error_prefix(err, "/predicate/approvals/%zu/statement: ", i);
			break;
		}
		if (!ev_streq(ap.approver, ev_str(a, "approver")) || !ev_streq(ap.tree, ev_str(a, "tree")) ||
		    !ev_streq(ap.time, ev_str(a, "time")) || !ev_streq(ap.environment, ev_str(a, "environment"))) {
			rc = bpg_error_set(err, BPG_EVERIFY, "/predicate/approvals/%zu: the listed approver, tree, time or "
				"environment differ from the signed statement", i);
			break;
		}
		if (!ev_streq(ap.tree, ev_str(rel, "tree")) || !ev_streq(ap.environment, ev_str(rel, "environment"))) {
			rc = bpg_error_set(err, BPG_EVERIFY, "/predicate/approvals/%zu: %s approved tree %.12s for %s, not "
				"the released tree for %s", i, ap.approver, ap.tree, ap.environment,
				ev_str(rel, "environment") ? ev_str(rel, "environment") : "?");
			break;
		}
		if (!ev_time(ap.time, &at) || (rc = bpg_sshsig_verify(&res, st, strlen(st), sig, strlen(sig),
				BPG_APPROVAL_NAMESPACE, ap.approver, signers, at, err)) < 0) {
			if (rc == 0)
				rc = bpg_error_set(err, BPG_EINVALID, "bad time");
			bpg_error_prefix(err, "/predicate/approvals/%zu: %s's signature: ", i, ap.approver);
			break;
		}
		sum->approvals++;
	}
	bpg_allowed_signers_free(own);
	return rc;
}

/* With a repository: every digest recomputed from the released commit's tree. */
static int recompute(const json_t *stmt, const json_t *pred, git_repository *repo, bpg_evidence_summary *sum,
	bpg_error *err)
{
	const json_t *rel = json_object_get(pred, "release"), *x;
	const char *hex = ev_str(rel, "commit");
	git_oid id;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	char th[41];
	size_t i;
	int rc = 0;
	struct {
		const char *ptr, *path_key, *sha_key;
	} lists[] = { { "subject", "name", NULL }, { "uat_evidence", "path", "sha256" }, { "bundles", "path", "sha256" } };

	if (!hex || git_oid_fromstr(&id, hex) < 0 || git_commit_lookup(&c, repo, &id) < 0 || git_commit_tree(&tree, c) < 0) {
		git_error_clear();
		rc = bpg_error_set(err, BPG_EVERIFY, "/predicate/release/commit: %s is not in the repository given",
			hex ? hex : "(none)");
		goto done;
	}
	git_oid_tostr(th, sizeof(th), git_tree_id(tree));
	if (!ev_streq(th, ev_str(rel, "tree"))) {
		rc = bpg_error_set(err, BPG_EVERIFY, "/predicate/release/tree: the commit's tree is %s", th);
		goto done;
	}
	for (size_t l = 0; l < 3 && rc == 0; l++) {
		const json_t *arr = l == 0 ? json_object_get(stmt, "subject") : json_object_get(pred, lists[l].ptr);
		json_array_foreach(arr, i, x) {
			const char *path = ev_str(x, lists[l].path_key);
			const char *want = l == 0 ? ev_str(json_object_get(x, "digest"), "sha256") : ev_str(x, lists[l].sha_key);
			bpg_buf data = BPG_BUF_INIT;
			char got[65];
			if ((rc = ev_read_path(&data, repo, tree, path ? path : "", (size_t)1 << 30, err)) == 0) {
				bpg_sha256_hex(got, data.ptr ? data.ptr : "", data.size);
				if (!ev_streq(got, want))
					rc = bpg_error_set(err, BPG_EVERIFY, "%s: sha256 in git is %.16s..., the package says %.16s...",
						path, got, want ? want : "(none)");
			}
			bpg_buf_dispose(&data);
			if (rc < 0) {
				bpg_error_prefix(err, "/%s%s/%zu: ", l == 0 ? "" : "predicate/", lists[l].ptr, i);
				if (rc == BPG_ENOTFOUND) /* a file the package names is not in the released tree */
					rc = err->code = BPG_EVERIFY;
				break;
			}
			sum->digests_recomputed++;
		}
	}
done:
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

int bpg_evidence_check(bpg_evidence_summary *out, const json_t *stmt, const bpg_evidence_check_opts *opts,
	bpg_error *err)
{
	bpg_evidence_check_opts none = { NULL, NULL, NULL };
	const json_t *pred = json_object_get(stmt, "predicate"), *rel = json_object_get(pred, "release");
	bpg_evidence_summary sum;
	int rc;

	memset(&sum, 0, sizeof(sum));
	if (!opts)
		opts = &none;
	if (!ev_streq(ev_str(stmt, "predicateType"), BPG_EVIDENCE_PREDICATE_V1))
		return bpg_error_set(err, BPG_EINVALID, "/predicateType: not bpgate release evidence (%s)",
			BPG_EVIDENCE_PREDICATE_V1);
	if (!json_is_object(pred) || !is_hex(ev_str(rel, "commit"), 40) || !is_hex(ev_str(rel, "tree"), 40) ||
	    !ev_str(rel, "environment") || !ev_str(rel, "kind") || !ev_str(rel, "time"))
		return bpg_error_set(err, BPG_EINVALID, "/predicate/release: commit, tree, environment, kind and time are "
			"required");
	if ((rc = check_subjects(stmt, pred, &sum, err)) < 0 || (rc = check_audit(pred, opts, &sum, err)) < 0 ||
	    (rc = check_approvals(pred, opts, &sum, err)) < 0)
		return rc;
	if (opts->repo && (rc = recompute(stmt, pred, opts->repo, &sum, err)) < 0)
		return rc;
	if (out)
		*out = sum;
	return 0;
}
