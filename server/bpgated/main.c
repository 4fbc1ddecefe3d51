/*
 * bpgated: the parent. It loads the config, makes sure the host key and the
 * gate link exist, listens, and then only accepts, forks, counts and reaps.
 * It never parses a byte from a client: each connection is served by its
 * own child (session.c). A child may ask the parent (the monitor) two
 * things: "C <principal>\n" (may I take a per-principal slot?), answered
 * 'Y' or 'N', and, once claimed, "A ...\n" (sign one approval for that
 * principal: monitor.c).
 *
 * Unauthenticated connections (accepted, no principal claimed yet) are
 * bounded per source address and in total as sshd's PerSourceMaxStartups
 * and MaxStartups start:rate:full (random early drop between start and
 * full): the next one is accepted and closed at once. Each child's own
 * auth deadline (limits.auth_timeout) ends an idle one.
 *
 * SIGTERM/SIGINT: stop accepting, tell the children (idle ones leave,
 * running commands finish), wait up to limits.shutdown_grace seconds, then
 * SIGKILL what is left.
 */
#include "bpgated.h"
#include "bpg_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	pid_t pid;
	int fd;              /* socketpair end for claims and requests; -1 once closed */
	char principal[72];  /* empty until claimed: unauthenticated */
	bool signed_one;     /* its one approval signature is spent */
	char conn[24];
	bpgd_source source;  /* its source address (per-source limit) */
} child_slot;

typedef struct {
	const bpgd_config *cfg;
	bpgd_monitor *mon;
	child_slot *slots;
	size_t nslots;
	unsigned long next_conn;
} parent_state;

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	int saved = errno;
	char b = (char)sig;
	if (sig == SIGTERM || sig == SIGINT)
		g_stop = 1;
	ssize_t w = write(sig_pipe[1], &b, 1);
	(void)w;
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bpgated [--config FILE] [--check-config]\n"
		"       bpgated --version | --help\n"
		"  --config FILE    JSON configuration (default /etc/bpgated/config.json)\n"
		"  --check-config   validate the configuration and the keys file, then exit\n"
		"                   (0 valid, 2 invalid; errors say file:line:column or JSON pointer)\n"
		"  --version        print the version\n"
		"  -h, --help       this help\n"
		"See bpgated(8).\n");
}

static int self_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(out, len, "%s", exe);
	return 0;
}

/* Generate an ed25519 host key (0600) when the file is missing. */
static int ensure_host_key(const char *path, bpg_error *err)
{
	ssh_key key = NULL;
	char *b64 = NULL;
	int rc = 0;

	if (access(path, F_OK) == 0)
		return 0;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
	    ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &b64) != SSH_OK) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot generate an ed25519 host key");
		goto done;
	}
	if ((rc = bpg_file_write_atomic(path, b64, strlen(b64), 0600, err)) < 0)
		goto done;
	bpgd_log(BPGD_LOG_INFO, "hostkey.generated", "path=%s type=ssh-ed25519", path);
done:
	ssh_key_free(key);
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		ssh_string_free_char(b64);
	}
	return rc;
}

static size_t principal_count(const parent_state *ps, const char *principal)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->nslots; i++)
		if (strcmp(ps->slots[i].principal, principal) == 0)
			n++;
	return n;
}

/* One approval signature per connection, for the principal it claimed. */
static void answer_sign(parent_state *ps, child_slot *s, const char *req)
{
	bpg_buf reply = BPG_BUF_INIT;
	int rc = s->signed_one ? (bpg_buf_puts(&reply, "E one approval per connection\n") < 0 ? -1 : 1)
		: bpgd_monitor_answer(ps->mon, s->principal, req, &reply);

	s->signed_one = true;
	if (rc < 0 || write(s->fd, reply.ptr, reply.size) != (ssize_t)reply.size) {
		close(s->fd);
		s->fd = -1;
	}
	bpg_buf_dispose(&reply);
}

/* A child's request: "C <principal>\n" or "A ...\n". Anything else closes the channel. */
static void answer_claim(parent_state *ps, child_slot *s)
{
	char req[BPGD_MONITOR_REQ_MAX];
	ssize_t n = read(s->fd, req, sizeof(req) - 1);
	char ans = 'N';

	if (n > 2 && req[n - 1] == '\n' && req[0] == 'A' && req[1] == ' ' && s->principal[0]) {
		req[n - 1] = '\0';
		answer_sign(ps, s, req);
		return;
	}
	if (n <= 0 || req[n - 1] != '\n' || n < 4 || n > 80 || req[0] != 'C' || req[1] != ' ' || s->principal[0]) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	req[n - 1] = '\0';
	if (bpgd_principal_valid(req + 2) &&
	    principal_count(ps, req + 2) < (size_t)ps->cfg->limits.max_per_principal) {
		memcpy(s->principal, req + 2, strlen(req + 2) + 1); /* valid: at most 64 bytes */
		ans = 'Y';
	} else {
		bpgd_log(BPGD_LOG_WARN, "limit.principal", "principal=%s limit=%d child=%s", req + 2,
			ps->cfg->limits.max_per_principal, s->conn);
	}
	if (write(s->fd, &ans, 1) != 1) {
		close(s->fd);
		s->fd = -1;
	}
}

static void reap_children(parent_state *ps)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (size_t i = 0; i < ps->nslots; i++) {
			if (ps->slots[i].pid != pid)
				continue;
			bpgd_log(BPGD_LOG_DEBUG, "conn.end", "child=%s pid=%ld status=%d", ps->slots[i].conn, (long)pid,
				WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			if (ps->slots[i].fd >= 0)
				close(ps->slots[i].fd);
			ps->slots[i] = ps->slots[--ps->nslots];
			break;
		}
	}
}

static void remote_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[64] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%d", host, port);
}

/* Unauthenticated connections in total and from one source. */
static void count_unauth(const parent_state *ps, const bpgd_source *src, size_t *total, size_t *same)
{
	*total = *same = 0;
	for (size_t i = 0; i < ps->nslots; i++) {
		if (ps->slots[i].principal[0])
			continue;
		(*total)++;
		if (bpgd_source_same(&ps->slots[i].source, src))
			(*same)++;
	}
}

#define BPGD_LISTEN_BACKLOG 128

/* libssh writes each packet with its own write(): with Nagle on, a small
 * packet behind an unacknowledged one waits for the peer's delayed ACK
 * (up to 40 ms on Linux) in the request/response steps of the key exchange,
 * authentication and git's negotiation. */
static void set_nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void accept_one(parent_state *ps, ssh_bind bind)
{
	int pair[2], fd, bindfd = (int)ssh_bind_get_fd(bind);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char remote[80], conn[24];
	ssh_session session;
	bpgd_source src;
	size_t unauth, same;
	pid_t pid;

	memset(&ss, 0, sizeof(ss));
	fd = accept4(bindfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	remote_str(&ss, remote, sizeof(remote));
	set_nodelay(fd);
	if (ps->nslots >= (size_t)ps->cfg->limits.max_connections) {
		/* Full: close at once, so the client fails visibly and fast. */
		close(fd);
		bpgd_log(BPGD_LOG_WARN, "limit.connections", "remote=%s limit=%d", remote,
			ps->cfg->limits.max_connections);
		return;
	}
	bpgd_source_key(&src, &ss);
	count_unauth(ps, &src, &unauth, &same);
	bpgd_startup_verdict v = bpgd_startup_admit(ps->cfg, unauth, same, randombytes_uniform(100));
	if (v != BPGD_STARTUP_ACCEPT) {
		close(fd);
		bpgd_log(BPGD_LOG_WARN, "limit.startups", "remote=%s reason=%s unauthenticated=%zu from_source=%zu "
			"max_startups=%d:%d:%d per_source=%d", remote, bpgd_startup_verdict_name(v), unauth, same,
			ps->cfg->limits.startups_begin, ps->cfg->limits.startups_rate, ps->cfg->limits.startups_full,
			ps->cfg->limits.per_source_max_startups);
		return;
	}
	session = ssh_new();
	if (!session) {
		close(fd);
		return;
	}
	if (ssh_bind_accept_fd(bind, session, fd) != SSH_OK) { /* the session owns fd from here */
		bpgd_log(BPGD_LOG_WARN, "accept.failed", "error=\"%s\"", ssh_get_error(bind));
		ssh_free(session);
		return;
	}
	snprintf(conn, sizeof(conn), "c%lu", ++ps->next_conn);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		ssh_free(session);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pair[0]);
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		for (size_t i = 0; i < ps->nslots; i++)
			if (ps->slots[i].fd >= 0)
				close(ps->slots[i].fd);
		ssh_bind_free(bind); /* closes the listening socket in the child */
		bpgd_log_set_conn(conn);
		if (bpgd_monitor_session_setup(ps->mon) < 0) {
			bpgd_log(BPGD_LOG_ERR, "privsep.failed", "error=\"cannot drop privileges\"");
			_exit(1);
		}
		bpgd_log(BPGD_LOG_INFO, "conn.start", "remote=%s", remote);
		bpgd_session_serve(ps->cfg, session, pair[1], remote);
	}
	close(pair[1]);
	ssh_free(session); /* the parent's copy: closes its socket only */
	if (pid < 0) {
		close(pair[0]);
		bpgd_log(BPGD_LOG_ERR, "fork.failed", "error=\"%s\"", strerror(errno));
		return;
	}
	fcntl(pair[0], F_SETFL, O_NONBLOCK);
	child_slot *s = &ps->slots[ps->nslots++];
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->fd = pair[0];
	s->source = src;
	snprintf(s->conn, sizeof(s->conn), "%s", conn);
}

static void drain_signals(void)
{
	char b[64];
	while (read(sig_pipe[0], b, sizeof(b)) > 0)
		;
}

static int serve(parent_state *ps, ssh_bind bind)
{
	struct pollfd *pfd;
	time_t stop_at = 0;
	bool stopping = false;

	pfd = calloc((size_t)ps->cfg->limits.max_connections + 2, sizeof(*pfd));
	if (!pfd)
		return 1;
	for (;;) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		if (!stopping)
			pfd[n++] = (struct pollfd){ .fd = (int)ssh_bind_get_fd(bind), .events = POLLIN };
		size_t first_child = n;
		for (size_t i = 0; i < ps->nslots; i++)
			pfd[n++] = (struct pollfd){ .fd = ps->slots[i].fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			drain_signals();
		reap_children(ps);
		if (g_stop && !stopping) {
			stopping = true;
			stop_at = time(NULL) + ps->cfg->limits.shutdown_grace;
			bpgd_log(BPGD_LOG_INFO, "shutdown", "sessions=%zu grace=%d", ps->nslots,
				ps->cfg->limits.shutdown_grace);
			for (size_t i = 0; i < ps->nslots; i++)
				kill(ps->slots[i].pid, SIGTERM);
			continue;
		}
		if (stopping) {
			if (ps->nslots == 0)
				break;
			if (time(NULL) >= stop_at) {
				bpgd_log(BPGD_LOG_WARN, "shutdown.kill", "sessions=%zu", ps->nslots);
				for (size_t i = 0; i < ps->nslots; i++)
					kill(ps->slots[i].pid, SIGKILL);
				stop_at = time(NULL) + 5;
			}
		}
		/* Slots may have moved while reaping: match fds, not indices. */
		for (size_t k = first_child; k < n; k++) {
			if (!pfd[k].revents || pfd[k].fd < 0)
				continue;
			for (size_t i = 0; i < ps->nslots; i++)
				if (ps->slots[i].fd == pfd[k].fd) {
					answer_claim(ps, &ps->slots[i]);
					break;
				}
		}
		if (!stopping && first_child == 2 && pfd[1].revents & POLLIN)
			accept_one(ps, bind);
	}
	free(pfd);
	bpgd_log(BPGD_LOG_INFO, "stopped", NULL);
	return 0;
}

static int load_all(bpgd_config *cfg, const char *path, bpg_error *err)
{
	char dir[PATH_MAX] = ".", abspath[PATH_MAX];
	bpgd_keys keys;
	int rc;

	self_dir(dir, sizeof(dir));
	if (!realpath(path, abspath))
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
	if ((rc = bpgd_config_load(cfg, abspath, dir, err)) < 0)
		return rc;
	if ((rc = bpgd_keys_load(&keys, cfg->keys_file, err)) < 0)
		return rc;
	bpgd_keys_release(&keys);
	return bpgd_config_check_files(cfg, err);
}

int main(int argc, char **argv)
{
	const char *config_path = "/etc/bpgated/config.json";
	bool check_only = false;
	bpgd_config cfg;
	bpg_error err;
	ssh_bind bind = NULL;
	bpgd_monitor *mon = NULL;
	parent_state ps;
	int rc = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0)
			check_only = true;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("bpgated %s\n", BPG_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	bpg_error_clear(&err);
	memset(&cfg, 0, sizeof(cfg));
	if (load_all(&cfg, config_path, &err) < 0) {
		fprintf(stderr, "bpgated: %s\n", err.message);
		goto done;
	}
	if (check_only) {
		printf("bpgated: %s: ok (listen %s:%d, repositories in %s, keys in %s, gate %s)\n", cfg.path,
			cfg.listen_address, cfg.port, cfg.repo_root, cfg.keys_file, cfg.pre_receive_hook);
		rc = 0;
		goto done;
	}
	bpgd_log_init("bpgated", cfg.debug);
	if ((mkdir(cfg.state_dir, 0700) < 0 && errno != EEXIST) || ensure_host_key(cfg.host_key, &err) < 0 ||
	    bpgd_hooks_install(&cfg, &err) < 0) {
		bpgd_log(BPGD_LOG_ERR, "startup.failed", "error=\"%s\"", err.message[0] ? err.message : strerror(errno));
		rc = 1;
		goto done;
	}
	if (bpgd_monitor_new(&mon, &cfg, &err) < 0) {
		bpgd_log(BPGD_LOG_ERR, "startup.failed", "error=\"%s\"", err.message);
		rc = 1;
		goto done;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = 1;
		goto done;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* keys are read per connection; nothing to reload */

	ssh_init();
	if (sodium_init() < 0) { /* the random early drop draws from it */
		bpgd_log(BPGD_LOG_ERR, "startup.failed", "error=\"libsodium cannot be initialised\"");
		rc = 1;
		goto done;
	}
	bind = ssh_bind_new();
	if (!bind || ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BINDADDR, cfg.listen_address) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BINDPORT, &cfg.port) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY, cfg.host_key) < 0 ||
	    ssh_bind_listen(bind) < 0) {
		bpgd_log(BPGD_LOG_ERR, "listen.failed", "address=%s port=%d error=\"%s\"", cfg.listen_address, cfg.port,
			bind ? ssh_get_error(bind) : "out of memory");
		rc = 1;
		goto done;
	}
	/* libssh listens with a backlog of 10: a burst of more connections than that
	 * overflows the queue and the kernel drops the extra SYNs, which the
	 * clients resend only after a second. Our own limits (max_startups,
	 * max_connections) decide who is served, not the queue: 128, as sshd. */
	if (listen((int)ssh_bind_get_fd(bind), BPGD_LISTEN_BACKLOG) < 0) {
		bpgd_log(BPGD_LOG_ERR, "listen.failed", "address=%s port=%d error=\"%s\"", cfg.listen_address, cfg.port,
			strerror(errno));
		rc = 1;
		goto done;
	}
	/* the parent accepts itself (accept4): a client gone between poll and accept must not block it */
	fcntl((int)ssh_bind_get_fd(bind), F_SETFL, fcntl((int)ssh_bind_get_fd(bind), F_GETFL) | O_NONBLOCK);
	bpgd_log(BPGD_LOG_INFO, "listen", "address=%s port=%d root=%s gate=%s max_connections=%d max_startups=%d:%d:%d "
		"per_source_max_startups=%d auth_timeout=%d", cfg.listen_address, cfg.port, cfg.repo_root,
		cfg.pre_receive_hook, cfg.limits.max_connections, cfg.limits.startups_begin, cfg.limits.startups_rate,
		cfg.limits.startups_full, cfg.limits.per_source_max_startups, cfg.limits.auth_timeout);
	memset(&ps, 0, sizeof(ps));
	ps.cfg = &cfg;
	ps.mon = mon;
	ps.slots = calloc((size_t)cfg.limits.max_connections, sizeof(*ps.slots));
	if (!ps.slots) {
		rc = 1;
		goto done;
	}
	rc = serve(&ps, bind);
	free(ps.slots);
done:
	if (bind)
		ssh_bind_free(bind);
	ssh_finalize();
	bpgd_monitor_free(mon);
	bpgd_config_release(&cfg);
	return rc;
}
