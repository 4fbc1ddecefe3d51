/* What the `bpgate make` commands share (see make_common.h). */
#include "make_common.h"
#include "releases.h"
#include "sshsign.h"
#include "bpgate/audit.h"
#include "bpgate/blueprint.h"
#include "bpgate/gitobj.h"
#include "bpgate/jsonheap.h"

#include <pwd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Who runs this: the server's user variable (bpgated, gitolite), else the
 * git identity, else the login. Recorded, never trusted for a decision. */
static void find_who(char *out, size_t size, git_repository *repo)
{
	static const char *vars[] = { "BPGATE_USER", "GL_USER", "REMOTE_USER" };
	const char *cause = getenv("BPGATE_DEPLOY_CAUSE"); /* post-receive's promotion on merge */
	if (cause && *cause) {
		snprintf(out, size, "bpgate-receive (%s)", cause);
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v) {
			snprintf(out, size, "%s", v);
			return;
		}
	}
	char *email = cli_config_string(repo, "user.email");
	if (email) {
		snprintf(out, size, "%s", email);
		free(email);
		return;
	}
	struct passwd *pw = getpwuid(getuid());
	snprintf(out, size, "%s", pw && pw->pw_name ? pw->pw_name : "unknown");
}

static int open_client(mk_ctx *c, const mk_open_opts *o, bpg_error *err)
{
	char *file = o->token_file ? strdup(o->token_file) : cli_config_string(c->repo, "bpgate.makeTokenFile");
	char *ca = getenv("BPGATE_MAKE_CA_FILE") && *getenv("BPGATE_MAKE_CA_FILE") ?
		strdup(getenv("BPGATE_MAKE_CA_FILE")) : cli_config_string(c->repo, "bpgate.makeCaFile");
	char *token = NULL, *base = NULL;
	int rc;

	if ((rc = bpg_make_token_load(&token, file, err)) < 0) {
		if (rc == BPG_ENOTFOUND)
			bpg_error_set(err, BPG_ENOTFOUND, "no Make API token: set BPGATE_MAKE_TOKEN, or pass "
				"--token-file FILE (mode 0600), or set git config bpgate.makeTokenFile");
		goto done;
	}
	if ((rc = bpg_make_base_url(&base, c->menv.zone, c->menv.api_url, err)) < 0)
		goto done;
	bpg_make_options opts = { 0 };
	opts.base_url = base;
	opts.token = token;
	opts.ca_file = ca;
	const char *budget = getenv("BPGATE_MAKE_BUDGET");
	if (budget && *budget)
		opts.budget_per_minute = (unsigned)strtoul(budget, NULL, 10);
	rc = bpg_make_client_new(&c->client, &opts, err);
done:
	bpg_make_token_free(token);
	free(base);
	free(file);
	free(ca);
	return rc;
}

static int resolve_rev(mk_ctx *c, const mk_open_opts *o, bpg_error *err)
{
	git_object *obj = NULL;
	char branch[300];
	const char *spec = o->rev;
	int rc;

	if (!spec) {
		/* the environment's branch: the server's own ref in a bare
		 * repository, else the remote-tracking one in a clone */
		const char *b = bpg_policy_env_branch(c->policy, c->env);
		if (!b)
			return bpg_error_set(err, BPG_EINVALID, "environment '%s' has no branch", c->env);
		const char *shortb = strncmp(b, "refs/heads/", 11) == 0 ? b + 11 : b;
		snprintf(branch, sizeof(branch), "refs/heads/%s", shortb);
		if (!git_repository_is_bare(c->repo)) {
			char remote[300];
			snprintf(remote, sizeof(remote), "refs/remotes/origin/%s", shortb);
			git_reference *r = NULL;
			if (git_reference_lookup(&r, c->repo, remote) == 0)
				snprintf(branch, sizeof(branch), "%s", remote);
			git_reference_free(r);
			git_error_clear();
		}
		spec = branch;
	}
	git_object *peeled = NULL;
	if (git_revparse_single(&obj, c->repo, spec) < 0 || git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		git_error_clear();
		return bpg_error_set(err, BPG_ENOTFOUND, "cannot resolve '%s' to a commit%s", spec,
			o->rev ? "" : " (fetch it first: git fetch origin)");
	}
	git_oid_cpy(&c->commit, git_object_id(peeled));
	git_oid_tostr(c->commit_hex, sizeof(c->commit_hex), &c->commit);
	c->have_commit = true;
	git_object_free(peeled);
	git_object_free(obj);
	rc = 0;
	return rc;
}

static int open_inner(mk_ctx *c, const mk_open_opts *o)
{
	bpg_allowed_signers *signers = NULL;
	bpg_error err;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	bpg_error_clear(&err);
	c->env = o->env;
	cli_now_utc(c->now);
	if (git_repository_open_ext(&c->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		fprintf(stderr, "bpgate %s: not in a git repository (%s)\n", o->cmd, bpg_git_message());
		git_error_clear();
		return -1;
	}
	find_who(c->who, sizeof(c->who), c->repo);
	if (!o->rev && !o->rev_is_env_branch) {
		const char *wd = git_repository_workdir(c->repo);
		char dir[4096];
		if (!wd) {
			fprintf(stderr, "bpgate %s: needs a working tree (the policy of .bpgate/ and the files to write)\n", o->cmd);
			return -1;
		}
		snprintf(dir, sizeof(dir), "%s.bpgate", wd);
		rc = bpg_policy_load_dir(&c->policy, dir, &err);
	} else {
		/* the policy the acted-on revision carries: its maps and catalog are the approved ones */
		const char *env_ref = NULL;
		if (!o->rev) {
			/* need a policy to find the branch: HEAD's, then re-load from the tip */
			git_object *head = NULL;
			if (git_revparse_single(&head, c->repo, "HEAD^{commit}") < 0) {
				git_error_clear();
				fprintf(stderr, "bpgate %s: no HEAD to read the policy from; pass REV\n", o->cmd);
				return -1;
			}
			rc = rel_policy_load(&c->policy, &signers, c->repo, git_object_id(head), &err);
			git_object_free(head);
			bpg_allowed_signers_free(signers);
			signers = NULL;
			if (rc == 0 && !bpg_policy_env_branch(c->policy, c->env))
				rc = bpg_error_set(&err, BPG_EINVALID, "'%s' is not an environment of this policy", c->env);
			if (rc == 0)
				rc = resolve_rev(c, o, &err);
			bpg_policy_free(c->policy);
			c->policy = NULL;
			(void)env_ref;
		} else {
			rc = resolve_rev(c, o, &err);
		}
		if (rc == 0)
			rc = rel_policy_load(&c->policy, &signers, c->repo, &c->commit, &err);
		bpg_allowed_signers_free(signers);
	}
	if (rc < 0) {
		cli_report_error(o->cmd, &err);
		return -1;
	}
	if (!bpg_policy_env_branch(c->policy, c->env)) {
		fprintf(stderr, "bpgate %s: '%s' is not an environment of this policy\n", o->cmd, c->env);
		return -1;
	}
	if (!bpg_policy_env_make(&c->menv, c->policy, c->env)) {
		fprintf(stderr, "bpgate %s: environment '%s' has no \"make\" block in .bpgate/policy.json "
			"(zone, team_id); see docs/readme/make.md\n", o->cmd, c->env);
		return -1;
	}
	c->refmap = bpg_policy_env_refmap(c->policy, c->env);
	c->audit_dir = cli_config_string(c->repo, "bpgate.auditDir");
	c->audit_key = cli_config_string(c->repo, "bpgate.auditKey");
	/* bpgated hands its tools the daemon's audit log and key */
	const char *al = getenv("BPGATE_AUDIT_LOG"), *ak = getenv("BPGATE_SERVER_KEY");
	if (!c->audit_dir && !c->audit_key && al && *al && ak && *ak) {
		c->audit_dir = strdup(al);
		c->audit_key = strdup(ak);
	}
	if (o->need_audit && (!c->audit_dir || !c->audit_key)) {
		fprintf(stderr, "bpgate %s: every deployment is an audit entry, and this repository has no audit log: "
			"run it where the gate's audit log is (the server's repository, or `ssh git@HOST deploy`), or set "
			"git config bpgate.auditDir and bpgate.auditKey\n", o->cmd);
		return -1;
	}
	if (o->need_client && open_client(c, o, &err) < 0) {
		cli_report_error(o->cmd, &err);
		return -1;
	}
	return 0;
}

int mk_open(mk_ctx *c, const mk_open_opts *o)
{
	if (open_inner(c, o) == 0)
		return 0;
	mk_close(c); /* the caller closes only what opened */
	return -1;
}

void mk_close(mk_ctx *c)
{
	bpg_make_client_free(c->client);
	bpg_policy_free(c->policy);
	git_repository_free(c->repo);
	free(c->audit_dir);
	free(c->audit_key);
	memset(c, 0, sizeof(*c));
}

static int read_at(bpg_buf *out, mk_ctx *c, const char *path, bpg_error *err)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	int rc;

	if (git_commit_lookup(&commit, c->repo, &c->commit) < 0 || git_commit_tree(&tree, commit) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot read commit %.12s", c->commit_hex);
		goto done;
	}
	if (git_tree_entry_bypath(&e, tree, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "%.12s has no file %s", c->commit_hex, path);
		goto done;
	}
	rc = bpg_git_blob_read(out, c->repo, git_tree_entry_id(e), BPG_BLUEPRINT_MAX_BYTES, path, err);
done:
	git_error_clear();
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

int mk_desired(bpg_buf *bytes, json_t **doc, mk_ctx *c, const json_t *entry, bpg_error *err)
{
	const char *path = bpg_policy_scenario_blueprint(entry);
	bpg_buf raw = BPG_BUF_INIT;
	json_t *bp = NULL;
	json_error_t je;
	int rc;

	if (doc)
		*doc = NULL;
	if (!path)
		return bpg_error_set(err, BPG_EINVALID, "catalog entry '%s' has no \"blueprint\" file",
			json_string_value(json_object_get(entry, "id")));
	if ((rc = read_at(&raw, c, path, err)) < 0)
		goto done;
	if (!(bp = json_loadb(raw.ptr ? raw.ptr : "", raw.size, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(bp)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s:%d:%d: %s", path, je.line, je.column,
			bp ? "not a JSON object" : je.text);
		goto done;
	}
	if (c->refmap && (rc = bpg_make_blueprint_map(bp, c->refmap, false, NULL, err)) < 0) {
		bpg_error_prefix(err, "%s for environment %s", path, c->env);
		if (rc == BPG_ENOTFOUND) /* a missing mapping is a fault of the maps, not a missing file */
			rc = err->code = BPG_EINVALID;
		goto done;
	}
	if ((rc = bpg_make_blueprint_format(bytes, bp, err)) < 0)
		goto done;
	if (doc) {
		*doc = bp;
		bp = NULL;
	}
done:
	json_decref(bp);
	bpg_buf_dispose(&raw);
	return rc;
}

int mk_live(bpg_buf *bytes, json_t **doc, mk_ctx *c, long long make_id, bpg_error *err)
{
	json_t *bp = NULL, *sched = NULL;
	int rc;

	if (doc)
		*doc = NULL;
	if ((rc = bpg_make_blueprint_get(&bp, &sched, NULL, c->client, make_id, err)) < 0)
		goto done;
	if (!json_is_object(bp)) {
		rc = bpg_error_set(err, BPG_EINVALID, "Make sent no blueprint object for scenario %lld", make_id);
		goto done;
	}
	if (sched && json_object_set(bp, "scheduling", sched) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = bpg_make_blueprint_format(bytes, bp, err)) < 0)
		goto done;
	if (doc) {
		*doc = bp;
		bp = NULL;
	}
done:
	json_decref(bp);
	json_decref(sched);
	return rc;
}

int mk_split(json_t **blueprint, json_t **scheduling, const json_t *held, bpg_error *err)
{
	*blueprint = json_deep_copy(held);
	*scheduling = NULL;
	if (!*blueprint)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	json_t *s = json_object_get(*blueprint, "scheduling");
	if (s) {
		*scheduling = json_incref(s);
		json_object_del(*blueprint, "scheduling");
	}
	return 0;
}

int mk_compare(json_t **changes, const char *a, size_t alen, const char *b, size_t blen, bpg_error *err)
{
	bpg_blueprint *ba = NULL, *bb = NULL;
	bpg_bpdiff *d = NULL;
	json_t *out = NULL;
	int rc;

	*changes = NULL;
	if ((rc = bpg_blueprint_parse(&ba, a, alen, "recorded", err)) < 0 ||
	    (rc = bpg_blueprint_parse(&bb, b, blen, "live", err)) < 0 ||
	    (rc = bpg_bpdiff_compute(&d, ba, bb, err)) < 0 ||
	    (rc = bpg_bpdiff_to_json(&out, d, err)) < 0)
		goto done;
	if (!json_is_array(out)) {
		json_t *arr = json_object_get(out, "changes");
		json_t *keep = json_is_array(arr) ? json_incref(arr) : json_array();
		json_decref(out);
		out = keep;
	}
	const json_t *sa = json_object_get(bpg_blueprint_json(ba), "scheduling");
	const json_t *sb = json_object_get(bpg_blueprint_json(bb), "scheduling");
	/* a file without "scheduling" leaves it to Make: only a governed scheduling is compared */
	if (sa && !json_equal((json_t *)sa, (json_t *)sb)) {
		char *va = sa ? bpg_json_dumps(sa, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		char *vb = sb ? bpg_json_dumps(sb, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		json_array_append_new(out, json_pack("{s:s, s:s?, s:s?}", "kind", "scheduling", "old", va, "new", vb));
		free(va);
		free(vb);
	}
	*changes = out;
	out = NULL;
done:
	json_decref(out);
	bpg_bpdiff_free(d);
	bpg_blueprint_free(ba);
	bpg_blueprint_free(bb);
	return rc;
}

void mk_print_changes(FILE *out, const json_t *changes, size_t max)
{
	size_t i;
	json_t *ch;
	json_array_foreach((json_t *)changes, i, ch) {
		if (i == max) {
			fprintf(out, "      … and %zu more (--format json lists all)\n", json_array_size(changes) - max);
			break;
		}
		const char *kind = json_string_value(json_object_get(ch, "kind"));
		const json_t *mid = json_object_get(ch, "module_id");
		const char *field = json_string_value(json_object_get(ch, "field"));
		const char *o = json_string_value(json_object_get(ch, "old"));
		const char *n = json_string_value(json_object_get(ch, "new"));
		fprintf(out, "      %s", kind ? kind : "change");
		if (json_is_integer(mid))
			fprintf(out, " module %lld", (long long)json_integer_value(mid));
		if (field)
			fprintf(out, " %s", field);
		if (o || n)
			fprintf(out, ": %.80s -> %.80s", o ? o : "(none)", n ? n : "(none)");
		fputc('\n', out);
	}
}

int mk_audit(mk_ctx *c, const char *type, json_t *fields, bpg_error *err)
{
	bpg_audit_log *log = NULL;
	bpg_note_signer *key = NULL;
	json_t *e = fields ? fields : json_object();
	char *s = NULL;
	int rc;

	if (!c->audit_dir || !c->audit_key) {
		if (!fields)
			json_decref(e);
		return 0; /* commands that need one refused at mk_open */
	}
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "environment", json_string(c->env));
	json_object_set_new(e, "who", json_string(c->who));
	json_object_set_new(e, "time", json_string(c->now));
	if (!(s = bpg_json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = bpg_note_signer_load(&key, c->audit_key, err)) == 0 &&
	    (rc = bpg_audit_open_append(&log, c->audit_dir, err)) == 0)
		rc = bpg_audit_append(log, s, strlen(s), key, NULL, err);
done:
	bpg_audit_free(log);
	bpg_note_signer_free(key);
	free(s);
	if (!fields)
		json_decref(e);
	return rc;
}

void mk_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
