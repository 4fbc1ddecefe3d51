/*
 * Who may record an approval for an environment, and how many of one tree:
 * the one answer the gate (rule server-refs), `bpgate approve --check-only`
 * and bpgated's `approve` share (bpg_policy_approval_admit, policy.h).
 * Pure: reads the validated policy and the rules' parameters only.
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

/* The parameters (defaults merged) a policy gives a registry rule, or NULL. */
static const json_t *params_of(const bpg_policy *p, const char *rule)
{
	int i = bpg_rule_index(rule);
	return i < 0 || !p->rules ? NULL : p->rules[i].params;
}

/* Does any risk tier of approvals.required[env] ask for approvals of `role`? */
static bool required_of(const bpg_policy *p, const char *env, const char *role)
{
	json_t *tiers = json_object_get(json_object_get(params_of(p, "approvals"), "required"), env);
	const char *tier;
	json_t *need;

	json_object_foreach(tiers, tier, need)
		if (json_integer_value(json_object_get(need, role)) > 0)
			return true;
	return false;
}

/* Does break-glass-overdue ask for retroactive approvals on env? */
static bool retroactive_on(const bpg_policy *p, const char *env)
{
	const json_t *bg = params_of(p, "break-glass-overdue");
	return bpg_strings_has(json_object_get(bg, "environments"), env) &&
		json_integer_value(json_object_get(bg, "approvals")) > 0;
}

size_t bpg_pol_approving_roles(const bpg_policy *p, const char *env, const char *roles[3])
{
	const json_t *e = json_object_get(json_object_get(p->root, "environments"), env);
	bool retro, admins;
	size_t n = 0;

	if (!env || !e)
		return 0;
	retro = retroactive_on(p, env);
	admins = json_is_true(json_object_get(e, "protected")) &&
		json_integer_value(json_object_get(params_of(p, "policy-change"), "admins")) > 0;
	if (retro || required_of(p, env, "reviewers"))
		roles[n++] = "reviewers";
	if (retro || required_of(p, env, "cab"))
		roles[n++] = "cab";
	if (retro || admins)
		roles[n++] = "admins";
	return n;
}

long long bpg_pol_max_approvals_per_tree(const bpg_policy *p)
{
	const json_t *v = json_object_get(params_of(p, "server-refs"), "max_approvals_per_tree");
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

int bpg_policy_approval_admit(const bpg_policy *policy, const char *environment, const char *principal,
	size_t existing, bpg_error *err)
{
	const char *roles[3];
	char names[64] = "";
	size_t n;
	long long max;

	if (!policy || !environment || !principal || !*principal)
		return bpg_error_set(err, BPG_EINVALID, "approval: no environment or no approver");
	n = bpg_pol_approving_roles(policy, environment, roles);
	for (size_t i = 0; i < n; i++) {
		if (bpg_pol_has_role(policy, roles[i], principal))
			goto role_ok;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "", roles[i]);
	}
	if (n == 0)
		return bpg_error_set(err, BPG_EINVALID, "%s may not approve for %s: no role approves for that "
			"environment in the policy", principal, environment);
	return bpg_error_set(err, BPG_EINVALID, "%s may not approve for %s: only the roles %s do, and %s "
		"holds none of them", principal, environment, names, principal);
role_ok:
	max = bpg_pol_max_approvals_per_tree(policy);
	if ((long long)existing >= max)
		return bpg_error_set(err, BPG_ETOOBIG, "%s already has %zu approval(s) of this tree for %s: the limit "
			"is %lld (server-refs max_approvals_per_tree)", principal, existing, environment, max);
	return 0;
}
