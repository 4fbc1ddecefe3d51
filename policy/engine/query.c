/*
 * Questions rules and front ends ask of a policy (pure, borrowed results):
 * the one definition of each (see bpgate/query.h); the rules call these
 * functions too. The answers that are lists (the principals of each role,
 * the scan globs) are built once when the policy loads.
 */
#include "engine.h"

#include <stdlib.h>
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

/* The globs of a kind when policy.json "paths" does not list it (NULL-terminated). */
static const char *const *default_globs(const char *kind)
{
	static const char *const blueprints[] = { "**/*.blueprint.json", NULL };
	static const char *const fixtures[] = { "**/fixtures/**", "**/testdata/**", NULL };
	static const char *const uat[] = { "**/uat/**", NULL };
	static const char *const bundles[] = { "**/*.bundle.json", NULL };
	if (!kind)
		return NULL;
	if (strcmp(kind, "blueprints") == 0)
		return blueprints;
	if (strcmp(kind, "fixtures") == 0)
		return fixtures;
	if (strcmp(kind, "uat") == 0)
		return uat;
	if (strcmp(kind, "bundles") == 0)
		return bundles;
	return NULL;
}

bool bpg_pol_path_is(const bpg_policy *p, const char *kind, const char *path)
{
	return bpg_policy_path_is(p, kind, path);
}

bool bpg_policy_path_is(const bpg_policy *p, const char *kind, const char *path)
{
	const json_t *globs = json_object_get(json_object_get(p->root, "paths"), kind);
	const char *const *d;
	if (!path)
		return false;
	if (globs)
		return any_glob(globs, path);
	for (d = default_globs(kind); d && *d; d++)
		if (bpg_glob_match(*d, path))
			return true;
	return false;
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
	return bpg_policy_has_role(p, role, principal);
}

bool bpg_pol_is_high_risk(const bpg_policy *p, const char *tier)
{
	return bpg_policy_tier_is_high(p, tier);
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

/* ---- the index built at load ------------------------------------------------ */

typedef struct {
	const char *name;          /* borrowed from policy.json */
	const char **principals;   /* NULL-terminated, strings borrowed */
	size_t n;
} qx_role;

struct bpg_query_index {
	qx_role *roles;
	size_t nroles;
	const char **scan_globs;   /* NULL-terminated, strings borrowed (policy.json or static) */
	size_t nscan_globs;
	/* change-template's trailer names (borrowed from its parameters): asked for each
	 * commit of a push (thousands), each a search of the rule table by name */
	const json_t *trailers;
	const char *risk_trailer, *uat_trailer;
};

static const char *const no_strings[] = { NULL };

void bpg_query_index_free(struct bpg_query_index *qx)
{
	if (!qx)
		return;
	for (size_t i = 0; i < qx->nroles; i++)
		free(qx->roles[i].principals);
	free(qx->roles);
	free(qx->scan_globs);
	free(qx);
}

/* Append s to a NULL-terminated vector of n entries (capacity cap), skipping duplicates. */
static int vec_add(const char ***v, size_t *n, size_t *cap, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	const char **nv = bpg_array_grow(*v, cap, *n + 2, sizeof(*nv), 8);
	if (!nv)
		return BPG_ENOMEM;
	*v = nv;
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
	return 0;
}

static int add_strings(const char ***v, size_t *n, size_t *cap, const json_t *arr)
{
	size_t i;
	json_t *s;
	int rc;
	json_array_foreach(arr, i, s)
		if (json_is_string(s) && (rc = vec_add(v, n, cap, json_string_value(s))) < 0)
			return rc;
	return 0;
}

int bpg_query_index_build(bpg_policy *p)
{
	struct bpg_query_index *qx = calloc(1, sizeof(*qx));
	const json_t *roles = json_object_get(p->root, "roles");
	const json_t *kinds = bpg_policy_rule_param(p, "scan-findings", "paths");
	const char *k;
	json_t *members;
	size_t i, cap = 0;
	json_t *kind;
	int rc = BPG_ENOMEM;

	if (!qx)
		return BPG_ENOMEM;
	if (json_object_size(roles) && !(qx->roles = calloc(json_object_size(roles), sizeof(*qx->roles))))
		goto done;
	json_object_foreach((json_t *)roles, k, members) {
		qx_role *r = &qx->roles[qx->nroles++];
		size_t rcap = 0;
		r->name = k;
		if ((rc = add_strings(&r->principals, &r->n, &rcap, members)) < 0)
			goto done;
	}
	json_array_foreach(kinds, i, kind) {
		const char *kn = json_string_value(kind);
		const json_t *globs = json_object_get(json_object_get(p->root, "paths"), kn);
		if (globs) {
			if ((rc = add_strings(&qx->scan_globs, &qx->nscan_globs, &cap, globs)) < 0)
				goto done;
			continue;
		}
		for (const char *const *d = default_globs(kn); d && *d; d++)
			if ((rc = vec_add(&qx->scan_globs, &qx->nscan_globs, &cap, *d)) < 0)
				goto done;
	}
	qx->trailers = bpg_policy_rule_param(p, "change-template", "trailers");
	qx->risk_trailer = json_string_value(bpg_policy_rule_param(p, "change-template", "risk_trailer"));
	qx->uat_trailer = json_string_value(bpg_policy_rule_param(p, "change-template", "uat_trailer"));
	p->qx = qx;
	qx = NULL;
	rc = 0;
done:
	bpg_query_index_free(qx);
	return rc;
}

/* ---- environments ---------------------------------------------------------------- */

static const char *short_branch(const char *ref)
{
	return strncmp(ref, "refs/heads/", 11) == 0 ? ref + 11 : ref;
}

const char *bpg_policy_env_for_ref(const bpg_policy *p, const char *ref)
{
	const char *k;
	json_t *e;
	if (!ref)
		return NULL;
	json_object_foreach(json_object_get(p->root, "environments"), k, e) {
		const char *b = json_string_value(json_object_get(e, "branch"));
		if (b && strcmp(short_branch(b), short_branch(ref)) == 0)
			return k;
	}
	return NULL;
}

const char *bpg_policy_env_branch(const bpg_policy *p, const char *env)
{
	return env ? json_string_value(json_object_get(json_object_get(json_object_get(p->root, "environments"), env),
		"branch")) : NULL;
}

/* ---- rules -------------------------------------------------------------------- */

int bpg_policy_rule_find(bpg_mode *mode, const json_t **params, const bpg_policy *p, const char *rule)
{
	int i = rule ? bpg_rule_index(rule) : -1;
	if (i < 0 || !p->rules)
		return BPG_ENOTFOUND;
	if (mode)
		*mode = p->rules[i].mode;
	if (params)
		*params = p->rules[i].params;
	return 0;
}

bool bpg_policy_rule_on(const bpg_policy *p, const char *rule)
{
	bpg_mode m;
	return bpg_policy_rule_find(&m, NULL, p, rule) == 0 && m != BPG_MODE_OFF;
}

const json_t *bpg_policy_rule_param(const bpg_policy *p, const char *rule, const char *name)
{
	const json_t *params = NULL;
	if (!name || bpg_policy_rule_find(NULL, &params, p, rule) < 0)
		return NULL;
	return json_object_get(params, name);
}

/* ---- roles ---------------------------------------------------------------------- */

static const qx_role *role_of(const bpg_policy *p, const char *role)
{
	for (size_t i = 0; role && p->qx && i < p->qx->nroles; i++)
		if (strcmp(p->qx->roles[i].name, role) == 0)
			return &p->qx->roles[i];
	return NULL;
}

size_t bpg_policy_role_principals(const char *const **out, const bpg_policy *p, const char *role)
{
	const qx_role *r = role_of(p, role);
	*out = r && r->principals ? r->principals : no_strings;
	return r ? r->n : 0;
}

bool bpg_policy_has_role(const bpg_policy *p, const char *role, const char *principal)
{
	if (!principal || !role)
		return false;
	return bpg_strings_has(json_object_get(json_object_get(p->root, "roles"), role), principal);
}

bool bpg_policy_has_any_role(const bpg_policy *p, const char *principal)
{
	const char *k;
	json_t *members;
	if (!principal)
		return false;
	json_object_foreach(json_object_get(p->root, "roles"), k, members)
		if (strcmp(k, "observers") != 0 && bpg_strings_has(members, principal)) /* observers only sign health records */
			return true;
	return false;
}

const char *bpg_policy_bundle_signer_role(const bpg_policy *p)
{
	return json_string_value(bpg_policy_rule_param(p, "bundle-signed", "signer_role"));
}

/* ---- risk ------------------------------------------------------------------------ */

int bpg_policy_tier_rank(const bpg_policy *p, const char *tier)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(p->root, "risk_tiers"), i, t)
		if (json_is_string(t) && tier && strcmp(json_string_value(t), tier) == 0)
			return (int)i;
	return -1;
}

bool bpg_policy_tier_is_high(const bpg_policy *p, const char *tier)
{
	const json_t *h = json_object_get(p->root, "high_risk_tiers");
	if (!tier)
		return false;
	return h ? bpg_strings_has(h, tier) : strcmp(tier, "high") == 0;
}

const char *bpg_policy_path_tier(const bpg_policy *p, const char *path)
{
	return bpg_jstr(bpg_catalog_match(p->root, path), "risk");
}

const char *bpg_policy_tier_max(const bpg_policy *p, const char *a, const char *b)
{
	if (!a || !b)
		return a ? a : b;
	return bpg_policy_tier_rank(p, b) > bpg_policy_tier_rank(p, a) ? b : a;
}

/* ---- trailers ---------------------------------------------------------------------- */

/* From p->qx (built once at load); the rule's parameters for a policy without it. */
static const json_t *template_trailers(const bpg_policy *p)
{
	return p->qx ? p->qx->trailers : bpg_policy_rule_param(p, "change-template", "trailers");
}

size_t bpg_policy_trailer_count(const bpg_policy *p)
{
	return json_array_size(template_trailers(p));
}

const char *bpg_policy_trailer(const bpg_policy *p, size_t i)
{
	return json_string_value(json_array_get(template_trailers(p), i));
}

const char *bpg_policy_risk_trailer(const bpg_policy *p)
{
	return p->qx ? p->qx->risk_trailer :
		json_string_value(bpg_policy_rule_param(p, "change-template", "risk_trailer"));
}

const char *bpg_policy_uat_trailer(const bpg_policy *p)
{
	return p->qx ? p->qx->uat_trailer :
		json_string_value(bpg_policy_rule_param(p, "change-template", "uat_trailer"));
}

/* ---- paths ---------------------------------------------------------------------------- */

size_t bpg_policy_scan_globs(const char *const **out, const bpg_policy *p)
{
	*out = p->qx && p->qx->scan_globs ? p->qx->scan_globs : no_strings;
	return p->qx ? p->qx->nscan_globs : 0;
}

/* ---- break-glass-overdue ---------------------------------------------------------------- */

void bpg_policy_break_glass_state(bpg_break_glass_state *out, const bpg_policy *p, const char *env,
	bool has_time, long long record_time, long long now, size_t approvers)
{
	static const char *const rule = "break-glass-overdue";
	bpg_mode mode = BPG_MODE_OFF;

	memset(out, 0, sizeof(*out));
	(void)bpg_policy_rule_find(&mode, NULL, p, rule);
	out->rule_on = mode != BPG_MODE_OFF;
	out->max_days = json_integer_value(bpg_policy_rule_param(p, rule, "max_days"));
	out->approvals = json_integer_value(bpg_policy_rule_param(p, rule, "approvals"));
	out->limited = out->rule_on && env && bpg_strings_has(bpg_policy_rule_param(p, rule, "environments"), env);
	out->pending = (long long)approvers < out->approvals;
	out->age_days = has_time && now > record_time ? (now - record_time) / 86400 : 0;
	out->overdue = out->limited && out->pending && has_time && now - record_time > out->max_days * 86400;
	out->blocking = out->overdue && mode == BPG_MODE_ENFORCE;
}

/* ---- facts the rules read ------------------------------------------------------------------ */

bool bpg_policy_reads_blueprint_diff(const bpg_policy *p)
{
	(void)p; /* no rule reads files[].diff, whatever the policy turns on */
	return false;
}
