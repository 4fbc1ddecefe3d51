/* Questions rules ask of a policy (pure, borrowed results). */
#include "engine.h"

#include <string.h>

static bool any_glob(const json_t *globs, const char *path)
{
	size_t i;
	json_t *g;
	json_array_foreach(globs, i, g)
		if (json_is_string(g) && bpg_glob_match(json_string_value(g), path))
			return true;
	return false;
}

const json_t *bpg_catalog_match(const json_t *policy_json, const char *path)
{
	size_t i;
	json_t *e;
	if (!path)
		return NULL;
	json_array_foreach(json_object_get(policy_json, "catalog"), i, e)
		if (any_glob(json_object_get(e, "paths"), path))
			return e;
	return NULL;
}

const json_t *bpg_catalog_find(const json_t *policy_json, const char *id)
{
	size_t i;
	json_t *e;
	if (!id)
		return NULL;
	json_array_foreach(json_object_get(policy_json, "catalog"), i, e) {
		const char *eid = json_string_value(json_object_get(e, "id"));
		if (eid && strcmp(eid, id) == 0)
			return e;
	}
	return NULL;
}

const json_t *bpg_pol_catalog_for(const bpg_policy *p, const char *path)
{
	return bpg_catalog_match(p->root, path);
}

/* Default globs when policy.json has no "paths" section. */
static const char *default_glob(const char *kind)
{
	if (strcmp(kind, "blueprints") == 0)
		return "**/*.blueprint.json";
	if (strcmp(kind, "fixtures") == 0)
		return "**/fixtures/**";
	if (strcmp(kind, "uat") == 0)
		return "**/uat/**";
	if (strcmp(kind, "bundles") == 0)
		return "**/*.bundle.json";
	return NULL;
}

bool bpg_pol_path_is(const bpg_policy *p, const char *kind, const char *path)
{
	const json_t *globs = json_object_get(json_object_get(p->root, "paths"), kind);
	if (globs)
		return any_glob(globs, path);
	const char *g = default_glob(kind);
	return g && bpg_glob_match(g, path);
}

const char *bpg_pol_env_for_path(const bpg_policy *p, const char *path)
{
	const char *k;
	json_t *e;
	json_object_foreach(json_object_get(p->root, "environments"), k, e)
		if (any_glob(json_object_get(e, "paths"), path))
			return k;
	return NULL;
}

bool bpg_pol_has_role(const bpg_policy *p, const char *role, const char *principal)
{
	if (!principal)
		return false;
	return bpg_strings_has(json_object_get(json_object_get(p->root, "roles"), role), principal);
}

bool bpg_pol_is_high_risk(const bpg_policy *p, const char *tier)
{
	const json_t *h = json_object_get(p->root, "high_risk_tiers");
	if (!tier)
		return false;
	return h ? bpg_strings_has(h, tier) : strcmp(tier, "high") == 0;
}

const json_t *bpg_pol_exception(const bpg_policy *p, const json_t *entry, const char *rule,
	long long module_id, const char *now)
{
	size_t i;
	json_t *x;
	(void)p;
	json_array_foreach(json_object_get(entry, "exceptions"), i, x) {
		const char *r = bpg_jstr(x, "rule"), *exp = bpg_jstr(x, "expires");
		const json_t *mid = json_object_get(x, "module_id");
		if (!r || strcmp(r, rule) != 0)
			continue;
		if (mid && module_id && json_integer_value(mid) != module_id)
			continue;
		/* expires is a date: valid through that day (UTC); time is a fact */
		if (exp && now && strncmp(now, exp, 10) > 0)
			continue;
		return x;
	}
	return NULL;
}

bool bpg_file_is_blueprint(const bpg_policy *p, const json_t *file)
{
	const char *path = bpg_jstr(file, "path"), *status = bpg_jstr(file, "status");
	if (!path || (status && strcmp(status, "deleted") == 0))
		return false;
	return json_object_get(file, "blueprint") || json_object_get(file, "parse_error") ||
		bpg_pol_path_is(p, "blueprints", path);
}
