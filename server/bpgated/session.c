/*
 * One SSH connection, served in its own forked process: key exchange,
 * authentication (auth.c), one session channel, one command, then exit.
 *
 * The loop is libssh's ssh_event: the session socket plus git's three pipes.
 * Flow control both ways: we read git's stdout/stderr only as far as the
 * client's window allows (and stop polling them while it is full), and we
 * queue at most BPGD_STDIN_CAP bytes for git's stdin, leaving the rest in
 * libssh's channel buffer (which keeps the client's window closed) until
 * git has drained the queue. The end follows the spec: all output sent,
 * then exit-status (or exit-signal), EOF, CLOSE, then wait for the client.
 */
#include "session.h"
#include "bpgate/testhook.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t g_terminate;

static void on_term(int sig)
{
	(void)sig;
	g_terminate = 1;
}

static void on_alarm(int sig)
{
	static const char msg[] = "bpgated: event=timeout.auth (no authenticated command in time)\n";
	(void)sig;
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	_exit(1);
}

static void touch(bpgd_conn *c)
{
	c->last_activity = time(NULL);
}

/* ---- client -> git ------------------------------------------------------ */

static void flush_to_child(bpgd_conn *c)
{
	while (c->to_child.size > 0 && !c->in_done) {
		ssize_t n = write(c->child.in_fd, c->to_child.ptr, c->to_child.size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* git closed its stdin: drop what is left */
			bpg_buf_clear(&c->to_child);
			c->in_done = true;
			return;
		}
		memmove(c->to_child.ptr, c->to_child.ptr + n, c->to_child.size - (size_t)n);
		c->to_child.size -= (size_t)n;
	}
	/* Closing happens in sync_fds(), after the fd has left the event. */
	if (c->to_child.size == 0 && c->client_eof && !c->stdin_stalled)
		c->in_done = true;
}

static int on_channel_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr, void *ud)
{
	bpgd_conn *c = ud;
	size_t room, take;

	(void)s;
	(void)ch;
	touch(c);
	if (is_stderr || !c->started || c->child.in_fd < 0 || c->in_done)
		return (int)len; /* nothing to feed: discard */
	room = BPGD_STDIN_CAP > c->to_child.size ? BPGD_STDIN_CAP - c->to_child.size : 0;
	take = len < room ? len : room;
	if (take && bpg_buf_put(&c->to_child, data, take) < 0)
		take = 0;
	c->stdin_stalled = take < len;
	flush_to_child(c);
	return (int)take;
}

/* Pull what we left in libssh's buffer once git has made room. */
static void unstall(bpgd_conn *c)
{
	char tmp[32768];

	while (c->stdin_stalled && !c->in_done && c->to_child.size < BPGD_STDIN_CAP / 2) {
		c->stdin_stalled = false;
		int n = ssh_channel_read_nonblocking(c->channel, tmp, sizeof(tmp), 0);
		if (n <= 0)
			break;
		if (bpg_buf_put(&c->to_child, tmp, (size_t)n) < 0)
			break;
		c->stdin_stalled = true; /* maybe more */
		flush_to_child(c);
	}
	flush_to_child(c);
}

static void on_channel_eof(ssh_session s, ssh_channel ch, void *ud)
{
	bpgd_conn *c = ud;
	(void)s;
	(void)ch;
	c->client_eof = true;
	touch(c);
	flush_to_child(c);
}

static void on_channel_close(ssh_session s, ssh_channel ch, void *ud)
{
	bpgd_conn *c = ud;
	(void)s;
	(void)ch;
	c->channel_closed = true;
	c->client_eof = true;
	c->stdin_stalled = false;
	bpg_buf_clear(&c->to_child);
	flush_to_child(c);
}

/* ---- requests on the channel -------------------------------------------- */

static int on_env(ssh_session s, ssh_channel ch, const char *name, const char *value, void *ud)
{
	bpgd_conn *c = ud;
	char en[64], ev[64];
	(void)s;
	(void)ch;
	if (++c->env_requests <= BPGD_MAX_ENV_REQUESTS && strcmp(name, "GIT_PROTOCOL") == 0 &&
	    bpgd_git_protocol_valid(value) && !c->started) {
		snprintf(c->git_protocol, sizeof(c->git_protocol), "%s", value);
		return 0;
	}
	bpgd_log(BPGD_LOG_DEBUG, "env.ignored", "name=\"%s\" value=\"%s\"", bpgd_esc(en, sizeof(en), name),
		bpgd_esc(ev, sizeof(ev), value));
	return 1;
}

static int on_exec(ssh_session s, ssh_channel ch, const char *command, void *ud)
{
	bpgd_conn *c = ud;
	(void)s;
	(void)ch;
	if (c->exec_seen)
		return 1;
	c->exec_seen = true;
	/* Accept, and act after libssh has sent the reply (see the loop). */
	c->exec_line = strdup(command);
	return c->exec_line ? 0 : 1;
}

static int refuse_pty(ssh_session s, ssh_channel ch, const char *term, int w, int h, int pw, int ph, void *ud)
{
	(void)s; (void)ch; (void)term; (void)w; (void)h; (void)pw; (void)ph; (void)ud;
	bpgd_log(BPGD_LOG_INFO, "request.refused", "request=pty-req");
	return -1;
}

static int refuse_shell(ssh_session s, ssh_channel ch, void *ud)
{
	(void)s; (void)ch; (void)ud;
	bpgd_log(BPGD_LOG_INFO, "request.refused", "request=shell");
	return 1;
}

static int refuse_subsystem(ssh_session s, ssh_channel ch, const char *sub, void *ud)
{
	char e[64];
	(void)s; (void)ch; (void)ud;
	bpgd_log(BPGD_LOG_INFO, "request.refused", "request=subsystem name=\"%s\"", bpgd_esc(e, sizeof(e), sub));
	return 1;
}

void bpgd_channel_setup(bpgd_conn *c, ssh_channel channel)
{
	memset(&c->chan_cb, 0, sizeof(c->chan_cb));
	c->chan_cb.userdata = c;
	c->chan_cb.channel_data_function = on_channel_data;
	c->chan_cb.channel_eof_function = on_channel_eof;
	c->chan_cb.channel_close_function = on_channel_close;
	c->chan_cb.channel_env_request_function = on_env;
	c->chan_cb.channel_exec_request_function = on_exec;
	c->chan_cb.channel_pty_request_function = refuse_pty;
	c->chan_cb.channel_shell_request_function = refuse_shell;
	c->chan_cb.channel_subsystem_request_function = refuse_subsystem;
	/* x11, agent forwarding, window-change: no callback, libssh refuses. */
	ssh_callbacks_init(&c->chan_cb);
	ssh_set_channel_callbacks(channel, &c->chan_cb);
}

/* ---- git -> client ------------------------------------------------------ */

static int pump_out(bpgd_conn *c, int which)
{
	int fd = which ? c->child.err_fd : c->child.out_fd;
	static char buf[256 * 1024]; /* one session per process; up to a quarter of git's pipe at a time */
	uint32_t win;
	size_t want;
	ssize_t n;

	if (c->channel_closed) {
		n = read(fd, buf, sizeof(buf)); /* nobody to tell: drain and drop */
		if (n == 0)
			c->out_open[which] = false;
		return 0;
	}
	win = ssh_channel_window_size(c->channel);
	if (win == 0) {
		c->out_paused[which] = true;
		return 0;
	}
	want = win < sizeof(buf) ? win : sizeof(buf);
	n = read(fd, buf, want);
	if (n > 0) {
		touch(c);
		int w = which ? ssh_channel_write_stderr(c->channel, buf, (uint32_t)n)
			: ssh_channel_write(c->channel, buf, (uint32_t)n);
		if (w == SSH_ERROR)
			c->channel_closed = true;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		c->out_open[which] = false;
	}
	return 0;
}

static int on_out(socket_t fd, int revents, void *ud)
{
	(void)fd;
	(void)revents;
	return pump_out(ud, 0);
}

static int on_err(socket_t fd, int revents, void *ud)
{
	(void)fd;
	(void)revents;
	return pump_out(ud, 1);
}

static int on_in(socket_t fd, int revents, void *ud)
{
	(void)fd;
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		bpgd_conn *c = ud;
		bpg_buf_clear(&c->to_child);
	}
	flush_to_child(ud);
	return 0;
}

/* Bring the event's fd set in line with what each pipe needs now. */
static void sync_fds(bpgd_conn *c)
{
	for (int w = 0; w < 2; w++) {
		int fd = w ? c->child.err_fd : c->child.out_fd;
		bool want = c->out_open[w];
		if (want && c->out_paused[w] && !c->channel_closed && ssh_channel_window_size(c->channel) > 0)
			c->out_paused[w] = false;
		want = want && !c->out_paused[w];
		if (want && !c->out_registered[w]) {
			ssh_event_add_fd(c->event, fd, POLLIN, w ? on_err : on_out, c);
			c->out_registered[w] = true;
		} else if (!want && c->out_registered[w]) {
			ssh_event_remove_fd(c->event, fd);
			c->out_registered[w] = false;
		}
		if (!c->out_open[w] && fd >= 0) {
			close(fd);
			if (w)
				c->child.err_fd = -1;
			else
				c->child.out_fd = -1;
		}
	}
	bool want_in = c->child.in_fd >= 0 && !c->in_done && c->to_child.size > 0;
	if (want_in && !c->in_registered) {
		ssh_event_add_fd(c->event, c->child.in_fd, POLLOUT, on_in, c);
		c->in_registered = true;
	} else if (!want_in && c->in_registered) {
		ssh_event_remove_fd(c->event, c->child.in_fd);
		c->in_registered = false;
	}
	if (c->in_done && c->child.in_fd >= 0) {
		close(c->child.in_fd);
		c->child.in_fd = -1;
	}
}

/* ---- the end of a command ------------------------------------------------ */

static void finish(bpgd_conn *c, int status, const char *signame)
{
	if (c->finished)
		return;
	c->finished = true;
	c->finish_deadline = time(NULL) + 5;
	if (c->channel_closed)
		return;
	if (signame)
		ssh_channel_request_send_exit_signal(c->channel, signame, 0, "", "");
	else
		ssh_channel_request_send_exit_status(c->channel, status);
	ssh_channel_send_eof(c->channel);
	ssh_channel_close(c->channel);
}

/* Refuse before any git protocol: a human line on stderr, status 1. */
static void refuse(bpgd_conn *c, const char *msg)
{
	if (!c->channel_closed) {
		ssh_channel_write_stderr(c->channel, msg, (uint32_t)strlen(msg));
		ssh_channel_write_stderr(c->channel, "\n", 1);
	}
	finish(c, 1, NULL);
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGTERM: return "TERM";
	case SIGKILL: return "KILL";
	case SIGSEGV: return "SEGV";
	case SIGABRT: return "ABRT";
	case SIGPIPE: return "PIPE";
	case SIGINT: return "INT";
	case SIGHUP: return "HUP";
	default: return "KILL";
	}
}

static void reap(bpgd_conn *c)
{
	int st;
	if (c->child.pid <= 0 || c->child_reaped)
		return;
	if (waitpid(c->child.pid, &st, WNOHANG) == c->child.pid) {
		c->child_reaped = true;
		c->child_status = st;
	}
	if (c->child_reaped && c->pidfd_registered) {
		ssh_event_remove_fd(c->event, c->child_pidfd);
		c->pidfd_registered = false;
	}
}

static int on_child_exit(socket_t fd, int revents, void *ud)
{
	(void)fd;
	(void)revents;
	reap(ud);
	return 0;
}

/* git closes its pipes a moment before it becomes reapable: without a pidfd
 * the loop would find it still running and sleep a poll timeout. */
static void watch_child(bpgd_conn *c)
{
#ifdef SYS_pidfd_open
	c->child_pidfd = (int)syscall(SYS_pidfd_open, c->child.pid, 0);
	if (c->child_pidfd >= 0 && ssh_event_add_fd(c->event, c->child_pidfd, POLLIN, on_child_exit, c) == SSH_OK)
		c->pidfd_registered = true;
#endif
}

static void maybe_finish_git(bpgd_conn *c)
{
	if (c->child.pid <= 0 || c->finished || !c->child_reaped || c->out_open[0] || c->out_open[1])
		return;
	int st = c->child_status;
	bpg_test_point("daemon-git-exited");
	if (WIFSIGNALED(st)) {
		bpgd_log(BPGD_LOG_WARN, "git.signal", "signal=%d", WTERMSIG(st));
		finish(c, 0, signal_name(WTERMSIG(st)));
	} else {
		bpgd_log(BPGD_LOG_INFO, "git.exit", "status=%d", WEXITSTATUS(st));
		finish(c, WEXITSTATUS(st), NULL);
	}
}

/* ---- acting on the exec request ------------------------------------------ */

static void start_git(bpgd_conn *c, const bpgd_cmd *cmd)
{
	bpg_buf dir = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	bpg_error err;
	bpgd_child_ident id = { c->principal, c->key_fp, c->remote, cmd->repo,
		c->git_protocol[0] ? c->git_protocol : NULL };

	bpg_error_clear(&err);
	bpg_test_point("daemon-exec"); /* test builds: where a test may kill the daemon */
	if (bpgd_repo_resolve(&dir, c->cfg->repo_root, cmd->repo, &err) < 0 ||
	    bpgd_spawn_git(&c->child, c->cfg, cmd->kind, dir.ptr, &id, &err) < 0) {
		bpgd_log(BPGD_LOG_INFO, "exec.refused", "principal=%s repo=%s reason=\"%s\"", c->principal, cmd->repo,
			err.message);
		refuse(c, bpg_buf_printf(&msg, "bpgated: %s", err.message) < 0 ? "bpgated: refused" : msg.ptr);
		goto done;
	}
	bpgd_log(BPGD_LOG_INFO, "git.start", "principal=%s repo=%s verb=%s pid=%ld protocol=%s", c->principal,
		cmd->repo, cmd->kind == BPGD_CMD_RECEIVE_PACK ? "receive-pack" :
		cmd->kind == BPGD_CMD_UPLOAD_PACK ? "upload-pack" : "upload-archive",
		(long)c->child.pid, c->git_protocol[0] ? c->git_protocol : "-");
	c->out_open[0] = c->out_open[1] = true;
	watch_child(c);
	if (c->client_eof && c->to_child.size == 0)
		c->in_done = true;
done:
	bpg_buf_dispose(&dir);
	bpg_buf_dispose(&msg);
}

static void run_own(bpgd_conn *c, const bpgd_cmd *cmd)
{
	bpg_buf out = BPG_BUF_INIT, errout = BPG_BUF_INIT;
	bpgd_caller who = { c->cfg, c->principal, c->admin, c->key_fp, c->parent_fd };
	int status = bpgd_command_run(cmd, &who, &out, &errout);

	bpgd_log(BPGD_LOG_INFO, "command", "principal=%s kind=%d status=%d", c->principal, (int)cmd->kind, status);
	/* Small outputs: a blocking write is fine (it waits for the window). */
	if (out.size)
		ssh_channel_write(c->channel, out.ptr, (uint32_t)out.size);
	if (errout.size)
		ssh_channel_write_stderr(c->channel, errout.ptr, (uint32_t)errout.size);
	finish(c, status, NULL);
	bpg_buf_dispose(&out);
	bpg_buf_dispose(&errout);
}

static void act_on_exec(bpgd_conn *c)
{
	bpgd_cmd cmd;
	bpg_error err;
	char line[200];
	bpg_buf msg = BPG_BUF_INIT;

	alarm(0); /* authenticated and asked for something: the auth deadline is met */
	c->started = true;
	bpg_error_clear(&err);
	bpgd_log(BPGD_LOG_INFO, "exec", "principal=%s command=\"%s\"", c->principal,
		bpgd_esc(line, sizeof(line), c->exec_line));
	if (c->over_limit) {
		refuse(c, bpg_buf_printf(&msg, "bpgated: too many connections for '%s' (limit %d); try again later",
			c->principal, c->cfg->limits.max_per_principal) < 0 ? "bpgated: refused" : msg.ptr);
		goto done;
	}
	if (g_terminate) {
		refuse(c, "bpgated: the server is shutting down; try again shortly");
		goto done;
	}
	if (bpgd_cmd_parse(&cmd, c->exec_line, (size_t)c->cfg->limits.max_command_length, &err) < 0) {
		bpgd_log(BPGD_LOG_INFO, "exec.refused", "principal=%s reason=\"%s\"", c->principal, err.message);
		refuse(c, bpg_buf_printf(&msg, "bpgated: %s", err.message) < 0 ? "bpgated: refused" : msg.ptr);
		goto done;
	}
	if (cmd.kind == BPGD_CMD_RECEIVE_PACK || cmd.kind == BPGD_CMD_UPLOAD_PACK ||
	    cmd.kind == BPGD_CMD_UPLOAD_ARCHIVE)
		start_git(c, &cmd);
	else
		run_own(c, &cmd);
	bpgd_cmd_release(&cmd);
done:
	free(c->exec_line);
	c->exec_line = NULL;
	bpg_buf_dispose(&msg);
}

/* ---- the loop -------------------------------------------------------------- */

static bool idle_expired(bpgd_conn *c)
{
	if (time(NULL) - c->last_activity < c->cfg->limits.idle_timeout)
		return false;
	bpgd_log(BPGD_LOG_INFO, "timeout.idle", "principal=%s seconds=%d", c->principal[0] ? c->principal : "-",
		c->cfg->limits.idle_timeout);
	if (c->child.pid > 0 && !c->child_reaped)
		kill(c->child.pid, SIGTERM);
	if (c->channel && !c->finished)
		refuse(c, "bpgated: idle timeout");
	return true;
}

static void serve_loop(bpgd_conn *c)
{
	for (;;) {
		int timeout = 1000;
		if (c->child.pid > 0 && !c->child_reaped && !c->out_open[0] && !c->out_open[1] && !c->pidfd_registered)
			timeout = 10; /* output done, waiting to reap (no pidfd to wake us) */
		if (c->stdin_stalled || c->out_paused[0] || c->out_paused[1])
			timeout = 50;
		if (ssh_event_dopoll(c->event, timeout) == SSH_ERROR && !ssh_is_connected(c->session))
			break;
		if (c->exec_line && c->channel)
			act_on_exec(c);
		if (c->child.pid > 0) {
			unstall(c);
			if (!c->pidfd_registered)
				reap(c); /* with a pidfd, on_child_exit reaps when git has exited */
			sync_fds(c);
			maybe_finish_git(c);
		}
		if (c->finished && (c->channel_closed || time(NULL) > c->finish_deadline ||
		    !ssh_is_connected(c->session)))
			break;
		if (!ssh_is_connected(c->session) && (c->child.pid <= 0 || c->child_reaped))
			break;
		if (g_terminate && !c->started)
			break; /* shutting down: idle connections go, running commands finish */
		if (idle_expired(c))
			break;
	}
}

static void teardown(bpgd_conn *c)
{
	for (int w = 0; w < 2; w++)
		if (c->out_registered[w])
			ssh_event_remove_fd(c->event, w ? c->child.err_fd : c->child.out_fd);
	if (c->in_registered)
		ssh_event_remove_fd(c->event, c->child.in_fd);
	if (c->pidfd_registered)
		ssh_event_remove_fd(c->event, c->child_pidfd);
	if (c->child_pidfd >= 0)
		close(c->child_pidfd);
	if (c->child.in_fd >= 0)
		close(c->child.in_fd);
	if (c->child.out_fd >= 0)
		close(c->child.out_fd);
	if (c->child.err_fd >= 0)
		close(c->child.err_fd);
	if (c->child.pid > 0 && !c->child_reaped) {
		/* The client went away mid-command: give git a moment, then stop it. */
		for (int i = 0; i < 100 && waitpid(c->child.pid, NULL, WNOHANG) == 0; i++)
			usleep(50000);
		if (kill(c->child.pid, SIGKILL) == 0)
			waitpid(c->child.pid, NULL, 0);
	}
	if (c->event) {
		ssh_event_remove_session(c->event, c->session);
		ssh_event_free(c->event);
	}
	if (c->channel)
		ssh_channel_free(c->channel);
	ssh_disconnect(c->session);
	ssh_free(c->session);
	bpgd_keys_release(&c->keys);
	bpg_buf_dispose(&c->to_child);
	free(c->exec_line);
}

void bpgd_session_serve(const bpgd_config *cfg, bpgd_ssh_session session, int parent_fd,
	const char *remote)
{
	struct ssh_server_callbacks_struct server_cb;
	struct sigaction sa;
	bpgd_conn c;
	bpg_error err;
	int code = 0;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.session = session;
	c.parent_fd = parent_fd;
	c.child.pid = -1;
	c.child_pidfd = -1;
	c.child.in_fd = c.child.out_fd = c.child.err_fd = -1;
	c.to_child.max = BPGD_STDIN_CAP + 65536;
	snprintf(c.remote, sizeof(c.remote), "%s", remote);
	touch(&c);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm((unsigned)cfg->limits.auth_timeout);

	/* Read the keys fresh for every connection: user add/remove take effect at once. */
	bpg_error_clear(&err);
	if (bpgd_keys_load(&c.keys, cfg->keys_file, &err) < 0) {
		bpgd_log(BPGD_LOG_ERR, "keys.unreadable", "error=\"%s\"", err.message);
		code = 1;
		goto done;
	}
	bpgd_auth_setup(&c, &server_cb);
	if (ssh_handle_key_exchange(session) != SSH_OK) {
		char e[160];
		bpgd_log(BPGD_LOG_INFO, "kex.failed", "remote=%s error=\"%s\"", c.remote,
			bpgd_esc(e, sizeof(e), ssh_get_error(session)));
		code = 1;
		goto done;
	}
	ssh_set_auth_methods(session, SSH_AUTH_METHOD_PUBLICKEY);
	c.event = ssh_event_new();
	if (!c.event || ssh_event_add_session(c.event, session) != SSH_OK) {
		code = 1;
		goto done;
	}
	serve_loop(&c);
done:
	teardown(&c);
	close(parent_fd);
	ssh_finalize();
	_exit(code);
}
