/*
 * bpgate uat signoff SCENARIO [--rev REV] [-f KEY] [--as PRINCIPAL]
 *                    [--result pass|fail] [--notes TEXT]
 *
 * Write a signed UAT sign-off of SCENARIO as it is in REV (default HEAD):
 * <dir>/<scenario>/signoff.json, the canonical statement
 *   {"commit","files":{path: blob id},"notes","result","scenario","signer",
 *    "time","type":"bpgate-uat-signoff/v1"}
 * (keys sorted, compact, one LF) and signoff.json.sig, an SSHSIG in
 * namespace bpgate-uat@v1 by the tester's SSH key. The files are every file
 * of the scenario's catalog paths outside <dir>, so a sign-off counts only
 * for exactly the version that was tested (the uat-evidence rule).
 */
#include "cli.h"
#include "frontend.h"
#include "sshsign.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/gitobj.h"
#include "bpgate/jsonheap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define UAT_NAMESPACE "bpgate-uat@v1"
#define UAT_MAX_FILES 20000

typedef struct {
	const json_t *policy;
	const char *id, *dir;
	json_t *files;
	size_t n;
	bool nomem; /* walk_cb stopped the walk: out of memory */
} uat_walk;

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
	uat_walk *w = payload;
	char path[4096], hex[GIT_OID_HEXSZ + 1];
	size_t dl = strlen(w->dir);

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if (++w->n > UAT_MAX_FILES)
		return -2;
	if ((size_t)snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e)) >= sizeof(path))
		return 0;
	if (strncmp(path, w->dir, dl) == 0 && path[dl] == '/')
		return 0;
	const char *id = json_string_value(json_object_get(bpg_catalog_match(w->policy, path), "id"));
	if (!id || strcmp(id, w->id) != 0)
		return 0;
	git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
	if (json_object_set_new(w->files, path, json_string(hex)) < 0) {
		w->nomem = true;
		return -1;
	}
	return 0;
}

static int mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int r = mkdir(path, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

int cmd_uat(int argc, char **argv)
{
	static const char *use = "usage: bpgate uat signoff SCENARIO [--rev REV] [-f KEY] [--as PRINCIPAL] "
		"[--result pass|fail] [--notes TEXT]";
	const char *id = NULL, *rev = "HEAD", *key = NULL, *as = NULL, *result = "pass", *notes = NULL;
	fe_ctx ctx;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	json_t *stmt = NULL;
	char *text = NULL, signer[256], now[32], chex[GIT_OID_HEXSZ + 1];
	bpg_buf keybuf = BPG_BUF_INIT, sig = BPG_BUF_INIT, path = BPG_BUF_INIT, body = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_EXIT_ERROR;
	bool opened = false;

	if (argc < 2 || strcmp(argv[1], "signoff") != 0)
		return cli_usage(use);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rev") == 0 && i + 1 < argc) rev = argv[++i];
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) key = argv[++i];
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc) as = argv[++i];
		else if (strcmp(argv[i], "--result") == 0 && i + 1 < argc) result = argv[++i];
		else if (strcmp(argv[i], "--notes") == 0 && i + 1 < argc) notes = argv[++i];
		else if (argv[i][0] != '-' && !id) id = argv[i];
		else return cli_usage(use);
	}
	if (!id || (strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0))
		return cli_usage(use);
	if (fe_open(&ctx, "uat signoff") < 0)
		return BPG_EXIT_ERROR;
	opened = true;
	const json_t *pj = bpg_policy_json(ctx.policy);
	if (!bpg_catalog_find(pj, id)) {
		fprintf(stderr, "bpgate uat signoff: '%s' is not a scenario of the catalog in .bpgate/policy.json\n", id);
		goto done;
	}
	/* The rule's directory, its default applied by the engine. */
	const char *dir = json_string_value(bpg_policy_rule_param(ctx.policy, "uat-evidence", "dir"));
	if (!dir) {
		fprintf(stderr, "bpgate uat signoff: the policy has no uat-evidence directory\n");
		goto done;
	}
	if (git_revparse_single(&obj, ctx.repo, rev) < 0 ||
	    git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0 || git_commit_tree(&tree, commit) < 0) {
		fprintf(stderr, "bpgate uat signoff: '%s' is not a commit\n", rev);
		goto done;
	}
	uat_walk w = { pj, id, dir, json_object(), 0, false };
	if (!w.files || git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w) < 0) {
		if (w.files && w.n > UAT_MAX_FILES)
			fprintf(stderr, "bpgate uat signoff: more than %d files in the tree (limit): cannot list the "
				"scenario's files\n", UAT_MAX_FILES);
		else if (!w.files || w.nomem)
			fprintf(stderr, "bpgate uat signoff: out of memory\n");
		else
			fprintf(stderr, "bpgate uat signoff: cannot read the tree of %s: %s (run git fsck)\n", rev,
				bpg_git_message());
		json_decref(w.files);
		goto done;
	}
	if (json_object_size(w.files) == 0) {
		fprintf(stderr, "bpgate uat signoff: %s has no files of scenario %s: commit the scenario first\n", rev, id);
		json_decref(w.files);
		goto done;
	}
	if (!key) {
		const char *home = getenv("HOME");
		if (bpg_buf_printf(&keybuf, "%s/.ssh/id_ed25519", home ? home : "") < 0) {
			fprintf(stderr, "bpgate uat signoff: out of memory\n");
			goto done;
		}
		key = keybuf.ptr;
	}
	if (as)
		snprintf(signer, sizeof(signer), "%s", as);
	else if (cli_ssh_principal(signer, sizeof(signer), ctx.repo, key, UAT_NAMESPACE, "uat signoff") < 0) {
		json_decref(w.files);
		goto done;
	}
	cli_now_utc(now);
	git_oid_tostr(chex, sizeof(chex), git_commit_id(commit));
	stmt = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "commit", chex, "files", w.files, "result", result,
		"scenario", id, "signer", signer, "time", now, "type", "bpgate-uat-signoff/v1");
	if (stmt && notes && json_object_set_new(stmt, "notes", json_string(notes)) < 0) {
		fprintf(stderr, "bpgate uat signoff: --notes must be UTF-8 text\n");
		goto done;
	}
	if (!stmt || !(text = bpg_json_dumps(stmt, JSON_COMPACT | JSON_SORT_KEYS)) || bpg_buf_puts(&body, text) < 0 ||
	    bpg_buf_putc(&body, '\n') < 0) {
		fprintf(stderr, "bpgate uat signoff: out of memory\n");
		goto done;
	}
	if (cli_ssh_sign(&sig, key, UAT_NAMESPACE, body.ptr, body.size, 16384, NULL, "uat signoff") < 0)
		goto done;
	if (bpg_buf_printf(&path, "%s%s/%s/signoff.json", ctx.workdir ? ctx.workdir : "", dir, id) < 0 ||
	    mkdirs(path.ptr) < 0) {
		fprintf(stderr, "bpgate uat signoff: cannot create %s/%s/\n", dir, id);
		goto done;
	}
	if (bpg_file_write_atomic(path.ptr, body.ptr, body.size, 0644, &err) < 0 ||
	    bpg_buf_puts(&path, ".sig") < 0 || bpg_file_write_atomic(path.ptr, sig.ptr, sig.size, 0644, &err) < 0) {
		cli_report_error("uat signoff", &err);
		goto done;
	}
	printf("signed off scenario %s (%zu file(s) of commit %.12s) as %s: %s\n"
		"  commit %s/%s/signoff.json and signoff.json.sig, then promote\n", id, json_object_size(json_object_get(stmt,
		"files")), chex, signer, result, dir, id);
	rc = BPG_EXIT_OK;
done:
	free(text);
	json_decref(stmt);
	git_tree_free(tree);
	git_commit_free(commit);
	git_object_free(obj);
	bpg_buf_dispose(&keybuf);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&body);
	if (opened)
		fe_close(&ctx);
	return rc;
}
