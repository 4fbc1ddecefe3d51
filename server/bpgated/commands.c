/*
 * Our own commands on the SSH connection (not git): whoami, help, and the
 * admin-only repo create / user add|remove|list; approve (approve.c, signed
 * by the monitor), status, pending and audit verify (run as `bpgate`).
 * Admin changes are audited before they are made: when the audit entry
 * cannot be written the change is refused and nothing is changed. Each
 * handler writes human text to out (stdout) or errout (stderr) and returns
 * the exit status for the channel.
 */
#include "bpgated.h"
#include "bpgate/approval.h"
#include "bpgate/jsonheap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

static int audit_admin(const bpgd_caller *who, const char *action, const char *target, bpg_error *err);

/* A message on a path that already refuses: the exit status carries the
 * refusal, so a message that cannot be stored (out of memory, over the
 * buffer's limit) is dropped, and that can never turn the refusal into success. */
static void refusal_msg(bpg_buf *errout, const char *fmt, ...) BPG_PRINTF(2, 3);
static void refusal_msg(bpg_buf *errout, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	BPG_IGNORE(bpg_buf_vprintf(errout, fmt, ap)); /* dropped when it cannot be stored: see above */
	va_end(ap);
}

static int cmd_whoami(const bpgd_caller *who, bpg_buf *out)
{
	if (bpg_buf_printf(out, "principal: %s\nadmin: %s\nkey: %s\n", who->principal,
		who->admin ? "yes" : "no", who->key_fp) < 0)
		return EXIT_USAGE; /* no answer rather than a cut one */
	return 0;
}

static int cmd_help(const bpgd_caller *who, bpg_buf *out)
{
	int rc = bpg_buf_puts(out,
		"bpgated commands (ssh <host> <command>):\n"
		"  whoami                                  who the server thinks you are\n"
		"  help                                    this text\n"
		"  git clone/fetch/push ssh://<host>/<repo>  served by git, gated on push\n"
		"  approve <repo> <rev> --for <env>        record your signed approval of rev's tree for env\n"
		"  status <repo> [<rev>]                   approvals of rev's tree, and where it is already\n"
		"  pending <repo>                          break-glass changes still awaiting approval\n"
		"  audit verify <repo>                     verify the audit log against its signed checkpoint\n"
		"  deploy <repo> --env <env> [--dry-run]   deploy the environment's branch to Make (deploy roles)\n"
		"  drift <repo> [--env <env>]              compare what runs in Make with the branch\n"
		"  disable <repo> <scenario> --env <env> --reason <ticket: text>   stop a scenario in Make now\n"
		"  enable <repo> <scenario> --env <env> --reason <ticket: text>    start it again\n");
	if (rc == 0 && who->admin)
		rc = bpg_buf_puts(out,
			"admin:\n"
			"  repo create <name>\n"
			"  user add <principal> [--admin] <keytype> <base64-key>\n"
			"  user remove <principal>\n"
			"  user list\n");
	return rc < 0 ? EXIT_USAGE : 0;
}

/* mkdir each missing parent of <root>/<name>.git without following symlinks. */
static int make_parents(int rootfd, const char *name, int *leaf_parent, const char **leaf, bpg_error *err)
{
	char *copy = strdup(name), *p, *slash;
	int fd = dup(rootfd), rc = 0;

	*leaf_parent = -1;
	if (!copy || fd < 0) {
		free(copy);
		if (fd >= 0)
			close(fd);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	p = copy;
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
			rc = bpg_error_set(err, BPG_EIO, "cannot create '%s': %s", p, strerror(errno));
			goto done;
		}
		int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "'%s' is not a plain directory under the root", p);
			goto done;
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*leaf = name + (size_t)(p - copy);
	*leaf_parent = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

static int cmd_repo_create(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	const bpgd_config *cfg = who->cfg;
	bpg_buf leafname = BPG_BUF_INIT, dir = BPG_BUF_INIT;
	bpg_error err;
	int rootfd = -1, parent = -1, status = 0, ret = EXIT_REFUSED;
	const char *leaf = NULL;
	char rid[33] = "";

	bpg_error_clear(&err);
	rootfd = open(cfg->repo_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		refusal_msg(errout, "bpgated: repository root unavailable\n");
		goto done;
	}
	/* Refuse what would fail before auditing it; then audit, then act (parents included). */
	{
		bpg_buf existing = BPG_BUF_INIT;
		int r = bpgd_repo_resolve(&existing, cfg->repo_root, cmd->repo, &err);
		bpg_buf_dispose(&existing);
		if (r == 0)
			bpg_error_set(&err, BPG_EINVALID, "repository '%s' already exists", cmd->repo);
		if (r != BPG_ENOTFOUND)
			goto fail;
		bpg_error_clear(&err);
	}
	if (audit_admin(who, "repo.create", cmd->repo, &err) < 0)
		goto fail;
	if (make_parents(rootfd, cmd->repo, &parent, &leaf, &err) < 0)
		goto fail;
	if (bpg_buf_printf(&leafname, "%s.git", leaf) < 0 ||
	    bpg_buf_printf(&dir, "%s/%s.git", cfg->repo_root, cmd->repo) < 0) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		goto fail;
	}
	/* mkdir is the claim: a second create of the same name fails here. */
	if (mkdirat(parent, leafname.ptr, 0755) < 0) {
		if (errno == EEXIST)
			bpg_error_set(&err, BPG_EINVALID, "repository '%s' already exists", cmd->repo);
		else
			bpg_error_set(&err, BPG_EIO, "cannot create '%s': %s", cmd->repo, strerror(errno));
		goto fail;
	}
	char *argv[] = { cfg->git, (char *)"init", (char *)"--bare", (char *)"--quiet",
		(char *)"--initial-branch=main", dir.ptr, NULL };
	if (bpgd_run(cfg, argv, &status, &err) < 0 || status != 0) {
		if (status > 0)
			bpg_error_set(&err, BPG_EIO, "git init failed (status %d); see the server log", status);
		goto fail;
	}
	/* What the gate needs from a repository of ours: push options and signed
	 * pushes on, its name, and bootstrap until the policy branch exists, by
	 * the creating admin only (the gate refuses any other bootstrap pusher). */
	{
		unsigned char seed[16];
		char hex[33];
		randombytes_buf(seed, sizeof(seed));
		bpg_hex_encode(hex, seed, sizeof(seed));
		/* the repository's unique id: approvals bind to it, so an approval of a
		 * namesake elsewhere (teamA/x, teamB/x) never counts here */
		if (bpg_repository_id_new(rid, &err) < 0)
			goto fail;
		const char *settings[][2] = { { "receive.advertisePushOptions", "true" },
			{ "receive.certNonceSeed", hex }, { "bpgate.repository", cmd->repo }, { "bpgate.repositoryId", rid },
			{ "bpgate.bootstrap", "true" }, { "bpgate.bootstrapPrincipal", who->principal } };
		for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
			bpg_buf gd = BPG_BUF_INIT;
			if (bpg_buf_printf(&gd, "--git-dir=%s", dir.ptr) < 0) {
				bpg_error_set(&err, BPG_ENOMEM, "out of memory");
				goto fail;
			}
			char *cargv[] = { cfg->git, gd.ptr, (char *)"config", (char *)settings[i][0],
				(char *)settings[i][1], NULL };
			int st = 0;
			int r = bpgd_run(cfg, cargv, &st, &err);
			bpg_buf_dispose(&gd);
			if (r < 0 || st != 0) {
				if (st > 0)
					bpg_error_set(&err, BPG_EIO, "git config %s failed", settings[i][0]);
				goto fail;
			}
		}
	}
	bpgd_log(BPGD_LOG_INFO, "repo.create", "principal=%s repo=%s repository_id=%s", who->principal, cmd->repo, rid);
	/* done and recorded (audited first); a report that cannot be written is still an error status */
	ret = bpg_buf_printf(out, "created %s (repository id %s: bpgate init --repository-id %s)\n", cmd->repo, rid, rid) < 0 ?
		EXIT_USAGE : 0;
	goto done;
fail:
	refusal_msg(errout, "bpgated: repo create: %s\n", err.message);
done:
	if (rootfd >= 0)
		close(rootfd);
	if (parent >= 0)
		close(parent);
	bpg_buf_dispose(&leafname);
	bpg_buf_dispose(&dir);
	return ret;
}

/* user add would succeed: the line parses and its key is not listed yet. */
static int precheck_add(const char *path, const char *principal, bool admin, const char *type, const char *b64,
	bpg_error *err)
{
	bpg_buf line = BPG_BUF_INIT;
	bpgd_keys keys, one;
	int rc;

	if ((rc = bpg_buf_printf(&line, "%s%s %s %s\n", principal, admin ? " admin" : "", type, b64)) < 0) {
		bpg_buf_dispose(&line);
		return bpg_error_set(err, rc, "out of memory");
	}
	rc = bpgd_keys_parse(&one, line.ptr, line.size, "the new key", err);
	bpg_buf_dispose(&line);
	if (rc < 0)
		return rc;
	if ((rc = bpgd_keys_load(&keys, path, err)) == 0) {
		const bpgd_keyent *e = bpgd_keys_find(&keys, one.ents[0].blob_b64);
		if (e)
			rc = bpg_error_set(err, BPG_EINVALID, "this key already belongs to principal '%s'", e->principal);
		bpgd_keys_release(&keys);
	}
	bpgd_keys_release(&one);
	return rc;
}

/* user remove would succeed: the principal has a key. */
static int precheck_remove(const char *path, const char *principal, bpg_error *err)
{
	bpgd_keys keys;
	size_t n = 0;
	int rc;

	if ((rc = bpgd_keys_load(&keys, path, err)) < 0)
		return rc;
	for (size_t i = 0; i < keys.count; i++)
		n += strcmp(keys.ents[i].principal, principal) == 0;
	bpgd_keys_release(&keys);
	return n ? 0 : bpg_error_set(err, BPG_ENOTFOUND, "no key of '%s' is listed", principal);
}

static int cmd_user(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	const bpgd_config *cfg = who->cfg;
	bpg_error err;
	const char *action = "user.list";

	bpg_error_clear(&err);
	if (cmd->kind == BPGD_CMD_USER_ADD) {
		bool admin = cmd->nargs == 4 && strcmp(cmd->args[1], "--admin") == 0;
		if (cmd->nargs == 4 && !admin) {
			refusal_msg(errout, "bpgated: usage: user add <principal> [--admin] <keytype> <base64-key>\n");
			return EXIT_USAGE;
		}
		action = "user.add";
		if (precheck_add(cfg->keys_file, cmd->args[0], admin, cmd->args[admin ? 2 : 1], cmd->args[admin ? 3 : 2],
		    &err) < 0 || audit_admin(who, action, cmd->args[0], &err) < 0)
			goto fail;
		if (bpgd_keys_add(cfg->keys_file, cmd->args[0], admin, cmd->args[admin ? 2 : 1],
			cmd->args[admin ? 3 : 2], &err) < 0)
			goto fail;
		if (bpg_buf_printf(out, "added a key for %s%s\n", cmd->args[0], admin ? " (admin)" : "") < 0)
			bpg_error_set(&err, BPG_ENOMEM, "out of memory"); /* done; the status says the report was lost */
	} else if (cmd->kind == BPGD_CMD_USER_REMOVE) {
		size_t n = 0;
		action = "user.remove";
		if (strcmp(cmd->args[0], who->principal) == 0) {
			refusal_msg(errout, "bpgated: user remove: refusing to remove yourself (ask another admin)\n");
			return EXIT_REFUSED;
		}
		if (precheck_remove(cfg->keys_file, cmd->args[0], &err) < 0 || audit_admin(who, action, cmd->args[0], &err) < 0)
			goto fail;
		if (bpgd_keys_remove(cfg->keys_file, cmd->args[0], &n, &err) < 0)
			goto fail;
		if (bpg_buf_printf(out, "removed %zu key%s of %s\n", n, n == 1 ? "" : "s", cmd->args[0]) < 0)
			bpg_error_set(&err, BPG_ENOMEM, "out of memory"); /* done; the status says the report was lost */
	} else {
		bpgd_keys keys;
		if (bpgd_keys_load(&keys, cfg->keys_file, &err) < 0)
			goto fail;
		int lrc = 0;
		for (size_t i = 0; i < keys.count && lrc == 0; i++)
			lrc = bpg_buf_printf(out, "%s%s %s\n", keys.ents[i].principal,
				keys.ents[i].admin ? " admin" : "", keys.ents[i].type);
		bpgd_keys_release(&keys);
		return lrc < 0 ? EXIT_USAGE : 0; /* never a list with users missing */
	}
	bpgd_log(BPGD_LOG_INFO, action, "principal=%s target=%s", who->principal, cmd->args[0]);
	return err.code == BPG_ENOMEM ? EXIT_USAGE : 0;
fail:
	refusal_msg(errout, "bpgated: %s: %s\n", action + 5, err.message);
	return err.code == BPG_EINVALID || err.code == BPG_ENOTFOUND || err.code == BPG_EIO ? EXIT_REFUSED : EXIT_USAGE;
}

/* A word the client sends that ends up in a tool's argv: never an option. */
static bool plain_word(const char *w)
{
	if (!w || !*w || w[0] == '-' || strlen(w) > 255)
		return false;
	for (const char *p = w; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._/^~@{}-", *p)))
			return false;
	return true;
}

/* Run `bpgate ARGS...` in the repository as the caller; its output is the answer. */
static int run_bpgate(const bpgd_caller *who, const bpgd_cmd *cmd, const char *const *args, size_t nargs,
	const char *input, bpg_buf *out, bpg_buf *errout)
{
	const bpgd_config *cfg = who->cfg;
	char *argv[16];
	bpg_buf dir = BPG_BUF_INIT;
	bpg_error err;
	int status = -1, ret = EXIT_USAGE;
	size_t n = 0;

	bpg_error_clear(&err);
	if (cmd->repo && bpgd_repo_resolve(&dir, cfg->repo_root, cmd->repo, &err) < 0) {
		refusal_msg(errout, "bpgated: %s\n", err.message);
		ret = EXIT_REFUSED;
		goto done;
	}
	argv[n++] = cfg->bpgate;
	for (size_t i = 0; i < nargs && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (bpgd_run_capture(cfg, argv, cmd->repo ? dir.ptr : NULL, who->principal, input, out, errout,
	    &status, &err) < 0) {
		refusal_msg(errout, "bpgated: %s\n", err.message);
		goto done;
	}
	ret = status == 0 ? 0 : status == 1 ? EXIT_REFUSED : EXIT_USAGE;
done:
	bpg_buf_dispose(&dir);
	return ret;
}

/* approve <repo> <rev> --for <env>: the identity is the key's principal; the
 * approval is signed by the monitor's approval key on the principal's behalf
 * (allowed_signers trusts that key for approvals: see the README). */
static int cmd_approve(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	if (cmd->nargs != 4 || strcmp(cmd->args[2], "--for") != 0 || !plain_word(cmd->args[1]) ||
	    !plain_word(cmd->args[3])) {
		refusal_msg(errout, "usage: approve <repo> <rev> --for <env>\n");
		return EXIT_USAGE;
	}
	return bpgd_approve_run(who, cmd->repo, cmd->args[1], cmd->args[3], out, errout);
}

static int cmd_status(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	const char *rev = cmd->nargs > 1 ? cmd->args[1] : "main";
	if (!plain_word(rev)) {
		refusal_msg(errout, "usage: status <repo> [<rev>]\n");
		return EXIT_USAGE;
	}
	const char *args[] = { "status", rev };
	return run_bpgate(who, cmd, args, 2, NULL, out, errout);
}

static int cmd_pending(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	const char *args[] = { "pending" };
	return run_bpgate(who, cmd, args, 1, NULL, out, errout);
}

static int cmd_audit_verify(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	const bpgd_config *cfg = who->cfg;
	bpg_buf vkey = BPG_BUF_INIT;
	int rc;

	if (!cfg->audit_log) {
		refusal_msg(errout, "bpgated: this server keeps no audit log (audit_log is not configured)\n");
		return EXIT_USAGE;
	}
	/* The verifier key beside the signing key (audit keygen writes both). */
	rc = bpg_buf_puts(&vkey, cfg->server_signing_key ? cfg->server_signing_key : "");
	if (rc == 0 && vkey.size > 5 && strcmp(vkey.ptr + vkey.size - 5, ".skey") == 0) {
		vkey.size -= 5;
		vkey.ptr[vkey.size] = '\0';
		rc = bpg_buf_puts(&vkey, ".vkey");
	}
	if (rc < 0) { /* never verify without the key */
		bpg_buf_dispose(&vkey);
		refusal_msg(errout, "bpgated: out of memory\n");
		return EXIT_USAGE;
	}
	const char *args[] = { "audit", "verify", "--log", cfg->audit_log, "--key", vkey.ptr };
	rc = run_bpgate(who, cmd, args, vkey.size ? 6 : 4, NULL, out, errout);
	bpg_buf_dispose(&vkey);
	return rc;
}

/* deploy <repo> --env <env> [--dry-run]: who may is the engine's answer, asked by
 * `bpgate make deploy` for the principal the key proved (BPGATE_USER). */
static int cmd_deploy(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	bool dry = cmd->nargs == 4 && strcmp(cmd->args[3], "--dry-run") == 0;
	if (strcmp(cmd->args[1], "--env") != 0 || !plain_word(cmd->args[2]) || (cmd->nargs == 4 && !dry)) {
		refusal_msg(errout, "usage: deploy <repo> --env <env> [--dry-run]\n");
		return EXIT_USAGE;
	}
	const char *args[] = { "make", "deploy", "--env", cmd->args[2], "--dry-run" };
	return run_bpgate(who, cmd, args, dry ? 5 : 4, NULL, out, errout);
}

static int cmd_drift(const bpgd_caller *who, const bpgd_cmd *cmd, bpg_buf *out, bpg_buf *errout)
{
	if (cmd->nargs == 2 || (cmd->nargs == 3 && (strcmp(cmd->args[1], "--env") != 0 || !plain_word(cmd->args[2])))) {
		refusal_msg(errout, "usage: drift <repo> [--env <env>]\n");
		return EXIT_USAGE;
	}
	const char *args[] = { "make", "drift", "--env", cmd->nargs == 3 ? cmd->args[2] : NULL };
	return run_bpgate(who, cmd, args, cmd->nargs == 3 ? 4 : 2, NULL, out, errout);
}

/* disable|enable <repo> <scenario> --env <env> --reason <words...>: the reason is
 * the remaining words (ssh joins the client's arguments with spaces). */
static int cmd_switch(const bpgd_caller *who, const bpgd_cmd *cmd, bool enable, bpg_buf *out, bpg_buf *errout)
{
	bpg_buf reason = BPG_BUF_INIT;
	int rc = 0;

	if (!plain_word(cmd->args[1]) || strcmp(cmd->args[2], "--env") != 0 || !plain_word(cmd->args[3]) ||
	    strcmp(cmd->args[4], "--reason") != 0) {
		refusal_msg(errout, "usage: %s <repo> <scenario> --env <env> --reason <TICKET-1: what happened>\n",
			enable ? "enable" : "disable");
		return EXIT_USAGE;
	}
	for (size_t i = 5; i < cmd->nargs && rc == 0; i++)
		rc = bpg_buf_printf(&reason, "%s%s", i > 5 ? " " : "", cmd->args[i]);
	if (rc < 0) {
		bpg_buf_dispose(&reason);
		refusal_msg(errout, "bpgated: out of memory\n");
		return EXIT_USAGE;
	}
	const char *args[] = { "make", enable ? "enable" : "disable", cmd->args[1], "--env", cmd->args[3], "--reason",
		reason.ptr };
	rc = run_bpgate(who, cmd, args, 7, NULL, out, errout);
	bpg_buf_dispose(&reason);
	return rc;
}

/* Admin actions are audit entries too, when the server keeps a log: written
 * BEFORE the change, which is refused (nothing changed) when it cannot be. */
static int audit_admin(const bpgd_caller *who, const char *action, const char *target, bpg_error *err)
{
	const bpgd_config *cfg = who->cfg;
	bpg_buf o = BPG_BUF_INIT, e = BPG_BUF_INIT;
	json_t *j;
	char *text;
	int status = -1, rc = 0;
	bpg_error rerr;

	if (!cfg->audit_log || !cfg->server_signing_key)
		return 0;
	bpg_error_clear(&rerr);
	j = json_pack("{s:s, s:s, s:s, s:I}", "type", action, "principal", who->principal, "target", target,
		"time", (json_int_t)time(NULL));
	text = j ? bpg_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *argv[] = { cfg->bpgate, (char *)"audit", (char *)"append", (char *)"--signing-key",
		cfg->server_signing_key, (char *)"--log", cfg->audit_log, NULL };
	if (!text || bpgd_run_capture(cfg, argv, NULL, who->principal, text, &o, &e, &status, &rerr) < 0 || status != 0) {
		bpgd_log(BPGD_LOG_WARN, "audit.unrecorded", "action=%s target=%s status=%d", action, target, status);
		rc = bpg_error_set(err, BPG_EIO, "refused: the audit log cannot record it (%s); nothing was changed",
			rerr.message[0] ? rerr.message : "bpgate audit append failed; see the server log");
	}
	free(text);
	json_decref(j);
	bpg_buf_dispose(&o);
	bpg_buf_dispose(&e);
	return rc;
}

int bpgd_command_run(const bpgd_cmd *cmd, const bpgd_caller *who, bpg_buf *out, bpg_buf *errout)
{
	switch (cmd->kind) {
	case BPGD_CMD_WHOAMI:
		return cmd_whoami(who, out);
	case BPGD_CMD_HELP:
		return cmd_help(who, out);
	case BPGD_CMD_REPO_CREATE:
	case BPGD_CMD_USER_ADD:
	case BPGD_CMD_USER_REMOVE:
	case BPGD_CMD_USER_LIST:
		if (!who->admin) {
			refusal_msg(errout, "bpgated: only admins may manage repositories and users (you are '%s')\n",
				who->principal);
			bpgd_log(BPGD_LOG_WARN, "admin.refused", "principal=%s", who->principal);
			return EXIT_REFUSED;
		}
		return cmd->kind == BPGD_CMD_REPO_CREATE ? cmd_repo_create(who, cmd, out, errout)
			: cmd_user(who, cmd, out, errout);
	case BPGD_CMD_APPROVE:
		return cmd_approve(who, cmd, out, errout);
	case BPGD_CMD_STATUS:
		return cmd_status(who, cmd, out, errout);
	case BPGD_CMD_PENDING:
		return cmd_pending(who, cmd, out, errout);
	case BPGD_CMD_AUDIT_VERIFY:
		return cmd_audit_verify(who, cmd, out, errout);
	case BPGD_CMD_DEPLOY:
		return cmd_deploy(who, cmd, out, errout);
	case BPGD_CMD_DRIFT:
		return cmd_drift(who, cmd, out, errout);
	case BPGD_CMD_DISABLE:
	case BPGD_CMD_ENABLE:
		return cmd_switch(who, cmd, cmd->kind == BPGD_CMD_ENABLE, out, errout);
	default:
		refusal_msg(errout, "bpgated: not one of our commands\n");
		return EXIT_USAGE;
	}
}
