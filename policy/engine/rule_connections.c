/*
 * connections: a blueprint uses only the connections and webhooks its catalog
 * entry allows for the blueprint's environment: no prod connection or
 * webhook in a dev or stage blueprint, and the reverse. The environment of a
 * blueprint is, in order: the environment whose "paths" match the file, the
 * file's "environment" fact, the change's "environment" fact. With none,
 * any id catalogued for some environment passes.
 */
#include "engine.h"
#include "bpfacts.h"

#include <string.h>

static const bpg_sfield no_params[] = { { NULL, NULL, false, NULL } };

/* The environment (other than env) that lists id, or NULL. */
static const char *other_env(const json_t *map, const char *env, const char *id)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
		if ((!env || strcmp(k, env) != 0) && bpg_strings_has(v, id))
			return k;
	return NULL;
}

static int check_ref(bpg_eval *ev, const json_t *entry, const char *env, const char *path,
	const json_t *ref)
{
	const char *kind = bpg_jstr(ref, "kind"), *id = bpg_jstr(ref, "value");
	const char *map_key = NULL;

	if (!kind || !id)
		return 0;
	if (strcmp(kind, "connection") == 0)
		map_key = "connections";
	else if (strcmp(kind, "webhook") == 0)
		map_key = "webhooks";
	else
		return 0;
	const json_t *map = json_object_get(entry, map_key);
	if (env && bpg_strings_has(json_object_get(map, env), id))
		return 0;
	const char *other = other_env(map, env, id);
	if (!env && other)
		return 0;
	bpg_where w = { path, bpg_jstr(ref, "pointer"), NULL, NULL, 0, 0 };
	if (other)
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"point the module at the connection catalogued for this environment",
			"%s %s belongs to environment '%s' but this is a %s blueprint of scenario '%s'",
			kind, id, other, env, bpg_jstr(entry, "id"));
	return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
		"use a catalogued one, or add the id to the scenario's catalog entry for this environment",
		"%s %s is not catalogued for scenario '%s'%s%s", kind, id, bpg_jstr(entry, "id"),
		env ? " in environment " : "", env ? env : "");
}

static int eval(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const char *change_env = bpg_jstr(bpg_ev_facts(ev), "environment");
	size_t i, j, k;
	json_t *f, *m, *r;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path");
		const json_t *entry;
		if (!bp || !bpg_file_is_blueprint(p, f) || !(entry = bpg_pol_catalog_for(p, path)))
			continue;
		const char *env = bpg_pol_env_for_path(p, path);
		if (!env)
			env = bpg_jstr(f, "environment");
		if (!env)
			env = change_env;
		json_array_foreach(json_object_get(bp, "modules"), j, m)
			json_array_foreach(json_object_get(m, "refs"), k, r)
				if ((rc = check_ref(ev, entry, env, path, r)) < 0)
					return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_connections = {
	.info = { "connections", "only catalogued connections and webhooks for the blueprint's environment", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval,
};
