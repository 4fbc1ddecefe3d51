/* `bpgate install [--early-check | --uninstall]` and `bpgate init [--pack NAME]`. */
#include "cli.h"

#include <dirent.h>
#include <spawn.h>
#include <sys/wait.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpg_config.h"
#include "bpgate/approval.h"
#include "bpgate/buf.h"

#define MARKER "# bpgate-hook"
#define SAVED_SUFFIX ".pre-bpgate"

static const char *hook_names[] = { "pre-commit", "commit-msg", "pre-push" };
#define EARLY_HOOK "pre-commit" /* installed only with --early-check: commit-msg judges the content too */

/* The hook when one was there before: chain it (it gets the same stdin, which
 * pre-push needs), then run bpgate. Without one the hook is a symlink to bpgate. */
static int hook_script(bpg_buf *out, const char *name, const char *self)
{
	return bpg_buf_printf(out,
		"#!/bin/sh\n"
		MARKER ": installed by `bpgate install`; `bpgate install --uninstall` removes it.\n"
		"# A hook that was here before is kept as %s" SAVED_SUFFIX " and runs first.\n"
		"bpgate='%s'\n"
		"[ -x \"$bpgate\" ] || bpgate=bpgate\n"
		"if [ -x \"$0" SAVED_SUFFIX "\" ]; then\n"
		"\tinput=$(mktemp) || exit 1\n"
		"\ttrap 'rm -f \"$input\"' EXIT\n"
		"\tcat > \"$input\"\n"
		"\t\"$0" SAVED_SUFFIX "\" \"$@\" < \"$input\" || exit $?\n"
		"\t\"$bpgate\" hook %s \"$@\" < \"$input\"\n"
		"\texit $?\n"
		"fi\n"
		"exec \"$bpgate\" hook %s \"$@\"\n",
		name, self, name, name);
}

static int hooks_dir(bpg_buf *out, git_repository *repo)
{
	git_buf b = { 0 };
	int rc = git_repository_item_path(&b, repo, GIT_REPOSITORY_ITEM_HOOKS);
	if (rc == 0)
		rc = bpg_buf_puts(out, b.ptr);
	git_buf_dispose(&b);
	return rc;
}

/* Ours: a symlink to a binary named bpgate or bpgate-hook (the hook runs it with argv[0]
 * = the hook's name, bpgate.c), or a script carrying the marker (the chaining hook). */
static bool is_ours(const char *path)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	struct stat st;
	char target[PATH_MAX];
	bool ours;

	if (lstat(path, &st) < 0)
		return false;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			return false;
		target[n] = '\0';
		const char *base = strrchr(target, '/');
		base = base ? base + 1 : target;
		return strcmp(base, "bpgate") == 0 || strcmp(base, "bpgate-hook") == 0;
	}
	ours = bpg_file_read(&b, path, 1 << 20, &err) == 0 && b.ptr && strstr(b.ptr, MARKER);
	bpg_buf_dispose(&b);
	return ours;
}

/* path -> a symlink to self, replacing what is there in one rename. */
static int link_hook(const char *path, const char *self)
{
	bpg_buf tmp = BPG_BUF_INIT;
	int rc = -1;

	if (bpg_buf_printf(&tmp, "%s.bpgate-new", path) < 0)
		goto done;
	unlink(tmp.ptr);
	if (symlink(self, tmp.ptr) < 0)
		goto done;
	if (rename(tmp.ptr, path) < 0) {
		unlink(tmp.ptr);
		goto done;
	}
	rc = 0;
done:
	bpg_buf_dispose(&tmp);
	return rc;
}

/* Remove our hook at path (if it is ours) and put back the one kept at saved. */
static void remove_hook(const char *path, const char *saved, const char *name, const char *why)
{
	struct stat st;

	if (!is_ours(path))
		return;
	unlink(path);
	if (lstat(saved, &st) == 0 && rename(saved, path) < 0)
		fprintf(stderr, "bpgate install: cannot restore %s: %s\n", saved, strerror(errno));
	printf("removed %s%s\n", name, why);
}

/* Whether `path --version` prints exactly this bpgate's version line: a bpgate-hook left
 * by another install must not judge this one's commits. */
static bool same_version(const char *path)
{
	char *argv[] = { (char *)path, "--version", NULL }, out[128], want[128];
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	int fds[2], st;
	pid_t pid;
	ssize_t n;
	bool ok = false;

	snprintf(want, sizeof(want), "bpgate %s\n", bpg_version());
	if (pipe(fds) < 0)
		return false;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (posix_spawn(&pid, path, &fa, NULL, argv, environ) == 0) {
		close(fds[1]);
		fds[1] = -1;
		while (got < sizeof(out) - 1 && (n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
			got += (size_t)n;
		out[got] = '\0';
		ok = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && strcmp(out, want) == 0;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ok;
}

/* What the hooks run: bpgate-hook beside this binary (bpgate linked statically, built
 * and installed with it: hooks/meson.build) when it is this version, else this binary
 * (bpgate copied alone, or another version's bpgate-hook left beside it). `self` is an
 * absolute path, replaced in place. */
static void hook_program(char *self, size_t size)
{
	char *slash = strrchr(self, '/');
	char hook[PATH_MAX];

	if (!slash || snprintf(hook, sizeof(hook), "%.*s/bpgate-hook", (int)(slash - self), self) >= (int)sizeof(hook) ||
	    strlen(hook) >= size || access(hook, X_OK) < 0)
		return;
	if (!same_version(hook)) {
		fprintf(stderr, "bpgate install: %s is not bpgate %s; the hooks run this bpgate instead\n", hook,
			bpg_version());
		return;
	}
	strcpy(self, hook);
}

static int install_hooks(git_repository *repo, bool uninstall, bool early)
{
	bpg_buf dir = BPG_BUF_INIT, path = BPG_BUF_INIT, saved = BPG_BUF_INIT, script = BPG_BUF_INIT;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bpg_error err;
	int rc = BPG_EXIT_ERROR;

	self[n > 0 ? n : 0] = '\0';
	if (n <= 0 || self[0] != '/')
		strcpy(self, "bpgate");
	else
		hook_program(self, sizeof(self));
	if (hooks_dir(&dir, repo) < 0) {
		fprintf(stderr, "bpgate install: cannot find the hooks directory\n");
		goto done;
	}
	mkdir(dir.ptr, 0755);
	for (size_t i = 0; i < sizeof(hook_names) / sizeof(hook_names[0]); i++) {
		const char *name = hook_names[i];
		struct stat st;
		bpg_buf_clear(&path);
		bpg_buf_clear(&saved);
		if (bpg_buf_printf(&path, "%s%s%s", dir.ptr, dir.ptr[dir.size - 1] == '/' ? "" : "/", name) < 0 ||
		    bpg_buf_printf(&saved, "%s" SAVED_SUFFIX, path.ptr) < 0) {
			fprintf(stderr, "bpgate install: out of memory\n");
			goto done;
		}
		if (uninstall) {
			remove_hook(path.ptr, saved.ptr, name, "");
			continue;
		}
		if (!early && strcmp(name, EARLY_HOOK) == 0) {
			/* an earlier install's early check goes: commit-msg judges the content now */
			remove_hook(path.ptr, saved.ptr, name,
				" (commit-msg judges the staged content; `bpgate install --early-check` adds it)");
			continue;
		}
		if (lstat(path.ptr, &st) == 0 && !is_ours(path.ptr)) {
			if (lstat(saved.ptr, &st) == 0) {
				fprintf(stderr, "bpgate install: both %s and %s exist; merge them by hand first\n",
					path.ptr, saved.ptr);
				goto done;
			}
			if (rename(path.ptr, saved.ptr) < 0) {
				fprintf(stderr, "bpgate install: cannot keep %s: %s\n", path.ptr, strerror(errno));
				goto done;
			}
			printf("kept the existing %s hook as %s" SAVED_SUFFIX "; it runs first\n", name, name);
		}
		/* nothing to chain and a known path to this binary: the hook is a symlink to it
		 * (one process, no shell); else the chaining script */
		if (self[0] == '/' && lstat(saved.ptr, &st) < 0) {
			if (link_hook(path.ptr, self) < 0) {
				fprintf(stderr, "bpgate install: cannot link %s to %s: %s\n", path.ptr, self, strerror(errno));
				goto done;
			}
		} else {
			bpg_buf_clear(&script);
			if (hook_script(&script, name, self) < 0 ||
			    bpg_file_write_atomic(path.ptr, script.ptr, script.size, 0755, &err) < 0) {
				fprintf(stderr, "bpgate install: cannot write %s\n", path.ptr);
				goto done;
			}
		}
		printf("installed %s\n", name);
	}
	rc = BPG_EXIT_OK;
done:
	bpg_buf_dispose(&dir);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&saved);
	bpg_buf_dispose(&script);
	return rc;
}

static int open_repo(git_repository **repo, const char *who)
{
	git_libgit2_init();
	int orc;
	if ((orc = cli_repo_open(repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, who)) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate %s: not inside a git repository; run `git init` first\n", who);
		git_libgit2_shutdown();
		return -1;
	}
	return 0;
}

int cmd_install(int argc, char **argv)
{
	git_repository *repo = NULL;
	bool uninstall = argc >= 2 && strcmp(argv[1], "--uninstall") == 0;
	bool early = argc >= 2 && strcmp(argv[1], "--early-check") == 0;
	int rc;

	if (argc > 2 || (argc == 2 && !uninstall && !early))
		return cli_usage("bpgate install [--early-check | --uninstall]");
	if (open_repo(&repo, "install") < 0)
		return BPG_EXIT_ERROR;
	rc = install_hooks(repo, uninstall, early);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

/* ---- init ------------------------------------------------------------- */

/* Where the shipped packs are: $BPGATE_PACKS, the installed data directory,
 * or the source tree this binary was built from. */
static int find_pack(bpg_buf *out, const char *name)
{
	const char *env = getenv("BPGATE_PACKS");
	const char *roots[] = { env, BPG_DATADIR "/packs", BPG_SOURCE_ROOT "/policy/packs" };
	struct stat st;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (!roots[i])
			continue;
		bpg_buf_clear(out);
		if (bpg_buf_printf(out, "%s/%s", roots[i], name) < 0 || bpg_buf_puts(out, "/policy.json") < 0)
			return -1; /* out of memory: no pack found rather than a wrong path */
		if (stat(out->ptr, &st) == 0) {
			out->size -= strlen("/policy.json");
			out->ptr[out->size] = '\0';
			return 0;
		}
	}
	return -1;
}

static int copy_file(const char *from, const char *to)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	int rc = bpg_file_read(&b, from, 4 << 20, &err);
	if (rc == 0)
		rc = bpg_file_write_atomic(to, b.ptr ? b.ptr : "", b.size, 0644, &err);
	if (rc < 0)
		fprintf(stderr, "bpgate init: %s\n", err.message);
	bpg_buf_dispose(&b);
	return rc;
}

/* Copy the regular files of pack/<sub> into .bpgate/<sub> (one level). */
static int copy_dir(const char *pack, const char *dest, const char *sub)
{
	bpg_buf from = BPG_BUF_INIT, to = BPG_BUF_INIT;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (bpg_buf_printf(&from, "%s/%s", pack, sub) < 0 || bpg_buf_printf(&to, "%s/%s", dest, sub) < 0) {
		fprintf(stderr, "bpgate init: out of memory\n");
		rc = -1;
		goto done;
	}
	if (!(d = opendir(from.ptr)))
		goto done;
	mkdir(to.ptr, 0755);
	while (rc == 0 && (e = readdir(d))) {
		bpg_buf f = BPG_BUF_INIT, t = BPG_BUF_INIT;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (bpg_buf_printf(&f, "%s/%s", from.ptr, e->d_name) < 0 || bpg_buf_printf(&t, "%s/%s", to.ptr, e->d_name) < 0) {
			fprintf(stderr, "bpgate init: out of memory\n");
			rc = -1;
		} else if (stat(f.ptr, &st) == 0 && S_ISREG(st.st_mode))
			rc = copy_file(f.ptr, t.ptr);
		bpg_buf_dispose(&f);
		bpg_buf_dispose(&t);
	}
	closedir(d);
done:
	bpg_buf_dispose(&from);
	bpg_buf_dispose(&to);
	return rc;
}

/* Write the repository's id into the new .bpgate/policy.json, as its first key. */
static int write_repository_id(const char *path, const char *id)
{
	bpg_buf in = BPG_BUF_INIT, out = BPG_BUF_INIT;
	bpg_error err;
	const char *brace;
	int rc;

	if ((rc = bpg_file_read(&in, path, 4 << 20, &err)) < 0)
		goto done;
	if (!in.ptr || !(brace = memchr(in.ptr, '{', in.size))) {
		rc = bpg_error_set(&err, BPG_EINVALID, "%s is not a JSON object", path);
		goto done;
	}
	if ((rc = bpg_buf_put(&out, in.ptr, (size_t)(brace - in.ptr) + 1)) < 0 ||
	    (rc = bpg_buf_printf(&out, "\n  \"repository_id\": \"%s\",", id)) < 0 ||
	    (rc = bpg_buf_put(&out, brace + 1, in.size - (size_t)(brace - in.ptr) - 1)) < 0) {
		bpg_error_set(&err, rc, "out of memory");
		goto done;
	}
	rc = bpg_file_write_atomic(path, out.ptr, out.size, 0644, &err);
done:
	if (rc < 0)
		fprintf(stderr, "bpgate init: %s\n", err.message);
	bpg_buf_dispose(&in);
	bpg_buf_dispose(&out);
	return rc;
}

int cmd_init(int argc, char **argv)
{
	const char *pack = "regulated";
	bool force = false, early = false;
	const char *given_id = NULL;
	char rid[33];
	git_repository *repo = NULL;
	bpg_buf packdir = BPG_BUF_INIT, dest = BPG_BUF_INIT, f = BPG_BUF_INIT, t = BPG_BUF_INIT;
	struct stat st;
	int rc = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pack") == 0 && i + 1 < argc)
			pack = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--early-check") == 0)
			early = true;
		else if (strcmp(argv[i], "--repository-id") == 0 && i + 1 < argc)
			given_id = argv[++i];
		else
			return cli_usage("bpgate init [--pack NAME] [--force] [--early-check] [--repository-id ID]");
	}
	if (given_id && !bpg_repository_id_valid(given_id)) {
		fprintf(stderr, "bpgate init: --repository-id takes 32 lower-case hex digits (what `repo create` printed, "
			"or the server's git config bpgate.repositoryId)\n");
		return BPG_EXIT_ERROR;
	}
	if (strchr(pack, '/') || strstr(pack, "..")) {
		fprintf(stderr, "bpgate init: a pack name is a plain name such as 'regulated'\n");
		return BPG_EXIT_ERROR;
	}
	if (find_pack(&packdir, pack) < 0) {
		fprintf(stderr, "bpgate init: no pack named '%s' (looked in $BPGATE_PACKS, %s/packs)\n",
			pack, BPG_DATADIR);
		goto done;
	}
	if (open_repo(&repo, "init") < 0)
		goto done;
	if (!git_repository_workdir(repo)) {
		fprintf(stderr, "bpgate init: the repository is bare; run it in a working tree\n");
		goto done;
	}
	if (bpg_buf_printf(&dest, "%s.bpgate", git_repository_workdir(repo)) < 0 ||
	    bpg_buf_printf(&t, "%s/policy.json", dest.ptr) < 0) {
		fprintf(stderr, "bpgate init: out of memory\n");
		goto done;
	}
	if (stat(t.ptr, &st) == 0 && !force) {
		fprintf(stderr, "bpgate init: %s exists already; use --force to overwrite it with the pack\n", t.ptr);
		goto done;
	}
	mkdir(dest.ptr, 0755);
	static const char *top_files[] = { "policy.json", "allowed_signers", "ignore" };
	for (size_t i = 0; i < sizeof(top_files) / sizeof(top_files[0]); i++) {
		bpg_buf_clear(&f);
		bpg_buf_clear(&t);
		if (bpg_buf_printf(&f, "%s/%s", packdir.ptr, top_files[i]) < 0 ||
		    bpg_buf_printf(&t, "%s/%s", dest.ptr, top_files[i]) < 0) {
			fprintf(stderr, "bpgate init: out of memory\n");
			goto done;
		}
		if (stat(f.ptr, &st) == 0 && copy_file(f.ptr, t.ptr) < 0)
			goto done;
	}
	/* the repository's unique id: given (the server's bpgate.repositoryId), else new */
	if (given_id) {
		snprintf(rid, sizeof(rid), "%s", given_id);
	} else {
		bpg_error ierr;
		if (bpg_repository_id_new(rid, &ierr) < 0) {
			fprintf(stderr, "bpgate init: %s\n", ierr.message);
			goto done;
		}
	}
	bpg_buf_clear(&t);
	if (bpg_buf_printf(&t, "%s/policy.json", dest.ptr) < 0) {
		fprintf(stderr, "bpgate init: out of memory\n");
		goto done;
	}
	if (write_repository_id(t.ptr, rid) < 0)
		goto done;
	if (copy_dir(packdir.ptr, dest.ptr, "contracts") < 0 || copy_dir(packdir.ptr, dest.ptr, "environments") < 0 ||
	    copy_dir(packdir.ptr, dest.ptr, "tests") < 0 ||
	    copy_dir(packdir.ptr, dest.ptr, "keys") < 0)
		goto done;
	printf("wrote .bpgate/ from the '%s' pack (repository id %s)\n", pack, rid);
	if (install_hooks(repo, false, early) != BPG_EXIT_OK)
		goto done;
	printf("next: put your people in .bpgate/policy.json (roles) and their SSH keys in "
		".bpgate/allowed_signers,\n      catalogue your scenarios, then `bpgate policy test` and commit .bpgate/\n");
	rc = BPG_EXIT_OK;
done:
	git_repository_free(repo);
	if (repo)
		git_libgit2_shutdown();
	bpg_buf_dispose(&packdir);
	bpg_buf_dispose(&dest);
	bpg_buf_dispose(&f);
	bpg_buf_dispose(&t);
	return rc;
}
