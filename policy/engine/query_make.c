/*
 * The Make questions of bpgate/query.h: an environment's link to Make, the
 * environments a change can reach by promotion, the reference maps, the
 * catalog. The lists are built once when the policy loads (the index below),
 * so every answer is borrowed and no call allocates.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpg_make_index {
	const char **envs;        /* NULL-terminated, keys of policy.json environments (policy order) */
	size_t nenvs;
	const char ***reach;      /* per environment: NULL-terminated, env first */
	size_t *nreach;
	const json_t **catalog;   /* NULL-terminated, entries borrowed from policy.json */
	size_t ncatalog;
	json_t *foreign;          /* {"<kind>": {"<target id>": ["<env>", "<id in git>"]}} */
};

static const char *const no_strings[] = { NULL };
static const json_t *const no_entries[] = { NULL };

void bpg_make_index_free(struct bpg_make_index *mx)
{
	if (!mx)
		return;
	for (size_t i = 0; mx->reach && i < mx->nenvs; i++)
		free(mx->reach[i]);
	free(mx->reach);
	free(mx->nreach);
	free(mx->envs);
	free(mx->catalog);
	json_decref(mx->foreign);
	free(mx);
}

const char *bpg_refmap_value(char *buf, size_t size, const json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (!json_is_integer(v) || size < 24)
		return NULL;
	snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

static int env_index(const struct bpg_make_index *mx, const char *env)
{
	for (size_t i = 0; env && mx && i < mx->nenvs; i++)
		if (strcmp(mx->envs[i], env) == 0)
			return (int)i;
	return -1;
}

/* env, then every environment promoting from one already reached (breadth first, policy order). */
static int build_reach(struct bpg_make_index *mx, const json_t *envs, size_t i)
{
	const char **r = calloc(mx->nenvs + 1, sizeof(*r));
	size_t n = 0;

	if (!r)
		return BPG_ENOMEM;
	r[n++] = mx->envs[i];
	for (size_t q = 0; q < n; q++)
		for (size_t j = 0; j < mx->nenvs; j++) {
			const char *from = bpg_jstr(json_object_get(envs, mx->envs[j]), "promotes_from");
			bool seen = false;
			if (!from || strcmp(from, r[q]) != 0)
				continue;
			for (size_t s = 0; s < n; s++)
				seen |= strcmp(r[s], mx->envs[j]) == 0;
			if (!seen)
				r[n++] = mx->envs[j];
		}
	mx->reach[i] = r;
	mx->nreach[i] = n;
	return 0;
}

/* An id that an environment's map gives as its own id for another id in git. */
static int build_foreign(struct bpg_make_index *mx, const bpg_policy *p)
{
	if (!(mx->foreign = json_object()))
		return BPG_ENOMEM;
	for (size_t e = 0; e < mx->nenvs; e++) {
		const json_t *refs = json_object_get(p->envmaps, mx->envs[e]);
		if (!refs)
			continue;
		for (size_t k = 0; bpg_refmap_kinds[k]; k++) {
			const json_t *m = json_object_get(refs, bpg_refmap_kinds[k]);
			json_t *f = json_object_get(mx->foreign, bpg_refmap_kinds[k]);
			const char *git;
			json_t *v;
			json_object_foreach((json_t *)m, git, v) {
				char b[32], b2[32];
				const char *t = bpg_refmap_value(b, sizeof(b), v), *self;
				if (!t || strcmp(t, git) == 0)
					continue;
				self = bpg_refmap_value(b2, sizeof(b2), json_object_get(m, t));
				if ((self && strcmp(self, t) == 0) || json_object_get(f, t))
					continue; /* mapped to itself there; or named already */
				if (!f) {
					if (json_object_set_new(mx->foreign, bpg_refmap_kinds[k], json_object()) < 0)
						return BPG_ENOMEM;
					f = json_object_get(mx->foreign, bpg_refmap_kinds[k]);
				}
				json_t *who = json_pack("[ss]", mx->envs[e], git);
				if (!who || json_object_set_new(f, t, who) < 0)
					return BPG_ENOMEM;
			}
		}
	}
	return 0;
}

int bpg_make_index_build(bpg_policy *p)
{
	struct bpg_make_index *mx = calloc(1, sizeof(*mx));
	const json_t *envs = json_object_get(p->root, "environments");
	const json_t *catalog = json_object_get(p->root, "catalog");
	size_t n = json_object_size(envs), i;
	const char *k;
	json_t *v;
	int rc = BPG_ENOMEM;

	if (!mx || !(mx->envs = calloc(n + 1, sizeof(*mx->envs))) || !(mx->reach = calloc(n + 1, sizeof(*mx->reach))) ||
	    !(mx->nreach = calloc(n + 1, sizeof(*mx->nreach))) ||
	    !(mx->catalog = calloc(json_array_size(catalog) + 1, sizeof(*mx->catalog))))
		goto done;
	json_object_foreach((json_t *)envs, k, v)
		mx->envs[mx->nenvs++] = k;
	for (i = 0; i < mx->nenvs; i++)
		if ((rc = build_reach(mx, envs, i)) < 0)
			goto done;
	json_array_foreach(catalog, i, v)
		mx->catalog[mx->ncatalog++] = v;
	if ((rc = build_foreign(mx, p)) < 0)
		goto done;
	p->mx = mx;
	mx = NULL;
	rc = 0;
done:
	bpg_make_index_free(mx);
	return rc;
}

/* ---- the public questions ------------------------------------------------------------ */

bool bpg_policy_env_make(bpg_make_env *out, const bpg_policy *p, const char *env)
{
	const json_t *m = env ? json_object_get(json_object_get(json_object_get(p->root, "environments"), env), "make") : NULL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(m))
		return false;
	out->zone = bpg_jstr(m, "zone");
	out->api_url = bpg_jstr(m, "api_url");
	out->team_id = json_integer_value(json_object_get(m, "team_id"));
	out->folder_id = json_integer_value(json_object_get(m, "folder_id"));
	out->deploy = bpg_jstr(m, "deploy") ? bpg_jstr(m, "deploy") : "manual";
	return true;
}

size_t bpg_policy_envs(const char *const **out, const bpg_policy *p)
{
	*out = p->mx ? p->mx->envs : no_strings;
	return p->mx ? p->mx->nenvs : 0;
}

size_t bpg_policy_env_reach(const char *const **out, const bpg_policy *p, const char *env)
{
	int i = env_index(p->mx, env);
	*out = i >= 0 ? p->mx->reach[i] : no_strings;
	return i >= 0 ? p->mx->nreach[i] : 0;
}

const json_t *bpg_policy_env_refmap(const bpg_policy *p, const char *env)
{
	return env ? json_object_get(p->envmaps, env) : NULL;
}

size_t bpg_policy_catalog(const json_t *const **out, const bpg_policy *p)
{
	*out = p->mx ? p->mx->catalog : no_entries;
	return p->mx ? p->mx->ncatalog : 0;
}

const json_t *bpg_policy_catalog_find(const bpg_policy *p, const char *scenario)
{
	return bpg_catalog_find(p->root, scenario);
}

long long bpg_policy_scenario_make_id(const json_t *entry, const char *env)
{
	const json_t *v = env ? json_object_get(json_object_get(entry, "make"), env) : NULL;
	return json_is_integer(v) && json_integer_value(v) > 0 ? (long long)json_integer_value(v) : 0;
}

const char *bpg_policy_scenario_blueprint(const json_t *entry)
{
	return bpg_jstr(entry, "blueprint");
}

/* ---- for the connections rule ------------------------------------------------------------- */

const char *bpg_refmap_kind(const char *ref_kind)
{
	static const struct { const char *ref, *map; } t[] = {
		{ "connection", "account" }, { "webhook", "hook" }, { "keychain", "keychain" },
		{ "datastore", "datastore" }, { "datastructure", "udt" }, { "device", "device" },
	};
	for (size_t i = 0; ref_kind && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].ref, ref_kind) == 0)
			return t[i].map;
	return NULL;
}

bool bpg_pol_has_refmaps(const bpg_policy *p)
{
	return json_object_size(p->envmaps) > 0;
}

bool bpg_pol_refmap_foreign(const char **env, const char **git_id, const bpg_policy *p, const char *mkind,
	const char *id)
{
	const json_t *who = p->mx && mkind && id ? json_object_get(json_object_get(p->mx->foreign, mkind), id) : NULL;
	if (!who)
		return false;
	if (env)
		*env = json_string_value(json_array_get(who, 0));
	if (git_id)
		*git_id = json_string_value(json_array_get(who, 1));
	return true;
}
