/*
 * The exec request: what the client asked for, parsed strictly.
 *
 * Git verbs arrive as git's connect.c writes them: `<verb> '<path>'`, with
 * sq_quote rules (a ' becomes '\'' and a ! becomes '\!'; nothing else is
 * escaped). We dequote like git-shell: anything else is malformed. Our own
 * commands are plain words. Nothing here touches the filesystem except
 * bpgd_repo_resolve(), which walks the path without following symlinks.
 */
#include "bpgated.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPO_NAME_MAX 200
#define REPO_DEPTH_MAX 4

int bpgd_sq_dequote(bpg_buf *out, const char *in, bpg_error *err)
{
	const char *p = in;

	bpg_buf_clear(out);
	if (*p != '\'')
		return bpg_error_set(err, BPG_EINVALID, "the argument must be single-quoted");
	p++;
	for (;;) {
		const char *q = strchr(p, '\'');
		if (!q)
			return bpg_error_set(err, BPG_EINVALID, "unterminated quote in the argument");
		if (bpg_buf_put(out, p, (size_t)(q - p)) < 0)
			return bpg_error_set(err, BPG_ETOOBIG, "argument too long");
		p = q + 1;
		if (*p == '\0')
			return 0;
		/* Only '\'' and '\!' may join two quoted pieces. */
		if (p[0] == '\\' && (p[1] == '\'' || p[1] == '!') && p[2] == '\'') {
			if (bpg_buf_putc(out, p[1]) < 0)
				return bpg_error_set(err, BPG_ETOOBIG, "argument too long");
			p += 3;
			continue;
		}
		return bpg_error_set(err, BPG_EINVALID, "unexpected characters after a closing quote");
	}
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

int bpgd_repo_name(bpg_buf *out, const char *path, bpg_error *err)
{
	size_t len, depth = 1;
	const char *p = path;

	bpg_buf_clear(out);
	if (*p == '/')
		p++;
	if (*p == '~')
		return bpg_error_set(err, BPG_EINVALID, "'~user/' paths are not served here; use the repository name");
	len = strlen(p);
	if (len > 4 && strcmp(p + len - 4, ".git") == 0)
		len -= 4;
	if (len == 0)
		return bpg_error_set(err, BPG_EINVALID, "empty repository name");
	if (len > REPO_NAME_MAX)
		return bpg_error_set(err, BPG_EINVALID, "repository name longer than %d bytes", REPO_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		bool first = i == 0 || p[i - 1] == '/';
		if (p[i] == '/' && !first && i + 1 < len) {
			if (++depth > REPO_DEPTH_MAX)
				return bpg_error_set(err, BPG_EINVALID, "repository name nested deeper than %d levels", REPO_DEPTH_MAX);
			continue;
		}
		if (!name_char(p[i], first))
			return bpg_error_set(err, BPG_EINVALID,
				"invalid repository name: use letters, digits, '.', '_', '-' and '/' between parts; a part starts with a letter or digit");
	}
	/* "x.git.git" would map two names to one directory; ".git" inside a part is fine. */
	if (len > 4 && strncmp(p + len - 4, ".git", 4) == 0)
		return bpg_error_set(err, BPG_EINVALID, "invalid repository name (ends in .git.git)");
	if (bpg_buf_put(out, p, len) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

int bpgd_repo_resolve(bpg_buf *out, const char *root, const char *name, bpg_error *err)
{
	char rroot[PATH_MAX], rrepo[PATH_MAX];
	bpg_buf rel = BPG_BUF_INIT;
	int dirfd = -1, rc = 0;
	char *save = NULL, *part;

	bpg_buf_clear(out);
	if (!realpath(root, rroot))
		return bpg_error_set(err, BPG_EIO, "repository root unavailable: %s", strerror(errno));
	if (bpg_buf_printf(&rel, "%s.git", name) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	dirfd = open(rroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = bpg_error_set(err, BPG_EIO, "repository root unavailable: %s", strerror(errno));
		goto done;
	}
	/* Walk component by component: a symlink anywhere fails with ELOOP/ENOTDIR. */
	for (part = strtok_r(rel.ptr, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		int next = openat(dirfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = bpg_error_set(err, BPG_ENOTFOUND, "repository '%s' does not exist", name);
			goto done;
		}
		close(dirfd);
		dirfd = next;
	}
	struct stat st;
	if (fstatat(dirfd, "HEAD", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "repository '%s' does not exist", name);
		goto done;
	}
	bpg_buf_clear(&rel);
	if (bpg_buf_printf(&rel, "%s/%s.git", rroot, name) < 0 || !realpath(rel.ptr, rrepo)) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "repository '%s' does not exist", name);
		goto done;
	}
	size_t rl = strlen(rroot);
	if (strncmp(rrepo, rroot, rl) != 0 || rrepo[rl] != '/') {
		rc = bpg_error_set(err, BPG_EINVALID, "repository '%s' is outside the root", name);
		goto done;
	}
	if (bpg_buf_puts(out, rrepo) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	if (dirfd >= 0)
		close(dirfd);
	bpg_buf_dispose(&rel);
	return rc;
}

bool bpgd_git_protocol_valid(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '=' || c == ':' || c == '-' || c == '_' || c == '.'))
			return false;
		if (c == ':' && (i == 0 || v[i - 1] == ':' || i + 1 == n))
			return false;
	}
	return v[0] != '=';
}

static const struct {
	const char *verb;
	bpgd_cmd_kind kind;
} git_verbs[] = {
	{ "receive-pack", BPGD_CMD_RECEIVE_PACK },
	{ "upload-pack", BPGD_CMD_UPLOAD_PACK },
	{ "upload-archive", BPGD_CMD_UPLOAD_ARCHIVE },
};

/* `git-<verb> '<path>'` or `git <verb> '<path>'`; rest points after the verb. */
static int parse_git(bpgd_cmd *out, const char *line, bpg_error *err)
{
	const char *rest = NULL;
	bpg_buf path = BPG_BUF_INIT, name = BPG_BUF_INIT;
	int rc;

	for (size_t i = 0; i < sizeof(git_verbs) / sizeof(git_verbs[0]); i++) {
		size_t vl = strlen(git_verbs[i].verb);
		if ((strncmp(line, "git-", 4) == 0 || strncmp(line, "git ", 4) == 0) &&
		    strncmp(line + 4, git_verbs[i].verb, vl) == 0 && line[4 + vl] == ' ') {
			out->kind = git_verbs[i].kind;
			rest = line + 4 + vl + 1;
			break;
		}
	}
	if (!rest)
		return bpg_error_set(err, BPG_EINVALID, "unknown command (git verbs: git-upload-pack, git-receive-pack, git-upload-archive)");
	if ((rc = bpgd_sq_dequote(&path, rest, err)) < 0)
		goto done;
	if (path.size == 0 || path.ptr[0] == '-') {
		rc = bpg_error_set(err, BPG_EINVALID, "bad argument");
		goto done;
	}
	if (strlen(path.ptr) != path.size) {
		rc = bpg_error_set(err, BPG_EINVALID, "NUL byte in the repository path");
		goto done;
	}
	if ((rc = bpgd_repo_name(&name, path.ptr, err)) < 0)
		goto done;
	out->repo = bpg_buf_detach(&name);
done:
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&name);
	return rc;
}

static const struct {
	const char *w1, *w2;
	bpgd_cmd_kind kind;
	size_t min_args, max_args; /* words after w1 [w2] */
	bool takes_repo;           /* the first argument is a repository name */
} own_cmds[] = {
	{ "whoami", NULL, BPGD_CMD_WHOAMI, 0, 0, false },
	{ "help", NULL, BPGD_CMD_HELP, 0, 0, false },
	{ "repo", "create", BPGD_CMD_REPO_CREATE, 1, 1, true },
	{ "user", "add", BPGD_CMD_USER_ADD, 3, 4, false },
	{ "user", "remove", BPGD_CMD_USER_REMOVE, 1, 1, false },
	{ "user", "list", BPGD_CMD_USER_LIST, 0, 0, false },
	{ "approve", NULL, BPGD_CMD_APPROVE, 1, 6, true },
	{ "status", NULL, BPGD_CMD_STATUS, 1, 2, true },
	{ "pending", NULL, BPGD_CMD_PENDING, 1, 1, true },
	{ "audit", "verify", BPGD_CMD_AUDIT_VERIFY, 1, 1, true },
	{ "deploy", NULL, BPGD_CMD_DEPLOY, 3, 4, true },
	{ "drift", NULL, BPGD_CMD_DRIFT, 1, 3, true },
	{ "disable", NULL, BPGD_CMD_DISABLE, 6, BPGD_CMD_MAX_ARGS, true },
	{ "enable", NULL, BPGD_CMD_ENABLE, 6, BPGD_CMD_MAX_ARGS, true },
};

/* Our commands: printable ASCII words separated by single spaces. */
static int parse_own(bpgd_cmd *out, char *copy, bpg_error *err)
{
	char *words[BPGD_CMD_MAX_ARGS + 2];
	size_t n = 0;
	char *p = copy;

	for (const char *c = copy; *c; c++)
		if (*c < 0x21 && *c != ' ')
			return bpg_error_set(err, BPG_EINVALID, "control characters in the command");
		else if ((unsigned char)*c >= 0x7f || *c == '\'' || *c == '"' || *c == '\\')
			return bpg_error_set(err, BPG_EINVALID, "unknown command (quotes and non-ASCII are not accepted here; try 'help')");
	while (*p) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (n == sizeof(words) / sizeof(words[0]))
			return bpg_error_set(err, BPG_EINVALID, "too many words in the command");
		words[n++] = p;
		p += strcspn(p, " ");
		if (*p)
			*p++ = '\0';
	}
	for (size_t i = 0; i < sizeof(own_cmds) / sizeof(own_cmds[0]); i++) {
		size_t skip = own_cmds[i].w2 ? 2 : 1, nargs;
		if (n < skip || strcmp(words[0], own_cmds[i].w1) != 0 ||
		    (own_cmds[i].w2 && strcmp(words[1], own_cmds[i].w2) != 0))
			continue;
		nargs = n - skip;
		if (nargs < own_cmds[i].min_args || nargs > own_cmds[i].max_args)
			return bpg_error_set(err, BPG_EINVALID, "wrong number of arguments for '%s%s%s' (try 'help')",
				own_cmds[i].w1, own_cmds[i].w2 ? " " : "", own_cmds[i].w2 ? own_cmds[i].w2 : "");
		out->kind = own_cmds[i].kind;
		for (size_t a = 0; a < nargs; a++) {
			out->args[a] = strdup(words[skip + a]);
			if (!out->args[a])
				return bpg_error_set(err, BPG_ENOMEM, "out of memory");
			out->nargs++;
		}
		if (own_cmds[i].takes_repo) {
			bpg_buf name = BPG_BUF_INIT;
			int rc = bpgd_repo_name(&name, out->args[0], err);
			if (rc == 0)
				out->repo = bpg_buf_detach(&name);
			bpg_buf_dispose(&name);
			return rc;
		}
		return 0;
	}
	return bpg_error_set(err, BPG_EINVALID, "unknown command (try 'help')");
}

int bpgd_cmd_parse(bpgd_cmd *out, const char *line, size_t max_len, bpg_error *err)
{
	size_t len = strlen(line);
	char *copy = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > max_len)
		return bpg_error_set(err, BPG_ETOOBIG, "command longer than %zu bytes", max_len);
	if (len == 0)
		return bpg_error_set(err, BPG_EINVALID, "empty command (try 'help')");
	if (strncmp(line, "git-", 4) == 0 || strncmp(line, "git ", 4) == 0) {
		rc = parse_git(out, line, err);
	} else {
		copy = strdup(line);
		rc = copy ? parse_own(out, copy, err) : bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	free(copy);
	if (rc < 0)
		bpgd_cmd_release(out);
	return rc;
}

void bpgd_cmd_release(bpgd_cmd *cmd)
{
	if (!cmd)
		return;
	free(cmd->repo);
	for (size_t i = 0; i < cmd->nargs; i++)
		free(cmd->args[i]);
	memset(cmd, 0, sizeof(*cmd));
}
