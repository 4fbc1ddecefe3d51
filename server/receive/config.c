/* Settings, the principal map, and the policy as the policy ref has it before the push. */
#include "receive.h"
#include "bpgate/gather.h"
#include "bpgate/query.h"
#include "bpgate/gitobj.h"
#include "bpgate/util.h"
#include "bpgate/approval.h"
#include "bpgate/policy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpg_scan_ignore;
int bpg_scan_ignore_parse(struct bpg_scan_ignore **out, const char *data, size_t len, const char *display,
	bpg_error *err);
void bpg_scan_ignore_free(struct bpg_scan_ignore *ig);

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	return v && !*dst ? BPG_ENOMEM : 0;
}

static int from_git(rcv_config *cfg, git_repository *repo)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "bpgate.userVar", offsetof(rcv_config, user_var) },
		{ "bpgate.users", offsetof(rcv_config, users_file) },
		{ "bpgate.policyRef", offsetof(rcv_config, policy_ref) },
		{ "bpgate.repository", offsetof(rcv_config, repository) },
		{ "bpgate.repositoryId", offsetof(rcv_config, repository_id) },
		{ "bpgate.auditDir", offsetof(rcv_config, audit_dir) },
		{ "bpgate.auditKey", offsetof(rcv_config, audit_key) },
		{ "bpgate.maxJudgeSeconds", offsetof(rcv_config, max_judge_seconds) },
		{ "bpgate.maxJudgeMemory", offsetof(rcv_config, max_judge_memory) },
	};
	git_config *c = NULL;
	int rc = 0, b = 0;

	if (git_repository_config_snapshot(&c, repo) < 0) {
		git_error_clear();
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++) {
		const char *v = NULL;
		if (git_config_get_string(&v, c, keys[i].key) == 0)
			rc = set_str((char **)((char *)cfg + keys[i].off), v);
		git_error_clear();
	}
	if (git_config_get_bool(&b, c, "bpgate.bootstrap") == 0)
		cfg->bootstrap = b != 0;
	git_error_clear();
	if (rc == 0 && !(cfg->bootstrap_principals = json_array()))
		rc = BPG_ENOMEM;
	if (rc == 0) {
		git_config_iterator *it = NULL;
		git_config_entry *e;
		if (git_config_multivar_iterator_new(&it, c, "bpgate.bootstrapPrincipal", NULL) == 0)
			while (rc == 0 && git_config_next(&e, it) == 0)
				if (e->value && *e->value && json_array_size(cfg->bootstrap_principals) < 64 &&
				    json_array_append_new(cfg->bootstrap_principals, json_string(e->value)) < 0)
					rc = BPG_ENOMEM;
		git_config_iterator_free(it);
		git_error_clear();
	}
	git_config_free(c);
	return rc;
}

static int load_users(rcv_config *cfg, bpg_error *err)
{
	bpg_buf data = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_file_read(&data, cfg->users_file, (size_t)4 << 20, err)) < 0)
		return rc;
	if (!(cfg->users = json_object())) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	char *save = NULL, *line = data.ptr ? strtok_r(data.ptr, "\n", &save) : NULL;
	for (size_t no = 1; line; line = strtok_r(NULL, "\n", &save), no++) {
		char name[512], principal[512], extra[2];
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || *line == '\0' || *line == '\r')
			continue;
		int k = sscanf(line, "%511s %511s %1s", name, principal, extra);
		if (k != 2) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: a line is not '<name> <principal>'", cfg->users_file);
			goto done;
		}
		if (json_object_set_new(cfg->users, name, json_string(principal)) < 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: a name or principal is not UTF-8", cfg->users_file);
			goto done;
		}
	}
done:
	bpg_buf_dispose(&data);
	return rc;
}

/* The command-line flags: each takes a value and sets the field of the same name. */
static const struct { const char *flag; size_t off; } flags[] = {
	{ "--user-var", offsetof(rcv_config, user_var) },
	{ "--users", offsetof(rcv_config, users_file) },
	{ "--policy-ref", offsetof(rcv_config, policy_ref) },
	{ "--repository", offsetof(rcv_config, repository) },
	{ "--audit-dir", offsetof(rcv_config, audit_dir) },
	{ "--audit-key", offsetof(rcv_config, audit_key) },
	{ "--max-judge-seconds", offsetof(rcv_config, max_judge_seconds) },
	{ "--max-judge-memory", offsetof(rcv_config, max_judge_memory) },
};

int rcv_config_check_args(int argc, char **argv, bpg_error *err)
{
	for (int i = 1; i < argc; i++) {
		bool known = strcmp(argv[i], "--post-receive") == 0;
		for (size_t k = 0; !known && k < sizeof(flags) / sizeof(flags[0]); k++) {
			if (strcmp(argv[i], flags[k].flag) != 0)
				continue;
			if (i + 1 >= argc)
				return bpg_error_set(err, BPG_EINVALID, "%s needs a value", argv[i]);
			i++;
			known = true;
		}
		if (!known)
			return bpg_error_set(err, BPG_EINVALID, "unknown option '%s'", argv[i]);
	}
	return 0;
}

int rcv_config_load(rcv_config *cfg, git_repository *repo, int argc, char **argv, bpg_error *err)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if ((rc = from_git(cfg, repo)) < 0)
		return bpg_error_set(err, rc, "out of memory");
	for (int i = 1; i < argc; i++) {
		bool known = false;
		if (strcmp(argv[i], "--post-receive") == 0)
			continue;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			if (strcmp(argv[i], flags[k].flag) != 0)
				continue;
			if (i + 1 >= argc)
				return bpg_error_set(err, BPG_EINVALID, "%s needs a value", argv[i]);
			if (set_str((char **)((char *)cfg + flags[k].off), argv[++i]) < 0)
				return bpg_error_set(err, BPG_ENOMEM, "out of memory");
			known = true;
		}
		if (!known)
			return bpg_error_set(err, BPG_EINVALID, "unknown option '%s' (see bpgate-receive --help)", argv[i]);
	}
	if (cfg->repository_id && !bpg_repository_id_valid(cfg->repository_id))
		return bpg_error_set(err, BPG_EINVALID, "bpgate.repositoryId must be 32 lower-case hex digits "
			"(set it with: git config bpgate.repositoryId \"$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')\")");
	if (!cfg->repository) {
		const char *gl = getenv("GL_REPO");
		const char *path = git_repository_path(repo);
		char buf[256];
		if (gl && *gl) {
			snprintf(buf, sizeof(buf), "%s", gl);
		} else {
			size_t n = strlen(path);
			while (n && path[n - 1] == '/')
				n--;
			size_t s = n;
			while (s && path[s - 1] != '/')
				s--;
			snprintf(buf, sizeof(buf), "%.*s", (int)(n - s), path + s);
			if (strcmp(buf, ".git") == 0) { /* non-bare: the directory above */
				size_t e = s ? s - 1 : 0, b = e;
				while (b && path[b - 1] != '/')
					b--;
				snprintf(buf, sizeof(buf), "%.*s", (int)(e - b), path + b);
			}
			n = strlen(buf);
			if (n > 4 && strcmp(buf + n - 4, ".git") == 0)
				buf[n - 4] = '\0';
		}
		if (set_str(&cfg->repository, buf) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	bpg_buf spool = BPG_BUF_INIT;
	if (bpg_buf_printf(&spool, "%sbpgate-spool", git_repository_path(repo)) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	cfg->spool_dir = bpg_buf_detach(&spool);
	if (cfg->users_file && (rc = load_users(cfg, err)) < 0)
		return rc;
	return rcv_budget_new(&cfg->budget, cfg->max_judge_seconds, cfg->max_judge_memory, err);
}

int rcv_budget_new(struct bpg_budget **out, const char *seconds, const char *memory, bpg_error *err)
{
	bpg_budget_opts o = { BPG_BUDGET_DEFAULT_SECONDS, BPG_BUDGET_DEFAULT_MEMORY,
		"bpgate.maxJudgeSeconds or --max-judge-seconds", "bpgate.maxJudgeMemory or --max-judge-memory" };
	int rc;

	*out = NULL;
	if (seconds) {
		char *end;
		unsigned long v = strtoul(seconds, &end, 10);
		if (!*seconds || *seconds == '-' || *end || v > 86400)
			return bpg_error_set(err, BPG_EINVALID, "bpgate.maxJudgeSeconds: '%s' is not a number of "
				"seconds from 0 to 86400", seconds);
		o.max_seconds = (unsigned)v;
	}
	if (memory && (rc = bpg_budget_parse_size(&o.max_memory, memory, err)) < 0) {
		bpg_error_prefix(err, "bpgate.maxJudgeMemory: ");
		return rc;
	}
	return bpg_budget_new(out, &o, err);
}

void rcv_config_free(rcv_config *cfg)
{
	free(cfg->user_var);
	free(cfg->users_file);
	free(cfg->policy_ref);
	free(cfg->repository);
	free(cfg->repository_id);
	free(cfg->audit_dir);
	free(cfg->audit_key);
	free(cfg->spool_dir);
	json_decref(cfg->bootstrap_principals);
	json_decref(cfg->users);
	free(cfg->max_judge_seconds);
	free(cfg->max_judge_memory);
	bpg_budget_free(cfg->budget);
	memset(cfg, 0, sizeof(*cfg));
}

const char *rcv_principal(const rcv_config *cfg, const char *name)
{
	if (!name || !*name)
		return NULL;
	if (!cfg->users)
		return name;
	return json_string_value(json_object_get(cfg->users, name));
}

/* ---- bootstrap: the first push, which creates the policy branch ----------- */

int rcv_bootstrap_check(const rcv_config *cfg, const char *principal, const char *policy_ref,
	const rcv_updates *ups, bpg_error *err)
{
	const char *policy_new = NULL;
	char names[256] = "";
	size_t i, len = 0;
	json_t *p;

	json_array_foreach(cfg->bootstrap_principals, i, p)
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", json_string_value(p));
	if (json_array_size(cfg->bootstrap_principals) == 0)
		return bpg_error_set(err, BPG_EINVALID, "bpgate.bootstrap is set but bpgate.bootstrapPrincipal names "
			"nobody: the server admin names who may create the policy branch");
	if (!principal || !bpg_strings_has(cfg->bootstrap_principals, principal))
		return bpg_error_set(err, BPG_EINVALID, "no policy yet: only the bootstrap principal (%s) may create the "
			"policy branch %s; %s may not", names, policy_ref, principal ? principal : "(an unknown pusher)");
	for (i = 0; i < ups->n; i++)
		if (strcmp(ups->v[i].name, policy_ref) == 0 && strspn(ups->v[i].new_hex, "0") != 40 &&
		    strspn(ups->v[i].old_hex, "0") == 40) /* created, never moved: the ref does not exist */
			policy_new = ups->v[i].new_hex;
	if (!policy_new)
		return bpg_error_set(err, BPG_EINVALID, "no policy yet: the first push must create the policy branch %s",
			policy_ref);
	for (i = 0; i < ups->n; i++) {
		const rcv_update *u = &ups->v[i];
		if (strcmp(u->name, policy_ref) == 0)
			continue;
		if (strncmp(u->name, "refs/heads/", 11) != 0)
			return bpg_error_set(err, BPG_EINVALID, "no policy yet: %s cannot be pushed with the policy branch "
				"(only branches; no tags, no refs/bpgate/ records)", u->name);
		if (strcmp(u->new_hex, policy_new) != 0)
			return bpg_error_set(err, BPG_EINVALID, "no policy yet: %s must point at the policy branch's commit "
				"%.12s (nothing else enters unjudged)", u->name, policy_new);
	}
	return 0;
}

int rcv_bootstrap_repository_id(git_repository *repo, const rcv_config *cfg, const char *policy_ref,
	const rcv_updates *ups, bpg_error *err)
{
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	bpg_buf data = BPG_BUF_INIT;
	json_t *j = NULL;
	const char *pushed;
	int rc = 0;

	if (!cfg->repository_id)
		return 0;
	for (size_t i = 0; i < ups->n; i++)
		if (strcmp(ups->v[i].name, policy_ref) == 0 && git_oid_fromstr(&id, ups->v[i].new_hex) == 0)
			goto found;
	return 0;
found:
	if (git_commit_lookup(&c, repo, &id) < 0 || git_commit_tree(&t, c) < 0 ||
	    git_tree_entry_bypath(&e, t, ".bpgate/policy.json") < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		goto done; /* nothing to compare: the policy is judged on its own later */
	if ((rc = bpg_git_blob_read(&data, repo, git_tree_entry_id(e), BPG_POLICY_FILE_MAX, ".bpgate/policy.json",
	    err)) < 0)
		goto done;
	j = json_loadb(data.ptr ? data.ptr : "", data.size, JSON_REJECT_DUPLICATES, NULL);
	pushed = json_string_value(json_object_get(j, "repository_id"));
	if (pushed && strcmp(pushed, cfg->repository_id) != 0)
		rc = bpg_error_set(err, BPG_EINVALID, "this policy is for repository %.64s, this repository is %s "
			"(bpgate.repositoryId): write repository_id %s into .bpgate/policy.json (bpgate init --repository-id %s)",
			pushed, cfg->repository_id, cfg->repository_id, cfg->repository_id);
done:
	git_error_clear();
	json_decref(j);
	bpg_buf_dispose(&data);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

int rcv_bootstrap_policy_loads(git_repository *repo, const char *policy_ref, const rcv_updates *ups, bpg_error *err)
{
	rcv_policy pol;
	git_oid id;

	for (size_t i = 0; i < ups->n; i++) {
		if (strcmp(ups->v[i].name, policy_ref) != 0 || git_oid_fromstr(&id, ups->v[i].new_hex) < 0)
			continue;
		if (rcv_policy_load_at(&pol, repo, &id, policy_ref, err) < 0) {
			char why[sizeof(err->message)];
			snprintf(why, sizeof(why), "%s", err->message);
			return bpg_error_set(err, BPG_EINVALID, "the bootstrap push must carry a policy the server can "
				"load, or no later push could get past it: %.700s (commit what bpgate init writes, check it "
				"with bpgate policy check, and push again)", why);
		}
		rcv_policy_free(&pol);
		return 0;
	}
	return bpg_error_set(err, BPG_EINVALID, "no policy yet: the first push must create the policy branch %s",
		policy_ref);
}

/* ---- policy from the policy ref ------------------------------------------ */

static int read_small(bpg_buf *out, git_repository *repo, const git_tree *t, const char *name)
{
	const git_tree_entry *e = git_tree_entry_byname(t, name);
	int rc;
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return BPG_ENOTFOUND;
	/* the size from the object header first */
	rc = bpg_git_blob_read(out, repo, git_tree_entry_id(e), BPG_ALLOWED_SIGNERS_MAX, name, NULL);
	git_error_clear();
	return rc == BPG_ETOOBIG || rc == BPG_ENOMEM ? rc : rc < 0 ? BPG_ENOTFOUND : 0;
}

int rcv_policy_load(rcv_policy *out, git_repository *repo, const char *policy_ref, bpg_error *err)
{
	git_oid id;
	int rc;

	memset(out, 0, sizeof(*out));
	/* BPG_ENOTFOUND means exactly "the ref does not exist": the only state bootstrap may act
	 * on (main.c). A ref that exists but cannot be read, or lacks .bpgate/, is another error. */
	if ((rc = git_reference_name_to_id(&id, repo, policy_ref)) < 0) {
		if (rc == GIT_ENOTFOUND) {
			git_error_clear();
			return bpg_error_set(err, BPG_ENOTFOUND, "the policy ref %s does not exist", policy_ref);
		}
		rc = bpg_error_set(err, BPG_ERROR, "cannot read the policy ref %s: %s", policy_ref,
			bpg_git_message());
		git_error_clear();
		return rc;
	}
	return rcv_policy_load_at(out, repo, &id, policy_ref, err);
}

int rcv_policy_load_at(rcv_policy *out, git_repository *repo, const git_oid *commit, const char *policy_ref,
	bpg_error *err)
{
	bpg_policy_files *files = NULL;
	bpg_diags *diags = NULL;
	git_commit *c = NULL;
	git_tree *bt = NULL;
	const git_tree_entry *e;
	bpg_buf data = BPG_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	out->commit = *commit;
	if (git_commit_lookup(&c, repo, &out->commit) < 0 || git_commit_tree(&out->tree, c) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot read the commit of the policy ref %s", policy_ref);
		goto done;
	}
	e = git_tree_entry_byname(out->tree, ".bpgate");
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s has no .bpgate/ folder: nothing to judge with", policy_ref);
		goto done;
	}
	if (git_tree_lookup(&bt, repo, git_tree_entry_id(e)) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot read .bpgate/ of the policy ref %s: %s", policy_ref,
			bpg_git_message());
		git_error_clear();
		goto done;
	}
	if ((rc = bpg_gather_policy_files(&files, repo, bt, err)) < 0) {
		if (rc == BPG_ENOTFOUND) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s has no .bpgate/policy.json", policy_ref);
		} else if (err) {
			char what[sizeof(err->message)];
			snprintf(what, sizeof(what), "%s", err->message);
			bpg_error_set(err, rc, "%.900s from the policy ref", what);
		}
		goto done;
	}
	if ((rc = bpg_policy_load(&out->policy, &diags, files, err)) < 0)
		goto done;
	if ((rc = read_small(&data, repo, bt, "allowed_signers")) == 0) {
		if ((rc = bpg_allowed_signers_parse(&out->signers, data.ptr ? data.ptr : "", data.size,
		    ".bpgate/allowed_signers", err)) < 0)
			goto done;
	} else if (rc != BPG_ENOTFOUND) {
		rc = bpg_error_set(err, rc, "cannot read .bpgate/allowed_signers");
		goto done;
	}
	bpg_buf_clear(&data);
	if ((rc = read_small(&data, repo, bt, "ignore")) == 0) {
		if ((rc = bpg_scan_ignore_parse((struct bpg_scan_ignore **)&out->scan_ignore, data.ptr ? data.ptr : "",
		    data.size, ".bpgate/ignore", err)) < 0)
			goto done;
	}
	rc = 0;
done:
	bpg_buf_dispose(&data);
	git_tree_free(bt);
	git_commit_free(c);
	bpg_diags_free(diags);
	bpg_policy_files_free(files);
	if (rc < 0)
		rcv_policy_free(out);
	return rc;
}

void rcv_policy_free(rcv_policy *p)
{
	bpg_policy_free(p->policy);
	bpg_allowed_signers_free(p->signers);
	bpg_scan_ignore_free(p->scan_ignore);
	git_tree_free(p->tree);
	memset(p, 0, sizeof(*p));
}

const char *rcv_env_for_ref(const bpg_policy *policy, const char *refname)
{
	return bpg_policy_env_for_ref(policy, refname); /* the engine's one definition */
}
