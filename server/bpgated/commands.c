/*
 * Our own commands on the SSH connection (not git): whoami, help, and the
 * admin-only repo create / user add|remove|list. approve, status, pending
 * and audit verify need engine modules (sshsig approvals, policy, audit)
 * that this build does not link yet: they answer so, with exit status 2,
 * instead of pretending. Each handler writes human text to out (stdout) or
 * errout (stderr) and returns the exit status for the channel.
 */
#include "bpgated.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

static int cmd_whoami(const bpgd_caller *who, bpg_buf *out)
{
	bpg_buf_printf(out, "principal: %s\nadmin: %s\nkey: %s\n", who->principal,
		who->admin ? "yes" : "no", who->key_fp);
	return 0;
}

static int cmd_help(const bpgd_caller *who, bpg_buf *out)
{
	bpg_buf_puts(out,
		"bpgated commands (ssh <host> <command>):\n"
		"  whoami                                  who the server thinks you are\n"
		"  help                                    this text\n"
		"  git clone/fetch/push ssh://<host>/<repo>  served by git, gated on push\n"
		"  approve <repo> <rev> --for <env>        not available in this build\n"
		"  status <repo> [<rev>]                   not available in this build\n"
		"  pending <repo>                          not available in this build\n"
		"  audit verify <repo>                     not available in this build\n");
	if (who->admin)
		bpg_buf_puts(out,
			"admin:\n"
			"  repo create <name>\n"
			"  user add <principal> [--admin] <keytype> <base64-key>\n"
			"  user remove <principal>\n"
			"  user list\n");
	return 0;
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

	bpg_error_clear(&err);
	rootfd = open(cfg->repo_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		bpg_buf_printf(errout, "bpgated: repository root unavailable\n");
		goto done;
	}
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
	bpg_buf_printf(out, "created %s\n", cmd->repo);
	bpgd_log(BPGD_LOG_INFO, "repo.create", "principal=%s repo=%s", who->principal, cmd->repo);
	/* The audit module is not linked into this build yet. */
	bpgd_log(BPGD_LOG_WARN, "audit.unrecorded", "action=repo.create repo=%s reason=\"audit module not in this build\"", cmd->repo);
	ret = 0;
	goto done;
fail:
	bpg_buf_printf(errout, "bpgated: repo create: %s\n", err.message);
done:
	if (rootfd >= 0)
		close(rootfd);
	if (parent >= 0)
		close(parent);
	bpg_buf_dispose(&leafname);
	bpg_buf_dispose(&dir);
	return ret;
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
			bpg_buf_puts(errout, "bpgated: usage: user add <principal> [--admin] <keytype> <base64-key>\n");
			return EXIT_USAGE;
		}
		action = "user.add";
		if (bpgd_keys_add(cfg->keys_file, cmd->args[0], admin, cmd->args[admin ? 2 : 1],
			cmd->args[admin ? 3 : 2], &err) < 0)
			goto fail;
		bpg_buf_printf(out, "added a key for %s%s\n", cmd->args[0], admin ? " (admin)" : "");
	} else if (cmd->kind == BPGD_CMD_USER_REMOVE) {
		size_t n = 0;
		action = "user.remove";
		if (strcmp(cmd->args[0], who->principal) == 0) {
			bpg_buf_puts(errout, "bpgated: user remove: refusing to remove yourself (ask another admin)\n");
			return EXIT_REFUSED;
		}
		if (bpgd_keys_remove(cfg->keys_file, cmd->args[0], &n, &err) < 0)
			goto fail;
		bpg_buf_printf(out, "removed %zu key%s of %s\n", n, n == 1 ? "" : "s", cmd->args[0]);
	} else {
		bpgd_keys keys;
		if (bpgd_keys_load(&keys, cfg->keys_file, &err) < 0)
			goto fail;
		for (size_t i = 0; i < keys.count; i++)
			bpg_buf_printf(out, "%s%s %s\n", keys.ents[i].principal,
				keys.ents[i].admin ? " admin" : "", keys.ents[i].type);
		bpgd_keys_release(&keys);
		return 0;
	}
	bpgd_log(BPGD_LOG_INFO, action, "principal=%s target=%s", who->principal, cmd->args[0]);
	bpgd_log(BPGD_LOG_WARN, "audit.unrecorded", "action=%s target=%s reason=\"audit module not in this build\"",
		action, cmd->args[0]);
	return 0;
fail:
	bpg_buf_printf(errout, "bpgated: %s: %s\n", action + 5, err.message);
	return err.code == BPG_EINVALID || err.code == BPG_ENOTFOUND ? EXIT_REFUSED : EXIT_USAGE;
}

static int not_available(const char *what, const char *module, bpg_buf *errout)
{
	bpg_buf_printf(errout, "bpgated: '%s' is not available in this build (needs the %s module, not linked yet)\n",
		what, module);
	return EXIT_USAGE;
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
			bpg_buf_printf(errout, "bpgated: only admins may manage repositories and users (you are '%s')\n",
				who->principal);
			bpgd_log(BPGD_LOG_WARN, "admin.refused", "principal=%s", who->principal);
			return EXIT_REFUSED;
		}
		return cmd->kind == BPGD_CMD_REPO_CREATE ? cmd_repo_create(who, cmd, out, errout)
			: cmd_user(who, cmd, out, errout);
	case BPGD_CMD_APPROVE:
		return not_available("approve", "sshsig approvals", errout);
	case BPGD_CMD_STATUS:
		return not_available("status", "policy engine", errout);
	case BPGD_CMD_PENDING:
		return not_available("pending", "policy engine", errout);
	case BPGD_CMD_AUDIT_VERIFY:
		return not_available("audit verify", "audit", errout);
	default:
		bpg_buf_puts(errout, "bpgated: not one of our commands\n");
		return EXIT_USAGE;
	}
}
