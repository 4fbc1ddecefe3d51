/*
 * connections: the references a blueprint in git holds (connections,
 * webhooks, keys, data stores, data structures, devices) are the ones its
 * environments will really use.
 *
 * With reference maps (.bpgate/environments/<env>.json): blueprints in git
 * hold the source environment's ids and deploying rewrites them through each
 * environment's map, so the identical tree is promoted. For every reference
 * of a changed blueprint and every environment the change can reach
 * (bpg_policy_env_reach of the blueprint's environment; with none known —
 * local hooks — every environment that has a map):
 *   - an id that some environment's map gives as its own id for another id
 *     (and does not map to itself) never appears in git: prod's ids in a
 *     blueprint would reach prod unmapped, or be mapped again;
 *   - the id has a mapping in that environment's map (an environment without
 *     a map file uses the id as it is);
 *   - the catalog entry's per-environment "connections"/"webhooks" list, when
 *     it has one for that environment, names the mapped id (the id the
 *     environment really uses).
 * Without any map, the rule keeps its first meaning exactly: the ids in the
 * blueprint are those of the blueprint's environment and its catalog entry
 * lists them for that environment (no prod ids in dev/stage blueprints, and
 * the reverse). The environment of a blueprint is, in order: the environment
 * whose "paths" match the file, the file's "environment" fact, the change's
 * "environment" fact (and, with maps, the environments of its refs).
 */
#include "engine.h"
#include "bpfacts.h"

#include <stdlib.h>
#include <string.h>

static const bpg_sfield no_params[] = { { NULL, NULL, false, NULL } };

/* ---- without reference maps: the first meaning ------------------------------------------- */

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

static const char *catalog_key(const char *kind)
{
	if (strcmp(kind, "connection") == 0)
		return "connections";
	if (strcmp(kind, "webhook") == 0)
		return "webhooks";
	return NULL;
}

static int check_ref_legacy(bpg_eval *ev, const json_t *entry, const char *env, const char *path,
	const json_t *ref)
{
	const char *kind = bpg_jstr(ref, "kind"), *id = bpg_jstr(ref, "value");
	const char *map_key;

	if (!kind || !id || !(map_key = catalog_key(kind)))
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

/* ---- with reference maps ------------------------------------------------------------- */

/* Mark in on[] (indexed like bpg_policy_envs) the environments reachable from env. */
static bool mark_reach(bool *on, const bpg_policy *p, const char *env)
{
	const char *const *envs, *const *r;
	size_t n = bpg_policy_envs(&envs, p), nr = bpg_policy_env_reach(&r, p, env);
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < n; j++)
			if (strcmp(r[i], envs[j]) == 0)
				on[j] = true;
	return nr > 0;
}

/* The environments a change reaches: those of its "environment" fact and of its refs; with
 * none the policy knows (local hooks), every environment that has a map. */
static void change_targets(bool *on, const bpg_policy *p, const json_t *facts)
{
	const char *const *envs;
	size_t n = bpg_policy_envs(&envs, p), i;
	bool any;
	json_t *r;

	memset(on, 0, (n + 1) * sizeof(*on));
	any = mark_reach(on, p, bpg_jstr(facts, "environment"));
	json_array_foreach(json_object_get(facts, "refs"), i, r)
		any |= mark_reach(on, p, bpg_jstr(r, "environment"));
	if (!any)
		for (i = 0; i < n; i++)
			on[i] = bpg_policy_env_refmap(p, envs[i]) != NULL;
}

static int check_ref_mapped(bpg_eval *ev, const bool *on, const json_t *entry, const char *path,
	const json_t *ref)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const char *kind = bpg_jstr(ref, "kind"), *id = bpg_jstr(ref, "value");
	const char *mkind = bpg_refmap_kind(kind), *owner = NULL, *git = NULL;
	const char *const *envs;
	size_t n = bpg_policy_envs(&envs, p);
	bpg_buf missing = BPG_BUF_INIT;
	int rc = 0;

	if (!id || !mkind)
		return 0;
	bpg_where w = { path, bpg_jstr(ref, "pointer"), NULL, NULL, 0, 0 };
	if (bpg_pol_refmap_foreign(&owner, &git, p, mkind, id))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"put back the id as exported from the source environment (the key of the reference map); "
			"deploying rewrites it through .bpgate/environments/<env>.json",
			"%s %s belongs to environment '%s': it is %s's id for %s %s, but blueprints in git hold "
			"the source environment's ids (deploying maps them)", kind, id, owner, owner, kind, git);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const json_t *refs = bpg_policy_env_refmap(p, envs[i]);
		const char *mapped = id, *ck = catalog_key(kind);
		char buf[32];
		if (!on[i])
			continue;
		if (refs && !(mapped = bpg_refmap_value(buf, sizeof(buf), json_object_get(json_object_get(refs, mkind), id)))) {
			rc = bpg_buf_printf(&missing, "%s%s", missing.size ? ", " : "", envs[i]);
			continue;
		}
		const json_t *list = ck && entry ? json_object_get(json_object_get(entry, ck), envs[i]) : NULL;
		if (!list || bpg_strings_has(list, mapped))
			continue;
		if (strcmp(mapped, id) == 0)
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"use a catalogued one, or add the id to the scenario's catalog entry for this environment",
				"%s %s is not catalogued for scenario '%s' in environment %s", kind, id,
				bpg_jstr(entry, "id"), envs[i]);
		else
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"correct the environment's reference map, or add its id to the scenario's catalog entry",
				"%s %s maps to %s in environment %s, which is not catalogued for scenario '%s' there",
				kind, id, mapped, envs[i], bpg_jstr(entry, "id"));
	}
	if (rc == 0 && missing.size)
		rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"map the id to each environment's own id in .bpgate/environments/<env>.json (the source "
			"environment maps it to itself), or use an id that is mapped",
			"%s %s is not catalogued in the reference map%s of %s (references.%s): this change reaches %s",
			kind, id, strchr(missing.ptr, ',') ? "s" : "", missing.ptr, mkind,
			strchr(missing.ptr, ',') ? "them" : "it");
	bpg_buf_dispose(&missing);
	return rc;
}

static int eval(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const json_t *facts = bpg_ev_facts(ev);
	const char *change_env = bpg_jstr(facts, "environment");
	const char *const *envs;
	bool mapped = bpg_pol_has_refmaps(p);
	bool *on = NULL, *change_on = NULL;
	size_t i, j, k;
	json_t *f, *m, *r;
	int rc = 0;

	size_t nenvs = bpg_policy_envs(&envs, p);
	if (mapped) {
		if (!(on = bpg_calloc(2 * (nenvs + 1), sizeof(*on))))
			return BPG_ENOMEM;
		change_on = on + nenvs + 1;
		change_targets(change_on, p, facts);
	}
	json_array_foreach(json_object_get(facts, "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path");
		const json_t *entry;
		if (!bp || !bpg_file_is_blueprint(p, f))
			continue;
		entry = bpg_pol_catalog_for(p, path);
		const char *env = bpg_pol_env_for_path(p, path);
		if (!env)
			env = bpg_jstr(f, "environment");
		if (mapped) {
			/* every blueprint: an id never belongs to git because its scenario is not catalogued */
			memset(on, 0, (nenvs + 1) * sizeof(*on));
			if (!env || !mark_reach(on, p, env))
				memcpy(on, change_on, (nenvs + 1) * sizeof(*on));
			json_array_foreach(json_object_get(bp, "modules"), j, m)
				json_array_foreach(json_object_get(m, "refs"), k, r)
					if ((rc = check_ref_mapped(ev, on, entry, path, r)) < 0)
						goto done;
			continue;
		}
		if (!entry)
			continue;
		if (!env)
			env = change_env;
		json_array_foreach(json_object_get(bp, "modules"), j, m)
			json_array_foreach(json_object_get(m, "refs"), k, r)
				if ((rc = check_ref_legacy(ev, entry, env, path, r)) < 0)
					goto done;
	}
done:
	free(on);
	return rc;
}

const bpg_rule_def bpg_rule_connections = {
	.info = { "connections", "references hold the source environment's ids, mapped and catalogued for every "
		"environment they reach (without reference maps: the blueprint's environment's ids)", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval,
};
