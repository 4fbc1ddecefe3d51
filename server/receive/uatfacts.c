/*
 * extra.server.uat_signoffs: the signed UAT sign-offs of the tree pushed.
 *
 * A sign-off is <dir>/<scenario>/signoff.json (the canonical statement, see
 * docs/readme/server.md "UAT sign-off") with signoff.json.sig beside it, an
 * SSHSIG in namespace bpgate-uat@v1 by a key of .bpgate/allowed_signers of
 * the policy ref. Facts only: whether it verified, who signed, what it
 * names, and the scenario's files in the tree as they are now (path -> blob
 * id), so that the uat-evidence rule can tell a sign-off of this content
 * from one of an earlier version. Sizes are read from object headers before
 * any blob is read; every limit is reported as a problem, never skipped.
 */
#include "receive.h"
#include "bpgate/util.h"

#include <stdio.h>
#include <string.h>

#define UAT_NAMESPACE "bpgate-uat@v1"
#define UAT_MAX_STATEMENT ((size_t)64 << 10)
#define UAT_MAX_SIG ((size_t)16 << 10)
#define UAT_MAX_FILES 20000

/* Read a blob at path, its size checked from the object header first. */
static int read_small(bpg_buf *out, git_repository *repo, git_tree *tree, const char *path, size_t max)
{
	git_tree_entry *e = NULL;
	git_odb *odb = NULL;
	git_blob *b = NULL;
	git_object_t t;
	size_t sz = 0;
	int rc = BPG_ENOTFOUND;

	int r = git_tree_entry_bypath(&e, tree, path);
	/* only "no such path" is absence: a tree on the way that cannot be read (GIT_ERROR_ODB,
	 * also GIT_ENOTFOUND) is an error, and a folder of that name is not a file */
	const git_error *ge = git_error_last();
	if (r == GIT_ENOTFOUND && ge && ge->klass == GIT_ERROR_TREE)
		goto done;
	rc = BPG_EIO;
	if (r < 0)
		goto done;
	rc = BPG_EINVALID;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		goto done;
	rc = BPG_EIO;
	if (git_repository_odb(&odb, repo) < 0 || git_odb_read_header(&sz, &t, odb, git_tree_entry_id(e)) < 0)
		goto done;
	rc = BPG_ETOOBIG;
	if (sz > max)
		goto done;
	rc = BPG_EIO;
	if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0)
		goto done;
	rc = bpg_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) < 0 ? BPG_ENOMEM : 0;
done:
	git_error_clear();
	git_blob_free(b);
	git_odb_free(odb);
	git_tree_entry_free(e);
	return rc;
}

typedef struct {
	const bpg_policy *policy;
	const char *dir;   /* the UAT directory, excluded from the files */
	json_t *wanted;    /* scenario id -> {path: blob} being filled */
	size_t n;
	bool over;
	bool nomem; /* walk_cb stopped the walk: out of memory (else libgit2 could not read a subtree) */
} walk_ctx;

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
	walk_ctx *w = payload;
	char path[4096], hex[GIT_OID_HEXSZ + 1];
	size_t dl = strlen(w->dir);

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if (++w->n > UAT_MAX_FILES) {
		w->over = true;
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e)) >= sizeof(path))
		return 0;
	if (strncmp(path, w->dir, dl) == 0 && path[dl] == '/')
		return 0;
	const char *id = json_string_value(json_object_get(bpg_catalog_match(bpg_policy_json(w->policy), path), "id"));
	json_t *files = id ? json_object_get(w->wanted, id) : NULL;
	if (!files)
		return 0;
	git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
	if (json_object_set_new(files, path, json_string(hex)) < 0) {
		w->nomem = true;
		return -1;
	}
	return 0;
}

static json_t *one_signoff(git_repository *repo, git_tree *tree, const char *dir, const char *id,
	const bpg_allowed_signers *signers, time_t now)
{
	bpg_buf st = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	char path[1024], spath[1100];
	json_t *out = json_object(), *stmt = NULL;
	json_error_t je;
	bpg_sshsig_result res;
	bpg_error err;
	const char *problem = NULL;
	int rc;

	if (!out)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s/signoff.json", dir, id);
	snprintf(spath, sizeof(spath), "%s.sig", path);
	if (json_object_set_new(out, "path", json_string(path)) < 0)
		goto oom;
	rc = read_small(&st, repo, tree, path, UAT_MAX_STATEMENT);
	if (rc == BPG_ENOTFOUND) {
		json_decref(out);
		bpg_buf_dispose(&st);
		return json_null(); /* no sign-off: the rule says so */
	}
	if (rc == BPG_ENOMEM)
		goto oom;
	if (rc < 0) {
		problem = rc == BPG_ETOOBIG ? "signoff.json is larger than 64 KiB" :
			rc == BPG_EINVALID ? "signoff.json is not a file" : "signoff.json cannot be read";
		goto verdict;
	}
	rc = read_small(&sig, repo, tree, spath, UAT_MAX_SIG);
	if (rc == BPG_ENOMEM)
		goto oom;
	if (rc < 0) {
		problem = rc == BPG_ENOTFOUND ? "signoff.json.sig is missing (sign it: bpgate uat signoff)" :
			rc == BPG_ETOOBIG ? "signoff.json.sig is larger than 16 KiB" :
			rc == BPG_EINVALID ? "signoff.json.sig is not a file" : "signoff.json.sig cannot be read";
		goto verdict;
	}
	if (!(stmt = json_loadb(st.ptr ? st.ptr : "", st.size, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(stmt)) {
		problem = "signoff.json is not a JSON object";
		goto verdict;
	}
	const char *signer = json_string_value(json_object_get(stmt, "signer"));
	if (!signer || !*signer) {
		problem = "signoff.json names no signer";
		goto verdict;
	}
	if (!signers) {
		problem = "the policy ref has no .bpgate/allowed_signers to check the signature against";
		goto verdict;
	}
	/* The signature must be by a key of the principal the statement names. */
	if (bpg_sshsig_verify(&res, st.ptr, st.size, sig.ptr, sig.size, UAT_NAMESPACE, signer, signers, now, &err) < 0) {
		if (json_object_set_new(out, "problem", json_string(err.message)) < 0)
			goto oom;
		goto verdict;
	}
	if (json_object_set_new(out, "verified", json_true()) < 0)
		goto oom;
verdict:
	if (problem && json_object_set_new(out, "problem", json_string(problem)) < 0)
		goto oom;
	if (!json_object_get(out, "verified") && json_object_set_new(out, "verified", json_false()) < 0)
		goto oom;
	if (stmt && json_object_set(out, "statement", stmt) < 0)
		goto oom;
	json_decref(stmt);
	bpg_buf_dispose(&st);
	bpg_buf_dispose(&sig);
	return out;
oom:
	json_decref(stmt);
	json_decref(out);
	bpg_buf_dispose(&st);
	bpg_buf_dispose(&sig);
	return NULL;
}

int rcv_uat_facts(json_t *server, git_repository *repo, git_tree *tree, const bpg_policy *p,
	const bpg_allowed_signers *signers, const char *dir, time_t now)
{
	json_t *map = json_object(), *files = json_object(), *e;
	walk_ctx w = { p, dir, files, 0, false, false };
	size_t i;

	if (!map || !files || json_object_set_new(server, "uat_signoffs", map) < 0) {
		json_decref(files);
		return BPG_ENOMEM;
	}
	if (!tree) {
		json_decref(files);
		return 0;
	}
	json_array_foreach(json_object_get(bpg_policy_json(p), "catalog"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		json_t *s;
		if (!id)
			continue;
		if (!(s = one_signoff(repo, tree, dir, id, signers, now)) || json_object_set_new(map, id, s) < 0 ||
		    (!json_is_null(s) && json_object_set_new(files, id, json_object()) < 0)) {
			json_decref(files);
			return BPG_ENOMEM;
		}
	}
	/* The scenario files as they are in the tree, only when some sign-off needs them. */
	if (json_object_size(files)) {
		int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w);
		git_error_clear();
		if (rc < 0 && w.nomem) {
			json_decref(files);
			return BPG_ENOMEM;
		}
		bool unreadable = rc < 0 && !w.over; /* a subtree libgit2 could not read: matched against nothing */
		const char *id;
		json_t *f;
		json_object_foreach(files, id, f) {
			json_t *s = json_object_get(map, id);
			int r2 = w.over ? json_object_set_new(s, "tree_files_error",
					json_string("more than 20000 files in the tree pushed: the sign-off cannot be matched")) :
				unreadable ? json_object_set_new(s, "tree_files_error",
					json_string("the tree pushed cannot be read whole: the sign-off cannot be matched")) :
				json_object_set(s, "tree_files", f);
			if (r2 < 0) {
				json_decref(files);
				return BPG_ENOMEM;
			}
		}
	}
	json_decref(files);
	return 0;
}
