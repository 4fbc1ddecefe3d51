/*
 * The files of a policy, in memory: read from a directory here, or added one
 * by one by a caller that took them from a git tree.
 */
#include "engine.h"
#include "files.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int bpg_policy_files_new(bpg_policy_files **out, const char *display_root, bpg_error *err)
{
	bpg_policy_files *f = bpg_calloc(1, sizeof(*f));

	*out = NULL;
	if (!f || !(f->root = bpg_strdup(display_root ? display_root : ""))) {
		free(f);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	*out = f;
	return 0;
}

void bpg_policy_files_free(bpg_policy_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].display);
		free(f->v[i].data);
	}
	free(f->v);
	free(f->root);
	free(f);
}

static bool path_ok(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 1024)
		return false;
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '\\')
			return false;
	return strstr(p, "..") == NULL;
}

/* bpg_policy_files_add() but for the duplicate check, which a caller that knows `path`
 * is new skips (one folder's names, read_dir: n^2/2 comparisons for ~100 tests) */
static int files_add(bpg_policy_files *f, const char *path, const void *data, size_t len, bool unique,
	bpg_error *err)
{
	bpg_policy_file *e;

	if (!path_ok(path))
		return bpg_error_set(err, BPG_EINVALID, "policy file name '%s' is not a plain relative path", path);
	if (len > BPG_POLICY_FILE_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %zu bytes", path, BPG_POLICY_FILE_MAX);
	if (f->n >= BPG_POLICY_MAX_FILES)
		return bpg_error_set(err, BPG_ETOOBIG, "more than %d policy files", BPG_POLICY_MAX_FILES);
	for (size_t i = 0; !unique && i < f->n; i++)
		if (strcmp(f->v[i].path, path) == 0)
			return bpg_error_set(err, BPG_EINVALID, "policy file '%s' given twice", path);
	if (!(e = bpg_array_grow(f->v, &f->cap, f->n + 1, sizeof(*e), 8)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	f->v = e;
	e = &f->v[f->n];
	memset(e, 0, sizeof(*e));
	e->path = bpg_strdup(path);
	e->data = bpg_malloc(len + 1);
	size_t dlen = strlen(f->root) + strlen(path) + 2;
	e->display = bpg_malloc(dlen);
	if (!e->path || !e->data || !e->display) {
		free(e->path);
		free(e->data);
		free(e->display);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	snprintf(e->display, dlen, "%s%s%s", f->root, *f->root ? "/" : "", path);
	f->n++;
	return 0;
}

int bpg_policy_files_add(bpg_policy_files *f, const char *path, const void *data, size_t len,
	bpg_error *err)
{
	return files_add(f, path, data, len, false, err);
}

const bpg_policy_file *bpg_policy_files_find(const bpg_policy_files *f, const char *path)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].path, path) == 0)
			return &f->v[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void bpg_policy_tests_hash_init(crypto_generichash_state *st)
{
	crypto_generichash_init(st, NULL, 0, 32);
}

void bpg_policy_tests_hash_add(crypto_generichash_state *st, const char *path, const char *data, size_t len)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)len >> (8 * i));
	crypto_generichash_update(st, (const unsigned char *)path, strlen(path) + 1);
	crypto_generichash_update(st, b, sizeof(b));
	crypto_generichash_update(st, (const unsigned char *)data, len);
}

/* Stat <dir>/<rel> (`dfd`: <dir>/<sub>, `name` the file's name there: one path step)
 * into `tests` (a hash state of stat data, read_dir_hooks) and list it with empty data. */
static int stat_file(bpg_policy_files *f, const char *dir, int dfd, const char *rel, const char *name,
	crypto_generichash_state *tests, bpg_error *err)
{
	struct stat st;
	uint64_t v[9];
	unsigned char b[sizeof(v)];

	if (fstatat(dfd, name, &st, 0) < 0)
		return bpg_error_set(err, BPG_EIO, "%s/%s: cannot read: %s", dir, rel, strerror(errno));
	v[0] = (uint64_t)st.st_dev, v[1] = (uint64_t)st.st_ino, v[2] = (uint64_t)st.st_mode;
	v[3] = (uint64_t)st.st_size, v[4] = (uint64_t)st.st_mtim.tv_sec, v[5] = (uint64_t)st.st_mtim.tv_nsec;
	v[6] = (uint64_t)st.st_ctim.tv_sec, v[7] = (uint64_t)st.st_ctim.tv_nsec, v[8] = 0;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(v[i / 8] >> (8 * (i % 8)));
	crypto_generichash_update(tests, (const unsigned char *)rel, strlen(rel) + 1);
	crypto_generichash_update(tests, b, sizeof(b));
	if ((long long)st.st_mtim.tv_sec > f->tests_newest)
		f->tests_newest = (long long)st.st_mtim.tv_sec;
	if ((long long)st.st_ctim.tv_sec > f->tests_newest)
		f->tests_newest = (long long)st.st_ctim.tv_sec;
	return files_add(f, rel, "", 0, true, err);
}

int bpg_policy_files_tests_digest(const bpg_policy_files *f, unsigned char out[32])
{
	crypto_generichash_state st;
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
	bpg_error err;
	int rc = 0;

	if (f->tests_digest_known) {
		memcpy(out, f->tests_digest, 32);
		return 0;
	}
	bpg_policy_tests_hash_init(&st);
	for (size_t i = 0; rc == 0 && i < f->n; i++) {
		const bpg_policy_file *pf = &f->v[i];
		if (strncmp(pf->path, "tests/", 6) != 0)
			continue;
		if (!f->tests_hashed) {
			bpg_policy_tests_hash_add(&st, pf->path, pf->data, pf->len);
			continue;
		}
		bpg_buf_clear(&path);
		bpg_buf_clear(&data);
		if ((rc = bpg_buf_printf(&path, "%s/%s", f->root, pf->path)) == 0 &&
		    (rc = bpg_file_read(&data, path.ptr, BPG_POLICY_FILE_MAX, &err)) == 0)
			bpg_policy_tests_hash_add(&st, pf->path, data.ptr ? data.ptr : "", data.size);
	}
	if (rc == 0)
		crypto_generichash_final(&st, out, 32);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	return rc;
}

/* Read <dir>/<rel> and add it. */
static int add_file(bpg_policy_files *f, const char *dir, const char *rel, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_buf_printf(&path, "%s/%s", dir, rel)) < 0)
		goto done;
	if ((rc = bpg_file_read(&data, path.ptr, BPG_POLICY_FILE_MAX, err)) < 0)
		goto done;
	rc = bpg_policy_files_add(f, rel, data.ptr ? data.ptr : "", data.size, err);
done:
	if (rc == BPG_ENOMEM)
		bpg_error_set(err, rc, "out of memory");
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	return rc;
}

/* Add <dir>/<sub>/ *.json in name order (missing folder: nothing). */
static int add_folder(bpg_policy_files *f, const char *dir, const char *sub, crypto_generichash_state *tests,
	bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int rc = 0;

	if ((rc = bpg_buf_printf(&path, "%s/%s", dir, sub)) < 0)
		goto done;
	if (!(d = opendir(path.ptr))) {
		if (errno != ENOENT)
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot open: %s", path.ptr, strerror(errno));
		goto done;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		char **v = bpg_array_grow(names, &cap, n + 1, sizeof(*v), 16);
		if (!v) {
			rc = BPG_ENOMEM;
			goto done;
		}
		names = v;
		if (!(names[n] = bpg_malloc(strlen(sub) + l + 2))) {
			rc = BPG_ENOMEM;
			goto done;
		}
		sprintf(names[n++], "%s/%s", sub, de->d_name);
		if (n > BPG_POLICY_MAX_FILES) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s: more than %d files", path.ptr, BPG_POLICY_MAX_FILES);
			goto done;
		}
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = tests ? stat_file(f, dir, dirfd(d), names[i], names[i] + strlen(sub) + 1, tests, err) :
			add_file(f, dir, names[i], err);
done:
	if (rc == BPG_ENOMEM)
		bpg_error_set(err, rc, "out of memory");
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	bpg_buf_dispose(&path);
	return rc;
}

static bool is_file(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
		return false;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_dir(bpg_policy_files **out, const char *dir, bool hash_tests, bpg_error *err)
{
	crypto_generichash_state tests;
	bpg_policy_files *f = NULL;
	bpg_buf root = BPG_BUF_INIT;
	int rc;

	*out = NULL;
	if (is_file(dir, "policy.json"))
		rc = bpg_buf_puts(&root, dir);
	else if (is_file(dir, ".bpgate/policy.json"))
		rc = bpg_buf_printf(&root, "%s/.bpgate", dir);
	else {
		rc = bpg_error_set(err, BPG_ENOTFOUND,
			"%s: no policy.json nor .bpgate/policy.json; run 'bpgate init' in the repository "
			"or name the folder that holds policy.json", dir);
		goto done;
	}
	if (rc < 0 || (rc = bpg_policy_files_new(&f, root.ptr, err)) < 0)
		goto done;
	if ((rc = add_file(f, root.ptr, "policy.json", err)) < 0)
		goto done;
	if (is_file(root.ptr, "allowed_signers") &&
	    (rc = add_file(f, root.ptr, "allowed_signers", err)) < 0)
		goto done;
	if (hash_tests) {
		/* sodium_init picks this CPU's fastest BLAKE2b (idempotent) */
		if (sodium_init() < 0) {
			rc = bpg_error_set(err, BPG_ERROR, "libsodium failed to start");
			goto done;
		}
		bpg_policy_tests_hash_init(&tests);
	}
	if ((rc = add_folder(f, root.ptr, "contracts", NULL, err)) < 0 ||
	    (rc = add_folder(f, root.ptr, "environments", NULL, err)) < 0 ||
	    (rc = add_folder(f, root.ptr, "tests", hash_tests ? &tests : NULL, err)) < 0)
		goto done;
	if (hash_tests) {
		crypto_generichash_final(&tests, f->tests_stat, sizeof(f->tests_stat));
		f->tests_stat_known = true;
		f->tests_hashed = true; /* listed without their bytes */
	}
	*out = f;
	f = NULL;
done:
	if (rc == BPG_ENOMEM)
		bpg_error_set(err, rc, "out of memory");
	bpg_policy_files_free(f);
	bpg_buf_dispose(&root);
	return rc;
}

int bpg_policy_files_read_dir(bpg_policy_files **out, const char *dir, bpg_error *err)
{
	return read_dir(out, dir, false, err);
}

int bpg_policy_files_read_dir_hooks(bpg_policy_files **out, const char *dir, bpg_error *err)
{
	return read_dir(out, dir, true, err);
}
