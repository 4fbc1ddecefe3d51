/* Policy from a commit and the server's release records (see releases.h). */
#include "releases.h"
#include "bpgate/buf.h"
#include "bpgate/gather.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/testhook.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int rel_policy_load(bpg_policy **policy, bpg_allowed_signers **signers, git_repository *repo,
	const git_oid *commit, bpg_error *err)
{
	bpg_policy_files *files = NULL;
	bpg_diags *diags = NULL;
	git_commit *c = NULL;
	git_tree *root = NULL, *bt = NULL;
	git_blob *sb = NULL;
	const git_tree_entry *e;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	*policy = NULL;
	*signers = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&root, c) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot read commit %.12s", hex);
		goto done;
	}
	e = git_tree_entry_byname(root, ".bpgate");
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE || git_tree_lookup(&bt, repo, git_tree_entry_id(e)) < 0) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "commit %.12s has no .bpgate/ folder", hex);
		goto done;
	}
	if ((rc = bpg_gather_policy_files(&files, repo, bt, err)) < 0) {
		if (rc == BPG_ENOTFOUND)
			bpg_error_set(err, BPG_ENOTFOUND, "commit %.12s has no .bpgate/policy.json", hex);
		goto done;
	}
	const git_tree_entry *se = git_tree_entry_byname(bt, "allowed_signers");
	if ((rc = bpg_policy_load(policy, &diags, files, err)) < 0)
		goto done;
	if (se && git_tree_entry_type(se) == GIT_OBJECT_BLOB && git_blob_lookup(&sb, repo, git_tree_entry_id(se)) == 0 &&
	    (size_t)git_blob_rawsize(sb) <= BPG_ALLOWED_SIGNERS_MAX &&
	    (rc = bpg_allowed_signers_parse(signers, git_blob_rawcontent(sb), (size_t)git_blob_rawsize(sb),
	    ".bpgate/allowed_signers", err)) < 0)
		goto done;
	rc = 0;
done:
	git_error_clear();
	git_blob_free(sb);
	git_tree_free(bt);
	git_tree_free(root);
	git_commit_free(c);
	bpg_diags_free(diags);
	bpg_policy_files_free(files);
	if (rc < 0) {
		bpg_policy_free(*policy);
		bpg_allowed_signers_free(*signers);
		*policy = NULL;
		*signers = NULL;
	}
	return rc;
}

static int newest_first(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *tx = json_string_value(json_object_get(x, "time")), *ty = json_string_value(json_object_get(y, "time"));
	int c = strcmp(ty ? ty : "", tx ? tx : "");
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(y, "record_ref")), json_string_value(json_object_get(x, "record_ref")));
}

int rel_records(json_t **out, git_repository *repo, const char *env, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	json_t **v = NULL;
	size_t n = 0, cap = 0;
	char glob[256];
	int rc = 0;

	*out = NULL;
	if (env && (strchr(env, '/') || strchr(env, '*') || strchr(env, '?') || strchr(env, '[')))
		return bpg_error_set(err, BPG_EINVALID, "'%s' is not an environment name", env);
	snprintf(glob, sizeof(glob), "refs/bpgate/releases/%s/*", env ? env : "*");
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "cannot list %s", glob);
	}
	while (git_reference_next(&ref, it) == 0) {
		git_blob *b = NULL;
		json_t *rec = NULL;
		if (n >= REL_MAX_RECORDS) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d release records", REL_MAX_RECORDS);
			break;
		}
		if (git_reference_target(ref) && git_blob_lookup(&b, repo, git_reference_target(ref)) == 0 &&
		    (size_t)git_blob_rawsize(b) <= REL_RECORD_MAX)
			rec = json_loadb(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), 0, NULL);
		git_blob_free(b);
		git_error_clear();
		const char *kind = json_string_value(json_object_get(rec, "kind"));
		if (kind && strcmp(kind, "update") == 0) { /* an unprotected environment's accepted tip: not a release */
			json_decref(rec);
			rec = NULL;
		}
		if (json_is_object(rec) && json_is_string(json_object_get(rec, "tree")) &&
		    json_is_string(json_object_get(rec, "new")) &&
		    json_object_set_new(rec, "record_ref", json_string(git_reference_name(ref))) == 0) {
			json_t **nv = bpg_array_grow(v, &cap, n + 1, sizeof(*nv), 16);
			if (!nv) {
				json_decref(rec);
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			v[n++] = rec;
			rec = NULL;
		}
		json_decref(rec);
		git_reference_free(ref);
		ref = NULL;
	}
	git_reference_free(ref);
	git_reference_iterator_free(it);
	if (rc == 0) {
		if (n > 1)
			qsort(v, n, sizeof(*v), newest_first);
		if (!(*out = json_array()))
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (rc < 0)
			json_decref(v[i]);
		else if (json_array_append_new(*out, v[i]) < 0) /* consumes v[i] either way */
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	free(v);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int rel_env_branch(char *out, size_t size, const bpg_policy *policy, const char *env)
{
	const char *b = bpg_policy_env_branch(policy, env);
	if (!b)
		return BPG_ENOTFOUND;
	snprintf(out, size, "%s%s", strncmp(b, "refs/", 5) == 0 ? "" : "refs/heads/", b);
	return 0;
}

int rel_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	char z = 0;
	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z')
		return BPG_EINVALID;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

void rel_now(time_t *now, char out[32])
{
	struct tm tm;
	if (rel_time_parse(getenv("BPGATE_TIME"), now) < 0)
		*now = time(NULL);
	gmtime_r(now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int rel_fetch_server_refs(git_repository *repo, const char *remote, const char *cmd)
{
	git_config *cfg = NULL;
	bpg_buf key = BPG_BUF_INIT, heads = BPG_BUF_INIT;
	const char *url = NULL, *dir = git_repository_workdir(repo) ? git_repository_workdir(repo) : git_repository_path(repo);
	pid_t pid;
	int st = 0, rc = REL_NO_REMOTE;

	/* remote.<name>.url rather than git_remote_lookup, whose regex use leaks under libgit2 1.5 + pcre2 */
	if (bpg_buf_printf(&key, "remote.%s.url", remote) < 0 || git_repository_config_snapshot(&cfg, repo) < 0 ||
	    git_config_get_string(&url, cfg, key.ptr) < 0 || !url)
		goto done;
	rc = REL_FETCH_FAILED;
	if (bpg_buf_printf(&heads, "+refs/heads/*:refs/remotes/%s/*", remote) < 0) {
		fprintf(stderr, "bpgate %s: out of memory\n", cmd);
		goto done;
	}
	char *argv[] = { "git", "-C", (char *)dir, "fetch", "-q", "--no-write-fetch-head", (char *)remote, heads.ptr,
		"+refs/bpgate/*:refs/bpgate/*", NULL };
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) == 0 && waitpid(pid, &st, 0) == pid &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 0)
		rc = REL_FETCHED;
	else
		fprintf(stderr, "bpgate %s: cannot fetch the approvals, release records and branches (refs/bpgate/*, "
			"refs/heads/*) from %s: what this clone has may be out of date, so no answer is given; "
			"run it again when %s is reachable, or pass --no-fetch to see what this clone has\n", cmd, remote, remote);
done:
	git_config_free(cfg);
	git_error_clear();
	bpg_buf_dispose(&key);
	bpg_buf_dispose(&heads);
	return rc;
}
