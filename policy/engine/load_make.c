/*
 * Loading the link to Make: environments.<env>.make, the catalog's
 * "blueprint" and "make", and the reference maps (environments/<env>.json:
 * the id of each connection, webhook, key, data store, data structure and
 * device as blueprints in git hold it -> that environment's id). Shapes are
 * checked by the schema tables; the checks here are the ones a table cannot
 * say. Every problem is a located diagnostic.
 */
#include "engine.h"
#include "files.h"
#include "bpgate/jsonfast.h"

#include <stdlib.h>
#include <string.h>

/* ---- schemas ---------------------------------------------------------------- */

static const char *const deploy_modes[] = { "manual", "auto", NULL };
static const bpg_schema deploy_s = { SK_ENUM, NULL, NULL, deploy_modes };
/* who may operate the environment through the server (bpg_policy_env_make_may) */
static const bpg_sfield make_roles_fields[] = {
	{ "deploy", &bpg_s_strings, false, NULL },
	{ "disable", &bpg_s_strings, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema make_roles_s = { SK_OBJECT, make_roles_fields, NULL, NULL };
static const bpg_sfield env_make_fields[] = {
	{ "zone", &bpg_s_nonempty, false, NULL },
	{ "team_id", &bpg_s_int, true, NULL },
	{ "folder_id", &bpg_s_int, false, NULL },
	{ "api_url", &bpg_s_nonempty, false, NULL },
	{ "deploy", &deploy_s, false, NULL },
	{ "roles", &make_roles_s, false, NULL },
	{ NULL, NULL, false, NULL },
};
const bpg_schema bpg_s_env_make = { SK_OBJECT, env_make_fields, NULL, NULL };
const bpg_schema bpg_s_scenario_make = { SK_MAP, NULL, &bpg_s_int, NULL };

/* The six kinds of reference a map names, in the order Make's clone endpoint lists them. */
const char *const bpg_refmap_kinds[] = { "account", "hook", "keychain", "datastore", "udt", "device", NULL };

static const bpg_schema idmap_s = { SK_MAP, NULL, &bpg_s_scalar, NULL };
static const bpg_sfield references_fields[] = {
	{ "account", &idmap_s, false, NULL },
	{ "hook", &idmap_s, false, NULL },
	{ "keychain", &idmap_s, false, NULL },
	{ "datastore", &idmap_s, false, NULL },
	{ "udt", &idmap_s, false, NULL },
	{ "device", &idmap_s, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema references_s = { SK_OBJECT, references_fields, NULL, NULL };
static const bpg_sfield refmap_fields[] = {
	{ "version", &bpg_s_int, true, NULL },
	{ "references", &references_s, true, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema refmap_s = { SK_OBJECT, refmap_fields, NULL, NULL };

/* ---- helpers ------------------------------------------------------------------- */

/* ptr = base + "/" + escaped key + tail (tail may be NULL). */
static int ptr_key(bpg_buf *ptr, const char *base, const char *key, const char *tail)
{
	int rc;
	bpg_buf_clear(ptr);
	if ((rc = bpg_buf_puts(ptr, base)) == 0 && (rc = bpg_jsonptr_push(ptr, key, strlen(key))) == 0 && tail)
		rc = bpg_buf_puts(ptr, tail);
	return rc;
}

#define DIAG(vc, ptr, key, ...) \
	bpg_diags_add((vc)->diags, (vc)->file, (vc)->text, (vc)->len, (ptr), (key), NULL, __VA_ARGS__)

/* A host name as a zone: letters, digits, '.', '-', optional ":port"; no scheme, path or user. */
static bool zone_ok(const char *z)
{
	size_t n = strlen(z), i = 0;
	if (n == 0 || n > 253 || z[0] == '.' || z[0] == '-')
		return false;
	for (; i < n && z[i] != ':'; i++) {
		char c = z[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	if (i < n) { /* ":port" */
		if (i + 1 == n || n - i - 1 > 5)
			return false;
		for (i++; i < n; i++)
			if (z[i] < '0' || z[i] > '9')
				return false;
	}
	return true;
}

/* api_url: https://<host>..., or plain http only to the loopback (the tests' stand-in). */
static bool api_url_ok(const char *u)
{
	static const char *const loopback[] = { "http://127.0.0.1", "http://localhost", "http://[::1]", NULL };
	for (const char *s = u; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '\\')
			return false;
	if (strncmp(u, "https://", 8) == 0)
		return u[8] && u[8] != '/' && u[8] != ':' && !strchr(u, '@');
	for (size_t i = 0; loopback[i]; i++) {
		size_t l = strlen(loopback[i]);
		/* the host must end there: http://127.0.0.1.evil.example is not the loopback */
		if (strncmp(u, loopback[i], l) == 0 && (u[l] == '\0' || u[l] == ':' || u[l] == '/'))
			return !strchr(u, '@');
	}
	return false;
}

/* A plain relative path: no leading '/', no empty, "." or ".." component, no '\\' or control byte. */
static bool rel_path_ok(const char *p)
{
	const char *s = p;
	if (!*p || *p == '/' || strlen(p) > 1024)
		return false;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		for (size_t i = 0; i < l; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == '\\' || s[i] == 0x7f)
				return false;
		s += l;
		if (*s == '/')
			s++;
		else
			break;
	}
	return p[strlen(p) - 1] != '/';
}

static bool any_glob(const json_t *globs, const char *path)
{
	size_t i;
	json_t *g;
	json_array_foreach(globs, i, g)
		if (json_is_string(g) && bpg_glob_match(json_string_value(g), path))
			return true;
	return false;
}

/* ---- environments.<env>.make ------------------------------------------------------ */

static int check_env_make(bpg_vctx *vc, const char *env, const json_t *m, bpg_buf *ptr)
{
	const json_t *team = json_object_get(m, "team_id"), *folder = json_object_get(m, "folder_id");
	const char *zone = bpg_jstr(m, "zone"), *url = bpg_jstr(m, "api_url");
	int rc = 0;

	if (!json_object_get(m, "zone") && !json_object_get(m, "api_url")) {
		if ((rc = ptr_key(ptr, "/environments", env, "/make")) == 0)
			rc = DIAG(vc, ptr->ptr, false, "environment '%s' names neither 'zone' (e.g. \"eu1.make.com\") "
				"nor 'api_url' in its 'make' block", env);
		if (rc < 0)
			return rc;
	}
	if (zone && !zone_ok(zone)) {
		if ((rc = ptr_key(ptr, "/environments", env, "/make/zone")) == 0)
			rc = DIAG(vc, ptr->ptr, false, "zone must be a host name such as \"eu1.make.com\" "
				"(no scheme, path or user)");
		if (rc < 0)
			return rc;
	}
	if (url && !api_url_ok(url)) {
		if ((rc = ptr_key(ptr, "/environments", env, "/make/api_url")) == 0)
			rc = DIAG(vc, ptr->ptr, false, "api_url must start with https:// (plain http only to "
				"http://127.0.0.1, http://localhost or http://[::1]), without user info or spaces");
		if (rc < 0)
			return rc;
	}
	if (json_is_integer(team) && json_integer_value(team) <= 0) {
		if ((rc = ptr_key(ptr, "/environments", env, "/make/team_id")) == 0)
			rc = DIAG(vc, ptr->ptr, false, "team_id must be a Make team id (an integer > 0)");
		if (rc < 0)
			return rc;
	}
	if (json_is_integer(folder) && json_integer_value(folder) <= 0) {
		if ((rc = ptr_key(ptr, "/environments", env, "/make/folder_id")) == 0)
			rc = DIAG(vc, ptr->ptr, false, "folder_id must be a Make folder id (an integer > 0); "
				"leave it out for none");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- catalog "blueprint" and "make" ------------------------------------------------ */

static int check_entry(bpg_vctx *vc, const json_t *root, const json_t *catalog, size_t i, bpg_buf *ptr)
{
	const json_t *e = json_array_get(catalog, i), *make = json_object_get(e, "make");
	const json_t *envs = json_object_get(root, "environments");
	const char *bp = bpg_jstr(e, "blueprint");
	char base[64];
	const char *k;
	json_t *v;
	int rc = 0;

	snprintf(base, sizeof(base), "/catalog/%zu", i);
	if (make && !json_object_get(e, "blueprint")) {
		bpg_buf_clear(ptr);
		if ((rc = bpg_buf_printf(ptr, "%s/make", base)) == 0)
			rc = DIAG(vc, ptr->ptr, true, "'make' needs 'blueprint': the file pull writes and "
				"deploy reads (one of the entry's paths)");
		if (rc < 0)
			return rc;
	}
	if (bp) {
		const char *why = NULL;
		if (!rel_path_ok(bp))
			why = "blueprint must be a plain relative path in the repository (no '..', '.', "
				"empty component or leading '/')";
		else if (!any_glob(json_object_get(e, "paths"), bp))
			why = "blueprint must match one of the entry's paths";
		for (size_t j = 0; !why && j < i; j++) {
			const char *o = bpg_jstr(json_array_get(catalog, j), "blueprint");
			if (o && strcmp(o, bp) == 0)
				why = "blueprint names the same file as an earlier catalog entry";
		}
		if (why) {
			bpg_buf_clear(ptr);
			if ((rc = bpg_buf_printf(ptr, "%s/blueprint", base)) == 0)
				rc = DIAG(vc, ptr->ptr, false, "%s", why);
			if (rc < 0)
				return rc;
		}
	}
	json_object_foreach((json_t *)make, k, v) {
		char b2[80];
		const char *why = NULL;
		snprintf(b2, sizeof(b2), "%s/make", base);
		if (!json_object_get(envs, k)) {
			if ((rc = ptr_key(ptr, b2, k, NULL)) == 0)
				rc = DIAG(vc, ptr->ptr, true, "'%s' is not an environment of this policy; "
					"expected one of the keys of 'environments'", k);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!json_is_integer(v))
			continue; /* the schema said so */
		if (json_integer_value(v) <= 0)
			why = "a Make scenario id is an integer > 0";
		for (size_t j = 0; !why && j < i; j++) {
			const json_t *o = json_object_get(json_object_get(json_array_get(catalog, j), "make"), k);
			if (json_is_integer(o) && json_integer_value(o) == json_integer_value(v))
				why = "the same Make scenario is named by an earlier catalog entry for this environment";
		}
		if (why) {
			if ((rc = ptr_key(ptr, b2, k, NULL)) == 0)
				rc = DIAG(vc, ptr->ptr, false, "%s", why);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int bpg_check_make(bpg_vctx *vc, const json_t *root)
{
	const json_t *catalog = json_object_get(root, "catalog");
	bpg_buf ptr = BPG_BUF_INIT;
	const char *k;
	json_t *e;
	int rc = 0;

	json_object_foreach(json_object_get(root, "environments"), k, e) {
		const json_t *m = json_object_get(e, "make");
		if (json_is_object(m) && (rc = check_env_make(vc, k, m, &ptr)) < 0)
			goto done;
	}
	for (size_t i = 0; i < json_array_size(catalog); i++)
		if (json_is_object(json_array_get(catalog, i)) && (rc = check_entry(vc, root, catalog, i, &ptr)) < 0)
			goto done;
done:
	bpg_buf_dispose(&ptr);
	return rc;
}

/* ---- reference maps: environments/<env>.json ----------------------------------------- */

static int check_refmap(bpg_vctx *vc, const json_t *doc, bpg_buf *ptr)
{
	const json_t *refs = json_object_get(doc, "references"), *ver = json_object_get(doc, "version");
	int rc = 0;

	if (json_is_integer(ver) && json_integer_value(ver) != 1 &&
	    (rc = DIAG(vc, "/version", false, "expected reference map format version 1")) < 0)
		return rc;
	for (size_t k = 0; bpg_refmap_kinds[k]; k++) {
		const json_t *m = json_object_get(refs, bpg_refmap_kinds[k]);
		const char *id;
		json_t *v;
		char base[40];
		snprintf(base, sizeof(base), "/references/%s", bpg_refmap_kinds[k]);
		json_object_foreach((json_t *)m, id, v) {
			const char *why = NULL;
			if (json_is_object(v) || json_is_array(v))
				continue; /* the schema said so */
			if (!*id)
				why = "an id in git is never empty";
			else if (json_is_integer(v) ? json_integer_value(v) <= 0 :
			    !(json_is_string(v) && json_string_length(v) > 0))
				why = "expected the environment's id: an integer > 0 or a non-empty string";
			if (!why)
				continue;
			if ((rc = ptr_key(ptr, base, id, NULL)) == 0)
				rc = DIAG(vc, ptr->ptr, false, "%s at '%s'", why, ptr->ptr);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The references of a valid map with all six kinds present (an absent kind maps nothing). */
static int normalise(json_t **out, const json_t *doc)
{
	const json_t *refs = json_object_get(doc, "references");
	json_t *r = json_object();

	*out = NULL;
	if (!r)
		return BPG_ENOMEM;
	for (size_t k = 0; bpg_refmap_kinds[k]; k++) {
		const json_t *m = json_object_get(refs, bpg_refmap_kinds[k]);
		json_t *c = m ? json_deep_copy(m) : json_object();
		if (!c || json_object_set_new(r, bpg_refmap_kinds[k], c) < 0) {
			json_decref(r);
			return BPG_ENOMEM;
		}
	}
	*out = r;
	return 0;
}

bool bpg_is_refmap_path(const char *path)
{
	size_t l = strlen(path);
	return strncmp(path, "environments/", 13) == 0 && !strchr(path + 13, '/') && l > 13 + 5 &&
		strcmp(path + l - 5, ".json") == 0;
}

int bpg_load_refmaps(bpg_policy *p, bpg_diags *diags, const bpg_policy_files *files)
{
	const json_t *envs = json_object_get(p->root, "environments");
	bpg_buf ptr = BPG_BUF_INIT;
	int rc = 0;

	if (!(p->envmaps = json_object()))
		return BPG_ENOMEM;
	for (size_t i = 0; i < files->n && rc >= 0; i++) {
		const bpg_policy_file *f = &files->v[i];
		json_t *doc = NULL, *refs = NULL;
		json_error_t je;
		if (!bpg_is_refmap_path(f->path))
			continue;
		char *env = bpg_strdup(f->path + 13);
		if (!env) {
			rc = BPG_ENOMEM;
			break;
		}
		env[strlen(env) - 5] = '\0';
		bpg_vctx vc = { diags, f->display, f->data, f->len, NULL, NULL, 0 };
		size_t before = bpg_diags_count(diags);
		if (!(doc = bpg_json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je))) {
			rc = bpg_diags_add_at(diags, f->display, (unsigned)(je.line > 0 ? je.line : 1),
				(unsigned)(je.column > 0 ? je.column : 1), NULL, "not valid JSON: %s", je.text);
			goto next;
		}
		if (envs && !json_object_get(envs, env) &&
		    (rc = bpg_diags_add_at(diags, f->display, 0, 0, NULL, "'%s' is not an environment of this "
			"policy; a reference map is named environments/<environment>.json", env)) < 0)
			goto next;
		bpg_buf_clear(&ptr);
		if ((rc = bpg_schema_check(&vc, doc, &refmap_s, &ptr)) < 0 || (rc = check_refmap(&vc, doc, &ptr)) < 0)
			goto next;
		if (bpg_diags_count(diags) != before)
			goto next;
		if ((rc = normalise(&refs, doc)) == 0 && json_object_set_new(p->envmaps, env, refs) < 0)
			rc = BPG_ENOMEM;
next:
		json_decref(doc);
		free(env);
	}
	bpg_buf_dispose(&ptr);
	return rc < 0 ? rc : 0;
}
