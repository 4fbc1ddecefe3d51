/*
 * high-risk: a change to a high-risk scenario (or a commit declaring a high
 * risk tier) is marked with an info finding; the server's approval rules
 * read it to require more approvers and the change board.
 * schema-drift: a change to a data contract's key or required fields, or to
 * how a blueprint maps a contract's key field, is marked the same way
 * (severity configurable: a team may choose to block it outright).
 */
#include "engine.h"
#include "bpfacts.h"
#include "bpgate/jsonheap.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const severities[] = { "error", "warning", "info", NULL };
static const bpg_schema severity_s = { SK_ENUM, NULL, NULL, severities };
static const bpg_sfield hr_params[] = {
	/* default: change-template's risk_trailer (bpg_policy_risk_trailer) */
	{ "risk_trailer", &bpg_s_nonempty, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_sfield drift_params[] = {
	{ "severity", &severity_s, false, "\"info\"" },
	{ NULL, NULL, false, NULL },
};

static int eval_high(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const char *risk_key = bpg_ev_param_str(ev, "risk_trailer");
	size_t i;
	json_t *f, *c;
	int rc;

	if (!risk_key)
		risk_key = bpg_policy_risk_trailer(p);

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const char *path = bpg_jstr(f, "path");
		const json_t *entry;
		if (!json_object_get(f, "blueprint") && !json_object_get(f, "old_blueprint") &&
		    !bpg_pol_path_is(p, "blueprints", path))
			continue;
		if (!(entry = bpg_pol_catalog_for(p, path)) || !bpg_pol_is_high_risk(p, bpg_jstr(entry, "risk")))
			continue;
		bpg_where w = { path, NULL, NULL, NULL, 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_INFO, &w,
			"expect the high-risk approvals (reviewers and change board) before prod",
			"change to high-risk scenario '%s' (risk %s)", bpg_jstr(entry, "id"),
			bpg_jstr(entry, "risk"))) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), i, c) {
		const char *k, *risk = NULL;
		json_t *v;
		json_object_foreach(json_object_get(c, "trailers"), k, v)
			if (strcasecmp(k, risk_key) == 0 && json_is_string(v))
				risk = json_string_value(v);
		if (!risk || !bpg_pol_is_high_risk(p, risk))
			continue;
		bpg_where w = { NULL, NULL, bpg_jstr(c, "id"), NULL, 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_INFO, &w,
			"expect the high-risk approvals (reviewers and change board) before prod",
			"commit declares a high-risk change (%s: %s)", risk_key, risk)) < 0)
			return rc;
	}
	return 0;
}

static bpg_severity drift_sev(const bpg_eval *ev)
{
	const char *s = bpg_ev_param_str(ev, "severity");
	return strcmp(s, "error") == 0 ? BPG_SEV_ERROR : strcmp(s, "warning") == 0 ? BPG_SEV_WARNING : BPG_SEV_INFO;
}

/* Contract files: compare key_fields and required_fields, as sets. */
static int contract_drift(bpg_eval *ev, const json_t *f)
{
	const json_t *nc = json_object_get(f, "contract"), *oc = json_object_get(f, "old_contract");
	const char *lists[] = { "key_fields", "required_fields" };
	int rc;

	if (!oc)
		return 0;
	for (int l = 0; l < 2; l++) {
		const json_t *a = json_object_get(oc, lists[l]), *b = json_object_get(nc, lists[l]);
		size_t i;
		json_t *v;
		bool changed = false;
		json_array_foreach(a, i, v)
			changed |= json_is_string(v) && !bpg_strings_has(b, json_string_value(v));
		json_array_foreach(b, i, v)
			changed |= json_is_string(v) && !bpg_strings_has(a, json_string_value(v));
		if (!changed)
			continue;
		char *os = a ? bpg_json_dumps(a, JSON_COMPACT) : bpg_strdup("[]");
		char *ns = !nc ? NULL : b ? bpg_json_dumps(b, JSON_COMPACT) : bpg_strdup("[]");
		bpg_where w = { bpg_jstr(f, "path"), l ? "/required_fields" : "/key_fields", NULL, NULL, 0, 0 };
		if (!os || (nc && !ns)) { /* out of memory: never "?" or "(contract removed)" for a list */
			free(os);
			free(ns);
			return BPG_ENOMEM;
		}
		rc = bpg_ev_emit(ev, drift_sev(ev), &w,
			"coordinate with the owners of the target system and every scenario that writes it",
			"schema drift: contract %s %s changed from %s to %s", bpg_jstr(oc, "id"), lists[l],
			os ? os : "?", ns ? ns : "(contract removed)");
		free(os);
		free(ns);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The old side's modules by id, sorted once: each new module finds its
 * predecessor by binary search, so a change with n write modules costs
 * n log n, not n^2 (20,000 write modules took 25 s). */
typedef struct {
	long long id;
	size_t index;
	const json_t *module;
} module_at;

static int cmp_module_at(const void *x, const void *y)
{
	const module_at *a = x, *b = y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The module of the old side with this id; the last one when ids repeat
 * (as the blueprint model keys modules). */
static const json_t *module_by_id(bpg_eval *ev, const module_at *v, size_t n, long long id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first entry with an id greater than `id` */
		size_t mid = lo + (hi - lo) / 2;
		bpg_ev_count(ev, 1);
		if (v[mid].id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && v[lo - 1].id == id ? v[lo - 1].module : NULL;
}

/* A write module whose mapping of a contract key field changed. */
static int mapping_drift(bpg_eval *ev, const json_t *f)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const json_t *bp = json_object_get(f, "blueprint"), *old = json_object_get(f, "old_blueprint");
	const json_t *old_modules = json_object_get(old, "modules");
	const char *path = bpg_jstr(f, "path");
	module_at *index = NULL;
	size_t i, j, k, nold = json_array_size(old_modules);
	json_t *m, *om, *c, *key;
	int rc = 0;

	if (!bp || !old || !nold || !json_array_size(json_object_get(bp, "modules")))
		return 0;
	if (!(index = malloc(nold * sizeof(*index))))
		return BPG_ENOMEM;
	json_array_foreach(old_modules, j, om)
		index[j] = (module_at){ bpg_bp_module_id(om), j, om };
	bpg_ev_count(ev, nold);
	qsort(index, nold, sizeof(*index), cmp_module_at);
	json_array_foreach(json_object_get(bp, "modules"), i, m) {
		if (!bpg_jbool(m, "writes"))
			continue;
		const json_t *prev = module_by_id(ev, index, nold, bpg_bp_module_id(m));
		if (!prev)
			continue;
		json_array_foreach(p->contracts, j, c) {
			if (!bpg_bp_contract_matches(c, m))
				continue;
			json_array_foreach(json_object_get(c, "key_fields"), k, key) {
				const char *kf = json_string_value(key);
				const json_t *a = bpg_bp_mapper_value(prev, kf), *b = bpg_bp_mapper_value(m, kf);
				if ((!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b)))
					continue;
				bpg_buf ptr = BPG_BUF_INIT;
				if (bpg_buf_printf(&ptr, "%s/mapper", bpg_jstr(m, "pointer") ? bpg_jstr(m, "pointer") : "") < 0 ||
				    bpg_jsonptr_push(&ptr, kf, strlen(kf)) < 0) {
					bpg_buf_dispose(&ptr);
					rc = BPG_ENOMEM;
					goto done;
				}
				bpg_where w = { path, ptr.ptr, NULL, NULL, 0, 0 };
				rc = bpg_ev_emit(ev, drift_sev(ev), &w,
					"check that records are still matched to the same keys in the target system",
					"schema drift: module %lld changes how it maps key field '%s' of contract %s",
					bpg_bp_module_id(m), kf, bpg_jstr(c, "id"));
				bpg_buf_dispose(&ptr);
				if (rc < 0)
					goto done;
			}
		}
	}
done:
	free(index);
	return rc;
}

static int eval_drift(bpg_eval *ev)
{
	size_t i;
	json_t *f;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f)
		if ((rc = contract_drift(ev, f)) < 0 || (rc = mapping_drift(ev, f)) < 0)
			return rc;
	return 0;
}

const bpg_rule_def bpg_rule_high_risk = {
	.info = { "high-risk", "changes to high-risk scenarios are marked for the approval rules", BPG_MODE_ENFORCE },
	.params = hr_params,
	.eval = eval_high,
};

const bpg_rule_def bpg_rule_schema_drift = {
	.info = { "schema-drift", "changes to contract keys or key-field mappings are marked", BPG_MODE_ENFORCE },
	.params = drift_params,
	.eval = eval_drift,
};
