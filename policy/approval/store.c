/* Approvals in git: write and read the approval commits, verify, gather. */
#include "bpgate/approval.h"
#include "bpgate/gitobj.h"
#include "bpgate/sshsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_FILE "approval.json"
#define SIG_FILE "approval.json.sig"

static bool parse_time(const char *s, git_time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec) != 6)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (git_time_t)timegm(&tm);
	return true;
}

int bpg_approval_store(git_oid *out, git_repository *repo, const bpg_approval *a, const char *sig, size_t siglen,
	bpg_error *err)
{
	bpg_buf stmt = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	git_treebuilder *tb = NULL;
	git_oid stmt_id, sig_id, tree_id;
	git_tree *tree = NULL;
	git_signature *who = NULL;
	git_time_t when;
	int rc;

	if ((rc = bpg_approval_format(&stmt, a, err)) < 0)
		goto done;
	if (siglen > BPG_APPROVAL_MAX) {
		rc = bpg_error_set(err, BPG_EINVALID, "approval signature larger than %zu bytes", BPG_APPROVAL_MAX);
		goto done;
	}
	if (!parse_time(a->time, &when)) {
		rc = bpg_error_set(err, BPG_EINVALID, "approval: bad time %s", a->time);
		goto done;
	}
	if (git_blob_create_from_buffer(&stmt_id, repo, stmt.ptr, stmt.size) < 0 ||
	    git_blob_create_from_buffer(&sig_id, repo, sig, siglen) < 0 ||
	    git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, STMT_FILE, &stmt_id, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, tb, SIG_FILE, &sig_id, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_new(&who, a->approver, a->approver, when, 0) < 0) {
		rc = bpg_git_fail(err, "cannot write the approval objects");
		goto done;
	}
	if ((rc = bpg_buf_printf(&msg, "bpgate approval: %s %.12s by %s\n\n%s\n", a->environment, a->tree,
	    a->approver, stmt.ptr)) < 0) {
		rc = bpg_error_set(err, rc, "out of memory");
		goto done;
	}
	if (git_commit_create(out, repo, NULL, who, who, NULL, msg.ptr, tree, 0, NULL) < 0)
		rc = bpg_git_fail(err, "cannot write the approval commit");
done:
	git_signature_free(who);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&msg);
	return rc;
}

static int read_entry(bpg_buf *out, git_repository *repo, const git_tree *tree, const char *name, bpg_error *err)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	size_t size;
	int rc;

	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return bpg_error_set(err, BPG_EINVALID, "not an approval: %s is missing", name);
	/* the size from the object header first: a pushed 1 GiB "approval" is never inflated */
	if ((rc = bpg_git_object_size(&size, NULL, repo, git_tree_entry_id(e), GIT_OBJECT_BLOB, BPG_APPROVAL_MAX,
	     name, err)) == BPG_ETOOBIG)
		return bpg_error_set(err, BPG_EINVALID, "approval %s larger than %zu bytes", name, BPG_APPROVAL_MAX);
	if (rc < 0)
		return bpg_git_fail(err, "cannot read an approval");
	return bpg_git_blob_read(out, repo, git_tree_entry_id(e), BPG_APPROVAL_MAX, name, err);
}

int bpg_approval_load(bpg_buf *stmt, bpg_buf *sig, git_repository *repo, const git_oid *id, bpg_error *err)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	int rc;

	/* sizes from the object headers first: a pushed 1 GiB commit or tree is never inflated */
	if ((rc = bpg_git_commit_lookup(&c, repo, id, "the approval commit", err)) == BPG_ETOOBIG ||
	    (rc == 0 && (rc = bpg_git_object_size(NULL, NULL, repo, git_commit_tree_id(c), GIT_OBJECT_ANY,
	     BPG_APPROVAL_MAX, "the approval's tree", err)) == BPG_ETOOBIG))
		goto done; /* err names the limit */
	if (rc < 0 || git_commit_tree(&t, c) < 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "not an approval: the ref does not point to a commit");
		git_error_clear();
		goto done;
	}
	if (git_commit_parentcount(c) != 0 || git_tree_entrycount(t) != 2) {
		rc = bpg_error_set(err, BPG_EINVALID, "not an approval: an approval commit has no parent and two files");
		goto done;
	}
	if ((rc = read_entry(stmt, repo, t, STMT_FILE, err)) < 0)
		goto done;
	rc = read_entry(sig, repo, t, SIG_FILE, err);
done:
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

int bpg_approval_verify(bpg_approval *out, git_repository *repo, const git_oid *id, const char *refname,
	const bpg_allowed_signers *signers, time_t now, bpg_error *err)
{
	bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT, want = BPG_BUF_INIT;
	bpg_approval a;
	bpg_sshsig_result res;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = bpg_approval_load(&stmt, &sig, repo, id, err)) < 0)
		goto done;
	if ((rc = bpg_approval_parse(&a, stmt.ptr ? stmt.ptr : "", stmt.size, err)) < 0)
		goto done;
	if (out)
		*out = a;
	if (refname) {
		if ((rc = bpg_approval_refname(&want, &a, err)) < 0)
			goto done;
		if (strcmp(want.ptr, refname) != 0) {
			rc = bpg_error_set(err, BPG_EVERIFY, "stored under the wrong name: its statement belongs at %s", want.ptr);
			goto done;
		}
	}
	if (!signers) {
		rc = bpg_error_set(err, BPG_EVERIFY, "no .bpgate/allowed_signers to verify it against");
		goto done;
	}
	rc = bpg_sshsig_verify(&res, stmt.ptr, stmt.size, sig.ptr ? sig.ptr : "", sig.size, BPG_APPROVAL_NAMESPACE,
		a.approver, signers, now, err);
done:
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&want);
	return rc;
}

static bool hex40(const char *s)
{
	if (!s || strlen(s) != 40)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* An environment name that can be part of an approval ref (see bpg_approval_refname). */
static bool plain_env(const char *s)
{
	if (!s || !*s || strlen(s) >= sizeof(((bpg_approval *)0)->environment))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

static bool tree_wanted(const char *refname, size_t plen, const char *const *trees, size_t ntrees)
{
	/* <env>/<tree>/<approver>/<stamp> after the prefix */
	const char *p = strchr(refname + plen, '/');
	if (ntrees == 0)
		return true;
	if (!p || strlen(p + 1) < 41 || p[41] != '/')
		return false;
	for (size_t i = 0; i < ntrees; i++)
		if (strncmp(p + 1, trees[i], 40) == 0)
			return true;
	return false;
}

typedef struct {
	json_t *found;  /* gathered approvals, sorted by ref name at the end */
	size_t seen;    /* refs read, against BPG_APPROVAL_MAX_REFS */
} gathering;

/* Read the approvals under one glob (refs/bpgate/approvals/...): those of
 * `prefix` and one of `trees` (all when ntrees is 0). */
static int gather_glob(gathering *g, git_repository *repo, const char *glob, const char *prefix,
	const char *const *trees, size_t ntrees, const bpg_allowed_signers *signers, time_t now, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc = 0, r;

	if (git_reference_iterator_glob_new(&it, repo, glob) < 0)
		return bpg_git_fail(err, "cannot list the approvals");
	while ((r = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		bpg_approval a;
		bpg_error verr;
		json_t *o;
		if (strncmp(name, prefix, strlen(prefix)) != 0 || git_reference_type(ref) != GIT_REFERENCE_DIRECT ||
		    !tree_wanted(name, strlen(BPG_APPROVAL_REF_PREFIX), trees, ntrees)) {
			git_reference_free(ref);
			ref = NULL;
			continue;
		}
		if (++g->seen > BPG_APPROVAL_MAX_REFS) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d approval refs for the trees judged; archive old ones",
				BPG_APPROVAL_MAX_REFS);
			goto done;
		}
		bool ok = bpg_approval_verify(&a, repo, git_reference_target(ref), name, signers, now, &verr) == 0;
		if (a.approver[0]) { /* else not even a statement: nothing to report as an approval */
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "approver", a.approver, "environment",
				a.environment, "tree", a.tree, "commit", a.commit, "time", a.time, "repository", a.repository,
				"ref", name, "verified", ok);
			if (o && a.repository_id[0] &&
			    json_object_set_new(o, "repository_id", json_string(a.repository_id)) < 0) {
				json_decref(o);
				o = NULL;
			}
			if (!o || json_array_append_new(g->found, o) < 0) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				goto done;
			}
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (r != GIT_ITEROVER)
		rc = bpg_git_fail(err, "cannot list the approvals");
done:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	return rc;
}

static int by_ref(const void *x, const void *y)
{
	const char *a = json_string_value(json_object_get(*(json_t *const *)x, "ref"));
	const char *b = json_string_value(json_object_get(*(json_t *const *)y, "ref"));
	return strcmp(a ? a : "", b ? b : "");
}

/*
 * With an environment and trees, only refs/bpgate/approvals/<env>/<tree>/
 * of those trees are read (libgit2 walks only that folder of loose refs):
 * approvals of other trees, however many, cost nothing and never reach the
 * limit. Results come in ref name order either way.
 */
int bpg_approvals_gather(json_t *approvals, git_repository *repo, const char *environment,
	const char *const *trees, size_t ntrees, const bpg_allowed_signers *signers, time_t now, bpg_error *err)
{
	gathering g = { json_array(), 0 };
	bpg_buf prefix = BPG_BUF_INIT, glob = BPG_BUF_INIT;
	json_t **v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!g.found || bpg_buf_printf(&prefix, "%s%s%s", BPG_APPROVAL_REF_PREFIX, environment ? environment : "",
	    environment ? "/" : "") < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (!environment || ntrees == 0) {
		rc = gather_glob(&g, repo, BPG_APPROVAL_REF_PREFIX "*", prefix.ptr, trees, ntrees, signers, now, err);
	} else if (plain_env(environment)) { /* else no approval ref can name it */
		for (size_t i = 0; i < ntrees && rc == 0; i++) {
			bool dup = false;
			for (size_t k = 0; k < i; k++)
				dup |= trees[k] && trees[i] && strcmp(trees[k], trees[i]) == 0;
			if (dup || !hex40(trees[i]))
				continue;
			bpg_buf_clear(&glob);
			if (bpg_buf_printf(&glob, "%s%s/*", prefix.ptr, trees[i]) < 0) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				break;
			}
			rc = gather_glob(&g, repo, glob.ptr, prefix.ptr, trees + i, 1, signers, now, err);
		}
	}
	if (rc < 0)
		goto done;
	n = json_array_size(g.found);
	if (n && !(v = calloc(n, sizeof(*v)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(g.found, i);
	if (n)
		qsort(v, n, sizeof(*v), by_ref);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (json_array_append(approvals, v[i]) < 0)
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(v);
	json_decref(g.found);
	bpg_buf_dispose(&prefix);
	bpg_buf_dispose(&glob);
	return rc < 0 ? rc : (int)n;
}

int bpg_approvals_count(size_t *out, git_repository *repo, const bpg_approval *a, size_t max, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	bpg_buf name = BPG_BUF_INIT;
	char *slash;
	int rc, r = GIT_ITEROVER;

	*out = 0;
	if ((rc = bpg_approval_refname(&name, a, err)) < 0)
		goto done;
	/* refs/bpgate/approvals/<env>/<tree>/<approver>/<stamp> -> .../<approver>/ * */
	slash = strrchr(name.ptr, '/');
	slash[1] = '*';
	slash[2] = '\0';
	if (git_reference_iterator_glob_new(&it, repo, name.ptr) < 0) {
		rc = bpg_git_fail(err, "cannot list the approvals");
		goto done;
	}
	while (*out < max && (r = git_reference_next(&ref, it)) == 0) {
		(*out)++;
		git_reference_free(ref);
		ref = NULL;
	}
	if (*out < max && r != GIT_ITEROVER)
		rc = bpg_git_fail(err, "cannot list the approvals");
done:
	git_reference_iterator_free(it);
	bpg_buf_dispose(&name);
	return rc;
}

int bpg_approval_time_unused(bpg_approval *a, git_repository *repo, bpg_error *err)
{
	bpg_buf name = BPG_BUF_INIT;
	int rc = 0;

	for (int tries = 0;; tries++) {
		git_oid id;
		struct tm tm;
		int r;
		bpg_buf_clear(&name);
		if ((rc = bpg_approval_refname(&name, a, err)) < 0)
			break;
		if ((r = git_reference_name_to_id(&id, repo, name.ptr)) == GIT_ENOTFOUND)
			break;
		if (r < 0) {
			rc = bpg_git_fail(err, name.ptr);
			break;
		}
		if (tries == 60) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s and the approvals of the next 60 seconds exist already",
				name.ptr);
			break;
		}
		git_time_t t;
		if (!parse_time(a->time, &t)) { /* bpg_approval_refname checked it: cannot happen */
			rc = bpg_error_set(err, BPG_EINVALID, "approval: time '%s' is not YYYY-MM-DDTHH:MM:SSZ", a->time);
			break;
		}
		time_t next = (time_t)t + 1;
		char moved[sizeof(a->time)];
		if (!gmtime_r(&next, &tm) || strftime(moved, sizeof(moved), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "approval: time '%s' cannot be moved on", a->time);
			break;
		}
		memcpy(a->time, moved, sizeof(moved));
	}
	git_error_clear();
	bpg_buf_dispose(&name);
	return rc;
}
