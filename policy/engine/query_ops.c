/*
 * Who may operate an environment's Make scenarios (bpgate/query.h
 * bpg_policy_env_make_may): environments.<env>.make.roles.<action>, a list
 * of role names, with the defaults below. bpgated and `bpgate make` ask
 * this; neither reads the roles itself.
 */
#include "engine.h"
#include "bpgate/query.h"

#include <string.h>

static const char *const default_deploy[] = { "releasers", NULL };
static const char *const default_disable[] = { "emergency", "releasers", NULL };

bool bpg_policy_env_make_may(const bpg_policy *p, const char *env, const char *action, const char *principal)
{
	const json_t *envs, *make, *roles;
	const char *const *defaults;
	size_t i;
	json_t *r;

	if (!p || !env || !action || !principal)
		return false;
	if (strcmp(action, "deploy") == 0)
		defaults = default_deploy;
	else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0)
		defaults = default_disable;
	else
		return false;
	envs = json_object_get(bpg_policy_json(p), "environments");
	make = json_object_get(json_object_get(envs, env), "make");
	if (!json_is_object(make))
		return false;
	roles = json_object_get(json_object_get(make, "roles"), strcmp(action, "enable") == 0 ? "disable" : action);
	if (json_is_array(roles)) {
		json_array_foreach(roles, i, r)
			if (json_is_string(r) && bpg_policy_has_role(p, json_string_value(r), principal))
				return true;
		return false;
	}
	for (i = 0; defaults[i]; i++)
		if (bpg_policy_has_role(p, defaults[i], principal))
			return true;
	return false;
}
