/* The bundle check: signed by a releaser, and the tree's files match the manifest. */
#include "bundle_internal.h"
#include "bpgate/testhook.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	bpg_bundle_problem_kind kind;
	char *path;
	char *detail;
} problem;

struct bpg_bundle_result {
	bpg_bundle *bundle;
	char *principal;
	char *trusted;
	problem *problems;
	size_t nproblems, aproblems;
	bpg_bundle_problem view; /* returned by bpg_bundle_result_problem() */
};

static const char *kind_names[] = {
	"unsigned", "bad-signature", "not-releaser", "malformed", "mismatch", "missing", "extra",
};

const char *bpg_bundle_problem_kind_name(bpg_bundle_problem_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "unknown";
}

void bpg_bundle_result_free(bpg_bundle_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nproblems; i++) {
		free(res->problems[i].path);
		free(res->problems[i].detail);
	}
	free(res->problems);
	free(res->principal);
	free(res->trusted);
	bpg_bundle_free(res->bundle);
	free(res);
}

bool bpg_bundle_result_ok(const bpg_bundle_result *res)
{
	return res->nproblems == 0 && res->principal != NULL;
}

const char *bpg_bundle_result_principal(const bpg_bundle_result *res) { return res->principal; }
const char *bpg_bundle_result_trusted_comment(const bpg_bundle_result *res) { return res->trusted; }
const bpg_bundle *bpg_bundle_result_bundle(const bpg_bundle_result *res) { return res->bundle; }
size_t bpg_bundle_result_problem_count(const bpg_bundle_result *res) { return res->nproblems; }

const bpg_bundle_problem *bpg_bundle_result_problem(const bpg_bundle_result *res, size_t i)
{
	bpg_bundle_result *r = (bpg_bundle_result *)res;

	if (i >= res->nproblems)
		return NULL;
	r->view.kind = res->problems[i].kind;
	r->view.path = res->problems[i].path;
	r->view.detail = res->problems[i].detail;
	return &r->view;
}

static int add_problem(bpg_bundle_result *res, bpg_bundle_problem_kind kind, const char *path,
	bpg_error *err, const char *fmt, ...) BPG_PRINTF(5, 6);

static int add_problem(bpg_bundle_result *res, bpg_bundle_problem_kind kind, const char *path,
	bpg_error *err, const char *fmt, ...)
{
	bpg_buf d = BPG_BUF_INIT;
	va_list ap;
	problem *p;

	if (!(p = bpg_array_grow(res->problems, &res->aproblems, res->nproblems + 1, sizeof(*p), 8)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	res->problems = p;
	va_start(ap, fmt);
	int vrc = bpg_buf_vprintf(&d, fmt, ap);
	va_end(ap);
	if (vrc < 0) {
		bpg_buf_dispose(&d);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	p = &res->problems[res->nproblems];
	p->kind = kind;
	p->path = strdup(path);
	p->detail = bpg_buf_detach(&d);
	if (!p->path || !p->detail) {
		free(p->path);
		free(p->detail);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	res->nproblems++;
	return 0;
}

static int check_signature(bpg_bundle_result *res, const char *mpath, const char *manifest, size_t len,
	const char *sig, size_t siglen, const bpg_releaser *rel, size_t nrel, bpg_error *err)
{
	bpg_buf sigpath = BPG_BUF_INIT;
	bpg_minisign_sig *s = NULL;
	bpg_error e = { 0, "" };
	char id[BPG_MINISIGN_KEYID_SIZE];
	bool known = false;
	int rc = 0;

	if (bpg_buf_printf(&sigpath, "%s.minisig", mpath) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (!sig) {
		rc = add_problem(res, BPG_BUNDLE_UNSIGNED, sigpath.ptr, err,
			"the bundle is not signed: a releaser signs it with `bpgate bundle sign -s KEY %s`", mpath);
		goto done;
	}
	if (bpg_minisign_sig_parse(&s, sig, siglen, sigpath.ptr, &e) < 0) {
		rc = add_problem(res, BPG_BUNDLE_BAD_SIGNATURE, sigpath.ptr, err, "%s", e.message);
		goto done;
	}
	for (size_t i = 0; i < nrel && !res->principal; i++) {
		if (memcmp(rel[i].key.keynum, bpg_minisign_sig_keynum(s), BPG_MINISIGN_KEYNUM_SIZE) != 0)
			continue;
		known = true;
		if (bpg_minisign_sig_verify(s, &rel[i].key, manifest, len, 0, &e) == 0) {
			res->principal = strdup(rel[i].principal ? rel[i].principal : "");
			res->trusted = strdup(bpg_minisign_sig_trusted_comment(s));
			if (!res->principal || !res->trusted)
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	bpg_minisign_keyid(id, bpg_minisign_sig_keynum(s));
	if (!known)
		rc = add_problem(res, BPG_BUNDLE_NOT_RELEASER, sigpath.ptr, err,
			"signed by key %s, which is not the key of any releaser", id);
	else
		rc = add_problem(res, BPG_BUNDLE_BAD_SIGNATURE, sigpath.ptr, err,
			"%s: the manifest was changed after signing, or the signature is forged", e.message);
done:
	bpg_minisign_sig_free(s);
	bpg_buf_dispose(&sigpath);
	return rc;
}

static int join(bpg_buf *out, const char *dir, const char *path)
{
	bpg_buf_clear(out);
	return *dir ? bpg_buf_printf(out, "%s/%s", dir, path) : bpg_buf_puts(out, path);
}

static int check_files(bpg_bundle_result *res, const char *dir, const bpg_tree *tree, bpg_error *err)
{
	const bpg_bundle *b = res->bundle;
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
	char hex[65];
	int rc = 0;

	for (size_t i = 0; i < b->nfiles && rc == 0; i++) {
		bpg_error e = { 0, "" };
		if (join(&path, dir, b->files[i].path) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			break;
		}
		bpg_buf_clear(&data);
		rc = tree->read(&data, path.ptr, BPG_BUNDLE_FILE_MAX, tree->payload, &e);
		if (rc == BPG_ENOTFOUND) {
			rc = add_problem(res, BPG_BUNDLE_MISSING, path.ptr, err,
				"listed in the manifest but absent");
			continue;
		}
		if (rc < 0) {
			*err = e;
			break;
		}
		bpg_sha256_hex(hex, data.ptr ? data.ptr : "", data.size);
		if (strcmp(hex, b->files[i].sha256) != 0)
			rc = add_problem(res, BPG_BUNDLE_MISMATCH, path.ptr, err,
				"SHA-256 is %.12s..., the manifest says %.12s...: the file changed after the bundle "
				"was made", hex, b->files[i].sha256);
	}
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	return rc;
}

typedef struct {
	bpg_bundle_result *res;
	const char *dir;
	const char *manifest;   /* the manifest's name in dir: never its own extra file */
	bpg_error *err;
	int rc;
} extra_walk;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int visit_extra(const char *path, void *payload)
{
	extra_walk *w = payload;
	const bpg_bundle *b = w->res->bundle;
	size_t dl = strlen(w->dir);
	bpg_bundle_file key;
	const char *rel = path, *seg;
	bool hit = false;

	if (dl) {
		if (strncmp(path, w->dir, dl) != 0 || path[dl] != '/')
			return 0;
		rel = path + dl + 1;
	}
	for (seg = rel; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
		if (*seg == '.')
			return 0; /* dot-files and dot-directories (.git, .bpgate) are never extra */
	if (ends_with(rel, ".bundle.json") || ends_with(rel, ".minisig") || strcmp(rel, w->manifest) == 0)
		return 0;
	for (size_t i = 0; i < b->npatterns && !hit; i++)
		hit = bpg_glob_match(b->patterns[i], rel);
	key.path = rel;
	if (!hit || bsearch(&key, b->files, b->nfiles, sizeof(key), bundle_file_cmp))
		return 0;
	w->rc = add_problem(w->res, BPG_BUNDLE_EXTRA, path, w->err,
		"matches the bundle's patterns but is not listed in the manifest");
	return w->rc;
}

int bpg_bundle_check(bpg_bundle_result **out, const char *manifest_path, const char *manifest, size_t len,
	const char *sig, size_t siglen, const bpg_releaser *releasers, size_t nreleasers,
	const bpg_tree *tree, bpg_error *err)
{
	bpg_bundle_result *res = calloc(1, sizeof(*res));
	bpg_buf dir = BPG_BUF_INIT;
	const char *slash = strrchr(manifest_path, '/');
	bpg_error e = { 0, "" };
	int rc = 0;

	*out = NULL;
	if (!res || bpg_buf_put(&dir, manifest_path, slash ? (size_t)(slash - manifest_path) : 0) < 0 ||
	    bpg_buf_putc(&dir, '\0') < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = check_signature(res, manifest_path, manifest, len, sig, siglen, releasers, nreleasers,
		     err)) < 0)
		goto done;
	if (bpg_bundle_parse(&res->bundle, manifest, len, manifest_path, &e) < 0) {
		rc = add_problem(res, BPG_BUNDLE_MALFORMED, manifest_path, err, "%s", e.message);
		goto done;
	}
	if ((rc = check_files(res, dir.ptr, tree, err)) < 0)
		goto done;
	if (tree->list) {
		extra_walk w = { res, dir.ptr, slash ? slash + 1 : manifest_path, err, 0 };
		if ((rc = tree->list(dir.ptr, visit_extra, &w, tree->payload, err)) < 0 || (rc = w.rc) < 0)
			goto done;
	}
	*out = res;
	res = NULL;
done:
	bpg_buf_dispose(&dir);
	bpg_bundle_result_free(res);
	return rc;
}

static bool principal_ok(const char *p)
{
	if (!*p || *p == '.' || strlen(p) > 255)
		return false;
	for (; *p; p++)
		if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int bpg_releasers_load(bpg_releaser **out, size_t *nout, const bpg_tree *tree, const char *dir,
	const char *const *principals, size_t nprincipals, bpg_error *err)
{
	bpg_releaser *r = calloc(nprincipals + 1, sizeof(*r));
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (!r)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	for (size_t i = 0; i < nprincipals; i++) {
		if (!principal_ok(principals[i])) {
			rc = bpg_error_set(err, BPG_EINVALID,
				"releaser \"%s\": a principal cannot name a key file (empty, '/', leading '.')",
				principals[i]);
			goto done;
		}
		bpg_buf_clear(&path);
		bpg_buf_clear(&data);
		if (bpg_buf_printf(&path, "%s%s%s.pub", dir, *dir ? "/" : "", principals[i]) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		rc = tree->read(&data, path.ptr, BPG_MINISIGN_FILE_MAX, tree->payload, err);
		if (rc == BPG_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc < 0 || (rc = bpg_minisign_pubkey_parse(&r[n].key, data.ptr ? data.ptr : "", data.size,
				       path.ptr, err)) < 0)
			goto done;
		r[n++].principal = principals[i];
	}
	*out = r;
	*nout = n;
	r = NULL;
done:
	free(r);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	return rc;
}
