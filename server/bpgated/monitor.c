/*
 * Privilege separation: the monitor (the parent) and what a session may ask
 * of it. See docs/readme/daemon.md "Process model".
 *
 * The monitor holds the approval signing key (guarded memory, loaded once at
 * start; the file is closed again at once) and is not dumpable. A session
 * is forked from it and, before it reads a byte from the client, wipes the
 * monitor's copy of the key and, when the daemon runs as root with
 * `session_user`, drops to that user: it can neither hold nor open the key.
 * The session may ask the monitor to sign one approval statement; the
 * monitor builds the canonical statement itself from four validated fields
 * and signs it for the principal the connection authenticated as (the one
 * the session claimed its slot for, once, at authentication), never for a
 * principal the request names.
 */
#include "bpgated.h"
#include "bpgate/approval.h"
#include "bpgate/sshsig.h"

#include <git2.h>
#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bpgd_monitor {
	bpg_ssh_seckey *approval_key;
	char *repo_root;  /* where the repositories are: their bpgate.repositoryId */
	bool drop;        /* sessions setuid/setgid to uid/gid */
	uid_t uid;
	gid_t gid;
};

/* Generate the approval key (0600) and its .pub (0644) when the key is missing. */
static int ensure_key(const char *path, bpg_error *err)
{
	unsigned char seed[32];
	bpg_ssh_seckey *key = NULL;
	bpg_buf text = BPG_BUF_INIT, pub = BPG_BUF_INIT, pubpath = BPG_BUF_INIT;
	int rc = 0;

	if (access(path, F_OK) == 0)
		return 0;
	randombytes_buf(seed, sizeof(seed));
	if ((rc = bpg_ssh_seckey_from_seed(&key, seed, "bpgated-approval", err)) < 0 ||
	    (rc = bpg_ssh_seckey_format(&text, key, randombytes_random(), err)) < 0 ||
	    (rc = bpg_ssh_pubkey_format(&pub, bpg_ssh_seckey_pubkey(key), "bpgated-approval")) < 0 ||
	    (rc = bpg_buf_printf(&pubpath, "%s.pub", path)) < 0 ||
	    (rc = bpg_buf_puts(&pub, "\n")) < 0)
		goto done;
	if ((rc = bpg_file_write_atomic(pubpath.ptr, pub.ptr, pub.size, 0644, err)) < 0 ||
	    (rc = bpg_file_write_atomic(path, text.ptr, text.size, 0600, err)) < 0)
		goto done;
	bpgd_log(BPGD_LOG_INFO, "approvalkey.generated", "path=%s type=ssh-ed25519", path);
done:
	sodium_memzero(seed, sizeof(seed));
	if (text.ptr)
		sodium_memzero(text.ptr, text.asize);
	bpg_ssh_seckey_free(key);
	bpg_buf_dispose(&text);
	bpg_buf_dispose(&pub);
	bpg_buf_dispose(&pubpath);
	if (rc < 0 && err && !err->message[0])
		bpg_error_set(err, rc, "cannot write the approval key %s", path);
	return rc;
}

/* Drop to the session user (no way back). */
static int drop_to(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return -1; /* still able to regain root: refuse to go on */
	return 0;
}

/*
 * Before serving: a probe process drops to the session user and checks what
 * a session will need and must not have. A session user that can open a key
 * refuses the start (the split would be for show), and so does one that
 * cannot run the gate's hook (git would skip the hook: pushes ungated).
 */
static int probe_session_user(const bpgd_monitor *m, const bpgd_config *cfg, bpg_error *err)
{
	int pfd[2], st = 0;
	char why = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return bpg_error_set(err, BPG_EIO, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		char r = 'D';
		close(pfd[0]);
		if (drop_to(m->uid, m->gid) == 0) {
			bpg_buf hook = BPG_BUF_INIT;
			int hrc = bpg_buf_printf(&hook, "%s/pre-receive", cfg->hooks_dir); /* failed: checked as 'H' below */
			int fd1 = open(cfg->approval_key, O_RDONLY | O_CLOEXEC);
			int fd2 = open(cfg->host_key, O_RDONLY | O_CLOEXEC);
			if (fd1 >= 0 || fd2 >= 0)
				r = 'K';
			else if (hrc < 0 || !hook.ptr || access(hook.ptr, X_OK) < 0)
				r = 'H';
			else if (access(cfg->keys_file, R_OK) < 0)
				r = 'P';
			else if (access(cfg->repo_root, R_OK | X_OK) < 0)
				r = 'R';
			else
				r = 'Y';
		}
		ssize_t w = write(pfd[1], &r, 1);
		(void)w;
		_exit(0);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return bpg_error_set(err, BPG_EIO, "fork: %s", strerror(errno));
	}
	if (read(pfd[0], &why, 1) != 1)
		why = 0;
	close(pfd[0]);
	waitpid(pid, &st, 0);
	switch (why) {
	case 'Y':
		return 0;
	case 'K':
		return bpg_error_set(err, BPG_EINVALID, "session_user %s can open a key (%s or %s): make them 0600, owned by "
			"the daemon's user", cfg->session_user, cfg->approval_key, cfg->host_key);
	case 'H':
		return bpg_error_set(err, BPG_EINVALID, "session_user %s cannot run %s/pre-receive (git would skip the gate): "
			"put hooks_dir where that user can read it", cfg->session_user, cfg->hooks_dir);
	case 'P':
		return bpg_error_set(err, BPG_EINVALID, "session_user %s cannot read the keys file %s", cfg->session_user,
			cfg->keys_file);
	case 'R':
		return bpg_error_set(err, BPG_EINVALID, "session_user %s cannot reach the repository root %s",
			cfg->session_user, cfg->repo_root);
	default:
		return bpg_error_set(err, BPG_ERROR, "cannot drop privileges to session_user %s", cfg->session_user);
	}
}

int bpgd_monitor_new(bpgd_monitor **out, const bpgd_config *cfg, bpg_error *err)
{
	bpgd_monitor *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	/* Nobody of the same uid may ptrace us or read our memory; sessions inherit it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		goto fail;
	}
	if (cfg->repo_root && !(m->repo_root = strdup(cfg->repo_root))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = ensure_key(cfg->approval_key, err)) < 0 ||
	    (rc = bpg_ssh_seckey_load(&m->approval_key, cfg->approval_key, err)) < 0)
		goto fail;
	if (cfg->session_user) {
		struct passwd *pw = getpwnam(cfg->session_user);
		if (!pw) {
			rc = bpg_error_set(err, BPG_EINVALID, "session_user %s: no such user", cfg->session_user);
			goto fail;
		}
		if (geteuid() != 0 && geteuid() != pw->pw_uid) {
			rc = bpg_error_set(err, BPG_EINVALID, "session_user %s: the daemon must start as root to drop to it",
				cfg->session_user);
			goto fail;
		}
		m->drop = geteuid() == 0 && pw->pw_uid != 0;
		m->uid = pw->pw_uid;
		m->gid = pw->pw_gid;
		if (m->drop && (rc = probe_session_user(m, cfg, err)) < 0)
			goto fail;
	} else if (geteuid() == 0) {
		bpgd_log(BPGD_LOG_WARN, "privsep.root_sessions",
			"reason=\"no session_user: sessions keep root and could open the key files\"");
	}
	*out = m;
	return 0;
fail:
	bpgd_monitor_free(m);
	return rc;
}

void bpgd_monitor_free(bpgd_monitor *m)
{
	if (!m)
		return;
	bpg_ssh_seckey_free(m->approval_key);
	free(m->repo_root);
	free(m);
}

int bpgd_monitor_session_setup(bpgd_monitor *m)
{
	/* The forked copy of the key: wiped before the first client byte. */
	bpg_ssh_seckey_free(m->approval_key);
	m->approval_key = NULL;
	if (m->drop && drop_to(m->uid, m->gid) < 0)
		return -1;
	return 0;
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,62}, as environment names are. */
static bool env_word(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool oid_hex(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* The repository's bpgate.repositoryId into out[33] ("" when the repository
 * or the setting is absent: bound by name only). BPG_EINVALID when it is set
 * but not 32 lower-case hex. Read here, in the monitor, never from the session. */
static int repository_id(char out[33], const char *root, const char *name)
{
	bpg_buf dir = BPG_BUF_INIT;
	git_config *c = NULL, *snap = NULL;
	const char *v = NULL;
	bpg_error err;
	int rc = 0;

	out[0] = '\0';
	git_libgit2_init();
	/* the repository's own config file only (the monitor is another user than
	 * the repositories' owner: no repository open, no ownership check) */
	if (!root || bpgd_repo_resolve(&dir, root, name, &err) < 0 || bpg_buf_puts(&dir, "/config") < 0 ||
	    git_config_open_ondisk(&c, dir.ptr) < 0 || git_config_snapshot(&snap, c) < 0 ||
	    git_config_get_string(&v, snap, "bpgate.repositoryId") < 0 || !v)
		goto done;
	if (bpg_repository_id_valid(v))
		snprintf(out, 33, "%s", v);
	else
		rc = BPG_EINVALID;
done:
	git_error_clear();
	git_config_free(snap);
	git_config_free(c);
	git_libgit2_shutdown();
	bpg_buf_dispose(&dir);
	return rc;
}

static int reply_error(bpg_buf *reply, const char *msg)
{
	bpg_buf_clear(reply);
	return bpg_buf_printf(reply, "E %s\n", msg) < 0 ? BPG_ENOMEM : 1;
}

int bpgd_monitor_answer(const bpgd_monitor *m, const char *principal, const char *req, bpg_buf *reply)
{
	char copy[BPGD_MONITOR_REQ_MAX], *f[4];
	bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT, name = BPG_BUF_INIT;
	bpg_approval a;
	bpg_error err;
	struct tm tm;
	time_t now = time(NULL);
	int rc = 0;

	bpg_error_clear(&err);
	if (!principal || !principal[0] || !bpgd_principal_valid(principal))
		return reply_error(reply, "not authenticated");
	if (strlen(req) >= sizeof(copy) || strncmp(req, "A ", 2) != 0)
		return reply_error(reply, "unknown request");
	memcpy(copy, req + 2, strlen(req + 2) + 1);
	/* Exactly four fields, one space apart: nothing else can ride along. */
	f[0] = copy;
	for (int i = 1; i < 4; i++) {
		char *sp = strchr(f[i - 1], ' ');
		if (!sp)
			return reply_error(reply, "malformed request");
		*sp = '\0';
		f[i] = sp + 1;
	}
	for (int i = 0; i < 4; i++)
		if (!f[i][0] || strchr(f[i], ' '))
			return reply_error(reply, "malformed request");
	/* The repository must already be a normalised name, the rest exact words. */
	if (bpgd_repo_name(&name, f[0], &err) < 0 || strcmp(name.ptr, f[0]) != 0 || !env_word(f[1]) ||
	    !oid_hex(f[2]) || !oid_hex(f[3])) {
		rc = reply_error(reply, "malformed request");
		goto done;
	}
	memset(&a, 0, sizeof(a));
	snprintf(a.repository, sizeof(a.repository), "%s", f[0]);
	snprintf(a.environment, sizeof(a.environment), "%s", f[1]);
	memcpy(a.tree, f[2], 41);
	memcpy(a.commit, f[3], 41);
	snprintf(a.approver, sizeof(a.approver), "%s", principal); /* from authentication, never from the request */
	if (repository_id(a.repository_id, m->repo_root, a.repository) < 0) {
		rc = reply_error(reply, "the repository's bpgate.repositoryId is not 32 lower-case hex digits");
		goto done;
	}
	gmtime_r(&now, &tm);
	strftime(a.time, sizeof(a.time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!m->approval_key) {
		rc = reply_error(reply, "no approval key");
		goto done;
	}
	if (bpg_approval_format(&stmt, &a, &err) < 0 ||
	    bpg_sshsig_sign(&sig, m->approval_key, stmt.ptr, stmt.size, BPG_APPROVAL_NAMESPACE, BPG_SSHSIG_SHA512, &err) < 0) {
		rc = reply_error(reply, err.message[0] ? err.message : "cannot sign");
		goto done;
	}
	bpg_buf_clear(reply);
	if (bpg_buf_printf(reply, "S %zu %zu\n", stmt.size, sig.size) < 0 || bpg_buf_put(reply, stmt.ptr, stmt.size) < 0 ||
	    bpg_buf_put(reply, sig.ptr, sig.size) < 0) {
		rc = BPG_ENOMEM;
		goto done;
	}
	bpgd_log(BPGD_LOG_INFO, "monitor.signed", "principal=%s repo=%s env=%s tree=%s", principal, a.repository,
		a.environment, a.tree);
done:
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&name);
	return rc;
}

/* ---- the session's side -------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int bpgd_monitor_sign_approval(bpg_buf *stmt, bpg_buf *sig, int fd, const char *repo, const char *env,
	const char *tree, const char *commit, bpg_error *err)
{
	char req[BPGD_MONITOR_REQ_MAX], line[256];
	size_t n = 0, slen = 0, glen = 0;
	char *buf = NULL;
	int len, rc = 0;

	len = snprintf(req, sizeof(req), "A %s %s %s %s\n", repo, env, tree, commit);
	if (len < 0 || (size_t)len >= sizeof(req))
		return bpg_error_set(err, BPG_ETOOBIG, "approval request too long");
	if (fd < 0 || write(fd, req, (size_t)len) != len)
		return bpg_error_set(err, BPG_EIO, "the monitor is not reachable");
	while (n < sizeof(line) - 1) {
		if (read_full(fd, line + n, 1) < 0)
			return bpg_error_set(err, BPG_EIO, "the monitor closed the connection");
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (n == 0 || line[n - 1] != '\n')
		return bpg_error_set(err, BPG_EIO, "the monitor's answer is malformed");
	line[n - 1] = '\0';
	if (line[0] == 'E' && line[1] == ' ')
		return bpg_error_set(err, BPG_EINVALID, "the monitor refused: %s", line + 2);
	if (sscanf(line, "S %zu %zu", &slen, &glen) != 2 || slen == 0 || slen > BPG_APPROVAL_MAX || glen == 0 ||
	    glen > BPG_SSHSIG_ARMOR_MAX)
		return bpg_error_set(err, BPG_EIO, "the monitor's answer is malformed");
	if (!(buf = malloc(slen + glen)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (read_full(fd, buf, slen + glen) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "the monitor closed the connection");
		goto done;
	}
	if (bpg_buf_put(stmt, buf, slen) < 0 || bpg_buf_put(sig, buf + slen, glen) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(buf);
	return rc;
}
