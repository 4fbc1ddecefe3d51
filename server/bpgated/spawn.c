/*
 * Starting the real git programs: posix_spawn with an argv (never a shell)
 * and an environment built from nothing.
 *
 * The gate is wired through `git -c core.hooksPath=<hooks_dir>`: a
 * command-line setting beats anything in the repository's own config, so
 * nobody with write access to a repository can swap the pre-receive hook.
 * <hooks_dir>/pre-receive and post-receive are small scripts the daemon
 * rewrites at start: they exec the configured gate (bpgate-receive by
 * default) with the daemon's audit log and signing key. Without an audit
 * log pre-receive is a symbolic link to the gate; with "post_receive": false
 * there is no post-receive.
 */
#include "bpgated.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_MAX 16
#define BPGD_PIPE_SIZE (1 << 20)

typedef struct {
	char *vars[ENV_MAX + 1];
	size_t n;
} child_env;

static int env_add(child_env *e, const char *name, const char *value)
{
	bpg_buf b = BPG_BUF_INIT;

	if (!value || e->n == ENV_MAX)
		return 0;
	if (bpg_buf_printf(&b, "%s=%s", name, value) < 0)
		return BPG_ENOMEM;
	e->vars[e->n++] = bpg_buf_detach(&b);
	return 0;
}

static void env_release(child_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->vars[i]);
	e->n = 0;
}

static int env_build(child_env *e, const bpgd_config *cfg, const bpgd_child_ident *id,
	const char *repo_dir)
{
	int rc = 0;

	memset(e, 0, sizeof(*e));
	rc |= env_add(e, "PATH", cfg->child_path);
	rc |= env_add(e, "HOME", cfg->child_home);
	rc |= env_add(e, "LANG", "C.UTF-8");
	if (id) {
		rc |= env_add(e, "BPGATE_USER", id->principal);
		rc |= env_add(e, "BPGATE_KEY_FINGERPRINT", id->key_fp);
		rc |= env_add(e, "BPGATE_REMOTE", id->remote);
		rc |= env_add(e, "BPGATE_REPO", id->repo_name);
		rc |= env_add(e, "GIT_PROTOCOL", id->git_protocol);
	}
	rc |= env_add(e, "BPGATE_REPO_DIR", repo_dir);
	rc |= env_add(e, "BPGATE_SERVER_KEY", cfg->server_signing_key);
	rc |= env_add(e, "BPGATE_AUDIT_LOG", cfg->audit_log);
	rc |= env_add(e, "BPGATE_DAEMON_CONFIG", cfg->path);
	return rc ? BPG_ENOMEM : 0;
}

static const char *git_verb(bpgd_cmd_kind kind)
{
	switch (kind) {
	case BPGD_CMD_RECEIVE_PACK: return "receive-pack";
	case BPGD_CMD_UPLOAD_PACK: return "upload-pack";
	case BPGD_CMD_UPLOAD_ARCHIVE: return "upload-archive";
	default: return NULL;
	}
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

int bpgd_spawn_git(bpgd_child *out, const bpgd_config *cfg, bpgd_cmd_kind kind,
	const char *repo_dir, const bpgd_child_ident *id, bpg_error *err)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 }, rc = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bpg_buf hooks = BPG_BUF_INIT;
	child_env env;
	sigset_t none, dfl;
	const char *verb = git_verb(kind);

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->in_fd = out->out_fd = out->err_fd = -1;
	if (!verb)
		return bpg_error_set(err, BPG_EINVALID, "not a git command");
	if (env_build(&env, cfg, id, repo_dir) < 0 ||
	    bpg_buf_printf(&hooks, "core.hooksPath=%s", cfg->hooks_dir) < 0) {
		env_release(&env);
		bpg_buf_dispose(&hooks);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* git's pack streams: with the default 64 KiB pipe git stalls whenever we are
	 * busy encrypting the previous chunk. A larger pipe is an optimisation only:
	 * the kernel may refuse it (pipe-max-size, per-user limits) and we go on. */
	(void)fcntl(o[0], F_SETPIPE_SZ, BPGD_PIPE_SIZE);
	(void)fcntl(in[1], F_SETPIPE_SZ, BPGD_PIPE_SIZE);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGALRM);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	{
		/* the gate's indexes of its records (server/receive/recindex.c) are the server's: neither
		 * advertised (up to three refs per record) nor pushable; the records themselves stay
		 * fetchable (bpgate rollback reads them) */
		char *argv[] = { (char *)"git", (char *)"-c", hooks.ptr,
			(char *)"-c", (char *)"transfer.hideRefs=refs/bpgate/tips",
			(char *)"-c", (char *)"transfer.hideRefs=refs/bpgate/released",
			(char *)"-c", (char *)"transfer.hideRefs=refs/bpgate/break-glass",
			(char *)"-c", (char *)"transfer.hideRefs=refs/bpgate/records-indexed",
			(char *)verb, (char *)repo_dir, NULL };
		int src = posix_spawn(&out->pid, cfg->git, &fa, &attr, argv, env.vars);
		if (src != 0) {
			out->pid = -1;
			rc = bpg_error_set(err, BPG_EIO, "cannot start %s: %s", cfg->git, strerror(src));
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc < 0)
		goto fail;
	close(in[0]);
	close(o[1]);
	close(e[1]);
	out->in_fd = in[1];
	out->out_fd = o[0];
	out->err_fd = e[0];
	fcntl(out->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(out->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(out->err_fd, F_SETFL, O_NONBLOCK);
	env_release(&env);
	bpg_buf_dispose(&hooks);
	return 0;
fail:
	close_pair(in);
	close_pair(o);
	close_pair(e);
	env_release(&env);
	bpg_buf_dispose(&hooks);
	return rc;
}

int bpgd_run(const bpgd_config *cfg, char *const argv[], int *status, bpg_error *err)
{
	child_env env;
	pid_t pid;
	int src, st = 0;
	posix_spawn_file_actions_t fa;

	*status = -1;
	if (env_build(&env, cfg, NULL, NULL) < 0) {
		env_release(&env);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	/* Output goes to the daemon's log, never to the client. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	src = posix_spawn(&pid, argv[0], &fa, NULL, argv, env.vars);
	posix_spawn_file_actions_destroy(&fa);
	env_release(&env);
	if (src != 0)
		return bpg_error_set(err, BPG_EIO, "cannot start %s: %s", argv[0], strerror(src));
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return bpg_error_set(err, BPG_EIO, "waitpid: %s", strerror(errno));
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}

/* Single-quote a path for a POSIX shell script; paths with a quote are refused. */
static int sh_quote(bpg_buf *out, const char *s)
{
	if (strchr(s, '\'') || strchr(s, '\n'))
		return BPG_EINVALID;
	return bpg_buf_printf(out, "'%s'", s);
}

/* One hook script: exec the gate with the daemon's settings (the audit log
 * and its key), as pre-receive or as post-receive. */
static int write_hook(const bpgd_config *cfg, const char *name, bool post, bpg_error *err)
{
	bpg_buf script = BPG_BUF_INIT, path = BPG_BUF_INIT;
	int rc = 0, mem = 0; /* mem: a write to the script failed (a hook missing a word is refused) */

	mem |= bpg_buf_puts(&script, "#!/bin/sh\n# written by bpgated at start: the gate with the daemon's settings\nexec ");
	rc |= sh_quote(&script, cfg->pre_receive_hook);
	if (post)
		mem |= bpg_buf_puts(&script, " --post-receive");
	if (cfg->audit_log && cfg->server_signing_key) {
		mem |= bpg_buf_puts(&script, " --audit-dir ");
		rc |= sh_quote(&script, cfg->audit_log);
		mem |= bpg_buf_puts(&script, " --audit-key ");
		rc |= sh_quote(&script, cfg->server_signing_key);
	}
	mem |= bpg_buf_puts(&script, " \"$@\"\n");
	if (mem != 0 || (rc != 0 && rc != BPG_EINVALID)) {
		rc = bpg_error_set(err, BPG_ENOMEM, "cannot write the %s hook script: out of memory", name);
		goto done;
	}
	if (rc != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "the gate, audit log and key paths must not contain a quote or newline");
		goto done;
	}
	if (bpg_buf_printf(&path, "%s/%s", cfg->hooks_dir, name) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "cannot write the %s hook script: out of memory", name);
		goto done;
	}
	if (bpg_file_write_atomic(path.ptr, script.ptr, script.size, 0755, err) < 0)
		rc = err->code;
done:
	bpg_buf_dispose(&script);
	bpg_buf_dispose(&path);
	return rc;
}

/* A pre-receive that needs no arguments is a symbolic link to the gate: git
 * runs the gate itself, one exec fewer than a script per push. Replaced
 * atomically (link beside, then rename over). */
static int link_hook(const bpgd_config *cfg, const char *name, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, tmp = BPG_BUF_INIT;
	int rc = 0;

	if (bpg_buf_printf(&path, "%s/%s", cfg->hooks_dir, name) < 0 ||
	    bpg_buf_printf(&tmp, "%s/.%s.%ld", cfg->hooks_dir, name, (long)getpid()) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "cannot write the %s hook: out of memory", name);
		goto done;
	}
	(void)unlink(tmp.ptr);
	if (symlink(cfg->pre_receive_hook, tmp.ptr) < 0 || rename(tmp.ptr, path.ptr) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot link the %s hook to %s: %s", cfg->hooks_dir, name,
			cfg->pre_receive_hook, strerror(errno));
		(void)unlink(tmp.ptr);
	}
done:
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&tmp);
	return rc;
}

int bpgd_hooks_install(const bpgd_config *cfg, bpg_error *err)
{
	bool plain = !(cfg->audit_log && cfg->server_signing_key); /* the gate needs no arguments */
	bpg_buf post = BPG_BUF_INIT;
	int rc = 0;

	if (mkdir(cfg->hooks_dir, 0755) < 0 && errno != EEXIST)
		return bpg_error_set(err, BPG_EIO, "%s: cannot create: %s", cfg->hooks_dir, strerror(errno));
	if ((plain ? link_hook(cfg, "pre-receive", err) : write_hook(cfg, "pre-receive", false, err)) < 0)
		return err->code ? err->code : BPG_EIO;
	if (cfg->post_receive) {
		if (write_hook(cfg, "post-receive", true, err) < 0)
			return err->code ? err->code : BPG_EIO;
		return 0;
	}
	/* "post_receive": false: a hook left by an earlier start must not run. */
	if (bpg_buf_printf(&post, "%s/post-receive", cfg->hooks_dir) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	else if (unlink(post.ptr) < 0 && errno != ENOENT)
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot remove (\"post_receive\": false): %s", post.ptr, strerror(errno));
	bpg_buf_dispose(&post);
	return rc;
}

/* Drain a child's stdout and stderr into bounded buffers without deadlock. */
static int drain(int ofd, int efd, bpg_buf *out, bpg_buf *errout)
{
	struct pollfd pf[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
	char chunk[8192];
	int open_fds = 2, rc = 0;

	while (open_fds > 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			bpg_buf *dst = i == 0 ? out : errout;
			if (dst->size < BPGD_CAPTURE_MAX && bpg_buf_put(dst, chunk, (size_t)n) < 0)
				rc = -1; /* keep draining so the child never blocks; report after */
		}
	}
	return rc;
}

int bpgd_run_capture(const bpgd_config *cfg, char *const argv[], const char *git_dir,
	const char *principal, const char *input, bpg_buf *out, bpg_buf *errout, int *status, bpg_error *err)
{
	child_env env;
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 }, src, st = 0, rc = 0;
	pid_t pid;

	*status = -1;
	if (env_build(&env, cfg, NULL, git_dir) < 0 || env_add(&env, "GIT_DIR", git_dir) < 0 ||
	    env_add(&env, "BPGATE_USER", principal) < 0) {
		env_release(&env);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "pipe: %s", strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	/* Tools find the repository from their working directory, as git does. */
	if (git_dir)
		posix_spawn_file_actions_addchdir_np(&fa, git_dir);
	src = posix_spawn(&pid, argv[0], &fa, NULL, argv, env.vars);
	posix_spawn_file_actions_destroy(&fa);
	if (src != 0) {
		rc = bpg_error_set(err, BPG_EIO, "cannot start %s: %s", argv[0], strerror(src));
		goto done;
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	in[0] = o[1] = e[1] = -1;
	/* Inputs are small (one JSON entry); write it all, then EOF. */
	if (input) {
		size_t left = strlen(input);
		const char *p = input;
		while (left > 0) {
			ssize_t n = write(in[1], p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
	}
	close(in[1]);
	in[1] = -1;
	int drc = drain(o[0], e[0], out, errout);
	o[0] = e[0] = -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			break;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (drc < 0)
		rc = bpg_error_set(err, BPG_EIO, "cannot capture the output of %s", argv[0]);
done:
	close_pair(in);
	close_pair(o);
	close_pair(e);
	env_release(&env);
	return rc;
}
