/*
 * bpg_evidence_build(): the in-toto Statement of one release. Reads the
 * release record the server gate wrote (refs/bpgate/releases/<env>/<commit>),
 * the audit log, the policy of the decision and the promoted range; the
 * sections themselves are assembled in build_parts.c.
 */
#include "internal.h"
#include "bpgate/approval.h"
#include "bpgate/dsse.h"
#include "bpgate/gather.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"

#include <stdio.h>
#include <stdlib.h>

int ev_oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "out of memory building the evidence");
}

int ev_read_path(bpg_buf *out, git_repository *repo, git_tree *tree, const char *path, size_t max,
	bpg_error *err)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc;

	if (git_tree_entry_bypath(&e, tree, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		git_error_clear();
		rc = bpg_error_set(err, BPG_ENOTFOUND, "%s: not in the tree", path);
	} else if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
		rc = bpg_git_fail(err, path);
	} else if ((size_t)git_blob_rawsize(b) > max) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %zu bytes", path, max);
	} else {
		rc = bpg_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		if (rc < 0)
			rc = ev_oom(err);
	}
	git_blob_free(b);
	git_tree_entry_free(e);
	return rc;
}

int ev_load_record(json_t **out, git_repository *repo, const char *env, const char *hex, bpg_error *err)
{
	bpg_buf name = BPG_BUF_INIT;
	git_oid id;
	git_blob *b = NULL;
	json_error_t je;
	int rc = 0;

	*out = NULL;
	if (bpg_buf_printf(&name, "%s%s/%s", BPG_EVIDENCE_RELEASE_REFS, env, hex) < 0)
		return ev_oom(err);
	if (git_reference_name_to_id(&id, repo, name.ptr) < 0) {
		git_error_clear();
		rc = bpg_error_set(err, BPG_ENOTFOUND, "no release record %s: %s was not released to %s through the "
			"gate (or the records were not fetched: git fetch origin 'refs/bpgate/*:refs/bpgate/*')",
			name.ptr, hex, env);
	} else if (git_blob_lookup(&b, repo, &id) < 0 || (size_t)git_blob_rawsize(b) > EV_MAX_SMALL) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: not a release record blob", name.ptr);
		git_error_clear();
	} else if (!(*out = json_loadb(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), JSON_REJECT_DUPLICATES,
			&je)) || !json_is_object(*out)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: line %d: %s", name.ptr, je.line, je.text);
		json_decref(*out);
		*out = NULL;
	} else if (!ev_streq(ev_str(*out, "new"), hex) || !ev_str(*out, "kind") || !ev_str(*out, "time")) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: the record does not describe %s (new, kind, time)", name.ptr, hex);
		json_decref(*out);
		*out = NULL;
	}
	git_blob_free(b);
	bpg_buf_dispose(&name);
	return rc;
}

bool ev_time(const char *s, time_t *out)
{
	struct tm tm;
	char tail = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 7 || tail != 'Z' || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return true;
}

static bool in_strings(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (ev_streq(json_string_value(v), s))
			return true;
	return false;
}

bool ev_ref_concerns(const json_t *ref, const json_t *commits, const char *hex, const char *env,
	const char *tree)
{
	const char *name = ev_str(ref, "ref"), *nw = ev_str(ref, "new");
	char prefix[160];

	if (ev_streq(nw, hex) || (nw && in_strings(commits, nw)))
		return true;
	snprintf(prefix, sizeof(prefix), "%s%s/%s/", BPG_APPROVAL_REF_PREFIX, env, tree ? tree : "-");
	return name && tree && strncmp(name, prefix, strlen(prefix)) == 0;
}

bool ev_entry_is_release(const json_t *entry, const char *env, const char *hex, const char *kind,
	const json_t *applied, uint64_t idx)
{
	size_t i;
	json_t *r;

	if (!ev_streq(ev_str(entry, "type"), "bpgate-push") || !ev_streq(ev_str(entry, "decision"), "accept"))
		return false;
	json_array_foreach(json_object_get(entry, "refs"), i, r)
		if (ev_streq(ev_str(r, "environment"), env) && ev_streq(ev_str(r, "new"), hex) &&
		    (!kind || ev_streq(ev_str(r, "kind"), kind)) && (!applied || ev_ref_applied(applied, entry, idx, r)))
			return true;
	return false;
}

bool ev_update_key(char *out, size_t n, const json_t *ref)
{
	const char *name = ev_str(ref, "ref"), *old = ev_str(ref, "old"), *nw = ev_str(ref, "new");
	if (!name || !old || !nw)
		return false;
	int w = snprintf(out, n, "%s %s %s", name, old, nw);
	return w > 0 && (size_t)w < n;
}

int ev_applied_index(json_t **out, const bpg_audit_log *log, bpg_error *err)
{
	json_t *pending = json_object(), *applied = json_object();
	uint64_t n = bpg_audit_size(log);
	int rc = 0;

	*out = NULL;
	if (!pending || !applied) {
		rc = ev_oom(err);
		goto done;
	}
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		const char *bytes;
		size_t len, k;
		json_t *e, *r;
		char key[4200], mark[4240];
		bool judged, confirm;

		if ((rc = bpg_audit_entry(&bytes, &len, log, i, err)) < 0)
			break;
		if (!(e = json_loadb(bytes, len, 0, NULL)))
			continue;
		judged = ev_streq(ev_str(e, "type"), "bpgate-push") && ev_streq(ev_str(e, "decision"), "accept") &&
			ev_streq(ev_str(e, "stage"), "judged");
		confirm = ev_streq(ev_str(e, "type"), "bpgate-applied");
		json_array_foreach(json_object_get(e, "refs"), k, r) {
			if ((!judged && !confirm) || !ev_update_key(key, sizeof(key), r))
				continue;
			if (judged) { /* the latest judgement of an update is the one git applies next */
				if (json_object_set_new(pending, key, json_integer((json_int_t)i)) < 0)
					rc = ev_oom(err);
				continue;
			}
			json_t *at = json_object_get(pending, key);
			if (!at)
				continue;
			snprintf(mark, sizeof(mark), "%lld %s", (long long)json_integer_value(at), ev_str(r, "ref"));
			if (json_object_set_new(applied, mark, json_true()) < 0 || json_object_del(pending, key) < 0)
				rc = ev_oom(err);
		}
		json_decref(e);
	}
	if (rc == 0) {
		*out = applied;
		applied = NULL;
	}
done:
	json_decref(pending);
	json_decref(applied);
	return rc;
}

bool ev_ref_applied(const json_t *applied, const json_t *entry, uint64_t i, const json_t *ref)
{
	char mark[4240];
	if (!ev_streq(ev_str(entry, "stage"), "judged"))
		return true;
	snprintf(mark, sizeof(mark), "%llu %s", (unsigned long long)i, ev_str(ref, "ref") ? ev_str(ref, "ref") : "");
	return json_object_get(applied, mark) != NULL;
}

/* The audit entries of the promotion, with inclusion proofs; sets *policy_commit. */
static int audit_section(json_t *pred, const bpg_audit_log *log, const json_t *commits, const char *hex,
	const char *env, const char *tree, const char *kind, char policy_commit[41], bpg_error *err)
{
	json_t *audit = json_object(), *entries = json_array(), *proofs = json_array(), *applied = NULL;
	const char *note;
	size_t note_len;
	uint64_t n = bpg_audit_size(log), release_index = UINT64_MAX;
	int rc = 0;

	if (!audit || !entries || !proofs || json_object_set_new(pred, "audit", audit) < 0) {
		json_decref(audit);
		json_decref(entries);
		json_decref(proofs);
		return ev_oom(err);
	}
	json_object_set_new(audit, "entries", entries);
	json_object_set_new(audit, "proofs", proofs);
	if (!(note = bpg_audit_checkpoint_note(log, &note_len)) || n == 0)
		return bpg_error_set(err, BPG_EVERIFY, "the audit log has no signed checkpoint");
	if (json_object_set_new(audit, "checkpoint", json_stringn(note, note_len)) < 0)
		return ev_oom(err);
	if ((rc = ev_applied_index(&applied, log, err)) < 0)
		return rc;
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		const char *bytes;
		size_t len, k;
		json_t *e, *r;
		bool hit = false;

		if ((rc = bpg_audit_entry(&bytes, &len, log, i, err)) < 0)
			break;
		if (!(e = json_loadb(bytes, len, 0, NULL)))
			continue;
		json_array_foreach(json_object_get(e, "refs"), k, r)
			hit |= ev_ref_concerns(r, commits, hex, env, tree);
		if (hit && ev_entry_is_release(e, env, hex, kind, applied, i)) {
			release_index = i;
			snprintf(policy_commit, 41, "%s", ev_str(e, "policy_commit") ? ev_str(e, "policy_commit") : "");
			if (ev_str(e, "repository"))
				json_object_set(json_object_get(pred, "release"), "repository", json_object_get(e, "repository"));
		}
		json_decref(e);
		if (!hit)
			continue;
		if (json_array_size(entries) >= BPG_EVIDENCE_MAX_ENTRIES) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d audit entries concern this release",
				BPG_EVIDENCE_MAX_ENTRIES);
			break;
		}
		bpg_buf pj = BPG_BUF_INIT;
		json_t *p = NULL;
		if ((rc = bpg_audit_proof_json(&pj, log, i, err)) == 0 &&
		    (!(p = json_loadb(pj.ptr, pj.size, 0, NULL)) || json_array_append_new(proofs, p) < 0 ||
		     json_array_append_new(entries, json_integer((json_int_t)i)) < 0))
			rc = ev_oom(err);
		bpg_buf_dispose(&pj);
	}
	if (rc == 0 && release_index == UINT64_MAX)
		rc = bpg_error_set(err, BPG_EVERIFY, "the audit log holds no accepted %s decision for %s in %s that git applied; "
			"a release record without its decision is not evidence (pass the log of this server: --audit-dir)",
			kind, hex, env);
	if (rc == 0 && json_object_set_new(audit, "release_entry", json_integer((json_int_t)release_index)) < 0)
		rc = ev_oom(err);
	json_decref(applied);
	return rc;
}

/* .bpgate/policy.json and allowed_signers of the policy commit. */
static int load_policy(json_t *pred, json_t **policy, struct bpg_allowed_signers **signers, git_repository *repo,
	const char *policy_commit, bpg_error *err)
{
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL;
	bpg_buf pj = BPG_BUF_INIT, as = BPG_BUF_INIT;
	json_t *pol = json_object();
	int rc = 0;

	if (!pol || json_object_set_new(pred, "policy", pol) < 0)
		return ev_oom(err);
	if (json_object_set_new(pol, "commit", policy_commit[0] ? json_string(policy_commit) : json_null()) < 0)
		return ev_oom(err);
	if (!policy_commit[0] || git_oid_fromstr(&id, policy_commit) < 0 || git_commit_lookup(&c, repo, &id) < 0 ||
	    git_commit_tree(&t, c) < 0) {
		git_error_clear();
		rc = bpg_error_set(err, BPG_ENOTFOUND, "the policy commit %s of the decision is not in the repository",
			policy_commit[0] ? policy_commit : "(none)");
		goto done;
	}
	if ((rc = ev_read_path(&pj, repo, t, ".bpgate/policy.json", EV_MAX_SMALL, err)) < 0)
		goto done;
	if (!(*policy = json_loadb(pj.ptr, pj.size, 0, NULL)) || !json_is_object(*policy)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%.12s:.bpgate/policy.json does not parse", policy_commit);
		goto done;
	}
	rc = ev_read_path(&as, repo, t, ".bpgate/allowed_signers", EV_MAX_SMALL, err);
	if (rc == BPG_ENOTFOUND) {
		rc = json_object_set_new(pol, "allowed_signers", json_null()) < 0 ? ev_oom(err) : 0;
		goto done;
	}
	if (rc < 0 || (rc = bpg_allowed_signers_parse(signers, as.ptr ? as.ptr : "", as.size,
			".bpgate/allowed_signers", err)) < 0)
		goto done;
	if (json_object_set_new(pol, "allowed_signers", json_stringn(as.ptr ? as.ptr : "", as.size)) < 0)
		rc = ev_oom(err);
done:
	bpg_buf_dispose(&pj);
	bpg_buf_dispose(&as);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

static json_t *person(const json_t *p)
{
	return json_pack("{s:O?, s:O?, s:O?}", "name", json_object_get(p, "name"), "email",
		json_object_get(p, "email"), "time", json_object_get(p, "time"));
}

/* commits: id, summary, author, committer, trailers (the change template), signature state. */
static int commits_section(json_t *pred, const json_t *facts, const char **first_time, bpg_error *err)
{
	json_t *out = json_array(), *c;
	size_t i;

	if (!out || json_object_set_new(pred, "commits", out) < 0)
		return ev_oom(err);
	*first_time = NULL;
	json_array_foreach(json_object_get(facts, "commits"), i, c) {
		const char *msg = ev_str(c, "message") ? ev_str(c, "message") : "";
		const char *at = ev_str(json_object_get(c, "author"), "time");
		size_t sl = strcspn(msg, "\n");
		json_t *sig = json_object_get(c, "signature");
		json_t *o = json_pack("{s:O, s:s%, s:o, s:o, s:O, s:b}", "id", json_object_get(c, "id"), "summary", msg, sl,
			"author", person(json_object_get(c, "author")), "committer", person(json_object_get(c, "committer")),
			"trailers", json_object_get(c, "trailers") ? json_object_get(c, "trailers") : json_object(),
			"signed", sig != NULL);
		if (!o || json_array_append_new(out, o) < 0)
			return ev_oom(err);
		if (at && (!*first_time || strcmp(at, *first_time) < 0))
			*first_time = at;
	}
	return 0;
}

static int release_section(json_t *pred, const json_t *rec, const char *env, const char *hex,
	const char *repository)
{
	const char *kind = ev_str(rec, "kind");
	json_t *r = json_pack("{s:s?, s:s, s:s, s:O?, s:O?, s:s, s:O?, s:O?, s:O?, s:b, s:b, s:O?, s:O?}",
		"repository", repository, "environment", env, "commit", hex, "tree", json_object_get(rec, "tree"),
		"ref", json_object_get(rec, "ref"), "kind", kind, "previous_commit", json_object_get(rec, "old"),
		"pusher", json_object_get(rec, "pusher"), "time", json_object_get(rec, "time"),
		"rollback", ev_streq(kind, "rollback"), "break_glass", ev_streq(kind, "break-glass"),
		"incident", json_object_get(rec, "incident"), "push_certificate", json_object_get(rec, "push_cert_text"));
	return !r || json_object_set_new(pred, "release", r) < 0 ? BPG_ENOMEM : 0;
}

/* How to go back to the state before this release: `bpgate rollback`, which writes the commit with the
 * trailers the gate asks for (a plain git commit of the old tree is refused), per changed scenario. */
static int rollback_section(json_t *pred, git_repository *repo, const json_t *rec, const char *env)
{
	const char *old = ev_str(rec, "old");
	const json_t *s;
	git_oid id;
	git_commit *c = NULL;
	char tree[41] = "";
	json_t *o, *cmds;
	size_t i;

	if (old && strspn(old, "0") != 40 && git_oid_fromstr(&id, old) == 0 && git_commit_lookup(&c, repo, &id) == 0)
		git_oid_tostr(tree, sizeof(tree), git_commit_tree_id(c));
	git_error_clear();
	git_commit_free(c);
	if (!tree[0]) {
		o = json_pack("{s:n, s:n, s:s}", "to_commit", "to_tree", "how",
			"this is the first release of the environment: there is no earlier state to roll back to");
		return !o || json_object_set_new(pred, "rollback", o) < 0 ? BPG_ENOMEM : 0;
	}
	o = json_pack("{s:s, s:s, s:s, s:[]}", "to_commit", old, "to_tree", tree, "how",
		"a releaser runs bpgate rollback for each scenario of this release (it writes the rollback commit with "
		"the trailers the gate asks for and shows the impact); with --deploy it pushes it signed and, once the "
		"gate accepted it (a tree the environment had needs no new approval), deploys it to Make",
		"commands");
	if (!o || json_object_set_new(pred, "rollback", o) < 0)
		return BPG_ENOMEM;
	cmds = json_object_get(o, "commands");
	json_array_foreach(json_object_get(json_object_get(pred, "changes"), "scenarios"), i, s) {
		const char *sid = ev_str(s, "id");
		if (!sid)
			continue;
		if (json_array_append_new(cmds, json_sprintf("bpgate rollback %s --env %s --to %.12s --dry-run", sid, env,
				old)) < 0 ||
		    json_array_append_new(cmds, json_sprintf("bpgate rollback %s --env %s --to %.12s --deploy", sid, env,
				old)) < 0)
			return BPG_ENOMEM;
	}
	return 0;
}

/* The roles the policy of the decision gives the releaser and each approver: {principal: [role...]}. */
static int roles_section(json_t *pred, const json_t *policy)
{
	json_t *out = json_object();
	const char *who[2] = { ev_str(json_object_get(pred, "release"), "pusher"), NULL };
	size_t i;

	if (!out || json_object_set_new(pred, "roles", out) < 0)
		return BPG_ENOMEM;
	for (i = 0; i <= json_array_size(json_object_get(pred, "approvals")); i++) {
		const char *p = i == 0 ? who[0] : ev_str(json_array_get(json_object_get(pred, "approvals"), i - 1),
			"approver");
		const char *k;
		json_t *members, *list, *m;
		size_t j;

		if (!p || json_object_get(out, p))
			continue;
		if (!(list = json_array()) || json_object_set_new(out, p, list) < 0)
			return BPG_ENOMEM;
		json_object_foreach((json_t *)json_object_get(policy, "roles"), k, members)
			json_array_foreach(members, j, m)
				if (ev_streq(json_string_value(m), p) && json_array_append_new(list, json_string(k)) < 0)
					return BPG_ENOMEM;
	}
	return 0;
}

int bpg_evidence_build(json_t **out, git_repository *repo, const git_oid *commit, const bpg_evidence_opts *opts,
	bpg_error *err)
{
	const char *env = opts && opts->environment ? opts->environment : "prod";
	char hex[41], policy_commit[41] = "";
	json_t *rec = NULL, *stmt = NULL, *pred = json_object(), *facts = NULL, *policy = NULL, *ids = json_array();
	struct bpg_allowed_signers *signers = NULL;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	const char *first = NULL;
	time_t released = 0, t0;
	git_oid from;
	int rc;

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	if (!pred || !ids) {
		rc = ev_oom(err);
		goto done;
	}
	if ((rc = ev_load_record(&rec, repo, env, hex, err)) < 0)
		goto done;
	ev_time(ev_str(rec, "time"), &released);
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		rc = bpg_git_fail(err, hex);
		goto done;
	}
	/* the promoted range: from the environment's previous state to this commit */
	bpg_facts_opts fo = { "evidence", opts && opts->time ? opts->time : ev_str(rec, "time"), NULL, NULL, env, NULL, 0 };
	bpg_gather_opts go;
	memset(&go, 0, sizeof(go));
	go.no_scan = true;
	go.no_bundles = true;
	const char *old = ev_str(rec, "old");
	bool has_from = old && strspn(old, "0") != 40 && git_oid_fromstr(&from, old) == 0;
	if ((rc = bpg_facts_new(&facts, &fo, err)) < 0 ||
	    (rc = bpg_gather_range(facts, repo, has_from ? &from : NULL, commit, &go, err)) < 0)
		goto done;
	size_t i;
	json_t *cj;
	json_array_foreach(json_object_get(facts, "commits"), i, cj)
		json_array_append(ids, json_object_get(cj, "id"));
	if ((rc = release_section(pred, rec, env, hex, NULL)) < 0) {
		rc = ev_oom(err);
		goto done;
	}
	if (opts && opts->log) {
		if ((rc = audit_section(pred, opts->log, ids, hex, env, ev_str(rec, "tree"), ev_str(rec, "kind"),
				policy_commit, err)) < 0)
			goto done;
	} else {
		/* without the log, the policy of the decision is the branch as it was before the push */
		snprintf(policy_commit, sizeof(policy_commit), "%s", has_from ? old : "");
		if (json_object_set_new(pred, "audit", json_null()) < 0) {
			rc = ev_oom(err);
			goto done;
		}
	}
	if ((rc = load_policy(pred, &policy, &signers, repo, policy_commit, err)) < 0)
		goto done;
	if ((rc = bpg_intoto_statement_new(&stmt, BPG_EVIDENCE_PREDICATE_V1, err)) < 0 ||
	    (rc = ev_subjects(stmt, repo, tree, policy, err)) < 0 ||
	    (rc = commits_section(pred, facts, &first, err)) < 0 ||
	    (rc = ev_changes(pred, repo, tree, facts, policy, err)) < 0 ||
	    (rc = ev_approvals(pred, repo, env, ev_str(rec, "tree"), signers, released, err)) < 0 ||
	    (rc = ev_evidence_files(pred, repo, tree, policy, json_object_get(rec, "scenarios"), err)) < 0)
		goto done;
	if (rollback_section(pred, repo, rec, env) < 0 || roles_section(pred, policy) < 0) {
		rc = ev_oom(err);
		goto done;
	}
	if ((rc = ev_make_section(pred, repo, env, hex, err)) < 0)
		goto done;
	json_t *times = json_pack("{s:s?, s:O?, s:s?, s:o}", "first_commit", first, "released",
		json_object_get(rec, "time"), "built", opts ? opts->time : NULL, "cycle_time_seconds",
		first && ev_time(first, &t0) && released ? json_integer((json_int_t)(released - t0)) : json_null());
	if (!times || json_object_set_new(pred, "times", times) < 0) {
		rc = ev_oom(err);
		goto done;
	}
	json_incref(pred);
	if ((rc = bpg_intoto_set_predicate(stmt, pred, err)) < 0)
		goto done;
	*out = stmt;
	stmt = NULL;
done:
	json_decref(stmt);
	json_decref(pred);
	json_decref(rec);
	json_decref(facts);
	json_decref(policy);
	json_decref(ids);
	bpg_allowed_signers_free(signers);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}
