/* bpg_bundle_create: hash the files of a release and describe where they come from. */
#include "bundle_internal.h"
#include "bpgate/blueprint.h"

#include <git2.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* realpath() of the directory part of path, plus its last component. */
static int resolve(bpg_buf *out, const char *path, bpg_error *err)
{
	const char *slash = strrchr(path, '/');
	bpg_buf dir = BPG_BUF_INIT;
	char *real = NULL;
	int rc = 0;

	if (slash && bpg_buf_put(&dir, path, slash == path ? 1 : (size_t)(slash - path)) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (!rc && !(real = realpath(slash ? dir.ptr : ".", NULL)))
		rc = bpg_error_set(err, BPG_ENOTFOUND, "%s: cannot resolve its directory", path);
	if (!rc && bpg_buf_printf(out, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash ? slash + 1 : path) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	free(real);
	bpg_buf_dispose(&dir);
	return rc;
}

static int add_file(bpg_bundle *b, const char *root, const char *given, bpg_error *err)
{
	bpg_buf abs = BPG_BUF_INIT, data = BPG_BUF_INIT;
	bpg_blueprint *bp = NULL;
	size_t rl = strlen(root);
	char hex[65];
	const char *rel, *why;
	int rc;

	if ((rc = resolve(&abs, given, err)) < 0)
		goto done;
	if (strncmp(abs.ptr, root, rl) != 0 || abs.ptr[rl] != '/') {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: outside the manifest's directory %s; a bundle covers the tree below its manifest, "
			"so write the manifest at the top of that tree", given, root);
		goto done;
	}
	rel = abs.ptr + rl + 1;
	if (!bundle_path_ok(rel, strlen(rel), &why)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: path %s", given, why);
		goto done;
	}
	if ((rc = bpg_file_read(&data, given, BPG_BUNDLE_FILE_MAX, err)) < 0)
		goto done;
	bpg_sha256_hex(hex, data.ptr ? data.ptr : "", data.size);
	b->files[b->nfiles].path = strdup(rel);
	b->files[b->nfiles].sha256 = strdup(hex);
	b->nfiles++;
	if (!b->files[b->nfiles - 1].path || !b->files[b->nfiles - 1].sha256) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	/* a full export has "flow" and "metadata"; a minimal blueprint ({"name":"a","flow":[]})
	 * has only "flow": it is a scenario when it parses as one */
	bool full = data.size && bpg_blueprint_looks_like(data.ptr, data.size);
	bool minimal = !full && data.size && data.ptr && memmem(data.ptr, data.size, "\"flow\"", 6) &&
		data.ptr[strspn(data.ptr, " \t\r\n")] == '{';
	if (minimal && bpg_blueprint_parse(&bp, data.ptr, data.size, given, err) < 0) {
		minimal = false; /* some other JSON with a "flow" key: a plain file of the release */
		bpg_blueprint_free(bp);
		bp = NULL;
		rc = 0;
	}
	if (full || minimal) {
		if (full && (rc = bpg_blueprint_parse(&bp, data.ptr, data.size, given, err)) < 0) {
			bpg_error_prefix(err, "a release must not carry a broken blueprint: ");
			goto done;
		}
		b->scenarios[b->nscenarios].file = strdup(rel);
		b->scenarios[b->nscenarios].name = strdup(bpg_blueprint_name(bp) ? bpg_blueprint_name(bp) : "");
		b->nscenarios++;
		if (!b->scenarios[b->nscenarios - 1].file || !b->scenarios[b->nscenarios - 1].name)
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
done:
	bpg_blueprint_free(bp);
	bpg_buf_dispose(&abs);
	bpg_buf_dispose(&data);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_scenario(const void *a, const void *b)
{
	return strcmp(((const bpg_bundle_scenario *)a)->file, ((const bpg_bundle_scenario *)b)->file);
}

/* Default patterns: "*.<ext>" of each file's name, or the name when it has no extension. */
static int set_patterns(bpg_bundle *b, const bpg_bundle_create_opts *o, bpg_error *err)
{
	size_t n = o->patterns ? o->npatterns : b->nfiles, k = 0;

	if (!(b->patterns = calloc(n + 1, sizeof(char *))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		bpg_buf p = BPG_BUF_INIT;
		int prc;
		if (o->patterns) {
			prc = bpg_buf_puts(&p, o->patterns[i]);
		} else {
			const char *base = strrchr(b->files[i].path, '/');
			const char *dot;
			base = base ? base + 1 : b->files[i].path;
			dot = strrchr(base, '.');
			if (dot && dot != base)
				prc = bpg_buf_printf(&p, "*%s", dot);
			else
				prc = bpg_buf_puts(&p, base);
		}
		if (prc < 0 || !p.ptr) {
			bpg_buf_dispose(&p);
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		}
		if (p.size == 0 || p.size > 256 || !sign_text_ok(p.ptr)) {
			bpg_buf_dispose(&p);
			return bpg_error_set(err, BPG_EINVALID, "pattern %zu: expected 1-256 printable characters", i + 1);
		}
		b->patterns[k++] = bpg_buf_detach(&p);
	}
	qsort(b->patterns, k, sizeof(char *), cmp_str);
	b->npatterns = 0;
	for (size_t i = 0; i < k; i++) {
		if (b->npatterns && strcmp(b->patterns[b->npatterns - 1], b->patterns[i]) == 0)
			free(b->patterns[i]);
		else
			b->patterns[b->npatterns++] = b->patterns[i];
	}
	return 0;
}

/* HEAD of the repository around dir, and the creator from its configuration. */
static int git_facts(bpg_bundle *b, const char *dir, bool want_commit, bool want_creator, bpg_error *err)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_buf name = { 0 }, email = { 0 };
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	git_libgit2_init();
	if (git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0)
		goto done; /* not in a repository: no commit, creator from the environment */
	if (want_commit && git_reference_name_to_id(&oid, repo, "HEAD") == 0) {
		git_oid_tostr(hex, sizeof(hex), &oid);
		if (!(b->commit = strdup(hex))) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (want_creator && git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string_buf(&name, cfg, "user.name") == 0 &&
	    git_config_get_string_buf(&email, cfg, "user.email") == 0) {
		bpg_buf c = BPG_BUF_INIT;
		if (bpg_buf_printf(&c, "%s <%s>", name.ptr, email.ptr) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		b->creator = bpg_buf_detach(&c);
	}
done:
	git_buf_dispose(&name);
	git_buf_dispose(&email);
	git_config_free(cfg);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

static char *default_creator(void)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if ((!u || !*u) && (pw = getpwuid(getuid())))
		u = pw->pw_name;
	return strdup(u && *u ? u : "unknown");
}

static char *created_at(long long t)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char text[32];
	struct tm tm;
	time_t tt;

	if (t < 0 && sde && *sde)
		t = strtoll(sde, NULL, 10);
	tt = t < 0 ? time(NULL) : (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return strdup(text);
}

int bpg_bundle_create(bpg_bundle **out, const char *manifest_path, const char *const *files, size_t nfiles,
	const bpg_bundle_create_opts *opts, bpg_error *err)
{
	static const bpg_bundle_create_opts defaults = BPG_BUNDLE_CREATE_OPTS_INIT;
	bpg_buf mabs = BPG_BUF_INIT;
	bpg_bundle *b = NULL;
	char *slash;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!opts->environment || !bundle_env_ok(opts->environment))
		return bpg_error_set(err, BPG_EINVALID,
			"the target environment (--env) must be 1-64 characters of [A-Za-z0-9._-]");
	if (nfiles == 0 || nfiles > BPG_BUNDLE_MAX_FILES)
		return bpg_error_set(err, BPG_EINVALID, "a bundle lists 1 to %d files", BPG_BUNDLE_MAX_FILES);
	if (!(b = calloc(1, sizeof(*b))) || !(b->files = calloc(nfiles, sizeof(*b->files))) ||
	    !(b->scenarios = calloc(nfiles, sizeof(*b->scenarios)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = resolve(&mabs, manifest_path, err)) < 0)
		goto done;
	slash = strrchr(mabs.ptr, '/');
	*slash = '\0'; /* mabs is now the manifest's directory ("" for "/") */
	for (size_t i = 0; i < nfiles; i++) {
		if ((rc = add_file(b, mabs.ptr, files[i], err)) < 0)
			goto done;
		if (strcmp(b->files[b->nfiles - 1].path, slash + 1) == 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: the manifest cannot list itself", files[i]);
			goto done;
		}
	}
	qsort(b->files, b->nfiles, sizeof(*b->files), bundle_file_cmp);
	qsort(b->scenarios, b->nscenarios, sizeof(*b->scenarios), cmp_scenario);
	for (size_t i = 1; i < b->nfiles; i++)
		if (strcmp(b->files[i].path, b->files[i - 1].path) == 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: listed twice", b->files[i].path);
			goto done;
		}
	if ((rc = set_patterns(b, opts, err)) < 0)
		goto done;
	if ((rc = git_facts(b, mabs.ptr[0] ? mabs.ptr : "/", !opts->no_git, !opts->creator && !opts->no_git,
		     err)) < 0)
		goto done;
	if (!b->creator)
		b->creator = opts->creator ? strdup(opts->creator) : default_creator();
	b->environment = strdup(opts->environment);
	b->created = created_at(opts->created);
	if (!b->creator || !b->environment || !b->created) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (!sign_text_ok(b->creator)) {
		rc = bpg_error_set(err, BPG_EINVALID, "the creator must not contain control characters");
		goto done;
	}
	*out = b;
	b = NULL;
done:
	bpg_buf_dispose(&mabs);
	bpg_bundle_free(b);
	return rc;
}
